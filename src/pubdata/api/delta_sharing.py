"""The Delta Sharing protocol endpoints (``/delta-sharing/…``), for the official ``delta-sharing``
clients: list shares, schemas and tables (paged with ``maxResults`` / ``pageToken``), a table's
version (``delta-table-version`` header), metadata and query (newline-delimited JSON, in the parquet
response format or, when the client asks only for it, the delta format), and the pre-signed file URLs
the query hands out (GET and HEAD, single byte ranges: 206 with ``Content-Range``).

Authentication is the recipient profile's bearer token (``sharing.profiles``), not an API token; the
file URLs carry their own signature instead. Errors take the protocol's shape:
``{"errorCode": …, "message": …}`` (the platform's code in ``details.code``)."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pubdata.api.deps import DB, Home, token_from_request
from pubdata.api.errors import validation_details
from pubdata.api.params import DB_ID_MAX
from pubdata.errors import PubdataError
from pubdata.sharing import profiles
from pubdata.sharing import service as sharing
from pubdata.sharing.profiles import Recipient

PREFIX = "/delta-sharing"
CAPABILITIES = "delta-sharing-capabilities"
VERSION_HEADER = "delta-table-version"
NDJSON = "application/x-ndjson; charset=utf-8"
CHUNK = 1 << 20
VERSION_PATH = "/shares/{share}/schemas/{schema}/tables/{table}/version"
FILE_PATH = "/files/{key}.parquet"

router = APIRouter(prefix=PREFIX, tags=["Delta Sharing"])

_ERROR_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "METHOD_NOT_ALLOWED",
    409: "RESOURCE_CONFLICT",
    413: "REQUEST_LIMIT_EXCEEDED",
    416: "REQUESTED_RANGE_NOT_SATISFIABLE",
    422: "INVALID_PARAMETER_VALUE",
    429: "RESOURCE_EXHAUSTED",
    503: "TEMPORARILY_UNAVAILABLE",
}


def is_sharing_path(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def _error(
    status: int, message: str, code: str, headers: dict[str, str] | None = None, details: Any = None
) -> JSONResponse:
    # the protocol answers 400 for bad parameters where the platform says 422
    status = 400 if status == 422 else status
    extra = details if isinstance(details, dict) else {}
    body = {
        "errorCode": _ERROR_CODES.get(status, "INTERNAL_ERROR"),
        "message": message,
        "details": {**extra, "code": code},
    }
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(exc: PubdataError) -> JSONResponse:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return _error(exc.status, exc.message, exc.code, headers, exc.details)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    details = validation_details(exc)
    first = details[0] if details else {"field": "body", "message": "取值无效"}
    return _error(400, f"参数无效：{first['field']}：{first['message']}", "request.invalid")


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    message = str(exc.detail)
    if message == HTTPStatus(exc.status_code).phrase:
        message = {404: "地址不存在", 405: "此地址不支持该请求方法"}.get(exc.status_code, message)
    return _error(exc.status_code, message, "http_error", dict(exc.headers or {}))


def recipient(request: Request, session: DB) -> Recipient:
    """The recipient whose profile token the request carries (401 otherwise)."""
    return profiles.recipient_from_token(session, token_from_request(request))


RecipientDep = Annotated[Recipient, Depends(recipient)]
MaxResults = Annotated[int | None, Query(alias="maxResults", ge=0, le=DB_ID_MAX)]
PageToken = Annotated[str | None, Query(alias="pageToken", max_length=200)]


def _base_url(request: Request) -> str:
    return str(request.app.state.settings.resolved_base_url)


def _wants_delta(request: Request) -> bool:
    """Whether the client asked for the delta response format only (``responseformat=delta``)."""
    for part in request.headers.get(CAPABILITIES, "").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "responseformat":
            formats = {v.strip().lower() for v in value.split(",")}
            return "delta" in formats and "parquet" not in formats
    return False


def _ndjson(version: int, lines: list[str], delta: bool) -> StreamingResponse:
    headers = {VERSION_HEADER: str(version), CAPABILITIES: "responseformat=" + ("delta" if delta else "parquet")}
    return StreamingResponse(sharing.iter_lines(lines), media_type=NDJSON, headers=headers)


@router.get("/shares", summary="List the shares the recipient may read")
def list_shares(session: DB, who: RecipientDep, max_results: MaxResults = None, page_token: PageToken = None) -> Any:
    return sharing.list_shares(session, who, max_results, page_token).as_json()


@router.get("/shares/{share}", summary="Get a share")
def get_share(session: DB, who: RecipientDep, share: str) -> Any:
    return sharing.get_share(session, who, share)


@router.get("/shares/{share}/schemas", summary="List the schemas of a share")
def list_schemas(
    session: DB, who: RecipientDep, share: str, max_results: MaxResults = None, page_token: PageToken = None
) -> Any:
    return sharing.list_schemas(session, who, share, max_results, page_token).as_json()


@router.get("/shares/{share}/schemas/{schema}/tables", summary="List the tables of a schema")
def list_tables(
    session: DB,
    who: RecipientDep,
    share: str,
    schema: str,
    max_results: MaxResults = None,
    page_token: PageToken = None,
) -> Any:
    return sharing.list_tables(session, who, share, schema, max_results, page_token).as_json()


@router.get("/shares/{share}/all-tables", summary="List the tables of every schema of a share")
def list_all_tables(
    session: DB, who: RecipientDep, share: str, max_results: MaxResults = None, page_token: PageToken = None
) -> Any:
    return sharing.list_tables(session, who, share, None, max_results, page_token).as_json()


@router.head(VERSION_PATH, include_in_schema=False)
@router.get(VERSION_PATH, summary="The table's current version (delta-table-version header)")
def table_version(
    session: DB,
    home: Home,
    who: RecipientDep,
    share: str,
    schema: str,
    table: str,
    starting_timestamp: Annotated[str | None, Query(alias="startingTimestamp")] = None,
) -> Response:
    if starting_timestamp is not None:
        return _error(400, "不支持按时间戳查询版本（startingTimestamp）", "sharing.invalid_request")
    version = sharing.table_version(session, who, share, schema, table, home=home)
    return Response(status_code=200, headers={VERSION_HEADER: str(version)})


@router.get("/shares/{share}/schemas/{schema}/tables/{table}/metadata", summary="The table's protocol and metadata")
def table_metadata(
    request: Request, session: DB, home: Home, who: RecipientDep, share: str, schema: str, table: str
) -> Response:
    delta = _wants_delta(request)
    version, lines = sharing.table_metadata(session, who, share, schema, table, home=home, delta=delta)
    return _ndjson(version, lines, delta)


@router.post("/shares/{share}/schemas/{schema}/tables/{table}/query", summary="Read the table: pre-signed file URLs")
def query_table(
    request: Request,
    session: DB,
    home: Home,
    who: RecipientDep,
    share: str,
    schema: str,
    table: str,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> Response:
    delta = _wants_delta(request)
    version, lines = sharing.query_table(
        session, who, share, schema, table, body or {}, home=home, base_url=_base_url(request), delta=delta
    )
    return _ndjson(version, lines, delta)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range asked (inclusive), None for the whole file; several ranges or a unit other
    than bytes are ignored (the whole file, as HTTP allows). ``ValueError`` when not satisfiable."""
    if not header or not header.strip().lower().startswith("bytes=") or "," in header:
        return None
    first, _, last = header.strip()[6:].partition("-")
    first, last = first.strip(), last.strip()
    if not (first.isdecimal() or last.isdecimal()) or (first and not first.isdecimal()):
        return None
    if not first:  # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise ValueError
        return max(size - n, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last.isdecimal() else size - 1
    if start >= size or end < start:
        raise ValueError
    return start, end


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        while length > 0:
            chunk = fh.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


@router.head(FILE_PATH, include_in_schema=False)
@router.get(FILE_PATH, summary="A pre-signed file (GET and HEAD; HTTP Range)")
def shared_file(
    request: Request,
    session: DB,
    home: Home,
    key: str,
    profile: Annotated[int, Query(ge=1, le=DB_ID_MAX)],
    grant: Annotated[int, Query(ge=0, le=DB_ID_MAX)],
    expires: Annotated[int, Query(ge=0, le=2**62)],
    sig: Annotated[str, Query(max_length=64)],
) -> Response:
    path = sharing.shared_file(session, key, profile, grant, expires, sig, home=home)
    size = path.stat().st_size
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store", "ETag": f'"{key}"'}
    try:
        wanted = _byte_range(request.headers.get("range"), size)
    except ValueError:
        return _error(416, "请求的字节范围无效", "sharing.range_not_satisfiable", {"Content-Range": f"bytes */{size}"})
    start, end = wanted if wanted is not None else (0, size - 1)
    length = end - start + 1 if size else 0
    headers["Content-Length"] = str(length)
    status = 206 if wanted is not None else 200
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    media = "application/vnd.apache.parquet"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media)
    return StreamingResponse(_read(path, start, length), status_code=status, headers=headers, media_type=media)

"""Native REST API for reading the store's rows: row queries, downloads, SQL, datapackage.json.
Everything goes through the store's read path (``store.read.plan_read``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DB_INT_MAX, Offset, OptionalVersionQuery, enum_of
from pubdata.errors import Invalid
from pubdata.store.query import export, sandbox, sql
from pubdata.store.query import rows as query
from pubdata.store.query.rows import RowPage, RowQuery
from pubdata.store.read import RowsTaken

router = APIRouter(tags=["rows"], responses=ERROR_RESPONSES)

ROWS_FORMATS = ("json", "csv", "parquet")


class RowQuotaRead(BaseModel):
    """Where the grant's daily row quota stands after this read (Beijing day)."""

    daily_row_quota: int = Field(description="Rows the grant may read per day")
    rows_used_today: int = Field(description="Rows charged today, this response's included")
    rows_left_today: int = Field(description="Rows still allowed today")
    truncated_by_quota: bool = Field(description="This response was cut to the rows the quota left")
    resets_at: str = Field(description="When the day's count starts again (next midnight, +08:00)")


class RowFieldRead(BaseModel):
    name: str
    type: str
    title: str | None = None


class RowsPageRead(BaseModel):
    """A page of rows (``format=json``)."""

    resource_id: str
    version: int
    fields: list[RowFieldRead]
    records: list[dict[str, Any]]
    total: int | None = Field(description="Exact count of matching rows (`total=true` only)")
    limit: int = Field(description="The page size asked for")
    offset: int
    next_cursor: str | None = Field(description="Continues after the last row returned (a cut page too)")
    links: dict[str, str | None] = Field(alias="_links")
    truncated_by_quota: bool = Field(description="Fewer rows than asked: the grant's daily row quota ran out")
    quota: RowQuotaRead | None = Field(description="Present when the caller reads under a grant with a row quota")


class SqlFieldRead(BaseModel):
    name: str
    type: str


class SqlResourceRead(BaseModel):
    resource_id: str
    version: int


class SqlResultRead(BaseModel):
    """The result of a read-only SQL query."""

    sql: str
    fields: list[SqlFieldRead]
    records: list[dict[str, Any]]
    records_truncated: bool = Field(description="More rows matched than the SQL row limit returns")
    resources: list[SqlResourceRead]
    truncated_by_quota: bool = Field(description="Fewer rows than matched: a grant's daily row quota ran out")
    quota: RowQuotaRead | None = Field(description="Present when a grant with a row quota was read (the tightest)")


QUOTA_HEADERS = {
    "X-Row-Quota-Limit": {"description": "The grant's daily row quota", "schema": {"type": "integer"}},
    "X-Row-Quota-Remaining": {"description": "Rows still allowed today", "schema": {"type": "integer"}},
    "X-Row-Quota-Truncated": {"description": "`true` when the page was cut to the quota", "schema": {"type": "string"}},
}
QUOTA_EXCEEDED = {
    "description": "`access.quota_exceeded` (or a rate limit), with `Retry-After`. A download that does not fit "
    "what the daily row quota has left names the numbers in the message and in `details` (`rows_asked`, "
    "`rows_left_today`, `daily_row_quota`)",
}


def quota_headers(taken: RowsTaken | None) -> dict[str, str]:
    """The quota marker as headers, for bodies without room for it (CSV, Parquet)."""
    if taken is None or taken.quota is None:
        return {}
    return {
        "X-Row-Quota-Limit": str(taken.quota.daily),
        "X-Row-Quota-Remaining": str(taken.quota.left),
        "X-Row-Quota-Truncated": "true" if taken.truncated else "false",
    }


def rows_response(page: RowPage, fmt: str, request: Request) -> Response:
    """A page of rows as JSON (with fields, total, the next page's link and the quota marker), CSV
    (for spreadsheets: BOM, formula cells neutralised) or Parquet (exact); CSV and Parquet carry the
    quota marker in ``X-Row-Quota-*`` headers."""
    name = f"{page.plan.entry_name}-{page.plan.resource_name}-v{page.plan.version}"
    marker = quota_headers(page.quota)
    if fmt == "csv":
        text = query.csv_bytes(export.spreadsheet_safe(page.table))
        return Response(text, media_type="text/csv; charset=utf-8", headers=_attachment(name + ".csv") | marker)
    if fmt == "parquet":
        return Response(
            page.parquet_bytes(),
            media_type=export.FORMATS["parquet"],
            headers=_attachment(name + ".parquet") | marker,
        )
    next_url = None
    if page.next_cursor:
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "offset")]
        next_url = str(request.url.replace_query_params(**dict(params), cursor=page.next_cursor))
    body: dict[str, Any] = {
        "resource_id": page.plan.resource_id,
        "version": page.plan.version,
        "fields": [{"name": c.name, "type": c.type, "title": c.title} for c in page.columns],
        "records": page.records(),
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "next_cursor": page.next_cursor,
        "_links": {"next": next_url},
        "truncated_by_quota": bool(page.quota and page.quota.truncated),
        "quota": page.quota.marker() if page.quota else None,
    }
    return JSONResponse(body, headers=marker)


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}


@router.get(
    "/resources/{resource_id}/rows",
    summary="Query a table's rows",
    description=(
        "Filters are query parameters: `field=value` (equality) or `field__op=value` with op in "
        "eq, ne, gt, gte, lt, lte, in (comma-separated), prefix, isnull. `q`: words that must each appear "
        "in some text column. `sort=a,-b`. Page with `limit`/`offset` (an offset beyond the server's "
        "`PUBDATA_ROWS_MAX_OFFSET`, default 100000, is 422 `store.offset_too_deep`, whose details name the exact "
        "equivalent `cursor` when there is one), or follow `next_cursor` (keyset, constant time at any depth). "
        "`total=true` adds the exact count (cached per version and filter). `format`: json, csv, parquet. "
        f"Limits (422 beyond): at most {query.MAX_FILTERS} filters carrying {query.MAX_FILTER_VALUES} values in all "
        f"(each value of an `in` list counts), {query.MAX_FIELDS} `fields`, {query.MAX_SORT_KEYS} sort keys, "
        f"`q` of {query.MAX_Q_LENGTH} characters."
    ),
    response_model=RowsPageRead,
    responses={
        200: {
            "description": "`format=json`: the page; under a grant with a daily row quota it never holds more rows "
            "than the quota has left (cut: `truncated_by_quota`, numbers in `quota`). `format=csv` is for "
            "spreadsheets (UTF-8 with BOM; text cells starting with = + - @ tab or CR get a leading `'`); "
            "`format=parquet` is exact; both carry the quota marker in `X-Row-Quota-*` headers",
            "headers": QUOTA_HEADERS,
            "content": {"text/csv": {}, export.FORMATS["parquet"]: {}},
        },
        429: QUOTA_EXCEEDED,
    },
)
def rows(
    resource_id: str,
    request: Request,
    session: DB,
    actor: ActorDep,
    home: Home,
    fields: Annotated[str | None, Query(description=f"Comma-separated; at most {query.MAX_FIELDS} names")] = None,
    sort: Annotated[str | None, Query(description=f"`a,-b`; at most {query.MAX_SORT_KEYS} keys")] = None,
    q: Annotated[str | None, Query(max_length=query.MAX_Q_LENGTH)] = None,
    limit: Annotated[int, Query(ge=0, le=DB_INT_MAX, description="Rows per page (at most the server's limit)")] = 100,
    offset: Offset = 0,
    cursor: str | None = None,
    total: bool = False,
    version: OptionalVersionQuery = None,
    format: Annotated[str, Query(json_schema_extra=enum_of(ROWS_FORMATS))] = "json",
) -> Response:
    if format not in ROWS_FORMATS:
        raise Invalid(f"不支持的输出格式：{format}（可用：json、csv、parquet）", field="format")
    spec = RowQuery(
        filters=query.filters_from_params(request.query_params.multi_items()),
        q=q,
        fields=query.fields_from_param(fields),
        sort=query.sort_from_param(sort),
        limit=limit,
        offset=offset,
        cursor=cursor,
        include_total=total,
        version=version,
    )
    max_offset = request.app.state.settings.rows_max_offset
    page = query.read_rows(session, actor, resource_id, spec, home=home, max_offset=max_offset)
    return rows_response(page, format, request)


@router.get(
    "/resources/{resource_id}/download.{fmt}",
    summary="Download a whole table (csv, parquet, jsonl)",
    description=(
        "`csv` is for spreadsheets: UTF-8 with a BOM, and text cells starting with = + - @ tab or CR (or their "
        "full-width forms) get a leading `'` so that Excel shows them as text; `?raw=true` gives machine CSV "
        "instead (no BOM, every value exact). `parquet` and `jsonl` are always exact. Under a grant with a daily "
        "row quota the whole table is charged before the download starts: when it has more rows than the quota "
        "has left today the answer is 429 naming the rows asked, the rows left and the quota, and nothing is sent."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, export.FORMATS["parquet"]: {}, "application/jsonl": {}}},
        429: QUOTA_EXCEEDED,
    },
)
def download(
    resource_id: str,
    fmt: Annotated[str, Path(json_schema_extra=enum_of(export.FORMATS))],
    session: DB,
    actor: ActorDep,
    home: Home,
    version: OptionalVersionQuery = None,
    raw: Annotated[bool, Query(description="CSV only: machine CSV, no BOM, values exact")] = False,
) -> Response:
    result = export.download(session, actor, resource_id, fmt, version=version, home=home, raw=raw)
    return StreamingResponse(result.chunks, media_type=result.media_type, headers=_attachment(result.filename))


@router.get("/entries/{key}/datapackage.json", summary="Frictionless Data Package of an entry")
def datapackage(key: str, request: Request, session: DB, actor: ActorDep) -> dict[str, Any]:
    """A valid Frictionless Tabular Data Package: the tables the caller may read, with download paths;
    the others listed under `x-unavailableResources` (Table Schema and reason). 403 when the caller may
    read none of the entry's tables, 404 when none has a published version."""
    return export.datapackage(session, actor, key, base_url=request.app.state.settings.resolved_base_url)


def sql_response(result: sql.SqlResult) -> dict[str, Any]:
    taken = result.quota
    return {
        "sql": result.sql,
        "fields": [{"name": f.name, "type": str(f.type)} for f in result.table.schema],
        "records": query.records_of(result.table),
        "records_truncated": result.truncated,
        "resources": [{"resource_id": p.resource_id, "version": p.version} for p in result.resources],
        "truncated_by_quota": bool(taken and taken.truncated),
        "quota": taken.marker() if taken else None,
    }


@router.get(
    "/sql",
    summary="Read-only SQL over the tables you may read",
    responses={200: {"model": SqlResultRead}, 429: QUOTA_EXCEEDED},
)
def sql_get(
    session: DB,
    actor: ActorDep,
    home: Home,
    sql_text: Annotated[str, Query(alias="sql", max_length=sql.MAX_SQL_LENGTH)],
) -> dict[str, Any]:
    return sql_response(sql.run_sql(session, actor, sql_text, home=home))


@router.post(
    "/sql",
    summary="Read-only SQL over the tables you may read",
    description='Body `{"sql": "SELECT … FROM "<resource id>" …"}` (PostgreSQL syntax); a SELECT only, '
    "checked against an allow-list, under a time limit and a row limit.",
    responses={200: {"model": SqlResultRead}, 429: QUOTA_EXCEEDED},
)
def sql_post(
    session: DB,
    actor: ActorDep,
    home: Home,
    sql_text: Annotated[str, Body(alias="sql", embed=True, max_length=sql.MAX_SQL_LENGTH)],
) -> dict[str, Any]:
    return sql_response(sql.run_sql(session, actor, sql_text, home=home))


@router.post(
    "/resources/{resource_id}/sandbox",
    summary="Privacy sandbox: aggregates only (differentially private for grantees on personal or health data)",
    description="Body: `{measures: [{fn: count|sum|avg|stddev|quantile, field, q, bounds}], group_by: [≤2 fields], "
    "filters: {field: value or [values]}, dp: {epsilon}}`. On personal or health data a grantee gets only "
    "differentially private answers (ε from `dp`, else the default, charged to the grant's privacy budget first; "
    "groups appear only above a noisy-count threshold); the publisher and the operator get exact ones with small "
    "groups suppressed. The grant's masks apply to group keys. `dry_run=true` checks the query and returns the ε "
    "it would spend, without running it.",
)
def sandbox_query(
    resource_id: str, body: sandbox.SandboxQuery, session: DB, actor: ActorDep, home: Home, dry_run: bool = False
) -> dict[str, Any]:
    return sandbox.run(session, actor, resource_id, body, home=home, dry_run=dry_run).as_json()

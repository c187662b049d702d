"""The one place domain errors become HTTP responses for the native API: ``{"error": {code, message,
details}}``. The CKAN API and the portal install their own renderers for their paths."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pubdata.errors import PubdataError


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def pubdata_error_response(exc: PubdataError) -> JSONResponse:
    headers = {}
    if exc.retry_after is not None:  # rate limits, quotas, a saturated server
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers)


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        msg = _size_message(err) or str(err.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        details.append({"field": ".".join(loc) or "body", "message": msg, "type": err.get("type")})
    return details


def _size_message(err: Any) -> str | None:
    """Pydantic's length errors in Chinese, naming the limit (the API document's maxLength/maxItems)."""
    ctx = err.get("ctx") or {}
    if err.get("type") == "string_too_long":
        return f"最多 {ctx.get('max_length')} 个字符"
    if err.get("type") == "too_long":
        actual = ctx.get("actual_length")
        return f"最多 {ctx.get('max_length')} 项" + (f"，实有 {actual} 项" if actual is not None else "")
    return None


def validation_response(exc: RequestValidationError) -> JSONResponse:
    details = validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return JSONResponse(error_body("request.malformed_json", "请求体不是合法的 JSON", details), status_code=400)
    first = details[0] if details else {"field": "body", "message": "invalid"}
    message = f"输入无效：{first['field']}：{first['message']}"
    return JSONResponse(error_body("request.invalid", message, details), status_code=422)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)


_RDF_SUFFIXES = (".ttl", ".jsonld", ".rdf", ".xml")


def is_api_path(request: Request) -> bool:
    """Machine-facing paths (native API, DCAT exports) get JSON errors; the rest are portal pages."""
    path = request.url.path
    return (
        path.startswith(("/api/", "/oauth/"))
        or path.startswith("/catalog.")
        or (path.startswith("/dataset/") and path.endswith(_RDF_SUFFIXES))
    )

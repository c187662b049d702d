"""The one place domain errors become HTTP responses for the native API: ``{"error": {code, message,
details}}``. The CKAN API and the portal install their own renderers for their paths."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

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
        details.append({"field": ".".join(loc) or "body", "message": pydantic_message(err), "type": err.get("type")})
    return details


def _expected(ctx: dict[str, Any]) -> str:
    return str(ctx.get("expected", "")).replace("' or '", "'、'").replace(", ", "、")


# pydantic's error types → Chinese; ``type`` stays in the details for machines.
_SIMPLE_MESSAGES: dict[str, str] = {
    "missing": "必须提供",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "bool_parsing": "应为布尔值（true 或 false）",
    "bool_type": "应为布尔值（true 或 false）",
    "string_type": "应为字符串",
    "bytes_type": "应为字符串",
    "list_type": "应为数组",
    "tuple_type": "应为数组",
    "set_type": "应为数组",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "json_type": "应为 JSON 文本",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期，不带时刻",
    "datetime_parsing": "时间格式应为 ISO 8601（如 2024-01-31T08:00:00+08:00）",
    "datetime_type": "时间格式应为 ISO 8601（如 2024-01-31T08:00:00+08:00）",
    "datetime_from_date_parsing": "时间格式应为 ISO 8601（如 2024-01-31T08:00:00+08:00）",
    "uuid_parsing": "应为 UUID",
    "uuid_type": "应为 UUID",
    "url_parsing": "应为合法的网址",
    "url_type": "应为合法的网址",
    "url_scheme": "网址协议不受支持",
    "extra_forbidden": "不允许的字段",
    "none_required": "应为空",
    "finite_number": "应为有限数值",
    "is_instance_of": "类型不正确",
}


def pydantic_message(err: Any) -> str:
    """One pydantic error in Chinese: our own validators' messages as they are, pydantic's common
    error types translated (naming the limit), anything else a generic 取值无效."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        msg = str(err.get("msg", ""))
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        return msg or "取值无效"
    if kind in _SIMPLE_MESSAGES:
        return _SIMPLE_MESSAGES[kind]
    if kind == "string_too_short":
        return f"至少 {ctx.get('min_length')} 个字符"
    if kind == "string_too_long":
        return f"最多 {ctx.get('max_length')} 个字符"
    if kind == "too_short":
        return f"至少 {ctx.get('min_length')} 项"
    if kind == "too_long":
        actual = ctx.get("actual_length")
        return f"最多 {ctx.get('max_length')} 项" + (f"，实有 {actual} 项" if actual is not None else "")
    if kind == "greater_than_equal":
        return f"不能小于 {ctx.get('ge')}"
    if kind == "greater_than":
        return f"应大于 {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"不能大于 {ctx.get('le')}"
    if kind == "less_than":
        return f"应小于 {ctx.get('lt')}"
    if kind == "multiple_of":
        return f"应为 {ctx.get('multiple_of')} 的倍数"
    if kind in ("enum", "literal_error"):
        return f"应为以下之一：{_expected(ctx)}"
    if kind == "string_pattern_mismatch":
        return f"格式不符合要求（{ctx.get('pattern')}）"
    if kind == "json_invalid":
        return "不是合法的 JSON"  # pydantic's own reason is English; the field names the position
    return "取值无效"


def validation_response(exc: RequestValidationError) -> JSONResponse:
    details = validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return JSONResponse(error_body("request.malformed_json", "请求体不是合法的 JSON", details), status_code=400)
    first = details[0] if details else {"field": "body", "message": "取值无效"}
    where = "请求体" if first["field"] == "body" else first["field"]
    message = f"输入无效：{where}：{first['message']}"
    return JSONResponse(error_body("request.invalid", message, details), status_code=422)


# Starlette's own English reason phrases ("Not Found", "Method Not Allowed") in Chinese
_HTTP_MESSAGES = {404: "地址不存在", 405: "此地址不支持该请求方法"}


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    """Errors raised by the routing layer (unknown path, wrong method), with their headers (405's
    ``Allow``) kept."""
    status = exc.status_code
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
    headers = dict(exc.headers or {})
    message = str(exc.detail)
    if status in _HTTP_MESSAGES and message == HTTPStatus(status).phrase:
        message = _HTTP_MESSAGES[status]
    allow = next((v for k, v in headers.items() if k.lower() == "allow"), None)
    if status == 405 and allow:
        message = f"{message}（允许的方法：{allow}）"
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def with_allow_header(request: Request, exc: StarletteHTTPException) -> StarletteHTTPException:
    """A 405 naming every method some route answers on this path (Starlette names only the first
    route's, e.g. GET for ``/api/v1/entries`` though POST is another route of the same path)."""
    if exc.status_code != 405:
        return exc
    routes = request.app.router.routes
    allowed = [m for m in _METHODS if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)]
    if not allowed:
        return exc
    return StarletteHTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": ", ".join(allowed)})


class ErrorDetail(BaseModel):
    code: str = Field(description="Namespaced error code, e.g. `catalog.entry_not_found`")
    message: str = Field(description="What went wrong, in Chinese")
    details: Any = Field(default=None, description="Per-field problems (422) or other context")


class ErrorResponse(BaseModel):
    """The native API's error envelope."""

    error: ErrorDetail


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"model": ErrorResponse, "description": description}
    if headers:
        out["headers"] = headers
    return out


# the headers ``pubdata_error_response`` always sends with these statuses
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with",
        "required": True,
        "schema": {"type": "string"},
    }
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Malformed request (e.g. a body that is not JSON)"),
    401: _error("Missing, invalid or expired credentials", _WWW_AUTHENTICATE),
    403: _error("Not permitted (scope, role or CSRF token)"),
    404: _error("Not found, or not visible to the caller"),
    409: _error("Conflicts with the current state"),
    413: _error("Request body too large"),
    422: _error("Invalid input; `details` names each field"),
    429: _error("Rate limit or quota exceeded; see `Retry-After`", _RETRY_AFTER),
    503: _error("Server busy; see `Retry-After`", _RETRY_AFTER),
}
"""The error responses every native API route may answer, declared at the router level."""


_RDF_SUFFIXES = (".ttl", ".jsonld", ".rdf", ".xml")


def is_api_path(request: Request) -> bool:
    """Machine-facing paths (native API, DCAT exports) get JSON errors; the rest are portal pages."""
    path = request.url.path
    return (
        path.startswith(("/api/", "/oauth/"))
        or path.startswith("/catalog.")
        or (path.startswith("/dataset/") and path.endswith(_RDF_SUFFIXES))
    )

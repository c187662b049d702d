"""CKAN Action API compatibility at ``/api/3/action/NAME`` and ``/api/action/NAME`` (GET with a query
string, POST with a JSON or form body), answering in CKAN's envelope ``{help, success, result}``.

Errors keep CKAN's types and HTTP codes: Not Found Error 404, Authorization Error 403 (also for a
missing, invalid, expired or revoked token), Validation Error 409 (field names as keys), Search Query
Error 400; an unknown action or malformed body is CKAN's bare ``"Bad request - …"`` string with 400.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from pubdata.api import errors as api_errors
from pubdata.api.ckan import actions, datastore  # noqa: F401  (datastore registers its actions)
from pubdata.api.ckan.errors import BadRequest, CkanError, ValidationError
from pubdata.api.deps import SessionDep, resolve_actor
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound, PubdataError, RateLimited, Unauthenticated

router = APIRouter(tags=["ckan"])
PREFIXES = ("/api/3/action/", "/api/action/")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_ckan_path(request: Request) -> bool:
    return request.url.path.startswith(PREFIXES)


def _help_url(request: Request | None, name: str | None = None) -> str | None:
    if request is None:
        return None
    if name is None:
        name = request.url.path.rsplit("/", 1)[-1]
    base = request.app.state.settings.resolved_base_url
    return f"{base}/api/3/action/help_show?name={name}"


def _envelope(request: Request | None, error: dict[str, Any], status: int, **headers: str) -> JSONResponse:
    body = {"help": _help_url(request), "success": False, "error": error}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse(f"Bad request - {message}", status_code=400)


def _validation_body(exc: Invalid | Conflict) -> dict[str, Any]:
    error: dict[str, Any] = {"__type": "Validation Error"}
    details = exc.details if isinstance(exc.details, list) else []
    for item in details:
        if isinstance(item, dict) and item.get("field"):
            message = str(item.get("message") or exc.message) if isinstance(exc, Invalid) else exc.message
            error.setdefault(str(item["field"]), []).append(message)
    if len(error) == 1:
        error["message"] = exc.message
    return error


def error_response(exc: PubdataError, request: Request | None = None) -> JSONResponse:
    """A domain error in CKAN's envelope, with CKAN's error type and HTTP status."""
    if isinstance(exc, NotFound):
        return _envelope(request, {"__type": "Not Found Error", "message": exc.message}, 404)
    if isinstance(exc, Forbidden | Unauthenticated):
        return _envelope(request, {"__type": "Authorization Error", "message": exc.message}, 403)
    if isinstance(exc, Invalid | Conflict):
        return _envelope(request, _validation_body(exc), 409)
    retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
    if isinstance(exc, RateLimited):
        return _envelope(request, {"__type": "Rate Limit Error", "message": exc.message}, 429, **retry)
    kind = _OTHER_TYPES.get(exc.status, "Internal Server Error")
    return _envelope(request, {"__type": kind, "message": exc.message}, exc.status, **retry)


# CKAN has no names of its own for these; the status and Retry-After are what clients act on.
_OTHER_TYPES = {413: "Request Too Large Error", 503: "Service Unavailable Error"}


def ckan_error_response(exc: CkanError, request: Request | None = None) -> JSONResponse:
    if isinstance(exc, ValidationError):
        return _envelope(request, {"__type": exc.ckan_type, **exc.errors}, exc.status)
    if isinstance(exc, BadRequest):
        return _bad_request(exc.message)
    return _envelope(request, {"__type": exc.ckan_type, "message": exc.message}, exc.status)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    error: dict[str, Any] = {"__type": "Validation Error"}
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")]
        error.setdefault(".".join(loc) or "body", []).append(api_errors.pydantic_message(err))
    return JSONResponse({"help": None, "success": False, "error": error}, status_code=409)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 404:
        error = {"__type": "Not Found Error", "message": str(exc.detail)}
        return JSONResponse({"help": None, "success": False, "error": error}, status_code=404)
    if exc.status_code == 405:  # CKAN answers a wrong method with 400; the Allow header still names the right ones
        response = _bad_request("请使用 GET 或 POST 调用 action")
        response.headers.update(exc.headers or {})
        return response
    return JSONResponse(f"Bad request - {exc.detail}", status_code=exc.status_code)


async def _request_data(request: Request) -> dict[str, Any]:
    """The action's data dict: query-string parameters, then the body's (JSON object or form)."""
    data: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        data[key] = values[0] if len(values) == 1 else values
    if request.method != "POST":
        return data
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _FORM_TYPES:
        form = await request.form()
        for key in form:
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            data[key] = values[0] if len(values) == 1 else values
        return data
    raw = await request.body()
    if not raw.strip():
        return data
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"JSON Error: 请求体不是合法的 JSON（{exc}）") from None
    if not isinstance(body, dict):
        raise BadRequest(f"JSON Error: 请求体应为 JSON 对象，而不是 {type(body).__name__}")
    data.update(body)
    return data


def _call(name: str, request: Request, session: Session, data: dict[str, Any]) -> Any:
    actor = resolve_actor(request, session)  # a bad token is an error here, never anonymous access
    ctx = actions.Context(session=session, actor=actor, settings=request.app.state.settings)
    return actions.run(name, ctx, data)


async def _action(name: str, request: Request, session: Session) -> JSONResponse:
    if name not in actions.ACTIONS:
        return _bad_request(f"Action name not known: {name}")
    try:
        data = await _request_data(request)
        result = await run_in_threadpool(_call, name, request, session, data)
    except CkanError as exc:
        return ckan_error_response(exc, request)
    except PubdataError as exc:
        return error_response(exc, request)
    return JSONResponse({"help": _help_url(request, name), "success": True, "result": result})


async def ckan_action(name: str, request: Request, session: Session = SessionDep) -> JSONResponse:
    return await _action(name, request, session)


for _path, _label in (("/api/3/action/{name}", "v3"), ("/api/action/{name}", "unversioned")):
    for _method in ("GET", "POST"):
        router.add_api_route(
            _path,
            ckan_action,
            methods=[_method],
            operation_id=f"ckan_action_{_label}_{_method.lower()}",
            summary=f"CKAN Action API ({_label}, {_method})",
        )

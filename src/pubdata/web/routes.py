"""Portal pages (skeleton; filled in by the portal work)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pubdata.errors import PubdataError

router = APIRouter(include_in_schema=False)


def error_page(request: Request, exc: PubdataError) -> HTMLResponse:
    return HTMLResponse(f"<h1>{exc.message}</h1>", status_code=exc.status)


def validation_error_page(request: Request, exc: RequestValidationError) -> HTMLResponse:
    return HTMLResponse("<h1>输入无效</h1>", status_code=422)


def http_error_page(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
    return HTMLResponse(f"<h1>{exc.detail}</h1>", status_code=exc.status_code)

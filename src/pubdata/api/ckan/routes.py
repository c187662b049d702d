"""CKAN Action API compatibility (skeleton; filled in by the CKAN work)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pubdata.errors import PubdataError

router = APIRouter(tags=["ckan"])


def is_ckan_path(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/3/action/") or path.startswith("/api/action/")


def error_response(exc: PubdataError) -> JSONResponse:
    return JSONResponse({"success": False, "error": {"__type": "Error", "message": exc.message}}, status_code=exc.status)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"success": False, "error": {"__type": "Validation Error", "message": str(exc)}}, status_code=409)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"success": False, "error": {"__type": "Not Found Error", "message": str(exc.detail)}}, status_code=exc.status_code)

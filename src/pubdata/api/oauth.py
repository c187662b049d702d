"""OAuth2 token endpoint (RFC 6749 §4.4, client credentials) for consumer systems.

``POST /oauth/token`` with ``grant_type=client_credentials`` and the client's id and secret (HTTP Basic
or form fields), optionally ``scope``; answers ``{"access_token", "token_type": "Bearer",
"expires_in", "scope"}``. Errors use RFC 6749's shape (``{"error", "error_description"}``), not the
native API's: 400 ``invalid_request`` / ``unsupported_grant_type`` / ``invalid_scope``, 401
``invalid_client``. Refusals are audited."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from pubdata.api.deps import DB
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.audit import service as audit
from pubdata.authz import ANONYMOUS
from pubdata.db import utcnow
from pubdata.errors import Invalid
from pubdata.identity import machines

router = APIRouter(tags=["oauth"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANT_TYPE = "client_credentials"


class OAuthToken(BaseModel):
    """RFC 6749 §5.1 access token response."""

    access_token: str
    token_type: str = Field(description="Always `Bearer`")
    expires_in: int = Field(description="Seconds until the token expires")
    scope: str = Field(description="The granted scopes, space-separated")


class OAuthError(BaseModel):
    """RFC 6749 §5.2 error response (not the native API's envelope)."""

    error: str = Field(
        json_schema_extra={"enum": ["invalid_request", "unsupported_grant_type", "invalid_scope", "invalid_client"]}
    )
    error_description: str = Field(description="What went wrong, in Chinese")


_NO_STORE_HEADERS = {
    "Cache-Control": {"schema": {"type": "string", "const": "no-store"}, "required": True},
    "Pragma": {"schema": {"type": "string", "const": "no-cache"}, "required": True},
}
_TOKEN_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": [GRANT_TYPE]},
                        "client_id": {"type": "string", "description": "Unless sent with HTTP Basic"},
                        "client_secret": {"type": "string", "description": "Unless sent with HTTP Basic"},
                        "scope": {"type": "string", "description": "Space-separated; default all the client's"},
                    },
                }
            }
        },
    },
    "security": [{"clientBasic": []}, {}],
}
_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": OAuthToken, "description": "The access token", "headers": _NO_STORE_HEADERS},
    400: {
        "model": OAuthError,
        "description": "`invalid_request`, `unsupported_grant_type` or `invalid_scope`",
        "headers": _NO_STORE_HEADERS,
    },
    401: {
        "model": OAuthError,
        "description": "`invalid_client`: unknown client, wrong secret, revoked client",
        "headers": {
            **_NO_STORE_HEADERS,
            "WWW-Authenticate": {"schema": {"type": "string"}, "required": True},
        },
    },
    # refused by the request limits before the endpoint runs: the native API's envelope
    **{status: ERROR_RESPONSES[status] for status in (413, 429, 503)},
}


def _error(status: int, error: str, description: str) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="pubdata"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _basic(request: Request) -> tuple[str, str] | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote_plus(user), unquote_plus(password)


@router.post(
    "/oauth/token",
    summary="OAuth2 client credentials grant",
    response_model=None,
    responses=_TOKEN_RESPONSES,
    openapi_extra=_TOKEN_REQUEST,
)
async def token(request: Request, session: DB) -> Any:
    try:
        form = await request.form()
    except StarletteHTTPException as exc:  # a malformed multipart body; an oversized one stays 413
        if exc.status_code != 400:
            raise
        return _error(400, "invalid_request", f"请求体无法解析：{exc.detail}")
    fields = {k: str(v) for k, v in form.items()}
    if fields.get("grant_type") != GRANT_TYPE:
        what = fields.get("grant_type") or "（缺少 grant_type）"
        return _error(400, "unsupported_grant_type", f"只支持 client_credentials 授权方式：{what}")
    credentials = _basic(request) or (fields.get("client_id", ""), fields.get("client_secret", ""))
    if not credentials[0] or not credentials[1]:
        return _error(401, "invalid_client", "缺少客户端 ID 或密钥")
    try:
        issued, secret, _client = machines.issue_client_token(
            session, credentials[0], credentials[1], fields.get("scope")
        )
    except machines.InvalidClient as exc:
        audit.refuse(session, ANONYMOUS, audit.Event("auth.client", reason=f"{exc.message}：{credentials[0]}"))
        return _error(401, "invalid_client", exc.message)  # the session commits: the refusal is kept
    except Invalid as exc:
        return _error(400, "invalid_scope", exc.message)
    body = {
        "access_token": secret,
        "token_type": "Bearer",
        "expires_in": max(0, round((issued.expires_at - utcnow()).total_seconds())),
        "scope": issued.scopes,
    }
    return JSONResponse(body, headers=_NO_STORE)

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

from pubdata.api.deps import DB
from pubdata.audit import service as audit
from pubdata.authz import ANONYMOUS
from pubdata.db import utcnow
from pubdata.errors import Invalid
from pubdata.identity import machines

router = APIRouter(tags=["oauth"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


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


@router.post("/oauth/token", summary="OAuth2 client credentials grant")
async def token(request: Request, session: DB) -> Any:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    if fields.get("grant_type") != "client_credentials":
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

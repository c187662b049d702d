"""CSRF protection of the portal's state-changing forms.

* Signed-in forms carry the login session's own ``csrf_token`` (stored server-side with the session)
  in a hidden field; it must match exactly.
* The login form has no session yet, so it uses a signed double-submit token: a random nonce plus an
  HMAC-SHA256 of it under the platform secret, set both in a cookie and in the form. A forged POST
  from another site can neither read the cookie nor mint a validly signed value of its own.

Comparisons are constant-time. Any failure raises ``Forbidden`` (rendered as a 403 page) before
anything is changed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pubdata.errors import Forbidden

LOGIN_CSRF_COOKIE = "pubdata_login_csrf"
LOGIN_CSRF_MAX_AGE = 2 * 3600  # seconds a login form stays valid
_PURPOSE = b"pubdata.login-csrf.v1:"


class CsrfFailed(Forbidden):
    code = "web.csrf_failed"


CSRF_MESSAGE = "表单校验失败（CSRF 令牌缺失或不正确）。请刷新页面后重新提交。"


def _signature(secret_key: str, nonce: str) -> str:
    return hmac.new(secret_key.encode(), _PURPOSE + nonce.encode(), hashlib.sha256).hexdigest()


def new_login_token(secret_key: str) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_signature(secret_key, nonce)}"


def login_token_is_valid(secret_key: str, token: str | None) -> bool:
    if not token or token.count(".") != 1:
        return False
    nonce, signature = token.split(".")
    return bool(nonce) and hmac.compare_digest(signature, _signature(secret_key, nonce))


def check_login_token(secret_key: str, cookie_value: str | None, form_value: str | None) -> None:
    """The double-submit check: the form's token equals the cookie's, and it is signed by us."""
    if not cookie_value or not form_value:
        raise CsrfFailed(CSRF_MESSAGE)
    if not hmac.compare_digest(cookie_value.encode(), form_value.encode()):
        raise CsrfFailed(CSRF_MESSAGE)
    if not login_token_is_valid(secret_key, cookie_value):
        raise CsrfFailed(CSRF_MESSAGE)


def check_session_token(expected: str | None, form_value: str | None) -> None:
    """A signed-in form: the hidden field equals the login session's CSRF token."""
    if not expected or not form_value or not hmac.compare_digest(expected.encode(), form_value.encode()):
        raise CsrfFailed(CSRF_MESSAGE)

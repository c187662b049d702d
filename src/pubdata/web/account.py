"""Portal sign-in and sign-out by session cookie, and the personal page (个人中心).

The session cookie (``pubdata_session``) holds a random secret of which the server keeps only a
hash; it is HttpOnly, SameSite=Lax, Secure when the platform is served over https, and lives
``settings.session_hours``. Both forms are CSRF-protected (see ``web.csrf``). Sign-in is throttled
per account and per client address (``identity.login``): past a few failures the form answers 429
with ``Retry-After`` and a message saying how long to wait.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pubdata.api.deps import DB, SESSION_COOKIE
from pubdata.identity import login as logins
from pubdata.identity import service as identity
from pubdata.identity.errors import InvalidCredentials
from pubdata.settings import Settings
from pubdata.web import csrf
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)

OptionalForm = Annotated[str | None, Form()]


def safe_next(target: str | None, default: str = "/") -> str:
    """Where to go after signing in: only a path on this site. Absolute URLs, scheme-relative
    ``//host`` and backslash tricks (``/\\host``) fall back to ``default``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    if parts.path.startswith("/user/login") or parts.path.startswith("/user/logout"):
        return default
    return target


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _secure(request: Request) -> bool:
    return _settings(request).resolved_base_url.lower().startswith("https://")


def _login_form(
    request: Request,
    *,
    next_url: str,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
    retry_after: int | None = None,
) -> HTMLResponse:
    secret_key = _settings(request).resolved_secret_key()
    token = request.cookies.get(csrf.LOGIN_CSRF_COOKIE)
    if not csrf.login_token_is_valid(secret_key, token):
        token = csrf.new_login_token(secret_key)
    headers = {"Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    response = render(
        request,
        "user/login.html",
        {"nav": "login", "next_url": next_url, "username": username, "error": error, "login_csrf": token},
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        csrf.LOGIN_CSRF_COOKIE,
        token or "",
        max_age=csrf.LOGIN_CSRF_MAX_AGE,
        path="/user",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


@router.get("/user/login", response_class=HTMLResponse)
def login_page(request: Request, viewer: ViewerDep, next: str | None = None) -> Response:
    next_url = safe_next(next)
    if viewer.signed_in and viewer.csrf_token:
        return RedirectResponse(next_url, status_code=303)
    return _login_form(request, next_url=next_url)


@router.post("/user/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: DB,
    viewer: ViewerDep,
    username: OptionalForm = None,
    password: OptionalForm = None,
    csrf_token: OptionalForm = None,
    next: OptionalForm = None,
) -> Response:
    settings = _settings(request)
    # First the CSRF check: a forged request changes nothing and learns nothing.
    csrf.check_login_token(settings.resolved_secret_key(), request.cookies.get(csrf.LOGIN_CSRF_COOKIE), csrf_token)
    next_url = safe_next(next)
    name = (username or "").strip()
    if not name or not password:
        return _login_form(request, next_url=next_url, username=name, error="请输入用户名和密码", status_code=400)
    policy = logins.LoginPolicy(
        max_failures=settings.login_max_failures,
        max_failures_per_address=settings.login_max_failures_per_address,
        max_wait=settings.login_max_wait_seconds,
    )
    address = request.client.host if request.client else "unknown"
    try:
        user = logins.login(session, name, password, address, policy)
    except logins.LoginThrottled as exc:
        return _login_form(
            request, next_url=next_url, username=name, error=exc.message, status_code=429, retry_after=exc.retry_after
        )
    except InvalidCredentials:
        return _login_form(request, next_url=next_url, username=name, error="用户名或密码错误", status_code=401)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        identity.end_login_session(session, old)
    _, secret = identity.start_login_session(session, user, settings.session_hours)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(csrf.LOGIN_CSRF_COOKIE, path="/user")
    return response


@router.post("/user/logout")
def logout(request: Request, session: DB, viewer: ViewerDep, csrf_token: OptionalForm = None) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if viewer.signed_in and cookie:
        csrf.check_session_token(viewer.csrf_token, csrf_token)
        identity.end_login_session(session, cookie)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response


@router.get("/user/me", response_class=HTMLResponse)
def me(request: Request, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return RedirectResponse("/user/login?next=" + quote("/user/me"), status_code=303)
    return render(request, "user/me.html", {"nav": "me", "me": _me(viewer)}, headers={"Cache-Control": "no-store"})


def _me(viewer: Viewer) -> dict[str, object]:
    return {
        "username": viewer.actor.username,
        "display_name": viewer.display_name,
        "organisation": viewer.organisation_name,
        "organisation_kind": viewer.organisation_kind,
        "roles": viewer.roles,
        "via": viewer.actor.via,
    }

"""The portal's Delta Sharing page (数据共享凭证, under 个人中心): a signed-in user issues a recipient
profile for themselves (the profile file is shown and offered for download once), sees and revokes
their profiles; the operator and administrators also see and revoke everyone's."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from pubdata.api.deps import DB
from pubdata.errors import Forbidden, Invalid, NotFound
from pubdata.settings import get_settings
from pubdata.sharing import profiles
from pubdata.sharing import service as sharing
from pubdata.web.access_forms import NO_STORE, attempt, check_csrf, form_error, login_redirect
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
PAGE = "/user/sharing"
STATUS_LABELS = {"active": "有效", "expired": "已过期", "revoked": "已吊销"}


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    issued: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    mine = profiles.list_profiles(session, viewer.actor)
    may_manage = profiles.may_manage_any(viewer.actor)
    everyone = profiles.list_profiles(session, viewer.actor, everyone=True) if may_manage else []
    settings = get_settings()
    context = {
        "nav": "me",
        "mine": mine,
        "everyone": [p for p in everyone if p.user_id != viewer.actor.user_id],
        "statuses": STATUS_LABELS,
        "issued": issued,
        "error": error,
        "values": values or {},
        "default_days": min(settings.sharing_token_days, settings.sharing_token_max_days),
        "max_days": settings.sharing_token_max_days,
        "url_minutes": settings.sharing_url_minutes,
        "shares": sharing.SHARES,
    }
    return render(request, "user/sharing.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/user/sharing", response_class=HTMLResponse)
def sharing_page(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request, PAGE)
    return _page(request, session, viewer)


@router.post("/user/sharing", response_class=HTMLResponse)
def sharing_issue(
    request: Request, session: DB, viewer: ViewerDep, csrf_token: FormStr = "", name: FormStr = "", days: FormStr = ""
) -> Response:
    if not viewer.signed_in:
        return login_redirect(request, PAGE)
    check_csrf(viewer, csrf_token)
    base_url = request.app.state.settings.resolved_base_url
    try:
        if days.strip() and not days.strip().isdecimal():
            raise Invalid("有效期应为整数天数", field="days")
        lifetime = int(days) if days.strip() else None
        row, file = attempt(
            session, lambda: profiles.issue_profile(session, viewer.actor, name=name, days=lifetime, base_url=base_url)
        )
    except (Invalid, Forbidden) as exc:
        values = {"name": name, "days": days}
        return _page(request, session, viewer, error=form_error(exc), values=values, status_code=exc.status)
    text = json.dumps(file, ensure_ascii=False, indent=2)
    href = "data:application/json;charset=utf-8," + quote(text)
    issued = {"id": row.id, "name": row.name, "text": text, "href": href}
    return _page(request, session, viewer, issued=issued)


@router.post("/user/sharing/{profile_id}/revoke", response_class=HTMLResponse)
def sharing_revoke(
    request: Request, profile_id: int, session: DB, viewer: ViewerDep, csrf_token: FormStr = "", reason: FormStr = ""
) -> Response:
    if not viewer.signed_in:
        return login_redirect(request, PAGE)
    check_csrf(viewer, csrf_token)
    try:
        attempt(session, lambda: profiles.revoke_profile(session, viewer.actor, profile_id, reason))
    except NotFound as exc:
        return _page(request, session, viewer, error=form_error(exc), status_code=exc.status)
    return RedirectResponse(f"{PAGE}#profile-{profile_id}", status_code=303)

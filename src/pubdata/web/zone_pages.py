"""Zone pages (专区): the zones, one zone's rules and catalogue, applying to join, and the operator's
review of applications."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pubdata.access import zones
from pubdata.api.deps import DB
from pubdata.authz import Permission
from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import entry_summary
from pubdata.errors import PubdataError
from pubdata.identity import service as identity
from pubdata.web import csrf
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)
STATE_LABELS = {"applied": "待审核", "admitted": "已加入", "rejected": "已驳回"}


@router.get("/zones", response_class=HTMLResponse)
def zone_list(request: Request, session: DB, viewer: ViewerDep) -> HTMLResponse:
    views = zones.list_zones(session, viewer.actor)
    return render(request, "zones/list.html", {"nav": "zones", "views": views, "state_labels": STATE_LABELS})


def _zone_context(session: DB, viewer: Viewer, code: str) -> dict[str, Any]:
    view = next((v for v in zones.list_zones(session, viewer.actor) if v.zone.code == code), None)
    if view is None:
        raise zones.ZoneNotFound(f"专区不存在：{code}")
    entries = [entry_summary(catalog.get_entry(session, viewer.actor, i)) for i in zones.entry_ids(session, code)]
    reviewer = viewer.actor.can(Permission.ACCESS_GRANT_ISSUE)
    members = zones.list_members(session, viewer.actor, code) if viewer.signed_in else []
    names = identity.organisation_names_by_id(session, viewer.actor, [m.organisation_id for m in members])
    return {
        "nav": "zones",
        "view": view,
        "entries": entries,
        "members": members,
        "org_names": names,
        "reviewer": reviewer,
        "kinds": "、".join(zones.KIND_LABELS.get(k, k) for k in view.zone.member_kinds.split(",")),
        "state_labels": STATE_LABELS,
        "error": None,
        "form": {},
    }


@router.get("/zones/{code}", response_class=HTMLResponse)
def zone_page(request: Request, code: str, session: DB, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "zones/zone.html", _zone_context(session, viewer, code))


def _form_action(request: Request, viewer: Viewer) -> Response | None:
    if not viewer.signed_in:
        return RedirectResponse("/user/login?next=" + quote(request.url.path), status_code=303)
    return None


@router.post("/zones/{code}/apply", response_class=HTMLResponse)
async def zone_apply(request: Request, code: str, session: DB, viewer: ViewerDep) -> Response:
    redirect = _form_action(request, viewer)
    if redirect:
        return redirect
    form = {k: str(v) for k, v in (await request.form()).items()}
    csrf.check_session_token(viewer.csrf_token, form.get("csrf_token"))
    try:
        zones.apply(session, viewer.actor, code, form.get("qualifications", ""))
    except PubdataError as exc:
        if exc.status >= 500:
            raise
        context = _zone_context(session, viewer, code)
        context.update(error=exc.message, form=form)
        return render(request, "zones/zone.html", context, status_code=exc.status)
    return RedirectResponse(f"/zones/{code}", status_code=303)


@router.post("/zones/{code}/members/{member_id}", response_class=HTMLResponse)
async def zone_review(request: Request, code: str, member_id: int, session: DB, viewer: ViewerDep) -> Response:
    redirect = _form_action(request, viewer)
    if redirect:
        return redirect
    form = {k: str(v) for k, v in (await request.form()).items()}
    csrf.check_session_token(viewer.csrf_token, form.get("csrf_token"))
    try:
        zones.review_member(
            session, viewer.actor, code, member_id, form.get("decision") == "admit", form.get("reason", "")
        )
    except PubdataError as exc:
        if exc.status >= 500 or exc.status == 403:
            raise
        context = _zone_context(session, viewer, code)
        context.update(error=exc.message)
        return render(request, "zones/zone.html", context, status_code=exc.status)
    return RedirectResponse(f"/zones/{code}", status_code=303)

"""Zone pages (专区): the zones, one zone's rules and catalogue, applying to join, and the operator's
review of applications."""

from __future__ import annotations

from collections.abc import Callable
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


async def _zone_form(
    request: Request, code: str, session: DB, viewer: Viewer, act: Callable[[dict[str, str]], object]
) -> Response:
    """A signed-in form on a zone page: CSRF checked, ``act`` run with the fields, then back to the
    zone page — or the page again with the error when the service refuses (the zone services
    check everything before they write, so nothing is stored then)."""
    if not viewer.signed_in:
        return RedirectResponse("/user/login?next=" + quote(request.url.path), status_code=303)
    form = {k: str(v) for k, v in (await request.form()).items()}
    csrf.check_session_token(viewer.csrf_token, form.get("csrf_token"))
    try:
        act(form)
    except PubdataError as exc:
        if exc.status >= 500 or exc.status == 403:
            raise
        context = _zone_context(session, viewer, code)
        context.update(error=exc.message, form=form)
        return render(request, "zones/zone.html", context, status_code=exc.status)
    return RedirectResponse(f"/zones/{code}", status_code=303)


@router.post("/zones/{code}/apply", response_class=HTMLResponse)
async def zone_apply(request: Request, code: str, session: DB, viewer: ViewerDep) -> Response:
    def act(form: dict[str, str]) -> object:
        return zones.apply(session, viewer.actor, code, form.get("qualifications", ""))

    return await _zone_form(request, code, session, viewer, act)


@router.post("/zones/{code}/members/{member_id}", response_class=HTMLResponse)
async def zone_review(request: Request, code: str, member_id: int, session: DB, viewer: ViewerDep) -> Response:
    def act(form: dict[str, str]) -> object:
        admit = form.get("decision") == "admit"
        return zones.review_member(session, viewer.actor, code, member_id, admit, form.get("reason", ""))

    return await _zone_form(request, code, session, viewer, act)

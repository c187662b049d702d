"""政策推送 pages: an enterprise's inbox of proactive notices (with the unread badge of the
navigation), "为我推荐" (the clauses its enterprise matches), and for those who run and review
policies the reach of a pack (by clause and district, with charts), the matched enterprises, and
the operator's button to match again."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pubdata.api.deps import DB, Home
from pubdata.authz import Permission
from pubdata.errors import PubdataError
from pubdata.policy import service
from pubdata.policy.matching import match, notices, reach
from pubdata.policy.packs.explain import money
from pubdata.web import csrf
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
KIND_LABELS = {
    "fixed": "固定金额",
    "up_to": "最高限额",
    "formula": "按比例计算",
    "assessed": "据实核定",
    "none": "认定标准",
}
PAGE = 50


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse("/user/login?next=" + quote(request.url.path), status_code=303)


async def _checked_form(request: Request, viewer: Viewer) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    csrf.check_session_token(viewer.csrf_token, form.get("csrf_token"))
    return form


# --- the inbox -----------------------------------------------------------------------------------------


@router.get("/me/notices", response_class=HTMLResponse)
def notice_inbox(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login(request)
    items = notices.list_notices(session, viewer.actor, limit=200)
    context = {
        "nav": "notices",
        "notices": items,
        "unread": sum(1 for n in items if n.read_at is None),
    }
    return render(request, "policies/notices.html", context, headers=NO_STORE)


@router.get("/me/notices/count", response_class=HTMLResponse)
def notice_count(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """The navigation's badge: unread notices (loaded by htmx)."""
    count = notices.unread_count(session, viewer.actor) if viewer.signed_in else 0
    return render(request, "policies/_notice_count.html", {"count": count}, headers=NO_STORE)


@router.get("/me/notices/{notice_id}", response_class=HTMLResponse)
def notice_page(request: Request, notice_id: int, session: DB, viewer: ViewerDep) -> Response:
    """One notice; opening it marks it read."""
    if not viewer.signed_in:
        return _login(request)
    notice = notices.mark_read(session, viewer.actor, notice_id)
    return render(request, "policies/notice.html", {"nav": "notices", "notice": notice}, headers=NO_STORE)


@router.post("/me/notices/{notice_id}/read", response_class=HTMLResponse)
async def notice_read(request: Request, notice_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login(request)
    await _checked_form(request, viewer)
    notices.mark_read(session, viewer.actor, notice_id)
    return RedirectResponse("/me/notices", status_code=303)


@router.post("/me/notices/read-all", response_class=HTMLResponse)
async def notice_read_all(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login(request)
    await _checked_form(request, viewer)
    notices.mark_all_read(session, viewer.actor)
    return RedirectResponse("/me/notices", status_code=303)


# --- policies for me -----------------------------------------------------------------------------------


@router.get("/me/policies", response_class=HTMLResponse)
def my_policies(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login(request)
    rows = reach.my_matches(session, viewer.actor)
    context = {
        "nav": "notices",
        "eligible": [r for r in rows if r.eligible],
        "undecided": [r for r in rows if r.eligible is None],
        "packs": [p.id for p in service.list_packs(viewer.actor)],
        "kind_labels": KIND_LABELS,
        "has_enterprise": viewer.organisation_kind == "enterprise",
    }
    return render(request, "policies/for_me.html", context, headers=NO_STORE)


# --- reach and matches (operator, departments, regulator) ---------------------------------------------


def _wan(value: int) -> float:
    return round(value / 10_000, 2)


def _chart_data(result: Any) -> dict[str, Any]:
    """What the reach charts draw: eligible enterprises by district for each clause, and each
    clause's amounts in 万元 (known figures and the caps of 最高不超过 figures)."""
    districts = [d.district for d in result.clauses[0].by_district] if result.clauses else []
    return {
        "districts": districts,
        "clauses": [
            {
                "id": c.clause_id,
                "title": c.title,
                "eligible": [d.eligible for d in c.by_district],
                "amount_wan": _wan(c.amount),
                "up_to_wan": _wan(c.up_to),
            }
            for c in result.clauses
        ],
    }


@router.get("/policies/{pack_id}/reach", response_class=HTMLResponse)
def reach_page(request: Request, pack_id: str, session: DB, viewer: ViewerDep, home: Home) -> Response:
    if not viewer.signed_in:
        return _login(request)
    result = reach.reach(session, viewer.actor, pack_id, home=home)
    context = {
        "nav": "policies",
        "reach": result,
        "chart": _chart_data(result),
        "money": money,
        "kind_labels": KIND_LABELS,
        "can_match": viewer.actor.can(Permission.POLICY_MATCH_RUN),
        "can_list": viewer.actor.can(Permission.POLICY_MATCH_READ),
        "message": request.query_params.get("matched"),
    }
    return render(request, "policies/reach.html", context, headers=NO_STORE)


@router.post("/policies/{pack_id}/match", response_class=HTMLResponse)
async def run_match(request: Request, pack_id: str, session: DB, viewer: ViewerDep, home: Home) -> Response:
    """The operator's "match now" button on the reach page."""
    if not viewer.signed_in:
        return _login(request)
    form = await _checked_form(request, viewer)
    run = match.match_pack(session, viewer.actor, pack_id, home=home, force=form.get("force") == "1")
    done = (
        "沿用已有结果（政策与企业档案均无变化）"
        if run.reused
        else f"已完成第 {run.id} 次匹配，新推送 {run.newly_eligible} 条"
    )
    return RedirectResponse(f"/policies/{pack_id}/reach?{urlencode({'matched': done})}", status_code=303)


@router.get("/policies/{pack_id}/matches", response_class=HTMLResponse)
def matches_page(request: Request, pack_id: str, session: DB, viewer: ViewerDep, home: Home) -> Response:
    if not viewer.signed_in:
        return _login(request)
    params = request.query_params
    clause = params.get("clause") or None
    district = params.get("district") or None
    state = params.get("state") or ""
    eligible = {"eligible": True, "undecided": False}.get(state)
    try:
        page_no = max(1, int(params.get("page", "1")))
    except ValueError:
        page_no = 1
    pack = service.get_pack(viewer.actor, pack_id)
    error = None
    try:
        page = reach.list_matches(
            session, viewer.actor, pack_id, home=home, clause=clause, district=district,
            eligible=eligible, offset=(page_no - 1) * PAGE, limit=PAGE,
        )  # fmt: skip
    except PubdataError as exc:
        if exc.status in (401, 403):
            raise
        page, error = None, exc.message
    query = {k: v for k, v in (("clause", clause), ("district", district), ("state", state)) if v}
    context = {
        "nav": "policies",
        "pack": pack,
        "page": page,
        "page_no": page_no,
        "pages": max(1, -(-page.total // PAGE)) if page else 1,
        "query": urlencode(query),
        "form": {"clause": clause or "", "district": district or "", "state": state},
        "districts": [*reach.DISTRICT_NAMES, reach.UNKNOWN_DISTRICT],
        "error": error,
        "money": money,
        "amount_text": notices.amount_text,
    }
    return render(request, "policies/matches.html", context, headers=NO_STORE)

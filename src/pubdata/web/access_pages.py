"""Portal pages for governed access: the request form of a 有条件开放 table, the requests a viewer
made or must review, one request with its decision history and the reviewer's decision form, and the
grants held or issued with today's usage. The audit viewer (``audit_pages``) is mounted with them.

Pages only resolve the viewer and call services (``store.contracts``, ``access.service``); the
services decide who may do what. Every form is a POST carrying the login session's CSRF token, checked
before anything else; service errors are shown on the form in Chinese (each service call runs in a
savepoint, so a refused decision leaves nothing half-changed), and a successful POST redirects (303)
to the page that shows the result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access import service as access
from pubdata.access.schemas import Decision, GrantRead, RequestCreate, RequestRead
from pubdata.api.deps import DB
from pubdata.authz import Permission
from pubdata.catalog import service as catalog
from pubdata.catalog.errors import ResourceNotFound
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound
from pubdata.identity import service as identity
from pubdata.store import contracts
from pubdata.web import audit_pages
from pubdata.web.access_forms import (
    ACTION_LABELS,
    GRANT_STATUS_LABELS,
    MODE_LABELS,
    NO_STORE,
    STATE_LABELS,
    STEP_LABELS,
    Names,
    attempt,
    change_lines,
    check_csrf,
    default_mask,
    form_error,
    login_redirect,
    mask_choices,
    mask_label,
    optional_date,
    optional_float,
    optional_int,
    table_fields,
    validation_message,
)
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)
router.include_router(audit_pages.router)

FormStr = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]


# --- the request form ---------------------------------------------------------------------------------


def _requestable(session: Session, viewer: Viewer, name: str, rid: str) -> tuple[Any, Any]:
    """The entry and resource, if the viewer's organisation may ask for it (the service's rule,
    checked first so the form is not offered in vain)."""
    entry = catalog.get_entry(session, viewer.actor, name)
    resource = access.requestable(session, viewer.actor, rid)
    if resource.entry_id != entry.id:
        raise ResourceNotFound(f"数据目录 {entry.code} 没有资源 {rid}")
    return entry, resource


def _request_form(
    request: Request,
    session: Session,
    viewer: Viewer,
    entry: Any,
    resource: Any,
    *,
    values: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    fields = table_fields(session, viewer, resource.id)
    for f in fields:
        f["default_mask"] = default_mask(f)
        f["default_mask_label"] = mask_label(f["default_mask"]) if f["default_mask"] else ""
    today = access.beijing_today()
    health = [f["title"] or f["name"] for f in fields if f.get("personal_kind") == "health"]
    form: dict[str, Any] = {
        "mode": "sandbox" if health else "rows",
        "scenario": "",
        "purpose": "",
        "fields": [],
        "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=365)).isoformat(),
        "expected_rows": "",
    }
    form.update(values or {})
    open_requests = [
        r
        for r in access.list_requests(session, viewer.actor, "mine")
        if r.resource_id == resource.id and r.state in access.OPEN_STATES
    ]
    context = {
        "nav": "access",
        "entry": entry,
        "resource": resource,
        "fields": fields,
        "health_fields": health,
        "modes": MODE_LABELS,
        "form": form,
        "error": error,
        "today": today.isoformat(),
        "open_requests": open_requests,
        "state_labels": STATE_LABELS,
        "action_url": f"/dataset/{entry.name}/resource/{resource.id}/request",
    }
    return render(request, "access/request_form.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/dataset/{name}/resource/{rid}/request", response_class=HTMLResponse)
def request_page(request: Request, name: str, rid: str, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    entry, resource = _requestable(session, viewer, name, rid)
    return _request_form(request, session, viewer, entry, resource)


@router.post("/dataset/{name}/resource/{rid}/request", response_class=HTMLResponse)
def request_submit(
    request: Request,
    name: str,
    rid: str,
    session: DB,
    viewer: ViewerDep,
    csrf_token: FormStr = "",
    scenario: FormStr = "",
    purpose: FormStr = "",
    fields: FormList = [],  # noqa: B006 (FastAPI copies defaults)
    period_start: FormStr = "",
    period_end: FormStr = "",
    expected_rows: FormStr = "",
    mode: FormStr = "rows",
) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    check_csrf(viewer, csrf_token)
    entry, resource = _requestable(session, viewer, name, rid)
    values = {
        "scenario": scenario,
        "purpose": purpose,
        "fields": fields,
        "period_start": period_start,
        "period_end": period_end,
        "expected_rows": expected_rows,
        "mode": mode,
    }
    try:
        data = RequestCreate(
            mode=mode,  # type: ignore[arg-type]  # pydantic checks the literal
            scenario=scenario.strip(),
            purpose=purpose.strip(),
            fields=fields,
            period_start=period_start.strip(),  # type: ignore[arg-type]  # pydantic parses the date
            period_end=period_end.strip(),  # type: ignore[arg-type]
            expected_rows=expected_rows.strip().replace(",", "") or 0,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        error = validation_message(exc)
        return _request_form(request, session, viewer, entry, resource, values=values, error=error, status_code=422)
    try:
        created = attempt(session, lambda: contracts.request_access(session, viewer.actor, rid, data))
    except (Invalid, Conflict, Forbidden) as exc:  # e.g. a zone's rule: shown on the form
        error = form_error(exc)
        return _request_form(
            request, session, viewer, entry, resource, values=values, error=error, status_code=exc.status
        )
    return RedirectResponse(f"/access/requests/{created.id}", status_code=303)


# --- lists of requests --------------------------------------------------------------------------------


def _may_review(viewer: Viewer) -> bool:
    actor = viewer.actor
    return actor.can(Permission.ACCESS_GRANT_ISSUE) or (
        actor.can(Permission.ACCESS_REQUEST_REVIEW) and actor.organisation_id is not None
    )


def _request_rows(session: Session, viewer: Viewer, names: Names, requests: list[RequestRead]) -> list[dict[str, Any]]:
    entries: dict[int, Any] = {}
    resources: dict[str, Any] = {}
    out = []
    for r in requests:
        if r.entry_id not in entries:
            entries[r.entry_id] = _or_gone(GONE_ENTRY, catalog.get_entry, session, viewer.actor, r.entry_id)
        if r.resource_id not in resources:
            gone = {"id": r.resource_id, "name": ""}
            resources[r.resource_id] = _or_gone(gone, catalog.get_resource, session, viewer.actor, r.resource_id)
        out.append(
            {
                "id": r.id,
                "entry": entries[r.entry_id],
                "resource": resources[r.resource_id],
                "consumer": names.org(r.consumer_org_id),
                "publisher": names.org(r.publisher_org_id),
                "scenario": r.scenario,
                "state": r.state,
                "state_label": STATE_LABELS.get(r.state, r.state),
                "sandbox": r.mode == "sandbox",
                "grant_status": r.grant.status if r.grant else None,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                "fields": len(r.fields),
            }
        )
    return out


GONE_ENTRY: dict[str, Any] = {"title": "（数据目录已撤销）", "name": "", "code": "", "organisation_id": None}


def _or_gone(placeholder: Any, find: Callable[..., Any], *args: Any) -> Any:
    """What ``find(*args)`` returns, or a placeholder when it no longer exists (a withdrawn entry)."""
    try:
        return find(*args)
    except NotFound:
        return placeholder


@router.get("/access/requests", response_class=HTMLResponse)
def requests_page(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    names = Names(session, viewer)
    actor = viewer.actor
    may_request = access.may_request(actor)
    reviewer = _may_review(viewer)
    publisher = actor.can(Permission.ACCESS_REQUEST_REVIEW) and actor.organisation_id is not None
    context = {
        "nav": "access",
        "may_request": may_request,
        "reviewer": reviewer,
        "publisher": publisher,
        "review_queue_label": "运营方审核队列" if actor.can(Permission.ACCESS_GRANT_ISSUE) else "本部门审核队列",
        "mine": _request_rows(session, viewer, names, access.list_requests(session, actor, "mine"))
        if may_request
        else [],
        "review": _request_rows(session, viewer, names, access.list_requests(session, actor, "review"))
        if reviewer
        else [],
        "published": _request_rows(session, viewer, names, access.list_requests(session, actor, "publisher"))
        if publisher
        else [],
        "grant_status_labels": GRANT_STATUS_LABELS,
    }
    return render(request, "access/requests.html", context, headers=NO_STORE)


@router.get("/access/review-count", response_class=HTMLResponse)
def review_count(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """The navigation's badge: how many requests wait for the viewer's review (loaded by htmx)."""
    count = access.pending_count(session, viewer.actor) if viewer.signed_in else 0
    return render(request, "access/_review_count.html", {"count": count}, headers=NO_STORE)


# --- one request --------------------------------------------------------------------------------------


def _whose_turn(viewer: Viewer, req: RequestRead) -> str | None:
    """``department`` or ``operator`` when the viewer takes the request's next review step."""
    actor = viewer.actor
    if not viewer.csrf_token:
        return None
    if req.state == "requested" and actor.can(Permission.ACCESS_REQUEST_REVIEW):
        return "department" if actor.organisation_id == req.publisher_org_id else None
    if req.state == "department_approved" and actor.can(Permission.ACCESS_GRANT_ISSUE):
        return "operator"
    return None


def _request_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    request_id: int,
    *,
    error: dict[str, Any] | None = None,
    error_form: str = "",
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    req = access.get_request(session, viewer.actor, request_id)
    entry = _or_gone(GONE_ENTRY, catalog.get_entry, session, viewer.actor, req.entry_id)
    resource = _or_gone(
        {"id": req.resource_id, "name": ""}, catalog.get_resource, session, viewer.actor, req.resource_id
    )
    described = _or_gone([], table_fields, session, viewer, req.resource_id)
    titles = {f["name"]: f["title"] or f["name"] for f in described}
    by_name = {f["name"]: f for f in described}
    names = Names(session, viewer)
    names.know_users_of([req.consumer_org_id, req.publisher_org_id])
    if any(d.step == "operator" for d in req.decisions):
        names.know_users_of(o.id for o in identity.list_organisations(session, viewer.actor, kind="operator"))
    fields = [
        {
            "name": n,
            "title": titles.get(n, n),
            "personal_label": by_name.get(n, {}).get("personal_label", ""),
            "mask": req.masks.get(n),
            "mask_label": mask_label(req.masks.get(n)) if req.masks.get(n) else "",
            "choices": mask_choices(
                req.masks.get(n), by_name.get(n, {}).get("type", "string"), by_name.get(n, {}).get("personal_kind")
            ),
        }
        for n in req.fields
    ]
    decisions = [
        {
            "step": STEP_LABELS.get(d.step, d.step),
            "action": ACTION_LABELS.get(d.action, d.action),
            "action_code": d.action,
            "who": names.user(d.actor_user_id),
            "at": d.at,
            "reason": d.reason,
            "to_state": STATE_LABELS.get(d.to_state, d.to_state),
            "changes": change_lines(d.changes, titles),
        }
        for d in req.decisions
    ]
    turn = _whose_turn(viewer, req)
    form = {
        "fields": list(req.fields),
        "masks": {},
        "row_filter": "",
        "period_end": req.period_end.isoformat(),
        "reason": "",
        "daily_call_quota": str(access.DEFAULT_DAILY_CALLS),
        "daily_row_quota": "",
        "rate_per_minute": str(access.DEFAULT_RATE_PER_MINUTE),
        "privacy_budget": str(access.DEFAULT_PRIVACY_BUDGET),
        "mode": req.mode,
        "reject_reason": "",
        "withdraw_reason": "",
    }
    form.update(values or {})
    context = {
        "nav": "access",
        "req": req,
        "entry": entry,
        "resource": resource,
        "fields": fields,
        "titles": titles,
        "decisions": decisions,
        "consumer": names.org(req.consumer_org_id),
        "publisher": names.org(req.publisher_org_id),
        "requested_by": names.user(req.requested_by),
        "state_label": STATE_LABELS.get(req.state, req.state),
        "mode_label": MODE_LABELS.get(req.mode, req.mode),
        "grant": req.grant,
        "grant_status_label": GRANT_STATUS_LABELS.get(req.grant.status, req.grant.status) if req.grant else "",
        "turn": turn,
        "may_withdraw": bool(viewer.csrf_token)
        and viewer.actor.organisation_id == req.consumer_org_id
        and req.state in access.OPEN_STATES,
        "form": form,
        "error": error,
        "error_form": error_form,
    }
    return render(request, "access/request.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/access/requests/{request_id}", response_class=HTMLResponse)
def request_detail(request: Request, request_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    return _request_page(request, session, viewer, request_id)


def _decision(action: str, values: dict[str, Any], current: RequestRead) -> Decision:
    if action == "reject":
        return Decision(action="reject", reason=values["reject_reason"].strip())
    if action != "approve":
        raise Invalid(f"未知的审核操作：{action}", field="action")
    fields = [n for n in current.fields if n in values["fields"]]
    rules = {
        n: rule
        for n, rule in values["masks"].items()
        if n in fields and rule and rule != current.masks.get(n)  # an unchanged select is no change
    }
    return Decision(
        action="approve",
        reason=values["reason"].strip(),
        fields=fields,
        masks=rules or None,
        row_filter=values["row_filter"].strip() or None,
        period_end=optional_date(values["period_end"], "period_end"),
        mode="sandbox" if values["mode"] == "sandbox" and current.mode != "sandbox" else None,
        privacy_budget=optional_float(values["privacy_budget"], "privacy_budget"),
        daily_call_quota=optional_int(values["daily_call_quota"], "daily_call_quota"),
        daily_row_quota=optional_int(values["daily_row_quota"], "daily_row_quota"),
        rate_per_minute=optional_int(values["rate_per_minute"], "rate_per_minute"),
    )


@router.post("/access/requests/{request_id}/decision", response_class=HTMLResponse)
async def request_decide(request: Request, request_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request, f"/access/requests/{request_id}")
    posted = await request.form()
    check_csrf(viewer, str(posted.get("csrf_token") or ""))
    action = str(posted.get("action") or "")
    values: dict[str, Any] = {
        "fields": [str(v) for v in posted.getlist("fields")],
        "masks": {k[5:]: str(v) for k, v in posted.items() if k.startswith("mask.")},
        **{
            k: str(posted.get(k) or "")
            for k in (
                "row_filter", "period_end", "reason", "daily_call_quota", "daily_row_quota", "rate_per_minute",
                "privacy_budget", "mode", "reject_reason",
            )
        },
    }  # fmt: skip
    return await _decide_in_thread(request, session, viewer, request_id, action, values)


async def _decide_in_thread(
    request: Request, session: Session, viewer: Viewer, request_id: int, action: str, values: dict[str, Any]
) -> Response:
    def run() -> Response:
        current = access.get_request(session, viewer.actor, request_id)
        if current.state == "requested":  # the department's form has no operator terms: leave them be
            values.update(daily_call_quota="", daily_row_quota="", rate_per_minute="", privacy_budget="")
        try:
            decision = _decision(action, values, current)
            attempt(session, lambda: contracts.review_access(session, viewer.actor, request_id, decision))
        except ValidationError as exc:
            error = validation_message(exc)
            if action == "reject" and error["field"] == "reason":
                error["message"] = "驳回理由：" + error["message"].split("：", 1)[1]
            return _request_page(request, session, viewer, request_id, error=error, error_form=action,
                                 values=values, status_code=422)  # fmt: skip
        except (Invalid, Conflict, Forbidden) as exc:
            return _request_page(request, session, viewer, request_id, error=form_error(exc), error_form=action,
                                 values=values, status_code=exc.status)  # fmt: skip
        return RedirectResponse(f"/access/requests/{request_id}", status_code=303)

    return await run_in_threadpool(run)


@router.post("/access/requests/{request_id}/withdraw", response_class=HTMLResponse)
def request_withdraw(
    request: Request,
    request_id: int,
    session: DB,
    viewer: ViewerDep,
    csrf_token: FormStr = "",
    withdraw_reason: FormStr = "",
) -> Response:
    if not viewer.signed_in:
        return login_redirect(request, f"/access/requests/{request_id}")
    check_csrf(viewer, csrf_token)
    try:
        attempt(session, lambda: access.withdraw_request(session, viewer.actor, request_id, withdraw_reason.strip()))
    except (Invalid, Conflict, Forbidden) as exc:
        return _request_page(request, session, viewer, request_id, error=form_error(exc), error_form="withdraw",
                             values={"withdraw_reason": withdraw_reason}, status_code=exc.status)  # fmt: skip
    return RedirectResponse(f"/access/requests/{request_id}", status_code=303)


# --- grants -------------------------------------------------------------------------------------------


def _percent(used: int, quota: int | None) -> int | None:
    if not quota:
        return None
    return min(100, round(used * 100 / quota))


def _grant_rows(session: Session, viewer: Viewer, names: Names, grants: list[GrantRead]) -> list[dict[str, Any]]:
    tables: dict[str, tuple[Any, dict[str, str]]] = {}
    out = []
    actor = viewer.actor
    for g in grants:
        if g.resource_id not in tables:
            found: Any
            try:
                found = catalog.get_resource(session, actor, g.resource_id)
                described = table_fields(session, viewer, g.resource_id)
            except NotFound:  # the entry was withdrawn since: the grant is still listed
                found, described = {"id": g.resource_id, "name": "", "entry": GONE_ENTRY}, []
            tables[g.resource_id] = (found, {f["name"]: f["title"] or f["name"] for f in described})
        resource, titles = tables[g.resource_id]
        entry = resource["entry"] if isinstance(resource, dict) else resource.entry
        publisher_id = entry["organisation_id"] if isinstance(entry, dict) else entry.organisation_id
        out.append(
            {
                "grant": g,
                "resource": resource,
                "entry": entry,
                "consumer": names.org(g.consumer_org_id),
                "publisher": names.org(publisher_id),
                "fields": [
                    {"name": n, "title": titles.get(n, n), "mask": mask_label(g.masks[n]) if g.masks.get(n) else ""}
                    for n in g.fields
                ],
                "status_label": GRANT_STATUS_LABELS.get(g.status, g.status),
                "mode_label": MODE_LABELS.get(g.mode, g.mode),
                "budget_percent": _percent(round(g.privacy_spent * 1000), round((g.privacy_budget or 0) * 1000)),
                "calls_percent": _percent(g.calls_today, g.daily_call_quota),
                "rows_percent": _percent(g.rows_today, g.daily_row_quota),
                "may_revoke": bool(viewer.csrf_token)
                and g.state != "revoked"
                and (
                    actor.can(Permission.ACCESS_GRANT_ISSUE)
                    or (actor.can(Permission.ACCESS_REQUEST_REVIEW) and actor.organisation_id == publisher_id)
                ),
            }
        )
    return out


def _grants_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    error: dict[str, Any] | None = None,
    error_grant: int | None = None,
    reason: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    names = Names(session, viewer)
    rows = _grant_rows(session, viewer, names, access.list_grants(session, viewer.actor))
    org = viewer.actor.organisation_id
    held = [r for r in rows if org is not None and r["grant"].consumer_org_id == org]
    issued = [r for r in rows if r not in held]
    context = {
        "nav": "grants",
        "held": held,
        "issued": issued,
        "everyone": viewer.actor.can(Permission.ACCESS_GRANT_ISSUE) or viewer.actor.can(Permission.AUDIT_TRAIL_READ),
        "error": error,
        "error_grant": error_grant,
        "reason": reason,
    }
    return render(request, "access/grants.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/access/grants", response_class=HTMLResponse)
def grants_page(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    return _grants_page(request, session, viewer)


@router.post("/access/grants/{grant_id}/revoke", response_class=HTMLResponse)
def grant_revoke(
    request: Request, grant_id: int, session: DB, viewer: ViewerDep, csrf_token: FormStr = "", reason: FormStr = ""
) -> Response:
    if not viewer.signed_in:
        return login_redirect(request, "/access/grants")
    check_csrf(viewer, csrf_token)
    why = reason.strip()
    try:
        if len(why) < 2:
            raise Invalid("撤销授权需说明理由（至少 2 个字）", field="reason")
        attempt(session, lambda: access.revoke_grant(session, viewer.actor, grant_id, why))
    except (Invalid, Conflict, Forbidden) as exc:
        return _grants_page(request, session, viewer, error=form_error(exc), error_grant=grant_id, reason=reason,
                            status_code=exc.status)  # fmt: skip
    return RedirectResponse(f"/access/grants#grant-{grant_id}", status_code=303)

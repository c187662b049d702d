"""Portal pages for governed access: the request form of a 有条件开放 table, the requests a viewer
made or must review, one request with its decision history and the reviewer's decision form, the
grants held or issued with today's usage, and the audit trail viewer.

Pages only resolve the viewer and call services (``store.contracts``, ``access.service``,
``audit.service``); the services decide who may do what. Every form is a POST carrying the login
session's CSRF token, checked before anything else; service errors are shown on the form in Chinese
(each service call runs in a savepoint, so a refused decision leaves nothing half-changed), and a
successful POST redirects (303) to the page that shows the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access import masks
from pubdata.access import service as access
from pubdata.access.schemas import Decision, GrantRead, RequestCreate, RequestRead
from pubdata.api.deps import DB
from pubdata.audit import service as audit
from pubdata.authz import Permission
from pubdata.catalog import service as catalog
from pubdata.catalog.errors import ResourceNotFound
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound, PubdataError
from pubdata.identity import service as identity
from pubdata.store import contracts, table_schema
from pubdata.store import service as store
from pubdata.web import csrf
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import SHANGHAI, Viewer, render

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
FormStr = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]
T = TypeVar("T")

STATE_LABELS = {
    "requested": "待部门审核",
    "department_approved": "待运营方审核",
    "granted": "已授权",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
}
GRANT_STATUS_LABELS = {"active": "生效中", "pending": "未到生效日期", "expired": "已过期", "revoked": "已撤销"}
STEP_LABELS = {"consumer": "申请方", "department": "部门审核", "operator": "运营方审核"}
ACTION_LABELS = {
    "submit": "提交申请",
    "approve": "同意",
    "narrow": "同意（收窄范围）",
    "reject": "驳回",
    "withdraw": "撤回",
    "revoke": "撤销授权",
}
CHANGE_LABELS = {
    "fields": "字段",
    "masks": "遮盖规则",
    "row_filter": "行过滤条件",
    "period_end": "结束日期",
    "mode": "使用方式",
}
MODE_LABELS = {"rows": "明细数据（遮盖、过滤后）", "sandbox": "隐私计算沙箱（仅聚合结果）"}
AUDIT_ACTIONS = {
    "rows.read": "读取数据行",
    "sql.read": "SQL 查询",
    "download.csv": "下载 CSV",
    "download.parquet": "下载 Parquet",
    "download.jsonl": "下载 JSON Lines",
    "access.request": "提交申请",
    "access.approve": "审核同意",
    "access.narrow": "审核同意（收窄）",
    "access.reject": "审核驳回",
    "access.withdraw": "撤回申请",
    "access.revoke": "撤销授权",
}
RESULT_LABELS = {audit.ALLOWED: "允许", audit.REFUSED: "拒绝"}
AUDIT_PAGE_SIZE = 50
AUDIT_MAX_PAGE = 1000
REQUEST_FIELD_LABELS = {
    "scenario": "应用场景",
    "purpose": "用途说明",
    "fields": "申请字段",
    "period_start": "开始日期",
    "period_end": "结束日期",
    "expected_rows": "预计每月使用行数",
    "reason": "理由",
    "row_filter": "行过滤条件",
    "masks": "遮盖规则",
    "daily_call_quota": "每日调用次数上限",
    "daily_row_quota": "每日数据行数上限",
    "rate_per_minute": "每分钟调用次数上限",
    "resource_id": "数据资源",
    "mode": "使用方式",
    "privacy_budget": "隐私预算 ε",
}


# --- helpers ------------------------------------------------------------------------------------------


def _login_redirect(request: Request, target: str | None = None) -> RedirectResponse:
    return RedirectResponse("/user/login?next=" + quote(target or request.url.path), status_code=303)


def _check_csrf(viewer: Viewer, token: str | None) -> None:
    # an API token used on a page has no session token: it cannot post forms
    csrf.check_session_token(viewer.csrf_token or None, token)


def _attempt(session: Session, action: Callable[[], T]) -> T:
    """Run a service call in a savepoint: if it raises, whatever it changed is undone (the page then
    shows the error while the request's transaction still commits what came before)."""
    with session.begin_nested():
        return action()


def mask_label(rule: str | None) -> str:
    if not rule:
        return "不遮盖"
    if rule.startswith(("first:", "last:")):
        side, n = rule.split(":")
        return f"保留{'前' if side == 'first' else '后'} {n} 位"
    return masks.RULES.get(rule, rule)


def _default_mask(field: dict[str, Any]) -> str | None:
    """The mask a request gets by default for a column (as the access service assigns it)."""
    kind = field.get("personal_kind")
    if not kind:
        return None
    rule = masks.DEFAULT_BY_PERSONAL_KIND.get(kind, "all")
    if rule == "year" and field["type"] not in ("date", "datetime"):
        rule = "all"
    return rule


def _table_fields(session: Session, viewer: Viewer, resource_id: str) -> list[dict[str, Any]]:
    table = store.get_table(session, viewer.actor, resource_id)
    return table_schema.describe(table_schema.parse_schema(table.table_schema))


class _Names:
    """Organisation and user names by id for one page, each looked up once."""

    def __init__(self, session: Session, viewer: Viewer) -> None:
        self.session, self.viewer = session, viewer
        self._orgs: dict[int, Any] = {}
        self._users: dict[int, str] = {}

    def _org(self, org_id: int) -> Any:
        if org_id not in self._orgs:
            try:
                self._orgs[org_id] = identity.get_organisation(self.session, self.viewer.actor, str(org_id))
            except NotFound:
                self._orgs[org_id] = None
        return self._orgs[org_id]

    def org(self, org_id: int | None) -> str:
        if org_id is None:
            return "—"
        org = self._org(org_id)
        return org.name if org is not None else f"机构 {org_id}"

    def know_users_of(self, org_ids: Iterable[int | None]) -> None:
        for org_id in org_ids:
            org = self._org(org_id) if org_id is not None else None
            for user in org.users if org is not None else ():
                self._users[user.id] = user.display_name or user.username

    def user(self, user_id: int | None) -> str:
        if user_id is None:
            return "—"
        return self._users.get(user_id, f"用户 {user_id}")


def _form_error(exc: PubdataError) -> dict[str, Any]:
    field = getattr(exc, "field", None) or ""
    top = field.split(".", 1)[0]
    return {"message": exc.message, "field": field, "field_label": REQUEST_FIELD_LABELS.get(top, "")}


def _validation_message(exc: ValidationError) -> dict[str, Any]:
    """The first problem pydantic found, in Chinese, naming the form field."""
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err.get("loc") else ""
    name = REQUEST_FIELD_LABELS.get(field, field)
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    if kind == "string_too_short":
        why = f"至少 {ctx.get('min_length')} 个字"
    elif kind == "string_too_long":
        why = f"最多 {ctx.get('max_length')} 个字"
    elif kind == "too_short":
        why = "至少选择一项"
    elif kind == "too_long":
        why = "选择的项目过多"
    elif kind.startswith("date"):
        why = "日期格式应为 YYYY-MM-DD"
    elif kind.startswith("int"):
        why = "应为整数"
    elif kind == "greater_than_equal":
        why = f"不能小于 {ctx.get('ge')}"
    elif kind == "less_than_equal":
        why = f"不能大于 {ctx.get('le')}"
    elif kind == "missing":
        why = "必须填写"
    else:
        why = "无效"
    return {"message": f"{name}：{why}", "field": field, "field_label": name}


def _optional_int(value: str | None, field: str) -> int | None:
    text = (value or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise Invalid(f"{REQUEST_FIELD_LABELS[field]}应为整数：{text}", field=field) from None


def _optional_float(value: str | None, field: str) -> float | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid(f"{REQUEST_FIELD_LABELS[field]}应为数字：{text}", field=field) from None


def _optional_date(value: str | None, field: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{REQUEST_FIELD_LABELS[field]}的格式应为 YYYY-MM-DD：{text}", field=field) from None


# --- the request form ---------------------------------------------------------------------------------


def _requestable(session: Session, viewer: Viewer, name: str, rid: str) -> tuple[Any, Any]:
    """The entry and resource, if the viewer's organisation may ask for it (the same rules the
    service applies on submit, checked first so the form is not offered in vain)."""
    entry = catalog.get_entry(session, viewer.actor, name)
    resource = catalog.get_resource(session, viewer.actor, rid)
    if resource.entry_id != entry.id:
        raise ResourceNotFound(f"数据目录 {entry.code} 没有资源 {rid}")
    actor = viewer.actor
    if not actor.can(Permission.ACCESS_REQUEST_CREATE):
        raise Forbidden("您的账号没有申请使用数据的权限")
    if actor.organisation_id is None:
        raise Forbidden("申请数据需以机构身份提出：当前账号不属于任何机构")
    if entry.open_type == "unconditional":
        raise Invalid("该数据为无条件开放，无需申请，可直接使用", field="resource_id")
    if entry.open_type == "closed":
        raise Invalid("该数据为不予开放数据，不能申请使用", field="resource_id")
    if entry.organisation_id == actor.organisation_id:
        raise Invalid("这是本机构发布的数据，无需申请", field="resource_id")
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
    fields = _table_fields(session, viewer, resource.id)
    for f in fields:
        f["default_mask"] = _default_mask(f)
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
        return _login_redirect(request)
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
        return _login_redirect(request)
    _check_csrf(viewer, csrf_token)
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
        error = _validation_message(exc)
        return _request_form(request, session, viewer, entry, resource, values=values, error=error, status_code=422)
    try:
        created = _attempt(session, lambda: contracts.request_access(session, viewer.actor, rid, data))
    except (Invalid, Conflict, Forbidden) as exc:  # e.g. a zone's rule: shown on the form
        error = _form_error(exc)
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


def _request_rows(session: Session, viewer: Viewer, names: _Names, requests: list[RequestRead]) -> list[dict[str, Any]]:
    entries: dict[int, Any] = {}
    resources: dict[str, Any] = {}
    out = []
    for r in requests:
        if r.entry_id not in entries:
            entries[r.entry_id] = catalog.get_entry(session, viewer.actor, r.entry_id)
        if r.resource_id not in resources:
            resources[r.resource_id] = catalog.get_resource(session, viewer.actor, r.resource_id)
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


@router.get("/access/requests", response_class=HTMLResponse)
def requests_page(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login_redirect(request)
    names = _Names(session, viewer)
    actor = viewer.actor
    may_request = actor.can(Permission.ACCESS_REQUEST_CREATE) and actor.organisation_id is not None
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


def _mask_choices(current: str | None, field_type: str, personal_kind: str | None) -> list[tuple[str, str]]:
    """Rules a reviewer may switch a column to: only as strict as its current rule, or stricter."""
    candidates = ["last:4", "first:1"]
    default = masks.DEFAULT_BY_PERSONAL_KIND.get(personal_kind or "")
    if default:
        candidates.insert(0, default)
    if field_type in ("date", "datetime"):
        candidates.append("year")
    candidates += ["hash", "all", "null"]
    floor = masks.strictness(current)
    out: list[tuple[str, str]] = []
    for rule in dict.fromkeys(candidates):
        if rule != current and masks.strictness(rule) >= floor:
            out.append((rule, mask_label(rule)))
    return out


def _change_lines(changes: dict[str, Any] | None, titles: dict[str, str]) -> list[dict[str, str]]:
    """A decision's changes as ``{name, old, new}`` lines in words."""
    lines = []

    def field_list(names: list[str]) -> str:
        return "、".join(titles.get(n, n) for n in names) or "（无）"

    def mask_map(rules: dict[str, str]) -> str:
        return "；".join(f"{titles.get(k, k)}：{mask_label(v)}" for k, v in sorted(rules.items())) or "（无）"

    for key, pair in (changes or {}).items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        old, new = pair
        if key == "fields":
            old, new = field_list(old or []), field_list(new or [])
        elif key == "masks":
            old, new = mask_map(old or {}), mask_map(new or {})
        elif key == "mode":
            old, new = MODE_LABELS.get(old, old), MODE_LABELS.get(new, new)
        lines.append({"name": CHANGE_LABELS.get(key, key), "old": str(old or "（无）"), "new": str(new or "（无）")})
    return lines


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
    entry = catalog.get_entry(session, viewer.actor, req.entry_id)
    resource = catalog.get_resource(session, viewer.actor, req.resource_id)
    described = _table_fields(session, viewer, req.resource_id)
    titles = {f["name"]: f["title"] or f["name"] for f in described}
    by_name = {f["name"]: f for f in described}
    names = _Names(session, viewer)
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
            "choices": _mask_choices(
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
            "changes": _change_lines(d.changes, titles),
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
        return _login_redirect(request)
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
        period_end=_optional_date(values["period_end"], "period_end"),
        mode="sandbox" if values["mode"] == "sandbox" and current.mode != "sandbox" else None,
        privacy_budget=_optional_float(values["privacy_budget"], "privacy_budget"),
        daily_call_quota=_optional_int(values["daily_call_quota"], "daily_call_quota"),
        daily_row_quota=_optional_int(values["daily_row_quota"], "daily_row_quota"),
        rate_per_minute=_optional_int(values["rate_per_minute"], "rate_per_minute"),
    )


@router.post("/access/requests/{request_id}/decision", response_class=HTMLResponse)
async def request_decide(request: Request, request_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login_redirect(request, f"/access/requests/{request_id}")
    posted = await request.form()
    _check_csrf(viewer, str(posted.get("csrf_token") or ""))
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
            _attempt(session, lambda: contracts.review_access(session, viewer.actor, request_id, decision))
        except ValidationError as exc:
            error = _validation_message(exc)
            if action == "reject" and error["field"] == "reason":
                error["message"] = "驳回理由：" + error["message"].split("：", 1)[1]
            return _request_page(request, session, viewer, request_id, error=error, error_form=action,
                                 values=values, status_code=422)  # fmt: skip
        except (Invalid, Conflict, Forbidden) as exc:
            return _request_page(request, session, viewer, request_id, error=_form_error(exc), error_form=action,
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
        return _login_redirect(request, f"/access/requests/{request_id}")
    _check_csrf(viewer, csrf_token)
    try:
        _attempt(session, lambda: access.withdraw_request(session, viewer.actor, request_id, withdraw_reason.strip()))
    except (Invalid, Conflict, Forbidden) as exc:
        return _request_page(request, session, viewer, request_id, error=_form_error(exc), error_form="withdraw",
                             values={"withdraw_reason": withdraw_reason}, status_code=exc.status)  # fmt: skip
    return RedirectResponse(f"/access/requests/{request_id}", status_code=303)


# --- grants -------------------------------------------------------------------------------------------


def _percent(used: int, quota: int | None) -> int | None:
    if not quota:
        return None
    return min(100, round(used * 100 / quota))


def _grant_rows(session: Session, viewer: Viewer, names: _Names, grants: list[GrantRead]) -> list[dict[str, Any]]:
    tables: dict[str, tuple[Any, dict[str, str]]] = {}
    out = []
    actor = viewer.actor
    for g in grants:
        if g.resource_id not in tables:
            resource = catalog.get_resource(session, actor, g.resource_id)
            described = _table_fields(session, viewer, g.resource_id)
            tables[g.resource_id] = (resource, {f["name"]: f["title"] or f["name"] for f in described})
        resource, titles = tables[g.resource_id]
        publisher_id = resource.entry.organisation_id
        out.append(
            {
                "grant": g,
                "resource": resource,
                "entry": resource.entry,
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
    names = _Names(session, viewer)
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
        return _login_redirect(request)
    return _grants_page(request, session, viewer)


@router.post("/access/grants/{grant_id}/revoke", response_class=HTMLResponse)
def grant_revoke(
    request: Request, grant_id: int, session: DB, viewer: ViewerDep, csrf_token: FormStr = "", reason: FormStr = ""
) -> Response:
    if not viewer.signed_in:
        return _login_redirect(request, "/access/grants")
    _check_csrf(viewer, csrf_token)
    why = reason.strip()
    try:
        if len(why) < 2:
            raise Invalid("撤销授权需说明理由（至少 2 个字）", field="reason")
        _attempt(session, lambda: access.revoke_grant(session, viewer.actor, grant_id, why))
    except (Invalid, Conflict, Forbidden) as exc:
        return _grants_page(request, session, viewer, error=_form_error(exc), error_grant=grant_id, reason=reason,
                            status_code=exc.status)  # fmt: skip
    return RedirectResponse(f"/access/grants#grant-{grant_id}", status_code=303)


# --- the audit trail ----------------------------------------------------------------------------------


def _audit_query(params: dict[str, str]) -> tuple[audit.AuditQuery, int]:
    """The search from the page's query string; ``Invalid`` naming a bad parameter."""
    result = params.get("result") or None
    if result is not None and result not in RESULT_LABELS:
        raise Invalid(f"结果“{result}”无效（可选：允许、拒绝）", field="result")
    since = _optional_date(params.get("since"), "since") if params.get("since") else None
    until = _optional_date(params.get("until"), "until") if params.get("until") else None
    if since and until and until < since:
        raise Invalid("结束日期早于开始日期", field="until")
    page_text = params.get("page") or "1"
    if not page_text.isdigit() or not 1 <= int(page_text) <= AUDIT_MAX_PAGE:
        raise Invalid(f"页码应为 1 到 {AUDIT_MAX_PAGE} 之间的整数：{page_text}", field="page")
    page = int(page_text)
    q = audit.AuditQuery(
        action=params.get("action") or None,
        result=result,
        entry_code=params.get("entry") or None,
        # dates are Beijing days: from the start of ``since`` to the end of ``until``
        since=datetime.combine(since, time(), SHANGHAI) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), SHANGHAI) if until else None,
        limit=AUDIT_PAGE_SIZE,
        offset=(page - 1) * AUDIT_PAGE_SIZE,
    )
    return q, page


REQUEST_FIELD_LABELS.update(since="开始日期", until="结束日期", page="页码", result="结果", action="操作")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login_redirect(request)
    params = {k: request.query_params.get(k, "").strip() for k in ("action", "result", "entry", "since", "until")}
    params["page"] = request.query_params.get("page", "1").strip()
    regulator = viewer.actor.can(Permission.AUDIT_TRAIL_READ)
    context: dict[str, Any] = {
        "nav": "audit",
        "form": params,
        "actions": AUDIT_ACTIONS,
        "results": RESULT_LABELS,
        "regulator": regulator,
        "publisher": viewer.actor.can(Permission.ACCESS_REQUEST_REVIEW),
        "error": None,
        "records": [],
        "total": 0,
        "page": 1,
        "pages": 0,
        "verification": None,
    }
    status = 200
    try:
        q, page = _audit_query(params)
    except Invalid as exc:
        context["error"] = _form_error(exc)
        status = 400
    else:
        total, records = audit.search(session, viewer.actor, q)
        names = _Names(session, viewer)
        kept = {k: v for k, v in params.items() if v and k != "page"}
        context.update(
            total=total,
            page=page,
            pages=(total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE,
            records=[
                {
                    "r": r,
                    "action_label": AUDIT_ACTIONS.get(r.action, r.action),
                    "result_label": RESULT_LABELS.get(r.result, r.result),
                    "org": names.org(r.actor_org_id) if r.actor_org_id else "",
                }
                for r in records
            ],
            prev_url="/audit?" + urlencode({**kept, "page": page - 1}) if page > 1 else None,
            next_url="/audit?" + urlencode({**kept, "page": page + 1})
            if page * AUDIT_PAGE_SIZE < total and page < AUDIT_MAX_PAGE
            else None,
        )
    if regulator and request.query_params.get("verify"):
        context["verification"] = audit.verify(session, viewer.actor)
    return render(request, "audit/audit.html", context, status_code=status, headers=NO_STORE)

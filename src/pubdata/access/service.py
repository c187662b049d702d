"""Access requests and grants.

A consumer organisation requests a 有条件开放 table for a purpose (``submit_request``); the
publishing department then the operator review it (``review_request``): each approves — possibly
narrowing fields, period, masks, rows — or rejects with a reason. The operator's approval creates the
grant (the contract) the store's read path enforces through ``active_grant`` and ``charge``. Every
transition is an ``AccessDecision`` and an audit record. 不予开放 data can never be requested.

The access domain sits below the store: callers pass the table's columns (``TableField``) so that
requested fields, masks and row filters are checked against the real table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pubdata.access import masks as mask_rules
from pubdata.access import usage, zones
from pubdata.access.models import AccessDecision, AccessGrant, AccessRequest
from pubdata.access.row_filter import compile_filter
from pubdata.access.schemas import Decision, DecisionRead, GrantRead, RequestCreate, RequestRead, TableField
from pubdata.access.usage import BEIJING
from pubdata.audit import service as audit
from pubdata.authz import SYSTEM, Actor, Permission, require, require_any
from pubdata.catalog import service as catalog
from pubdata.db import utcnow
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound

MAX_PERIOD_DAYS = 3 * 366
DEFAULT_DAILY_CALLS = 10_000
DEFAULT_RATE_PER_MINUTE = 120
DEFAULT_PRIVACY_BUDGET = 5.0  # total epsilon of a grant's differentially private sandbox queries
OPEN_STATES = ("requested", "department_approved")
MODES = ("rows", "sandbox", "verify")


class RequestNotFound(NotFound):
    code = "access.request_not_found"


class GrantNotFound(NotFound):
    code = "access.grant_not_found"


class InvalidRequest(Invalid):
    code = "access.invalid_request"


class WrongState(Conflict):
    code = "access.wrong_state"


def beijing_today() -> date:
    return datetime.now(BEIJING).date()


def _fields_by_name(fields: Sequence[TableField]) -> dict[str, TableField]:
    return {f.name: f for f in fields}


def _check_fields(names: list[str], table: dict[str, TableField], key: str = "fields") -> list[str]:
    unknown = [n for n in names if n not in table]
    if unknown:
        raise InvalidRequest(f"数据表中没有这些字段：{'、'.join(unknown)}（可用：{'、'.join(table)}）", field=key)
    if len(set(names)) != len(names):
        raise InvalidRequest("字段有重复", field=key)
    return list(names)


def _default_masks(names: list[str], table: dict[str, TableField], mode: str = "rows") -> dict[str, str]:
    """The masks a request starts with: every personal field masked by its kind's rule. A sandbox
    request leaves sensitive attributes (health, other) unmasked by default: only differentially
    private aggregates of such tables ever leave the sandbox, and grouping by a masked diagnosis
    would make the grant useless for its purpose (按病种统计). Reviewers may still mask them."""
    out = {}
    for n in names:
        kind = table[n].personal_kind
        if kind and mode == "sandbox" and kind not in mask_rules.IDENTIFIER_KINDS:  # identifiers stay masked
            continue
        if kind:
            rule = mask_rules.DEFAULT_BY_PERSONAL_KIND.get(kind, "all")
            if rule == "year" and table[n].type not in ("date", "datetime"):
                rule = "all"
            out[n] = rule
    return out


def _event(action: str, request: AccessRequest, entry_code: str, **extra: Any) -> audit.Event:
    return audit.Event(
        action,
        entry_code=entry_code,
        resource_id=request.resource_id,
        publisher_org_id=request.publisher_org_id,
        details={"request_id": request.id, **extra},
    )


def _decide(
    session: Session,
    actor: Actor,
    request: AccessRequest,
    *,
    step: str,
    action: str,
    to_state: str,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> None:
    session.add(
        AccessDecision(
            request_id=request.id,
            step=step,
            action=action,
            from_state=request.state,
            to_state=to_state,
            actor_user_id=actor.user_id,
            actor_org_id=actor.organisation_id,
            reason=reason,
            changes=changes,
        )
    )
    request.state = to_state
    request.updated_at = utcnow()


# --- requesting ---------------------------------------------------------------------------------------


def _refusals_audited(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A refused governance action (bad input, no right, wrong state) is audited, then raised."""
    return audit.refusals_audited(
        action, lambda target: "resource_id" if isinstance(target, str) else "target", statuses={403, 409, 422}
    )


def may_request(actor: Actor) -> bool:
    """Whether the actor may ask for governed data at all: the permission, as an organisation."""
    return actor.can(Permission.ACCESS_REQUEST_CREATE) and actor.organisation_id is not None


def requestable(session: Session, actor: Actor, resource_id: str) -> catalog.CatalogResource:
    """The resource, if the actor's organisation may ask to use it (the portal checks this before
    offering the form; ``submit_request`` checks it again): 有条件开放 data of another organisation."""
    require(actor, Permission.ACCESS_REQUEST_CREATE)
    resource = catalog.get_resource(session, actor, resource_id)
    entry = resource.entry
    if actor.organisation_id is None:
        raise Forbidden("申请数据需以机构身份提出：当前账号不属于任何机构")
    if entry.open_type == "unconditional":
        raise InvalidRequest("该数据为无条件开放，无需申请，可直接使用", field="resource_id")
    if entry.open_type == "closed":
        raise InvalidRequest("该数据为不予开放数据，不能申请使用", field="resource_id")
    if entry.organisation_id == actor.organisation_id:
        raise InvalidRequest("这是本机构发布的数据，无需申请", field="resource_id")
    return resource


@_refusals_audited("access.request")
def submit_request(
    session: Session, actor: Actor, resource_id: str, data: RequestCreate, table_fields: Sequence[TableField]
) -> AccessRequest:
    """A consumer organisation asks for fields of a 有条件开放 table, for a purpose and a period."""
    resource = requestable(session, actor, resource_id)
    entry = resource.entry
    table = _fields_by_name(table_fields)
    fields = _check_fields(data.fields, table)
    health = [f.name for f in table_fields if f.personal_kind == "health"]
    if health and data.mode != "sandbox":
        raise InvalidRequest(
            f"含个人健康信息（{'、'.join(health)}）的数据只能以隐私计算沙箱方式使用（mode=sandbox，只得到聚合结果）",
            field="mode",
        )
    zones.check_request(session, actor, entry.id, data.mode, any(f.personal_kind for f in table_fields))
    today = beijing_today()
    if data.period_start < today:
        raise InvalidRequest(f"使用期限的开始日期已过：{data.period_start}（今天是 {today}）", field="period_start")
    if data.period_end < data.period_start:
        raise InvalidRequest("使用期限的结束日期早于开始日期", field="period_end")
    if (data.period_end - data.period_start).days > MAX_PERIOD_DAYS:
        raise InvalidRequest("使用期限最长三年", field="period_end")
    request = AccessRequest(
        entry_id=entry.id,
        resource_id=resource.id,
        publisher_org_id=entry.organisation_id,
        consumer_org_id=actor.organisation_id,
        requested_by=actor.user_id,
        scenario=data.scenario.strip(),
        purpose=data.purpose.strip(),
        fields=fields,
        masks=_default_masks(fields, table, data.mode),
        period_start=data.period_start,
        period_end=data.period_end,
        expected_rows=data.expected_rows,
        mode=data.mode,
        state="requested",
    )
    session.add(request)
    session.flush()
    session.add(
        AccessDecision(
            request_id=request.id, step="consumer", action="submit", from_state="", to_state="requested",
            actor_user_id=actor.user_id, actor_org_id=actor.organisation_id, reason=request.purpose,
        )
    )  # fmt: skip
    audit.record(session, actor, _event("access.request", request, entry.code, fields=fields))
    session.flush()
    return request


def _narrow(request: AccessRequest, decision: Decision, table: dict[str, TableField], actor: Actor) -> dict[str, Any]:
    """Apply a reviewer's narrowing to the request; the changes made (old → new)."""
    changes: dict[str, Any] = {}
    if decision.fields is not None:
        fields = _check_fields(decision.fields, table)
        wider = [f for f in fields if f not in request.fields]
        if wider:
            raise InvalidRequest(f"审核只能收窄字段，不能增加：{'、'.join(wider)}", field="fields")
        if not fields:
            raise InvalidRequest("至少保留一个字段；不同意请驳回", field="fields")
        if fields != request.fields:
            changes["fields"] = [request.fields, fields]
            request.fields = fields
            request.masks = {k: v for k, v in request.masks.items() if k in fields}
    if decision.masks:
        new = dict(request.masks)
        for name, rule in decision.masks.items():
            if name not in request.fields:
                raise InvalidRequest(f"遮盖规则的字段不在申请范围内：{name}", field=f"masks.{name}")
            mask_rules.check_rule(name, rule, table[name].type)
            if mask_rules.strictness(rule) < mask_rules.strictness(request.masks.get(name)):
                raise InvalidRequest(
                    f"字段 {name} 的遮盖规则只能更严格：{request.masks.get(name)} → {rule}", field=f"masks.{name}"
                )
            new[name] = rule
        if new != request.masks:
            changes["masks"] = [request.masks, new]
            request.masks = new
    if decision.row_filter and decision.row_filter.strip():
        compile_filter(decision.row_filter, list(table))
        combined = decision.row_filter.strip()
        if request.row_filter:
            combined = f"({request.row_filter}) AND ({combined})"
        changes["row_filter"] = [request.row_filter, combined]
        request.row_filter = combined
    if decision.mode is not None and decision.mode != request.mode:
        if decision.mode == "rows":
            raise InvalidRequest("审核只能收窄：不能把沙箱（聚合）申请改为明细读取", field="mode")
        changes["mode"] = [request.mode, decision.mode]
        request.mode = decision.mode
    if decision.period_end is not None and decision.period_end != request.period_end:
        if decision.period_end > request.period_end:
            raise InvalidRequest("审核只能缩短使用期限，不能延长", field="period_end")
        if decision.period_end < request.period_start:
            raise InvalidRequest("结束日期早于开始日期", field="period_end")
        changes["period_end"] = [request.period_end.isoformat(), decision.period_end.isoformat()]
        request.period_end = decision.period_end
    return changes


@_refusals_audited("access.review")
def review_request(
    session: Session, actor: Actor, request_id: int, decision: Decision, table_fields: Sequence[TableField]
) -> AccessRequest:
    """The next review step: the publishing department for a new request, then the operator."""
    who = "只有发布数据的部门或运营方可以审核申请"
    require_any(actor, Permission.ACCESS_REQUEST_REVIEW, Permission.ACCESS_GRANT_ISSUE, reason=who)
    request = visible_request(session, actor, request_id)
    entry = catalog.get_entry(session, actor, request.entry_id)
    if request.state == "requested":
        require(actor, Permission.ACCESS_REQUEST_REVIEW)
        if actor.organisation_id != request.publisher_org_id:
            raise Forbidden("只有发布该数据的部门可以进行部门审核")
        step, approved_state = "department", "department_approved"
    elif request.state == "department_approved":
        require(actor, Permission.ACCESS_GRANT_ISSUE)
        step, approved_state = "operator", "granted"
    else:
        raise WrongState(f"申请当前状态为 {request.state}，不能审核", code="access.wrong_state")
    if decision.action == "reject":
        if not decision.reason.strip():
            raise InvalidRequest("驳回需说明理由", field="reason")
        _decide(session, actor, request, step=step, action="reject", to_state="rejected", reason=decision.reason)
        audit.record(session, actor, _event("access.reject", request, entry.code, step=step, reason=decision.reason))
        session.flush()
        return request
    operator_terms = (decision.daily_call_quota, decision.daily_row_quota, decision.rate_per_minute)
    if step == "department" and any(v is not None for v in operator_terms):
        raise InvalidRequest("调用配额和频率由运营方设定", field="daily_call_quota")
    if step == "department" and decision.privacy_budget is not None:
        raise InvalidRequest("隐私预算由运营方设定", field="privacy_budget")
    table = _fields_by_name(table_fields)
    changes = _narrow(request, decision, table, actor)
    action = "narrow" if changes else "approve"
    _decide(session, actor, request, step=step, action=action, to_state=approved_state, reason=decision.reason,
            changes=changes or None)  # fmt: skip
    if step == "operator":
        session.add(
            AccessGrant(
                request_id=request.id,
                entry_id=request.entry_id,
                resource_id=request.resource_id,
                publisher_org_id=request.publisher_org_id,
                consumer_org_id=request.consumer_org_id,
                fields=list(request.fields),
                masks=dict(request.masks),
                row_filter=request.row_filter,
                purpose=request.purpose,
                valid_from=request.period_start,
                valid_to=request.period_end,
                daily_call_quota=decision.daily_call_quota or DEFAULT_DAILY_CALLS,
                daily_row_quota=decision.daily_row_quota,
                rate_per_minute=decision.rate_per_minute or DEFAULT_RATE_PER_MINUTE,
                mode=request.mode,
                privacy_budget=decision.privacy_budget or DEFAULT_PRIVACY_BUDGET,
            )
        )
    audit.record(session, actor, _event(f"access.{action}", request, entry.code, step=step, changes=changes or None))
    session.flush()
    return request


@_refusals_audited("access.withdraw")
def withdraw_request(session: Session, actor: Actor, request_id: int, reason: str = "") -> AccessRequest:
    """The consumer takes back a request still under review (the right to ask is the right to take back)."""
    require(actor, Permission.ACCESS_REQUEST_CREATE)
    request = visible_request(session, actor, request_id)
    if actor.organisation_id != request.consumer_org_id:
        raise Forbidden("只有提出申请的机构可以撤回申请")
    if request.state not in OPEN_STATES:
        raise WrongState(f"申请当前状态为 {request.state}，不能撤回")
    entry = catalog.get_entry(session, actor, request.entry_id)
    _decide(session, actor, request, step="consumer", action="withdraw", to_state="withdrawn", reason=reason)
    audit.record(session, actor, _event("access.withdraw", request, entry.code))
    session.flush()
    return request


@_refusals_audited("access.revoke")
def revoke_grant(session: Session, actor: Actor, grant_id: int, reason: str) -> AccessGrant:
    """End a grant now (the publishing department or the operator); reads stop at once."""
    who = "只有发布数据的部门或运营方可以撤销授权"
    require_any(actor, Permission.ACCESS_REQUEST_REVIEW, Permission.ACCESS_GRANT_ISSUE, reason=who)
    grant = session.get(AccessGrant, grant_id)
    if grant is None or not _may_see_grant(actor, grant):
        raise GrantNotFound(f"授权不存在：{grant_id}")
    if not (
        actor.can(Permission.ACCESS_GRANT_ISSUE)
        or (actor.can(Permission.ACCESS_REQUEST_REVIEW) and actor.organisation_id == grant.publisher_org_id)
    ):
        raise Forbidden(who)
    if grant.state == "revoked":
        raise WrongState("授权已被撤销")
    request = session.get(AccessRequest, grant.request_id)
    assert request is not None
    grant.state = "revoked"
    grant.revoked_at = utcnow()
    grant.revoked_by = actor.user_id
    grant.revoke_reason = reason
    step = "operator" if actor.can(Permission.ACCESS_GRANT_ISSUE) else "department"
    session.add(
        AccessDecision(
            request_id=request.id, step=step, action="revoke", from_state="granted", to_state="revoked",
            actor_user_id=actor.user_id, actor_org_id=actor.organisation_id, reason=reason,
        )
    )  # fmt: skip
    entry = catalog.get_entry(session, actor, grant.entry_id)
    event = _event("access.revoke", request, entry.code, reason=reason)
    event.grant_id = grant.id
    audit.record(session, actor, event)
    session.flush()
    return grant


def issue_market_grant(
    session: Session,
    actor: Actor,
    *,
    resource_id: str,
    consumer_org_id: int,
    requested_by: int | None,
    contract: dict[str, Any],
    mode: str,
    scenario: str,
    purpose: str,
    valid_from: date,
    valid_to: date,
    reason: str,
) -> AccessGrant:
    """The grant of a data product's entitlement, made from the product's checked contract template
    (fields, masks, row filter, quotas) for the buyer: recorded as a request granted in one step
    (``step="market"``) so that every grant has its request and its decisions. ``origin="market"``:
    such a grant is read like any other but is never a basis to build a product on or to register.
    Called by the market's order flow only, which has checked the order, the listing and the
    provider's right to sell; the actor is who triggered it (the buyer, the provider approving, or
    the finance staff confirming the payment)."""
    require_any(
        actor, Permission.MARKET_ORDER_CREATE, Permission.MARKET_PRODUCT_MANAGE, Permission.MARKET_PAYMENT_CONFIRM
    )
    if mode not in MODES:
        raise InvalidRequest(f"未知的授权方式：{mode}", field="mode")
    resource = catalog.get_resource(session, SYSTEM, resource_id)
    entry = resource.entry
    request = AccessRequest(
        entry_id=entry.id, resource_id=resource.id, publisher_org_id=entry.organisation_id,
        consumer_org_id=consumer_org_id, requested_by=requested_by if requested_by is not None else actor.user_id,
        scenario=scenario[:200], purpose=purpose, fields=list(contract.get("fields") or []),
        masks=dict(contract.get("masks") or {}), row_filter=contract.get("row_filter"),
        period_start=valid_from, period_end=valid_to, mode=mode, state="granted",
    )  # fmt: skip
    session.add(request)
    session.flush()
    session.add(
        AccessDecision(
            request_id=request.id, step="market", action="approve", from_state="", to_state="granted",
            actor_user_id=actor.user_id, actor_org_id=actor.organisation_id, reason=reason,
        )
    )  # fmt: skip
    grant = AccessGrant(
        request_id=request.id, entry_id=entry.id, resource_id=resource.id, publisher_org_id=entry.organisation_id,
        consumer_org_id=consumer_org_id, fields=list(request.fields), masks=dict(request.masks),
        row_filter=request.row_filter, purpose=purpose, valid_from=valid_from, valid_to=valid_to,
        daily_call_quota=contract.get("daily_call_quota") or DEFAULT_DAILY_CALLS,
        daily_row_quota=contract.get("daily_row_quota"),
        rate_per_minute=contract.get("rate_per_minute") or DEFAULT_RATE_PER_MINUTE,
        mode=mode, origin="market", privacy_budget=DEFAULT_PRIVACY_BUDGET if mode == "sandbox" else None,
    )  # fmt: skip
    session.add(grant)
    session.flush()
    event = _event("access.market_grant", request, entry.code, reason=reason, mode=mode)
    event.grant_id = grant.id
    audit.record(session, actor, event)
    return grant


def end_market_grant(session: Session, actor: Actor, grant_id: int, reason: str) -> None:
    """Revoke a market grant now (its order cancelled or refunded); a revoked grant stays revoked."""
    grant = session.get(AccessGrant, grant_id)
    if grant is None or grant.origin != "market" or grant.state == "revoked":
        return
    grant.state = "revoked"
    grant.revoked_at = utcnow()
    grant.revoked_by = actor.user_id
    grant.revoke_reason = reason
    session.add(
        AccessDecision(
            request_id=grant.request_id, step="market", action="revoke", from_state="granted", to_state="revoked",
            actor_user_id=actor.user_id, actor_org_id=actor.organisation_id, reason=reason,
        )
    )  # fmt: skip
    session.flush()


# --- reading ------------------------------------------------------------------------------------------


def _may_see_request(actor: Actor, request: AccessRequest | AccessGrant) -> bool:
    if actor.can(Permission.ACCESS_GRANT_ISSUE) or actor.can(Permission.AUDIT_TRAIL_READ):
        return True
    return actor.organisation_id is not None and actor.organisation_id in (
        request.consumer_org_id,
        request.publisher_org_id,
    )


_may_see_grant = _may_see_request


def visible_request(session: Session, actor: Actor, request_id: int) -> AccessRequest:
    request = session.get(AccessRequest, request_id)
    if request is None or not _may_see_request(actor, request):
        raise RequestNotFound(f"申请不存在：{request_id}")
    return request


def get_request(session: Session, actor: Actor, request_id: int) -> RequestRead:
    require(actor, Permission.ACCESS_REQUEST_READ)
    request = visible_request(session, actor, request_id)
    return _request_read(session, request)


def _request_read(session: Session, request: AccessRequest) -> RequestRead:
    out = RequestRead.model_validate(request)
    decisions = session.scalars(
        select(AccessDecision).where(AccessDecision.request_id == request.id).order_by(AccessDecision.id)
    )
    out.decisions = [DecisionRead.model_validate(d) for d in decisions]
    grant = session.scalar(select(AccessGrant).where(AccessGrant.request_id == request.id))
    out.grant = grant_read(session, grant) if grant else None
    return out


def list_requests(session: Session, actor: Actor, box: str) -> list[RequestRead]:
    """``mine``: my organisation's requests; ``review``: what waits for my review (the department's
    queue, or the operator's); ``publisher``: every request for my organisation's data."""
    require(actor, Permission.ACCESS_REQUEST_READ)
    if actor.organisation_id is None and not actor.can(Permission.ACCESS_GRANT_ISSUE):
        return []
    stmt = select(AccessRequest)
    if box == "mine":
        stmt = stmt.where(AccessRequest.consumer_org_id == actor.organisation_id)
    elif box == "publisher":
        stmt = stmt.where(AccessRequest.publisher_org_id == actor.organisation_id)
    elif box == "review":
        if actor.can(Permission.ACCESS_GRANT_ISSUE):
            stmt = stmt.where(AccessRequest.state == "department_approved")
        elif actor.can(Permission.ACCESS_REQUEST_REVIEW):
            stmt = stmt.where(
                AccessRequest.state == "requested", AccessRequest.publisher_org_id == actor.organisation_id
            )
        else:
            return []
    else:
        raise Invalid(f"未知的列表：{box}（mine、review、publisher）", field="box")
    return [_request_read(session, r) for r in session.scalars(stmt.order_by(AccessRequest.id.desc()).limit(500))]


def grant_status(grant: AccessGrant, today: date | None = None) -> str:
    today = today or beijing_today()
    if grant.state == "revoked":
        return "revoked"
    if today < grant.valid_from:
        return "pending"
    if today > grant.valid_to:
        return "expired"
    return "active"


def grant_read(session: Session, grant: AccessGrant) -> GrantRead:
    out = GrantRead.model_validate(grant)
    out.status = grant_status(grant)
    out.calls_today, out.rows_today = usage.usage_today(session, grant.id)
    return out


def list_grants(session: Session, actor: Actor, *, resource_id: str | None = None) -> list[GrantRead]:
    """Grants the actor's organisation holds or issued (its data); all of them for the operator."""
    require(actor, Permission.ACCESS_REQUEST_READ)
    stmt = select(AccessGrant)
    if not (actor.can(Permission.ACCESS_GRANT_ISSUE) or actor.can(Permission.AUDIT_TRAIL_READ)):
        if actor.organisation_id is None:
            return []
        org = actor.organisation_id
        stmt = stmt.where(or_(AccessGrant.consumer_org_id == org, AccessGrant.publisher_org_id == org))
    if resource_id:
        stmt = stmt.where(AccessGrant.resource_id == resource_id)
    return [grant_read(session, g) for g in session.scalars(stmt.order_by(AccessGrant.id.desc()).limit(500))]


# which grant modes serve which purpose of a read: rows only under a rows grant; aggregates under a
# rows or a sandbox grant; a verification answer only under a verify grant (which serves nothing else)
MODES_FOR = {"rows": ("rows",), "aggregate": ("rows", "sandbox"), "verify": ("verify",)}


def active_grant(
    session: Session,
    actor: Actor,
    resource_id: str,
    purpose: str = "rows",
    *,
    reviewed_only: bool = False,
    grant_id: int | None = None,
) -> AccessGrant | None:
    """The grant under which the actor's organisation may read the table today for ``purpose``
    (``MODES_FOR``), if any: the newest such grant, so that the choice is the same on every path.
    ``reviewed_only``: only grants issued through the access review (not a bought product's grant):
    what a merchant builds on or registers must rest on a reviewed grant. ``grant_id``: only that
    grant (still the organisation's, active, for the table and the purpose)."""
    if actor.organisation_id is None:
        return None
    today = beijing_today()
    stmt = select(AccessGrant).where(
        AccessGrant.resource_id == resource_id,
        AccessGrant.consumer_org_id == actor.organisation_id,
        AccessGrant.state == "active",
        AccessGrant.valid_from <= today,
        AccessGrant.valid_to >= today,
        AccessGrant.mode.in_(MODES_FOR[purpose]),
    )
    if reviewed_only:
        stmt = stmt.where(AccessGrant.origin == "review")
    if grant_id is not None:
        stmt = stmt.where(AccessGrant.id == grant_id)
    return session.scalar(stmt.order_by(AccessGrant.id.desc()).limit(1))


def grant_by_id(session: Session, grant_id: int) -> AccessGrant | None:
    """A grant by id, for the services that made it or rest on it (the market's entitlements and
    products); no permission check: never hand it to a caller unchecked."""
    return session.get(AccessGrant, grant_id)


def latest_grant(session: Session, actor: Actor, resource_id: str) -> AccessGrant | None:
    """The organisation's newest grant for the table in any state (to explain a refusal)."""
    if actor.organisation_id is None:
        return None
    return session.scalar(
        select(AccessGrant)
        .where(AccessGrant.resource_id == resource_id, AccessGrant.consumer_org_id == actor.organisation_id)
        .order_by(AccessGrant.id.desc())
        .limit(1)
    )


def pending_count(session: Session, actor: Actor) -> int:
    """How many requests wait for the actor's review."""
    if actor.can(Permission.ACCESS_GRANT_ISSUE):
        where = AccessRequest.state == "department_approved"
    elif actor.can(Permission.ACCESS_REQUEST_REVIEW) and actor.organisation_id is not None:
        where = (AccessRequest.state == "requested") & (AccessRequest.publisher_org_id == actor.organisation_id)
    else:
        return 0
    return session.scalar(select(func.count()).select_from(AccessRequest).where(where)) or 0

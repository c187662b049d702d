"""The data market's products, listings and price plans.

The operator and data merchants build products on catalogue resources (``create_product``): API
access to a table, a dataset delivery, a sandbox service, a verification service (核验) or a report,
each with a contract template checked against the table's fields — the template a buyer's grant will
be made from. A data merchant builds only on open data, on its own organisation's data, or on a
resource its organisation holds an active grant for (and then within that grant: its fields, no
looser masks, its row filter); the operator on any entry. A product's price plans (``add_plan``) are
checked by ``plans.check_plan``: integer fen only, a kind that fits the product.

The listing: the provider submits a draft with at least one active plan (draft → under_review); the
operator approves it into public notice (公示) for ``notice_days`` or rejects it back to draft with a
reason; once the notice is over the operator lists it; the operator suspends, resumes and delists
(final). Every transition is a ``market_listing_event``; every write and every refused write is
audited (the refusal kept although the request rolls back). Only drafts are edited; an edit bumps
the product's version.

Listed products are public (``get_product``, ``list_products``, ``price_list``); a product in any
other state is seen only by its provider's organisation and the operator, and is not found for
everyone else."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.access import service as access
from pubdata.assets.trusts import service as trusts
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.catalog.vocab import SCENARIOS
from pubdata.db import utcnow
from pubdata.errors import Forbidden
from pubdata.identity import service as identity
from pubdata.ledger.service import is_fen
from pubdata.market import distribution, plans
from pubdata.market.contracts import check_product
from pubdata.market.errors import (
    CodeTaken,
    InvalidPlan,
    InvalidProduct,
    NoticeNotOver,
    PlanNotAllowed,
    PlanNotFound,
    ProductNotFound,
    WrongState,
)
from pubdata.market.models import MarketListingEvent, MarketPricePlan, MarketProduct, MarketReportFile
from pubdata.market.schemas import (
    CEILING_PER,
    CEILING_PER_LABELS,
    KINDS,
    PLAN_KINDS,
    PLAN_KINDS_BY_PRODUCT,
    STATES,
    ContractIn,
    ListingEventRead,
    PlanIn,
    PlanRead,
    PriceList,
    PriceListItem,
    ProductIn,
    ProductRead,
    ReviewIn,
    Tier,
)

MAX_NOTICE_DAYS = 90
DEFAULT_NOTICE_DAYS = 7
# a listed product keeps at least one active plan; plans change freely only in a draft
PLANS_WITHDRAWABLE_IN = ("draft", "public_notice", "listed", "suspended")


def _refusals_audited(action: str, key: str = "product") -> Any:
    """A refused write (no right, not visible, wrong state, bad input) is audited with its target
    (``{key: target}``), then raised."""
    return audit.refusals_audited(action, key)


# --- reading ------------------------------------------------------------------------------------


def privileged(actor: Actor, product: MarketProduct) -> bool:
    """The provider's organisation and the operator see a product in any state, with its history."""
    return actor.can(Permission.MARKET_LISTING_REVIEW) or (
        actor.organisation_id is not None and actor.organisation_id == product.provider_org_id
    )


def plan_read(plan: MarketPricePlan) -> PlanRead:
    per = CEILING_PER[plan.kind]
    return PlanRead(
        id=plan.id, product_id=plan.product_id, code=plan.code, title=plan.title, kind=plan.kind,
        kind_label=PLAN_KINDS[plan.kind], price_fen=plan.price_fen, term_months=plan.term_months,
        unit_price_fen=plan.unit_price_fen, free_quota=plan.free_quota, monthly_cap_fen=plan.monthly_cap_fen,
        tiers=[Tier(**t) for t in plan.tiers] if plan.tiers is not None else None,
        public_interest_only=plan.public_interest_only, active=plan.active, ceiling_fen=plans.ceiling(plan),
        ceiling_per=per, ceiling_per_label=CEILING_PER_LABELS[per], updated_at=plan.updated_at,
    )  # fmt: skip


def _plans_of(session: Session, product_ids: Sequence[int], *, active_only: bool) -> dict[int, list[MarketPricePlan]]:
    out: dict[int, list[MarketPricePlan]] = {i: [] for i in product_ids}
    if not product_ids:
        return out
    stmt = select(MarketPricePlan).where(MarketPricePlan.product_id.in_(list(product_ids)))
    if active_only:
        stmt = stmt.where(MarketPricePlan.active.is_(True))
    for plan in session.scalars(stmt.order_by(MarketPricePlan.id)):
        out[plan.product_id].append(plan)
    return out


def _reads(session: Session, actor: Actor, products: Sequence[MarketProduct]) -> list[ProductRead]:
    providers = identity.organisations_by_id(session, actor, {p.provider_org_id for p in products})
    all_plans = _plans_of(session, [p.id for p in products], active_only=False)
    out = []
    for p in products:
        full = privileged(actor, p)
        events: list[ListingEventRead] = []
        if full:
            rows = session.scalars(
                select(MarketListingEvent).where(MarketListingEvent.product_id == p.id).order_by(MarketListingEvent.id)
            )
            events = [ListingEventRead.model_validate(e) for e in rows]
        provider = providers.get(p.provider_org_id)
        out.append(
            ProductRead(
                id=p.id, code=p.code, kind=p.kind, kind_label=KINDS[p.kind], title=p.title, description=p.description,
                scenario=p.scenario, scenario_label=SCENARIOS[p.scenario], zone=p.zone,
                provider_org_id=p.provider_org_id, provider=provider.name if provider else "",
                resource_id=p.resource_id, entry_id=p.entry_id, sample=p.sample, update_frequency=p.update_frequency,
                coverage=p.coverage, licence=p.licence, terms=p.terms, requires_approval=p.requires_approval,
                contract=dict(p.contract), distribution=p.distribution,
                state=p.state, state_label=STATES[p.state], notice_until=p.notice_until,
                version=p.version, created_by=p.created_by, created_at=p.created_at, updated_at=p.updated_at,
                plans=[plan_read(x) for x in all_plans[p.id] if full or x.active], events=events,
            )
        )  # fmt: skip
    return out


def _visible(session: Session, actor: Actor, product_id: int) -> MarketProduct:
    require(actor, Permission.MARKET_PRODUCT_READ)
    product = session.get(MarketProduct, product_id) if is_fen(product_id) else None
    if product is None or not (product.state == "listed" or privileged(actor, product)):
        raise ProductNotFound(f"数据产品不存在：{product_id}")
    return product


def get_product(session: Session, actor: Actor, product_id: int) -> ProductRead:
    """A listed product (everyone, anonymous included: its active plans, no history); a product in
    any state with all its plans and its listing history for its provider's organisation and the
    operator. Not found for everyone else."""
    return _reads(session, actor, [_visible(session, actor, product_id)])[0]


def list_products(
    session: Session,
    actor: Actor,
    *,
    scenario: str | None = None,
    zone: str | None = None,
    kind: str | None = None,
    state: str | None = None,
    mine: bool = False,
) -> list[ProductRead]:
    """Products the actor may see, filtered: listed ones for everyone; also the organisation's own in
    any state for a provider, and every product for the operator. ``mine``: the actor's
    organisation's products only; ``state``: one state (``listed`` for the marketplace)."""
    require(actor, Permission.MARKET_PRODUCT_READ)
    stmt = select(MarketProduct)
    if mine:
        stmt = stmt.where(MarketProduct.provider_org_id == (actor.organisation_id or -1))
    elif not actor.can(Permission.MARKET_LISTING_REVIEW):
        own = MarketProduct.provider_org_id == actor.organisation_id if actor.organisation_id is not None else False
        stmt = stmt.where((MarketProduct.state == "listed") | own)
    for column, value in ((MarketProduct.scenario, scenario), (MarketProduct.zone, zone),
                          (MarketProduct.kind, kind), (MarketProduct.state, state)):  # fmt: skip
        if value is not None:
            stmt = stmt.where(column == value)
    return _reads(session, actor, list(session.scalars(stmt.order_by(MarketProduct.id).limit(1000))))


def price_list(session: Session, actor: Actor) -> PriceList:
    """The public price list: every listed product with its active plans and each plan's ceiling
    (the most a buyer pays per order, term or month; None where usage is uncapped)."""
    require(actor, Permission.MARKET_PRODUCT_READ)
    products = list(
        session.scalars(select(MarketProduct).where(MarketProduct.state == "listed").order_by(MarketProduct.id))
    )
    active = _plans_of(session, [p.id for p in products], active_only=True)
    providers = identity.organisations_by_id(session, actor, {p.provider_org_id for p in products})
    items = [
        PriceListItem(
            product_id=p.id, code=p.code, title=p.title, kind=p.kind, kind_label=KINDS[p.kind], scenario=p.scenario,
            scenario_label=SCENARIOS[p.scenario], zone=p.zone, provider_org_id=p.provider_org_id,
            provider=providers[p.provider_org_id].name if p.provider_org_id in providers else "",
            plans=[plan_read(x) for x in active[p.id]],
        )
        for p in products
    ]  # fmt: skip
    return PriceList(generated_at=utcnow(), products=items)


# --- writing products ---------------------------------------------------------------------------


# every action ``_event`` and ``_move`` record, as ``market.<action>`` (the audit viewer labels each)
ACTIONS = ("product_create", "product_update", "plan_add", "plan_update", "plan_deactivate", "product_submit",
           "product_review", "product_list", "product_suspend", "product_resume", "product_delist")  # fmt: skip


def _event(action: str, product: MarketProduct, **details: Any) -> audit.Event:
    return audit.Event(
        f"market.{action}",
        resource_id=product.resource_id,
        publisher_org_id=product.provider_org_id,
        details={"product": product.id, "code": product.code, "version": product.version, **details},
    )


def own_product(session: Session, actor: Actor, product_id: int) -> MarketProduct:
    """The actor's organisation's product: not found when the actor may not see it, refused when it
    is another organisation's (listed) product."""
    require(actor, Permission.MARKET_PRODUCT_MANAGE)
    product = _visible(session, actor, product_id)
    if product.provider_org_id != actor.organisation_id:
        raise Forbidden("这不是本机构的数据产品，不能修改", code="market.not_provider")
    return product


def in_draft(product: MarketProduct, what: str) -> None:
    if product.state != "draft":
        raise WrongState(f"产品当前为“{STATES[product.state]}”，只有草稿可以{what}")


def _distribution(session: Session, data: ProductIn) -> dict[str, Any] | None:
    """The product's own revenue distribution rule, checked (its trusts must exist and be active)."""
    if data.distribution is None:
        return None
    rule = distribution.parse(data.distribution)
    missing = [code for code in rule.trusts if trusts.active_by_code(session, code) is None]
    if missing:
        raise InvalidProduct(f"收益分配规则中的数据信托不存在或不在存续期：{'、'.join(missing)}", field="distribution")
    return rule.as_json()


def touch(product: MarketProduct) -> None:
    product.version += 1
    product.updated_at = utcnow()


@_refusals_audited("market.product_create", "code")
def _create(session: Session, actor: Actor, code: str, data: ProductIn) -> MarketProduct:
    require(actor, Permission.MARKET_PRODUCT_MANAGE)
    if actor.organisation_id is None:
        raise Forbidden("建立数据产品需以机构身份进行：当前账号不属于任何机构", code="market.no_organisation")
    checked = check_product(session, actor, data)
    if session.scalar(select(MarketProduct.id).where(MarketProduct.code == code)) is not None:
        raise CodeTaken(f"产品代码已被使用：{code}", details=[{"field": "code", "message": "产品代码已被使用"}])
    product = MarketProduct(
        **data.model_dump(exclude={"contract", "distribution"}), contract=checked.contract,
        distribution=_distribution(session, data), entry_id=checked.entry_id,
        basis=checked.basis, basis_grant_id=checked.grant_id, provider_org_id=actor.organisation_id,
        state="draft", version=1, created_by=actor.user_id,
    )  # fmt: skip
    session.add(product)
    session.flush()
    session.add(MarketListingEvent(product_id=product.id, from_state=None, to_state="draft",
                                   actor_user_id=actor.user_id, reason="建立产品", version=1))  # fmt: skip
    session.flush()
    audit.record(session, actor, _event("product_create", product, kind=product.kind, basis=product.basis))
    return product


def create_product(session: Session, actor: Actor, data: ProductIn) -> ProductRead:
    """A draft product of the actor's organisation (the operator or a data merchant) on a catalogue
    resource with a table, its contract checked against the table's fields (and, built under a grant,
    against the grant). ``NotHolder`` when a merchant may not build on the data; nothing is written
    when anything is refused."""
    return _reads(session, actor, [_create(session, actor, data.code, data)])[0]


@_refusals_audited("market.product_update")
def _update(session: Session, actor: Actor, product_id: int, data: ProductIn) -> MarketProduct:
    product = own_product(session, actor, product_id)
    in_draft(product, "修改")
    if data.code != product.code:
        raise InvalidProduct("产品代码不能修改", field="code")
    checked = check_product(session, actor, data)
    if data.kind != product.kind:
        allowed = PLAN_KINDS_BY_PRODUCT[data.kind]
        misfit = [
            p.code for p in _plans_of(session, [product.id], active_only=True)[product.id] if p.kind not in allowed
        ]
        if misfit:
            raise PlanNotAllowed(
                f"改为{KINDS[data.kind]}产品后，这些价格计划不再适用，请先停用：{'、'.join(misfit)}", field="kind"
            )
    for key, value in data.model_dump(exclude={"contract", "code", "distribution"}).items():
        setattr(product, key, value)
    product.contract = checked.contract
    product.distribution = _distribution(session, data)
    product.entry_id, product.basis, product.basis_grant_id = checked.entry_id, checked.basis, checked.grant_id
    touch(product)
    session.flush()
    audit.record(session, actor, _event("product_update", product))
    return product


def update_product(session: Session, actor: Actor, product_id: int, data: ProductIn) -> ProductRead:
    """Replace a draft of the actor's organisation whole (the same checks as ``create_product``; the
    code never changes); the version goes up."""
    return _reads(session, actor, [_update(session, actor, product_id, data)])[0]


# --- price plans --------------------------------------------------------------------------------


def _own_plan(session: Session, actor: Actor, plan_id: int) -> tuple[MarketPricePlan, MarketProduct]:
    require(actor, Permission.MARKET_PRODUCT_MANAGE)
    plan = session.get(MarketPricePlan, plan_id) if is_fen(plan_id) else None
    if plan is None:
        raise PlanNotFound(f"价格计划不存在：{plan_id}")
    try:
        product = own_product(session, actor, plan.product_id)
    except ProductNotFound:
        raise PlanNotFound(f"价格计划不存在：{plan_id}") from None
    return plan, product


def _set_terms(plan: MarketPricePlan, data: PlanIn, terms: plans.PlanTerms) -> None:
    plan.title = data.title
    plan.kind = terms.kind
    plan.price_fen, plan.term_months, plan.unit_price_fen = terms.price_fen, terms.term_months, terms.unit_price_fen
    plan.free_quota, plan.monthly_cap_fen, plan.tiers = terms.free_quota, terms.monthly_cap_fen, terms.tiers
    plan.public_interest_only = terms.public_interest_only
    plan.updated_at = utcnow()


@_refusals_audited("market.plan_add")
def _add_plan(session: Session, actor: Actor, product_id: int, data: PlanIn) -> MarketPricePlan:
    product = own_product(session, actor, product_id)
    in_draft(product, "增加价格计划")
    terms = plans.check_plan(data, product.kind)
    taken = session.scalar(
        select(MarketPricePlan.id).where(MarketPricePlan.product_id == product.id, MarketPricePlan.code == data.code)
    )
    if taken is not None:
        raise CodeTaken(
            f"本产品已有代码为 {data.code} 的价格计划", details=[{"field": "code", "message": "代码已被使用"}]
        )
    plan = MarketPricePlan(product_id=product.id, code=data.code, created_by=actor.user_id, active=True)
    _set_terms(plan, data, terms)
    session.add(plan)
    touch(product)
    session.flush()
    audit.record(session, actor, _event("plan_add", product, plan=plan.id, plan_code=plan.code, plan_kind=plan.kind))
    return plan


def add_plan(session: Session, actor: Actor, product_id: int, data: PlanIn) -> PlanRead:
    """A price plan for a draft of the actor's organisation: a kind that fits the product
    (``PLAN_KINDS_BY_PRODUCT``), whole non-negative fen (``plans.check_plan``)."""
    return plan_read(_add_plan(session, actor, product_id, data))


@_refusals_audited("market.plan_update", "plan")
def _update_plan(session: Session, actor: Actor, plan_id: int, data: PlanIn) -> MarketPricePlan:
    plan, product = _own_plan(session, actor, plan_id)
    in_draft(product, "修改价格计划")
    if data.code != plan.code:
        raise InvalidPlan("价格计划代码不能修改", field="code")
    terms = plans.check_plan(data, product.kind)
    _set_terms(plan, data, terms)
    touch(product)
    session.flush()
    audit.record(session, actor, _event("plan_update", product, plan=plan.id, plan_code=plan.code, plan_kind=plan.kind))
    return plan


def update_plan(session: Session, actor: Actor, plan_id: int, data: PlanIn) -> PlanRead:
    """New terms for a plan of a draft (its code never changes)."""
    return plan_read(_update_plan(session, actor, plan_id, data))


@_refusals_audited("market.plan_deactivate", "plan")
def _deactivate_plan(session: Session, actor: Actor, plan_id: int) -> MarketPricePlan:
    plan, product = _own_plan(session, actor, plan_id)
    if product.state not in PLANS_WITHDRAWABLE_IN:
        raise WrongState(f"产品当前为“{STATES[product.state]}”，不能停用价格计划")
    if not plan.active:
        return plan
    others = [p for p in _plans_of(session, [product.id], active_only=True)[product.id] if p.id != plan.id]
    if product.state != "draft" and not others:
        raise WrongState("这是该产品唯一有效的价格计划：已进入公示或上架的产品至少保留一个")
    plan.active = False
    plan.updated_at = utcnow()
    touch(product)
    session.flush()
    audit.record(session, actor, _event("plan_deactivate", product, plan=plan.id, plan_code=plan.code))
    return plan


def deactivate_plan(session: Session, actor: Actor, plan_id: int) -> PlanRead:
    """Withdraw a plan from sale: any plan of a draft; of a product in notice, listed or suspended
    only while another active plan remains. Idempotent; an inactive plan is never offered again."""
    return plan_read(_deactivate_plan(session, actor, plan_id))


# --- the listing --------------------------------------------------------------------------------


def _move(
    session: Session, actor: Actor, product: MarketProduct, to: str, action: str, reason: str = "", **details: Any
) -> None:
    old = product.state
    product.state = to
    product.updated_at = utcnow()
    session.add(MarketListingEvent(product_id=product.id, from_state=old, to_state=to, actor_user_id=actor.user_id,
                                   reason=reason, version=product.version))  # fmt: skip
    session.flush()
    event = _event(action, product, **{"from": old, "to": to, **details})
    event.reason = reason
    audit.record(session, actor, event)


def _from(product: MarketProduct, states: tuple[str, ...], what: str) -> None:
    if product.state not in states:
        raise WrongState(f"产品当前为“{STATES[product.state]}”，不能{what}")


def _reviewable(session: Session, actor: Actor, product_id: int) -> MarketProduct:
    require(actor, Permission.MARKET_LISTING_REVIEW)
    product = session.get(MarketProduct, product_id) if is_fen(product_id) else None
    if product is None:
        raise ProductNotFound(f"数据产品不存在：{product_id}")
    return product


def _reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidProduct(f"{what}须说明理由", field="reason")
    return text


@_refusals_audited("market.product_submit")
def _submit(session: Session, actor: Actor, product_id: int) -> MarketProduct:
    product = own_product(session, actor, product_id)
    _from(product, ("draft",), "提交审核")
    if not _plans_of(session, [product.id], active_only=True)[product.id]:
        raise InvalidProduct("提交审核前须至少设置一个有效的价格计划", field="plans")
    if (
        product.kind == "report"
        and session.scalar(select(MarketReportFile.id).where(MarketReportFile.product_id == product.id).limit(1))
        is None
    ):
        raise InvalidProduct("数据报告提交审核前须上传报告文件（PDF）", field="reports")
    check_product(session, actor, _as_input(product))  # the data, the grant and the table may have changed
    _move(session, actor, product, "under_review", "product_submit")
    return product


def _as_input(product: MarketProduct) -> ProductIn:
    return ProductIn(
        code=product.code, kind=product.kind, title=product.title, description=product.description,  # type: ignore[arg-type]
        scenario=product.scenario, zone=product.zone, resource_id=product.resource_id,  # type: ignore[arg-type]
        sample=product.sample, update_frequency=product.update_frequency, coverage=product.coverage,
        licence=product.licence, terms=product.terms, requires_approval=product.requires_approval,
        contract=ContractIn(**product.contract), distribution=product.distribution,
    )  # fmt: skip


def submit(session: Session, actor: Actor, product_id: int) -> ProductRead:
    """The provider submits its draft for the operator's review (draft → under_review): at least one
    active plan, and the product still checks against its data."""
    return _reads(session, actor, [_submit(session, actor, product_id)])[0]


@_refusals_audited("market.product_review")
def _review(session: Session, actor: Actor, product_id: int, data: ReviewIn, on: date | None) -> MarketProduct:
    product = _reviewable(session, actor, product_id)
    _from(product, ("under_review",), "审核")
    submitted_by = session.scalar(
        select(MarketListingEvent.actor_user_id)
        .where(MarketListingEvent.product_id == product.id, MarketListingEvent.to_state == "under_review")
        .order_by(MarketListingEvent.id.desc())
        .limit(1)
    )
    if actor.user_id is not None and actor.user_id == submitted_by:
        raise Forbidden("不能审核本人提交的产品", code="market.own_submission")
    if data.action == "reject":
        _move(session, actor, product, "draft", "product_review", _reason(data.reason, "驳回"))
        return product
    days = data.notice_days
    if not is_fen(days) or not 1 <= days <= MAX_NOTICE_DAYS:
        raise InvalidProduct(f"公示天数须为 1 至 {MAX_NOTICE_DAYS} 之间的整数：{days!r}", field="notice_days")
    product.notice_until = (on or access.beijing_today()) + timedelta(days=days)
    _move(
        session,
        actor,
        product,
        "public_notice",
        "product_review",
        data.reason.strip(),
        notice_until=product.notice_until.isoformat(),
    )
    return product


def review(session: Session, actor: Actor, product_id: int, data: ReviewIn, *, on: date | None = None) -> ProductRead:
    """The operator's review of a submitted product: approve into public notice (公示) until today +
    ``notice_days`` (default 7), or reject back to draft with a reason. Nobody reviews what they
    submitted themselves. ``on`` (in-process callers only, e.g. the demo city replaying its history):
    the day the review counts as made instead of today (never later than today)."""
    if on is not None and on > access.beijing_today():
        raise InvalidProduct(f"审核日期不能晚于今天：{on}", field="on")
    return _reads(session, actor, [_review(session, actor, product_id, data, on)])[0]


@_refusals_audited("market.product_list")
def _list(session: Session, actor: Actor, product_id: int, on: date | None) -> MarketProduct:
    product = _reviewable(session, actor, product_id)
    _from(product, ("public_notice",), "上架")
    today = on or access.beijing_today()
    if product.notice_until is not None and today <= product.notice_until:
        raise NoticeNotOver(
            f"公示期至 {product.notice_until}，期满后（{product.notice_until + timedelta(days=1)} 起）才能上架"
        )
    _move(session, actor, product, "listed", "product_list")
    return product


def list_product(session: Session, actor: Actor, product_id: int, *, on: date | None = None) -> ProductRead:
    """The operator lists a product whose public notice is over (public_notice → listed); ``on`` as
    for ``review`` (never later than today)."""
    if on is not None and on > access.beijing_today():
        raise InvalidProduct(f"上架日期不能晚于今天：{on}", field="on")
    return _reads(session, actor, [_list(session, actor, product_id, on)])[0]


@_refusals_audited("market.product_suspend")
def _suspend(session: Session, actor: Actor, product_id: int, reason: str) -> MarketProduct:
    product = _reviewable(session, actor, product_id)
    _from(product, ("listed",), "暂停")
    _move(session, actor, product, "suspended", "product_suspend", _reason(reason, "暂停"))
    return product


def suspend(session: Session, actor: Actor, product_id: int, reason: str) -> ProductRead:
    """The operator suspends a listed product (with a reason): no longer offered until resumed."""
    return _reads(session, actor, [_suspend(session, actor, product_id, reason)])[0]


@_refusals_audited("market.product_resume")
def _resume(session: Session, actor: Actor, product_id: int, reason: str) -> MarketProduct:
    product = _reviewable(session, actor, product_id)
    _from(product, ("suspended",), "恢复上架")
    _move(session, actor, product, "listed", "product_resume", reason.strip())
    return product


def resume(session: Session, actor: Actor, product_id: int, reason: str = "") -> ProductRead:
    """The operator lists a suspended product again."""
    return _reads(session, actor, [_resume(session, actor, product_id, reason)])[0]


@_refusals_audited("market.product_delist")
def _delist(session: Session, actor: Actor, product_id: int, reason: str) -> MarketProduct:
    product = _reviewable(session, actor, product_id)
    _from(product, ("public_notice", "listed", "suspended"), "下架")
    _move(session, actor, product, "delisted", "product_delist", _reason(reason, "下架"))
    return product


def delist(session: Session, actor: Actor, product_id: int, reason: str) -> ProductRead:
    """The operator delists a product in notice, listed or suspended (with a reason). Final."""
    return _reads(session, actor, [_delist(session, actor, product_id, reason)])[0]

"""银企直通车 — the bank–enterprise channel of the finance zone.

Banks admitted to the finance zone publish loan products whose eligibility is a condition in the
rules language over the loan inputs (``loans.inputs``: the enterprise's facts, its credit score
and grade, its tiers). An enterprise sees every published product against its own facts — eligible,
not eligible, or undecided with the facts that are missing, with the reasons in Chinese — and
applies in one step, attaching a live consent to the product's bank that covers the report
sections the product needs. The bank works the pipeline: received → reviewing → approved (amount,
rate, term) | declined (reason) → disbursed → repaid | defaulted; the enterprise may withdraw
before a decision. Closed loans are the outcomes the fitted scorecard learns from
(``loan_outcomes``), and the finance zone's dashboard aggregates what was extended
(``dashboard``).

The bank sees the application's eligibility trace (the enterprise's facts as they were) only while
the consent is live, and each such read is audited as a read of the credit report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.db import utcnow
from pubdata.enterprise import service as enterprise
from pubdata.finance import service as finance
from pubdata.finance.consent import service as consents
from pubdata.finance.consent.errors import ConsentRequired
from pubdata.finance.consent.schemas import SECTIONS
from pubdata.finance.errors import ScoreNotFound, ScoresNotRun
from pubdata.finance.loans import inputs
from pubdata.finance.loans.errors import (
    ApplicationNotFound,
    InvalidApplication,
    InvalidProduct,
    NotAZoneBank,
    NotEligible,
    ProductNotFound,
    WrongState,
)
from pubdata.finance.loans.models import FinanceLoanApplication, FinanceLoanEvent, FinanceLoanProduct
from pubdata.finance.loans.schemas import (
    BANK_STEPS,
    CATEGORIES,
    ENTERPRISE_WITHDRAWS_FROM,
    GUARANTEES,
    STATES,
    ApplicationIn,
    ApplicationRead,
    EventRead,
    ProductIn,
    ProductMatch,
    ProductRead,
    StepIn,
)
from pubdata.identity import service as identity
from pubdata.policy import service as policy
from pubdata.policy.packs.explain import MARKS, Describer
from pubdata.rules.evaluate import conditions, evaluate
from pubdata.rules.expr import InvalidExpression, Node, compile_condition, facts_used
from pubdata.standards import INDUSTRY_SECTIONS, industry_section

# --- products -------------------------------------------------------------------------------------


def _zone_bank(session: Session, actor: Actor, permission: Permission) -> int:
    require(actor, permission)
    if actor.organisation_id is None or not consents.is_zone_bank(
        session, actor.organisation_id, actor.organisation_kind
    ):
        raise NotAZoneBank("只有入驻金融专区的银行才能发布贷款产品、办理贷款申请")
    return actor.organisation_id


def compile_eligibility(text: str) -> Node:
    """The product's eligibility, parsed and type-checked against the loan inputs; ``InvalidProduct``
    naming the problem (position, unknown name, wrong type) otherwise."""
    try:
        return compile_condition(text, inputs.rule_types())
    except InvalidExpression as exc:
        raise InvalidProduct(f"准入条件有误：{exc.message}", field="eligibility") from None


def _check_product(data: ProductIn) -> None:
    compile_eligibility(data.eligibility)
    unknown = [s for s in data.sections if s not in SECTIONS]
    if unknown:
        raise InvalidProduct(f"未知的信用报告部分：{'、'.join(unknown)}", field="sections")


def _product_read(session: Session, actor: Actor, products: list[FinanceLoanProduct]) -> list[ProductRead]:
    banks = identity.organisations_by_id(session, actor, {p.bank_org_id for p in products})
    return [
        ProductRead(
            id=p.id, bank_code=banks[p.bank_org_id].code, bank=banks[p.bank_org_id].name, code=p.code, name=p.name,
            description=p.description, category=p.category, category_label=CATEGORIES[p.category],
            amount_min=p.amount_min, amount_max=p.amount_max, term_min_months=p.term_min_months,
            term_max_months=p.term_max_months, rate_min_bp=p.rate_min_bp, rate_max_bp=p.rate_max_bp,
            guarantee=p.guarantee, guarantee_label=GUARANTEES[p.guarantee], eligibility=p.eligibility,
            sections=list(p.sections), state=p.state, version=p.version, updated_at=p.updated_at,
        )
        for p in products
    ]  # fmt: skip


def create_product(session: Session, actor: Actor, data: ProductIn) -> ProductRead:
    """A draft product of the actor's bank (a bank admitted to the finance zone)."""
    bank = _zone_bank(session, actor, Permission.FINANCE_PRODUCT_MANAGE)
    _check_product(data)
    taken = session.scalar(
        select(FinanceLoanProduct.id).where(
            FinanceLoanProduct.bank_org_id == bank, FinanceLoanProduct.code == data.code
        )
    )
    if taken is not None:
        raise InvalidProduct(f"本行已有代码为 {data.code} 的贷款产品", field="code")
    product = FinanceLoanProduct(bank_org_id=bank, created_by=actor.user_id, **data.model_dump())
    session.add(product)
    session.flush()
    audit.record(session, actor, audit.Event("loan.product_create", details={"product": product.id, "code": data.code}))
    return _product_read(session, actor, [product])[0]


def _own_product(session: Session, actor: Actor, product_id: int) -> FinanceLoanProduct:
    bank = _zone_bank(session, actor, Permission.FINANCE_PRODUCT_MANAGE)
    product = session.get(FinanceLoanProduct, product_id)
    if product is None or product.bank_org_id != bank:
        raise ProductNotFound(f"贷款产品不存在：{product_id}")
    return product


def get_own_product(session: Session, actor: Actor, product_id: int) -> ProductRead:
    """One product of the actor's bank, whatever its state (the product editor)."""
    return _product_read(session, actor, [_own_product(session, actor, product_id)])[0]


def update_product(session: Session, actor: Actor, product_id: int, data: ProductIn) -> ProductRead:
    """New terms for the bank's product: a published product gets a new version number (applications
    keep the version they were made under)."""
    product = _own_product(session, actor, product_id)
    _check_product(data)
    if data.code != product.code:
        raise InvalidProduct("产品代码不能修改", field="code")
    for key, value in data.model_dump().items():
        setattr(product, key, value)
    if product.state != "draft":
        product.version += 1
    product.updated_at = utcnow()
    session.flush()
    audit.record(
        session, actor, audit.Event("loan.product_update", details={"product": product.id, "version": product.version})
    )
    return _product_read(session, actor, [product])[0]


def set_product_state(session: Session, actor: Actor, product_id: int, state: str) -> ProductRead:
    """Publish a draft or withdrawn product, or withdraw a published one."""
    product = _own_product(session, actor, product_id)
    allowed = {"published": ("draft", "withdrawn"), "withdrawn": ("published",)}
    if state not in allowed:
        raise InvalidProduct(f"未知的产品状态：{state}", field="state")
    if product.state not in allowed[state]:
        raise WrongState(f"产品当前为“{product.state}”，不能改为“{state}”")
    product.state = state
    product.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, audit.Event(f"loan.product_{state}", details={"product": product.id}))
    return _product_read(session, actor, [product])[0]


def list_products(session: Session, actor: Actor, *, mine: bool = False) -> list[ProductRead]:
    """Published products (everyone); ``mine``: every product of the actor's bank, drafts included."""
    require(actor, Permission.FINANCE_PRODUCT_READ)
    stmt = select(FinanceLoanProduct)
    if mine:
        stmt = stmt.where(
            FinanceLoanProduct.bank_org_id == _zone_bank(session, actor, Permission.FINANCE_PRODUCT_MANAGE)
        )
    else:
        stmt = stmt.where(FinanceLoanProduct.state == "published")
    return _product_read(session, actor, list(session.scalars(stmt.order_by(FinanceLoanProduct.id))))


def get_product(session: Session, actor: Actor, product_id: int) -> ProductRead:
    require(actor, Permission.FINANCE_PRODUCT_READ)
    product = session.get(FinanceLoanProduct, product_id)
    if product is None or (product.state != "published" and product.bank_org_id != actor.organisation_id):
        raise ProductNotFound(f"贷款产品不存在：{product_id}")
    return _product_read(session, actor, [product])[0]


# --- matching -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    eligible: bool | None
    reasons: list[str]
    missing: list[str]


def explain(rule: str, values: Mapping[str, Any]) -> Eligibility:
    """The product's rule against one enterprise's values: the outcome (three-valued), one line per
    simple condition in Chinese, and the inputs that would decide an undecided rule."""
    node = compile_eligibility(rule)
    say = Describer(inputs.inputs())
    lines = [say.condition(leaf, values)[0] for leaf in conditions(node)]
    outcome = evaluate(node, values)
    missing = sorted(outcome.missing) if outcome.value is None else []
    verdict = {True: "符合准入条件", False: "不符合准入条件", None: "缺少事实，暂无法判断"}
    value = None if outcome.value is None else bool(outcome.value)
    lines.append(f"{MARKS[value]} 结论：{verdict[value]}")
    return Eligibility(value, lines, missing)


def applicant_values(session: Session, actor: Actor, uscc: str, *, home: Path) -> dict[str, Any]:
    """The loan inputs of one enterprise as the actor may read them: its facts (the facts read is
    checked and audited by the enterprise domain) and the derived inputs."""
    facts = enterprise.get_facts(session, actor, uscc, home=home)
    return {**facts.values, **derived_values(session, actor, uscc, facts.values, home=home)}


TIER_INPUTS = {
    "tier_innovative_sme": ("innovative_sme", "tech_innovative_sme"),  # 2022 创新型; 2026 科技和创新型
    "tier_specialised_sme": ("specialised_sme",),
    "tier_little_giant": ("little_giant",),
}


def derived_values(
    session: Session, actor: Actor, uscc: str, facts: Mapping[str, Any], *, home: Path
) -> dict[str, Any]:
    """The enterprise's credit score and grade (the expert card's latest run; unknown before the first
    run), and its tiers under the tier rules in force today (unknown where facts are missing)."""
    values: dict[str, Any] = dict.fromkeys(inputs.DERIVED)
    try:
        scored = finance.score_enterprise(session, actor, uscc, home=home)
        values.update(credit_score=scored.score, credit_grade=scored.grade)
    except (ScoresNotRun, ScoreNotFound):
        pass
    tiers = policy.tiers_in_force(actor, facts, beijing_today())
    for name, clauses in TIER_INPUTS.items():
        values[name] = next((tiers[c] for c in clauses if c in tiers), None)
    return values


def match_products(session: Session, actor: Actor, uscc: str, *, home: Path) -> list[ProductMatch]:
    """Every published product against the enterprise (its own users, or those who may read any
    enterprise's facts): eligible first, then undecided, then not eligible."""
    require(actor, Permission.FINANCE_PRODUCT_READ)
    values = applicant_values(session, actor, uscc, home=home)
    titles = inputs.inputs()
    out = []
    for product in list_products(session, actor):
        result = explain(product.eligibility, values)
        out.append(
            ProductMatch(
                product=product, eligible=result.eligible, reasons=result.reasons, missing=result.missing,
                missing_titles=[titles[n].title if n in titles else n for n in result.missing],
            )
        )  # fmt: skip
    order = {True: 0, None: 1, False: 2}
    return sorted(out, key=lambda m: (order[m.eligible], m.product.id))


# --- applications ---------------------------------------------------------------------------------


def _events(session: Session, application_id: int) -> list[EventRead]:
    rows = session.scalars(
        select(FinanceLoanEvent).where(FinanceLoanEvent.application_id == application_id).order_by(FinanceLoanEvent.id)
    )
    return [EventRead.model_validate(e) for e in rows]


def _application_read(
    session: Session, actor: Actor, app: FinanceLoanApplication, *, with_eligibility: bool
) -> ApplicationRead:
    product = session.get(FinanceLoanProduct, app.product_id)
    assert product is not None
    orgs = identity.organisations_by_id(session, actor, {app.bank_org_id, app.enterprise_org_id})
    hidden = {"hidden": "授权已失效：银行不再能查看企业的准入核验明细"}
    return ApplicationRead(
        id=app.id, product_id=app.product_id, product=product.name, bank=orgs[app.bank_org_id].name, uscc=app.uscc,
        enterprise=orgs[app.enterprise_org_id].name, consent_id=app.consent_id, amount=app.amount,
        term_months=app.term_months, purpose=app.purpose, state=app.state, state_label=STATES[app.state],
        eligibility=app.eligibility if with_eligibility else hidden, district=app.district, industry=app.industry,
        tier=app.tier, grade=app.grade, approved_amount=app.approved_amount, approved_rate_bp=app.approved_rate_bp,
        approved_term_months=app.approved_term_months, decline_reason=app.decline_reason,
        disbursed_on=app.disbursed_on, closed_on=app.closed_on, created_at=app.created_at,
        events=_events(session, app.id),
    )  # fmt: skip


def _event(session: Session, actor: Actor, app: FinanceLoanApplication, old: str | None, note: str = "") -> None:
    session.add(
        FinanceLoanEvent(
            application_id=app.id, actor_user_id=actor.user_id, from_state=old, to_state=app.state, note=note
        )
    )
    session.flush()
    audit.record(
        session, actor,
        audit.Event(f"loan.{app.state}", publisher_org_id=app.enterprise_org_id,
                    details={"application": app.id, "product": app.product_id, "from": old, "uscc": app.uscc}),
    )  # fmt: skip


def _tier_label(values: Mapping[str, Any]) -> str | None:
    for name in ("tier_little_giant", "tier_specialised_sme", "tier_innovative_sme"):
        if values.get(name) is True:
            return inputs.DERIVED[name].title
    return None


@audit.refusals_audited("loan.apply", "product")
def _apply(session: Session, actor: Actor, product_id: int, data: ApplicationIn, home: Path) -> FinanceLoanApplication:
    require(actor, Permission.FINANCE_LOAN_APPLY)
    org = identity.own_organisation(session, actor)
    if org is None or not org.uscc:
        raise InvalidApplication("只有登记了统一社会信用代码的企业才能申请贷款")
    product = session.get(FinanceLoanProduct, product_id)
    if product is None or product.state != "published":
        raise ProductNotFound(f"贷款产品不存在或已下架：{product_id}")
    problems = []
    if not product.amount_min <= data.amount <= product.amount_max:
        message = f"申请金额应在 {product.amount_min:,} 至 {product.amount_max:,} 元之间"
        problems.append({"field": "amount", "message": message})
    if not product.term_min_months <= data.term_months <= product.term_max_months:
        message = f"期限应在 {product.term_min_months} 至 {product.term_max_months} 个月之间"
        problems.append({"field": "term_months", "message": message})
    if problems:
        raise InvalidApplication("；".join(p["message"] for p in problems), details=problems)
    consent = consents.consent_for_loan(session, actor, data.consent_id, product.bank_org_id, product.sections)
    values = applicant_values(session, actor, org.uscc, home=home)
    result = explain(product.eligibility, values)
    if result.eligible is False:
        raise NotEligible(
            "不符合该产品的准入条件：" + "；".join(r for r in result.reasons if r.startswith(MARKS[False]))
        )
    used = facts_used(compile_eligibility(product.eligibility))
    app = FinanceLoanApplication(
        product_id=product.id, product_version=product.version, bank_org_id=product.bank_org_id,
        enterprise_org_id=org.id, uscc=org.uscc, consent_id=consent.id, amount=data.amount,
        term_months=data.term_months, purpose=data.purpose.strip(), state="received",
        eligibility={"eligible": result.eligible, "reasons": result.reasons, "missing": result.missing,
                     "values": {n: _jsonable(values.get(n)) for n in used}},
        district=values.get("registered_district"), industry=industry_section(values.get("industry_code")),
        tier=_tier_label(values), grade=values.get("credit_grade"), created_by=actor.user_id,
    )  # fmt: skip
    session.add(app)
    session.flush()
    _event(session, actor, app, None, "企业在线申请")
    return app


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def apply(session: Session, actor: Actor, data: ApplicationIn, *, home: Path) -> ApplicationRead:
    """The actor's enterprise applies for a published product in one step, attaching its live consent
    to the product's bank (covering the sections the product needs). Amount and term must fall in the
    product's ranges; an enterprise the rule shows not eligible is refused with the reasons; an
    undecided one may apply (the bank decides what is missing)."""
    app = _apply(session, actor, data.product_id, data, home)
    return _application_read(session, actor, app, with_eligibility=True)


def _visible_application(session: Session, actor: Actor, application_id: int) -> FinanceLoanApplication:
    require(actor, Permission.FINANCE_LOAN_READ)
    app = session.get(FinanceLoanApplication, application_id)
    if app is None or not (
        actor.can(Permission.FINANCE_LOAN_READ_ANY) or actor.organisation_id in (app.enterprise_org_id, app.bank_org_id)
    ):
        raise ApplicationNotFound(f"贷款申请不存在：{application_id}")
    return app


def _bank_sees_eligibility(session: Session, actor: Actor, app: FinanceLoanApplication) -> bool:
    """The bank sees the eligibility detail (the enterprise's facts) only under a live consent; the
    read is audited as a read of the report."""
    product = session.get(FinanceLoanProduct, app.product_id)
    assert product is not None
    try:
        consent = consents.authorise_report(session, actor, app.uscc, product.sections)
    except ConsentRequired:
        return False
    consents.record_report_read(session, actor, consent, product.sections)
    return True


def get_application(session: Session, actor: Actor, application_id: int) -> ApplicationRead:
    """One application: its enterprise, the bank it was made to (the eligibility detail only under a
    live consent) and the oversight roles."""
    app = _visible_application(session, actor, application_id)
    if actor.organisation_id == app.bank_org_id:
        return _application_read(session, actor, app, with_eligibility=_bank_sees_eligibility(session, actor, app))
    return _application_read(session, actor, app, with_eligibility=True)


def list_applications(session: Session, actor: Actor, *, state: str | None = None) -> list[ApplicationRead]:
    """An enterprise's own applications, a bank's received ones, or (oversight) all; newest first.
    Lists carry no eligibility detail."""
    require(actor, Permission.FINANCE_LOAN_READ)
    stmt = select(FinanceLoanApplication)
    if not actor.can(Permission.FINANCE_LOAN_READ_ANY):
        org = actor.organisation_id
        if org is None:
            return []
        stmt = stmt.where(
            (FinanceLoanApplication.enterprise_org_id == org) | (FinanceLoanApplication.bank_org_id == org)
        )
    if state is not None:
        stmt = stmt.where(FinanceLoanApplication.state == state)
    apps = session.scalars(stmt.order_by(FinanceLoanApplication.id.desc()).limit(1000))
    return [_application_read(session, actor, a, with_eligibility=False) for a in apps]


@audit.refusals_audited("loan.step", "application")
def _step(session: Session, actor: Actor, application_id: int, data: StepIn) -> FinanceLoanApplication:
    bank = _zone_bank(session, actor, Permission.FINANCE_LOAN_REVIEW)
    app = session.get(FinanceLoanApplication, application_id)
    if app is None or app.bank_org_id != bank:
        raise ApplicationNotFound(f"贷款申请不存在：{application_id}")
    follows, to = BANK_STEPS[data.action]
    if app.state not in follows:
        raise WrongState(f"申请当前为“{STATES[app.state]}”，不能{STATES[to]}")
    product = session.get(FinanceLoanProduct, app.product_id)
    assert product is not None
    note = data.note.strip()
    if data.action == "approve":
        problems = []
        if data.amount is None or data.rate_bp is None or data.term_months is None:
            problems.append({"field": "amount", "message": "批准须给出金额、利率和期限"})
        else:
            if data.amount > app.amount:
                problems.append({"field": "amount", "message": f"批准金额不能超过申请金额 {app.amount:,} 元"})
            if not product.rate_min_bp <= data.rate_bp <= product.rate_max_bp:
                problems.append({"field": "rate_bp", "message": f"利率应在产品范围 {product.rate_min_bp}–"
                                 f"{product.rate_max_bp} 个基点之内"})  # fmt: skip
            if not product.term_min_months <= data.term_months <= product.term_max_months:
                problems.append({"field": "term_months", "message": "期限应在产品范围之内"})
        if problems:
            raise InvalidApplication("；".join(p["message"] for p in problems), details=problems)
        app.approved_amount, app.approved_rate_bp, app.approved_term_months = (
            data.amount,
            data.rate_bp,
            data.term_months,
        )
    elif data.action == "decline":
        if not note:
            raise InvalidApplication("拒绝须说明理由", field="note")
        app.decline_reason = note
    elif data.action == "disburse":
        app.disbursed_on = data.on or beijing_today()
    elif data.action in ("repaid", "defaulted"):
        closed = data.on or beijing_today()
        if app.disbursed_on is not None and closed < app.disbursed_on:
            raise InvalidApplication("结清或违约日期不能早于放款日期", field="on")
        app.closed_on = closed
    old = app.state
    app.state = to
    app.updated_at = utcnow()
    _event(session, actor, app, old, note)
    return app


def step(session: Session, actor: Actor, application_id: int, data: StepIn) -> ApplicationRead:
    """The bank moves an application along its pipeline (``BANK_STEPS``): only its own applications,
    only from the states each step follows."""
    app = _step(session, actor, application_id, data)
    return _application_read(session, actor, app, with_eligibility=False)


def withdraw(session: Session, actor: Actor, application_id: int) -> ApplicationRead:
    """The enterprise withdraws its application before the bank decides."""
    require(actor, Permission.FINANCE_LOAN_APPLY)
    app = session.get(FinanceLoanApplication, application_id)
    if app is None or app.enterprise_org_id != actor.organisation_id:
        raise ApplicationNotFound(f"贷款申请不存在：{application_id}")
    if app.state not in ENTERPRISE_WITHDRAWS_FROM:
        raise WrongState(f"申请当前为“{STATES[app.state]}”，不能撤回")
    old, app.state = app.state, "withdrawn"
    app.updated_at = utcnow()
    _event(session, actor, app, old, "企业撤回申请")
    return _application_read(session, actor, app, with_eligibility=True)


# --- outcomes and the dashboard -------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    uscc: str
    defaulted: bool
    disbursed_on: date | None
    closed_on: date


def loan_outcomes(session: Session, actor: Actor) -> list[Outcome]:
    """Closed loans (repaid: performing; defaulted): the bank's own, or every bank's for the
    operator — the outcomes a fitted scorecard learns from."""
    stmt = select(FinanceLoanApplication).where(FinanceLoanApplication.state.in_(("repaid", "defaulted")))
    if not actor.can(Permission.FINANCE_LOAN_READ_ANY):
        stmt = stmt.where(
            FinanceLoanApplication.bank_org_id == _zone_bank(session, actor, Permission.FINANCE_LOAN_REVIEW)
        )
    return [
        Outcome(a.uscc, a.state == "defaulted", a.disbursed_on, a.closed_on)
        for a in session.scalars(stmt.order_by(FinanceLoanApplication.id))
        if a.closed_on is not None
    ]


GROUPS = ("district", "industry", "tier", "grade", "product", "state")
MIN_CELL = 3  # groups of fewer applications are folded into “其他” so no enterprise stands out


def dashboard(session: Session, actor: Actor) -> dict[str, Any]:
    """Credit extended through the channel, in aggregates: applications, approvals, amounts applied
    for, approved and disbursed, by district, industry, tier, grade, product and state. Banks see
    their own; the operator and the regulator every bank's. Groups smaller than ``MIN_CELL``
    applications are folded into “其他”."""
    require(actor, Permission.FINANCE_DASHBOARD_READ)
    app = FinanceLoanApplication
    scope = []
    if not actor.can(Permission.FINANCE_LOAN_READ_ANY):
        scope.append(app.bank_org_id == (actor.organisation_id or -1))
    approved = app.state.in_(("approved", "disbursed", "repaid", "defaulted"))
    disbursed = app.state.in_(("disbursed", "repaid", "defaulted"))
    columns = {
        "district": app.district, "industry": app.industry, "tier": app.tier, "grade": app.grade,
        "product": app.product_id, "state": app.state,
    }  # fmt: skip
    measures = (
        func.count(app.id),
        func.count(app.id).filter(approved),
        func.coalesce(func.sum(app.amount), 0),
        func.coalesce(func.sum(app.approved_amount).filter(approved), 0),
        func.coalesce(func.sum(app.approved_amount).filter(disbursed), 0),
        func.count(app.id).filter(app.state == "defaulted"),
    )
    names = ("applications", "approved", "amount_applied", "amount_approved", "amount_disbursed", "defaulted")
    total_row = session.execute(select(*measures).where(*scope)).one()
    product_names = dict(session.execute(select(FinanceLoanProduct.id, FinanceLoanProduct.name)).all())
    out: dict[str, Any] = {"total": dict(zip(names, (int(v or 0) for v in total_row), strict=True)), "by": {}}
    for group, column in columns.items():
        rows = session.execute(select(column, *measures).where(*scope).group_by(column)).all()
        kept: list[dict[str, Any]] = []
        other = dict.fromkeys(names, 0)
        for key, *values in rows:
            row = dict(zip(names, (int(v or 0) for v in values), strict=True))
            if row["applications"] < MIN_CELL and group != "state":
                other = {n: other[n] + row[n] for n in names}
                continue
            label = _label(group, key, product_names)
            kept.append({"key": key, "label": label, **row})
        if other["applications"]:
            kept.append({"key": None, "label": "其他", **other})
        out["by"][group] = sorted(kept, key=lambda r: -r["applications"])
    return out


def _label(group: str, key: Any, product_names: Mapping[int, str]) -> str:
    if key is None:
        return "未知"
    if group == "industry":
        return INDUSTRY_SECTIONS.get(key, key)
    if group == "product":
        return product_names.get(key, str(key))
    if group == "state":
        return STATES.get(key, key)
    return str(key)

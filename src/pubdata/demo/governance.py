"""The demo city's governance state, so every role sees something on its pages: the finance and
medical zones with their catalogues and members, access requests at each step of the review
(granted, waiting for the operator, waiting for a department, a sandbox grant on medical data), and
the audit records all of that leaves. Runs after the records are loaded; idempotent.

Reviews are taken by the publishing departments as organisations (their demo staff are not all
accounts), through the same services the portal calls."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata.access import service as access
from pubdata.access import zones
from pubdata.access.schemas import Decision, RequestCreate
from pubdata.authz import SYSTEM, Actor, Role
from pubdata.catalog import service as catalog
from pubdata.demo import appraisal as demo_appraisal
from pubdata.demo import finance as demo_finance
from pubdata.demo import market as demo_market
from pubdata.demo import market_orders as demo_market_orders
from pubdata.demo import records
from pubdata.demo import registry as demo_registry
from pubdata.demo import trusts as demo_trusts
from pubdata.demo.catalogue import ANCHOR_CODES
from pubdata.identity import service as identity
from pubdata.settings import get_settings
from pubdata.store import contracts

FINANCE = ("tax_credit", "social_insurance", "water", "electricity", "enterprise_registry", "penalties",
           "dishonest_debtors", "abnormal_operations")  # fmt: skip
MEDICAL = ("medical_institutions", "outpatient_visits", "insurance_designated", "insurance_settlements")
SCENARIOS = {
    "rows": ("普惠金融授信", "用于小微企业信用贷款的贷前审查与贷后监测"),
    "sandbox": ("医保控费研究", "按区、按病种统计门诊费用，评估医保支付政策"),
}
QUALIFICATIONS = {
    "bank": "金融许可证 B0171H237020001；信息系统安全等级保护三级备案",
    "merchant": "数据商登记证书（青岛）；ISO/IEC 27001 信息安全管理体系认证",
    "appraiser": "资产评估资格证书；数据资产评估业务备案",
}


def _user_actor(session: Session, username: str) -> Actor:
    return identity.actor_for(identity.get_user(session, username), via="cli")


def _department(session: Session, code: str) -> Actor:
    org = identity.get_organisation(session, SYSTEM, code)
    return Actor(
        username=f"{code}-reviewer",
        organisation_id=org.id,
        organisation_kind=org.kind,
        roles=frozenset({Role.DEPARTMENT}),
        via="cli",
    )


def _resource(session: Session, anchor: str) -> tuple[Any, str] | None:
    entry = catalog.get_entry(session, SYSTEM, ANCHOR_CODES[anchor])
    resource_id, has_table, _tag = records.table_of(session, SYSTEM, entry.code)
    return (entry, resource_id) if has_table else None


def _request(session: Session, consumer: Actor, anchor: str, mode: str = "rows") -> tuple[Any, int] | None:
    """A request by ``consumer`` for the first eight fields of the anchor's records table (reused if
    any); None when the entry has no records yet."""
    found = _resource(session, anchor)
    if found is None:
        return None
    entry, rid = found
    existing = next((r for r in access.list_requests(session, consumer, "mine") if r.resource_id == rid), None)
    if existing is not None:
        return entry, existing.id
    fields = [f.name for f in contracts.table_columns(session, rid)][:8]
    today = access.beijing_today()
    data = RequestCreate(
        scenario=SCENARIOS[mode][0],
        purpose=SCENARIOS[mode][1],
        fields=fields,
        period_start=today,
        period_end=today + timedelta(days=365),
        expected_rows=100_000,
        mode=mode,
    )
    return entry, contracts.request_access(session, consumer, rid, data).id


def apply(session: Session, *, home: Path | None = None) -> dict[str, Any]:
    """Zones, memberships, requests and grants of the demo city; counts of what exists (and the
    registered demo registrations' codes under ``registrations``). ``home``: the data directory the
    records were loaded into (the configured one by default), which the registry fingerprints."""
    home = home if home is not None else get_settings().resolved_home
    zones.ensure_default_zones(session)
    operator = _user_actor(session, "operator")
    for code, anchors in (("finance", FINANCE), ("medical", MEDICAL)):
        for anchor in anchors:
            zones.add_entry(session, operator, code, ANCHOR_CODES[anchor])
    for username, zone, admit in (
        ("bank", "finance", True),
        ("merchant", "medical", True),
        ("merchant", "finance", True),
        ("appraiser", "finance", False),  # left waiting in the operator's queue
    ):
        actor = _user_actor(session, username)
        state = zones.membership_state(session, zones.get_zone(session, zone).id, actor.organisation_id)
        if state is None:
            member = zones.apply(session, actor, zone, QUALIFICATIONS[username])
            if admit:
                zones.review_member(session, operator, zone, member.id, admit=True)
    bank = _user_actor(session, "bank")
    merchant = _user_actor(session, "merchant")
    # granted: the bank reads tax credit grades (masked where personal), quota set by the operator
    _advance(session, bank, "tax_credit", operator, to="granted")
    # waiting for the operator: social insurance, approved by the human resources bureau
    _advance(session, bank, "social_insurance", operator, to="department_approved")
    # waiting for the water department
    _advance(session, bank, "water", operator, to="requested")
    # the data merchant: medical visits only as aggregates in the sandbox
    _advance(session, merchant, "outpatient_visits", operator, to="granted", mode="sandbox")
    products = demo_finance.apply(session, bank)  # the demo bank's loan products (银企直通车)
    market_anchors = {spec.anchor for spec in demo_market.PRODUCTS}
    resource_of = {a: found[1] if (found := _resource(session, a)) else None for a in market_anchors}
    actors = {"operator": operator, "merchant": merchant, "admin": _user_actor(session, "admin")}
    listed = demo_market.apply(session, actors, resource_of, home=home)  # the data market's products
    registry_anchors = {spec.anchor for spec in demo_registry.REGISTRATIONS}
    registry_resources = {a: found[1] if (found := _resource(session, a)) else None for a in registry_anchors}
    registry_actors = {"department": _user_actor(session, "scjgj"), "merchant": merchant, "registrar": operator,
                       "enterprise": _user_actor(session, "enterprise")}  # fmt: skip
    # the data-asset registry: registered, in public notice with an objection, waiting to be accepted
    registrations = demo_registry.apply(session, registry_actors, registry_resources, home=home)
    # orders, payments and last month's settlement; a trust over registered assets; an appraisal
    finance = _user_actor(session, "finance")
    order_actors = {"enterprise": registry_actors["enterprise"], "bank": bank, "operator": operator, "finance": finance}
    market_orders = demo_market_orders.apply(session, order_actors)
    trust = demo_trusts.apply(session, {**registry_actors, "operator": operator}, registrations)
    appraisal = demo_appraisal.apply(session, {"appraiser": _user_actor(session, "appraiser")}, registrations[0]) if (
        registrations) else None  # fmt: skip
    session.flush()
    return {
        "products": products,
        "market_products": listed,
        "registrations": registrations,
        "trust": trust,
        "appraisal": appraisal,
        **market_orders,
        "requests": sum(len(access.list_requests(session, c, "mine")) for c in (bank, merchant)),
        "members": sum(
            m.state == "admitted"
            for code in ("finance", "medical")
            for m in zones.list_members(session, operator, code)
        ),
    }


def _advance(session: Session, consumer: Actor, anchor: str, operator: Actor, *, to: str, mode: str = "rows") -> None:
    made = _request(session, consumer, anchor, mode)
    if made is None:
        return
    entry, request_id = made
    request = access.visible_request(session, SYSTEM, request_id)
    department = _department(session, entry.organisation.code)
    if to in ("department_approved", "granted") and request.state == "requested":
        contracts.review_access(session, department, request_id, Decision(action="approve", reason="用途明确，同意"))
    if to == "granted" and request.state == "department_approved":
        terms = Decision(action="approve", reason="同意授权", daily_call_quota=5000, rate_per_minute=120,
                         privacy_budget=5.0 if mode == "sandbox" else None)  # fmt: skip
        contracts.review_access(session, operator, request_id, terms)

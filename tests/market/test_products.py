"""Data products, their listing and their price plans through the market's services: the lifecycle
end to end and every refused step, who may build and manage what (a merchant only on open data, its
own, or under its grant), contract templates checked against the real table, plan refusals that
write nothing and are audited, and the public price list."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pubdata.access import zones
from pubdata.access.service import beijing_today
from pubdata.audit.models import AuditRecord
from pubdata.authz import ANONYMOUS, SYSTEM
from pubdata.catalog import service as catalog
from pubdata.db import write_durable
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.market import service as market
from pubdata.market.errors import (
    CodeTaken,
    InvalidContract,
    InvalidPlan,
    InvalidProduct,
    NotHolder,
    NoticeNotOver,
    PlanNotAllowed,
    PlanNotFound,
    ProductNotFound,
    WrongState,
)
from pubdata.market.models import MarketPricePlan, MarketProduct
from pubdata.market.schemas import ContractIn, PlanIn, ReviewIn
from tests.access.people import grant, load_people
from tests.market.builders import product_in, tax_table

PER_CALL = PlanIn(code="per-call", title="按次", kind="per_call", unit_price_fen=50, free_quota=100,
                  monthly_cap_fen=200_000)  # fmt: skip


@pytest.fixture
def world(session, as_actor):
    department = as_actor("department")
    return {
        "department": department,
        "operator": as_actor("operator"),
        "reviewer": as_actor("operator"),  # another of the operator's staff
        "merchant": as_actor("data_merchant"),
        "rival": as_actor("data_merchant"),
        "open": tax_table(session, department),
    }


def listed(session, w, code="tax-grade-api", plans=(PER_CALL,)) -> int:
    """A merchant's product on open data, taken through review and notice to listed."""
    product = market.create_product(session, w["merchant"], product_in(w["open"], code=code))
    for p in plans:
        market.add_plan(session, w["merchant"], product.id, p)
    market.submit(session, w["merchant"], product.id)
    market.review(session, w["operator"], product.id, ReviewIn(action="approve"))
    session.get(MarketProduct, product.id).notice_until = beijing_today() - timedelta(days=1)  # the notice is over
    return market.list_product(session, w["operator"], product.id).id


def refusals(session, action):
    write_durable(session)  # what the request boundary does with refusals
    rows = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.action == action, AuditRecord.result == "refused")
        .order_by(AuditRecord.seq)
    )
    return [r.details["code"] for r in rows]


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


# --- the lifecycle ------------------------------------------------------------------------------


def test_a_product_goes_from_draft_through_review_and_notice_to_listed_and_out(session, world):
    w = world
    merchant, operator = w["merchant"], w["operator"]
    product = market.create_product(session, merchant, product_in(w["open"]))
    assert (product.state, product.version, product.provider_org_id) == ("draft", 1, merchant.organisation_id)
    assert product.contract["fields"] == ["uscc", "district", "tax_credit_grade"]
    assert product.scenario_label == "航贸金融" and product.kind_label == "数据接口"
    plan = market.add_plan(session, merchant, product.id, PER_CALL)
    assert plan.ceiling_fen == 200_000 and plan.ceiling_per_label == "每月"

    assert market.submit(session, merchant, product.id).state == "under_review"
    approved = market.review(session, operator, product.id, ReviewIn(action="approve", notice_days=10))
    assert approved.state == "public_notice" and approved.notice_until == beijing_today() + timedelta(days=10)
    with pytest.raises(NoticeNotOver) as early:  # not before the notice is over, not on its last day
        market.list_product(session, operator, product.id)
    assert "公示期至" in early.value.message
    session.get(MarketProduct, product.id).notice_until = beijing_today()
    with pytest.raises(NoticeNotOver):
        market.list_product(session, operator, product.id)
    session.get(MarketProduct, product.id).notice_until = beijing_today() - timedelta(days=1)
    assert market.list_product(session, operator, product.id).state == "listed"
    assert market.get_product(session, SYSTEM, product.id).state == "listed"
    public = market.get_product(session, ANONYMOUS, product.id)
    assert public.events == [] and [p.code for p in public.plans] == ["per-call"]

    assert market.suspend(session, operator, product.id, "数据源暂停更新").state == "suspended"
    with pytest.raises(ProductNotFound):  # a suspended product is not offered to the public
        market.get_product(session, ANONYMOUS, product.id)
    assert market.resume(session, operator, product.id).state == "listed"
    assert market.delist(session, operator, product.id, "提供方申请下架").state == "delisted"
    for step in (
        lambda: market.resume(session, operator, product.id),
        lambda: market.suspend(session, operator, product.id, "x"),
        lambda: market.list_product(session, operator, product.id),
        lambda: market.delist(session, operator, product.id, "再次下架"),
    ):
        with pytest.raises(WrongState):  # delisted is final
            step()
    history = market.get_product(session, merchant, product.id).events
    assert [(e.from_state, e.to_state) for e in history] == [
        (None, "draft"), ("draft", "under_review"), ("under_review", "public_notice"),
        ("public_notice", "listed"), ("listed", "suspended"), ("suspended", "listed"), ("listed", "delisted"),
    ]  # fmt: skip
    assert history[4].reason == "数据源暂停更新"
    write_durable(session)
    actions = session.scalars(
        select(AuditRecord.action).where(AuditRecord.action.like("market.%"), AuditRecord.result == "allowed")
    ).all()
    assert {"market.product_create", "market.plan_add", "market.product_submit", "market.product_review",
            "market.product_list", "market.product_suspend", "market.product_resume",
            "market.product_delist"} <= set(actions)  # fmt: skip


def test_refused_transitions(session, world):
    w = world
    merchant, operator = w["merchant"], w["operator"]
    product = market.create_product(session, merchant, product_in(w["open"]))
    with pytest.raises(InvalidProduct) as no_plan:
        market.submit(session, merchant, product.id)
    assert no_plan.value.details[0]["field"] == "plans"
    with pytest.raises(WrongState):  # only what is under review is reviewed
        market.review(session, operator, product.id, ReviewIn(action="approve"))
    with pytest.raises(WrongState):
        market.list_product(session, operator, product.id)
    with pytest.raises(WrongState):
        market.suspend(session, operator, product.id, "理由")
    market.add_plan(session, merchant, product.id, PER_CALL)
    market.submit(session, merchant, product.id)
    with pytest.raises(WrongState):
        market.submit(session, merchant, product.id)
    with pytest.raises(WrongState):  # under review: nothing changes
        market.update_product(session, merchant, product.id, product_in(w["open"], title="改名"))
    with pytest.raises(WrongState):
        market.add_plan(session, merchant, product.id, PER_CALL.model_copy(update={"code": "other"}))
    with pytest.raises(InvalidProduct) as no_reason:
        market.review(session, operator, product.id, ReviewIn(action="reject", reason="  "))
    assert no_reason.value.details[0]["field"] == "reason"
    for days in (0, 91, 1.5, "7"):
        with pytest.raises(InvalidProduct):
            market.review(session, operator, product.id, ReviewIn(action="approve", notice_days=days))
    assert session.get(MarketProduct, product.id).state == "under_review"

    rejected = market.review(session, operator, product.id, ReviewIn(action="reject", reason="样例含真实企业名称"))
    assert rejected.state == "draft" and rejected.events[-1].reason == "样例含真实企业名称"
    edited = market.update_product(session, merchant, product.id, product_in(w["open"], sample="uscc=…, grade=A"))
    assert edited.version > rejected.version and edited.sample == "uscc=…, grade=A"
    with pytest.raises(InvalidProduct):
        market.update_product(session, merchant, product.id, product_in(w["open"], code="renamed"))
    # every refused review is audited: the draft reviewed, the reason missing, four bad notice periods
    assert refusals(session, "market.product_review") == ["market.wrong_state"] + ["market.invalid_product"] * 5


def test_nobody_reviews_what_they_submitted(session, world):
    operator = world["operator"]
    product = market.create_product(session, operator, product_in(world["open"], code="op-own"))
    market.add_plan(session, operator, product.id, PER_CALL)
    market.submit(session, operator, product.id)
    with pytest.raises(Forbidden) as own:
        market.review(session, operator, product.id, ReviewIn(action="approve"))
    assert own.value.code == "market.own_submission"
    assert market.review(session, world["reviewer"], product.id, ReviewIn(action="approve")).state == "public_notice"


def test_a_listing_replayed_in_the_past_keeps_its_notice_and_never_lands_in_the_future(session, world):
    """In-process callers (the demo city) may date a review and a listing in the past; the notice
    still has to be over on the listing day, and neither may be dated after today."""
    w = world
    product = market.create_product(session, w["merchant"], product_in(w["open"], code="replayed"))
    market.add_plan(session, w["merchant"], product.id, PER_CALL)
    market.submit(session, w["merchant"], product.id)
    tomorrow, month_ago = beijing_today() + timedelta(days=1), beijing_today() - timedelta(days=30)
    with pytest.raises(InvalidProduct):
        market.review(session, w["operator"], product.id, ReviewIn(action="approve"), on=tomorrow)
    approved = market.review(
        session, w["operator"], product.id, ReviewIn(action="approve", notice_days=7), on=month_ago
    )
    assert approved.notice_until == month_ago + timedelta(days=7)
    with pytest.raises(NoticeNotOver):
        market.list_product(session, w["operator"], product.id, on=month_ago + timedelta(days=7))
    with pytest.raises(InvalidProduct):
        market.list_product(session, w["operator"], product.id, on=tomorrow)
    assert market.list_product(session, w["operator"], product.id, on=month_ago + timedelta(days=8)).state == "listed"


# --- who may do what ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["enterprise", "bank", "department", "regulator", "appraiser"])
def test_only_the_operator_and_data_merchants_build_products(session, world, as_actor, role):
    with pytest.raises(Forbidden):
        market.create_product(session, as_actor(role), product_in(world["open"]))
    with pytest.raises(Unauthenticated):
        market.create_product(session, ANONYMOUS, product_in(world["open"]))
    assert count(session, MarketProduct) == 0


@pytest.mark.parametrize("role", ["merchant", "department"])
def test_only_the_operator_reviews_and_lists(session, world, as_actor, role):
    product = market.create_product(session, world["merchant"], product_in(world["open"]))
    market.add_plan(session, world["merchant"], product.id, PER_CALL)
    market.submit(session, world["merchant"], product.id)
    with pytest.raises(Forbidden):
        market.review(session, world[role], product.id, ReviewIn(action="approve"))
    with pytest.raises(Forbidden):
        market.suspend(session, world[role], product.id, "理由")


def test_a_merchant_builds_on_closed_or_governed_data_only_under_a_grant(session, world, settings, tmp_path):
    w = world
    merchant, department = w["merchant"], w["department"]
    closed = tax_table(session, department, open_type="closed")
    with pytest.raises(NotHolder) as refused:
        market.create_product(session, merchant, product_in(closed, code="closed-1"))
    assert "不予开放" in refused.value.message and refused.value.status == 403
    # the operator may build on any entry, but 不予开放 data only as a verification service or a report:
    # no grant ever opens its rows or aggregates, so an api, dataset or sandbox buyer would pay for nothing
    for kind in ("api", "dataset", "sandbox"):
        with pytest.raises(InvalidProduct) as no_rows:
            market.create_product(session, w["operator"], product_in(closed, code=f"closed-{kind}", kind=kind))
        assert no_rows.value.details[0]["field"] == "kind" and "核验服务" in no_rows.value.message
    verify = product_in(closed, code="closed-op", kind="verification",
                        contract=ContractIn(key_field="uscc", predicate="tax_credit_grade = 'A'"))  # fmt: skip
    assert market.create_product(session, w["operator"], verify).state == "draft"

    people = load_people(session, department, settings.home, tmp_path, n=6)
    contract = ContractIn(fields=["district", "amount", "phone"])
    with pytest.raises(NotHolder) as ungranted:
        market.create_product(session, merchant, product_in(people.resource_id, code="people", contract=contract))
    assert "使用授权" in ungranted.value.message
    assert "market.not_holder" in refusals(session, "market.product_create")

    grant(session, merchant, w["operator"], people, ["district", "birth", "amount", "phone"])
    product = market.create_product(session, merchant, product_in(people.resource_id, code="people", contract=contract))
    assert product.contract["masks"] == {"phone": "phone"}  # the grant's mask (and the personal default) applies
    beyond = ContractIn(fields=["district", "name"])
    with pytest.raises(InvalidContract) as outside:  # a field the grant does not cover
        market.create_product(session, merchant, product_in(people.resource_id, code="people-2", contract=beyond))
    assert "授权范围" in outside.value.message
    looser = ContractIn(fields=["phone"], masks={"phone": "first:8"})
    with pytest.raises(InvalidContract) as loose:
        market.create_product(session, merchant, product_in(people.resource_id, code="people-3", contract=looser))
    assert loose.value.details[0]["field"] == "contract.masks.phone"


def test_a_merchant_cannot_touch_another_organisations_product(session, world):
    w = world
    draft = market.create_product(session, w["merchant"], product_in(w["open"], code="draft-one"))
    with pytest.raises(ProductNotFound):  # an unlisted product of another organisation is not seen
        market.update_product(session, w["rival"], draft.id, product_in(w["open"], code="draft-one"))
    with pytest.raises(ProductNotFound):
        market.add_plan(session, w["rival"], draft.id, PER_CALL)
    with pytest.raises(ProductNotFound):
        market.get_product(session, w["rival"], draft.id)
    plan_id = market.add_plan(session, w["merchant"], draft.id, PER_CALL).id
    with pytest.raises(PlanNotFound):
        market.deactivate_plan(session, w["rival"], plan_id)
    product_id = listed(session, w, code="listed-one")
    with pytest.raises(Forbidden) as not_theirs:  # a listed one is seen but not theirs
        market.add_plan(session, w["rival"], product_id, PER_CALL)
    assert not_theirs.value.code == "market.not_provider"
    assert market.get_product(session, w["rival"], product_id).events == []


# --- contracts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "contract", "field", "says"),
    [
        ("api", {"fields": ["uscc", "profit"]}, "contract.fields", "没有这些字段"),
        ("api", {"fields": []}, "contract.fields", "至少包含一个字段"),
        ("api", {"fields": ["uscc"], "masks": {"uscc": "stars"}}, "contract.masks.uscc", "遮盖规则无效"),
        ("api", {"fields": ["uscc"], "masks": {"uscc": "year"}}, "contract.masks.uscc", "不是日期"),
        ("api", {"fields": ["uscc"], "masks": {"name": "all"}}, "contract.masks.name", "不在产品字段中"),
        ("api", {"fields": ["uscc"], "row_filter": "district = "}, "contract.row_filter", "不是合法的表达式"),
        ("api", {"fields": ["uscc"], "row_filter": "lower(district) = 'a'"}, "contract.row_filter", "不允许使用"),
        ("api", {"fields": ["uscc"], "row_filter": "profit > 0"}, "contract.row_filter", "字段不存在"),
        ("api", {"fields": ["uscc"], "daily_call_quota": 0}, "contract.daily_call_quota", "正整数"),
        ("api", {"fields": ["uscc"], "rate_per_minute": 2.5}, "contract.rate_per_minute", "正整数"),
        ("api", {"fields": ["uscc"], "key_field": "uscc"}, "contract.key_field", "只有核验服务"),
        ("verification", {}, "contract.key_field", "须指定买方提交的核验字段"),
        ("verification", {"key_field": "credit_code"}, "contract.key_field", "没有这些字段"),
        ("verification", {"key_field": "uscc", "fields": ["name"]}, "contract.fields", "不返回数据"),
        ("verification", {"key_field": "uscc", "predicate": "grade = 'A'"}, "contract.predicate", "字段不存在"),
    ],
)
def test_a_contract_that_does_not_fit_the_table_is_refused(session, world, kind, contract, field, says):
    plan_kind_ok = product_in(world["open"], kind=kind, contract=ContractIn(**contract))
    with pytest.raises(InvalidContract) as refused:
        market.create_product(session, world["merchant"], plan_kind_ok)
    assert field in [d["field"] for d in refused.value.details] and says in refused.value.message
    assert count(session, MarketProduct) == 0


def test_a_verification_product_answers_a_predicate_and_reveals_no_field(session, world):
    contract = ContractIn(key_field="uscc", predicate="tax_credit_grade = 'A'", daily_call_quota=5000)
    data = product_in(world["open"], code="grade-a-check", kind="verification", contract=contract)
    product = market.create_product(session, world["merchant"], data)
    assert product.contract["fields"] == [] and product.contract["key_field"] == "uscc"
    assert product.contract["predicate"] == "tax_credit_grade = 'A'"
    with pytest.raises(PlanNotAllowed):
        buy = PlanIn(code="buy", title="买断", kind="one_off", price_fen=1)
        market.add_plan(session, world["merchant"], product.id, buy)
    tiered = PlanIn(code="tiers", title="阶梯", kind="tiered", tiers=[
        {"up_to": 1000, "unit_price_fen": 20}, {"up_to": None, "unit_price_fen": 10}])  # fmt: skip
    assert market.add_plan(session, world["merchant"], product.id, tiered).ceiling_fen is None


def test_personal_fields_are_masked_by_default_and_zones_are_respected(session, world):
    contract = ContractIn(fields=["uscc", "legal_phone"])
    product = market.create_product(session, world["merchant"], product_in(world["open"], contract=contract))
    assert product.contract["masks"] == {"legal_phone": "phone"}
    with pytest.raises(InvalidProduct) as no_zone:
        market.create_product(session, world["merchant"], product_in(world["open"], code="z1", zone="nowhere"))
    assert no_zone.value.details[0]["field"] == "zone"
    medical_entry = tax_table(session, world["department"], category="medical")
    entry_code = catalog.get_resource(session, SYSTEM, medical_entry).entry.code
    zones.add_entry(session, world["operator"], "medical", entry_code)
    with pytest.raises(InvalidProduct) as outside:  # a zone's data is sold in that zone
        market.create_product(session, world["merchant"], product_in(medical_entry, code="z2"))
    assert "医疗专区" in outside.value.message
    with pytest.raises(InvalidProduct) as personal:  # where personal data is sandbox-only
        market.create_product(session, world["merchant"], product_in(medical_entry, code="z3", zone="medical",
                                                                      contract=contract))  # fmt: skip
    assert "含个人信息" in personal.value.message
    sandbox = product_in(medical_entry, code="z4", zone="medical", kind="sandbox", contract=contract)
    assert market.create_product(session, world["merchant"], sandbox).zone == "medical"


# --- plans through the service ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "error", "field"),
    [
        ({"kind": "per_call", "unit_price_fen": 0.5}, InvalidPlan, "unit_price_fen"),
        ({"kind": "per_call", "unit_price_fen": -50}, InvalidPlan, "unit_price_fen"),
        ({"kind": "per_call", "unit_price_fen": True}, InvalidPlan, "unit_price_fen"),
        ({"kind": "per_call", "unit_price_fen": Decimal("50")}, InvalidPlan, "unit_price_fen"),
        ({"kind": "per_call", "unit_price_fen": 50, "monthly_cap_fen": 10}, InvalidPlan, "monthly_cap_fen"),
        ({"kind": "one_off", "price_fen": 100}, PlanNotAllowed, "kind"),  # an API is never bought outright
        ({"kind": "free", "public_interest_only": True, "unit_price_fen": 1}, InvalidPlan, "unit_price_fen"),
        ({"kind": "tiered", "tiers": [{"up_to": 10, "unit_price_fen": 5}, {"up_to": 5, "unit_price_fen": 4},
                                      {"up_to": None, "unit_price_fen": 3}]}, InvalidPlan, "tiers[2].up_to"),
    ],
)  # fmt: skip
def test_a_bad_plan_writes_nothing_and_is_audited(session, world, terms, error, field):
    product = market.create_product(session, world["merchant"], product_in(world["open"]))
    before = session.get(MarketProduct, product.id).version
    with pytest.raises(error) as refused:
        market.add_plan(session, world["merchant"], product.id, PlanIn(code="bad", title="有误", **terms))
    assert field in [d["field"] for d in refused.value.details]
    assert count(session, MarketPricePlan) == 0 and session.get(MarketProduct, product.id).version == before
    assert refusals(session, "market.plan_add") == [error.code]


def test_plans_are_edited_in_a_draft_and_withdrawn_while_another_remains(session, world):
    w = world
    product = market.create_product(session, w["merchant"], product_in(w["open"]))
    plan = market.add_plan(session, w["merchant"], product.id, PER_CALL)
    with pytest.raises(CodeTaken):
        market.add_plan(session, w["merchant"], product.id, PER_CALL)
    changed = market.update_plan(session, w["merchant"], plan.id, PER_CALL.model_copy(update={"unit_price_fen": 80}))
    assert changed.unit_price_fen == 80
    with pytest.raises(InvalidPlan):
        market.update_plan(session, w["merchant"], plan.id, PER_CALL.model_copy(update={"code": "renamed"}))
    product_id = listed(session, w, code="two-plans", plans=(PER_CALL, PlanIn(code="monthly", title="月订阅",
                        kind="subscription", price_fen=99_900, term_months=1)))  # fmt: skip
    first, second = market.get_product(session, w["merchant"], product_id).plans
    assert market.deactivate_plan(session, w["merchant"], first.id).active is False
    with pytest.raises(WrongState):  # a listed product keeps one active plan
        market.deactivate_plan(session, w["merchant"], second.id)
    with pytest.raises(WrongState):  # and listed terms are never edited
        market.update_plan(session, w["merchant"], second.id, PER_CALL.model_copy(update={"code": "monthly"}))
    assert [p.code for p in market.get_product(session, ANONYMOUS, product_id).plans] == ["monthly"]


# --- what the public sees -----------------------------------------------------------------------


def test_the_price_list_shows_listed_products_and_active_plans_only(session, world):
    w = world
    free = PlanIn(code="public", title="公益", kind="free", public_interest_only=True)
    shown = listed(session, w, code="shown", plans=(PER_CALL, free))
    retired = market.get_product(session, w["merchant"], shown).plans[1]
    market.deactivate_plan(session, w["merchant"], retired.id)
    market.create_product(session, w["merchant"], product_in(w["open"], code="still-draft"))
    gone = listed(session, w, code="gone")
    market.delist(session, w["operator"], gone, "到期")

    prices = market.price_list(session, ANONYMOUS)
    assert [(p.code, [(x.code, x.ceiling_fen, x.ceiling_per) for x in p.plans]) for p in prices.products] == [
        ("shown", [("per-call", 200_000, "month")])
    ]
    assert prices.products[0].provider.startswith("测试机构")
    assert [p.code for p in market.list_products(session, ANONYMOUS)] == ["shown"]
    assert [p.code for p in market.list_products(session, w["merchant"], mine=True)] == ["shown", "still-draft", "gone"]
    assert {p.code for p in market.list_products(session, w["operator"])} == {"shown", "still-draft", "gone"}
    assert market.list_products(session, ANONYMOUS, scenario="medical") == []
    assert [p.code for p in market.list_products(session, SYSTEM, kind="api", state="listed")] == ["shown"]
    with pytest.raises(ProductNotFound):
        market.get_product(session, ANONYMOUS, gone)


def test_a_product_code_is_unique(session, world):
    market.create_product(session, world["merchant"], product_in(world["open"], code="same"))
    with pytest.raises(CodeTaken):
        market.create_product(session, world["rival"], product_in(world["open"], code="same"))

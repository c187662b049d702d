"""Orders → payment → entitlement through the market's services: a subscription paid by 对公转账 and
confirmed by the finance staff opens the contract's grant on the one read path; paying, confirming
and refunding twice change nothing; refunds never exceed what was paid and a full one ends access;
a verification product answers match / no match under its own grant and nothing else; a bought
grant is never a basis to resell; every refusal is named and audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from pubdata.access import service as access
from pubdata.access.models import AccessGrant
from pubdata.access.schemas import Decision, RequestCreate
from pubdata.access.service import beijing_today
from pubdata.audit.models import AuditRecord
from pubdata.authz import ANONYMOUS
from pubdata.db import write_durable
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.ledger import service as ledger
from pubdata.market import orders, verification
from pubdata.market import service as market
from pubdata.market.errors import (
    InvalidOrder,
    InvalidPayment,
    NotEntitled,
    NotHolder,
    OrderNotFound,
    PaymentConflict,
    ProductNotFound,
    WrongState,
)
from pubdata.market.models import MarketOrder, MarketPayment, MarketProduct
from pubdata.market.order_schemas import OrderIn, PaymentIn
from pubdata.market.schemas import ContractIn, PlanIn, ProductIn, ReviewIn
from pubdata.store import contracts
from pubdata.store.ingest import load as ingest
from pubdata.store.query.rows import RowQuery, read_rows
from pubdata.store.read import RowsForbidden
from tests.builders import make_org
from tests.market.builders import product_in, tax_table

ROWS = [
    ("91370200MA00000011", "海川科技", "市南区", "A", 1200.5, "13800000001"),
    ("91370200MA00000022", "北岸物流", "黄岛区", "B", 800.0, "13800000002"),
    ("91370200MA00000033", "蓝港贸易", "城阳区", "A", 300.0, "13800000003"),
]
ANNUAL = PlanIn(code="annual", title="年度订阅", kind="subscription", price_fen=120_000, term_months=12)
PER_CALL = PlanIn(code="per-call", title="按次", kind="per_call", unit_price_fen=50, free_quota=2,
                  monthly_cap_fen=1_000)  # fmt: skip


def load(session, department, home, tmp_path, open_type="conditional") -> str:
    rid = tax_table(session, department, open_type=open_type)
    path = tmp_path / f"tax-{rid}.csv"
    lines = ["uscc,name,district,tax_credit_grade,revenue,legal_phone"] + [",".join(map(str, r)) for r in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert ingest.ingest(session, department, rid, path, home=home).state == "published"
    return rid


def listed(session, w, data: ProductIn, plans) -> MarketProduct:
    """The operator's product, reviewed by another operator user, its notice over, listed."""
    product = market.create_product(session, w["operator"], data)
    for plan in plans:
        market.add_plan(session, w["operator"], product.id, plan)
    market.submit(session, w["operator"], product.id)
    market.review(session, w["reviewer"], product.id, ReviewIn(action="approve"))
    session.get(MarketProduct, product.id).notice_until = beijing_today() - timedelta(days=1)
    market.list_product(session, w["reviewer"], product.id)
    return session.get(MarketProduct, product.id)


@pytest.fixture
def w(session, as_actor, settings, tmp_path):
    department = as_actor("department")
    operator_org = make_org(session, "operator")
    out = {
        "home": settings.home,
        "department": department,
        "operator": as_actor("operator", operator_org),
        "provider_staff": as_actor("operator", operator_org),  # reviews buyers' declared use
        "reviewer": as_actor("operator"),  # another operator organisation's staff reviews the listing
        "finance": as_actor("finance"),
        "buyer": as_actor("enterprise"),
        "other_buyer": as_actor("bank"),
        "merchant": as_actor("data_merchant"),
    }
    out["rid"] = load(session, department, settings.home, tmp_path)
    return out


def api_product(session, w, **overrides) -> MarketProduct:
    data = product_in(w["rid"], code="tax-api", requires_approval=False,
                      contract=ContractIn(fields=["uscc", "tax_credit_grade", "legal_phone"]), **overrides)  # fmt: skip
    return listed(session, w, data, [ANNUAL])


def verify_product(session, w) -> MarketProduct:
    data = product_in(w["rid"], code="tax-a-verify", kind="verification", title="纳税信用A级核验",
                      contract=ContractIn(key_field="uscc", predicate="tax_credit_grade = 'A'"))  # fmt: skip
    return listed(session, w, data, [PER_CALL])


def voucher(bill, reference="BK202612050001", **overrides) -> PaymentIn:
    data = {"reference": reference, "amount_fen": bill.amount_fen, "payer_name": "海川科技有限公司",
            "payer_account": "3802 0000 0000 1234", "paid_on": beijing_today()}  # fmt: skip
    data.update(overrides)
    return PaymentIn(**data)


def pay(session, w, buyer, bill, reference="BK202612050001"):
    """The buyer pays the bill by transfer, the finance staff confirm it."""
    payment = orders.submit_payment(session, buyer, bill.id, voucher(bill, reference))
    return orders.decide_payment(session, w["finance"], payment.id, True)


def rows_of(session, actor, w):
    return read_rows(session, actor, w["rid"], RowQuery(), home=w["home"]).table.to_pylist()


def refusals(session, action):
    write_durable(session)
    found = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.action == action, AuditRecord.result == "refused")
        .order_by(AuditRecord.seq)
    )
    return [r.details["code"] for r in found]


# --- order → payment → entitlement ---------------------------------------------------------------


def test_a_paid_subscription_opens_the_contract_on_the_read_path_and_posts_a_balanced_ledger(session, w):
    product = api_product(session, w)
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    assert order.state == "awaiting_payment" and order.amount_fen == 120_000 and order.entitlement is None
    assert order.buyer_uscc and order.months == 12
    (bill,) = order.bills
    assert bill.kind == "order" and bill.state == "unpaid" and bill.amount_fen == 120_000 and bill.invoice_no is None
    with pytest.raises(RowsForbidden):  # nothing before the payment is confirmed
        rows_of(session, w["buyer"], w)

    payment = orders.submit_payment(session, w["buyer"], bill.id, voucher(bill))
    assert payment.state == "submitted"
    assert orders.get_order(session, w["buyer"], order.id).entitlement is None  # not before finance confirms
    confirmed = orders.decide_payment(session, w["finance"], payment.id, True)
    assert confirmed.state == "confirmed"

    order = orders.get_order(session, w["buyer"], order.id)
    assert order.state == "active"
    paid = order.bills[0]
    assert paid.state == "paid" and paid.invoice_no and paid.buyer_uscc == order.buyer_uscc
    ent = order.entitlement
    assert ent.state == "active" and ent.starts_on == beijing_today()
    assert ent.ends_on == date(ent.starts_on.year + 1, ent.starts_on.month, ent.starts_on.day) - timedelta(days=1) or (
        ent.starts_on.month == 2 and ent.starts_on.day == 29
    )
    grant = session.get(AccessGrant, ent.grant_id)
    assert grant.origin == "market" and grant.mode == "rows" and grant.consumer_org_id == w["buyer"].organisation_id
    assert grant.fields == ["uscc", "tax_credit_grade", "legal_phone"] and grant.masks == {"legal_phone": "phone"}
    rows = rows_of(session, w["buyer"], w)  # the contract: its fields only, the phone masked
    assert len(rows) == 3 and set(rows[0]) == {"_id", "uscc", "tax_credit_grade", "legal_phone"}
    assert all(r["legal_phone"] not in {x[5] for x in ROWS} for r in rows)
    with pytest.raises(RowsForbidden):  # another organisation bought nothing
        rows_of(session, w["other_buyer"], w)

    # the ledger: the sale and the payment; the market holds the money until settlement
    buyer_org = w["buyer"].organisation_id
    assert ledger.balance(session, w["finance"], f"org:{buyer_org}:receivable") == 0
    assert ledger.balance(session, w["finance"], "market:cash") == 120_000
    assert ledger.balance(session, w["finance"], "market:clearing") == -120_000
    assert ledger.check_balanced(session) == 0 and ledger.unbalanced_entries(session) == []
    assert product.provider_org_id != buyer_org


def test_paying_or_confirming_twice_changes_nothing(session, w):
    api_product(session, w)
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    bill = order.bills[0]
    first = orders.submit_payment(session, w["buyer"], bill.id, voucher(bill))
    again = orders.submit_payment(session, w["buyer"], bill.id, voucher(bill))
    assert again.id == first.id
    assert session.scalar(select(func.count()).select_from(MarketPayment)) == 1
    orders.decide_payment(session, w["finance"], first.id, True)
    entries = session.scalar(select(func.count()).select_from(AccessGrant))
    cash = ledger.balance(session, w["finance"], "market:cash")
    assert orders.decide_payment(session, w["finance"], first.id, True).state == "confirmed"
    assert orders.submit_payment(session, w["buyer"], bill.id, voucher(bill)).id == first.id
    assert session.scalar(select(func.count()).select_from(AccessGrant)) == entries
    assert ledger.balance(session, w["finance"], "market:cash") == cash == 120_000
    # another voucher for a paid bill, or this voucher for another amount, is refused
    with pytest.raises(WrongState):
        orders.submit_payment(session, w["buyer"], bill.id, voucher(bill, reference="BK202612050002"))
    with pytest.raises(PaymentConflict):
        orders.submit_payment(session, w["buyer"], bill.id, voucher(bill, amount_fen=1))
    assert refusals(session, "market.payment_submit") == ["market.wrong_state", "market.payment_conflict"]


def test_bad_payments_are_refused_by_name(session, w):
    api_product(session, w)
    bill = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual")).bills[0]
    cases = [
        (voucher(bill, amount_fen=119_999), InvalidPayment, "amount_fen"),  # not the bill's amount
        (voucher(bill, amount_fen=120_000.0), InvalidPayment, "amount_fen"),  # a float, even whole
        (voucher(bill, amount_fen="120000"), InvalidPayment, "amount_fen"),
        (voucher(bill, reference="流水 1 号"), InvalidPayment, "reference"),
        (voucher(bill, paid_on=beijing_today() + timedelta(days=1)), InvalidPayment, "paid_on"),
        (voucher(bill, provider="alipay"), InvalidPayment, "provider"),
    ]
    for data, error, field in cases:
        with pytest.raises(error) as exc:
            orders.submit_payment(session, w["buyer"], bill.id, data)
        assert exc.value.field == field, data
    with pytest.raises(Forbidden):  # only the buyer pays its bill; another organisation does not see it
        orders.submit_payment(session, w["finance"], bill.id, voucher(bill))
    with pytest.raises(Exception) as exc:
        orders.submit_payment(session, w["other_buyer"], bill.id, voucher(bill))
    assert exc.value.code == "market.bill_not_found"
    with pytest.raises(Forbidden):  # the buyer does not confirm its own payment
        payment = orders.submit_payment(session, w["buyer"], bill.id, voucher(bill))
        orders.decide_payment(session, w["buyer"], payment.id, True)
    with pytest.raises(InvalidPayment):  # sending back needs a reason
        orders.decide_payment(session, w["finance"], payment.id, False)
    assert orders.decide_payment(session, w["finance"], payment.id, False, "流水号与银行回单不符").state == "rejected"
    assert orders.get_order(session, w["buyer"], bill.order_id).state == "awaiting_payment"
    assert ledger.check_balanced(session) == 0


def test_refunds_never_exceed_what_was_paid_and_a_full_refund_ends_access(session, w):
    api_product(session, w)
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    bill = order.bills[0]
    pay(session, w, w["buyer"], bill)
    assert rows_of(session, w["buyer"], w)
    part = orders.refund(session, w["finance"], bill.id, "TK0001", 20_000, "部分字段更新延迟，协商退还")
    assert part.refunded_fen == 20_000
    assert orders.refund(session, w["finance"], bill.id, "TK0001", 20_000, "重复提交").refunded_fen == 20_000
    for amount, error in ((100_001, InvalidPayment), (0, InvalidPayment), (-5, InvalidPayment), (1.5, InvalidPayment)):
        with pytest.raises(error):
            orders.refund(session, w["finance"], bill.id, f"TK-{amount}", amount, "x")
    with pytest.raises(PaymentConflict):  # the same reference for another amount
        orders.refund(session, w["finance"], bill.id, "TK0001", 30_000, "x")
    with pytest.raises(Forbidden):  # the buyer does not refund itself
        orders.refund(session, w["buyer"], bill.id, "TK0002", 100_000, "x")
    assert rows_of(session, w["buyer"], w)  # a partial refund keeps the entitlement
    done = orders.refund(session, w["finance"], bill.id, "TK0002", 100_000, "买方解约")
    assert done.refunded_fen == 120_000
    order = orders.get_order(session, w["buyer"], order.id)
    assert order.state == "cancelled" and order.entitlement.state == "cancelled"
    assert session.get(AccessGrant, order.entitlement.grant_id).state == "revoked"
    with pytest.raises(RowsForbidden):
        rows_of(session, w["buyer"], w)
    buyer_org = w["buyer"].organisation_id
    assert ledger.balance(session, w["finance"], f"org:{buyer_org}:payable") == -120_000  # owed back
    assert ledger.balance(session, w["finance"], "market:clearing") == 0
    assert ledger.check_balanced(session) == 0


def test_cancelling_an_unpaid_order_and_a_pending_voucher(session, w):
    api_product(session, w)
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    bill = order.bills[0]
    orders.submit_payment(session, w["buyer"], bill.id, voucher(bill))
    with pytest.raises(WrongState):  # a voucher is with the finance staff
        orders.cancel_order(session, w["buyer"], order.id)
    second = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    with pytest.raises(Forbidden):  # only the buyer cancels (the provider sees the order, may not cancel it)
        orders.cancel_order(session, w["provider_staff"], second.id)
    cancelled = orders.cancel_order(session, w["buyer"], second.id, "预算调整")
    assert cancelled.state == "cancelled" and cancelled.bills[0].state == "void"
    with pytest.raises(WrongState):
        orders.submit_payment(session, w["buyer"], cancelled.bills[0].id, voucher(cancelled.bills[0], "BK-2222"))


# --- what may be ordered ------------------------------------------------------------------------------


def test_orders_are_refused_by_name(session, w, as_actor):
    api_product(session, w)
    free = PlanIn(code="free", title="公益", kind="free", public_interest_only=True)
    market_free = product_in(w["rid"], code="tax-free", requires_approval=False,
                             contract=ContractIn(fields=["uscc", "tax_credit_grade"]))  # fmt: skip
    listed(session, w, market_free, [free])
    cases = [
        (w["buyer"], OrderIn(product="no-such", plan="annual"), ProductNotFound),
        (w["buyer"], OrderIn(product="tax-api", plan="monthly"), InvalidOrder),
        (w["buyer"], OrderIn(product="tax-api", plan="annual", months=3), InvalidOrder),  # a subscription's term
        (w["buyer"], OrderIn(product="tax-free", plan="free", declared_use="公益研究"), InvalidOrder),
        (w["buyer"], OrderIn(product="tax-free", plan="free", public_interest=True), InvalidOrder),  # no use
        (w["operator"], OrderIn(product="tax-api", plan="annual"), Forbidden),  # operators hold no order right
        (w["provider_staff"], OrderIn(product="tax-api", plan="annual"), Forbidden),
    ]
    for actor, data, error in cases:
        with pytest.raises(error):
            orders.place_order(session, actor, data)
    with pytest.raises(Unauthenticated):
        orders.place_order(session, ANONYMOUS, OrderIn(product="tax-api", plan="annual"))
    assert session.scalar(select(func.count()).select_from(MarketOrder)) == 0
    # a free plan: the provider reviews the declared public-interest use first
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-free", plan="free", public_interest=True,
                                                           declared_use="高校纳税信用研究（非商业）"))  # fmt: skip
    assert order.state == "pending_approval"
    with pytest.raises(Forbidden):  # not the provider
        orders.review_order(session, w["reviewer"], order.id, True)
    with pytest.raises(InvalidOrder):  # a rejection needs a reason
        orders.review_order(session, w["provider_staff"], order.id, False)
    approved = orders.review_order(session, w["provider_staff"], order.id, True, "用途属实")
    assert approved.state == "active" and approved.entitlement is not None and approved.bills == []
    with pytest.raises(WrongState):
        orders.review_order(session, w["provider_staff"], order.id, True)
    # who sees an order: the buyer, the provider, oversight; not another organisation
    assert orders.get_order(session, w["provider_staff"], order.id).id == order.id
    assert orders.get_order(session, w["finance"], order.id).id == order.id
    with pytest.raises(OrderNotFound):
        orders.get_order(session, w["other_buyer"], order.id)
    assert [o.id for o in orders.list_orders(session, w["other_buyer"], "mine")] == []
    assert order.id in [o.id for o in orders.list_orders(session, w["provider_staff"], "provider")]


def test_a_merchants_product_is_sold_only_while_its_grant_lasts_and_a_bought_grant_is_never_a_basis(
    session, w, as_actor
):
    # the merchant holds a reviewed grant on the table and builds a product under it
    start = beijing_today()
    req = contracts.request_access(session, w["merchant"], w["rid"], RequestCreate(
        scenario="供应链金融", purpose="为银行客户加工纳税信用评估产品", fields=["uscc", "tax_credit_grade"],
        period_start=start, period_end=start + timedelta(days=60)))  # fmt: skip
    contracts.review_access(session, w["department"], req.id, Decision(action="approve"))
    granted = contracts.review_access(session, w["operator"], req.id, Decision(action="approve"))
    data = product_in(w["rid"], code="merchant-tax", requires_approval=False,
                      contract=ContractIn(fields=["uscc", "tax_credit_grade"]))  # fmt: skip
    product = market.create_product(session, w["merchant"], data)
    assert session.get(MarketProduct, product.id).basis == "grant"
    market.add_plan(session, w["merchant"], product.id, ANNUAL)
    market.submit(session, w["merchant"], product.id)
    market.review(session, w["reviewer"], product.id, ReviewIn(action="approve"))
    session.get(MarketProduct, product.id).notice_until = beijing_today() - timedelta(days=1)
    market.list_product(session, w["reviewer"], product.id)
    order = orders.place_order(session, w["buyer"], OrderIn(product="merchant-tax", plan="annual"))
    bill = order.bills[0]
    payment = orders.submit_payment(session, w["buyer"], bill.id, voucher(bill, "BK-M-1"))
    orders.decide_payment(session, w["finance"], payment.id, True)
    ent = orders.get_order(session, w["buyer"], order.id).entitlement
    assert ent.ends_on == start + timedelta(days=60)  # never beyond the merchant's own grant

    # a merchant that bought the product cannot resell it: a market grant is no basis
    reseller = as_actor("data_merchant")
    bought = orders.place_order(session, reseller, OrderIn(product="merchant-tax", plan="annual")).bills[0]
    orders.decide_payment(session, w["finance"], orders.submit_payment(session, reseller, bought.id,
                                                                       voucher(bought, "BK-R-1")).id, True)  # fmt: skip
    assert rows_of(session, reseller, w)  # it reads what it bought
    with pytest.raises(NotHolder):
        market.create_product(session, reseller, product_in(w["rid"], code="resold",
                                                            contract=ContractIn(fields=["uscc"])))  # fmt: skip

    # the merchant's grant revoked: no new orders
    access.revoke_grant(session, w["operator"], granted.grant.id, "违规转授")
    with pytest.raises(WrongState) as exc:
        orders.place_order(session, w["other_buyer"], OrderIn(product="merchant-tax", plan="annual"))
    assert exc.value.code == "market.basis_ended"


# --- verification --------------------------------------------------------------------------------------


def test_a_verification_product_answers_match_or_no_match_under_its_own_grant_only(session, w):
    verify_product(session, w)
    with pytest.raises(NotEntitled):
        verification.verify(session, w["buyer"], "tax-a-verify", ROWS[0][0], home=w["home"])
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-a-verify", plan="per-call",
                                                           declared_use="核验借款企业纳税信用"))  # fmt: skip
    assert order.state == "pending_approval"  # the listing requires approval
    order = orders.review_order(session, w["provider_staff"], order.id, True)
    grant = session.get(AccessGrant, order.entitlement.grant_id)
    assert grant.mode == "verify" and grant.fields == ["uscc"] and "tax_credit_grade = 'A'" in grant.row_filter
    answers = [verification.verify(session, w["buyer"], "tax-a-verify", r[0], home=w["home"]).match for r in ROWS]
    assert answers == [True, False, True]  # grades A, B, A
    assert verification.verify(session, w["buyer"], "tax-a-verify", "91370200MA99999999", home=w["home"]).match is False
    with pytest.raises(RowsForbidden):  # a verify grant never yields rows, nor aggregates
        rows_of(session, w["buyer"], w)
    with pytest.raises(NotEntitled):
        verification.verify(session, w["other_buyer"], "tax-a-verify", ROWS[0][0], home=w["home"])
    with pytest.raises(InvalidOrder):
        verification.verify(session, w["buyer"], "tax-a-verify", "", home=w["home"])
    # suspended, the product keeps answering its entitled buyer (its term was paid for), nobody else
    market.suspend(session, w["reviewer"], order.product_id, "核查数据质量")
    assert verification.verify(session, w["buyer"], "tax-a-verify", ROWS[2][0], home=w["home"]).match is True
    with pytest.raises(ProductNotFound):
        verification.verify(session, w["other_buyer"], "tax-a-verify", ROWS[0][0], home=w["home"])
    write_durable(session)
    audited = session.scalars(select(AuditRecord).where(AuditRecord.action == "market.verify",
                                                        AuditRecord.result == "allowed")).all()  # fmt: skip
    assert len(audited) == 5 and {r.grant_id for r in audited} == {grant.id}
    assert all(ROWS[0][0] not in str(r.details or "") for r in audited)  # the value asked is not kept
    assert refusals(session, "market.verify") == [
        "market.not_entitled", "market.not_entitled", "market.invalid_order", "market.product_not_found",
    ]  # fmt: skip


def test_an_entitlement_ends_with_its_term(session, w):
    api_product(session, w)
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    bill = order.bills[0]
    pay(session, w, w["buyer"], bill)
    ends_on = orders.get_order(session, w["buyer"], order.id).entitlement.ends_on
    with time_machine.travel(ends_on + timedelta(days=2), tick=False):
        with pytest.raises(RowsForbidden):
            rows_of(session, w["buyer"], w)
        assert orders.end_expired(session, w["finance"]) == 1
        assert orders.get_order(session, w["buyer"], order.id).state == "ended"
        assert orders.end_expired(session, w["finance"]) == 0

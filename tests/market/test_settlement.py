"""The monthly settlement through its service: usage metered from the audit trail and billed with
Snowflake-style charge types (free quota, variable, cap reached); every unsettled bill split by the
product's rule (the city's default, or a 累进 rule paying a trust) into a balanced ledger, the trust's
share paid on to its beneficiaries; a month settled once and never before it is over."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from pubdata.access.service import beijing_today
from pubdata.assets.trusts import service as trusts
from pubdata.db import write_durable
from pubdata.ledger import service as ledger
from pubdata.market import orders, settlement, verification
from pubdata.market import service as market
from pubdata.market.errors import AlreadySettled, InvalidProduct, InvalidSettlement, WrongState
from pubdata.market.models import MarketBill, MarketProduct
from pubdata.market.order_schemas import OrderIn
from pubdata.market.schemas import ContractIn, PlanIn, ReviewIn
from tests.assets.registry.test_registry import world  # noqa: F401
from tests.assets.trusts.test_trusts import active, tw  # noqa: F401
from tests.market.builders import product_in
from tests.market.test_orders import (
    ROWS,
    api_product,
    pay,
    verify_product,
    w,  # noqa: F401 (the fixture)
)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 2)


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def test_a_month_is_metered_billed_split_and_posted_once(session, w):  # noqa: F811
    api_product(session, w)
    verify_product(session, w)
    sub = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    pay(session, w, w["buyer"], sub.bills[0])
    per_call = orders.place_order(session, w["buyer"], OrderIn(product="tax-a-verify", plan="per-call",
                                                               declared_use="贷前核验"))  # fmt: skip
    orders.review_order(session, w["provider_staff"], per_call.id, True)
    capped = orders.place_order(session, w["other_buyer"], OrderIn(product="tax-a-verify", plan="per-call",
                                                                   declared_use="授信核验"))  # fmt: skip
    orders.review_order(session, w["provider_staff"], capped.id, True)
    for _ in range(5):
        verification.verify(session, w["buyer"], "tax-a-verify", ROWS[0][0], home=w["home"])
    for _ in range(30):
        verification.verify(session, w["other_buyer"], "tax-a-verify", ROWS[1][0], home=w["home"])
    write_durable(session)  # what each request's end does: the reads' audit records are written
    month = month_of(beijing_today())
    with pytest.raises(InvalidSettlement):  # the month is not over
        settlement.settle_month(session, w["finance"], month)

    with time_machine.travel(next_month(beijing_today()), tick=False):
        with pytest.raises(InvalidSettlement):
            settlement.settle_month(session, w["finance"], "2026-13")
        with pytest.raises(Exception) as exc:  # the operator runs no settlement: the finance staff do
            settlement.settle_month(session, w["operator"], month)
        assert exc.value.status == 403
        run = settlement.settle_month(session, w["finance"], month)
        assert run.usage_bills == 2
        usage = {b.buyer_org_id: b for b in session.scalars(select(MarketBill).where(MarketBill.kind == "usage"))}
        mine = usage[w["buyer"].organisation_id]
        assert (mine.calls, mine.amount_fen, mine.state) == (5, 150, "unpaid")
        assert [(ln["charge_type"], ln["quantity"], ln["amount_fen"]) for ln in mine.lines] == [
            ("free_quota", 2, 0), ("variable", 3, 150),
        ]  # fmt: skip
        theirs = usage[w["other_buyer"].organisation_id]
        assert theirs.calls == 30 and theirs.amount_fen == 1_000  # the monthly cap
        assert [ln["charge_type"] for ln in theirs.lines] == ["free_quota", "variable", "cap_reached"]
        assert theirs.lines[-1]["amount_fen"] == 1_000 - 28 * 50

        # the city's default rule (no threshold reached): department 3/10, operator 1/5, provider 1/2,
        # the provider here being the operator: its share goes to the market's revenue too
        assert run.gross_fen == 120_000 + 150 + 1_000
        department = w["department"].organisation_id
        by_party: dict[str, int] = {}
        for share in run.shares:
            by_party[share.party] = by_party.get(share.party, 0) + share.amount_fen
        assert by_party == {"department": 36_000 + 45 + 300, "operator": 24_000 + 30 + 200,
                            "provider": 60_000 + 75 + 500}  # fmt: skip
        assert ledger.balance(session, w["finance"], f"org:{department}:payable") == -(36_000 + 45 + 300)
        assert ledger.balance(session, w["finance"], "market:revenue") == -(84_000 + 105 + 700)
        assert ledger.balance(session, w["finance"], "market:clearing") == 0
        assert ledger.check_balanced(session) == 0 and ledger.unbalanced_entries(session) == []

        with pytest.raises(AlreadySettled):
            settlement.settle_month(session, w["finance"], month)
        with pytest.raises(WrongState):  # settled money is not refunded
            orders.refund(session, w["finance"], sub.bills[0].id, "TK-S-1", 1_000, "x")
        # the buyer pays its usage bill like any other; the month's bills are all settled
        pay(session, w, w["buyer"], orders.get_bill(session, w["buyer"], mine.id), "BK-USAGE-1")
        assert orders.get_bill(session, w["buyer"], mine.id).state == "paid"
        assert all(b.settled for b in orders.list_bills(session, w["finance"]))
        assert ledger.balance(session, w["finance"], f"org:{w['buyer'].organisation_id}:receivable") == 0
        assert settlement.get_run(session, w["finance"], month).gross_fen == run.gross_fen


def test_a_progressive_rule_pays_a_trust_and_its_beneficiaries(session, tw, as_actor):  # noqa: F811
    w = tw  # noqa: F811
    trust = active(session, w)
    rule = {
        "threshold_fen": 10_000,
        "below": {"department": "1/2", "provider": "1/4", "trust:qd-trust-1": "1/4"},
        "above": {"department": "3/5", "operator": "1/10", "provider": "1/10", "trust:qd-trust-1": "1/5"},
        "remainder_to": "provider",
    }
    for bad in ({**rule, "remainder_to": "nobody"}, {**rule, "below": {"department": 0.5, "provider": "1/2"}},
                {**rule, "below": {"department": "1/2"}}, {**rule, "below": {"trust:no-such": "1"}}):  # fmt: skip
        with pytest.raises(InvalidProduct) as exc:
            market.create_product(session, w["merchant"], product_in(
                w["rid"], code="bad-rule", distribution=bad, contract=ContractIn(fields=["name"])))  # fmt: skip
        assert exc.value.field == "distribution", bad
    data = product_in(w["rid"], code="district-api", requires_approval=False, distribution=rule,
                      contract=ContractIn(fields=["name"]))  # fmt: skip
    product = market.create_product(session, w["merchant"], data)
    market.add_plan(session, w["merchant"], product.id, PlanIn(code="annual", title="年度", kind="subscription",
                                                               price_fen=100_001, term_months=12))  # fmt: skip
    market.submit(session, w["merchant"], product.id)
    market.review(session, w["operator"], product.id, ReviewIn(action="approve"))
    session.get(MarketProduct, product.id).notice_until = beijing_today() - timedelta(days=1)
    market.list_product(session, w["operator"], product.id)
    buyer = as_actor("enterprise")
    order = orders.place_order(session, buyer, OrderIn(product="district-api", plan="annual"))
    finance = as_actor("finance")
    payment = orders.submit_payment(session, buyer, order.bills[0].id, _voucher(order.bills[0]))
    orders.decide_payment(session, finance, payment.id, True)

    with time_machine.travel(next_month(beijing_today()), tick=False):
        run = settlement.settle_month(session, finance, month_of(beijing_today() - timedelta(days=5)))
    # below 10 000: 5 000 / 2 500 / 2 500; above 90 001: 54 000.6 / 9 000.1 / 9 000.1 / 18 000.2;
    # floored once per party, the 1 fen left to the provider
    parts = {s.party: s.amount_fen for s in run.shares}
    assert parts == {"department": 59_000, "operator": 9_000, "provider": 11_501, "trust:qd-trust-1": 20_500}
    assert sum(parts.values()) == 100_001
    # the trust's share went straight on: 1.5% to the trustee, the rest in thirds
    (dist,) = trusts.list_distributions(session, w["operator"], trust.id)
    assert dist.gross_fen == 20_500 and dist.fee_fen == 307
    assert sorted(p.amount_fen for p in dist.parts) == [6_731, 6_731, 6_731]
    assert ledger.balance(session, w["operator"], trusts.clearing_code(trust.id)) == 0
    assert ledger.balance(session, w["operator"], f"org:{w['merchant_org'].id}:payable") == -11_501
    assert ledger.check_balanced(session) == 0 and ledger.unbalanced_entries(session) == []


def _voucher(bill):
    from pubdata.market.order_schemas import PaymentIn

    return PaymentIn(reference="BK-TRUST-0001", amount_fen=bill.amount_fen, payer_name="买方", paid_on=beijing_today())


def test_settled_bills_are_the_appraisers_comparables(session, w):  # noqa: F811
    from pubdata.market import transactions

    api_product(session, w)
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    pay(session, w, w["buyer"], order.bills[0])
    assert transactions.settled_transactions(session) == []  # paid, not yet settled
    assert transactions.get_transaction(session, order.bills[0].code) is None
    with time_machine.travel(next_month(beijing_today()), tick=False):
        settlement.settle_month(session, w["finance"], month_of(beijing_today() - timedelta(days=5)))
        (found,) = transactions.settled_transactions(session, scenario="shipping_trade_finance")
    assert found.reference == order.bills[0].code and found.amount_fen == 120_000 and found.quantity == 1
    assert found.product_code == "tax-api" and transactions.get_transaction(session, found.reference) == found
    assert "buyer" not in found.__dataclass_fields__  # the price a product fetched, not who paid it

"""Any sequence of orders, vouchers, confirmations, rejections, refunds, cancellations and
verification calls, then the month's settlement, through the real services on the real database:
the ledger balances, every sale is settled or refunded (the clearing account is empty), the market's
cash is exactly what the finance staff confirmed, and no bill is refunded beyond what was paid."""

from __future__ import annotations

import contextlib
import itertools
from datetime import timedelta

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pubdata.access.service import beijing_today
from pubdata.db import write_durable
from pubdata.errors import PubdataError
from pubdata.ledger import service as ledger
from pubdata.ledger.errors import AccountNotFound
from pubdata.market import orders, settlement, verification
from pubdata.market.models import MarketBill, MarketPayment
from pubdata.market.order_schemas import OrderIn, PaymentIn
from tests.market.test_orders import ROWS, api_product, verify_product, w  # noqa: F401

OPS = ("order_api", "order_verify", "pay", "confirm", "reject", "refund", "cancel", "verify")
STEP = st.tuples(st.sampled_from(OPS), st.integers(0, 1), st.integers(0, 5), st.integers(1, 130_000))


def test_any_sequence_leaves_a_balanced_ledger_and_an_empty_clearing_account(session, w):  # noqa: F811
    api_product(session, w)
    verify_product(session, w)
    buyers = [w["buyer"], w["other_buyer"]]
    vouchers = itertools.count(1)
    examples = itertools.count()
    base = beijing_today().replace(day=1) + timedelta(days=40)

    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(STEP, max_size=14))
    def run(steps):  # type: ignore[no-untyped-def]
        day = (base + timedelta(days=62 * next(examples))).replace(day=10)
        with time_machine.travel(day, tick=False):
            for op, who, pick, amount in steps:
                buyer = buyers[who]
                with contextlib.suppress(PubdataError):  # a refusal (wrong state, too much …) changes nothing
                    apply(session, w, op, buyer, pick, amount, vouchers)
                write_durable(session)
        with time_machine.travel(day + timedelta(days=31), tick=False):
            settlement.settle_month(session, w["finance"], f"{day:%Y-%m}")
            check(session, w)

    run()
    ran = next(examples)
    assert ran >= 10 and len(settlement.list_runs(session, w["finance"])) == ran  # a settlement per example
    assert session.scalar(select(func.count()).select_from(MarketBill)) > 0


def apply(session, world, op, buyer, pick, amount, vouchers) -> None:  # type: ignore[no-untyped-def]
    mine = orders.list_orders(session, buyer, "mine")
    bills = [b for o in mine for b in o.bills]
    if op == "order_api":
        orders.place_order(session, buyer, OrderIn(product="tax-api", plan="annual"))
    elif op == "order_verify":
        order = orders.place_order(session, buyer, OrderIn(product="tax-a-verify", plan="per-call",
                                                           declared_use="授信前核验"))  # fmt: skip
        orders.review_order(session, world["provider_staff"], order.id, True)
    elif op == "pay" and bills:
        bill = bills[pick % len(bills)]
        orders.submit_payment(session, buyer, bill.id, PaymentIn(
            reference=f"BK-P-{next(vouchers):06d}", amount_fen=bill.amount_fen, payer_name="买方",
            paid_on=beijing_today()))  # fmt: skip
    elif op in ("confirm", "reject"):
        waiting = orders.list_payments(session, world["finance"], "submitted")
        if waiting:
            payment = waiting[pick % len(waiting)].id
            orders.decide_payment(session, world["finance"], payment, op == "confirm", "核对不符")
    elif op == "refund" and bills:
        bill = bills[pick % len(bills)]
        orders.refund(session, world["finance"], bill.id, f"TK-P-{next(vouchers):06d}", amount, "协商退款")
    elif op == "cancel" and mine:
        orders.cancel_order(session, buyer, mine[pick % len(mine)].id, "不再需要")
    elif op == "verify":
        verification.verify(session, buyer, "tax-a-verify", ROWS[pick % len(ROWS)][0], home=world["home"])


def balance(session, finance, code: str) -> int:  # type: ignore[no-untyped-def]
    try:
        return ledger.balance(session, finance, code)
    except AccountNotFound:  # nothing posted to it yet
        return 0


def check(session, world) -> None:  # type: ignore[no-untyped-def]
    finance = world["finance"]
    assert ledger.check_balanced(session) == 0 and ledger.unbalanced_entries(session) == []
    assert balance(session, finance, "market:clearing") == 0  # every sale settled or refunded
    confirmed = session.scalar(
        select(func.coalesce(func.sum(MarketPayment.amount_fen), 0)).where(MarketPayment.state == "confirmed")
    )
    assert balance(session, finance, "market:cash") == confirmed
    for bill in session.scalars(select(MarketBill)):
        assert 0 <= bill.refunded_fen <= bill.amount_fen
        paid = session.scalar(select(func.count()).select_from(MarketPayment).where(
            MarketPayment.bill_id == bill.id, MarketPayment.state == "confirmed"))  # fmt: skip
        assert paid == (1 if bill.state == "paid" and bill.amount_fen > 0 else 0)

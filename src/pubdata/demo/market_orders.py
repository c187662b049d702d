"""The demo city's orders and a settled month, through the same services the portal calls: the
demo enterprise bought the bus-routes API last month (its 对公转账 voucher dated the 15th, confirmed
by the operator's finance staff) and has a report order whose voucher waits for confirmation; the
demo bank's order of the tax-grade verification was approved by the operator and is in use; last
month is settled, so the finance pages, statements and charts have something to show. Idempotent:
a buyer that already has orders is left as it is; a month already settled is not settled again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.authz import Actor
from pubdata.market import orders, settlement
from pubdata.market import service as market
from pubdata.market.order_schemas import OrderIn, PaymentIn


@dataclass(frozen=True)
class DemoOrder:
    buyer: str  # a demo username
    product: str
    plan: str
    declared_use: str = ""
    paid: str | None = None  # "confirmed" | "submitted" | None (not paid: a metered plan)
    voucher: str = ""


ORDERS: tuple[DemoOrder, ...] = (
    DemoOrder("enterprise", "bus-routes-api", "annual", paid="confirmed", voucher="BK2026DEMO0001"),
    DemoOrder("bank", "tax-grade-a-verify", "per-call", declared_use="贷前核验借款企业的纳税信用等级（普惠金融授信）"),
    DemoOrder("enterprise", "scenic-report", "one-off", paid="submitted", voucher="BK2026DEMO0002"),
)


def last_month(today: date) -> tuple[str, date]:
    """The month before ``today``'s, and its 15th (the day the demo's first voucher is dated)."""
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}", first.replace(day=15)


def apply(session: Session, actors: dict[str, Actor]) -> dict[str, int]:
    """``actors``: the buyers by username, ``operator`` (the provider's staff) and ``finance``.
    Products not listed yet (their tables not loaded) are skipped. Counts of what exists."""
    month, voucher_day = last_month(beijing_today())
    finance, operator = actors["finance"], actors["operator"]
    listed = {p.code for p in market.list_products(session, operator, state="listed")}
    for spec in ORDERS:
        buyer = actors[spec.buyer]
        if spec.product not in listed or any(
            o.product_code == spec.product for o in orders.list_orders(session, buyer)
        ):
            continue
        data = OrderIn(product=spec.product, plan=spec.plan, declared_use=spec.declared_use)
        order = orders.place_order(session, buyer, data)
        if order.state == "pending_approval":
            orders.review_order(session, operator, order.id, True, "用途属实，同意开通")
        if spec.paid:
            bill = order.bills[0]
            payment = orders.submit_payment(session, buyer, bill.id, PaymentIn(
                reference=spec.voucher, amount_fen=bill.amount_fen, payer_name=order.buyer_name,
                payer_account="3802 0200 0912 3456", paid_on=voucher_day))  # fmt: skip
            if spec.paid == "confirmed":
                orders.decide_payment(session, finance, payment.id, True, "已核对银行回单")
    settled = {run.month for run in settlement.list_runs(session, finance)}
    if month not in settled:
        settlement.settle_month(session, finance, month)
        settled.add(month)
    session.flush()
    return {"orders": len(orders.list_orders(session, finance, "all")), "settled_months": len(settled)}

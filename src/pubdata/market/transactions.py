"""The platform's settled transactions: the comparables an appraisal's market method takes its prices
from (CAS 2023: P_i = Q_i × X1…X5, Q_i a comparable transaction's price).

A settled transaction is a bill (an order's price, or a month's usage) that a monthly settlement has
distributed, net of refunds, above zero; its reference is the bill's code. What it shows is the
product and the amount, never the buyer: an appraiser learns the price a product fetched, not who
paid it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.access.usage import BEIJING
from pubdata.market.models import MarketBill, MarketProduct, MarketSettlementRun

MAX_TRANSACTIONS = 1000


@dataclass(frozen=True)
class SettledTransaction:
    reference: str  # the bill's code
    product_id: int
    product_code: str
    product_title: str
    product_kind: str
    scenario: str
    amount_fen: int  # net of refunds
    quantity: int  # calls for a month's usage; 1 for an order
    settled_on: date  # the Beijing day its settlement ran


def _query():  # type: ignore[no-untyped-def]
    return (
        select(MarketBill, MarketProduct, MarketSettlementRun.run_at)
        .join(MarketProduct, MarketProduct.id == MarketBill.product_id)
        .join(MarketSettlementRun, MarketSettlementRun.id == MarketBill.settlement_run_id)
        .where(MarketBill.amount_fen - MarketBill.refunded_fen > 0)
    )


def _of(bill: MarketBill, product: MarketProduct, run_at) -> SettledTransaction:  # type: ignore[no-untyped-def]
    return SettledTransaction(
        reference=bill.code, product_id=product.id, product_code=product.code, product_title=product.title,
        product_kind=product.kind, scenario=product.scenario, amount_fen=bill.amount_fen - bill.refunded_fen,
        quantity=bill.calls if bill.kind == "usage" else 1, settled_on=run_at.astimezone(BEIJING).date(),
    )  # fmt: skip


def settled_transactions(
    session: Session,
    *,
    product_ids: Collection[int] | None = None,
    scenario: str | None = None,
    since: date | None = None,
) -> list[SettledTransaction]:
    """Settled transactions, newest first (at most ``MAX_TRANSACTIONS``), optionally of some
    products, of a scenario, or settled since a day."""
    stmt = _query()
    if product_ids is not None:
        stmt = stmt.where(MarketBill.product_id.in_(list(product_ids)))
    if scenario is not None:
        stmt = stmt.where(MarketProduct.scenario == scenario)
    rows = session.execute(stmt.order_by(MarketBill.id.desc()).limit(MAX_TRANSACTIONS)).all()
    out = [_of(bill, product, run_at) for bill, product, run_at in rows]
    return [t for t in out if since is None or t.settled_on >= since]


def get_transaction(session: Session, reference: str) -> SettledTransaction | None:
    """The settled transaction with this reference (a bill's code), if there is one."""
    row = session.execute(_query().where(MarketBill.code == reference)).first()
    return _of(*row) if row is not None else None

"""Native REST API of the data market's orders and money (docs/settlement.md): orders and their
review, bills and 对公转账 payments confirmed by the operator's finance staff, refunds, the monthly
settlement, verification answers, and the ledger's statements. The services decide who may do what;
writes need the token scope ``market``; a verification answer is a read (scope ``read``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.ledger import service as ledger
from pubdata.ledger.schemas import Statement, TrialBalance
from pubdata.market import orders, settlement, verification
from pubdata.market.order_schemas import (
    BillRead,
    OrderIn,
    OrderRead,
    OrderReviewIn,
    PaymentDecisionIn,
    PaymentIn,
    PaymentRead,
    ReasonIn,
    RefundIn,
    SettleIn,
    SettlementRead,
)
from pubdata.market.verification import VerifyAnswer

router = APIRouter(tags=["market"], responses=ERROR_RESPONSES)
Month = Annotated[str, Path(pattern=r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
ProductKey = Annotated[str, Path(min_length=1, max_length=64, description="Product code or id")]


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=200, description="The value to check (e.g. a credit code)")


@router.post("/market/orders", response_model=OrderRead, status_code=201, summary="Order a plan of a product")
def place_order(body: OrderIn, session: DB, actor: ActorDep) -> OrderRead:
    """The caller's organisation orders a plan of a listed product: ``pending_approval`` (the
    provider reviews the declared use), ``awaiting_payment`` (a one-off or subscription price, with
    its bill) or ``active`` (a metered plan: its entitlement and access grant now)."""
    return orders.place_order(session, actor, body)


@router.get("/market/orders", response_model=list[OrderRead], summary="Orders")
def list_orders(
    session: DB,
    actor: ActorDep,
    box: Literal["mine", "provider", "review", "all"] = Query(default="mine"),
    state: Literal["pending_approval", "awaiting_payment", "active", "ended", "rejected", "cancelled"] | None = None,
) -> list[OrderRead]:
    """``mine`` (as buyer), ``provider`` (orders of the organisation's products), ``review`` (waiting
    for its review of the declared use), ``all`` (oversight)."""
    return orders.list_orders(session, actor, box, state=state)


@router.get("/market/orders/{order_id}", response_model=OrderRead, summary="One order")
def get_order(order_id: DbId, session: DB, actor: ActorDep) -> OrderRead:
    """With its entitlement (usage against quota) and bills; for the buyer, the provider and oversight."""
    return orders.get_order(session, actor, order_id)


@router.post("/market/orders/{order_id}/review", response_model=OrderRead, summary="Review a declared use (provider)")
def review_order(order_id: DbId, body: OrderReviewIn, session: DB, actor: ActorDep) -> OrderRead:
    return orders.review_order(session, actor, order_id, body.approve, body.reason)


@router.post("/market/orders/{order_id}/cancel", response_model=OrderRead, summary="Cancel an order (buyer)")
def cancel_order(order_id: DbId, body: ReasonIn, session: DB, actor: ActorDep) -> OrderRead:
    """Before it is active; its unpaid bill is voided (409 while a voucher waits for confirmation)."""
    return orders.cancel_order(session, actor, order_id, body.reason)


@router.get("/market/bills", response_model=list[BillRead], summary="Bills (and invoices)")
def list_bills(session: DB, actor: ActorDep, unpaid: bool = False) -> list[BillRead]:
    """The caller's organisation's bills (every bill for oversight); a paid bill carries its invoice
    number and the buyer's credit code."""
    return orders.list_bills(session, actor, unpaid_only=unpaid)


@router.get("/market/bills/{bill_id}", response_model=BillRead, summary="One bill")
def get_bill(bill_id: DbId, session: DB, actor: ActorDep) -> BillRead:
    return orders.get_bill(session, actor, bill_id)


@router.post(
    "/market/bills/{bill_id}/payments", response_model=PaymentRead, status_code=201, summary="Pay a bill (voucher)"
)
def submit_payment(bill_id: DbId, body: PaymentIn, session: DB, actor: ActorDep) -> PaymentRead:
    """A 对公转账 voucher for the whole bill; the same voucher again returns the first submission."""
    return orders.submit_payment(session, actor, bill_id, body)


@router.get("/market/payments", response_model=list[PaymentRead], summary="Payments (finance staff)")
def list_payments(
    session: DB,
    actor: ActorDep,
    state: Literal["submitted", "confirmed", "rejected"] | None = Query(default="submitted"),
) -> list[PaymentRead]:
    return orders.list_payments(session, actor, state)


@router.post("/market/payments/{payment_id}/decision", response_model=PaymentRead, summary="Confirm or send back")
def decide_payment(payment_id: DbId, body: PaymentDecisionIn, session: DB, actor: ActorDep) -> PaymentRead:
    """The finance staff confirm (the bill is paid, invoiced, posted; an order's access starts) or
    send back with a reason. The same decision twice changes nothing."""
    return orders.decide_payment(session, actor, payment_id, body.confirm, body.reason)


@router.post("/market/bills/{bill_id}/refunds", response_model=BillRead, summary="Refund (finance staff)")
def refund(bill_id: DbId, body: RefundIn, session: DB, actor: ActorDep) -> BillRead:
    """At most what was paid and not yet settled; idempotent by ``reference``; a full refund ends access."""
    return orders.refund(session, actor, bill_id, body.reference, body.amount_fen, body.reason)


@router.post("/market/settlements", response_model=SettlementRead, status_code=201, summary="Settle a month")
def settle(body: SettleIn, session: DB, actor: ActorDep) -> SettlementRead:
    """Meter, bill and distribute a month that is over (409 ``market.already_settled`` the second time)."""
    return settlement.settle_month(session, actor, body.month)


@router.get("/market/settlements", response_model=list[SettlementRead], summary="Settlement runs")
def list_settlements(session: DB, actor: ActorDep) -> list[SettlementRead]:
    return settlement.list_runs(session, actor)


@router.get("/market/settlements/{month}", response_model=SettlementRead, summary="One month's settlement")
def get_settlement(month: Month, session: DB, actor: ActorDep) -> SettlementRead:
    return settlement.get_run(session, actor, month)


@router.post("/market/products/{product}/verify", response_model=VerifyAnswer, summary="Ask a verification product")
def verify(product: ProductKey, body: VerifyIn, session: DB, actor: ActorDep, home: Home) -> VerifyAnswer:
    """Match or no match for ``value`` under the caller's organisation's entitlement (403
    ``market.not_entitled`` without one); charged and audited as one call."""
    return verification.verify(session, actor, product, body.value, home=home)


@router.get("/ledger/statements/{organisation_id}", response_model=Statement, summary="An organisation's statement")
def statement(
    organisation_id: DbId,
    session: DB,
    actor: ActorDep,
    start: datetime | None = Query(default=None),
    end: datetime | None = Query(default=None),
) -> Statement:
    """Its accounts' opening balance, lines and closing balance (its own users and oversight)."""
    return ledger.statement(session, actor, organisation_id, start=start, end=end)


@router.get("/ledger/trial-balance", response_model=TrialBalance, summary="The trial balance (oversight)")
def trial_balance(session: DB, actor: ActorDep) -> TrialBalance:
    return ledger.trial_balance(session, actor)

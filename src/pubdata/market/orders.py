"""Orders → payment → entitlement, cancellation and refunds (issue 13 §3).

A buyer organisation orders one active plan of a listed product (``place_order``). The order waits
for the provider's review of its declared use when the listing requires approval or the plan is free
(public-interest use must be vouched for); then a one-off or subscription price is billed and paid
before access, while metered plans (per call, tiered) start at once and are billed monthly by the
settlement. Payment goes through a provider (``payments.PROVIDERS``; ``bank_transfer``: the buyer
submits a 对公转账 voucher, the operator's finance staff confirm it). A paid or free order becomes an
**entitlement** whose access grant is made from the product's contract template
(``access.service.issue_market_grant``): read on every path like any grant, ending with the term.

Safety: every step re-checks that the product is listed and, for a merchant's product built under a
grant, that the merchant's grant is still active (the entitlement never outlives it); the buyer's
zone rules apply; nobody orders from its own organisation. Paying twice with one voucher, confirming
twice, refunding twice under one reference change nothing; a refund never exceeds what was paid and
only touches money not yet settled. Every write and refused write is audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.access import service as access
from pubdata.access import usage as access_usage
from pubdata.access import zones
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.db import utcnow
from pubdata.errors import Forbidden
from pubdata.identity import service as identity
from pubdata.ledger import service as ledger
from pubdata.ledger.schemas import Posting
from pubdata.ledger.service import is_fen
from pubdata.market import payments
from pubdata.market.errors import (
    BillNotFound,
    InvalidOrder,
    InvalidPayment,
    OrderNotFound,
    PaymentConflict,
    PaymentNotFound,
    ProductNotFound,
    WrongState,
)
from pubdata.market.models import (
    MarketBill,
    MarketEntitlement,
    MarketOrder,
    MarketPayment,
    MarketPricePlan,
    MarketProduct,
    MarketRefund,
)
from pubdata.market.order_schemas import (
    BILL_KINDS,
    BILL_STATES,
    DEFAULT_MONTHS,
    ENTITLEMENT_STATES,
    MAX_MONTHS,
    ORDER_STATES,
    PAYMENT_STATES,
    BillRead,
    EntitlementRead,
    OrderIn,
    OrderRead,
    PaymentIn,
    PaymentRead,
)
from pubdata.store import contracts as store_contracts

# the access grant's mode for each kind of product (a report is delivered, not read: no grant)
GRANT_MODE = {"api": "rows", "dataset": "rows", "sandbox": "sandbox", "verification": "verify"}
UPFRONT = ("one_off", "subscription")  # plans paid before access
ACTIONS = (
    "market.order_place", "market.order_review", "market.order_cancel", "market.payment_submit",
    "market.payment_decide", "market.refund", "market.entitlement_start", "market.entitlement_end",
)  # fmt: skip


def _refusals_audited(action: str, key: str = "order") -> Any:
    return audit.refusals_audited(action, key)


def today() -> date:
    return access.beijing_today()


def _event(action: str, order: MarketOrder, product: MarketProduct, **details: Any) -> audit.Event:
    return audit.Event(
        f"market.{action}",
        resource_id=product.resource_id,
        publisher_org_id=product.provider_org_id,
        details={"order": order.id, "code": order.code, "product": product.code, **details},
    )


# --- placing an order ---------------------------------------------------------------------------------


def product_by_key(session: Session, key: str | int) -> MarketProduct | None:
    """A product by code or id, in any state (callers decide what its state allows)."""
    stmt = select(MarketProduct)
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        stmt = stmt.where(MarketProduct.id == int(key))
    else:
        stmt = stmt.where(MarketProduct.code == key)
    return session.scalar(stmt)


def listed_product(session: Session, key: str | int) -> MarketProduct:
    product = product_by_key(session, key)
    if product is None or product.state != "listed":
        raise ProductNotFound(f"数据产品不存在或未上架：{key}")
    return product


def _plan(session: Session, product: MarketProduct, code: str) -> MarketPricePlan:
    plan = session.scalar(
        select(MarketPricePlan).where(MarketPricePlan.product_id == product.id, MarketPricePlan.code == code)
    )
    if plan is None or not plan.active:
        raise InvalidOrder(f"该产品没有在售的价格计划：{code}", field="plan")
    return plan


def _months(plan: MarketPricePlan, asked: Any) -> int:
    if plan.kind == "subscription":
        if asked is not None and asked != plan.term_months:
            raise InvalidOrder(f"订阅计划的使用期为 {plan.term_months} 个月，不能改为 {asked!r}", field="months")
        assert plan.term_months is not None
        return plan.term_months
    if asked is None:
        return DEFAULT_MONTHS
    if not is_fen(asked) or not 1 <= asked <= MAX_MONTHS:
        raise InvalidOrder(f"使用期须是 1 至 {MAX_MONTHS} 的整数（月）：{asked!r}", field="months")
    return int(asked)


def _check_zone(session: Session, actor: Actor, product: MarketProduct) -> None:
    columns = store_contracts.table_columns(session, product.resource_id)
    used = set(product.contract.get("fields") or []) | {product.contract.get("key_field")}
    personal = any(c.personal_kind for c in columns if c.name in used)
    zones.check_request(session, actor, product.entry_id, GRANT_MODE.get(product.kind, "rows"), personal)


@_refusals_audited("market.order_place", "product")
def _place(session: Session, actor: Actor, product_key: str, data: OrderIn) -> MarketOrder:
    require(actor, Permission.MARKET_ORDER_CREATE)
    if actor.organisation_id is None:
        raise Forbidden("订购数据产品需以机构身份进行：当前账号不属于任何机构", code="market.no_organisation")
    product = listed_product(session, product_key)
    if product.provider_org_id == actor.organisation_id:
        raise InvalidOrder("不能订购本机构提供的数据产品", field="product")
    plan = _plan(session, product, data.plan)
    months = _months(plan, data.months)
    use = data.declared_use.strip()
    if plan.public_interest_only and not data.public_interest:
        raise InvalidOrder(
            "公益免费计划只能用于公益用途：请声明公益用途（public_interest=true）并说明用途", field="public_interest"
        )
    if (product.requires_approval or plan.public_interest_only) and len(use) < 4:
        raise InvalidOrder("该产品须审核买方用途：请填写申报用途（至少 4 个字）", field="declared_use")
    _check_zone(session, actor, product)
    _basis_until(session, product)  # a merchant's product whose grant has ended is not sold
    org = identity.own_organisation(session, actor)
    assert org is not None  # the actor has an organisation (checked above)
    amount = int(plan.price_fen or 0) if plan.kind in UPFRONT else 0
    order = MarketOrder(
        code=f"tmp-{utcnow().timestamp()}-{actor.user_id}", product_id=product.id, plan_id=plan.id,
        product_version=product.version, buyer_org_id=actor.organisation_id, buyer_name=org.name,
        buyer_uscc=org.uscc, ordered_by=actor.user_id, declared_use=use, amount_fen=amount, months=months,
        state="pending_approval",
    )  # fmt: skip
    session.add(order)
    session.flush()
    order.code = f"DD{today():%Y%m%d}{order.id:06d}"
    audit.record(session, actor, _event("order_place", order, product, plan=plan.code, amount_fen=amount))
    if not (product.requires_approval or plan.public_interest_only):
        _approved(session, actor, order, product, plan)
    session.flush()
    return order


def place_order(session: Session, actor: Actor, data: OrderIn) -> OrderRead:
    """The actor's organisation orders a plan of a listed product. Refused: a product not listed
    (not found), an inactive or unknown plan, the own organisation's product, a free plan without a
    declared public-interest use, a missing declared use where the listing requires approval, the
    zone's rules, a merchant's product whose underlying grant has ended."""
    return _reads(session, actor, [_place(session, actor, data.product, data)])[0]


def _approved(
    session: Session, actor: Actor, order: MarketOrder, product: MarketProduct, plan: MarketPricePlan
) -> None:
    """After the review (or none): bill an upfront price, or start the entitlement now."""
    if order.amount_fen > 0:
        order.state = "awaiting_payment"
        order.updated_at = utcnow()
        session.add(
            MarketBill(
                code=f"ZD{order.code[2:]}", kind="order", order_id=order.id, product_id=product.id,
                buyer_org_id=order.buyer_org_id, amount_fen=order.amount_fen, state="unpaid",
                lines=[{"charge_type": "fixed", "quantity": 1, "unit_price_fen": order.amount_fen,
                        "amount_fen": order.amount_fen, "description": plan.title}],
            )
        )  # fmt: skip
        session.flush()
    else:
        _activate(session, actor, order, product)


# --- the provider's review ----------------------------------------------------------------------------


@_refusals_audited("market.order_review")
def _review(session: Session, actor: Actor, order_id: int, approve: bool, reason: str) -> MarketOrder:
    require(actor, Permission.MARKET_PRODUCT_MANAGE)
    order = _visible(session, actor, order_id)
    product = _product(session, order)
    if actor.organisation_id != product.provider_org_id:
        raise Forbidden("只有产品提供方可以审核买方的用途", code="market.not_provider")
    if order.state != "pending_approval":
        raise WrongState(f"订单当前为“{ORDER_STATES[order.state]}”，不能审核")
    if not approve and not reason.strip():
        raise InvalidOrder("不通过须说明理由", field="reason")
    order.reviewed_by, order.reviewed_at, order.review_reason = actor.user_id, utcnow(), reason.strip()
    audit.record(session, actor, _event("order_review", order, product, approve=approve, reason=reason))
    if approve:
        if product.state != "listed":
            raise WrongState("产品已不在上架状态，不能再通过订单")
        _approved(session, actor, order, product, _plan_of(session, order))
    else:
        order.state = "rejected"
        order.updated_at = utcnow()
    session.flush()
    return order


def review_order(session: Session, actor: Actor, order_id: int, approve: bool, reason: str = "") -> OrderRead:
    """The provider's organisation approves or rejects (with a reason) the declared use of an order."""
    return _reads(session, actor, [_review(session, actor, order_id, approve, reason)])[0]


@_refusals_audited("market.order_cancel")
def _cancel(session: Session, actor: Actor, order_id: int, reason: str) -> MarketOrder:
    require(actor, Permission.MARKET_ORDER_CREATE)
    order = _visible(session, actor, order_id)
    if actor.organisation_id != order.buyer_org_id:
        raise Forbidden("只有下单的机构可以取消订单", code="market.not_buyer")
    if order.state not in ("pending_approval", "awaiting_payment"):
        raise WrongState(f"订单当前为“{ORDER_STATES[order.state]}”，不能取消（已付款的订单请联系运营方退款）")
    bill = _order_bill(session, order)
    if bill is not None:
        pending = session.scalar(
            select(func.count()).select_from(MarketPayment)
            .where(MarketPayment.bill_id == bill.id, MarketPayment.state == "submitted")
        )  # fmt: skip
        if pending:
            raise WrongState("已提交的付款凭证正待财务确认，暂不能取消订单")
        bill.state = "void"
    order.state = "cancelled"
    order.updated_at = utcnow()
    audit.record(session, actor, _event("order_cancel", order, _product(session, order), reason=reason))
    session.flush()
    return order


def cancel_order(session: Session, actor: Actor, order_id: int, reason: str = "") -> OrderRead:
    """The buyer cancels an order not yet active (its unpaid bill is voided)."""
    return _reads(session, actor, [_cancel(session, actor, order_id, reason)])[0]


# --- entitlements -------------------------------------------------------------------------------------


def _basis_until(session: Session, product: MarketProduct) -> date | None:
    """The last day a merchant may sell access under the grant its product is built on (None: no such
    limit); refused when that grant is no longer active."""
    if product.basis != "grant" or product.basis_grant_id is None:
        return None
    grant = access.grant_by_id(session, product.basis_grant_id)
    if grant is None or access.grant_status(grant) != "active":
        raise WrongState("产品提供方就该数据的使用授权已失效，产品暂不能订购或开通", code="market.basis_ended")
    return grant.valid_to


def _grant_contract(product: MarketProduct) -> dict[str, Any]:
    """The buyer's grant terms from the product's contract template. A verification product's grant
    reaches only its key field, over the rows its predicate and row filter select."""
    contract = dict(product.contract)
    if product.kind != "verification":
        return contract
    rows = [f"({c})" for c in (contract.get("row_filter"), contract.get("predicate")) if c]
    return {**contract, "fields": [contract["key_field"]], "masks": {}, "row_filter": " AND ".join(rows) or None}


def _activate(session: Session, actor: Actor, order: MarketOrder, product: MarketProduct) -> MarketEntitlement:
    if product.state != "listed":
        raise WrongState("产品已不在上架状态，不能开通", code="market.product_not_listed")
    start = today()
    end = _add_months(start, order.months) - timedelta(days=1)
    until = _basis_until(session, product)
    if until is not None:
        end = min(end, until)
    grant_id = None
    if product.kind in GRANT_MODE:
        grant = access.issue_market_grant(
            session, actor, resource_id=product.resource_id, consumer_org_id=order.buyer_org_id,
            requested_by=order.ordered_by, contract=_grant_contract(product), mode=GRANT_MODE[product.kind],
            scenario=product.title, purpose=order.declared_use or f"订购数据产品 {product.code}",
            valid_from=start, valid_to=end, reason=f"数据产品订单 {order.code}",
        )  # fmt: skip
        grant_id = grant.id
    entitlement = MarketEntitlement(
        order_id=order.id, product_id=product.id, plan_id=order.plan_id, buyer_org_id=order.buyer_org_id,
        grant_id=grant_id, starts_on=start, ends_on=end, state="active",
    )  # fmt: skip
    session.add(entitlement)
    order.state = "active"
    order.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, _event("entitlement_start", order, product, entitlement=entitlement.id,
                                        grant=grant_id, ends_on=end.isoformat()))  # fmt: skip
    return entitlement


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _end(session: Session, actor: Actor, entitlement: MarketEntitlement, state: str, reason: str) -> None:
    entitlement.state = state
    entitlement.ended_at = utcnow()
    entitlement.end_reason = reason
    if entitlement.grant_id is not None:
        access.end_market_grant(session, actor, entitlement.grant_id, reason)
    order = session.get(MarketOrder, entitlement.order_id)
    assert order is not None
    order.state = "ended" if state == "ended" else "cancelled"
    order.updated_at = utcnow()
    audit.record(session, actor, _event("entitlement_end", order, _product(session, order), state=state,
                                        reason=reason, entitlement=entitlement.id))  # fmt: skip


def end_expired(session: Session, actor: Actor, *, on: date | None = None) -> int:
    """End the entitlements whose term is over (their grants stop on their own at ``valid_to``; the
    entitlement and the order are marked ended and the grant revoked); how many."""
    require(actor, Permission.MARKET_SETTLE)
    day = on or today()
    ended = list(
        session.scalars(
            select(MarketEntitlement).where(MarketEntitlement.state == "active", MarketEntitlement.ends_on < day)
        )
    )
    for entitlement in ended:
        _end(session, actor, entitlement, "ended", f"使用期已于 {entitlement.ends_on} 届满")
    session.flush()
    return len(ended)


# --- payments ----------------------------------------------------------------------------------------


def _bill(session: Session, actor: Actor, bill_id: int) -> MarketBill:
    bill = session.get(MarketBill, bill_id) if is_fen(bill_id) else None
    if bill is None or not _may_see_bill(session, actor, bill):
        raise BillNotFound(f"账单不存在：{bill_id}")
    return bill


@_refusals_audited("market.payment_submit", "bill")
def _submit_payment(session: Session, actor: Actor, bill_id: int, data: PaymentIn) -> MarketPayment:
    require(actor, Permission.MARKET_ORDER_CREATE)
    bill = _bill(session, actor, bill_id)
    if actor.organisation_id != bill.buyer_org_id:
        raise Forbidden("只有买方机构可以为账单提交付款", code="market.not_buyer")
    provider = payments.provider(data.provider)
    provider.check(data)
    existing = session.scalar(
        select(MarketPayment).where(MarketPayment.provider == data.provider, MarketPayment.reference == data.reference)
    )
    if existing is not None:  # the same voucher again: the payment first submitted, nothing written
        if existing.bill_id == bill.id and existing.amount_fen == data.amount_fen:
            return existing
        raise PaymentConflict(f"该付款流水号已用于其他账单或其他金额：{data.reference}")
    if bill.state != "unpaid":
        raise WrongState(f"账单当前为“{BILL_STATES[bill.state]}”，不能再付款")
    if not is_fen(data.amount_fen) or data.amount_fen != bill.amount_fen:
        raise InvalidPayment(
            f"付款金额须等于账单金额 {bill.amount_fen} 分（整数分）：{data.amount_fen!r}", field="amount_fen"
        )
    if data.paid_on > today():
        raise InvalidPayment(f"付款日期不能晚于今天：{data.paid_on}", field="paid_on")
    payment = MarketPayment(
        bill_id=bill.id, provider=data.provider, reference=data.reference, amount_fen=data.amount_fen,
        payer_name=data.payer_name.strip(), payer_account=data.payer_account.strip(), paid_on=data.paid_on,
        state="submitted", submitted_by=actor.user_id,
    )  # fmt: skip
    session.add(payment)
    session.flush()
    order = session.get(MarketOrder, bill.order_id)
    assert order is not None
    audit.record(session, actor, _event("payment_submit", order, _product(session, order), bill=bill.code,
                                        payment=payment.id, amount_fen=payment.amount_fen))  # fmt: skip
    return payment


def submit_payment(session: Session, actor: Actor, bill_id: int, data: PaymentIn) -> PaymentRead:
    """The buyer submits a payment of a whole bill (a 对公转账 voucher). The same voucher for the
    same bill and amount again returns the first submission and writes nothing."""
    return _payment_reads(session, [_submit_payment(session, actor, bill_id, data)])[0]


@_refusals_audited("market.payment_decide", "payment")
def _decide_payment(session: Session, actor: Actor, payment_id: int, confirm: bool, reason: str) -> MarketPayment:
    require(actor, Permission.MARKET_PAYMENT_CONFIRM)
    payment = session.get(MarketPayment, payment_id) if is_fen(payment_id) else None
    if payment is None:
        raise PaymentNotFound(f"付款记录不存在：{payment_id}")
    wanted = "confirmed" if confirm else "rejected"
    if payment.state == wanted:
        return payment  # confirming (or rejecting) twice changes nothing
    if payment.state != "submitted":
        raise WrongState(f"付款当前为“{PAYMENT_STATES[payment.state]}”，不能再处理")
    if not confirm and not reason.strip():
        raise InvalidPayment("退回付款须说明理由", field="reason")
    bill = session.get(MarketBill, payment.bill_id)
    order = session.get(MarketOrder, bill.order_id) if bill is not None else None
    assert bill is not None and order is not None
    product = _product(session, order)
    if confirm and bill.state != "unpaid":
        raise WrongState(f"账单当前为“{BILL_STATES[bill.state]}”，不能确认这笔付款（如已重复付款，请退回并线下退还）")
    payment.state, payment.decided_by, payment.decided_at, payment.reason = wanted, actor.user_id, utcnow(), reason
    audit.record(session, actor, _event("payment_decide", order, product, payment=payment.id, confirm=confirm,
                                        amount_fen=payment.amount_fen, reason=reason))  # fmt: skip
    if confirm:
        _post_paid(session, actor, bill, payment)
        if bill.kind == "order" and order.state == "awaiting_payment":
            _activate(session, actor, order, product)
    session.flush()
    return payment


def decide_payment(session: Session, actor: Actor, payment_id: int, confirm: bool, reason: str = "") -> PaymentRead:
    """The operator's finance staff confirm a submitted payment (the bill is paid, its invoice number
    issued, the sale and the payment posted to the ledger, an order's entitlement started) or send it
    back with a reason. Deciding the same way twice changes nothing."""
    return _payment_reads(session, [_decide_payment(session, actor, payment_id, confirm, reason)])[0]


def _post_sale(session: Session, actor: Actor, bill: MarketBill) -> None:
    """The sale of a bill: the buyer owes it to the market's clearing account (idempotent)."""
    if bill.amount_fen <= 0:
        return
    receivable = ledger.account_for(session, actor, bill.buyer_org_id, "receivable").code
    clearing = ledger.account_for(session, actor, None, "clearing").code
    ledger.post(session, actor, Posting(f"sale:{bill.code}", "sale",
                                        [(receivable, bill.amount_fen), (clearing, -bill.amount_fen)],
                                        memo=f"{BILL_KINDS[bill.kind]} {bill.code}"))  # fmt: skip


def _post_paid(session: Session, actor: Actor, bill: MarketBill, payment: MarketPayment) -> None:
    # paid on the day the money arrived (the voucher's date): that day's month settles it
    bill.state, bill.paid_at = "paid", datetime.combine(payment.paid_on, time(), access_usage.BEIJING)
    bill.invoice_no = f"FP{today():%Y}{bill.id:08d}"
    if bill.kind == "order":
        _post_sale(session, actor, bill)  # a usage bill's sale was posted when the month was settled
    receivable = ledger.account_for(session, actor, bill.buyer_org_id, "receivable").code
    cash = ledger.account_for(session, actor, None, "cash").code
    ledger.post(session, actor, Posting(f"payment:{payment.provider}:{payment.reference}", "payment",
                                        [(cash, payment.amount_fen), (receivable, -payment.amount_fen)],
                                        memo=f"{payments.provider(payment.provider).label} {bill.code}"))  # fmt: skip


# --- refunds -----------------------------------------------------------------------------------------


@_refusals_audited("market.refund", "bill")
def _refund(session: Session, actor: Actor, bill_id: int, reference: str, amount: Any, reason: str) -> MarketRefund:
    require(actor, Permission.MARKET_PAYMENT_CONFIRM)
    bill = _bill(session, actor, bill_id)
    existing = session.scalar(select(MarketRefund).where(MarketRefund.reference == reference))
    if existing is not None:
        if existing.bill_id == bill.id and existing.amount_fen == amount:
            return existing  # the same refund again
        raise PaymentConflict(f"退款流水号已用于其他账单或其他金额：{reference}")
    if bill.kind != "order" or bill.state != "paid":
        raise WrongState("只能对已付款的订单账单退款")
    if bill.settlement_run_id is not None:
        raise WrongState("该账单已结算分配，不能再退款（请与各方另行协商）")
    left = bill.amount_fen - bill.refunded_fen
    if not is_fen(amount) or amount <= 0:
        raise InvalidPayment(f"退款金额须是正整数分：{amount!r}", field="amount_fen")
    if amount > left:
        raise InvalidPayment(f"退款金额 {amount} 分超过可退金额 {left} 分（已付 {bill.amount_fen} 分，已退 "
                             f"{bill.refunded_fen} 分）", field="amount_fen")  # fmt: skip
    if not reason.strip():
        raise InvalidPayment("退款须说明理由", field="reason")
    refund = MarketRefund(reference=reference, bill_id=bill.id, amount_fen=amount, reason=reason.strip(),
                          refunded_by=actor.user_id)  # fmt: skip
    session.add(refund)
    bill.refunded_fen += amount
    clearing = ledger.account_for(session, actor, None, "clearing").code
    payable = ledger.account_for(session, actor, bill.buyer_org_id, "payable").code
    ledger.post(session, actor, Posting(f"refund:{reference}", "refund", [(clearing, amount), (payable, -amount)],
                                        memo=f"退款 {bill.code}：{reason.strip()}"))  # fmt: skip
    order = session.get(MarketOrder, bill.order_id)
    assert order is not None
    audit.record(session, actor, _event("refund", order, _product(session, order), bill=bill.code,
                                        amount_fen=amount, reason=reason))  # fmt: skip
    if bill.refunded_fen == bill.amount_fen:  # all of it: the order ends now
        entitlement = session.scalar(select(MarketEntitlement).where(MarketEntitlement.order_id == order.id))
        if entitlement is not None and entitlement.state == "active":
            _end(session, actor, entitlement, "cancelled", f"全额退款：{reason.strip()}")
        order.state = "cancelled"
    session.flush()
    return refund


def refund(session: Session, actor: Actor, bill_id: int, reference: str, amount_fen: Any, reason: str) -> BillRead:
    """Give back part or all of a paid order bill not yet settled (the operator's finance staff):
    owed to the buyer in the ledger; a full refund ends the entitlement and revokes its grant."""
    refund_row = _refund(session, actor, bill_id, reference, amount_fen, reason)
    return _bill_reads(session, [_bill(session, actor, refund_row.bill_id)])[0]


# --- reading -----------------------------------------------------------------------------------------


def _product(session: Session, order: MarketOrder) -> MarketProduct:
    product = session.get(MarketProduct, order.product_id)
    assert product is not None
    return product


def _plan_of(session: Session, order: MarketOrder) -> MarketPricePlan:
    plan = session.get(MarketPricePlan, order.plan_id)
    assert plan is not None
    return plan


def _order_bill(session: Session, order: MarketOrder) -> MarketBill | None:
    return session.scalar(select(MarketBill).where(MarketBill.order_id == order.id, MarketBill.kind == "order"))


def _oversight(actor: Actor) -> bool:
    return actor.can(Permission.MARKET_ORDER_READ_ANY)


def _may_see(session: Session, actor: Actor, order: MarketOrder) -> bool:
    if _oversight(actor):
        return True
    if actor.organisation_id is None:
        return False
    return actor.organisation_id in (order.buyer_org_id, _product(session, order).provider_org_id)


def _may_see_bill(session: Session, actor: Actor, bill: MarketBill) -> bool:
    order = session.get(MarketOrder, bill.order_id)
    return order is not None and _may_see(session, actor, order)


def _visible(session: Session, actor: Actor, order_id: int | str) -> MarketOrder:
    require(actor, Permission.MARKET_ORDER_READ)
    stmt = select(MarketOrder)
    stmt = stmt.where(MarketOrder.id == order_id) if is_fen(order_id) else stmt.where(MarketOrder.code == order_id)
    order = session.scalar(stmt)
    if order is None or not _may_see(session, actor, order):
        raise OrderNotFound(f"订单不存在：{order_id}")
    return order


def get_order(session: Session, actor: Actor, order_id: int | str) -> OrderRead:
    return _reads(session, actor, [_visible(session, actor, order_id)])[0]


def list_orders(session: Session, actor: Actor, box: str = "mine", *, state: str | None = None) -> list[OrderRead]:
    """``mine``: the actor's organisation's orders as buyer; ``provider``: orders of its products;
    ``review``: orders waiting for its review of the declared use; ``all``: every order (oversight)."""
    require(actor, Permission.MARKET_ORDER_READ)
    stmt = select(MarketOrder)
    org = actor.organisation_id
    if box == "all":
        if not _oversight(actor):
            return []
    elif org is None:
        return []
    elif box == "mine":
        stmt = stmt.where(MarketOrder.buyer_org_id == org)
    elif box in ("provider", "review"):
        products = select(MarketProduct.id).where(MarketProduct.provider_org_id == org)
        stmt = stmt.where(MarketOrder.product_id.in_(products))
        if box == "review":
            stmt = stmt.where(MarketOrder.state == "pending_approval")
    else:
        raise InvalidOrder(f"未知的列表：{box}（mine、provider、review、all）", field="box")
    if state is not None:
        stmt = stmt.where(MarketOrder.state == state)
    return _reads(session, actor, list(session.scalars(stmt.order_by(MarketOrder.id.desc()).limit(500))))


def list_payments(session: Session, actor: Actor, state: str | None = "submitted") -> list[PaymentRead]:
    """Payments for the finance staff (those waiting for confirmation by default)."""
    require(actor, Permission.MARKET_PAYMENT_CONFIRM)
    stmt = select(MarketPayment)
    if state is not None:
        stmt = stmt.where(MarketPayment.state == state)
    return _payment_reads(session, list(session.scalars(stmt.order_by(MarketPayment.id.desc()).limit(500))))


def list_bills(session: Session, actor: Actor, *, unpaid_only: bool = False) -> list[BillRead]:
    """The bills the actor's organisation owes (every bill, for oversight)."""
    require(actor, Permission.MARKET_ORDER_READ)
    stmt = select(MarketBill)
    if not _oversight(actor):
        if actor.organisation_id is None:
            return []
        stmt = stmt.where(MarketBill.buyer_org_id == actor.organisation_id)
    if unpaid_only:
        stmt = stmt.where(MarketBill.state == "unpaid")
    return _bill_reads(session, list(session.scalars(stmt.order_by(MarketBill.id.desc()).limit(500))))


def get_bill(session: Session, actor: Actor, bill_id: int) -> BillRead:
    require(actor, Permission.MARKET_ORDER_READ)
    return _bill_reads(session, [_bill(session, actor, bill_id)])[0]


def rows_by_id(session: Session, model: Any, ids: set[int]) -> dict[int, Any]:
    """Rows of ``model`` by id, in one query."""
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}


def _payment_reads(session: Session, rows: Sequence[MarketPayment]) -> list[PaymentRead]:
    codes = dict(
        session.execute(
            select(MarketBill.id, MarketBill.code).where(MarketBill.id.in_({p.bill_id for p in rows}))
        ).all()
    )
    return [
        PaymentRead(
            id=p.id,
            bill_id=p.bill_id,
            bill_code=codes.get(p.bill_id, ""),
            provider=p.provider,
            reference=p.reference,
            amount_fen=p.amount_fen,
            payer_name=p.payer_name,
            payer_account=p.payer_account,
            paid_on=p.paid_on,
            state=p.state,
            state_label=PAYMENT_STATES[p.state],
            submitted_at=p.submitted_at,
            decided_at=p.decided_at,
            reason=p.reason,
        )  # fmt: skip
        for p in rows
    ]


def _bill_reads(session: Session, bills: Sequence[MarketBill]) -> list[BillRead]:
    if not bills:
        return []
    orders = rows_by_id(session, MarketOrder, {b.order_id for b in bills})
    titles = dict(session.execute(
        select(MarketProduct.id, MarketProduct.title).where(MarketProduct.id.in_({b.product_id for b in bills}))
    ).all())  # fmt: skip
    paid = session.scalars(select(MarketPayment).where(MarketPayment.bill_id.in_([b.id for b in bills])))
    by_bill: dict[int, list[MarketPayment]] = {}
    for p in paid:
        by_bill.setdefault(p.bill_id, []).append(p)
    out = []
    for b in bills:
        order = orders[b.order_id]
        out.append(BillRead(
            id=b.id, code=b.code, kind=b.kind, kind_label=BILL_KINDS[b.kind], order_id=b.order_id,
            order_code=order.code, month=b.month, product_id=b.product_id, product_title=titles.get(b.product_id, ""),
            buyer_name=order.buyer_name, buyer_uscc=order.buyer_uscc, amount_fen=b.amount_fen,
            refunded_fen=b.refunded_fen, calls=b.calls, rows=b.rows, lines=list(b.lines or []), state=b.state,
            state_label=BILL_STATES[b.state], invoice_no=b.invoice_no, issued_at=b.issued_at, paid_at=b.paid_at,
            settled=b.settlement_run_id is not None,
            payments=_payment_reads(session, by_bill.get(b.id, [])),
        ))  # fmt: skip
    return out


def _entitlement_read(session: Session, e: MarketEntitlement, plan: MarketPricePlan) -> EntitlementRead:
    out = EntitlementRead(
        id=e.id, order_id=e.order_id, product_id=e.product_id, grant_id=e.grant_id, starts_on=e.starts_on,
        ends_on=e.ends_on, state=e.state, state_label=ENTITLEMENT_STATES[e.state], free_quota=plan.free_quota,
    )  # fmt: skip
    if e.grant_id is not None:
        grant = access.grant_by_id(session, e.grant_id)
        out.calls_today = access_usage.usage_today(session, e.grant_id)[0]
        out.daily_call_quota = grant.daily_call_quota if grant is not None else None
        start, end = month_bounds(today().strftime("%Y-%m"))
        out.calls_this_month = audit.grant_usage(session, [e.grant_id], start, end).get(e.grant_id, (0, 0))[0]
    return out


def _reads(session: Session, actor: Actor, orders: Sequence[MarketOrder]) -> list[OrderRead]:
    if not orders:
        return []
    ids = [o.id for o in orders]
    products = rows_by_id(session, MarketProduct, {o.product_id for o in orders})
    plans_by_id = rows_by_id(session, MarketPricePlan, {o.plan_id for o in orders})
    entitlements = {
        e.order_id: e for e in session.scalars(select(MarketEntitlement).where(MarketEntitlement.order_id.in_(ids)))
    }
    bills: dict[int, list[MarketBill]] = {}
    for b in session.scalars(select(MarketBill).where(MarketBill.order_id.in_(ids)).order_by(MarketBill.id)):
        bills.setdefault(b.order_id, []).append(b)
    out = []
    for o in orders:
        product, plan = products[o.product_id], plans_by_id[o.plan_id]
        e = entitlements.get(o.id)
        out.append(OrderRead(
            id=o.id, code=o.code, product_id=product.id, product_code=product.code, product_title=product.title,
            product_kind=product.kind, plan_code=plan.code, plan_title=plan.title, plan_kind=plan.kind,
            buyer_org_id=o.buyer_org_id, buyer_name=o.buyer_name, buyer_uscc=o.buyer_uscc,
            provider_org_id=product.provider_org_id, declared_use=o.declared_use, state=o.state,
            state_label=ORDER_STATES[o.state], amount_fen=o.amount_fen, months=o.months,
            review_reason=o.review_reason, created_at=o.created_at,
            entitlement=_entitlement_read(session, e, plan) if e is not None else None,
            bills=_bill_reads(session, bills.get(o.id, [])),
        ))  # fmt: skip
    return out


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The instants bounding a Beijing calendar month ``YYYY-MM``: [its first midnight, the next's)."""
    year, mon = int(month[:4]), int(month[5:7])
    start = datetime(year, mon, 1, tzinfo=access_usage.BEIJING)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=access_usage.BEIJING)
    return start, end


def buyer_entitlement(session: Session, actor: Actor, product: MarketProduct) -> MarketEntitlement | None:
    """The actor's organisation's newest active entitlement to the product today, if any."""
    if actor.organisation_id is None:
        return None
    day = today()
    return session.scalar(
        select(MarketEntitlement)
        .where(
            MarketEntitlement.product_id == product.id, MarketEntitlement.buyer_org_id == actor.organisation_id,
            MarketEntitlement.state == "active", MarketEntitlement.starts_on <= day, MarketEntitlement.ends_on >= day,
        )
        .order_by(MarketEntitlement.id.desc())
        .limit(1)
    )  # fmt: skip

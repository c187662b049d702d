"""数据产品订单 (the data market's orders and money) pages: ordering a plan from the product page,
我的订单 (the buyer organisation's orders, bills with their 对公转账 voucher form, cancelling, each
entitlement's usage against its quota and a 核验 form for verification products), one order's page,
the provider's 订单审核 of declared uses, 财务结算 for the operator's finance staff (confirming or
sending back vouchers, refunds, the monthly settlement, the trial balance and organisations'
statements), an organisation's own 对账单, and the oversight's 交易看板 (charts by month, scenario
and party).

Pages call ``market.orders``, ``market.settlement``, ``market.verification``, ``market.dashboard``
and ``ledger.service`` only; the services decide who sees and may do what (another organisation's
order is not found). Every form is a POST carrying the login session's CSRF token, run in a
savepoint; a refusal is shown on the page in Chinese with what was typed kept; a success redirects
(303). Money is integer fen, typed and shown in 元 with two decimals, converted exactly (``fen_of``).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.api.deps import DB, Home
from pubdata.authz import Permission
from pubdata.errors import Forbidden, Invalid, PubdataError
from pubdata.ledger import service as ledger
from pubdata.ledger.schemas import KINDS as ACCOUNT_KINDS
from pubdata.market import dashboard, orders, settlement, verification
from pubdata.market import service as market
from pubdata.market.errors import BillNotFound
from pubdata.market.order_schemas import (
    MAX_MONTHS,
    ORDER_STATES,
    OrderIn,
    OrderRead,
    PaymentIn,
    RefundIn,
    SettleIn,
)
from pubdata.market.orders import month_bounds
from pubdata.web.access_forms import Names, attempt, check_csrf, login_redirect, validation_message
from pubdata.web.deps import ViewerDep
from pubdata.web.finance_pages import form_fields
from pubdata.web.market_pages import _tabs as market_tabs
from pubdata.web.market_pages import market_page
from pubdata.web.templating import Viewer

router = APIRouter(include_in_schema=False)

# the Chinese names of the form fields, for messages that name them
FIELDS = {
    "plan": "价格计划",
    "months": "使用期（月）",
    "declared_use": "申报用途",
    "public_interest": "公益用途声明",
    "reference": "流水号",
    "amount_fen": "金额",
    "amount": "金额",
    "payer_name": "付款单位",
    "payer_account": "付款账号",
    "paid_on": "付款日期",
    "reason": "理由",
    "month": "月份",
    "value": "核验值",
}
LEDGER_KINDS = {
    "sale": "销售",
    "payment": "收款",
    "refund": "退款",
    "settlement": "结算分配",
    "trust_distribution": "信托收益分配",
    "reversal": "冲销",
}
YUAN = re.compile(r"^\d{1,13}(\.\d{1,2})?$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def fen_of(text: str | None, field: str = "amount") -> int:
    """An amount typed in 元 (``1,200``, ``1200.5``, ``0.05``) as integer fen, exactly; refused when
    it is not a non-negative number with at most two decimals."""
    raw = (text or "").strip().replace(",", "").replace("，", "").removesuffix("元").strip()
    if not YUAN.match(raw):
        raise Invalid(f"{FIELDS.get(field, field)}须以元为单位填写，最多两位小数（如 1200.00）：{text!r}", field=field)
    return int(Decimal(raw) * 100)


def _invalid(exc: ValidationError) -> Invalid:
    """The first problem pydantic found, in Chinese, naming the form field."""
    problem = validation_message(exc)
    field = problem["field"]
    why = problem["message"].split("：", 1)[-1]
    if field == "reference":
        why += "（4–64 位字母、数字或连字符）"
    return Invalid(f"{FIELDS.get(field, problem['field_label'])}：{why}", field=field)


def _shown(exc: PubdataError) -> int:
    """Refusals shown on the page (forbidden steps, conflicts, bad input); anything else (not found)
    goes to the error page."""
    if exc.status in (403, 409, 422):
        return exc.status
    raise exc


def _require(viewer: Viewer, permission: Permission, message: str) -> None:
    if not viewer.actor.can(permission):
        raise Forbidden(message)


def _tabs(viewer: Viewer) -> list[tuple[str, str, str]]:
    tabs = market_tabs(viewer)
    actor = viewer.actor
    if viewer.signed_in:
        tabs.append(("orders", "/market/orders", "我的订单"))
    if actor.can(Permission.MARKET_PRODUCT_MANAGE):
        tabs.append(("order-review", "/market/orders/review", "订单审核"))
    if viewer.signed_in and actor.organisation_id is not None:
        tabs.append(("statement", "/market/statement", "对账单"))
    if actor.can(Permission.MARKET_ORDER_READ_ANY):
        tabs += [("finance", "/market/finance", "财务结算"), ("dashboard", "/market/dashboard", "交易看板")]
    return tabs


def _page(
    request: Request, viewer: Viewer, template: str, context: dict[str, Any], *, tab: str, status_code: int = 200
) -> HTMLResponse:
    ctx = {"tabs": _tabs(viewer), "order_states": ORDER_STATES, "today": beijing_today(), "verdicts": {}}
    ctx.update(context)
    return market_page(request, viewer, template, ctx, tab=tab, status_code=status_code)


# --- ordering from the product page -----------------------------------------------------------------


def _order_in(product: Any, fields: dict[str, str]) -> OrderIn:
    code = fields.get("plan", "").strip()
    plan = next((x for x in product.plans if x.code == code and x.active), None)
    if plan is None:
        raise Invalid("请选择一个在售的价格计划", field="plan")
    months: Any = None
    text = fields.get("months", "").strip()
    if plan.kind != "subscription" and text:
        if not text.isdigit():
            raise Invalid(f"使用期须是 1 至 {MAX_MONTHS} 的整数（月）：{text}", field="months")
        months = int(text)
    try:
        return OrderIn(
            product=str(product.id), plan=code, declared_use=fields.get("declared_use", ""),
            public_interest=fields.get("public_interest") == "1", months=months,
        )  # fmt: skip
    except ValidationError as exc:
        raise _invalid(exc) from None


@router.post("/market/products/{product_id}/order", response_class=HTMLResponse)
async def place_order(request: Request, product_id: int, session: DB, viewer: ViewerDep) -> Response:
    """Order a plan of a listed product for the viewer's organisation; then its order page."""
    if not viewer.signed_in:
        return login_redirect(request, f"/market/products/{product_id}")
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    _require(viewer, Permission.MARKET_ORDER_CREATE, "当前账号不能订购数据产品")
    product = market.get_product(session, viewer.actor, product_id)
    try:
        order = attempt(session, lambda: orders.place_order(session, viewer.actor, _order_in(product, fields)))
    except PubdataError as exc:
        status = _shown(exc)
        context = {
            "p": product, "active_plans": [x for x in product.plans if x.active], "order_error": exc.message,
            "order_form": fields,
        }  # fmt: skip
        return _page(request, viewer, "market/orders/order.html", context, tab="market", status_code=status)
    return RedirectResponse(f"/market/orders/{order.id}", status_code=303)


# --- 我的订单 and one order -----------------------------------------------------------------------------


def _orders_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    error: str = "",
    error_key: str = "",
    form: dict[str, str] | None = None,
    verdicts: dict[int, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = orders.list_orders(session, viewer.actor, "mine")
    context = {
        "rows": rows, "error": error, "error_key": error_key, "form": form or {}, "verdicts": verdicts or {},
        "may_order": viewer.actor.can(Permission.MARKET_ORDER_CREATE),
    }  # fmt: skip
    return _page(request, viewer, "market/orders/mine.html", context, tab="orders", status_code=status_code)


def _order_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    order_id: int,
    *,
    error: str = "",
    error_key: str = "",
    form: dict[str, str] | None = None,
    verdicts: dict[int, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    order: OrderRead = orders.get_order(session, viewer.actor, order_id)
    actor = viewer.actor
    context = {
        "o": order, "error": error, "error_key": error_key, "form": form or {}, "verdicts": verdicts or {},
        "may_order": actor.can(Permission.MARKET_ORDER_CREATE) and actor.organisation_id == order.buyer_org_id,
        "is_provider": actor.organisation_id == order.provider_org_id
        and actor.can(Permission.MARKET_PRODUCT_MANAGE),
    }  # fmt: skip
    return _page(request, viewer, "market/orders/detail.html", context, tab="orders", status_code=status_code)


@router.get("/market/orders", response_class=HTMLResponse)
def my_orders(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """我的订单: the viewer's organisation's orders as buyer, with bills, payments and usage."""
    if not viewer.signed_in:
        return login_redirect(request)
    return _orders_page(request, session, viewer)


def _review_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    error: str = "",
    error_key: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    waiting = orders.list_orders(session, viewer.actor, "review")
    recent = [o for o in orders.list_orders(session, viewer.actor, "provider") if o.state != "pending_approval"]
    context = {"waiting": waiting, "recent": recent[:50], "error": error, "error_key": error_key, "form": form or {}}
    return _page(request, viewer, "market/orders/review.html", context, tab="order-review", status_code=status_code)


@router.get("/market/orders/review", response_class=HTMLResponse)
def review(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """订单审核: the orders of the organisation's products waiting for its review of the declared use."""
    if not viewer.signed_in:
        return login_redirect(request)
    _require(viewer, Permission.MARKET_PRODUCT_MANAGE, "订单审核仅供数据产品的提供方使用")
    return _review_page(request, session, viewer)


@router.get("/market/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: int, session: DB, viewer: ViewerDep) -> Response:
    """One order: its state, bills and payments, entitlement and usage (buyer, provider, oversight)."""
    if not viewer.signed_in:
        return login_redirect(request)
    return _order_page(request, session, viewer, order_id)


def _back(
    request: Request,
    session: Session,
    viewer: Viewer,
    order_id: int,
    fields: dict[str, str],
    *,
    error: str = "",
    error_key: str = "",
    verdicts: dict[int, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The page a form was posted from (the order's page or 我的订单), with the outcome."""
    kw: dict[str, Any] = {"error": error, "error_key": error_key, "form": fields, "verdicts": verdicts,
                          "status_code": status_code}  # fmt: skip
    if fields.get("back") == "detail":
        return _order_page(request, session, viewer, order_id, **kw)
    return _orders_page(request, session, viewer, **kw)


def _done(fields: dict[str, str], order_id: int, anchor: str) -> RedirectResponse:
    target = f"/market/orders/{order_id}" if fields.get("back") == "detail" else "/market/orders"
    return RedirectResponse(f"{target}#{anchor}", status_code=303)


def _payment_in(fields: dict[str, str]) -> PaymentIn:
    amount = fen_of(fields.get("amount"), "amount_fen")
    try:
        return PaymentIn(
            reference=fields.get("reference", "").strip(), amount_fen=amount,
            payer_name=fields.get("payer_name", "").strip(), payer_account=fields.get("payer_account", "").strip(),
            paid_on=fields.get("paid_on", "").strip(),  # type: ignore[arg-type]  # pydantic parses the date
        )  # fmt: skip
    except ValidationError as exc:
        raise _invalid(exc) from None


@router.post("/market/orders/{order_id}/bills/{bill_id}/pay", response_class=HTMLResponse)
async def pay(request: Request, order_id: int, bill_id: int, session: DB, viewer: ViewerDep) -> Response:
    """The buyer submits a 对公转账 voucher for a whole bill; the finance staff confirm it."""
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    _require(viewer, Permission.MARKET_ORDER_CREATE, "当前账号不能为订单付款")
    if orders.get_bill(session, viewer.actor, bill_id).order_id != order_id:
        raise BillNotFound(f"账单不存在：{bill_id}")
    try:
        attempt(session, lambda: orders.submit_payment(session, viewer.actor, bill_id, _payment_in(fields)))
    except PubdataError as exc:
        status = _shown(exc)
        return _back(request, session, viewer, order_id, fields, error=exc.message, error_key=f"pay-{bill_id}",
                     status_code=status)  # fmt: skip
    return _done(fields, order_id, f"bill-{bill_id}")


@router.post("/market/orders/{order_id}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, order_id: int, session: DB, viewer: ViewerDep) -> Response:
    """The buyer cancels an order not yet active (its unpaid bill is voided)."""
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    _require(viewer, Permission.MARKET_ORDER_CREATE, "当前账号不能取消订单")
    reason = fields.get("reason", "").strip()[:2000]
    try:
        attempt(session, lambda: orders.cancel_order(session, viewer.actor, order_id, reason))
    except PubdataError as exc:
        status = _shown(exc)
        return _back(request, session, viewer, order_id, fields, error=exc.message, error_key=f"cancel-{order_id}",
                     status_code=status)  # fmt: skip
    return _done(fields, order_id, f"order-{order_id}")


@router.post("/market/orders/{order_id}/verify", response_class=HTMLResponse)
async def verify(request: Request, order_id: int, session: DB, viewer: ViewerDep, home: Home) -> Response:
    """核验: match or no match for a value under the organisation's entitlement to the order's
    verification product (charged as one call). The answer is shown on the page, never kept."""
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    order = orders.get_order(session, viewer.actor, order_id)
    value = fields.get("value", "")
    try:
        answer = attempt(
            session, lambda: verification.verify(session, viewer.actor, order.product_code, value, home=home)
        )
    except PubdataError as exc:
        status = _shown(exc)
        return _back(request, session, viewer, order_id, fields, error=exc.message, error_key=f"verify-{order_id}",
                     status_code=status)  # fmt: skip
    return _back(request, session, viewer, order_id, fields, verdicts={order_id: answer})


@router.post("/market/orders/{order_id}/review", response_class=HTMLResponse)
async def review_step(request: Request, order_id: int, session: DB, viewer: ViewerDep) -> Response:
    """The provider approves or rejects (with a reason) an order's declared use."""
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    _require(viewer, Permission.MARKET_PRODUCT_MANAGE, "订单审核仅供数据产品的提供方使用")
    decision = fields.get("decision", "")
    if decision not in ("approve", "reject"):
        raise Invalid("审核结论须为通过或不通过", field="decision")
    reason = fields.get("reason", "").strip()[:2000]
    try:
        attempt(session, lambda: orders.review_order(session, viewer.actor, order_id, decision == "approve", reason))
    except PubdataError as exc:
        status = _shown(exc)
        return _review_page(request, session, viewer, error=exc.message, error_key=f"{order_id}-{decision}",
                            form=fields, status_code=status)  # fmt: skip
    return RedirectResponse(f"/market/orders/review#order-{order_id}", status_code=303)


# --- 财务结算 (the operator's finance staff; oversight reads) ---------------------------------------------


def _refundable(session: Session, viewer: Viewer) -> list[Any]:
    bills = orders.list_bills(session, viewer.actor)
    return [b for b in bills if b.kind == "order" and b.state == "paid" and not b.settled
            and b.refunded_fen < b.amount_fen]  # fmt: skip


def _finance_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    error: str = "",
    error_key: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    actor = viewer.actor
    confirm = actor.can(Permission.MARKET_PAYMENT_CONFIRM)
    balance = ledger.trial_balance(session, actor) if actor.can(Permission.LEDGER_READ_ANY) else None
    names = Names(session, viewer)
    org_ids = sorted({r.account.organisation_id for r in balance.rows if r.account.organisation_id} if balance
                     else set())  # fmt: skip
    last_month = beijing_today().replace(day=1).toordinal() - 1
    context = {
        "payments": orders.list_payments(session, actor) if confirm else [],
        "refundable": _refundable(session, viewer) if confirm else [],
        "runs": settlement.list_runs(session, actor),
        "balance": balance, "account_kinds": ACCOUNT_KINDS,
        "organisations": [(i, names.org(i)) for i in org_ids],
        "may_confirm": confirm, "may_settle": actor.can(Permission.MARKET_SETTLE),
        "default_month": date.fromordinal(last_month).strftime("%Y-%m"),
        "error": error, "error_key": error_key, "form": form or {},
    }  # fmt: skip
    return _page(request, viewer, "market/finance/index.html", context, tab="finance", status_code=status_code)


def _oversight(request: Request, viewer: Viewer) -> Response | None:
    if not viewer.signed_in:
        return login_redirect(request)
    _require(viewer, Permission.MARKET_ORDER_READ_ANY, "财务结算仅供运营方财务和监管部门使用")
    return None


@router.get("/market/finance", response_class=HTMLResponse)
def finance(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """财务结算: vouchers waiting for confirmation, refunds, settlement runs and the trial balance."""
    if (refused := _oversight(request, viewer)) is not None:
        return refused
    return _finance_page(request, session, viewer)


async def _finance_form(request: Request, viewer: Viewer, permission: Permission) -> dict[str, str] | Response:
    if not viewer.signed_in:
        return login_redirect(request, "/market/finance")
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    _require(viewer, permission, "该操作仅供运营方财务人员使用")
    return fields


@router.post("/market/finance/payments/{payment_id}/decision", response_class=HTMLResponse)
async def decide_payment(request: Request, payment_id: int, session: DB, viewer: ViewerDep) -> Response:
    """Confirm a voucher against the bank statement (the bill is paid and invoiced, access starts) or
    send it back with a reason."""
    fields = await _finance_form(request, viewer, Permission.MARKET_PAYMENT_CONFIRM)
    if isinstance(fields, Response):
        return fields
    decision = fields.get("decision", "")
    if decision not in ("confirm", "reject"):
        raise Invalid("请选择确认到账或退回", field="decision")
    reason = fields.get("reason", "").strip()[:2000]
    try:
        attempt(session, lambda: orders.decide_payment(session, viewer.actor, payment_id, decision == "confirm",
                                                       reason))  # fmt: skip
    except PubdataError as exc:
        status = _shown(exc)
        return _finance_page(request, session, viewer, error=exc.message, error_key=f"payment-{payment_id}",
                             form=fields, status_code=status)  # fmt: skip
    return RedirectResponse("/market/finance#payments", status_code=303)


@router.post("/market/finance/bills/{bill_id}/refund", response_class=HTMLResponse)
async def refund(request: Request, bill_id: int, session: DB, viewer: ViewerDep) -> Response:
    """Give back part or all of a paid order bill not yet settled."""
    fields = await _finance_form(request, viewer, Permission.MARKET_PAYMENT_CONFIRM)
    if isinstance(fields, Response):
        return fields

    def run() -> Any:
        try:
            data = RefundIn(reference=fields.get("reference", "").strip(), amount_fen=fen_of(fields.get("amount")),
                            reason=fields.get("reason", "").strip())  # fmt: skip
        except ValidationError as exc:
            raise _invalid(exc) from None
        return orders.refund(session, viewer.actor, bill_id, data.reference, data.amount_fen, data.reason)

    try:
        attempt(session, run)
    except PubdataError as exc:
        status = _shown(exc)
        return _finance_page(request, session, viewer, error=exc.message, error_key=f"refund-{bill_id}",
                             form=fields, status_code=status)  # fmt: skip
    return RedirectResponse("/market/finance#refunds", status_code=303)


@router.post("/market/finance/settlements", response_class=HTMLResponse)
async def settle(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """Run one month's settlement (metering, usage bills, distribution to the parties)."""
    fields = await _finance_form(request, viewer, Permission.MARKET_SETTLE)
    if isinstance(fields, Response):
        return fields
    month = fields.get("month", "").strip()

    def run() -> Any:
        try:
            SettleIn(month=month)
        except ValidationError:
            raise Invalid(f"结算月份须写成 YYYY-MM（如 2026-11）：{month}", field="month") from None
        return settlement.settle_month(session, viewer.actor, month)

    try:
        attempt(session, run)
    except PubdataError as exc:
        status = _shown(exc)
        return _finance_page(request, session, viewer, error=exc.message, error_key="settle", form=fields,
                             status_code=status)  # fmt: skip
    return RedirectResponse(f"/market/finance#run-{month}", status_code=303)


# --- statements ---------------------------------------------------------------------------------------


def _statement_page(
    request: Request, session: Session, viewer: Viewer, organisation_id: int, month: str, *, tab: str
) -> HTMLResponse:
    month = month.strip()
    if month and not MONTH.match(month):
        raise Invalid(f"对账月份须写成 YYYY-MM：{month}", field="month")
    start, end = month_bounds(month) if month else (None, None)
    statement = ledger.statement(session, viewer.actor, organisation_id, start=start, end=end)
    context = {
        "statement": statement, "org_name": Names(session, viewer).org(organisation_id), "month": month,
        "ledger_kinds": LEDGER_KINDS, "account_kinds": ACCOUNT_KINDS,
        "action": request.url.path,
    }  # fmt: skip
    return _page(request, viewer, "market/finance/statement.html", context, tab=tab)


@router.get("/market/finance/statements/{organisation_id}", response_class=HTMLResponse)
def organisation_statement(
    request: Request, organisation_id: int, session: DB, viewer: ViewerDep, month: str = ""
) -> Response:
    """Any organisation's statement (the finance staff and oversight)."""
    if not viewer.signed_in:
        return login_redirect(request)
    _require(viewer, Permission.LEDGER_READ_ANY, "其他机构的对账单仅供运营方财务和监管部门查看")
    return _statement_page(request, session, viewer, organisation_id, month, tab="finance")


@router.get("/market/statement", response_class=HTMLResponse)
def own_statement(request: Request, session: DB, viewer: ViewerDep, month: str = "") -> Response:
    """对账单: the viewer's own organisation's accounts with the market (receivable, payable)."""
    if not viewer.signed_in:
        return login_redirect(request)
    if viewer.actor.organisation_id is None:
        raise Forbidden("对账单按机构提供：当前账号不属于任何机构")
    return _statement_page(request, session, viewer, viewer.actor.organisation_id, month, tab="statement")


# --- 交易看板 -------------------------------------------------------------------------------------------


def _bars(rows: list[Any]) -> list[dict[str, Any]]:
    """Each group with its bar lengths (% of the largest amount, paid or settled, and of orders)."""
    top_money = max((max(r.paid_fen, r.settled_fen) for r in rows), default=0) or 1
    top_orders = max((r.orders for r in rows), default=0) or 1
    return [
        {
            "row": r,
            "w_paid": round(100 * r.paid_fen / top_money, 1),
            "w_settled": round(100 * r.settled_fen / top_money, 1),
            "w_orders": round(100 * r.orders / top_orders, 1),
        }
        for r in rows
    ]


@router.get("/market/dashboard", response_class=HTMLResponse)
def trading_dashboard(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """交易看板: orders, payments and settled revenue by month, scenario and party (oversight)."""
    if not viewer.signed_in:
        return login_redirect(request)
    _require(viewer, Permission.MARKET_ORDER_READ_ANY, "交易看板仅供运营方和监管部门查看")
    board = dashboard.market_dashboard(session, viewer.actor)
    top_party = max((p.amount_fen for p in board.by_party), default=0) or 1
    context = {
        "board": board, "months": _bars(board.by_month), "scenarios": _bars(board.by_scenario),
        "parties": [{"row": p, "w": round(100 * p.amount_fen / top_party, 1)} for p in board.by_party],
    }  # fmt: skip
    return _page(request, viewer, "market/finance/dashboard.html", context, tab="dashboard")

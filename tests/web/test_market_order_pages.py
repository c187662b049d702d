"""数据产品订单 portal pages: a buyer orders from the product page, submits a 对公转账 voucher, the
finance staff confirm it and the buyer sees the entitlement with its usage; refusals (a wrong amount,
a rejection without a reason, a refund above what was paid) are shown in Chinese with what was typed
kept; refunds; the provider's review; a verification product's 核验 form; the monthly settlement run
from the finance page with the clock moved past the month's end; statements, the trading dashboard;
every page 303s to sign-in for the public, 403s for a role without the right, and another
organisation never sees an order."""

# ruff: noqa: F811 (the `w` fixture imported from tests/market/test_orders.py is each test's argument)
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.audit.models import AuditRecord
from pubdata.authz import Actor
from pubdata.db import write_durable
from pubdata.errors import Forbidden, Invalid
from pubdata.market import dashboard, orders, settlement, verification
from pubdata.market.models import MarketBill, MarketOrder
from pubdata.market.order_schemas import OrderIn
from pubdata.web.audit_pages import AUDIT_ACTIONS
from pubdata.web.market_order_pages import fen_of
from tests.market.test_orders import (  # noqa: F401 (w is the fixture)
    ROWS,
    api_product,
    pay,
    rows_of,
    verify_product,
    w,
)
from tests.web.helpers import hidden_field, login


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def sign_in(client: TestClient, actor: Actor) -> None:
    client.cookies.clear()
    assert login(client, actor.username or "").status_code == 303


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, Any]) -> Any:
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": hidden_field(page.text, "csrf_token")},
                       follow_redirects=False)  # fmt: skip


def section(text: str, element_id: str) -> str:
    """The element with that id, up to its closing tag (the pages nest no element in one of its kind)."""
    found = re.search(rf'<(\w+)[^>]*\bid="{element_id}"', text)
    assert found, f"no #{element_id}"
    return text[found.start() : text.index(f"</{found.group(1)}>", found.end())]


def voucher(reference: str = "BK20261205001", amount: str = "1,200.00", **overrides: str) -> dict[str, str]:
    data = {"reference": reference, "amount": amount, "payer_name": "海川科技有限公司", "payer_account": "3802-1234",
            "paid_on": beijing_today().isoformat(), "back": "mine"}  # fmt: skip
    data.update(overrides)
    return data


def state(session: Session, order_id: int) -> str:
    session.expire_all()
    return session.get(MarketOrder, order_id).state


# --- who may see what -----------------------------------------------------------------------------------


PAGES = ["/market/orders", "/market/orders/review", "/market/finance", "/market/dashboard", "/market/statement"]


def test_the_public_is_sent_to_sign_in_and_roles_without_the_right_are_refused(
    client: TestClient, session: Session, w: dict[str, Any]
) -> None:
    product = api_product(session, w)
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    for url in PAGES + [f"/market/orders/{order.id}", f"/market/finance/statements/{w['buyer'].organisation_id}"]:
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/user/login"), url
    r = client.post(f"/market/products/{product.id}/order", data={"plan": "annual"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/user/login")

    sign_in(client, w["buyer"])  # an enterprise: its orders and statement; no finance, dashboard or review
    for url in ("/market/finance", "/market/dashboard", "/market/orders/review",
                f"/market/finance/statements/{w['buyer'].organisation_id}"):  # fmt: skip
        r = client.get(url)
        assert r.status_code == 403 and "禁止访问" in r.text, url
    mine = client.get("/market/orders").text
    assert "我的订单" in mine and 'id="nav-orders"' in mine and 'id="nav-market-finance"' not in mine
    assert "财务结算" not in mine

    sign_in(client, w["other_buyer"])  # another organisation never sees the order
    r = client.get(f"/market/orders/{order.id}")
    assert r.status_code == 404 and "订单不存在" in r.text
    assert order.code not in client.get("/market/orders").text
    page = client.get("/market/orders")
    r = client.post(f"/market/orders/{order.id}/cancel", follow_redirects=False,
                    data={"csrf_token": hidden_field(page.text, "csrf_token")})  # fmt: skip
    assert r.status_code == 404 and state(session, order.id) == "awaiting_payment"
    bill_id = order.bills[0].id
    r = client.post(f"/market/orders/{order.id}/bills/{bill_id}/pay", follow_redirects=False,
                    data={**voucher(), "csrf_token": hidden_field(page.text, "csrf_token")})  # fmt: skip
    assert r.status_code == 404

    sign_in(client, w["finance"])  # the finance staff: every page of the finance zone
    for url in ("/market/finance", "/market/dashboard"):
        r = client.get(url)
        assert r.status_code == 200 and 'id="nav-market-finance"' in r.text, url
    assert 'id="settle-form"' in client.get("/market/finance").text


def test_the_regulator_reads_the_finance_pages_without_their_forms(
    client: TestClient, session: Session, w: dict[str, Any], as_actor: Any
) -> None:
    api_product(session, w)
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    orders.submit_payment(session, w["buyer"], order.bills[0].id, _voucher_in(order.bills[0]))
    sign_in(client, as_actor("regulator"))
    page = client.get("/market/finance")
    assert page.status_code == 200 and "财务结算" in page.text and "试算平衡" in page.text
    assert "当前账号只能查看" in page.text
    assert 'id="payments"' not in page.text and 'id="settle-form"' not in page.text
    assert client.get(f"/market/orders/{order.id}").status_code == 200  # oversight reads any order
    r = client.post("/market/finance/settlements", data={"month": "2026-01", "csrf_token": hidden_field(page.text,
                    "csrf_token")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 403


def _voucher_in(bill: Any, reference: str = "BK20261205009") -> Any:
    from pubdata.market.order_schemas import PaymentIn

    return PaymentIn(reference=reference, amount_fen=bill.amount_fen, payer_name="海川科技有限公司",
                     paid_on=beijing_today())  # fmt: skip


# --- order → voucher → confirmation → entitlement ------------------------------------------------------


def test_order_voucher_confirmation_and_the_entitlement_with_its_usage(
    client: TestClient, session: Session, w: dict[str, Any]
) -> None:
    product = api_product(session, w)
    sign_in(client, w["buyer"])
    page = client.get(f"/market/products/{product.id}")
    assert 'id="order-form"' in page.text and "年度订阅" in page.text
    r = post_form(client, f"/market/products/{product.id}", f"/market/products/{product.id}/order",
                  {"plan": "annual", "months": "", "declared_use": ""})  # fmt: skip
    assert r.status_code == 303
    order_id = int(r.headers["location"].rsplit("/", 1)[1])
    detail = client.get(r.headers["location"]).text
    assert "待付款" in detail and "1,200.00 元" in detail
    bill = session.scalar(select(MarketBill).where(MarketBill.order_id == order_id))

    # a wrong amount is refused on the page, what was typed kept
    r = post_form(client, "/market/orders", f"/market/orders/{order_id}/bills/{bill.id}/pay",
                  voucher(amount="1199.99"))  # fmt: skip
    assert r.status_code == 422
    err = re.search(rf'id="error-pay-{bill.id}">([^<]*)<', r.text).group(1)
    assert "付款金额须等于账单金额" in err
    assert 'value="BK20261205001"' in r.text and 'value="1199.99"' in r.text
    r = post_form(client, "/market/orders", f"/market/orders/{order_id}/bills/{bill.id}/pay",
                  voucher(amount="12o0"))  # fmt: skip
    assert r.status_code == 422 and "须以元为单位填写" in r.text
    r = post_form(client, "/market/orders", f"/market/orders/{order_id}/bills/{bill.id}/pay", voucher(reference="1"))
    assert r.status_code == 422 and "流水号" in r.text
    # without the session's CSRF token nothing is written
    r = client.post(f"/market/orders/{order_id}/bills/{bill.id}/pay", data=voucher(), follow_redirects=False)
    assert r.status_code == 403
    assert bill.state == "unpaid" and not orders.list_payments(session, w["finance"])

    r = post_form(client, "/market/orders", f"/market/orders/{order_id}/bills/{bill.id}/pay", voucher())
    assert r.status_code == 303
    mine = client.get("/market/orders").text
    assert f'id="pay-pending-{bill.id}"' in mine and "待确认" in mine and f'id="pay-form-{bill.id}"' not in mine

    sign_in(client, w["finance"])
    fin = client.get("/market/finance").text
    (payment,) = orders.list_payments(session, w["finance"])
    card = section(fin, f"payment-{payment.id}")
    assert bill.code in card and "1,200.00 元" in card and "BK20261205001" in card and "海川科技有限公司" in card
    r = post_form(client, "/market/finance", f"/market/finance/payments/{payment.id}/decision", {"decision": "confirm"})
    assert r.status_code == 303
    assert 'id="no-payments"' in client.get("/market/finance").text
    assert state(session, order_id) == "active"

    sign_in(client, w["buyer"])
    rows_of(session, w["buyer"], w)  # one read under the new grant
    write_durable(session)
    mine = client.get("/market/orders").text
    card = section(mine, f"order-{order_id}")
    assert "使用中" in card and "有效" in card
    session.expire_all()
    paid = session.get(MarketBill, bill.id)
    invoice = section(mine, f"invoice-{bill.id}")
    assert paid.invoice_no and paid.invoice_no in invoice
    order = orders.get_order(session, w["buyer"], order_id)
    assert order.buyer_uscc and order.buyer_uscc in invoice
    today_usage = re.sub(r"\s+", " ", section(mine, f"usage-today-{order_id}"))
    assert "今日调用" in today_usage and "1 次 / 10,000 次" in today_usage
    assert f'id="cancel-form-{order_id}"' not in card  # an active order is not cancelled here

    sign_in(client, w["provider_staff"])  # the provider sees the order of its product, without the buyer's forms
    seen = client.get(f"/market/orders/{order_id}")
    assert seen.status_code == 200 and 'id="pay-form-' not in seen.text and "使用中" in seen.text


def test_a_voucher_sent_back_needs_a_reason_and_the_buyer_pays_again(
    client: TestClient, session: Session, w: dict[str, Any]
) -> None:
    api_product(session, w)
    order = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    bill = order.bills[0]
    first = orders.submit_payment(session, w["buyer"], bill.id, _voucher_in(bill, "BK-WRONG-1"))
    sign_in(client, w["finance"])
    action = f"/market/finance/payments/{first.id}/decision"
    r = post_form(client, "/market/finance", action, {"decision": "reject", "reason": "  "})
    assert r.status_code == 422 and re.search(rf'id="error-payment-{first.id}">退回付款须说明理由', r.text)
    r = post_form(client, "/market/finance", action, {"decision": "reject", "reason": "流水号与银行回单不符"})
    assert r.status_code == 303
    r = post_form(client, "/market/finance", action, {"decision": "confirm"})  # decided: not confirmed later
    assert r.status_code == 409 and "不能再处理" in r.text
    assert state(session, order.id) == "awaiting_payment"

    sign_in(client, w["buyer"])
    mine = client.get("/market/orders").text
    assert "已退回" in mine and "流水号与银行回单不符" in mine and f'id="pay-form-{bill.id}"' in mine
    r = post_form(client, "/market/orders", f"/market/orders/{order.id}/bills/{bill.id}/pay",
                  voucher(reference="BK-RIGHT-2"))  # fmt: skip
    assert r.status_code == 303
    assert [p.reference for p in orders.list_payments(session, w["finance"])] == ["BK-RIGHT-2"]


def test_cancelling_and_the_providers_review(client: TestClient, session: Session, w: dict[str, Any]) -> None:
    api_product(session, w)
    verify_product(session, w)
    unpaid = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    sign_in(client, w["buyer"])
    r = post_form(client, f"/market/orders/{unpaid.id}", f"/market/orders/{unpaid.id}/cancel",
                  {"reason": "预算调整", "back": "detail"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith(f"/market/orders/{unpaid.id}")
    page = client.get(f"/market/orders/{unpaid.id}").text
    assert "已取消" in page and "已作废" in page and f'id="cancel-form-{unpaid.id}"' not in page
    r = post_form(client, "/market/orders", f"/market/orders/{unpaid.id}/cancel", {})  # twice: refused, shown
    assert r.status_code == 409 and "不能取消" in r.text

    # the verification product needs the provider's review of the declared use, ordered from its page
    product_id = orders.listed_product(session, "tax-a-verify").id
    r = post_form(client, f"/market/products/{product_id}", f"/market/products/{product_id}/order",
                  {"plan": "per-call", "declared_use": "贷"})  # fmt: skip
    assert r.status_code == 422 and "请填写申报用途" in r.text and 'id="order-error"' in r.text
    assert ">贷</textarea>" in r.text  # what was typed is kept
    r = post_form(client, f"/market/products/{product_id}", f"/market/products/{product_id}/order",
                  {"plan": "per-call", "months": "三", "declared_use": "贷前核验借款企业纳税信用"})  # fmt: skip
    assert r.status_code == 422 and "使用期须是 1 至 36 的整数" in r.text
    r = post_form(client, f"/market/products/{product_id}", f"/market/products/{product_id}/order",
                  {"plan": "no-such", "declared_use": "贷前核验借款企业纳税信用"})  # fmt: skip
    assert r.status_code == 422 and "请选择一个在售的价格计划" in r.text
    r = post_form(client, f"/market/products/{product_id}", f"/market/products/{product_id}/order",
                  {"plan": "per-call", "declared_use": "贷前核验借款企业纳税信用"})  # fmt: skip
    assert r.status_code == 303
    order_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert state(session, order_id) == "pending_approval"

    sign_in(client, w["provider_staff"])  # the operator's staff order nothing: no form, the POST refused
    assert 'id="order-form"' not in client.get(f"/market/products/{product_id}").text
    r = post_form(client, f"/market/products/{product_id}", f"/market/products/{product_id}/order",
                  {"plan": "per-call", "declared_use": "自用"})  # fmt: skip
    assert r.status_code == 403 and "当前账号不能订购数据产品" in r.text
    review = client.get("/market/orders/review").text
    card = section(review, f"order-{order_id}")
    assert "贷前核验借款企业纳税信用" in card and "待审核用途" in card
    r = post_form(client, "/market/orders/review", f"/market/orders/{order_id}/review", {"decision": "reject"})
    assert r.status_code == 422 and re.search(rf'id="error-{order_id}-reject">不通过须说明理由', r.text)
    r = post_form(client, "/market/orders/review", f"/market/orders/{order_id}/review",
                  {"decision": "approve", "reason": "用途属实"})  # fmt: skip
    assert r.status_code == 303 and state(session, order_id) == "active"
    assert 'id="none-waiting"' in client.get("/market/orders/review").text
    sign_in(client, w["reviewer"])  # another operator organisation is not the provider
    page = client.get("/market/orders/review")
    assert page.status_code == 200 and f"order-{order_id}" not in page.text


# --- verification, refunds, settlement, statements, the dashboard --------------------------------------


def test_verify_refund_settle_and_the_dashboard(client: TestClient, session: Session, w: dict[str, Any]) -> None:
    api_product(session, w)
    verify_product(session, w)
    sub = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    pay(session, w, w["buyer"], sub.bills[0])
    per_call = orders.place_order(session, w["buyer"], OrderIn(product="tax-a-verify", plan="per-call",
                                                               declared_use="贷前核验"))  # fmt: skip
    orders.review_order(session, w["provider_staff"], per_call.id, True)

    # 核验 on 我的订单: match, no match, match — three calls, two of them free
    sign_in(client, w["buyer"])
    answers = []
    for value in (ROWS[0][0], ROWS[1][0], ROWS[2][0]):
        r = post_form(client, "/market/orders", f"/market/orders/{per_call.id}/verify", {"value": value})
        assert r.status_code == 200
        answers.append(re.search(rf'id="verdict-{per_call.id}"[^>]*>核验结果：([^<]*)<', r.text).group(1))
    assert answers == ["匹配", "不匹配", "匹配"]
    r = post_form(client, "/market/orders", f"/market/orders/{per_call.id}/verify", {"value": " "})
    assert r.status_code == 422 and "核验值须是" in r.text
    write_durable(session)
    month_usage = re.sub(r"\s+", " ", section(client.get("/market/orders").text, f"usage-month-{per_call.id}"))
    assert "3 次 / 2 次" in month_usage
    sign_in(client, w["other_buyer"])  # another organisation: the order is not found, nothing answered
    page = client.get("/market/orders")
    r = client.post(f"/market/orders/{per_call.id}/verify", follow_redirects=False,
                    data={"value": ROWS[0][0], "csrf_token": hidden_field(page.text, "csrf_token")})  # fmt: skip
    assert r.status_code == 404

    # refunds: more than was paid refused; a part refunded; the buyer cannot refund
    sign_in(client, w["finance"])
    bill_id = sub.bills[0].id
    assert f'id="refund-form-{bill_id}"' in client.get("/market/finance").text
    r = post_form(client, "/market/finance", f"/market/finance/bills/{bill_id}/refund",
                  {"reference": "TK0001", "amount": "1200.01", "reason": "协商退还"})  # fmt: skip
    assert r.status_code == 422 and "超过可退金额" in r.text and 'value="1200.01"' in r.text
    r = post_form(client, "/market/finance", f"/market/finance/bills/{bill_id}/refund",
                  {"reference": "TK0001", "amount": "200", "reason": "部分字段更新延迟，协商退还"})  # fmt: skip
    assert r.status_code == 303
    assert "200.00 元" in section(client.get("/market/finance").text, f"refunded-{bill_id}")
    sign_in(client, w["buyer"])
    page = client.get("/market/orders")
    r = client.post(f"/market/finance/bills/{bill_id}/refund", follow_redirects=False,
                    data={"reference": "TK0002", "amount": "1", "reason": "x",
                          "csrf_token": hidden_field(page.text, "csrf_token")})  # fmt: skip
    assert r.status_code == 403

    # the month is settled once it is over, from the finance page
    month = f"{beijing_today():%Y-%m}"
    day = beijing_today()
    next_month = day.replace(day=28) + timedelta(days=6)
    with time_machine.travel(next_month, tick=False):
        sign_in(client, w["finance"])
        r = post_form(client, "/market/finance", "/market/finance/settlements", {"month": "2026-13"})
        assert r.status_code == 422 and "YYYY-MM" in r.text
        r = post_form(client, "/market/finance", "/market/finance/settlements", {"month": month})
        assert r.status_code == 303 and r.headers["location"].endswith(f"#run-{month}")
        fin = client.get("/market/finance").text
        run = section(fin, f"run-{month}")
        assert "1,000.50 元" in run  # 1,200.00 paid − 200.00 refunded + 0.50 for the one billed call
        shares = settlement.get_run(session, w["finance"], month).shares
        assert shares and all(x.party_label in run for x in shares)
        assert sum(x.amount_fen for x in shares) == 100_050
        r = post_form(client, "/market/finance", "/market/finance/settlements", {"month": month})
        assert r.status_code == 409 and "已结算" in r.text

        board = client.get("/market/dashboard")
        assert board.status_code == 200 and "数据产品交易看板" in board.text
        table = section(board.text, "table-scenario")
        assert "航贸金融" in table and "1,000.00" in table and "1,000.50" in table
        assert 'id="chart-month"' in board.text and 'id="chart-party"' in board.text
        assert month in section(board.text, "table-month")

        # statements: the buyer's own; any organisation's for the finance staff
        statement = client.get(f"/market/finance/statements/{w['buyer'].organisation_id}")
        assert statement.status_code == 200 and "应收款" in statement.text and "应付款" in statement.text
        assert "退款" in statement.text
        sign_in(client, w["buyer"])
        own = client.get("/market/statement").text
        assert "对账单" in own and "收款" in own and "0.50" in own  # the usage bill is owed
        assert client.get("/market/statement?month=2026-1").status_code == 422
    audited = session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("market.%"))).all()
    assert {"market.settle", "market.refund", "market.verify", "market.payment_decide"} <= set(audited)


def test_the_dashboard_aggregates_by_month_scenario_and_party(session: Session, w: dict[str, Any]) -> None:
    api_product(session, w)
    with pytest.raises(Forbidden):
        dashboard.market_dashboard(session, w["buyer"])
    empty = dashboard.market_dashboard(session, w["finance"])
    assert (empty.orders, empty.paid_fen, empty.settled_fen, empty.by_party) == (0, 0, 0, [])
    first = orders.place_order(session, w["buyer"], OrderIn(product="tax-api", plan="annual"))
    pay(session, w, w["buyer"], first.bills[0])
    orders.place_order(session, w["other_buyer"], OrderIn(product="tax-api", plan="annual"))  # unpaid
    month = f"{beijing_today():%Y-%m}"
    board = dashboard.market_dashboard(session, w["finance"])
    assert board.orders == 2 and board.paid_fen == 120_000 and board.settled_fen == 0
    assert [(r.key, r.orders, r.paid_fen) for r in board.by_month] == [(month, 2, 120_000)]
    assert [(r.label, r.orders, r.paid_fen) for r in board.by_scenario] == [("航贸金融", 2, 120_000)]
    with time_machine.travel(beijing_today().replace(day=28) + timedelta(days=6), tick=False):
        run = settlement.settle_month(session, w["finance"], month)
    board = dashboard.market_dashboard(session, w["finance"])
    assert board.settled_fen == run.gross_fen == 120_000 and board.runs == 1
    by_party = {p.party: p.amount_fen for p in board.by_party}
    assert sum(by_party.values()) == 120_000 and by_party == {s.party: s.amount_fen for s in run.shares}
    assert {(c.month, c.scenario) for c in board.shares} == {(month, "shipping_trade_finance")}


# --- small pieces -----------------------------------------------------------------------------------------


def test_amounts_in_yuan_become_exact_fen() -> None:
    assert [fen_of(t) for t in ("0", "0.05", "1200", "1,200.00", "1200.5", " 19999.99 元")] == [
        0, 5, 120_000, 120_000, 120_050, 1_999_999,
    ]  # fmt: skip
    for bad in ("", "1.234", "-1", "1e3", "abc", "0x10", "1.2.3"):
        with pytest.raises(Invalid):
            fen_of(bad)


def test_every_order_settlement_and_verification_action_has_a_chinese_label() -> None:
    actions = [*orders.ACTIONS, *settlement.ACTIONS, *verification.ACTIONS, "access.market_grant"]
    assert len(actions) == 11
    for action in actions:
        assert re.search(r"[\u4e00-\u9fff]", AUDIT_ACTIONS.get(action, "")), action

"""数据产品订单 in a real browser: an enterprise orders a subscription from the product page and
submits its 对公转账 voucher; the operator's finance staff confirm it on 财务结算; the buyer then sees
its order 使用中 with the entitlement's usage on 我的订单."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pubdata.access.service import beijing_today
from pubdata.market import service as market
from pubdata.market.models import MarketBill, MarketPayment, MarketProduct
from pubdata.market.schemas import ContractIn, PlanIn, ReviewIn
from pubdata.store.ingest import load as ingest
from tests import builders
from tests.market.builders import product_in, tax_table

pytestmark = pytest.mark.e2e

ANNUAL = PlanIn(code="annual", title="年度订阅", kind="subscription", price_fen=120_000, term_months=12)
ROWS = [
    "91370200MA00000011,海川科技,市南区,A,1200.5,13800000001",
    "91370200MA00000022,北岸物流,黄岛区,B,800.0,13800000002",
]


@pytest.fixture(scope="module")
def cast(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with live_server.session() as s:
        department = builders.actor_of(builders.make_user(s, builders.make_org(s, "department"), roles=["department"]))
        operator_org = builders.make_org(s, "operator", name="青岛市公共数据运营有限公司（订单测试）")
        operator = builders.actor_of(builders.make_user(s, operator_org, roles=["operator"]))
        reviewer = builders.actor_of(builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"]))
        builders.make_user(s, builders.make_org(s, "operator"), roles=["finance"], username="e2e-orders-finance")
        buyer_org = builders.make_org(s, "enterprise", name="海川科技有限公司（订单测试）")
        builders.make_user(s, buyer_org, roles=["enterprise"], username="e2e-orders-buyer")
        resource_id = tax_table(s, department, open_type="conditional")
        path = tmp_path_factory.mktemp("orders") / "tax.csv"
        path.write_text("uscc,name,district,tax_credit_grade,revenue,legal_phone\n" + "\n".join(ROWS) + "\n",
                        encoding="utf-8")  # fmt: skip
        assert ingest.ingest(s, department, resource_id, path, home=live_server.settings.resolved_home).state == (
            "published"
        )
        made = market.create_product(s, operator, product_in(
            resource_id, code="e2e-orders-tax", title="企业纳税信用等级接口（订单测试）", requires_approval=False,
            contract=ContractIn(fields=["uscc", "tax_credit_grade"], daily_call_quota=500),
        ))  # fmt: skip
        market.add_plan(s, operator, made.id, ANNUAL)
        market.submit(s, operator, made.id)
        market.review(s, reviewer, made.id, ReviewIn(action="approve"))
        s.get(MarketProduct, made.id).notice_until = beijing_today() - timedelta(days=1)
        market.list_product(s, reviewer, made.id)
        return {"product_id": made.id, "title": made.title, "buyer_org_id": buyer_org.id}


def test_buyer_orders_and_pays_finance_confirms_buyer_uses(
    as_user: Any, live_server: Any, cast: dict[str, Any], page_errors: list[str]
) -> None:
    pid = cast["product_id"]

    # the buyer orders the annual subscription from the product page
    buyer = as_user("e2e-orders-buyer")
    buyer.goto(f"/market/products/{pid}")
    assert buyer.locator("#order-panel").is_visible()
    buyer.locator("#order-panel").screenshot(path="/tmp/market-order-form.png")
    buyer.check("#order-panel input[value=annual]")
    buyer.click("#order-submit")
    buyer.wait_for_url(re.compile(r"/market/orders/\d+$"))
    order_id = int(buyer.url.rsplit("/", 1)[1])
    assert "待付款" in buyer.locator("#order-state").inner_text()
    with live_server.session() as s:
        bill_id = s.scalar(select(MarketBill.id).where(MarketBill.order_id == order_id))

    # …and submits the bank transfer's voucher (the amount is the bill's, filled in)
    assert buyer.input_value(f"#pay-amount-{bill_id}") == "1,200.00"
    buyer.fill(f"#pay-reference-{bill_id}", "BK-E2E-20261205")
    buyer.fill(f"#pay-account-{bill_id}", "3802 0000 0000 1234")
    buyer.click(f"#pay-{bill_id}")
    buyer.wait_for_url(re.compile(rf"/market/orders/{order_id}(#.*)?$"))
    assert "等待运营方财务确认" in buyer.locator(f"#pay-pending-{bill_id}").inner_text()
    with live_server.session() as s:
        payment_id = s.scalar(select(MarketPayment.id).where(MarketPayment.bill_id == bill_id))

    # the finance staff confirm it on 财务结算
    finance = as_user("e2e-orders-finance")
    finance.click("#nav-market-finance")
    finance.wait_for_url(re.compile(r"/market/finance$"))
    card = finance.locator(f"#payment-{payment_id}")
    assert "BK-E2E-20261205" in card.inner_text() and "1,200.00 元" in card.inner_text()
    finance.screenshot(path="/tmp/market-finance.png", full_page=True)
    finance.click(f"#confirm-{payment_id}")
    finance.wait_for_url(re.compile(r"/market/finance(#.*)?$"))
    assert finance.locator("#no-payments").is_visible()

    # the buyer sees the order in use, its invoice and its usage against the quota
    buyer.click("#nav-orders")
    buyer.wait_for_url(re.compile(r"/market/orders$"))
    assert "使用中" in buyer.locator(f"#order-state-{order_id}").inner_text()
    assert "有效" in buyer.locator(f"#entitlement-state-{order_id}").inner_text()
    assert "0 次 / 500 次" in buyer.locator(f"#usage-today-{order_id}").inner_text()
    assert "发票号 FP" in buyer.locator(f"#invoice-{bill_id}").inner_text()
    buyer.screenshot(path="/tmp/market-orders.png", full_page=True)
    finance.goto("/market/dashboard")
    assert "1,200.00" in finance.locator("#total-paid").inner_text()
    finance.screenshot(path="/tmp/market-dashboard.png", full_page=True)
    assert page_errors == []


def test_a_report_is_uploaded_by_its_provider_and_downloaded_by_its_buyer(
    as_user: Any, live_server: Any, tmp_path: Any, page_errors: list[str]
) -> None:
    from pubdata.market import orders
    from pubdata.market.order_schemas import OrderIn, PaymentIn

    with live_server.session() as s:
        operator_org = builders.make_org(s, "operator", name="青岛市公共数据运营有限公司（报告测试）")
        operator = builders.actor_of(builders.make_user(s, operator_org, roles=["operator"], username="e2e-rep-op"))
        reviewer = builders.actor_of(builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"]))
        finance = builders.actor_of(builders.make_user(s, builders.make_org(s, "operator"), roles=["finance"]))
        buyer = builders.actor_of(builders.make_user(s, builders.make_org(s, "enterprise"), roles=["enterprise"],
                                                     username="e2e-rep-buyer"))  # fmt: skip
        department = builders.actor_of(builders.make_user(s, builders.make_org(s, "department"), roles=["department"]))
        resource_id = tax_table(s, department)
        made = market.create_product(s, operator, product_in(
            resource_id, code="e2e-report", kind="report", title="纳税信用分析报告（报告测试）",
            requires_approval=False, contract=ContractIn(fields=["district", "tax_credit_grade"]),
        ))  # fmt: skip
        market.add_plan(s, operator, made.id, PlanIn(code="once", title="单份", kind="one_off", price_fen=50_000))
    pdf = tmp_path / "分析报告.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")

    # the provider uploads the PDF on its draft's page
    provider = as_user("e2e-rep-op")
    provider.goto(f"/market/products/{made.id}")
    assert provider.locator("#no-reports").is_visible()
    provider.fill("#report-note", "2026年第四季度")
    provider.set_input_files("#report-file", str(pdf))
    provider.click("#report-upload")
    provider.wait_for_url(re.compile(rf"/market/products/{made.id}#reports$"))
    assert "分析报告.pdf" in provider.locator("#report-files").inner_text()

    with live_server.session() as s:  # reviewed, listed, bought and paid through the services
        market.submit(s, operator, made.id)
        market.review(s, reviewer, made.id, ReviewIn(action="approve"))
        s.get(MarketProduct, made.id).notice_until = beijing_today() - timedelta(days=1)
        market.list_product(s, reviewer, made.id)
        order = orders.place_order(s, buyer, OrderIn(product="e2e-report", plan="once"))
        paid = PaymentIn(reference="BK-E2E-REPORT", amount_fen=50_000, payer_name="买方", paid_on=beijing_today())
        payment = orders.submit_payment(s, buyer, order.bills[0].id, paid)
        orders.decide_payment(s, finance, payment.id, True)

    # the buyer follows 下载报告 from its order to the file
    page = as_user("e2e-rep-buyer")
    page.goto(f"/market/orders/{order.id}")
    page.click(f"#report-files-{order.id}")
    page.wait_for_url(re.compile(rf"/market/products/{made.id}#reports$"))
    link = page.locator("#report-files a").first
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "分析报告.pdf"
    assert Path(download.path()).read_bytes() == pdf.read_bytes()
    assert page_errors == []

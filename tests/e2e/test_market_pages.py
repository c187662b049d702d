"""数据产品 in a real browser: a data merchant's submitted product is approved into public notice by
the operator on 上架审核; once the notice is over the operator lists it; an anonymous visitor finds
it on 数据产品 filtered by its scenario and sees its plan and fee ceiling on the price list."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from pubdata.access.service import beijing_today
from pubdata.market import service as market
from pubdata.market.models import MarketProduct
from pubdata.market.schemas import PlanIn
from tests import builders
from tests.market.builders import product_in, tax_table

pytestmark = pytest.mark.e2e

PLAN = PlanIn(code="per-call", title="按次调用", kind="per_call", unit_price_fen=50, free_quota=1_000,
              monthly_cap_fen=123_450)  # fmt: skip


@pytest.fixture(scope="module")
def cast(live_server: Any) -> dict[str, Any]:
    with live_server.session() as s:
        department = builders.actor_of(builders.make_user(s, builders.make_org(s, "department"), roles=["department"]))
        merchant_org = builders.make_org(s, "data_merchant", name="青岛海数科技（市场测试）")
        merchant = builders.actor_of(builders.make_user(s, merchant_org, roles=["data_merchant"]))
        builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"], username="e2e-market-operator")
        resource_id = tax_table(s, department)
        made = market.create_product(
            s, merchant, product_in(resource_id, code="e2e-tax-grade", title="企业纳税信用等级查询（市场测试）",
                                    scenario="shipping_trade_finance"),
        )  # fmt: skip
        market.add_plan(s, merchant, made.id, PLAN)
        market.submit(s, merchant, made.id)
        return {"product_id": made.id, "title": made.title, "provider": merchant_org.name}


def test_approve_list_and_find_the_product(
    as_user: Any, page: Any, live_server: Any, cast: dict[str, Any], page_errors: list[str]
) -> None:
    pid = cast["product_id"]

    # the operator approves the submitted product into public notice
    op = as_user("e2e-market-operator")
    op.click("#nav-market")
    op.wait_for_url(re.compile(r"/market$"))
    op.click("#tab-review")
    op.wait_for_url(re.compile(r"/market/review$"))
    assert cast["title"] in op.locator(f"#product-{pid}").inner_text()
    op.fill(f"#approve-days-{pid}", "5")
    op.click(f"#approve-{pid}")
    op.wait_for_url(re.compile(r"/market/review(#.*)?$"))
    until = beijing_today() + timedelta(days=5)
    assert "公示中" in op.locator(f"#state-{pid}").inner_text()
    assert f"公示至 {until.isoformat()}" in op.locator(f"#notice-{pid}").inner_text()
    assert op.locator(f"#list-{pid}").count() == 0  # not before the notice is over

    # the notice is over: the operator lists it
    with live_server.session() as s:
        s.get(MarketProduct, pid).notice_until = beijing_today() - timedelta(days=1)
    op.reload()
    op.click(f"#list-{pid}")
    op.wait_for_url(re.compile(r"/market/review(#.*)?$"))
    assert "已上架" in op.locator(f"#state-{pid}").inner_text()

    # an anonymous visitor finds it by scenario and sees its plan on the price list
    page.goto("/")
    page.click("#nav-market")
    page.wait_for_url(re.compile(r"/market$"))
    page.select_option("#filter-scenario", "shipping_trade_finance")
    page.click("#filter-button")
    page.wait_for_url(re.compile(r"/market\?scenario=shipping_trade_finance"))
    card = page.locator(f"#product-{pid}")
    assert cast["title"] in card.inner_text() and cast["provider"] in card.inner_text()
    assert "0.50 元/次" in page.locator(f"#price-{pid}").inner_text()
    page.select_option("#filter-scenario", "medical")
    page.click("#filter-button")
    page.wait_for_url(re.compile(r"/market\?scenario=medical"))
    assert page.locator(f"#product-{pid}").count() == 0

    page.goto("/market/prices")
    row = page.locator("#price-table tbody tr").filter(has_text="按次调用")
    assert cast["title"] in row.inner_text() and "每月最高 1,234.50 元" in row.inner_text()
    page.click(f'#price-table a[href="/market/products/{pid}"]')
    page.wait_for_url(re.compile(rf"/market/products/{pid}$"))
    page.locator("a.button:has-text('订购')").first.click()  # to the order panel: sign in first
    assert page.locator("#order-login").is_visible()
    page.screenshot(path="/tmp/market.png", full_page=True)
    assert page_errors == []

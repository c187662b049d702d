"""银企直通车 in a real browser: an enterprise authorises a bank of the finance zone from the product it
matches, applies in one step; the bank reviews, approves with amount and rate, disburses; the
enterprise sees the loan disbursed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pubdata.access import zones
from pubdata.finance.loans import service as loans
from tests import builders
from tests.finance.builders import publish_facts
from tests.finance.channel import product

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"


@pytest.fixture(scope="module")
def cast(live_server: Any) -> dict[str, Any]:
    with live_server.session() as s:
        bank_org = builders.make_org(s, "bank", name="青岛银行（直通车测试）")
        bank = builders.actor_of(builders.make_user(s, bank_org, roles=["bank"], username="e2e-loan-bank"))
        operator = builders.actor_of(builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"]))
        member = zones.apply(s, bank, "finance", "金融许可证 B0001H237020001，等保三级备案")
        zones.review_member(s, operator, "finance", member.id, admit=True)
        ent = builders.make_org(s, "enterprise", name="青岛海科智能科技有限公司（直通车测试）", district="崂山区")
        builders.make_user(s, ent, roles=["enterprise"], username="e2e-loan-ent", display_name="财务经理")
        publish_facts(
            s, Path(live_server.settings.home),
            [{"uscc": ent.uscc, "name": ent.name, "registered_district": "崂山区", "industry_code": "I6511",
              "tax_credit_grade": "A", "insured_headcount": 35, "is_dishonest_debtor": False}],
        )  # fmt: skip
        made = loans.create_product(s, bank, product())
        loans.set_product_state(s, bank, made.id, "published")
        return {"product_id": made.id, "bank": bank_org.name}


def test_consent_apply_approve_disburse(as_user: Any, cast: dict[str, Any], page_errors: list[str]) -> None:
    pid = cast["product_id"]

    # the enterprise sees the product it matches, authorises the bank from it, and applies
    ent = as_user("e2e-loan-ent")
    ent.click("#nav-finance")
    ent.wait_for_url(re.compile(r"/finance/products$"))
    assert ent.locator(f"#verdict-{pid}").inner_text() == "符合"
    assert "✓" in ent.locator(f"#reasons-{pid}").inner_text()
    ent.click(f"#apply-{pid} summary")
    ent.click(f"#consent-link-{pid}")
    ent.wait_for_url(re.compile(r"/finance/consents\?"))
    assert ent.locator("#grant-bank option:checked").inner_text() == cast["bank"]
    assert ent.is_checked("#grant-section-tax") and not ent.is_checked("#grant-section-score")
    ent.click("#grant-button")
    ent.wait_for_url(re.compile(r"/finance/products(#.*)?$"))
    ent.click(f"#apply-{pid} summary")
    ent.fill(f"#apply-{pid}-amount", "100")
    ent.fill(f"#apply-{pid}-term", "12")
    ent.fill(f"#apply-{pid}-purpose", "采购芯片原材料")
    ent.click(f"#apply-button-{pid}")
    ent.wait_for_url(re.compile(r"/finance/applications/\d+$"))
    app_path = urlsplit(ent.url).path
    assert "已受理" in ent.locator("#application-state").inner_text()

    # the bank reviews, approves (rate in %), disburses
    bank = as_user("e2e-loan-bank")
    bank.click("#nav-finance")
    bank.wait_for_url(re.compile(r"/finance/pipeline$"))
    bank.click(f'#pipeline-table a[href="{app_path}"] >> nth=0')
    bank.wait_for_url(re.compile(re.escape(app_path) + "$"))
    assert "结论：符合准入条件" in bank.locator("#trace").inner_text()
    bank.click("#review-button")
    bank.wait_for_selector("#approve-button")
    assert "审查中" in bank.locator("#application-state").inner_text()
    bank.fill("#approve-amount", "80")
    bank.fill("#approve-rate", "3.8")
    bank.fill("#approve-term", "12")
    bank.screenshot(path=f"{SCREENSHOTS}/pubdata-finance-approve.png", full_page=True)
    bank.click("#approve-button")
    bank.wait_for_selector("#disburse-button")
    assert "已批准" in bank.locator("#application-state").inner_text()
    bank.click("#disburse-button")
    bank.wait_for_selector("#figure-disbursed")
    assert "已放款" in bank.locator("#application-state").inner_text()

    # the enterprise sees its loan disbursed, on the terms approved
    ent.goto("/finance/applications")
    assert "已放款" in ent.locator(f'#loan-table tr:has(a[href="{app_path}"])').inner_text()
    ent.goto(app_path)
    assert ent.locator("#figure-approved").inner_text().startswith("80万元")
    assert ent.locator("#figure-rate").inner_text().startswith("3.80%")
    ent.screenshot(path=f"{SCREENSHOTS}/pubdata-finance-disbursed.png", full_page=True)
    assert page_errors == []

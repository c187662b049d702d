"""梯度培育 in a real browser: an enterprise opens its tier page from the navigation, sees both versions
of the MIIT tier rules with 创新型中小企业 (2022) 待补充 and the facts it lacks, types the missing facts
into the form (money in 万元) — a bad amount is refused on the form with what was typed kept and
nothing saved — then saves, and the tier is 符合 with its score and the values listed with who
supplied them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pubdata.authz import SYSTEM
from pubdata.enterprise import service
from pubdata.enterprise.facts import FACTS
from tests import builders
from tests.enterprise.mini_city import A, build_city

pytestmark = pytest.mark.e2e

SCREENSHOT = "/tmp/tier_page.png"
INNOVATIVE = "#tier-miit-tiers-2022-innovative_sme"
STATUS_LABELS = {"met": "符合", "not_met": "不符合", "undecided": "待补充"}

# what makes 创新型中小企业 (2022) pass for enterprise A of the mini city (as in
# tests/web/test_tier_page.py, plus the self-developed count so that the score is exact): yes/no
# picked by their Chinese labels, numbers typed as a user would. The pack's score: 10 + 20 (创新能力)
# + 20 + 10 (成长性) + 10 + 20 (专业化) = 90
YES_NO = {
    "is_sme": "是",
    "major_accident_or_tax_evasion_last_3_years": "否",
    "product_in_prohibited_restricted_or_obsolete_category": "否",
    "sci_tech_award_national_or_provincial_last_3_years": "否",
    "tech_innovation_demo_or_ip_advantage_or_ip_demo_enterprise_valid": "否",
    "rd_institution_provincial_or_above": "否",
    "strategic_emerging_industry": "是",  # 10 分
}
NUMBERS = {
    "new_equity_financing_last_3_years_yuan": "120",  # 万元: below 500万元, so no direct condition
    "ip_class1_high_value_count": "0",
    "ip_class1_self_developed_count": "0",  # with A's public Ⅰ类 patent: C. 10 分
    "rd_expense_ratio_pct": "5",  # 5%以上: 20 分
    "main_business_revenue_growth_pct": "16.5",  # 15%以上: 20 分
    "asset_liability_ratio_pct": "50",  # 55%以下: 10 分
    "main_business_revenue_share_pct": "80",  # 70%以上: 20 分
}
SUPPLIER = "财务总监王敏"


@pytest.fixture(scope="module")
def cast(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = live_server.settings.home
    with live_server.session() as s:
        build_city(s, home, tmp_path_factory.mktemp("city"))
        service.build_facts(s, SYSTEM, home=home)
        ent = builders.make_org(s, "enterprise", uscc=A, name="青岛梯度测试科技有限公司")
        builders.make_user(s, ent, roles=["enterprise"], username="e2e-tier-ent", display_name=SUPPLIER)


def _tags(row: Any) -> list[str]:
    return [t.strip() for t in row.locator(".tag").all_inner_texts()]


def test_supply_the_missing_facts_and_the_tier_is_met(as_user: Any, cast: None, page_errors: list[str]) -> None:
    # from the navigation: 企业档案 → 梯度培育评价
    ent = as_user("e2e-tier-ent")
    ent.get_by_role("navigation", name="主导航").get_by_role("link", name="企业档案").click()
    ent.wait_for_url(re.compile(r"/me/facts$"))
    ent.click("#facts-tiers-link")
    ent.wait_for_url(re.compile(r"/me/tiers$"))

    # both versions, the one in force (2026) first, every tier's result in Chinese
    versions = ent.locator("section.tier-version")
    assert versions.evaluate_all("els => els.map(e => e.id)") == ["tiers-miit-tiers-2026", "tiers-miit-tiers-2022"]
    assert "现行" in ent.locator("#tiers-miit-tiers-2026 h2").inner_text()
    assert "旧版" in ent.locator("#tiers-miit-tiers-2022 h2").inner_text()
    rows = ent.locator("table.tier-table tbody tr")
    assert rows.count() == 6  # three tiers in each version
    for i in range(rows.count()):
        row = rows.nth(i)
        assert row.locator(".tier-status").inner_text() == STATUS_LABELS[row.get_attribute("data-status")]

    # 创新型中小企业 (2022) is 待补充, with the facts it lacks listed
    row = ent.locator(INNOVATIVE)
    assert row.get_attribute("data-status") == "undecided"
    assert row.locator(".tier-status").inner_text() == "待补充"
    assert "满分 100 分，60 分以上通过" in row.locator(".tier-score").inner_text()
    lacking = _tags(row)
    for name in [*YES_NO, *NUMBERS]:
        assert FACTS[name].title in lacking, name
    assert ent.locator("#tiers-supplied-none").inner_text() == "尚未填报。"

    # the user fills the form; the percentage field takes no letters, and the amount in 万元 has
    # more decimals than a yuan
    for name, label in YES_NO.items():
        ent.select_option(f"#fact-{name}", label=label)
    for name, text in NUMBERS.items():
        ent.fill(f"#fact-{name}", text)
    rd = ent.locator("#fact-rd_expense_ratio_pct")
    rd.fill("")
    rd.press_sequentially("abc")
    assert rd.input_value() == ""
    rd.fill(NUMBERS["rd_expense_ratio_pct"])
    money = "#fact-new_equity_financing_last_3_years_yuan"
    ent.fill(money, "12.345678")
    ent.fill("#tiers-note", "2025 年度审计报告")
    ent.click("#tiers-button")
    ent.wait_for_url(re.compile(rf"/enterprises/{A}/tiers$"))

    # refused: the problem is named on the form, everything typed is kept, nothing is saved
    error = ent.locator("#tiers-error")
    assert error.get_attribute("role") == "alert"
    assert "未保存" in error.inner_text()
    assert "近三年新增股权融资：最多精确到元" in error.inner_text()
    assert ent.input_value(money) == "12.345678"
    assert ent.input_value("#fact-rd_expense_ratio_pct") == "5"
    assert ent.locator("#fact-is_sme option:checked").inner_text() == "是"
    assert ent.input_value("#tiers-note") == "2025 年度审计报告"
    assert ent.locator(INNOVATIVE).get_attribute("data-status") == "undecided"
    assert ent.locator("#tiers-supplied-none").is_visible()
    assert page_errors == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    page_errors.clear()  # the refused form came back as the 422 page it should be

    # corrected and saved: the page is evaluated again (all of them are saved now, so the refused
    # form saved none)
    ent.fill(money, NUMBERS["new_equity_financing_last_3_years_yuan"])
    ent.click("#tiers-button")
    filled = len(YES_NO) + len(NUMBERS)
    ent.wait_for_url(re.compile(rf"/me/tiers\?saved={filled}$"))
    assert f"已保存 {filled} 项填报信息" in ent.locator("#tiers-saved").inner_text()
    row = ent.locator(INNOVATIVE)
    assert row.get_attribute("data-status") == "met"
    assert row.locator(".tier-status").inner_text() == "符合"
    assert row.locator(".tier-score").inner_text().startswith("90 分")
    trace = ent.locator("#trace-miit-tiers-2022-innovative_sme")
    trace.locator("summary").click()
    groups = {
        g.locator("th").inner_text(): g.locator("td").first.inner_text()
        for g in trace.locator("table.tier-groups tbody tr").all()
    }
    assert groups == {"创新能力指标": "30 分", "成长性指标": "30 分", "专业化指标": "30 分", "总分": "90 分"}
    assert "结论：符合条件" in trace.inner_text()

    # the values supplied, in words and 元/万元, with who supplied them and the note
    supplied = ent.locator("#tiers-supplied tbody tr")
    assert supplied.count() == filled
    for i in range(filled):
        cells = supplied.nth(i).locator("td").all_inner_texts()
        assert cells[1] == SUPPLIER and cells[3] == "2025 年度审计报告", cells
    cell = ent.locator("#supplied-new_equity_financing_last_3_years_yuan td").first
    assert cell.inner_text() == "1,200,000 元（120.00 万元）"
    assert ent.locator("#supplied-rd_expense_ratio_pct td").first.inner_text() == "5.00%"
    assert ent.locator("#supplied-is_sme td").first.inner_text() == "是"
    ent.screenshot(path=SCREENSHOT, full_page=True)
    assert page_errors == []

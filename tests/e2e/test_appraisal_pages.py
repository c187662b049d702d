"""数据资产评估报告 in a real browser: an appraisal agency's appraiser opens 评估报告 from the nav,
creates a draft for a registered data asset, enters the cost method (components with their evidence,
δ by the remaining economic life) and the income method on the forms — a discount rate of 0 is
refused on the page in Chinese naming the field, what was typed kept — fixes it, reconciles,
classifies and signs; the report shows each method's formula with the numbers, the inputs with
their evidence, the conclusion in 元 and the 财会〔2023〕11号 classification; the printable view
opens. The asset's holder then finds the signed report; another organisation's user does not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pubdata.authz import Actor
from pubdata.standards import uscc_with_check
from tests import builders
from tests.assets.registry.test_fingerprint import _load
from tests.assets.registry.test_registry import DATA, _entry_code
from tests.assets.valuation.helpers import valuation_world
from tests.conftest import ROLE_ORG_KIND

pytestmark = pytest.mark.e2e

REFUSED_422 = "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
NOT_FOUND_404 = "Failed to load resource: the server responded with a status of 404 (Not Found)"


@pytest.fixture(scope="module")
def cast(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A department's table registered as a data asset, and the cast of ``valuation_world``."""
    with live_server.session() as s:

        def as_actor(role: str, org: Any = None) -> Actor:
            org = org or builders.make_org(s, ROLE_ORG_KIND[role])
            return builders.actor_of(builders.make_user(s, org, roles=[role]))

        dept_org = builders.make_org(s, "department", name="青岛市测试数据局（评估）",
                                     uscc=uscc_with_check("11370200MB0009101"))  # fmt: skip
        department = builders.actor_of(builders.make_user(s, dept_org, roles=["department"]))
        operator = as_actor("operator")
        home = Path(live_server.settings.home)
        rid = _load(s, department, home, tmp_path_factory.mktemp("appraisal-data"), DATA)
        world = {"department": department, "dept_org": dept_org, "registrar": operator, "rid": rid,
                 "entry": _entry_code(s, rid), "home": home}  # fmt: skip
        w = valuation_world(s, world, as_actor)
        return {"asset": w["asset"], "appraiser": w["appraiser"].username, "holder": w["holder"].username,
                "other_agency": w["other_agency"].username, "stranger": w["stranger"].username,
                "holder_name": dept_org.name}  # fmt: skip


def test_an_appraiser_signs_a_report_the_holder_reads_it_and_others_do_not_find_it(
    as_user: Any, live_server: Any, cast: dict[str, Any], page_errors: list[str]
) -> None:
    asset = cast["asset"]

    # the appraiser opens 评估报告 from the nav and creates a draft for the registered asset
    a = as_user(cast["appraiser"])
    a.click("#nav-appraisals")
    a.wait_for_url(re.compile(r"/appraisals$"))
    assert "数据资产评估报告" in a.locator("h1").inner_text()
    a.click("#new-appraisal")
    a.wait_for_url(re.compile(r"/appraisals/new$"))
    assert a.input_value("#appraisers") == cast["appraiser"]  # signed by the one who opens it
    a.fill("#registration_code", asset)
    a.fill("#title", "各区金额数据资源价值评估（浏览器测试）")
    a.select_option("#purpose", "accounting")
    a.fill("#purpose_note", "数据资产入表")
    a.click("#create")
    a.wait_for_url(re.compile(r"/appraisals/(?!new$)[^/?#]+$"))
    url = a.url
    code = url.rsplit("/", 1)[1]
    assert a.locator("#report-code").inner_text() == code
    assert "草稿" in a.locator("#report-state").inner_text()
    assert "尚未确定评估结论" in a.locator("#no-conclusion").inner_text()

    # the cost method: C from its components (元, each with evidence), δ by the remaining economic life
    a.click("#form-cost > summary")
    a.fill("#planning_yuan", "1,000")
    a.fill("[name=planning_evidence]", "项目规划合同")
    a.fill("[name=planning_attachment]", "HT-2025-001")
    a.fill("#collection_yuan", "4000.00")
    a.fill("[name=collection_evidence]", "采集外包发票")
    a.fill("#storage_yuan", "5000")
    a.fill("[name=storage_evidence]", "云存储账单")
    a.select_option("#delta_kind", "economic_life")
    a.fill("#used_years", "1")
    a.fill("[name=used_evidence]", "系统上线验收报告")
    a.fill("[name=remaining_years]", "4")
    a.fill("[name=remaining_evidence]", "数据更新规划")
    a.click("#save-cost")
    a.wait_for_url(f"{url}#method-cost")
    assert "成本法评估值：8,000.00 元" in a.locator("#value-cost").inner_text()

    # the income method: a discount rate of 0 is refused, naming the field, with what was typed kept
    a.click("#form-income > summary")
    a.select_option("#basis_kind", "direct")
    a.fill("#income_lines", "100000 | 2026 年预测\n120,000.00 | 2027 年预测\n150000｜2028 年预测")
    a.fill("#discount_rate", "0")
    a.fill("[name=discount_evidence]", "WACC 测算表")
    a.fill("#years", "3")
    a.fill("[name=years_evidence]", "合同剩余期限")
    a.fill("#contract_term_years", "3")
    a.fill("[name=contract_term_years_evidence]", "授权运营协议")
    a.click("#save-income")
    a.wait_for_url(f"{url}/income")
    assert "折现率 i 必须大于零" in a.locator("#error-income").inner_text()
    assert a.input_value("#discount_rate") == "0"
    assert "2027 年预测" in a.input_value("#income_lines")
    assert "本报告未采用收益法" in a.locator("#not-used-income").inner_text()  # nothing stored
    assert page_errors == [REFUSED_422]
    page_errors.clear()  # the refused rate came back as the 422 page it should be
    a.fill("#discount_rate", "0.1")
    a.click("#save-income")
    a.wait_for_url(f"{url}#method-income")
    assert "收益法评估值：302,779.86 元" in a.locator("#value-income").inner_text()

    # reconcile 0.5 / 0.5, classify (held for sale), sign
    a.click("#form-reconcile > summary")
    a.fill("#weight_cost", "0.5")
    a.fill("[name=weight_cost_evidence]", "两法并重")
    a.fill("#weight_income", "0.5")
    a.fill("[name=weight_income_evidence]", "两法并重")
    a.click("#save-reconcile")
    a.wait_for_url(f"{url}#method-reconcile")
    a.click("#form-classify > summary")
    a.select_option("#holding_purpose", "sale")
    a.check("#classify-form [name=controlled]")
    a.check("#classify-form [name=expected_benefits_probable]")
    a.check("#classify-form [name=cost_reliably_measurable]")
    a.click("#save-classify")
    a.wait_for_url(f"{url}#method-classify")
    a.click("#sign")
    a.wait_for_url(f"{url}#report-head")

    # the signed report: each formula with its numbers, the inputs with their evidence, the conclusion
    assert "已签署" in a.locator("#report-state").inner_text()
    assert a.locator("#concluded").inner_text() == "155,389.93 元"
    assert "内容与签署时一致" in a.locator("#seal-ok").inner_text()
    assert "P = C × δ" in a.locator("#formula-cost").inner_text()
    cost_trace = a.locator("#trace-cost").inner_text()
    assert "10,000.00 元" in cost_trace and "8,000.00 元" in cost_trace and "0.8" in cost_trace
    cost_inputs = a.locator("#inputs-cost").inner_text()
    for seen in ("项目规划合同", "HT-2025-001", "1,000.00 元", "采集外包发票", "4,000.00 元", "云存储账单",
                 "5,000.00 元", "系统上线验收报告", "数据更新规划"):  # fmt: skip
        assert seen in cost_inputs, seen
    assert "剩余经济寿命" in a.locator("#cost-facts").inner_text()
    assert "Σ" in a.locator("#formula-income").inner_text()
    income_trace = a.locator("#trace-income").inner_text()
    assert "第 1 年现值" in income_trace and "302,779.86 元" in income_trace
    income_inputs = a.locator("#inputs-income").inner_text()
    for seen in ("WACC 测算表", "2027 年预测", "120,000.00 元", "合同剩余期限", "授权运营协议"):
        assert seen in income_inputs, seen
    assert "本报告未采用市场法" in a.locator("#not-used-market").inner_text()
    assert "155,389.93 元" in a.locator("#reconciled-value").inner_text()
    assert "两法并重" in a.locator("#inputs-reconcile").inner_text()
    assert a.locator("#category").inner_text() == "存货"
    assert "财会〔2023〕11号" in a.locator("#classification h2").inner_text()
    assert a.locator("#agency-forms").count() == 0 and a.locator("#withdraw-form").count() == 1

    # the printable view
    a.click("#print-link")
    a.wait_for_url(f"{url}/print")
    assert a.locator("h1").inner_text() == "数据资产评估报告"
    assert a.locator("#print-value").inner_text() == "155,389.93 元"
    printed = a.locator("body").inner_text()
    assert "P = C × δ" in printed and "存货" in printed and "财会〔2023〕11号" in printed and "HT-2025-001" in printed
    assert a.locator("nav").count() == 0  # no navigation on paper
    assert page_errors == []  # e.g. no 404 for /favicon.ico: the printable page links the portal's icon

    # the asset's holder finds the signed report on 评估报告 and opens it
    h = as_user(cast["holder"])
    h.click("#nav-appraisals")
    h.wait_for_url(re.compile(r"/appraisals$"))
    row = h.locator(f"#appraisal-{code}")
    assert "已签署" in row.inner_text() and "155,389.93 元" in row.inner_text() and "存货" in row.inner_text()
    assert h.locator("#new-appraisal").count() == 0
    row.locator("a").click()
    h.wait_for_url(url)
    assert h.locator("#concluded").inner_text() == "155,389.93 元"
    assert cast["holder_name"] in h.locator("#meta-holder").inner_text()
    assert h.locator("#agency-forms").count() == 0 and h.locator("#withdraw-form").count() == 0
    assert page_errors == []

    # another organisation's users (another agency, an enterprise) do not find it
    for username in (cast["other_agency"], cast["stranger"]):
        o = as_user(username)
        o.click("#nav-appraisals")
        o.wait_for_url(re.compile(r"/appraisals$"))
        assert "暂无可查看的评估报告" in o.locator("#no-appraisals").inner_text()
        assert o.locator(f"#appraisal-{code}").count() == 0
        for path in (url, f"{url}/print"):
            response = o.goto(path)
            assert response.status == 404, (username, path)
            assert f"评估报告不存在：{code}" in o.locator(".error-message").inner_text()
            assert "155,389.93" not in o.content() and "HT-2025-001" not in o.content()
    assert page_errors == [NOT_FOUND_404] * 4

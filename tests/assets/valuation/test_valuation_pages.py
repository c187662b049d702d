"""评估报告 portal pages: the agency opens a draft on the form, enters the cost and income methods
(amounts typed in 元 become exact fen; an out-of-range rate refused on the page naming the field,
what was typed kept, nothing stored), reconciles, classifies and signs; the report page shows all
three methods with every input and its evidence and the formulas with the numbers, the conclusion
and the 财会〔2023〕11号 classification; the printable view; who sees what; forms need a sign-in
and a CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pubdata.assets.valuation import service as appraisals
from pubdata.authz import Actor
from pubdata.web.appraisal_pages import FormProblem, cost_from_form
from tests.assets.registry.test_registry import world  # noqa: F401
from tests.assets.valuation.helpers import header, signed, valuation_world
from tests.web.helpers import hidden_field, login


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def vw(session, world, as_actor):  # noqa: F811
    return valuation_world(session, world, as_actor)


def sign_in(client: TestClient, actor: Actor) -> None:
    client.cookies.clear()
    assert login(client, actor.username or "").status_code == 303


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, Any]) -> Any:
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": hidden_field(page.text, "csrf_token")},
                       follow_redirects=False)  # fmt: skip


def text_of(html: str, id_: str) -> str:
    m = re.search(rf'id="{id_}"[^>]*>(.*?)</(?:section|p|dd|span|ol|table|div|strong)>', html, re.S)
    assert m, id_
    return re.sub(r"<[^>]+>", "", m.group(1))


COST_FORM = {
    "planning_yuan": "1,000", "planning_evidence": "项目规划合同", "planning_attachment": "HT-2025-001",
    "collection_yuan": "4000.00", "collection_evidence": "采集外包发票",
    "storage_yuan": "5000", "storage_evidence": "云存储账单",
    "delta_kind": "direct", "delta_value": "0.8", "delta_evidence": "专家评议会纪要",
}  # fmt: skip
INCOME_FORM = {
    "basis_kind": "direct", "income_lines": "100000 | 2026 年预测\n120,000.00 | 2027 年预测\n150000｜2028 年预测",
    "discount_rate": "0.1", "discount_evidence": "WACC 测算表", "years": "3", "years_evidence": "合同剩余期限",
    "contract_term_years": "3", "contract_term_years_evidence": "授权运营协议",
}  # fmt: skip


def test_yuan_typed_on_the_form_becomes_exact_fen():
    data = cost_from_form(COST_FORM)
    assert (data.planning.value, data.collection.value, data.storage.value) == (100_000, 400_000, 500_000)
    assert data.planning.attachment == "HT-2025-001" and data.adjustment.kind == "direct"
    for bad in ("10.005", "abc", "1e3x"):
        with pytest.raises(FormProblem, match="金额|元"):
            cost_from_form({**COST_FORM, "planning_yuan": bad})
    for bad in ("abc", "1e3", "0,8"):
        with pytest.raises(FormProblem, match="价值调整系数 δ须填写数字"):
            cost_from_form({**COST_FORM, "delta_value": bad})
    with pytest.raises(FormProblem, match="请填写价值调整系数 δ"):
        cost_from_form({**COST_FORM, "delta_value": " "})


def test_the_agency_takes_a_report_through_the_portal_to_signature(client, session, vw):
    w = vw
    sign_in(client, w["appraiser"])
    page = client.get("/appraisals")
    assert page.status_code == 200 and "数据资产评估报告" in page.text and 'id="new-appraisal"' in page.text
    form = {"registration_code": w["asset"], "title": "各区金额数据资源价值评估", "purpose": "accounting",
            "purpose_note": "入表", "valuation_date": str(header(w).valuation_date),
            "appraisers": w["appraiser"].username}  # fmt: skip
    r = post_form(client, "/appraisals/new", "/appraisals/new", form)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    code = url.rsplit("/", 1)[-1]

    draft = client.get(url).text
    header_form = re.search(r'id="header-form"(.*?)</form>', draft, re.S).group(1)
    assert 'value="各区金额数据资源价值评估"' in header_form and f'value="{w["appraiser"].username}"' in header_form
    assert "本报告未采用成本法" in text_of(draft, "not-used-cost") and 'id="sign"' in draft
    r = post_form(client, url, f"{url}/cost", COST_FORM)
    assert r.status_code == 303
    cost_form = re.search(r'id="cost-form"(.*?)</form>', client.get(url).text, re.S).group(1)
    assert 'value="1000.00"' in cost_form and 'value="HT-2025-001"' in cost_form  # kept for editing
    # a rate of zero is refused on the page, naming the field; what was typed is kept, nothing stored
    r = post_form(client, url, f"{url}/income", {**INCOME_FORM, "discount_rate": "0"})
    assert r.status_code == 422 and "折现率 i 必须大于零" in text_of(r.text, "error-income")
    assert 'value="0"' in r.text and "2027 年预测" in r.text
    assert [m.method for m in appraisals.get_appraisal(session, w["appraiser"], code).methods] == ["cost"]
    assert post_form(client, url, f"{url}/income", INCOME_FORM).status_code == 303
    weights = {"mode": "weights", "weight_cost": "0.5", "weight_cost_evidence": "两法并重",
               "weight_income": "0.5", "weight_income_evidence": "两法并重"}  # fmt: skip
    assert post_form(client, url, f"{url}/reconcile", weights).status_code == 303
    classify = {"holding_purpose": "sale", "controlled": "on", "expected_benefits_probable": "on",
                "cost_reliably_measurable": "on"}  # fmt: skip
    assert post_form(client, url, f"{url}/classify", classify).status_code == 303
    assert post_form(client, url, f"{url}/sign", {}).status_code == 303

    html = client.get(url).text
    assert "已签署" in text_of(html, "report-state")
    assert text_of(html, "concluded") == "155,389.93 元"
    # all three methods, each with its formula; the one not used says so
    assert "P = C × δ" in text_of(html, "formula-cost") and "Σ" in text_of(html, "formula-income")
    assert "本报告未采用市场法" in text_of(html, "not-used-market")
    assert "评估值 P = C × δ = 10,000.00 元 × 0.8 = 8,000.00 元" in text_of(html, "trace-cost")
    inputs = text_of(html, "inputs-cost")
    assert "项目规划合同" in inputs and "HT-2025-001" in inputs and "1,000.00 元" in inputs
    assert "第 1 年现值" in text_of(html, "trace-income") and "WACC 测算表" in text_of(html, "inputs-income")
    assert text_of(html, "category") == "存货" and "财会〔2023〕11号" in html
    assert "内容与签署时一致" in text_of(html, "seal-ok")
    assert 'id="agency-forms"' not in html and 'id="withdraw-form"' in html

    printed = client.get(f"{url}/print")
    assert printed.status_code == 200 and "数据资产评估报告" in printed.text
    assert "155,389.93 元" in text_of(printed.text, "print-value") and "main-nav" not in printed.text


def test_who_sees_a_report_in_the_portal(client, session, vw):
    w = vw
    draft = appraisals.create_appraisal(session, w["appraiser"], header(w))
    done = signed(session, w)
    sign_in(client, w["holder"])
    listed = client.get("/appraisals").text
    assert done.code in listed and draft.code not in listed and 'id="new-appraisal"' not in listed
    assert client.get(f"/appraisals/{done.code}").status_code == 200
    assert client.get(f"/appraisals/{draft.code}").status_code == 404
    page = client.get(f"/appraisals/{done.code}").text
    assert 'id="agency-forms"' not in page and 'id="withdraw-form"' not in page
    sign_in(client, w["other_agency"])
    assert client.get(f"/appraisals/{done.code}").status_code == 404
    assert client.get(f"/appraisals/{done.code}/print").status_code == 404
    assert "暂无可查看的评估报告" in client.get("/appraisals").text
    # another agency's appraiser posting a step: not found, nothing changes
    r = post_form(client, "/appraisals", f"/appraisals/{draft.code}/cost", COST_FORM)
    assert r.status_code == 404
    assert appraisals.get_appraisal(session, w["appraiser"], draft.code).methods == []
    client.cookies.clear()
    assert client.get("/appraisals", follow_redirects=False).status_code == 303
    assert client.get(f"/appraisals/{done.code}", follow_redirects=False).status_code == 303


def test_forms_need_the_csrf_token(client, session, vw):
    w = vw
    draft = appraisals.create_appraisal(session, w["appraiser"], header(w))
    sign_in(client, w["appraiser"])
    r = client.post(f"/appraisals/{draft.code}/cost", data=COST_FORM, follow_redirects=False)
    assert r.status_code in (400, 403)
    assert appraisals.get_appraisal(session, w["appraiser"], draft.code).methods == []

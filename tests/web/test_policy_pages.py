"""政策通 pages: the policy list, a policy's source text and clauses, and the calculator."""

from __future__ import annotations

import re
from html import unescape

CBEC = "qingdao-cbec-2023"


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_policy_list_and_source_text(client):
    listed = client.get("/policies")
    assert listed.status_code == 200
    assert "青岛市关于加快推进跨境电商高质量发展若干政策措施的实施细则" in listed.text
    assert f'href="/policies/{CBEC}"' in listed.text
    page = client.get(f"/policies/{CBEC}").text
    assert "青岛市商务局、青岛市财政局" in page
    # every clause quoted as the article words it, with its cap
    assert page.count('class="policy-clause"') == 5
    assert "年度跨境电商出口规模超过2000万元" in page and "最高 200万元" in page
    assert client.get("/policies/nowhere").status_code == 404


def test_calculator_explains_each_clause(client):
    params = {
        "calculate": "1",
        "registered_district": "崂山区",
        "provincial_key_platform_2022": "true",
        "cbec_import_export_amount": "3000",  # 万元: exactly 达到 3000万
        "has_independent_site": "true",
        "cbec_export_amount": "2000",  # exactly 2000万 is not 超过
    }
    html = client.get(f"/policies/{CBEC}", params=params).text
    text = _text(html)
    platform = re.search(r'data-clause="key_platform">(.*?)</section>', html, re.S)
    assert platform and "符合" in platform.group(1) and "最高 20万元" in platform.group(1)
    site = re.search(r'data-clause="independent_site">(.*?)</section>', html, re.S)
    assert site and "不符合" in site.group(1)
    assert "年度跨境电商出口额（2,000万元） 超过 2,000万元" in text
    # a clause whose facts were left empty says what is missing
    park = re.search(r'data-clause="key_park">(.*?)</section>', html, re.S)
    assert park and "无法判断" in park.group(1) and "缺少事实" in park.group(1)
    # the form keeps what was typed
    assert 'name="cbec_import_export_amount" inputmode="decimal" value="3000"' in html


def test_calculator_names_bad_input(client):
    html = client.get(f"/policies/{CBEC}", params={"calculate": "1", "cbec_export_amount": "很多"}).text
    assert 'id="calc-error"' in html and "年度跨境电商出口额：应为数字" in html
    html = client.get(f"/policies/{CBEC}", params={"calculate": "1", "cbec_export_amount": "-1"}).text
    assert "不能为负数" in html


def test_loan_policies_name_their_department_and_compute_the_subsidy(client):
    pack = "qingdao-lukedai-interest-2025"
    page = _text(client.get(f"/policies/{pack}").text)
    assert "向注册地所在区（市）科技主管部门提出申请" in page
    assert "按照企业所选备案贷款实际支付利息的40%进行补贴" in page
    params = {
        "calculate": "1",
        "registered_district": "市南区",
        "tech_based_sme_registered": "true",
        "lukedai_loan_filed_settled_on_time": "true",
        "lukedai_loan_interest_paid_yuan": "30",  # 万元
        "provincial_tech_loan_interest_subsidy_received": "false",
        "loan_received_other_provincial_interest_subsidy": "false",
    }
    html = client.get(f"/policies/{pack}", params=params).text
    clause = re.search(r'data-clause="interest_subsidy">(.*?)</section>', html, re.S)
    assert clause and "符合" in clause.group(1) and "12万元" in clause.group(1)
    guarantee = _text(client.get("/policies/qingdao-guarantee-fee-2025").text)
    assert "向注册地所在区（市）民营经济（中小企业）主管部门提出申请" in guarantee

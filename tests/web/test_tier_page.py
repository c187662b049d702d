"""梯度培育 page: both versions of the tier rules with 符合 / 不符合 / 待补充, scores and bounds, the
trace and the missing facts; the form of missing enterprise-supplied facts saves through
``supply_facts`` and the undecided tier becomes decided; public facts the data lacks are explained,
not offered; who supplied each value and when; who may see and who may supply."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM
from pubdata.enterprise import service
from pubdata.identity.models import User
from pubdata.settings import Settings
from tests.builders import make_org, make_user
from tests.enterprise.mini_city import A, B, C, build_city
from tests.web.helpers import hidden_field, login

# what 创新型中小企业 (2022) needs beyond the public facts of enterprise A: the base conditions, no
# direct condition, and the six scored indicators (A holds one Ⅰ类 and one Ⅱ类 patent)
INNOVATIVE_2022 = {
    "fact.is_sme": "true",
    "fact.major_accident_or_tax_evasion_last_3_years": "false",
    "fact.product_in_prohibited_restricted_or_obsolete_category": "false",
    "fact.sci_tech_award_national_or_provincial_last_3_years": "false",
    "fact.tech_innovation_demo_or_ip_advantage_or_ip_demo_enterprise_valid": "false",
    "fact.rd_institution_provincial_or_above": "false",
    "fact.new_equity_financing_last_3_years_yuan": "0",  # 万元
    "fact.ip_class1_high_value_count": "0",
    "fact.rd_expense_ratio_pct": "5",  # 5%以上: 20
    "fact.main_business_revenue_growth_pct": "16.5",  # 15%以上: 20
    "fact.asset_liability_ratio_pct": "50",  # 55%以下: 10
    "fact.strategic_emerging_industry": "true",  # 10
    "fact.main_business_revenue_share_pct": "80",  # 70%以上: 20
}


@pytest.fixture
def built(session: Session, settings: Settings, tmp_path: Path) -> Path:
    build_city(session, settings.home, tmp_path)
    service.build_facts(session, SYSTEM, home=settings.home)
    return settings.home


def _sign_in(client, session: Session, kind: str, role: str, **org) -> User:  # type: ignore[no-untyped-def]
    user = make_user(session, make_org(session, kind, **org), roles=[role])
    assert login(client, user.username).status_code == 303
    return user


def _row(html: str, pack: str, clause: str) -> str:
    match = re.search(rf'<tr id="tier-{pack}-{clause}" data-status="(\w+)">(.*?)</tr>', html, re.S)
    assert match, f"no row for {pack}:{clause}"
    return match.group(1) + match.group(2)


def test_both_versions_with_results_scores_and_the_form(client, session: Session, built: Path) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, session, "enterprise", "enterprise", uscc=A)
    assert 'href="/me/tiers"' in client.get("/me/facts").text
    page = client.get("/me/tiers")
    assert page.status_code == 200
    html = page.text
    assert "优质中小企业梯度培育管理暂行办法（2022）" in html and "现行" in html and "旧版" in html
    assert html.index('id="tiers-miit-tiers-2026"') < html.index('id="tiers-miit-tiers-2022"')  # in force first
    row = _row(html, "miit-tiers-2022", "innovative_sme")
    assert (
        row.startswith("undecided") and "待补充" in row and "5～100 分" in row and "满分 100 分，60 分以上通过" in row
    )
    assert _row(html, "miit-tiers-2026", "little_giant").startswith("undecided")
    # the trace and the group subtotals
    assert "创新能力指标" in html and "不低于 20 分" in html and "评分：满分100分" in html
    # the form offers the missing enterprise-supplied facts with their input types
    assert 'id="tiers-form"' in html
    assert '<select id="fact-is_sme" name="fact.is_sme">' in html
    assert 'name="fact.rd_expense_ratio_pct" type="number"' in html
    assert "近三年新增股权融资（万元）" in html
    assert 'name="fact.rd_institution_level"' in html and '<option value="省级"' in html  # a choice of values
    assert "公共数据中缺少的信息" not in html  # A's public facts are all known
    assert "尚未填报" in html


def test_the_form_saves_and_the_undecided_tier_becomes_decided(client, session: Session, built: Path) -> None:  # type: ignore[no-untyped-def]
    user = _sign_in(client, session, "enterprise", "enterprise", uscc=A)
    page = client.get("/me/tiers").text
    form = {"csrf_token": hidden_field(page, "csrf_token"), "own_page": "1", "note": "2025 年度审计报告",
            **INNOVATIVE_2022}  # fmt: skip
    saved = client.post(f"/enterprises/{A}/tiers", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/me/tiers?saved={len(INNOVATIVE_2022)}"
    html = client.get(saved.headers["location"]).text
    assert f"已保存 {len(INNOVATIVE_2022)} 项填报信息" in html
    row = _row(html, "miit-tiers-2022", "innovative_sme")
    assert row.startswith("met") and "符合" in row
    # decided although the IP indicator still lacks a fact left empty here (自主研发Ⅰ类, which the form offers):
    # the other five give 80 points, every floor is met whatever the IP indicator scores
    assert "80～100 分" in row
    # who supplied each value and when
    supplied = html[html.index('id="tiers-supplied"') :]
    assert user.display_name in supplied and "2025 年度审计报告" in supplied
    assert (
        '<tr id="supplied-rd_expense_ratio_pct"><th scope="row">研发费用占营业收入比重</th><td>5.00%</td>' in supplied
    )
    assert "0 元（0.00 万元）" in supplied
    # the values are the enterprise's facts now, with provenance
    facts = client.get("/me/facts").text
    assert f"{user.display_name} 填报于" in facts
    # the same tier through the API's evaluation is decided too
    values = service.get_facts(session, SYSTEM, A, home=built).values
    assert values["is_sme"] is True and values["new_equity_financing_last_3_years_yuan"] == 0
    # supplied facts can be corrected in the same form: the current value is prefilled
    assert 'id="tiers-correct"' in html and 'name="fact.rd_expense_ratio_pct"' in html


def test_bad_input_names_every_field_and_saves_nothing(client, session: Session, built: Path) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, session, "enterprise", "enterprise", uscc=A)
    page = client.get("/me/tiers").text
    form = {"csrf_token": hidden_field(page, "csrf_token"), "fact.is_sme": "true",
            "fact.rd_expense_ratio_pct": "abc", "fact.new_equity_financing_last_3_years_yuan": "1.23456"}  # fmt: skip
    refused = client.post(f"/enterprises/{A}/tiers", data=form)
    assert refused.status_code == 422
    html = refused.text
    assert "研发费用占营业收入比重：应为数字" in html and "近三年新增股权融资：最多精确到元" in html
    assert 'value="abc"' in html  # what was entered is kept
    assert service.supplied_facts(session, SYSTEM, A).history == []
    # a value the service refuses (too many decimals) is shown per fact too
    form = {"csrf_token": hidden_field(page, "csrf_token"), "fact.rd_expense_ratio_pct": "3.456"}
    refused = client.post(f"/enterprises/{A}/tiers", data=form)
    assert refused.status_code == 422 and "最多保留两位小数" in refused.text
    empty = client.post(f"/enterprises/{A}/tiers", data={"csrf_token": hidden_field(page, "csrf_token")})
    assert empty.status_code == 422 and "请至少填写一项" in empty.text
    forged = client.post(f"/enterprises/{A}/tiers", data={"fact.is_sme": "true"})
    assert forged.status_code == 403
    assert service.supplied_facts(session, SYSTEM, A).history == []


@pytest.mark.parametrize(("kind", "role"), [("operator", "operator"), ("department", "department"),
                                            ("regulator", "regulator")])  # fmt: skip
def test_those_who_may_read_any_enterprise_view_without_a_form(  # type: ignore[no-untyped-def]
    client, session: Session, built: Path, kind: str, role: str
) -> None:
    _sign_in(client, session, kind, role)
    assert f'href="/enterprises/{B}/tiers"' in client.get(f"/enterprises/{B}").text
    page = client.get(f"/enterprises/{C}/tiers")
    assert page.status_code == 200
    html = page.text
    assert _row(html, "miit-tiers-2022", "innovative_sme").startswith("not_met")  # listed abnormal
    assert 'id="tiers-form"' not in html
    page = client.get(f"/enterprises/{A}/tiers").text
    assert "只能由企业本身的用户填报" in page and 'id="tiers-supply-list"' in page
    refused = client.post(f"/enterprises/{A}/tiers", data={"csrf_token": hidden_field(page, "csrf_token"),
                                                           "fact.is_sme": "true"})  # fmt: skip
    assert refused.status_code == 403 and "enterprise:facts:supply" in refused.text
    assert service.supplied_facts(session, SYSTEM, A).history == []


def test_others_get_not_found_and_cannot_supply(client, session: Session, built: Path) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/me/tiers", follow_redirects=False).status_code == 303  # sign in first
    _sign_in(client, session, "enterprise", "enterprise", uscc=B)
    own = client.get("/me/tiers").text
    assert client.get(f"/enterprises/{A}/tiers").status_code == 404
    posted = client.post(f"/enterprises/{A}/tiers", data={"csrf_token": hidden_field(own, "csrf_token"),
                                                          "fact.is_sme": "true"})  # fmt: skip
    assert posted.status_code == 404
    assert service.supplied_facts(session, SYSTEM, A).history == []


def test_public_facts_the_data_lacks_are_explained_not_offered(  # type: ignore[no-untyped-def]
    client, session: Session, settings: Settings, tmp_path: Path
) -> None:
    build_city(session, settings.home, tmp_path, only={"enterprise_registry", "cbec_trade"})
    service.build_facts(session, SYSTEM, home=settings.home)
    _sign_in(client, session, "enterprise", "enterprise", uscc=A)
    html = client.get("/me/tiers").text
    section = html[html.index('id="tiers-public-missing"') :]
    assert '<tr id="public-high_tech_enterprise_valid">' in section and "高新技术企业认定名单" in section
    assert 'name="fact.high_tech_enterprise_valid"' not in html
    assert 'name="fact.is_sme"' in html

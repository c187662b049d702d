"""金融专区 portal pages: the consent manager (grant and revoke through the form, the reads under a
consent), loan products matched with reasons and applied for in one step, the enterprise's
applications, the bank's pipeline and its steps, the product editor (a bad rule stores nothing) and
the dashboard; each page for the right role only."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.authz import Actor
from pubdata.finance.consent import service as consents
from pubdata.finance.loans import service as loans
from pubdata.finance.loans.schemas import ApplicationIn
from pubdata.web.finance_loan_pages import RULE_EXAMPLES
from tests import builders
from tests.builders import settings_for
from tests.finance.channel import consent_to, make_channel
from tests.web.helpers import hidden_field, login


@pytest.fixture
def settings(tmp_path):
    """A home of this test's own: each test writes its facts file as version 1, and a facts file is
    immutable once read (readers cache it by path), as it is in production where numbers never repeat."""
    return settings_for(tmp_path)


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def channel(session: Session, as_actor: Any, settings: Any) -> dict[str, Any]:
    return make_channel(session, as_actor, settings.home)


def sign_in(client: TestClient, actor: Actor) -> None:
    client.cookies.clear()
    assert login(client, actor.username or "").status_code == 303


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, Any]) -> Any:
    """POST ``data`` to ``action`` with the CSRF token of the signed-in page ``page_url``."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": hidden_field(page.text, "csrf_token")},
                       follow_redirects=False)  # fmt: skip


def apply_via_service(session: Session, settings: Any, channel: dict[str, Any], amount: int = 1_000_000) -> int:
    _, enterprise = channel["good"]
    given = consent_to(session, enterprise, channel["bank_org"])
    ask = ApplicationIn(product_id=channel["product"].id, consent_id=given.id, amount=amount, term_months=12,
                        purpose="采购原材料")  # fmt: skip
    return loans.apply(session, enterprise, ask, home=settings.home).id


def test_who_sees_which_page(client: TestClient, session: Session, as_actor: Any, settings: Any, channel: Any) -> None:
    app_id = apply_via_service(session, settings, channel)
    consent_id = consents.list_consents(session, channel["good"][1])[0].id
    signed_in_only = ["/finance/consents", "/finance/applications", "/finance/pipeline", "/finance/dashboard",
                      "/finance/bank/products", f"/finance/applications/{app_id}",
                      f"/finance/consents/{consent_id}"]  # fmt: skip
    for path in signed_in_only:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/user/login?next="), path
    public = client.get("/finance/products")  # products are public; matching needs an enterprise
    assert public.status_code == 200 and "科创信用贷" in public.text and "以企业用户登录后" in public.text
    assert 'lang="zh-CN"' in public.text

    sign_in(client, channel["good"][1])
    assert client.get("/finance", follow_redirects=False).headers["location"] == "/finance/products"
    assert 'href="/finance"' in client.get("/finance/products").text  # the navigation's link
    for path in ("/finance/pipeline", "/finance/dashboard", "/finance/bank/products", "/finance/bank/products/new"):
        r = client.get(path)
        assert r.status_code == 403 and "禁止访问" in r.text, path

    sign_in(client, as_actor("enterprise"))  # another enterprise: someone else's things are not found
    assert client.get(f"/finance/applications/{app_id}").status_code == 404
    assert client.get(f"/finance/consents/{consent_id}").status_code == 404
    assert "还没有贷款申请" in client.get("/finance/applications").text

    sign_in(client, channel["bank"])
    assert client.get("/finance", follow_redirects=False).headers["location"] == "/finance/pipeline"
    assert client.get("/finance/applications", follow_redirects=False).headers["location"] == "/finance/pipeline"
    refused = post_form(client, "/finance/products", f"/finance/products/{channel['product'].id}/apply",
                        {"amount": "10", "term_months": "12", "purpose": "流动资金", "consent_id": "1"})  # fmt: skip
    assert refused.status_code == 403

    sign_in(client, as_actor("bank"))  # a bank not admitted to the zone
    r = client.get("/finance/bank/products")
    assert r.status_code == 403 and "入驻金融专区的银行" in r.text
    assert client.get(f"/finance/applications/{app_id}").status_code == 404

    sign_in(client, as_actor("department"))
    assert client.get("/finance/pipeline").status_code == 403
    assert client.get("/finance/dashboard").status_code == 403

    sign_in(client, as_actor("regulator"))  # oversight: everything, read only
    page = client.get(f"/finance/applications/{app_id}")
    assert page.status_code == 200 and "step-approve" not in page.text and "withdraw-form" not in page.text
    assert f"/finance/applications/{app_id}" in client.get("/finance/pipeline").text
    assert "revoke-form" not in client.get(f"/finance/consents/{consent_id}").text
    assert client.get("/finance/dashboard").status_code == 200


def test_grant_and_revoke_a_consent_through_the_form(
    client: TestClient, session: Session, as_actor: Any, channel: Any
) -> None:
    org, enterprise = channel["good"]
    bank_org = channel["bank_org"]
    outsider = builders.make_org(session, "bank", name="未入驻银行")  # not admitted: not offered
    sign_in(client, enterprise)
    page = client.get("/finance/consents").text
    assert "授权管理" in page and f'<option value="{bank_org.code}"' in page and outsider.code not in page
    assert "信用评分、等级与主要原因" in page and "贷款申请审查" in page

    good = {"bank": bank_org.code, "sections": ["basic", "tax"], "purpose": "loan_application",
            "expires_on": str(beijing_today() + timedelta(days=30))}  # fmt: skip
    assert client.post("/finance/consents", data=good).status_code == 403  # no CSRF token
    none_ticked = post_form(client, "/finance/consents", "/finance/consents", {**good, "sections": []})
    assert none_ticked.status_code == 422
    assert re.search(r'id="grant-sections-error"[^>]*>[^<]*请至少选择一项', none_ticked.text)
    past = post_form(client, "/finance/consents", "/finance/consents",
                     {**good, "expires_on": str(beijing_today() - timedelta(days=1))})  # fmt: skip
    assert past.status_code == 422 and re.search(r'id="grant-expires_on-error"[^>]*>授权截止日期已过', past.text)
    unknown = post_form(client, "/finance/consents", "/finance/consents", {**good, "bank": outsider.code})
    assert unknown.status_code == 422
    assert re.search(r'id="grant-bank-error"[^>]*>银行不存在或未入驻金融专区', unknown.text)
    assert consents.list_consents(session, enterprise) == []  # nothing stored

    made = post_form(client, "/finance/consents", "/finance/consents", {**good, "next": "/\\evil.example/"})
    assert made.status_code == 303 and made.headers["location"].startswith("/finance/consents/")  # not elsewhere
    consent_id = int(made.headers["location"].rsplit("/", 1)[1])
    detail = client.get(made.headers["location"]).text
    assert "有效" in detail and "基本登记信息、纳税信用" in detail and "暂无使用记录" in detail

    # the bank sees it, read only
    sign_in(client, channel["bank"])
    listed = client.get("/finance/consents").text
    assert "收到的授权" in listed and f"consent-{consent_id}" in listed and "grant-form" not in listed
    assert "revoke-form" not in client.get(f"/finance/consents/{consent_id}").text

    sign_in(client, enterprise)
    url = f"/finance/consents/{consent_id}"
    unconfirmed = post_form(client, url, f"{url}/revoke", {"reason": "不再需要"})
    assert unconfirmed.status_code == 422 and "请勾选确认" in unconfirmed.text
    assert consents.get_consent(session, enterprise, consent_id).status == "live"
    done = post_form(client, url, f"{url}/revoke", {"reason": "不再需要", "confirm": "1"})
    assert done.status_code == 303
    page = client.get(url).text
    assert "已撤销" in page and "不再需要" in page and "revoke-form" not in page
    assert consents.get_consent(session, enterprise, consent_id).status == "revoked"
    again = post_form(client, "/finance/consents", f"{url}/revoke", {"confirm": "1"})
    assert again.status_code == 409 and "已于" in again.text


def test_products_with_match_reasons_and_applying_in_one_step(
    client: TestClient, session: Session, settings: Any, channel: Any
) -> None:
    made = channel["product"]
    sign_in(client, channel["weak"][1])
    page = client.get("/finance/products").text
    assert re.search(rf'id="verdict-{made.id}">不符合<', page) and "✗" in page and "纳税信用等级" in page
    assert f"apply-form-{made.id}" not in page and f"need-consent-{made.id}" not in page  # not eligible: no form

    sign_in(client, channel["unknown"][1])
    page = client.get("/finance/products").text
    assert re.search(rf'id="verdict-{made.id}">待补充信息<', page)
    assert re.search(rf'id="missing-{made.id}">待补充信息：参保人数', page)
    assert f"need-consent-{made.id}" in page  # undecided may apply (after consenting)

    org, enterprise = channel["good"]
    sign_in(client, enterprise)
    page = client.get("/finance/products").text
    assert re.search(rf'id="verdict-{made.id}">符合<', page) and "✓ 结论：符合准入条件" in page
    link = re.search(rf'id="need-consent-{made.id}">.*?href="([^"]+)"', page, re.S)
    assert link and channel["bank_org"].code in link.group(1) and "sections=basic%2Ctax" in link.group(1)
    prefilled = client.get(link.group(1).replace("&amp;", "&")).text  # the consent form, filled for this product
    assert 'id="grant-section-tax" checked' in prefilled and 'id="grant-section-score" checked' not in prefilled
    assert f'name="next" value="/finance/products#product-{made.id}"' in prefilled

    given = consent_to(session, enterprise, channel["bank_org"])
    page = client.get("/finance/products").text
    assert f'id="apply-form-{made.id}"' in page and f'value="{given.id}" checked' in page
    action = f"/finance/products/{made.id}/apply"
    ask = {"amount": "100", "term_months": "12", "purpose": "采购原材料", "consent_id": str(given.id)}
    bad = post_form(client, "/finance/products", action, {**ask, "amount": "一百"})
    assert bad.status_code == 422 and re.search(rf'id="apply-{made.id}-amount-error"[^>]*>申请金额应为数字', bad.text)
    too_much = post_form(client, "/finance/products", action, {**ask, "amount": "900", "term_months": "60"})
    assert too_much.status_code == 422
    assert re.search(rf'id="apply-{made.id}-amount-error"[^>]*>申请金额应在 100,000 至 5,000,000 元之间', too_much.text)
    assert re.search(rf'id="apply-{made.id}-term_months-error"[^>]*>期限应在 6 至 36 个月之间', too_much.text)
    assert 'value="900"' in too_much.text  # what was typed is kept
    assert loans.list_applications(session, enterprise) == []

    done = post_form(client, "/finance/products", action, ask)
    assert done.status_code == 303 and re.fullmatch(r"/finance/applications/\d+", done.headers["location"])
    [app] = loans.list_applications(session, enterprise)
    assert app.amount == 1_000_000 and app.consent_id == given.id  # 100 万元
    detail = client.get(done.headers["location"]).text
    assert "已受理" in detail and "100万元" in detail and "✓" in detail and "withdraw-form" in detail
    assert f"loan-{app.id}" in client.get("/finance/applications").text


def test_the_bank_works_its_pipeline_through_the_forms(
    client: TestClient, session: Session, settings: Any, channel: Any
) -> None:
    app_id = apply_via_service(session, settings, channel)
    org, enterprise = channel["good"]
    url = f"/finance/applications/{app_id}"
    sign_in(client, channel["bank"])
    pipeline = client.get("/finance/pipeline").text
    assert "贷款申请受理" in pipeline and org.name in pipeline and "已受理（1）" in pipeline
    assert org.name not in client.get("/finance/pipeline?state=approved").text
    assert client.get("/finance/pipeline?state=nonsense").status_code == 422

    page = client.get(url).text
    assert 'id="trace"' in page and "✓ 结论：符合准入条件" in page  # under the live consent
    assert post_form(client, url, f"{url}/steps/review", {}).status_code == 303
    assert "审查中" in client.get(url).text
    approve = f"{url}/steps/approve"
    three_decimals = post_form(client, url, approve, {"amount": "80", "rate": "3.456", "term_months": "12"})
    assert three_decimals.status_code == 422
    assert re.search(r'id="approve-rate-error"[^>]*>年利率最多保留两位小数', three_decimals.text)
    outside = post_form(client, url, approve, {"amount": "200", "rate": "5", "term_months": "12"})
    assert outside.status_code == 422
    assert re.search(r'id="approve-amount-error"[^>]*>批准金额不能超过申请金额', outside.text)
    assert re.search(r'id="approve-rate-error"[^>]*>利率应在产品范围', outside.text)
    assert post_form(client, url, approve, {"amount": "80", "rate": "3.8", "term_months": "12"}).status_code == 303
    approved = loans.get_application(session, enterprise, app_id)
    assert (approved.state, approved.approved_amount, approved.approved_rate_bp) == ("approved", 800_000, 380)
    wrong = post_form(client, url, f"{url}/steps/review", {})
    assert wrong.status_code == 409 and "不能审查中" in wrong.text  # a step the state does not allow
    on = str(beijing_today() - timedelta(days=1))
    assert post_form(client, url, f"{url}/steps/disburse", {"on": on}).status_code == 303

    # the enterprise follows it, and sees the bank's reads under its consent
    sign_in(client, enterprise)
    page = client.get(url).text
    assert "已放款" in page and "80万元" in page and "3.80%" in page and on in page
    assert "withdraw-form" not in page and "step-approve" not in page
    history = re.search(r'id="events">(.*?)</ol>', page, re.S).group(1)  # type: ignore[union-attr]
    steps = [history.find(s) for s in ("已受理", "审查中", "已批准", "已放款")]
    assert -1 not in steps and steps == sorted(steps)  # every step, in order
    consent_url = f"/finance/consents/{approved.consent_id}"
    uses = client.get(consent_url).text
    assert channel["bank"].username in uses and "已查看" in uses and "基本登记信息、纳税信用" in uses

    # revoked: the bank keeps the application but no longer sees the enterprise's facts
    assert post_form(client, consent_url, f"{consent_url}/revoke", {"confirm": "1"}).status_code == 303
    sign_in(client, channel["bank"])
    page = client.get(url).text
    assert 'id="eligibility-hidden"' in page and "授权已失效" in page and 'id="trace"' not in page
    assert post_form(client, url, f"{url}/steps/repaid", {"on": "2000-01-01"}).status_code == 422  # before disbursing
    assert post_form(client, url, f"{url}/steps/repaid", {}).status_code == 303
    assert "已结清" in client.get(url).text


def test_decline_needs_a_reason_and_the_enterprise_may_withdraw(
    client: TestClient, session: Session, settings: Any, channel: Any
) -> None:
    first = apply_via_service(session, settings, channel)
    second = apply_via_service(session, settings, channel, amount=500_000)
    sign_in(client, channel["bank"])
    url = f"/finance/applications/{first}"
    no_reason = post_form(client, url, f"{url}/steps/decline", {"note": " "})
    assert no_reason.status_code == 422 and re.search(r'id="decline-note-error"[^>]*>拒绝须说明理由', no_reason.text)
    assert post_form(client, url, f"{url}/steps/decline", {"note": "经营流水不足"}).status_code == 303
    assert client.post(f"{url}/steps/nonsense", data={}).status_code == 404

    sign_in(client, channel["good"][1])
    page = client.get(url).text
    assert "已拒绝" in page and "经营流水不足" in page and "withdraw-form" not in page
    url = f"/finance/applications/{second}"
    assert post_form(client, url, f"{url}/withdraw", {"confirm": "1"}).status_code == 303
    assert "已撤回" in client.get(url).text
    again = post_form(client, "/finance/applications", f"{url}/withdraw", {"confirm": "1"})
    assert again.status_code == 409 and "不能撤回" in again.text


def test_the_product_editor(client: TestClient, session: Session, channel: Any) -> None:
    bank = channel["bank"]
    sign_in(client, bank)
    listed = client.get("/finance/bank/products").text
    assert "产品管理" in listed and "科创信用贷" in listed and "已发布" in listed
    form = client.get("/finance/bank/products/new").text
    assert "准入条件" in form and 'href="/finance/loan-inputs"' in form and "credit_grade in" in form
    for rule, _ in RULE_EXAMPLES:  # the help's examples are rules a product may save
        loans.compile_eligibility(rule)
    inputs = client.get("/finance/loan-inputs").text
    assert "credit_grade" in inputs and "信用等级" in inputs and "参保人数" in inputs

    new = {"code": "puhui-dai", "name": "普惠快贷", "description": "", "category": "inclusive",
           "amount_min": "10", "amount_max": "300", "term_min_months": "3", "term_max_months": "24",
           "rate_min": "3.45", "rate_max": "4.2", "guarantee": "credit", "sections": ["basic", "tax"],
           "eligibility": "tax_credit_grade >= 'A'"}  # fmt: skip
    before = len(loans.list_products(session, bank, mine=True))
    bad_rule = post_form(client, "/finance/bank/products/new", "/finance/bank/products/new", new)
    assert bad_rule.status_code == 422
    assert re.search(r'id="product-eligibility-error"[^>]*>准入条件有误', bad_rule.text)
    assert "tax_credit_grade &gt;= &#39;A&#39;" in bad_rule.text  # the rule typed is kept
    unknown_name = post_form(client, "/finance/bank/products/new", "/finance/bank/products/new",
                             {**new, "eligibility": "turnover > 100万"})  # fmt: skip
    assert unknown_name.status_code == 422 and "turnover" in unknown_name.text
    ranges = post_form(client, "/finance/bank/products/new", "/finance/bank/products/new",
                       {**new, "rate_min": "5", "rate_max": "4.2", "eligibility": "age_years >= 2"})  # fmt: skip
    assert ranges.status_code == 422 and "最高年利率不能低于最低年利率" in ranges.text
    assert len(loans.list_products(session, bank, mine=True)) == before  # nothing stored

    good = {**new, "eligibility": "tax_credit_grade in ['A', 'B'] and age_years >= 2"}
    made = post_form(client, "/finance/bank/products/new", "/finance/bank/products/new", good)
    assert made.status_code == 303
    saved = next(p for p in loans.list_products(session, bank, mine=True) if p.code == "puhui-dai")
    stored = (saved.state, saved.amount_min, saved.amount_max, saved.rate_min_bp, saved.rate_max_bp)
    assert stored == ("draft", 100_000, 3_000_000, 345, 420)  # 万元 → 元, % → basis points
    assert "普惠快贷" not in client.get("/finance/products").text  # a draft is not shown to enterprises
    publish = f"/finance/bank/products/{saved.id}/publish"
    assert post_form(client, "/finance/bank/products", publish, {}).status_code == 303
    assert "普惠快贷" in client.get("/finance/products").text

    edit = f"/finance/bank/products/{saved.id}"
    page = client.get(edit).text
    assert 'value="3.45"' in page and 'value="300"' in page and "readonly" in page
    assert post_form(client, edit, edit, {**good, "name": "普惠快贷（升级版）"}).status_code == 303
    updated = loans.get_product(session, bank, saved.id)
    assert updated.name == "普惠快贷（升级版）" and updated.version == saved.version + 1
    assert post_form(client, "/finance/bank/products", f"{edit}/withdraw", {}).status_code == 303
    assert loans.get_product(session, bank, saved.id).state == "withdrawn"
    other_bank_product = channel["product"].id + 100_000
    assert client.get(f"/finance/bank/products/{other_bank_product}").status_code == 404


def test_the_dashboard(client: TestClient, session: Session, as_actor: Any, settings: Any, channel: Any) -> None:
    for amount in (1_000_000, 2_000_000, 3_000_000):
        apply_via_service(session, settings, channel, amount=amount)
    sign_in(client, channel["bank"])
    page = client.get("/finance/dashboard").text
    assert "银企直通车看板" in page and "本行" in page
    assert re.search(r'id="total-applications"><span class="figure-value">3<', page)
    assert re.search(r'id="total-amount-applied"><span class="figure-value">600万元<', page)
    district = re.search(r'id="group-district">(.*?)</section>', page, re.S).group(1)  # type: ignore[union-attr]
    assert "崂山区" in district and 'class="bar bar-applications" style="width: 100.0%"' in district
    assert "已受理" in page and "科创信用贷" in page

    sign_in(client, as_actor("regulator"))
    page = client.get("/finance/dashboard").text
    assert "全部银行" in page and re.search(r'id="total-applications"><span class="figure-value">3<', page)
    sign_in(client, as_actor("operator"))
    assert client.get("/finance/dashboard").status_code == 200

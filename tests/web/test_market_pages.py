"""数据产品 portal pages: the marketplace shows listed products only and filters them, a product
that is not listed is not found for others, prices are shown in 元 exactly from integer fen, the
public price list, the provider's 提交审核, and the operator's review steps moving the state — with
the service's refusal shown on the page and what was typed kept."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.authz import Actor
from pubdata.market import reports
from pubdata.market import service as market
from pubdata.market.models import MarketProduct
from pubdata.market.schemas import PlanIn, ReviewIn
from pubdata.web.market_pages import yuan
from tests.market.builders import product_in, tax_table
from tests.web.helpers import hidden_field, login

PER_CALL = PlanIn(code="per-call", title="按次调用", kind="per_call", unit_price_fen=50, free_quota=1_000,
                  monthly_cap_fen=123_450)  # fmt: skip
SUBSCRIPTION = PlanIn(code="yearly", title="年度订阅", kind="subscription", price_fen=1_999_999, term_months=12)
TIERED = PlanIn(code="tiered", title="阶梯", kind="tiered",
                tiers=[{"up_to": 1000, "unit_price_fen": 10}, {"up_to": None, "unit_price_fen": 5}])  # fmt: skip


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def world(session: Session, as_actor: Any, settings: Any) -> dict[str, Any]:
    department = as_actor("department")
    return {
        "home": settings.home,
        "operator": as_actor("operator"),
        "merchant": as_actor("data_merchant"),
        "rival": as_actor("data_merchant"),
        "table": tax_table(session, department),
    }


def draft(session: Session, w: dict[str, Any], code: str, plans: tuple[PlanIn, ...] = (PER_CALL,), **kw: Any) -> int:
    product = market.create_product(session, w["merchant"], product_in(w["table"], code=code, **kw))
    for plan in plans:
        market.add_plan(session, w["merchant"], product.id, plan)
    if product.kind == "report":  # a report is submitted with its file
        staged = reports.stage_bytes(w["home"], "报告.pdf", b"%PDF-1.4\n%%EOF\n", 1 << 20)
        reports.add_report(session, w["merchant"], product.id, staged, home=w["home"])
    return product.id


def submitted(session: Session, w: dict[str, Any], code: str, **kw: Any) -> int:
    pid = draft(session, w, code, **kw)
    market.submit(session, w["merchant"], pid)
    return pid


def listed(session: Session, w: dict[str, Any], code: str, **kw: Any) -> int:
    pid = submitted(session, w, code, **kw)
    market.review(session, w["operator"], pid, ReviewIn(action="approve"))
    session.get(MarketProduct, pid).notice_until = beijing_today() - timedelta(days=1)  # the notice is over
    market.list_product(session, w["operator"], pid)
    return pid


def sign_in(client: TestClient, actor: Actor) -> None:
    client.cookies.clear()
    assert login(client, actor.username or "").status_code == 303


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, Any]) -> Any:
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": hidden_field(page.text, "csrf_token")},
                       follow_redirects=False)  # fmt: skip


def state_of(session: Session, pid: int) -> str:
    session.expire_all()
    return session.get(MarketProduct, pid).state


def test_money_is_formatted_from_integer_fen() -> None:
    assert [yuan(f) for f in (0, 5, 50, 123_450, 1_999_999, 10**15, -250)] == [
        "0.00", "0.05", "0.50", "1,234.50", "19,999.99", "10,000,000,000,000.00", "-2.50",
    ]  # fmt: skip


def test_anonymous_sees_listed_products_only_and_filters_work(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    w = world
    api = listed(session, w, "tax-api", title="纳税信用接口")
    report = listed(session, w, "tax-report", kind="report", title="纳税信用报告", scenario="commerce",
                    plans=(PlanIn(code="once", title="单份", kind="one_off", price_fen=88_800),),
                    contract={"fields": ["district", "tax_credit_grade"]})  # fmt: skip
    waiting = submitted(session, w, "tax-waiting", title="审核中的产品")
    hidden = draft(session, w, "tax-draft", title="草稿产品")

    page = client.get("/market")
    assert page.status_code == 200 and 'id="nav-market"' in page.text
    text = page.text
    assert "纳税信用接口" in text and "纳税信用报告" in text
    assert "审核中的产品" not in text and "草稿产品" not in text
    card = re.search(rf'id="product-{api}".*?</li>', text, re.S).group(0)
    assert "数据接口" in card and "航贸金融" in card and "按次计费：0.50 元/次，每月前 1,000 次免费" in card
    assert "每月最高 1,234.50 元" in card

    by_scenario = client.get("/market?scenario=commerce&zone=&kind=").text
    assert "纳税信用报告" in by_scenario and "纳税信用接口" not in by_scenario
    assert '<option value="commerce" selected>' in by_scenario  # the form shows what is filtered
    by_kind = client.get("/market?kind=api").text
    assert "纳税信用接口" in by_kind and "纳税信用报告" not in by_kind
    assert "没有符合筛选条件的数据产品" in client.get("/market?zone=medical").text
    bad = client.get("/market?scenario=火星")
    assert bad.status_code == 400 and "应用场景“火星”不存在" in bad.text

    assert client.get(f"/market/products/{report}").status_code == 200
    for pid in (waiting, hidden):
        r = client.get(f"/market/products/{pid}")
        assert r.status_code == 404 and "数据产品不存在" in r.text


def test_an_unlisted_product_is_seen_by_its_provider_and_the_operator_only(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    w = world
    pid = draft(session, w, "tax-draft", title="草稿产品")
    sign_in(client, w["rival"])
    assert client.get(f"/market/products/{pid}").status_code == 404
    assert "草稿产品" not in client.get("/market/mine").text

    sign_in(client, w["merchant"])
    own = client.get(f"/market/products/{pid}").text
    assert "草稿" in own and 'id="history"' in own and "建立产品" in own and "仅提供方和运营方可见" in own
    sign_in(client, w["operator"])
    seen = client.get(f"/market/products/{pid}").text
    assert 'id="history"' in seen and "草稿产品" in seen


def test_the_product_page_shows_terms_escaped_sample_contract_and_plans_in_yuan(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    w = world
    pid = listed(session, w, "tax-api", plans=(PER_CALL, SUBSCRIPTION, TIERED),
                 sample="uscc,grade\n9137<script>alert(1)</script>,A",
                 contract={"fields": ["uscc", "district", "legal_phone"], "daily_call_quota": 10_000})  # fmt: skip
    page = client.get(f"/market/products/{pid}")
    assert page.status_code == 200
    text = page.text
    assert "<script>alert(1)</script>" not in text
    sample = re.search(r'<pre class="sample" id="sample">(.*?)</pre>', text, re.S).group(1)
    assert html.unescape(sample) == "uscc,grade\n9137<script>alert(1)</script>,A"
    for words in ("航贸金融", "每月", "青岛市全市企业", "CC BY 4.0", "不得转售", "需审核"):
        assert words in text, words
    assert re.search(r'id="contract-fields">.*uscc.*district.*legal_phone', text)
    assert "legal_phone" in re.search(r'id="contract-masks">(.*?)</dd>', text).group(1)  # masked by default
    assert "每日调用次数上限 10,000" in text

    plans = {p.code: p.id for p in market.get_product(session, w["merchant"], pid).plans}
    assert "0.50 元/次，每月前 1,000 次免费" in text
    assert re.search(rf'id="plan-{plans["per-call"]}-ceiling">每月最高 1,234.50 元<', text)
    assert "19,999.99 元 / 12 个月" in text
    assert re.search(rf'id="plan-{plans["yearly"]}-ceiling">每期最高 19,999.99 元<', text)
    tiers = re.search(rf'id="plan-{plans["tiered"]}-tiers">(.*?)</ul>', text, re.S).group(1)
    assert "1–1,000 次：0.10 元/次" in tiers and "1,001 次以上：0.05 元/次" in tiers
    assert re.search(rf'id="plan-{plans["tiered"]}-ceiling">不封顶<', text)
    assert re.search(r'<a class="button" href="#order-panel"[^>]*>订购</a>', text)
    assert 'id="order-login"' in text  # the public is asked to sign in to order
    assert 'id="history"' not in text  # no listing history for the public


def test_the_price_list_shows_every_listed_plan_and_its_ceiling(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    w = world
    pid = listed(session, w, "tax-api", plans=(PER_CALL, SUBSCRIPTION), title="纳税信用接口")
    draft(session, w, "tax-draft", title="草稿产品", plans=(TIERED,))
    page = client.get("/market/prices")
    assert page.status_code == 200
    text = page.text
    assert "数据产品价格公示" in text and "每年向社会公开披露" in text and "收费上限" in text
    assert "纳税信用接口" in text and "草稿产品" not in text
    plans = {p.code: p.id for p in market.get_product(session, w["merchant"], pid).plans}
    assert re.search(rf'id="ceiling-{plans["per-call"]}">每月最高 1,234.50 元<', text)
    assert re.search(rf'id="ceiling-{plans["yearly"]}">每期最高 19,999.99 元<', text)


def test_the_provider_submits_a_draft_and_sees_the_refusal_when_it_has_no_plan(
    client: TestClient, session: Session, world: dict[str, Any], as_actor: Any
) -> None:
    w = world
    ready = draft(session, w, "tax-ready", title="可提交的产品")
    bare = draft(session, w, "tax-bare", title="没有价格计划", plans=())
    assert client.get("/market/mine", follow_redirects=False).headers["location"].startswith("/user/login")
    sign_in(client, as_actor("enterprise"))
    assert client.get("/market/mine").status_code == 403
    assert 'id="tab-mine"' not in client.get("/market").text

    sign_in(client, w["merchant"])
    page = client.get("/market/mine").text
    assert "可提交的产品" in page and "没有价格计划" in page and 'href="/docs"' in page
    assert client.post(f"/market/mine/{ready}/submit", data={}).status_code == 403  # no CSRF token
    assert state_of(session, ready) == "draft"
    done = post_form(client, "/market/mine", f"/market/mine/{ready}/submit", {})
    assert done.status_code == 303 and state_of(session, ready) == "under_review"
    refused = post_form(client, "/market/mine", f"/market/mine/{bare}/submit", {})
    assert refused.status_code == 422
    assert re.search(rf'id="submit-error-{bare}"[^>]*>提交审核前须至少设置一个有效的价格计划', refused.text)
    assert state_of(session, bare) == "draft"


def test_the_operator_reviews_lists_suspends_resumes_and_delists(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    w = world
    pid = submitted(session, w, "tax-api", title="纳税信用接口")
    other = submitted(session, w, "tax-other", title="另一个产品")
    sign_in(client, w["merchant"])
    assert client.get("/market/review").status_code == 403
    assert post_form(client, "/market/mine", f"/market/review/{pid}/approve", {"notice_days": "7"}).status_code == 403

    sign_in(client, w["operator"])
    review = client.get("/market/review").text
    assert f'id="approve-{pid}"' in review and f'id="reject-{other}"' in review

    # a refused step: the service's message on the page, what was typed kept, nothing changed
    bad = post_form(client, "/market/review", f"/market/review/{pid}/approve",
                    {"notice_days": "120", "reason": "材料齐全"})  # fmt: skip
    assert bad.status_code == 422
    assert re.search(rf'id="error-{pid}-approve"[^>]*>公示天数须为 1 至 90 之间的整数', bad.text)
    assert f'id="approve-days-{pid}" name="notice_days" type="text" inputmode="numeric" value="120"' in bad.text
    assert re.search(rf'id="approve-reason-{pid}"[^>]*>材料齐全</textarea>', bad.text)
    no_reason = post_form(client, "/market/review", f"/market/review/{other}/reject", {"reason": "  "})
    assert no_reason.status_code == 422 and "驳回须说明理由" in no_reason.text
    assert state_of(session, pid) == state_of(session, other) == "under_review"

    rejected = post_form(client, "/market/review", f"/market/review/{other}/reject", {"reason": "样例含真实企业名称"})
    assert rejected.status_code == 303 and state_of(session, other) == "draft"

    approved = post_form(client, "/market/review", f"/market/review/{pid}/approve", {"notice_days": "10"})
    assert approved.status_code == 303 and state_of(session, pid) == "public_notice"
    until = beijing_today() + timedelta(days=10)
    review = client.get("/market/review").text
    assert f"公示至 {until.isoformat()}" in review and f'id="list-{pid}"' not in review
    early = post_form(client, "/market/review", f"/market/review/{pid}/list", {})
    assert early.status_code == 409 and f"期满后（{until + timedelta(days=1)} 起）才能上架" in early.text
    assert state_of(session, pid) == "public_notice"

    session.get(MarketProduct, pid).notice_until = beijing_today() - timedelta(days=1)
    session.flush()
    assert f'id="list-{pid}"' in client.get("/market/review").text
    assert post_form(client, "/market/review", f"/market/review/{pid}/list", {}).status_code == 303
    assert state_of(session, pid) == "listed"
    assert "纳税信用接口" in client.get("/market").text

    no_reason = post_form(client, "/market/review", f"/market/review/{pid}/suspend", {"reason": ""})
    assert no_reason.status_code == 422 and "暂停须说明理由" in no_reason.text
    assert post_form(client, "/market/review", f"/market/review/{pid}/suspend",
                     {"reason": "数据源暂停更新"}).status_code == 303  # fmt: skip
    assert state_of(session, pid) == "suspended"
    client.cookies.clear()
    assert client.get(f"/market/products/{pid}").status_code == 404  # gone from the public
    sign_in(client, w["operator"])
    assert post_form(client, "/market/review", f"/market/review/{pid}/resume", {}).status_code == 303
    assert state_of(session, pid) == "listed"
    assert post_form(client, "/market/review", f"/market/review/{pid}/suspend", {"reason": "复核"}).status_code == 303
    assert post_form(client, "/market/review", f"/market/review/{pid}/delist",
                     {"reason": "提供方申请下架"}).status_code == 303  # fmt: skip
    assert state_of(session, pid) == "delisted"
    history = client.get(f"/market/products/{pid}").text
    assert "数据源暂停更新" in history and "提供方申请下架" in history and "已下架" in history


def test_nobody_reviews_what_they_submitted_and_the_page_says_so(
    client: TestClient, session: Session, world: dict[str, Any], as_actor: Any
) -> None:
    w = world
    operator = w["operator"]
    own = market.create_product(session, operator, product_in(w["table"], code="op-product"))
    market.add_plan(session, operator, own.id, PER_CALL)
    market.submit(session, operator, own.id)
    sign_in(client, operator)
    refused = post_form(client, "/market/review", f"/market/review/{own.id}/approve", {"notice_days": "7"})
    assert refused.status_code == 403 and "不能审核本人提交的产品" in refused.text
    assert 'id="review-error"' in refused.text and state_of(session, own.id) == "under_review"
    assert client.post(f"/market/review/{own.id}/bogus", data={}).status_code == 404

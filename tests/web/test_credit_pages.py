"""信用评分 portal pages: the enterprise's credit page (score, grade and scale, points, reasons, history,
the reads under each consent), the operator's view of any enterprise and the scorecard charts (AUC,
KS, IV, inline SVG), and the bank's report page, refused without a live consent; each page for the
right roles only."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.authz import SYSTEM
from pubdata.finance import demo_outcomes, service
from pubdata.finance.consent import service as consents
from pubdata.finance.consent.schemas import ConsentCreate
from pubdata.finance.scorecards import fit
from tests import builders
from tests.builders import settings_for
from tests.finance.builders import publish_facts, publish_synthetic_facts
from tests.finance.test_consent import admitted_bank
from tests.finance.test_report import facts_row
from tests.web.test_finance_pages import sign_in


@pytest.fixture
def settings(tmp_path):
    """A home of this test's own (facts files are immutable once read; numbers never repeat)."""
    return settings_for(tmp_path)


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def world(session: Session, as_actor: Any, settings: Any) -> dict[str, Any]:
    """An enterprise scored over two facts versions (its tax grade improved from B to A), and a bank
    of the finance zone."""
    org = builders.make_org(session, "enterprise")
    publish_facts(session, settings.home, [{**facts_row(org), "tax_credit_grade": "B"}])
    service.run_scoring(session, SYSTEM, home=settings.home)
    publish_facts(session, settings.home, [facts_row(org)])
    service.run_scoring(session, SYSTEM, home=settings.home)
    bank_org, bank = admitted_bank(session, as_actor)
    return {"org": org, "enterprise": as_actor("enterprise", org), "bank_org": bank_org, "bank": bank}


def grant(session: Session, world: dict[str, Any], sections: tuple[str, ...] = ("basic", "score")) -> int:
    data = ConsentCreate(bank=world["bank_org"].code, sections=list(sections), purpose="loan_application",
                         expires_on=beijing_today() + timedelta(days=30))  # fmt: skip
    return consents.grant_consent(session, world["enterprise"], data).id


def no_inline_script(html: str) -> bool:
    return not re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", html)


def test_the_enterprise_sees_its_credit_page_with_history_and_who_read_it(
    client: TestClient, session: Session, as_actor: Any, world: dict[str, Any]
) -> None:
    uscc = world["org"].uscc
    assert client.get("/credit", follow_redirects=False).headers["location"].startswith("/user/login")
    consent_id = grant(session, world)
    sign_in(client, world["bank"])
    assert client.get(f"/finance/report/{uscc}").status_code == 200  # the bank reads under the consent

    sign_in(client, world["enterprise"])
    page = client.get("/credit")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'lang="zh-CN"' in html and "本企业的信用评分" in html and 'href="/credit"' in html
    now = service.score_enterprise(session, SYSTEM, uscc, home=client.app.state.settings.home)
    assert f'id="credit-score">{now.score}<' in html and f'id="credit-grade">{now.grade}<' in html
    assert "提升评分的主要因素" in html and "纳税信用等级为 A" in html
    assert "各维度与指标得分" in html and "纳税信用" in html
    assert 'id="grade-scale"' in html and "≥ 820" in html and "300—449" in html  # the cut-offs and the scale
    history = re.search(r'<table class="data-table" id="history-table">(.*?)</table>', html, re.S)
    assert history and history.group(1).count("<tr>") == 3  # a header and two runs
    assert "第 1 版" in history.group(1) and "第 2 版" in history.group(1)
    assert 'id="history-chart"' in html and "<svg" in html
    readers = html[html.index('id="credit-readers"') :]
    assert f"授权 #{consent_id}" in readers and world["bank"].username in readers and "已查看" in readers
    assert 'href="/finance/consents"' in readers
    assert no_inline_script(html)

    sign_in(client, as_actor("enterprise"))  # another enterprise: not found
    assert client.get(f"/credit/{uscc}").status_code == 404
    sign_in(client, world["bank"])  # a bank: not found (its way is the report under consent)
    assert client.get(f"/credit/{uscc}").status_code == 404
    assert client.get("/credit", follow_redirects=False).headers["location"] == "/finance/report"
    sign_in(client, as_actor("department"))
    assert client.get("/credit").status_code == 403
    assert client.get(f"/credit/{uscc}").status_code == 404

    sign_in(client, as_actor("operator"))  # the operator: any enterprise's page
    lookup = client.get("/credit")
    assert lookup.status_code == 200 and 'id="credit-lookup"' in lookup.text
    assert client.get(f"/credit?uscc={uscc}", follow_redirects=False).headers["location"] == f"/credit/{uscc}"
    seen = client.get(f"/credit/{uscc}")
    assert seen.status_code == 200 and "企业信用评分" in seen.text and f'id="credit-grade">{now.grade}<' in seen.text


def test_the_bank_report_page_needs_a_live_consent(
    client: TestClient, session: Session, as_actor: Any, world: dict[str, Any]
) -> None:
    uscc = world["org"].uscc
    sign_in(client, world["bank"])
    refused = client.get(f"/finance/report/{uscc}")
    assert refused.status_code == 403 and "无法查看该企业的信用报告" in refused.text
    assert "没有该企业有效的授权" in refused.text
    assert 'id="section-' not in refused.text and "1,000万元" not in refused.text  # nothing of the report
    assert "还没有企业授权本行" in client.get("/finance/report").text

    consent_id = grant(session, world, ("basic", "tax"))
    listed = client.get("/finance/report")
    assert f'href="/finance/report/{uscc}?sections=basic,tax"' in listed.text
    shown = client.get(f"/finance/report/{uscc}")
    assert shown.status_code == 200, shown.text
    assert 'id="section-basic"' in shown.text and 'id="section-tax"' in shown.text
    assert 'id="section-score"' not in shown.text and 'id="section-compliance"' not in shown.text
    assert "1,000万元" in shown.text and f"授权 #{consent_id}" in shown.text
    not_covered = client.get(f"/finance/report/{uscc}?sections=score")
    assert not_covered.status_code == 403 and "信用评分、等级与主要原因" in not_covered.text

    consents.revoke_consent(session, world["enterprise"], consent_id)
    assert client.get(f"/finance/report/{uscc}").status_code == 403  # at once

    sign_in(client, as_actor("enterprise"))  # not a bank: refused
    assert client.get("/finance/report").status_code == 403
    assert client.get(f"/finance/report/{uscc}").status_code == 403
    sign_in(client, world["enterprise"])  # the enterprise may read its own report here too
    own = client.get(f"/finance/report/{uscc}")
    assert own.status_code == 200 and 'id="section-score"' in own.text and 'id="section-trade"' in own.text


def test_the_scorecard_charts_page_shows_a_fitted_cards_metrics(
    client: TestClient, session: Session, as_actor: Any, settings: Any
) -> None:
    publish_synthetic_facts(session, settings.home, 3_000)
    service.run_scoring(session, SYSTEM, home=settings.home)
    outcomes = demo_outcomes.draw_outcomes(session, SYSTEM, home=settings.home, sample=1_500, seed=7)
    fitted = fit.fit_scorecard(session, SYSTEM, outcomes, home=settings.home, supplied_by="测试银行")
    metrics = fitted.model.metrics or {}

    for role in ("enterprise", "bank", "department"):
        sign_in(client, as_actor(role))
        assert client.get("/credit/models").status_code == 403, role
    sign_in(client, as_actor("operator"))
    page = client.get("/credit/models")
    assert page.status_code == 200, page.text
    html = page.text
    assert "评分卡与模型表现" in html and 'href="/credit/models"' in html
    fitted_part = html[html.index('id="model-fitted-v1"') :]
    assert f'class="metric-auc">{metrics["auc"]}<' in fitted_part
    assert f'class="metric-ks">{metrics["ks"]}<' in fitted_part
    for chart in ("holdout", "roc", "ks", "psi"):
        assert f'id="{chart}-{fitted.model.id}"' in fitted_part, chart
    assert "纳税信用等级" in fitted_part and "测试银行" in fitted_part  # IV per feature, by title
    assert fitted_part.count("<polyline") >= 3  # ROC (and its diagonal) and the two KS curves
    expert_part = html[html.index('id="model-expert-v') :]
    assert 'class="data-table grade-table"' in expert_part and "3,000" in expert_part
    assert no_inline_script(html)

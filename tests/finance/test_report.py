"""The credit report (信用报告): a bank reads exactly the sections a live consent covers, nothing after
revocation or expiry, nothing under another bank's consent; the enterprise reads its own; everyone
else is refused; every read shows among the consent's uses; and no other path (facts, score, CKAN,
SQL) leaks what the report holds."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from pubdata.access.service import beijing_today
from pubdata.authz import SYSTEM
from pubdata.db import write_durable
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.finance import report, service
from pubdata.finance.consent import service as consents
from pubdata.finance.consent.errors import ConsentRequired, InvalidConsent
from pubdata.finance.consent.schemas import SECTIONS, ConsentCreate
from tests import builders
from tests.builders import settings_for
from tests.finance.test_consent import admitted_bank


@pytest.fixture
def settings(tmp_path):
    """A home of this test's own (facts files are immutable once read; numbers never repeat)."""
    return settings_for(tmp_path)


def facts_row(org: Any) -> dict[str, Any]:
    return {
        "uscc": org.uscc, "name": org.name, "registered_district": "崂山区", "industry_code": "I6511",
        "registered_capital": 10_000_000, "founded": date(2014, 6, 1), "age_years": 11, "status": "存续",
        "tax_credit_grade": "A", "tax_credit_grade_previous": "B", "insured_headcount": 120, "is_high_tech": True,
        "is_specialised": False, "patent_count": 8, "penalty_count": 0, "is_dishonest_debtor": False,
        "is_abnormal_operation": False, "cbec_import_export_amount": 0,
    }  # fmt: skip


@pytest.fixture
def world(session, as_actor, settings) -> dict[str, Any]:
    """An enterprise in the facts table, scored with the expert card; a bank of the finance zone."""
    ent_org = builders.make_org(session, "enterprise")
    from tests.finance.builders import publish_facts

    publish_facts(session, settings.home, [facts_row(ent_org)])
    service.run_scoring(session, SYSTEM, home=settings.home)
    bank_org, bank = admitted_bank(session, as_actor)
    return {
        "org": ent_org, "enterprise": as_actor("enterprise", ent_org), "bank_org": bank_org, "bank": bank,
        "home": settings.home,
    }  # fmt: skip


def grant(session, world, sections=("basic", "tax"), days=30):  # type: ignore[no-untyped-def]
    data = ConsentCreate(bank=world["bank_org"].code, sections=list(sections), purpose="credit_line",
                         expires_on=beijing_today() + timedelta(days=days))  # fmt: skip
    return consents.grant_consent(session, world["enterprise"], data)


def read(session, world, actor, sections=None):  # type: ignore[no-untyped-def]
    return report.credit_report(session, actor, world["org"].uscc, sections, home=world["home"])


def test_a_bank_reads_exactly_the_consented_sections(session, world):
    with pytest.raises(ConsentRequired):  # no consent yet: nothing
        read(session, world, world["bank"])
    given = grant(session, world)
    got = read(session, world, world["bank"])  # None: what the consent covers
    assert got.reader == "bank" and [s.code for s in got.sections] == ["basic", "tax"]
    assert got.consent is not None and got.consent.id == given.id and got.consent.purpose_label == "授信额度评估"
    basic = {f.name: f for f in got.sections[0].facts}
    assert set(basic) == set(SECTIONS["basic"].facts)
    assert basic["registered_capital"].value_text == "1,000万元" and basic["registered_capital"].unit == "元"
    assert basic["name"].title == "企业名称" and basic["name"].meaning
    tax = {f.name: f.value for f in got.sections[1].facts}
    assert tax["tax_credit_grade"] == "A" and tax["tax_credit_grade_previous"] == "B"
    assert all(s.score is None for s in got.sections)

    only_tax = read(session, world, world["bank"], ["tax"])
    assert [s.code for s in only_tax.sections] == ["tax"]
    with pytest.raises(ConsentRequired) as refused:  # a section the consent does not cover
        read(session, world, world["bank"], ["basic", "score"])
    assert "信用评分" in refused.value.message
    with pytest.raises(InvalidConsent):
        read(session, world, world["bank"], ["medical"])


def test_the_score_section_carries_the_expert_score_grade_and_reasons(session, world):
    grant(session, world, sections=("score",))
    got = read(session, world, world["bank"])
    (section,) = got.sections
    assert section.code == "score" and section.score is not None
    expected = service.score_enterprise(session, SYSTEM, world["org"].uscc, home=world["home"])
    assert section.score == expected and expected.model.id == "expert"
    assert section.score.grade in ("AAA", "AA") and not section.score.reasons_down
    assert any(r.text.startswith("纳税信用等级为 A") for r in section.score.reasons_up)


def test_revoked_or_expired_consent_and_another_bank_read_nothing(session, as_actor, world):
    given = grant(session, world)
    assert read(session, world, world["bank"]).sections
    _, other_bank = admitted_bank(session, as_actor)
    with pytest.raises(ConsentRequired):
        read(session, world, other_bank)
    consents.revoke_consent(session, world["enterprise"], given.id)
    with pytest.raises(ConsentRequired):  # at once
        read(session, world, world["bank"])

    later = grant(session, world, days=0)  # the last day is today: still live
    assert read(session, world, world["bank"]).consent.id == later.id  # type: ignore[union-attr]
    row = session.get(consents.FinanceConsent, later.id)
    row.expires_on = beijing_today() - timedelta(days=1)
    session.flush()
    with pytest.raises(ConsentRequired):
        read(session, world, world["bank"], ["basic"])


def test_the_enterprise_reads_its_own_full_report_and_no_one_else_does(session, as_actor, world):
    own = read(session, world, world["enterprise"])
    assert own.reader == "enterprise" and own.consent is None
    assert [s.code for s in own.sections] == list(SECTIONS)
    score = next(s for s in own.sections if s.code == "score")
    assert score.score is not None and score.score.grade in ("AAA", "AA")
    grant(session, world)  # a consent to a bank opens nothing to the others
    with pytest.raises(Unauthenticated):
        read(session, world, as_actor("anonymous"))
    for role in ("enterprise", "department", "operator", "regulator", "data_merchant"):
        with pytest.raises(Forbidden):
            read(session, world, as_actor(role))


def test_each_read_and_refusal_is_in_the_consents_uses(session, world):
    given = grant(session, world)
    read(session, world, world["bank"], ["basic"])
    read(session, world, world["bank"])
    with pytest.raises(ConsentRequired):
        read(session, world, world["bank"], ["compliance"])
    write_durable(session)
    uses = consents.consent_uses(session, world["enterprise"], given.id)
    assert [(u.result, u.sections) for u in uses] == [
        ("refused", ["compliance"]), ("allowed", ["basic", "tax"]), ("allowed", ["basic"]),
    ]  # fmt: skip
    assert uses[1].reader == world["bank"].username and uses[1].reader_org_id == world["bank_org"].id


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_report_api_and_no_other_path(client, session, world, token_for):
    uscc = world["org"].uscc
    bank = bearer(token_for(world["bank"], scopes=["read"]))
    mine = bearer(token_for(world["enterprise"], scopes=["read"]))
    r = client.get(f"/api/v1/credit/{uscc}/report", headers=bank)
    assert r.status_code == 403 and r.json()["error"]["code"] == "finance.consent_required"
    given = grant(session, world, sections=("basic", "score"))
    r = client.get(f"/api/v1/credit/{uscc}/report?sections=score", headers=bank)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["code"] for s in body["sections"]] == ["score"] and body["sections"][0]["score"]["grade"] in ("AAA", "AA")
    r = client.get(f"/api/v1/credit/{uscc}/report?sections=basic,tax", headers=bank)
    assert r.status_code == 403
    assert client.get(f"/api/v1/credit/{uscc}/report?sections=nope", headers=bank).status_code == 422
    assert client.get(f"/api/v1/credit/{uscc}/report").status_code == 401
    own = client.get(f"/api/v1/credit/{uscc}/report", headers=mine)
    assert own.status_code == 200 and len(own.json()["sections"]) == len(SECTIONS)

    # under a live consent still no other path: the facts and the score themselves are not found
    assert client.get(f"/api/v1/enterprises/{uscc}/facts", headers=bank).status_code == 404
    assert client.get(f"/api/v1/credit/{uscc}", headers=bank).status_code == 404
    # the facts and score files are not catalogue resources: CKAN finds nothing of them
    for q in (uscc, world["org"].name, "企业档案", "信用评分", "facts", "scores"):
        found = client.get("/api/3/action/package_search", params={"q": q}, headers=bank).json()
        assert found["success"] and found["result"]["count"] == 0, q
    for resource in ("facts", "enterprise_facts", "finance_scores", uscc):
        r = client.get("/api/3/action/datastore_search", params={"resource_id": resource}, headers=bank)
        assert r.status_code in (403, 404) and r.json()["success"] is False, resource
    facts_file = next((world["home"] / "enterprise").rglob("*.parquet"))
    scores_file = next((world["home"] / "finance").rglob("*.parquet"))
    for path in (facts_file, scores_file):
        sql = f"SELECT * FROM read_parquet('{path}')"
        r = client.get("/api/3/action/datastore_search_sql", params={"sql": sql}, headers=bank)
        assert r.json()["success"] is False and uscc not in r.text, r.text

    consents.revoke_consent(session, world["enterprise"], given.id)
    r = client.get(f"/api/v1/credit/{uscc}/report?sections=score", headers=bank)
    assert r.status_code == 403  # revocation is immediate

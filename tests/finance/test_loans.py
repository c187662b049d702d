"""银企直通车: a bank of the finance zone publishes a product whose eligibility is a rule; an
enterprise sees it matched against its own facts with reasons, applies with a consent; the bank works
the pipeline to disbursement and outcome; outcomes and the dashboard aggregate what was extended."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pubdata.access.service import beijing_today
from pubdata.errors import Forbidden
from pubdata.finance.consent import service as consents
from pubdata.finance.consent.errors import InvalidConsent
from pubdata.finance.loans import service as loans
from pubdata.finance.loans.errors import (
    InvalidApplication,
    InvalidProduct,
    NotAZoneBank,
    NotEligible,
    WrongState,
)
from pubdata.finance.loans.schemas import ApplicationIn, StepIn
from tests.builders import settings_for
from tests.finance.channel import consent_to, make_channel, product
from tests.finance.test_consent import admitted_bank


@pytest.fixture
def settings(tmp_path):
    """A home of this test's own: each test writes its facts file as version 1, and a facts file is
    immutable once read (readers cache it by path), as it is in production where numbers never repeat."""
    return settings_for(tmp_path)


@pytest.fixture
def channel(session, as_actor, settings):
    return make_channel(session, as_actor, settings.home)


def test_products_are_checked_and_only_zone_banks_publish(session, as_actor, channel):
    bank = channel["bank"]
    with pytest.raises(InvalidProduct) as exc:  # text compares only with == and !=
        loans.create_product(session, bank, product(code="x1", eligibility="tax_credit_grade >= 'A'"))
    assert "准入条件有误" in exc.value.message
    with pytest.raises(InvalidProduct) as exc:
        loans.create_product(session, bank, product(code="x2", eligibility="turnover > 100万"))
    assert "turnover" in exc.value.message
    with pytest.raises(InvalidProduct):
        loans.create_product(session, bank, product(code="x3", sections=["basic", "medical"]))
    with pytest.raises(InvalidProduct):  # the code is the bank's own key
        loans.create_product(session, bank, product())
    with pytest.raises(ValueError):
        product(amount_min=10, amount_max=5)
    with pytest.raises(NotAZoneBank):  # a bank not admitted to the zone
        loans.create_product(session, as_actor("bank"), product(code="y"))
    with pytest.raises(Forbidden):
        loans.create_product(session, as_actor("enterprise"), product(code="z"))
    assert [p.name for p in loans.list_products(session, as_actor("anonymous"))] == ["科创信用贷"]


def test_an_enterprise_sees_its_matches_with_reasons(session, settings, channel):
    for who, expected in (("good", True), ("weak", False), ("unknown", None)):
        org, actor = channel[who]
        [match] = loans.match_products(session, actor, org.uscc, home=settings.home)
        assert match.eligible is expected, (who, match.reasons)
    org, actor = channel["weak"]
    [match] = loans.match_products(session, actor, org.uscc, home=settings.home)
    assert any(r.startswith("✗") and "纳税信用等级" in r for r in match.reasons)
    org, actor = channel["unknown"]
    [match] = loans.match_products(session, actor, org.uscc, home=settings.home)
    assert match.missing == ["insured_headcount"] and match.missing_titles == ["参保人数"]


def test_a_loan_travels_from_application_to_outcome(session, settings, channel):
    bank, bank_org, made = channel["bank"], channel["bank_org"], channel["product"]
    org, enterprise = channel["good"]
    narrow = consent_to(session, enterprise, bank_org, sections=("basic",))
    ask = {"product_id": made.id, "amount": 1_000_000, "term_months": 12, "purpose": "采购原材料"}
    with pytest.raises(InvalidConsent) as exc:  # the product needs the tax section too
        loans.apply(session, enterprise, ApplicationIn(consent_id=narrow.id, **ask), home=settings.home)
    assert "纳税信用" in exc.value.message
    given = consent_to(session, enterprise, bank_org)
    with pytest.raises(InvalidApplication) as exc:
        loans.apply(
            session,
            enterprise,
            ApplicationIn(consent_id=given.id, **{**ask, "amount": 9_000_000, "term_months": 60}),
            home=settings.home,
        )
    assert [d["field"] for d in exc.value.details] == ["amount", "term_months"]
    app = loans.apply(session, enterprise, ApplicationIn(consent_id=given.id, **ask), home=settings.home)
    assert app.state == "received" and app.eligibility["eligible"] is True and app.district == "崂山区"
    assert app.industry == "I" and app.eligibility["values"]["tax_credit_grade"] == "A"

    # the bank sees the eligibility detail under the live consent
    assert loans.get_application(session, bank, app.id).eligibility["eligible"] is True
    step = loans.step
    with pytest.raises(WrongState):
        step(session, bank, app.id, StepIn(action="disburse"))
    step(session, bank, app.id, StepIn(action="review"))
    with pytest.raises(InvalidApplication):  # above what was asked, rate outside the product's
        step(session, bank, app.id, StepIn(action="approve", amount=2_000_000, rate_bp=500, term_months=12))
    approved = step(session, bank, app.id, StepIn(action="approve", amount=800_000, rate_bp=380, term_months=12))
    assert approved.state == "approved" and approved.approved_amount == 800_000
    with pytest.raises(WrongState):
        loans.withdraw(session, enterprise, app.id)
    step(session, bank, app.id, StepIn(action="disburse", on=beijing_today() - timedelta(days=400)))
    closed = step(session, bank, app.id, StepIn(action="defaulted", note="逾期90天以上"))
    assert closed.state == "defaulted" and [e.to_state for e in closed.events] == [
        "received", "reviewing", "approved", "disbursed", "defaulted"]  # fmt: skip

    [outcome] = loans.loan_outcomes(session, bank)
    assert outcome.uscc == org.uscc and outcome.defaulted
    # the outcome feeds the fitted scorecard, read as of the day the loan was disbursed
    from pubdata.finance.scorecards import fit

    [row] = fit.loan_rows(session, bank)
    assert row == {"uscc": org.uscc, "defaulted": True, "observed": beijing_today().isoformat(),
                   "as_of": beijing_today() - timedelta(days=400)}  # fmt: skip
    board = loans.dashboard(session, bank)
    assert board["total"]["applications"] == 1 and board["total"]["amount_disbursed"] == 800_000
    assert board["by"]["state"][0]["label"] == "已违约"
    assert board["by"]["district"] == [{"key": None, "label": "其他", **board["total"]}]  # a cell of one is folded

    # revoked: the bank no longer sees the enterprise's facts in the application
    consents.revoke_consent(session, enterprise, given.id)
    assert "hidden" in loans.get_application(session, bank, app.id).eligibility
    assert loans.get_application(session, enterprise, app.id).eligibility["eligible"] is True


def test_refusals(session, settings, as_actor, channel):
    bank_org, made = channel["bank_org"], channel["product"]
    org, weak = channel["weak"]
    given = consent_to(session, weak, bank_org)
    ask = ApplicationIn(product_id=made.id, consent_id=given.id, amount=500_000, term_months=12, purpose="流动资金")
    with pytest.raises(NotEligible) as exc:
        loans.apply(session, weak, ask, home=settings.home)
    assert "纳税信用等级" in exc.value.message
    _, good = channel["good"]
    with pytest.raises(InvalidConsent):  # someone else's consent
        loans.apply(session, good, ask, home=settings.home)
    _, other_bank = admitted_bank(session, as_actor)
    with pytest.raises(Forbidden):
        loans.step(session, as_actor("enterprise"), 1, StepIn(action="review"))
    assert loans.list_applications(session, other_bank) == []
    assert loans.dashboard(session, other_bank)["total"]["applications"] == 0


def test_the_channel_over_http(session, client, token_for, channel):
    bank, bank_org, made = channel["bank"], channel["bank_org"], channel["product"]
    org, enterprise = channel["good"]
    as_bank = {"Authorization": f"Bearer {token_for(bank, scopes=['read', 'finance'])}"}
    as_ent = {"Authorization": f"Bearer {token_for(enterprise, scopes=['read', 'finance'])}"}
    assert [p["code"] for p in client.get("/api/v1/loan-products").json()] == ["kechuang-dai"]
    bad = client.post("/api/v1/loan-products", headers=as_bank,
                      json={**product(code="b1").model_dump(), "eligibility": "age_years >"})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "finance.invalid_product"
    matches = client.get(f"/api/v1/enterprises/{org.uscc}/loan-matches", headers=as_ent).json()
    assert matches[0]["eligible"] is True and matches[0]["reasons"][-1].endswith("符合准入条件")
    assert client.get(f"/api/v1/enterprises/{org.uscc}/loan-matches", headers=as_bank).status_code == 404

    given = consent_to(session, enterprise, bank_org)
    body = {"product_id": made.id, "consent_id": given.id, "amount": 300_000, "term_months": 12, "purpose": "研发投入"}
    created = client.post("/api/v1/loan-applications", json=body, headers=as_ent)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    steps = f"/api/v1/loan-applications/{app_id}/steps"
    assert client.post(steps, json={"action": "approve"}, headers=as_ent).status_code == 403
    declined = client.post(steps, json={"action": "decline"}, headers=as_bank)
    assert declined.status_code == 422 and "理由" in declined.json()["error"]["message"]
    done = client.post(steps, json={"action": "decline", "note": "经营流水不足"}, headers=as_bank).json()
    assert done["state"] == "declined" and done["decline_reason"] == "经营流水不足"
    listed = client.get("/api/v1/loan-applications?state=declined", headers=as_ent).json()
    assert [a["id"] for a in listed] == [app_id]
    assert client.get("/api/v1/finance/dashboard", headers=as_ent).status_code == 403
    assert client.get("/api/v1/finance/dashboard", headers=as_bank).json()["total"]["applications"] == 1


def test_score_grade_and_tiers_are_loan_inputs(session, settings, channel):
    from pubdata.authz import SYSTEM
    from pubdata.finance import service as finance

    bank = channel["bank"]
    graded = loans.create_product(
        session, bank,
        product(code="graded", eligibility="credit_grade in ['AAA', 'AA', 'A', 'BBB', 'BB'] or tier_specialised_sme"),
    )  # fmt: skip
    loans.set_product_state(session, bank, graded.id, "published")
    org, enterprise = channel["good"]
    before = {m.product.code: m for m in loans.match_products(session, enterprise, org.uscc, home=settings.home)}
    assert before["graded"].eligible is None  # no score yet, and the tier's facts are the enterprise's to supply
    assert "credit_grade" in before["graded"].missing and "信用等级" in before["graded"].missing_titles
    finance.run_scoring(session, SYSTEM, home=settings.home)
    score = finance.score_enterprise(session, enterprise, org.uscc, home=settings.home)
    after = {m.product.code: m for m in loans.match_products(session, enterprise, org.uscc, home=settings.home)}
    expected = True if score.grade in ("AAA", "AA", "A", "BBB", "BB") else None
    assert after["graded"].eligible is expected
    assert any(f"信用等级（{score.grade}）" in line for line in after["graded"].reasons), after["graded"].reasons

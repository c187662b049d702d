"""Consent (授权): an enterprise authorises a named bank of the finance zone to read sections of its
credit report; revocable at once; every read under it audited and visible to the enterprise; no
live consent, no report."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pubdata.access import zones
from pubdata.access.service import beijing_today
from pubdata.audit import service as audit
from pubdata.db import write_durable
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.finance.consent import service as consent
from pubdata.finance.consent.errors import (
    ConsentNotFound,
    ConsentRequired,
    ConsentRevoked,
    InvalidConsent,
    UnknownBank,
)
from pubdata.finance.consent.schemas import ConsentCreate
from tests import builders

QUALIFICATIONS = "金融许可证 B0001H237020001，等保三级备案 37020099001-00001"


def admitted_bank(session, as_actor):
    org = builders.make_org(session, "bank")
    bank = as_actor("bank", org)
    member = zones.apply(session, bank, "finance", QUALIFICATIONS)
    zones.review_member(session, as_actor("operator"), "finance", member.id, admit=True)
    return org, bank


def request(bank_code, **overrides):
    data = {
        "bank": bank_code,
        "sections": ["basic", "score", "tax"],
        "purpose": "loan_application",
        "expires_on": beijing_today() + timedelta(days=90),
    }
    data.update(overrides)
    return ConsentCreate(**data)


@pytest.fixture
def parties(session, as_actor):
    ent_org = builders.make_org(session, "enterprise")
    enterprise = as_actor("enterprise", ent_org)
    bank_org, bank = admitted_bank(session, as_actor)
    return ent_org, enterprise, bank_org, bank


def test_a_bank_reads_only_under_a_live_consent_covering_the_sections(session, parties):
    ent_org, enterprise, bank_org, bank = parties
    with pytest.raises(ConsentRequired):
        consent.authorise_report(session, bank, ent_org.uscc, ["basic"])
    builders.make_org(session, "bank")  # a bank not admitted is not offered
    assert [b.code for b in consent.admitted_banks(session, enterprise)] == [bank_org.code]
    given = consent.grant_consent(session, enterprise, request(bank_org.code))
    assert given.status == "live" and given.bank == bank_org.name and given.uscc == ent_org.uscc
    assert given.section_labels[0] == "基本登记信息" and given.purpose_label == "贷款申请审查"

    granted = consent.authorise_report(session, bank, ent_org.uscc.lower(), ["basic", "tax"])
    assert granted.id == given.id
    with pytest.raises(ConsentRequired) as exc:  # a section the consent does not name
        consent.authorise_report(session, bank, ent_org.uscc, ["basic", "compliance"])
    assert "行政处罚" in exc.value.message

    consent.revoke_consent(session, enterprise, given.id, "贷款已结清")
    with pytest.raises(ConsentRequired):  # at once
        consent.authorise_report(session, bank, ent_org.uscc, ["basic"])
    with pytest.raises(ConsentRevoked):
        consent.revoke_consent(session, enterprise, given.id)


def test_only_the_named_bank_may_read(session, as_actor, parties):
    ent_org, enterprise, bank_org, _ = parties
    consent.grant_consent(session, enterprise, request(bank_org.code))
    _, other_bank = admitted_bank(session, as_actor)
    with pytest.raises(ConsentRequired):
        consent.authorise_report(session, other_bank, ent_org.uscc, ["basic"])
    for who in ("enterprise", "department", "data_merchant"):  # no report right at all
        with pytest.raises(Forbidden):
            consent.authorise_report(session, as_actor(who), ent_org.uscc, ["basic"])
    with pytest.raises(Unauthenticated):
        consent.authorise_report(session, as_actor("anonymous"), ent_org.uscc, ["basic"])


def test_an_expired_consent_lets_nothing_through(session, parties):
    ent_org, enterprise, bank_org, bank = parties
    given = consent.grant_consent(session, enterprise, request(bank_org.code, expires_on=beijing_today()))
    assert consent.authorise_report(session, bank, ent_org.uscc, ["basic"]).id == given.id  # the last day counts
    row = session.get(consent.FinanceConsent, given.id)
    row.expires_on = beijing_today() - timedelta(days=1)  # a day later
    session.flush()
    assert consent.get_consent(session, enterprise, given.id).status == "expired"
    with pytest.raises(ConsentRequired):
        consent.authorise_report(session, bank, ent_org.uscc, ["basic"])


def test_bad_consents_are_refused_with_every_problem_named(session, as_actor, parties):
    _, enterprise, bank_org, _ = parties
    with pytest.raises(InvalidConsent) as exc:
        consent.grant_consent(
            session, enterprise,
            request(bank_org.code, sections=["basic", "medical"], purpose="lottery",
                    expires_on=beijing_today() - timedelta(days=1)),
        )  # fmt: skip
    fields = [d["field"] for d in exc.value.details]
    assert fields == ["sections", "purpose", "expires_on"] and "medical" in exc.value.message
    with pytest.raises(InvalidConsent):
        consent.grant_consent(
            session, enterprise, request(bank_org.code, expires_on=beijing_today() + timedelta(days=400))
        )
    with pytest.raises(UnknownBank):  # no such organisation
        consent.grant_consent(session, enterprise, request("no-such-bank"))
    outsider = builders.make_org(session, "bank")  # a bank not admitted to the finance zone
    with pytest.raises(UnknownBank):
        consent.grant_consent(session, enterprise, request(outsider.code))
    merchant = builders.make_org(session, "data_merchant")
    with pytest.raises(UnknownBank):
        consent.grant_consent(session, enterprise, request(merchant.code))
    with pytest.raises(Forbidden):  # only an enterprise grants, for itself
        consent.grant_consent(session, as_actor("bank"), request(bank_org.code))
    assert consent.list_consents(session, enterprise) == []  # nothing half-written
    write_durable(session)  # what the request boundary does: refusals are kept
    _, refused = audit.search(session, enterprise, audit.AuditQuery(action="consent.grant", result="refused"))
    assert len(refused) >= 4


def test_reads_are_audited_and_visible_to_the_enterprise(session, as_actor, parties):
    ent_org, enterprise, bank_org, bank = parties
    given = consent.grant_consent(session, enterprise, request(bank_org.code))
    granted = consent.authorise_report(session, bank, ent_org.uscc, ["basic", "score"])
    consent.record_report_read(session, bank, granted, ["basic", "score"])
    with pytest.raises(ConsentRequired):
        consent.authorise_report(session, bank, ent_org.uscc, ["utilities"])
    write_durable(session)
    uses = consent.consent_uses(session, enterprise, given.id)
    assert [(u.result, u.sections) for u in uses] == [("refused", ["utilities"]), ("allowed", ["basic", "score"])]
    assert uses[1].reader == bank.username and uses[1].reader_org_id == bank_org.id
    assert [u.result for u in consent.consent_uses(session, bank, given.id)] == ["refused", "allowed"]
    # someone else's consent is not found, and its uses are not shown
    stranger = as_actor("enterprise")
    with pytest.raises(ConsentNotFound):
        consent.consent_uses(session, stranger, given.id)
    with pytest.raises(Forbidden):
        consent.revoke_consent(session, bank, given.id)  # the bank cannot revoke it
    with pytest.raises(ConsentNotFound):
        consent.revoke_consent(session, stranger, given.id)  # nor another enterprise
    assert consent.list_consents(session, stranger) == []
    assert [c.id for c in consent.list_consents(session, bank)] == [given.id]
    assert [c.id for c in consent.list_consents(session, as_actor("regulator"))] == [given.id]


def test_the_consent_api_round_trip(session, client, token_for, parties):
    ent_org, enterprise, bank_org, bank = parties
    as_enterprise = {"Authorization": f"Bearer {token_for(enterprise, scopes=['read', 'finance'])}"}
    as_bank = {"Authorization": f"Bearer {token_for(bank, scopes=['read'])}"}
    options = client.get("/api/v1/consents/options").json()
    assert {"code": "tax", "label": "纳税信用"} in options["sections"]

    body = {"bank": bank_org.code, "sections": ["basic", "tax"], "purpose": "credit_line",
            "expires_on": str(beijing_today() + timedelta(days=30))}  # fmt: skip
    assert client.post("/api/v1/consents", json=body, headers=as_bank).status_code == 403
    read_only = {"Authorization": f"Bearer {token_for(enterprise, scopes=['read'])}"}
    assert client.post("/api/v1/consents", json=body, headers=read_only).status_code == 403  # scope `finance`
    bad = client.post("/api/v1/consents", json={**body, "bank": "nope", "purpose": "x"}, headers=as_enterprise)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "finance.invalid_consent"
    made = client.post("/api/v1/consents", json=body, headers=as_enterprise)
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    assert [c["id"] for c in client.get("/api/v1/consents", headers=as_bank).json()] == [cid]
    assert client.get(f"/api/v1/consents/{cid}", headers=read_only).json()["status"] == "live"
    revoked = client.post(f"/api/v1/consents/{cid}/revoke", json={"reason": "不再需要"}, headers=as_enterprise)
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoke_reason"] == "不再需要"
    again = client.post(f"/api/v1/consents/{cid}/revoke", headers=as_enterprise)
    assert again.status_code == 409 and again.json()["error"]["code"] == "finance.consent_revoked"
    assert client.get(f"/api/v1/consents/{cid}/uses", headers=as_enterprise).json() == []
    assert client.get(f"/api/v1/consents/{cid}").status_code == 401

"""Identity and the request surface (issue 10 §2 and §7.1–7.3): credentials that mint more power
than they hold, tokens that outlive the client they came from, state-changing calls without a named
permission, unthrottled password guessing, guessable passwords, and cookie-authenticated API writes
without a CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select, update

from pubdata.audit.models import AuditRecord
from pubdata.authz import SCOPES, SYSTEM, Permission, Role, scopes_available_to
from pubdata.db import utcnow
from pubdata.errors import Forbidden, Invalid
from pubdata.identity import login as logins
from pubdata.identity import machines, service
from pubdata.identity.errors import InvalidCredentials, InvalidToken
from pubdata.identity.models import ApiToken, LoginSession, LoginThrottle, OAuthClient
from pubdata.identity.passwords import password_problem
from pubdata.identity.schemas import UserCreate
from pubdata.settings import get_settings
from tests import builders
from tests.access.people import ask, grant, load_people
from tests.web.helpers import hidden_field, login


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def client_token(client, registered, secret, scope: str | None = None) -> str:  # type: ignore[no-untyped-def]
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    r = client.post("/oauth/token", data=data, auth=(registered.client_id, secret))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


# --- §2: a credential never grants more than what created it -----------------------------------------


def test_a_tokens_only_token_cannot_mint_an_admin_token_for_ten_years(client, as_actor, token_for):
    """The red team's first find: ``tokens`` → ``admin`` valid for 3650 days."""
    admin = as_actor("admin")
    narrow = token_for(admin, scopes=["tokens"])
    r = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["admin"], "days": 3650}, headers=bearer(narrow))
    assert r.status_code == 403 and r.json()["error"]["code"] == "identity.scope_not_held"
    r = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["read"]}, headers=bearer(narrow))
    assert r.status_code == 403  # not even "read": the calling token does not hold it
    r = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["tokens"], "days": 3650}, headers=bearer(narrow))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "days"
    r = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["tokens"], "days": 30}, headers=bearer(narrow))
    assert r.status_code == 201 and r.json()["scopes"] == "tokens"


def test_a_tokens_only_token_cannot_register_a_more_powerful_client(client, as_actor, token_for):
    narrow = token_for(as_actor("admin"), scopes=["tokens"])
    r = client.post("/api/v1/oauth-clients", json={"name": "x", "scopes": ["admin", "tokens"]}, headers=bearer(narrow))
    assert r.status_code == 403 and r.json()["error"]["code"] == "identity.scope_not_held"
    r = client.post("/api/v1/oauth-clients", json={"name": "x", "scopes": ["tokens"]}, headers=bearer(narrow))
    assert r.status_code == 201 and r.json()["scopes"] == "tokens"


def test_scopes_must_be_available_to_the_users_role(session, as_actor, client, token_for):
    bank = as_actor("bank")
    assert scopes_available_to(frozenset({Role.BANK})) == {"read", "tokens", "access", "finance", "market"}
    assert "admin" in scopes_available_to(frozenset({Role.ADMIN}))
    assert "admin" not in scopes_available_to(frozenset({Role.OPERATOR}))
    assert "operate" in scopes_available_to(frozenset({Role.OPERATOR}))
    for scopes in (["admin"], ["catalog:write"], ["operate"], ["policy"]):
        with pytest.raises(Invalid) as exc:  # even from a portal session, which is not narrowed
            service.create_token(session, bank, name="t", scopes=scopes, days=1)
        assert exc.value.code == "identity.scope_not_available"
        with pytest.raises(Invalid):
            machines.create_client(session, bank, name="c", scopes=scopes)
    # through the API too, with a token that holds "tokens"
    r = client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["admin"]}, headers=bearer(token_for(bank, ["tokens", "read"]))
    )
    assert r.status_code == 403  # the calling token does not hold "admin" either


def test_an_administrator_issuing_for_another_user_is_bounded_by_both(session, as_actor):
    admin, bank = as_actor("admin"), as_actor("bank")
    with pytest.raises(Invalid):  # the target user's role decides: a bank user gets no admin token
        service.create_token(session, admin, name="t", scopes=["admin"], days=1, username=bank.username)
    with pytest.raises(Invalid):
        service.create_token(session, SYSTEM, name="t", scopes=["admin"], days=1, username=bank.username)
    _, secret = service.create_token(session, admin, name="t", scopes=["tokens", "read"], days=30)
    via_token = service.actor_from_token(session, secret)
    with pytest.raises(Forbidden):  # and the caller's own scopes bound it (the admin token lacks "access")
        service.create_token(session, via_token, name="t", scopes=["access"], days=1, username=bank.username)
    with pytest.raises(Forbidden):  # a token without "admin" cannot manage others' tokens at all
        service.create_token(session, via_token, name="t", scopes=["read"], days=1, username=bank.username)
    token, _ = service.create_token(session, admin, name="t", scopes=["access", "read"], days=1, username=bank.username)
    assert token.scopes == "access read" and token.user_id == bank.user_id


def test_the_longest_lifetime_is_a_setting(session, as_actor, monkeypatch):
    bank = as_actor("bank")
    with pytest.raises(Invalid):  # ten years: refused by default (365 days at most)
        service.create_token(session, bank, name="t", scopes=["read"], days=3650)
    assert service.create_token(session, bank, name="t", scopes=["read"], days=365)[0]
    monkeypatch.setattr(service, "get_settings", lambda: get_settings().model_copy(update={"token_max_days": 30}))
    with pytest.raises(Invalid) as exc:
        service.create_token(session, bank, name="t", scopes=["read"], days=31)
    assert "30" in exc.value.message
    token, _ = service.create_token(session, bank, name="t", scopes=["read"])  # the default is capped too
    assert token.expires_at <= utcnow() + timedelta(days=30)


def test_a_token_minted_through_a_client_token_dies_with_the_client(client, session, as_actor, token_for):
    bank = as_actor("bank")
    registered, secret = machines.create_client(session, bank, name="信贷系统", scopes=["read", "tokens"])
    access_token = client_token(client, registered, secret)
    r = client.post(
        "/api/v1/tokens", json={"name": "child", "scopes": ["read"], "days": 365}, headers=bearer(access_token)
    )
    assert r.status_code == 201, r.text
    child = r.json()
    parent = session.scalar(select(ApiToken).where(ApiToken.name == f"oauth:{registered.client_id}"))
    minted = session.get(ApiToken, child["id"])
    assert minted.client_id == registered.id and minted.parent_id == parent.id
    assert minted.expires_at <= parent.expires_at  # it does not outlive its parent (minutes, not a year)
    assert client.get("/api/v1/me", headers=bearer(child["token"])).status_code == 200

    revoked = client.delete(
        f"/api/v1/oauth-clients/{registered.client_id}", headers=bearer(token_for(bank, scopes=["read", "tokens"]))
    )
    assert revoked.status_code == 200
    r = client.get("/api/v1/me", headers=bearer(child["token"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "identity.token_revoked"


def test_a_token_of_a_revoked_client_is_refused_at_authentication(session, as_actor):
    """Defence in depth: even a token that revoke_client missed stops working with its client."""
    bank = as_actor("bank")
    registered, secret = machines.create_client(session, bank, name="c", scopes=["read"])
    _, access_secret, _ = machines.issue_client_token(session, registered.client_id, secret)
    assert service.actor_from_token(session, access_secret).user_id == bank.user_id
    session.execute(update(OAuthClient).where(OAuthClient.id == registered.id).values(revoked_at=utcnow()))
    with pytest.raises(InvalidToken) as exc:
        service.actor_from_token(session, access_secret)
    assert exc.value.code == "identity.token_revoked" and "客户端" in exc.value.message


def test_a_client_token_cannot_register_clients(client, session, as_actor):
    registered, secret = machines.create_client(session, as_actor("bank"), name="c", scopes=["read", "tokens"])
    access_token = client_token(client, registered, secret)
    r = client.post("/api/v1/oauth-clients", json={"name": "逃逸", "scopes": ["read"]}, headers=bearer(access_token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "identity.client_token_cannot_register"


def test_revoking_a_token_revokes_what_it_minted_and_registered(client, session, as_actor, token_for):
    """A leaked token with "tokens" cannot leave behind a token or a client that survives its revocation."""
    bank = as_actor("bank")
    leaked = token_for(bank, scopes=["read", "tokens"])
    child = client.post("/api/v1/tokens", json={"name": "c", "scopes": ["read", "tokens"]}, headers=bearer(leaked))
    grandchild = client.post(
        "/api/v1/tokens", json={"name": "g", "scopes": ["read"]}, headers=bearer(child.json()["token"])
    ).json()["token"]
    made = client.post(
        "/api/v1/oauth-clients", json={"name": "后门", "scopes": ["read"]}, headers=bearer(leaked)
    ).json()
    registered = session.scalar(select(OAuthClient).where(OAuthClient.client_id == made["client_id"]))
    from_client = client_token(client, registered, made["client_secret"])

    leaked_id = service.actor_from_token(session, leaked).token_id
    assert client.delete(f"/api/v1/tokens/{leaked_id}", headers=bearer(token_for(bank, ["tokens"]))).status_code == 200
    for secret in (child.json()["token"], grandchild, from_client):
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    r = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(made["client_id"], made["client_secret"])
    )
    assert r.status_code == 401


def test_a_client_registered_by_a_token_issues_nothing_after_that_token_expired(session, as_actor):
    bank = as_actor("bank")
    token, secret = service.create_token(session, bank, name="t", scopes=["read", "tokens"], days=1)
    registered, client_secret = machines.create_client(
        session, service.actor_from_token(session, secret), name="c", scopes=["read"]
    )
    issued, _, _ = machines.issue_client_token(session, registered.client_id, client_secret)
    assert issued.expires_at <= token.expires_at
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    with pytest.raises(machines.InvalidClient):
        machines.issue_client_token(session, registered.client_id, client_secret)


def test_a_client_gets_only_the_scopes_its_users_roles_still_allow(session, as_actor):
    admin_user = builders.make_user(session, builders.make_org(session, "operator"), roles=["admin"])
    registered, secret = machines.create_client(session, builders.actor_of(admin_user), name="c", scopes=["admin"])
    admin_user.roles = "operator"  # demoted
    session.flush()
    with pytest.raises(Invalid):
        machines.issue_client_token(session, registered.client_id, secret)


# --- §7.1: every state-changing API call needs a named permission ---------------------------------------

# Each state-changing API route: the scope its permission lives in, and a body that passes validation
# (so that the call reaches the service's permission check). Path ids name real objects where the
# service looks its target up first (see ``targets``), made-up ones elsewhere. A new route must be
# added here (the test says so).
LOAN_PRODUCT = {
    "code": "p1", "name": "贷款", "category": "inclusive", "amount_min": 1, "amount_max": 2, "term_min_months": 1,
    "term_max_months": 2, "rate_min_bp": 300, "rate_max_bp": 400, "guarantee": "credit",
    "eligibility": "age_years >= 1", "sections": ["basic"],
}  # fmt: skip
MARKET_PRODUCT = {"code": "p-1", "kind": "api", "title": "接口", "scenario": "commerce", "resource_id": "none"}
MARKET_PLAN = {"code": "free", "title": "公益", "kind": "free", "public_interest_only": True}
REGISTRATION = {
    "title": "登记", "holder_name": "某机构", "holder_uscc": "91370200MA0000001X", "rights": ["holding"],
    "sources": [{"entry": "none", "basis": "own"}], "resource_id": "none", "scenario": "commerce",
    "classification": "general",
}  # fmt: skip
TRUST = {
    "code": "t-1", "title": "信托", "settlor_org_id": 1, "trustee_org_id": 2, "purpose": "asset_service",
    "fee_rate_bp": 100, "term_start": "2030-01-01", "term_end": "2030-12-31", "assets": ["QD-DR-2030-000001"],
    "beneficiaries": [{"organisation_id": 1, "numerator": 1, "denominator": 1, "remainder": True}],
}  # fmt: skip
APPRAISAL = {
    "registration_code": "QD-DR-2030-000001", "title": "评估", "purpose": "accounting", "valuation_date": "2026-01-01",
}  # fmt: skip
FIGURE = {"value": 1, "evidence": "x"}
STATE_CHANGING: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("POST", "/api/v1/entries"): (
        "catalog:write",
        {"json": {"code": "QD-X-1", "title": "测试", "category": "business", "open_type": "unconditional"}},
    ),
    ("PATCH", "/api/v1/entries/{key}"): ("catalog:write", {"json": {"title": "改了名字"}}),
    ("DELETE", "/api/v1/entries/{key}"): ("catalog:write", {}),
    ("POST", "/api/v1/tokens"): ("tokens", {"json": {"name": "x", "scopes": ["read"]}}),
    ("DELETE", "/api/v1/tokens/{token_id}"): ("tokens", {}),
    ("POST", "/api/v1/sharing/profiles"): ("tokens", {"json": {"name": "x"}}),
    ("DELETE", "/api/v1/sharing/profiles/{profile_id}"): ("tokens", {}),
    ("POST", "/api/v1/oauth-clients"): ("tokens", {"json": {"name": "x", "scopes": ["read"]}}),
    ("DELETE", "/api/v1/oauth-clients/{client_id}"): ("tokens", {}),
    ("POST", "/api/v1/entries/{key}/resources"): ("catalog:write", {"json": {"name": "表"}}),
    ("POST", "/api/v1/resources/{resource_id}/schema"): ("catalog:write", {"json": {}}),
    ("POST", "/api/v1/resources/{resource_id}/versions/{number}/current"): ("catalog:write", {}),
    ("POST", "/api/v1/resources/{resource_id}/versions"): (
        "catalog:write",
        {"files": {"file": ("a.csv", b"a\n1\n", "text/csv")}},
    ),
    ("POST", "/api/v1/resources/{resource_id}/access-requests"): (
        "access",
        {
            "json": {
                "scenario": "普惠金融授信",
                "purpose": "核验借款人身份与缴费情况",
                "fields": ["district"],
                "period_start": "2030-01-01",
                "period_end": "2030-02-01",
            }
        },
    ),
    ("POST", "/api/v1/access/requests/{request_id}/decisions"): ("access", {"json": {"action": "approve"}}),
    ("POST", "/api/v1/access/requests/{request_id}/withdraw"): ("access", {}),
    ("POST", "/api/v1/access/grants/{grant_id}/revoke"): ("access", {"json": {"reason": "不再需要"}}),
    ("POST", "/api/v1/zones/{code}/applications"): ("access", {"json": {"qualifications": "持有金融许可证编号 12345"}}),
    ("POST", "/api/v1/zones/{code}/members/{member_id}/decision"): ("access", {"json": {"admit": True}}),
    ("POST", "/api/v1/zones/{code}/entries"): ("access", {"json": {"entry": "QD-X-1"}}),
    ("POST", "/api/v1/policies/{pack}/clauses/{clause}/applications"): ("policy", {"json": {}}),
    ("PATCH", "/api/v1/applications/{application_id}"): ("policy", {"json": {"note": "x"}}),
    ("POST", "/api/v1/applications/{application_id}/materials"): (
        "policy",
        {"files": {"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")}},
    ),
    ("POST", "/api/v1/applications/{application_id}/submit"): ("policy", {}),
    ("POST", "/api/v1/applications/{application_id}/resubmit"): ("policy", {}),
    ("POST", "/api/v1/applications/{application_id}/withdraw"): ("policy", {"json": {"reason": "x"}}),
    ("POST", "/api/v1/applications/{application_id}/approve"): ("policy", {"json": {"amount": 1}}),
    ("POST", "/api/v1/applications/{application_id}/reject"): ("policy", {"json": {"reason": "x"}}),
    ("POST", "/api/v1/applications/{application_id}/return"): ("policy", {"json": {"reason": "x"}}),
    ("POST", "/api/v1/applications/{application_id}/disburse"): ("policy", {"json": {"reference": "P-1"}}),
    ("PUT", "/api/v1/policy-reviewers/{district}"): ("policy", {"json": {"organisation": "x"}}),
    ("POST", "/api/v1/policies/{pack}/match"): ("operate", {}),
    ("POST", "/api/v1/facts/build"): ("operate", {"json": {}}),
    ("POST", "/api/v1/enterprises/{uscc}/supplied-facts"): ("policy", {"json": {"facts": {"is_sme": True}}}),
    ("POST", "/api/v1/credit/score-runs"): ("operate", {"json": {}}),
    ("POST", "/api/v1/credit/models/fit"): ("operate", {"json": {"outcomes": []}}),
    ("POST", "/api/v1/consents"): (
        "finance",
        {"json": {"bank": "bank-x", "sections": ["basic"], "purpose": "loan_application", "expires_on": "2030-01-01"}},
    ),
    ("POST", "/api/v1/consents/{consent_id}/revoke"): ("finance", {"json": {}}),
    ("POST", "/api/v1/loan-products"): ("finance", {"json": LOAN_PRODUCT}),
    ("PUT", "/api/v1/loan-products/{product_id}"): ("finance", {"json": LOAN_PRODUCT}),
    ("POST", "/api/v1/loan-products/{product_id}/publish"): ("finance", {}),
    ("POST", "/api/v1/loan-products/{product_id}/withdraw"): ("finance", {}),
    ("POST", "/api/v1/loan-applications"): (
        "finance",
        {"json": {"product_id": 1, "consent_id": 1, "amount": 100000, "term_months": 12, "purpose": "流动资金"}},
    ),
    ("POST", "/api/v1/loan-applications/{application_id}/steps"): ("finance", {"json": {"action": "review"}}),
    ("POST", "/api/v1/loan-applications/{application_id}/withdraw"): ("finance", {}),
    ("POST", "/api/v1/market/products"): ("market", {"json": MARKET_PRODUCT}),
    ("PUT", "/api/v1/market/products/{product_id}"): ("market", {"json": MARKET_PRODUCT}),
    ("POST", "/api/v1/market/products/{product_id}/plans"): ("market", {"json": MARKET_PLAN}),
    ("PUT", "/api/v1/market/plans/{plan_id}"): ("market", {"json": MARKET_PLAN}),
    ("POST", "/api/v1/market/plans/{plan_id}/deactivate"): ("market", {}),
    ("POST", "/api/v1/market/products/{product_id}/submit"): ("market", {}),
    ("POST", "/api/v1/market/products/{product_id}/reports"): (
        "market",
        {"files": {"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")}},
    ),
    ("DELETE", "/api/v1/market/products/{product_id}/reports/{file_id}"): ("market", {}),
    ("POST", "/api/v1/market/products/{product_id}/review"): ("market", {"json": {"action": "approve"}}),
    ("POST", "/api/v1/market/products/{product_id}/list"): ("market", {}),
    ("POST", "/api/v1/market/products/{product_id}/suspend"): ("market", {"json": {"reason": "x"}}),
    ("POST", "/api/v1/market/products/{product_id}/resume"): ("market", {}),
    ("POST", "/api/v1/market/products/{product_id}/delist"): ("market", {"json": {"reason": "x"}}),
    ("POST", "/api/v1/market/orders"): ("market", {"json": {"product": "x", "plan": "y"}}),
    ("POST", "/api/v1/market/orders/{order_id}/review"): ("market", {"json": {"approve": True}}),
    ("POST", "/api/v1/market/orders/{order_id}/cancel"): ("market", {"json": {}}),
    ("POST", "/api/v1/market/bills/{bill_id}/payments"): (
        "market",
        {"json": {"reference": "BK-0001", "amount_fen": 1, "payer_name": "x", "paid_on": "2026-01-01"}},
    ),
    ("POST", "/api/v1/market/payments/{payment_id}/decision"): ("market", {"json": {"confirm": True}}),
    ("POST", "/api/v1/market/bills/{bill_id}/refunds"): (
        "market",
        {"json": {"reference": "TK-0001", "amount_fen": 1, "reason": "x"}},
    ),
    ("POST", "/api/v1/market/settlements"): ("market", {"json": {"month": "2026-01"}}),
    ("POST", "/api/v1/registry/registrations"): ("assets", {"json": REGISTRATION}),
    ("POST", "/api/v1/registry/chain-applications"): (
        "assets",
        {"json": {"kind": "cancellation", "previous_id": 999999, "reason": "x"}},
    ),
    ("POST", "/api/v1/registry/registrations/{registration_id}/resubmit"): ("assets", {}),
    ("POST", "/api/v1/registry/registrations/{registration_id}/accept"): ("assets", {"json": {}}),
    ("POST", "/api/v1/registry/registrations/{registration_id}/formal-review"): (
        "assets",
        {"json": {"action": "pass"}},
    ),
    ("POST", "/api/v1/registry/registrations/{registration_id}/objections"): ("assets", {"json": {"text": "x"}}),
    ("POST", "/api/v1/registry/objections/{objection_id}/resolve"): (
        "assets",
        {"json": {"action": "dismiss", "reason": "x"}},
    ),
    ("POST", "/api/v1/registry/registrations/{registration_id}/register"): ("assets", {}),
    ("POST", "/api/v1/trusts"): ("assets", {"json": TRUST}),
    ("PUT", "/api/v1/trusts/{trust_id}"): ("assets", {"json": TRUST}),
    ("POST", "/api/v1/trusts/{trust_id}/approve"): ("assets", {}),
    ("POST", "/api/v1/trusts/{trust_id}/terminate"): ("assets", {"json": {"reason": "x"}}),
    ("POST", "/api/v1/appraisals"): ("assets", {"json": APPRAISAL}),
    ("PUT", "/api/v1/appraisals/{code}"): ("assets", {"json": APPRAISAL}),
    ("PUT", "/api/v1/appraisals/{code}/cost"): (
        "assets",
        {"json": {"adjustment": {"kind": "direct", "coefficient": FIGURE}, "planning": FIGURE}},
    ),
    ("PUT", "/api/v1/appraisals/{code}/income"): (
        "assets",
        {"json": {"basis": {"kind": "direct", "net_income": [FIGURE]}, "discount_rate": FIGURE, "years": FIGURE}},
    ),
    ("PUT", "/api/v1/appraisals/{code}/market"): ("assets", {"json": {"comparables": []}}),
    ("DELETE", "/api/v1/appraisals/{code}/methods/{method}"): ("assets", {}),
    ("PUT", "/api/v1/appraisals/{code}/reconciliation"): (
        "assets",
        {"json": {"conclusion_method": "cost", "reason": "x"}},
    ),
    ("PUT", "/api/v1/appraisals/{code}/classification"): (
        "assets",
        {
            "json": {
                "holding_purpose": "own_use",
                "expected_benefits_probable": True,
                "cost_reliably_measurable": True,
                "controlled": True,
            }
        },
    ),  # fmt: skip
    ("POST", "/api/v1/jobs"): ("operate", {"json": {"kind": "backup"}}),
    ("POST", "/api/v1/jobs/{job_id}/requeue"): ("operate", {}),
    ("POST", "/api/v1/appraisals/{code}/sign"): ("assets", {}),
    ("POST", "/api/v1/appraisals/{code}/withdraw"): ("assets", {"json": {"reason": "x"}}),
    # marking one's own notices read is part of reading them
    ("POST", "/api/v1/notices/read-all"): ("read", {}),
    ("POST", "/api/v1/notices/{notice_id:int}/read"): ("read", {}),
}

# POST routes that change nothing but what a read changes (usage counters, the audit trail, the
# sandbox's privacy budget — each checked by the read path), or that authenticate by other means.
NOT_STATE_CHANGING = {
    ("POST", "/api/v1/sql"): "a read-only SQL query (POST for the statement's length)",
    ("POST", "/api/v1/resources/{resource_id}/sandbox"): "an aggregate read under a sandbox grant",
    ("POST", "/api/v1/policies/{pack}/evaluate"): "the policy calculator: evaluates facts, stores nothing",
    ("POST", "/api/v1/market/products/{product}/verify"): "a verification answer under an entitlement (a read)",
    ("POST", "/oauth/token"): "the client credentials grant: authenticated by the client's secret",
    ("POST", "/api/3/action/{name}"): "CKAN actions: every registered action is a read (checked below)",
    ("POST", "/api/action/{name}"): "CKAN actions, unversioned path",
}
CKAN_READ_ACTIONS = {
    "datastore_info", "datastore_search", "datastore_search_sql", "group_list", "group_show", "help_show",
    "organization_list", "organization_show", "package_list", "package_search", "package_show",
    "resource_show", "status_show", "tag_list",
}  # fmt: skip
SAMPLE_PARAMS = {
    "token_id": "999999",
    "job_id": "00000000-0000-4000-8000-000000000000",
    "profile_id": "999999",
    "client_id": "pdc_none",
    "number": "1",
    "code": "finance",
    "member_id": "999999",
    "pack": "none",
    "clause": "none",
    "application_id": "999999",
    "district": "370202",
    "notice_id": "999999",
    "uscc": "91370202MA0000001X",
    "consent_id": "999999",
    "product_id": "999999",
    "plan_id": "999999",
    "file_id": "999999",
    "registration_id": "999999",
    "objection_id": "999999",
    "trust_id": "999999",
    "order_id": "999999",
    "bill_id": "999999",
    "payment_id": "999999",
    "method": "cost",
}


def api_state_changing_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    out = set()
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if not (path.startswith("/api/") or path.startswith("/oauth/")):
            continue
        for method in set(route.methods or ()) - {"GET", "HEAD", "OPTIONS"}:
            out.add((method, path))
    return out


def test_every_state_changing_api_route_is_listed(app):
    routes = api_state_changing_routes(app)
    unlisted = routes - set(STATE_CHANGING) - set(NOT_STATE_CHANGING)
    assert not unlisted, f"new state-changing API routes: give each a named permission and list it here: {unlisted}"
    assert set(STATE_CHANGING) | set(NOT_STATE_CHANGING) <= routes  # the lists stay true
    from pubdata.api.ckan import actions

    assert set(actions.ACTIONS) <= CKAN_READ_ACTIONS, "a new CKAN action: if it changes anything, it needs a permission"


@pytest.fixture
def targets(session, as_actor, settings, tmp_path) -> tuple[Any, dict[str, str]]:  # type: ignore[no-untyped-def]
    """An administrator, and real objects for the path ids: a conditionally open table, a request for
    it that the administrator's own organisation made (so only the scope stands in the way), a grant."""
    admin = as_actor("admin")
    people = load_people(session, as_actor("department"), settings.home, tmp_path, n=3)
    grant_id = grant(session, as_actor("bank"), as_actor("operator"), people, ["district"])
    request_id = ask(session, admin, people, ["district"])
    return admin, {
        "key": people.entry_code,
        "resource_id": people.resource_id,
        "request_id": str(request_id),
        "grant_id": str(grant_id),
    }


def test_every_state_changing_api_route_refuses_a_token_without_its_scope(client, token_for, targets):
    """An administrator's token holding every scope but the route's own: each call is refused (403),
    so each route's service checks a named permission that lives in that scope."""
    admin, real = targets
    params = SAMPLE_PARAMS | real
    by_scope = {
        scope: bearer(token_for(admin, scopes=sorted(set(SCOPES) - {scope, "admin"})))
        for scope in {s for s, _ in STATE_CHANGING.values()}
    }
    wrong = []
    for (method, template), (scope, kwargs) in sorted(STATE_CHANGING.items()):
        url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: params[m.group(1)], template)
        r = client.request(method, url, headers=by_scope[scope], **kwargs)
        if r.status_code != 403:
            wrong.append((method, template, scope, r.status_code, r.text[:200]))
    assert not wrong, "\n".join(map(str, wrong))


def test_a_read_token_cannot_withdraw_and_a_tokens_token_cannot_list(
    client, session, as_actor, settings, tmp_path, token_for
):
    """The red team's finds, on real objects."""
    people = load_people(session, as_actor("department"), settings.home, tmp_path, n=3)
    bank = as_actor("bank")
    request_id = ask(session, bank, people, ["district"])
    grant(session, bank, as_actor("operator"), people, ["district"])
    read_only = bearer(token_for(bank, scopes=["read"]))
    r = client.post(f"/api/v1/access/requests/{request_id}/withdraw", headers=read_only)
    assert r.status_code == 403 and "access:request:create" in r.json()["error"]["message"]
    tokens_only = bearer(token_for(bank, scopes=["tokens"]))
    for path in ("/api/v1/access/requests", "/api/v1/access/grants", f"/api/v1/access/requests/{request_id}"):
        r = client.get(path, headers=tokens_only)
        assert r.status_code == 403 and "access:request:read" in r.json()["error"]["message"], path
    # the right scopes still work
    assert len(client.get("/api/v1/access/grants", headers=read_only).json()) == 1
    r = client.post(f"/api/v1/access/requests/{request_id}/withdraw", headers=bearer(token_for(bank, ["access"])))
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"


def test_access_read_is_a_named_permission_of_signed_in_roles():
    from pubdata.authz import ROLE_PERMISSIONS

    assert all(Permission.ACCESS_REQUEST_READ in perms for perms in ROLE_PERMISSIONS.values())
    assert Permission.ACCESS_REQUEST_READ not in SCOPES["tokens"]


# --- §7.2: login throttling and the password policy ---------------------------------------------------


@pytest.fixture
def wanghong(session):  # type: ignore[no-untyped-def]
    org = builders.make_org(session, "department")
    return builders.make_user(session, org, username="wanghong", display_name="王红", roles=["department"])


def _login_audits(session) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(select(AuditRecord).where(AuditRecord.action == "auth.login").order_by(AuditRecord.seq))
    )


def test_guessing_a_password_is_throttled_per_account(client, session, settings, wanghong):
    """The red team's find: 40 wrong passwords in 16 s, then the right one, with no throttling."""
    free = settings.login_max_failures
    for _ in range(free):
        assert login(client, "wanghong", "wrong-password").status_code == 401
    r = login(client, "wanghong")  # the right password, too late
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert "登录失败次数过多" in r.text and "秒后再试" in r.text
    assert not any(c.startswith("pubdata_session=") for c in r.headers.get_list("set-cookie"))
    audits = _login_audits(session)
    assert len(audits) == free + 1 and all(a.result == "refused" for a in audits)
    assert audits[0].reason == "用户名或密码错误" and audits[0].details["username"] == "wanghong"
    assert "过于频繁" in audits[-1].reason

    # the wait passes (moved back in the database, which every process shares) and the right password works
    session.execute(update(LoginThrottle).values(last_failure_at=utcnow() - timedelta(hours=1)))
    assert login(client, "wanghong").status_code == 303
    assert session.get(LoginThrottle, logins.account_key("wanghong")) is None  # success clears the account


def test_the_wait_grows_with_each_failure_up_to_a_bound():
    waits = [logins.wait_after(n, 5, 900) for n in range(3, 14)]
    assert waits[:2] == [0, 0] and waits[2] > 0
    assert all(b >= a for a, b in zip(waits, waits[1:], strict=False)) and waits[-1] == 900


def test_guessing_across_accounts_is_throttled_per_address(app, client, session, wanghong):
    app.state.settings = app.state.settings.model_copy(update={"login_max_failures_per_address": 3})
    for name in ("alice", "bob", "carol"):  # unknown accounts count as well: no probing who exists
        assert login(client, name, "guess-guess-1").status_code == 401
    r = login(client, "wanghong")
    assert r.status_code == 429 and "retry-after" in r.headers
    row = session.get(LoginThrottle, logins.address_key("testclient"))
    assert row is not None and row.failures == 3


def test_failures_are_counted_even_when_the_request_rolls_back(session):
    """The count is a durable write: kept when the caller's transaction fails."""
    from pubdata.db import write_durable

    policy = logins.LoginPolicy(max_failures=1)
    with pytest.raises(InvalidCredentials):
        logins.login(session, "nobody-here", "x-wrong-1", "198.51.100.7", policy)
    write_durable(session)
    assert session.get(LoginThrottle, logins.account_key("nobody-here")).failures == 1
    with pytest.raises(logins.LoginThrottled) as exc:
        logins.login(session, "nobody-here", "x-wrong-1", "198.51.100.7", policy)
    assert exc.value.status == 429 and exc.value.retry_after >= 1


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("password123", "常见密码"),
        ("qwertyuiop", "常见密码"),
        ("wanghong2024", "用户名或姓名"),
        ("12345678", "常见密码"),
        ("aaaaaaaaaaaa", "重复"),
    ],
)
def test_guessable_passwords_are_refused_with_the_reason(session, password, says):
    data = UserCreate(username="wanghong", display_name="王红", password=password)
    with pytest.raises(Invalid) as exc:
        service.create_user(session, SYSTEM, data)
    assert exc.value.code == "identity.weak_password" and exc.value.field == "password"
    assert says in exc.value.message and "密码强度不足" in exc.value.message


def test_the_documented_passwords_pass_the_policy():
    from pubdata.demo.city import DEMO_PASSWORD, DEMO_USERS

    for user in DEMO_USERS:
        assert password_problem(DEMO_PASSWORD, [user.username, user.display_name]) is None
    assert password_problem(builders.PASSWORD, ["user1", "测试用户1"]) is None


# --- §7.3: the API and the portal's session cookie ----------------------------------------------------


def test_cookie_authenticated_api_writes_need_the_csrf_token(client, session, wanghong):
    assert login(client, "wanghong").status_code == 303
    body = {"name": "脚本", "scopes": ["read"]}
    r = client.post("/api/v1/tokens", json=body)  # what a cross-site form or fetch would send
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.csrf_failed"
    r = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": "not-the-token"})
    assert r.status_code == 403
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0
    r = client.delete("/api/v1/tokens/1")
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.csrf_failed"
    r = client.post("/api/3/action/datastore_search_sql", json={"sql": "SELECT 1"})
    assert r.status_code == 403 and r.json()["success"] is False

    token = session.scalar(select(LoginSession.csrf_token).where(LoginSession.user_id == wanghong.id))
    assert hidden_field(client.get("/").text, "csrf_token") == token  # the page's own token
    r = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    assert client.get("/api/v1/tokens").status_code == 200  # reading needs no token


def test_bearer_tokens_need_no_csrf_token(client, as_actor, token_for):
    secret = token_for(as_actor("bank"), scopes=["read", "tokens"])
    r = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["read"]}, headers=bearer(secret))
    assert r.status_code == 201


def test_no_portal_script_calls_the_api_to_change_anything():
    """The portal changes things through its own CSRF-checked forms; if a script ever posts to the API
    it must send X-CSRF-Token."""
    from pathlib import Path

    import pubdata.web

    web = Path(pubdata.web.__file__).parent
    sources = [p for p in (web / "static" / "js").rglob("*.js")] + list((web / "templates").rglob("*.html"))
    for path in sources:
        text = path.read_text(encoding="utf-8")
        writes = re.findall(r"(?:fetch\([^)]*/api/|hx-(?:post|put|patch|delete)=\"/api/)", text)
        if writes:
            assert "X-CSRF-Token" in text, path


def test_a_token_without_the_read_scope_reads_open_data_at_most(
    client, session, as_actor, settings, tmp_path, token_for
):
    """Reading rows is public (open data), so a narrow token keeps it — but governed rows (its own
    organisation's, or under a grant) need ``store:rows:read_governed``, which only ``read`` carries."""
    from tests.access.people import grant, load_people
    from tests.store.rows_fixture import load_table

    owner = as_actor("department")
    people = load_people(session, owner, settings.home, tmp_path)
    opened = load_table(session, owner, settings.home, tmp_path)
    bank = as_actor("bank")
    grant(session, bank, as_actor("operator"), people, ["district"])
    for actor in (owner, bank):
        narrow = {"Authorization": f"Bearer {token_for(actor, scopes=['tokens'])}"}
        wide = {"Authorization": f"Bearer {token_for(actor, scopes=['read'])}"}
        url = f"/api/v1/resources/{people.resource_id}/rows"
        assert client.get(url, headers=wide).status_code == 200
        refused = client.get(url, headers=narrow)
        assert refused.status_code == 403 and "store:rows:read_governed" in refused.json()["error"]["message"]
        sql = {"sql": f'SELECT count(*) AS n FROM "{people.resource_id}"'}
        assert client.post("/api/v1/sql", json=sql, headers=narrow).status_code == 403
        assert client.get(f"/api/v1/resources/{opened.resource_id}/rows", headers=narrow).status_code == 200

"""Data trusts over the REST API (/api/v1/trusts): a data merchant sets up a draft over its registered
asset and edits it, the operator approves it, the trust's parties read it and its distributions
(gross → the trustee's fee → each beneficiary), the operator terminates it. Refusals: anonymous
writes need a login (401), a token without the ``assets`` scope is refused (403), another
organisation is told the trust does not exist (404), shares not summing to one and other bad input
are 422 with every problem named in Chinese — each refused write audited and writing nothing."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from sqlalchemy import func, select

from pubdata.api.v1.trusts import TrustState
from pubdata.assets.trusts.models import AssetTrust
from pubdata.assets.trusts.schemas import STATES
from tests.assets.registry.test_registry import refusals, world  # noqa: F401
from tests.assets.trusts.builders import fund_and_distribute, parties, trust_body

API = "/api/v1/trusts"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tw(session, as_actor, world, token_for):  # noqa: F811
    """The parties of tests/assets/trusts/builders.py, each with a token holding ``read`` and
    ``assets`` (where the role has it), and read-only tokens of the settlor and the operator."""
    w = parties(session, as_actor, world)
    full = ["read", "assets"]
    w["h"] = {
        "settlor": bearer(token_for(w["settlor"], full)),
        "operator": bearer(token_for(w["operator"], full)),
        "trustee": bearer(token_for(w["trustee"], ["read"])),
        "ent": bearer(token_for(w["ent"], full)),
        "stranger": bearer(token_for(w["stranger"], full)),
        "rival": bearer(token_for(w["rival"], full)),
        "regulator": bearer(token_for(as_actor("regulator"), ["read"])),
        "settlor_read_only": bearer(token_for(w["settlor"], ["read"])),
        "operator_read_only": bearer(token_for(w["operator"], ["read"])),
    }
    return w


def error(r) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    return r.status_code, r.json()["error"]["code"]


def trust_count(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(AssetTrust))


def draft(client, w) -> int:  # type: ignore[no-untyped-def]
    r = client.post(API, json=trust_body(w), headers=w["h"]["settlor"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_the_api_states_are_the_services():
    assert set(get_args(TrustState)) == set(STATES)


def test_a_trust_is_set_up_edited_approved_read_distributed_and_terminated_over_http(client, session, tw):
    w, h = tw, tw["h"]
    r = client.post(API, json=trust_body(w), headers=h["settlor"])
    assert r.status_code == 201, r.text
    trust = r.json()
    trust_id = trust["id"]
    assert (trust["state"], trust["state_label"], trust["version"], trust["purpose_label"]) == (
        "draft", "草稿", 1, "资产服务信托"
    )  # fmt: skip
    assert (trust["settlor"], trust["trustee"]) == (w["settlor_org"].name, w["trustee_org"].name)
    assert [(b["organisation"], b["share"], b["remainder"]) for b in trust["beneficiaries"]] == [
        (w["settlor_org"].name, "1/2", True), (w["ent_org"].name, "1/3", False), (w["dept_org"].name, "1/6", False),
    ]  # fmt: skip
    assert trust["assets"] == [w["asset"]] and trust["ledger_account_code"] is None

    # the settlor edits its draft: the whole trust replaced, the version goes up
    body = trust_body(w, title="企业信用数据信托（修订）", fee_rate_bp=None, fee_fixed_fen=500_000)
    r = client.put(f"{API}/{trust_id}", json=body, headers=h["settlor"])
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["fee_fixed_fen"], r.json()["fee_rate_bp"], r.json()["version"]) == (
        "企业信用数据信托（修订）", 500_000, None, 2
    )  # fmt: skip
    r = client.put(f"{API}/{trust_id}", json=trust_body(w, code="another-code"), headers=h["settlor"])
    assert error(r) == (422, "asset_trust.invalid") and "信托代码不能修改" in r.json()["error"]["message"]

    # the operator sees it among the drafts and approves it
    drafts = client.get(API, params={"state": "draft"}, headers=h["operator"]).json()
    assert [t["id"] for t in drafts] == [trust_id]
    r = client.post(f"{API}/{trust_id}/approve", headers=h["operator"])
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["ledger_account_code"]) == ("active", f"trust:{trust_id}:clearing")
    assert r.json()["approved_at"] is not None
    r = client.put(f"{API}/{trust_id}", json=body, headers=h["settlor"])
    assert error(r) == (409, "asset_trust.wrong_state")  # only drafts are edited
    assert error(client.post(f"{API}/{trust_id}/approve", headers=h["operator"])) == (409, "asset_trust.wrong_state")

    # every party reads it and its distributions; the operator's state filter
    fund_and_distribute(session, w, trust_id, 1_000_000, "trust-dist:2026-11")
    for who in ("settlor", "trustee", "ent", "operator", "regulator"):
        assert client.get(f"{API}/{trust_id}", headers=h[who]).json()["state"] == "active", who
        assert [t["id"] for t in client.get(API, headers=h[who]).json()] == [trust_id], who
        [d] = client.get(f"{API}/{trust_id}/distributions", headers=h[who]).json()
        # the fixed fee 5,000.00 元 first; the rest 500,000 fen: 1/2 → 250,000, 1/3 → 166,666(.67),
        # 1/6 → 83,333(.33); the 1 fen of remainder to the settlor (flagged)
        assert (d["gross_fen"], d["fee_fen"], d["net_fen"], d["reference"]) == (
            1_000_000, 500_000, 500_000, "trust-dist:2026-11"
        )  # fmt: skip
    assert [(p["organisation_id"], p["amount_fen"]) for p in d["parts"]] == [
        (w["settlor_org"].id, 250_001), (w["ent_org"].id, 166_666), (w["dept_org"].id, 83_333),
    ]  # fmt: skip
    assert client.get(API, params={"state": "draft"}, headers=h["operator"]).json() == []
    r = client.get(API, params={"state": "closed"}, headers=h["operator"])
    assert r.status_code == 422

    # the operator terminates it with a reason; an ended trust is not terminated again
    r = client.post(f"{API}/{trust_id}/terminate", json={"reason": "  "}, headers=h["operator"])
    assert error(r) == (422, "asset_trust.invalid") and "理由" in r.json()["error"]["message"]
    r = client.post(f"{API}/{trust_id}/terminate", json={"reason": "委托人申请提前终止"}, headers=h["operator"])
    assert r.status_code == 200 and (r.json()["state"], r.json()["end_reason"]) == ("ended", "委托人申请提前终止")
    r = client.post(f"{API}/{trust_id}/terminate", json={"reason": "再次终止"}, headers=h["operator"])
    assert error(r) == (409, "asset_trust.wrong_state")


def test_the_distribution_amounts_follow_the_shares_to_the_fen(client, session, tw):
    w, h = tw, tw["h"]
    trust_id = draft(client, w)
    assert client.post(f"{API}/{trust_id}/approve", headers=h["operator"]).status_code == 200
    fund_and_distribute(session, w, trust_id, 1_000_000, "trust-dist:1")
    [d] = client.get(f"{API}/{trust_id}/distributions", headers=h["ent"]).json()
    # fee ⌊1,000,000 × 150 / 10000⌋ = 15,000; the rest 985,000: 1/2 → 492,500; 1/3 → 328,333(.33);
    # 1/6 → 164,166(.67); 984,999 floored, the 1 fen of remainder to the settlor (flagged)
    assert (d["fee_fen"], d["net_fen"]) == (15_000, 985_000)
    assert [(p["organisation_id"], p["amount_fen"], p["remainder"]) for p in d["parts"]] == [
        (w["settlor_org"].id, 492_501, True), (w["ent_org"].id, 328_333, False), (w["dept_org"].id, 164_166, False),
    ]  # fmt: skip


def test_shares_not_summing_to_one_and_other_bad_input_are_refused_naming_every_problem(client, session, tw):
    w, h = tw, tw["h"]
    bad = trust_body(w)
    bad["beneficiaries"][2]["denominator"] = 3  # 1/2 + 1/3 + 1/3 = 7/6
    r = client.post(API, json=bad, headers=h["settlor"])
    assert error(r) == (422, "asset_trust.invalid_shares")
    assert "受益人份额之和必须恰好为 1，实为 7/6" in r.json()["error"]["message"]
    assert {"field": "beneficiaries", "message": "受益人份额之和必须恰好为 1，实为 7/6"} in r.json()["error"]["details"]

    both = trust_body(w, fee_rate_bp=20_000, term_end="2000-01-01", trustee_org_id=w["dept_org"].id)
    r = client.post(API, json=both, headers=h["settlor"])
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert error(r) == (422, "asset_trust.invalid_trustee") and {"trustee_org_id", "fee_rate_bp", "term_end"} <= fields
    r = client.post(API, json=trust_body(w, assets=["QD-DR-2026-999999"]), headers=h["settlor"])
    assert error(r) == (422, "asset_trust.asset_not_registered") and "未登记" in r.json()["error"]["message"]

    # the body's types are strict: a share or an amount is an integer, never a float or a string
    floaty = trust_body(w)
    floaty["beneficiaries"][0]["numerator"] = 0.5
    r = client.post(API, json=floaty, headers=h["settlor"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"
    r = client.post(API, json=trust_body(w, fee_rate_bp="150"), headers=h["settlor"])
    assert r.status_code == 422
    r = client.post(API, json=trust_body(w, code="Not A Code"), headers=h["settlor"])
    assert r.status_code == 422
    assert trust_count(session) == 0
    assert refusals(session, "asset_trust.create") == [
        "asset_trust.invalid_shares", "asset_trust.invalid_trustee", "asset_trust.asset_not_registered",
    ]  # fmt: skip


def test_anonymous_wrong_scope_and_outsiders_are_refused(client, session, tw):
    w, h = tw, tw["h"]
    trust_id = draft(client, w)
    body = trust_body(w)

    # anonymous: writes need a login; reading finds nothing
    assert error(client.post(API, json=body)) == (401, "auth.login_required")
    assert error(client.put(f"{API}/{trust_id}", json=body)) == (401, "auth.login_required")
    assert error(client.post(f"{API}/{trust_id}/approve")) == (401, "auth.login_required")
    assert error(client.post(f"{API}/{trust_id}/terminate", json={"reason": "x"})) == (401, "auth.login_required")
    assert client.get(API).json() == []
    assert error(client.get(f"{API}/{trust_id}")) == (404, "asset_trust.not_found")
    assert error(client.get(f"{API}/{trust_id}/distributions")) == (404, "asset_trust.not_found")

    # a token without the ``assets`` scope: refused, naming the permission it lacks
    r = client.post(API, json=trust_body(w, code="other-trust"), headers=h["settlor_read_only"])
    assert error(r) == (403, "auth.permission_denied") and "trust:manage" in r.json()["error"]["message"]
    r = client.put(f"{API}/{trust_id}", json=body, headers=h["settlor_read_only"])
    assert error(r) == (403, "auth.permission_denied")
    r = client.post(f"{API}/{trust_id}/approve", headers=h["operator_read_only"])
    assert error(r) == (403, "auth.permission_denied") and "trust:review" in r.json()["error"]["message"]
    r = client.post(f"{API}/{trust_id}/terminate", json={"reason": "x"}, headers=h["operator_read_only"])
    assert error(r) == (403, "auth.permission_denied")
    # ... while reading with it works
    assert client.get(f"{API}/{trust_id}", headers=h["settlor_read_only"]).status_code == 200

    # another organisation: the trust does not exist for it, not even to edit
    for who in ("stranger", "rival"):
        assert error(client.get(f"{API}/{trust_id}", headers=h[who])) == (404, "asset_trust.not_found")
        assert client.get(API, headers=h[who]).json() == []
        assert error(client.put(f"{API}/{trust_id}", json=body, headers=h[who])) == (404, "asset_trust.not_found")
    # a merchant setting up a trust over another organisation's assets, in its name
    r = client.post(API, json=trust_body(w, code="not-mine"), headers=h["rival"])
    assert error(r) == (403, "asset_trust.not_settlor")
    # a beneficiary reads the draft, but neither edits nor approves it; the settlor does not approve
    assert client.get(f"{API}/{trust_id}", headers=h["ent"]).status_code == 200
    assert error(client.put(f"{API}/{trust_id}", json=body, headers=h["ent"])) == (403, "asset_trust.not_settlor")
    for who in ("ent", "settlor"):
        r = client.post(f"{API}/{trust_id}/approve", headers=h[who])
        assert error(r) == (403, "auth.permission_denied"), who
    assert error(client.get(f"{API}/999999", headers=h["operator"])) == (404, "asset_trust.not_found")

    trust = session.get(AssetTrust, trust_id)
    session.refresh(trust)
    assert (trust.state, trust.version) == ("draft", 1)  # nothing refused changed anything
    assert trust_count(session) == 1
    assert "asset_trust.not_found" in refusals(session, "asset_trust.update")
    assert refusals(session, "asset_trust.approve").count("auth.permission_denied") >= 3
    assert "asset_trust.not_settlor" in refusals(session, "asset_trust.create")


def test_a_draft_can_be_terminated_and_an_unknown_trust_is_not_found(client, session, tw):
    w, h = tw, tw["h"]
    trust_id = draft(client, w)
    r = client.post(f"{API}/{trust_id}/terminate", json={"reason": "委托人撤回设立申请"}, headers=h["operator"])
    assert r.status_code == 200 and r.json()["state"] == "ended"
    r = client.post(f"{API}/{trust_id}/approve", headers=h["operator"])
    assert error(r) == (409, "asset_trust.wrong_state")
    # the asset is free again: a new trust over it is accepted
    r = client.post(API, json=trust_body(w, code="qd-credit-trust-2"), headers=h["settlor"])
    assert r.status_code == 201, r.text
    ids: list[Any] = [t["id"] for t in client.get(API, headers=h["settlor"]).json()]
    assert ids == [trust_id, r.json()["id"]]

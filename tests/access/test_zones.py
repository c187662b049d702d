"""Zones: qualification review of members, the zone catalogue, and the zone rules on requests
(members only; the medical zone allows only sandbox access to personal information)."""

from __future__ import annotations

import pytest

from pubdata.access import zones
from pubdata.errors import Conflict, Forbidden, Invalid
from pubdata.store import contracts
from tests.access.people import ask, load_people
from tests.access.test_requests import request_data

QUALIFICATIONS = "金融许可证 B0001H237020001，等保三级备案 37020099001-00001"


@pytest.fixture
def people(session, as_actor, settings, tmp_path):
    return load_people(session, as_actor("department"), settings.home, tmp_path)


def admit(session, operator, member_actor, code):
    member = zones.apply(session, member_actor, code, QUALIFICATIONS)
    return zones.review_member(session, operator, code, member.id, admit=True)


def test_zones_exist_with_their_rules(session, as_actor):
    views = {v.zone.code: v for v in zones.list_zones(session, as_actor("bank"))}
    assert views["finance"].zone.name == "金融专区" and views["medical"].zone.sandbox_only_personal
    assert views["finance"].my_state is None


def test_membership_is_reviewed_by_the_operator(session, as_actor):
    bank, operator = as_actor("bank"), as_actor("operator")
    with pytest.raises(Invalid):
        zones.apply(session, bank, "finance", "有资质")
    member = zones.apply(session, bank, "finance", QUALIFICATIONS)
    assert member.state == "applied"
    with pytest.raises(Conflict):
        zones.apply(session, bank, "finance", QUALIFICATIONS)
    with pytest.raises(Forbidden):
        zones.review_member(session, bank, "finance", member.id, admit=True)
    with pytest.raises(Invalid):
        zones.review_member(session, operator, "finance", member.id, admit=False)
    assert zones.review_member(session, operator, "finance", member.id, admit=True).state == "admitted"
    assert {v.zone.code: v.my_state for v in zones.list_zones(session, bank)}["finance"] == "admitted"
    with pytest.raises(zones.ZoneRule):  # enterprises are not finance-zone members
        zones.apply(session, as_actor("enterprise"), "finance", QUALIFICATIONS)


def test_zone_entries_are_for_members_only(session, as_actor, people):
    operator = as_actor("operator")
    zones.add_entry(session, operator, "finance", people.entry_code)
    bank = as_actor("bank")
    with pytest.raises(zones.ZoneRule) as exc:
        ask(session, bank, people, ["district"])
    assert "金融专区" in exc.value.message
    admit(session, operator, bank, "finance")
    assert ask(session, bank, people, ["district"])


def test_medical_zone_allows_personal_data_only_in_the_sandbox(session, as_actor, people):
    operator, merchant = as_actor("operator"), as_actor("data_merchant")
    zones.add_entry(session, operator, "medical", people.entry_code)
    admit(session, operator, merchant, "medical")
    with pytest.raises(zones.ZoneRule) as exc:
        contracts.request_access(session, merchant, people.resource_id, request_data())
    assert "沙箱" in exc.value.message
    made = contracts.request_access(session, merchant, people.resource_id, request_data(mode="sandbox"))
    assert made.mode == "sandbox"


def test_zone_api(client, session, as_actor, token_for, people):
    zones.add_entry(session, as_actor("operator"), "finance", people.entry_code)
    bank = {"Authorization": f"Bearer {token_for(as_actor('bank'), scopes=['read', 'access'])}"}
    listed = {z["code"]: z for z in client.get("/api/v1/zones", headers=bank).json()}
    assert listed["finance"]["entries"] == 1 and listed["finance"]["my_membership"] is None
    detail = client.get("/api/v1/zones/finance").json()
    assert [e["code"] for e in detail["catalogue"]] == [people.entry_code]
    r = client.post("/api/v1/zones/finance/applications", json={"qualifications": QUALIFICATIONS}, headers=bank)
    assert r.status_code == 201 and r.json()["state"] == "applied"
    operator = {"Authorization": f"Bearer {token_for(as_actor('operator'), scopes=['read', 'access'])}"}
    (pending,) = client.get("/api/v1/zones/finance/members", headers=operator).json()
    r = client.post(f"/api/v1/zones/finance/members/{pending['id']}/decision", json={"admit": True}, headers=operator)
    assert r.json()["state"] == "admitted"
    assert client.get("/api/v1/zones/nowhere").status_code == 404

"""The matching API: the operator runs matching, enterprises read and mark their notices, departments
and the regulator see reach, the operator and departments list matches; everyone else is refused."""

from __future__ import annotations

from pubdata.policy.matching import notices
from tests.builders import actor_of, make_org, make_user
from tests.policy.facts_builder import PACK, code, publish_facts

E1, E2 = code(11), code(12)
ROWS = [
    {"uscc": E1, "name": "青岛甲跨境电商有限公司", "registered_district": "市南区", "has_independent_site": True,
     "cbec_export_amount": 30_000_000, "independent_site_investment": 300_000,
     "provincial_key_platform_2022": True, "cbec_import_export_amount": 30_000_000},
    {"uscc": E2, "name": "青岛乙贸易有限公司", "registered_district": "黄岛区",
     "provincial_key_overseas_warehouse_2022": True, "cbec_export_amount": 250_000_000},
]  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def enterprise_token(session, token_for, uscc):  # type: ignore[no-untyped-def]
    org = make_org(session, "enterprise", uscc=uscc)
    return token_for(actor_of(make_user(session, org, roles=["enterprise"])), scopes=["read"])


def test_match_notices_reach_and_matches_over_the_api(client, session, settings, as_actor, token_for):
    publish_facts(session, settings.home, ROWS)
    mine = enterprise_token(session, token_for, E1)
    theirs = enterprise_token(session, token_for, E2)
    operator = token_for(as_actor("operator"), scopes=["read", "operate"])
    department = token_for(as_actor("department"), scopes=["read"])
    regulator = token_for(as_actor("regulator"), scopes=["read"])

    assert client.post(f"/api/v1/policies/{PACK}/match", headers=bearer(department)).status_code == 403
    assert client.post(f"/api/v1/policies/{PACK}/match").status_code == 401
    r = client.post(f"/api/v1/policies/{PACK}/match", headers=bearer(operator))
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["eligible"] == 3 and run["newly_eligible"] == 3 and run["reused"] is False
    assert client.post(f"/api/v1/policies/{PACK}/match", headers=bearer(operator)).json()["reused"] is True
    assert client.post("/api/v1/policies/nothing/match", headers=bearer(operator)).status_code == 404

    inbox = client.get("/api/v1/notices", headers=bearer(mine)).json()
    assert {n["clause_id"] for n in inbox} == {"independent_site", "key_platform"}
    platform = next(n for n in inbox if n["clause_id"] == "key_platform")
    assert platform["amount"] == 200_000 and platform["amount_text"] == "最高20万元"
    assert platform["apply_url"] == f"/policies/{PACK}/apply/key_platform" and platform["read_at"] is None
    assert client.get("/api/v1/notices/unread-count", headers=bearer(mine)).json() == {"unread": 2}
    r = client.post(f"/api/v1/notices/{platform['id']}/read", headers=bearer(mine))
    assert r.status_code == 200 and r.json()["read_at"] is not None
    assert client.get("/api/v1/notices?unread=true", headers=bearer(mine)).json()[0]["clause_id"] == "independent_site"
    assert client.get(f"/api/v1/notices/{platform['id']}", headers=bearer(mine)).status_code == 200
    # another enterprise's notice does not exist for them
    assert client.post(f"/api/v1/notices/{platform['id']}/read", headers=bearer(theirs)).status_code == 404
    assert client.get(f"/api/v1/notices/{platform['id']}", headers=bearer(theirs)).status_code == 404
    assert [n["clause_id"] for n in client.get("/api/v1/notices", headers=bearer(theirs)).json()] == [
        "overseas_warehouse"
    ]
    assert client.post("/api/v1/notices/read-all", headers=bearer(mine)).json() == {"unread": 0}
    assert client.get("/api/v1/notices").status_code == 401
    mine_policies = client.get("/api/v1/me/policies", headers=bearer(mine)).json()
    assert [m["clause_id"] for m in mine_policies] == ["key_platform", "independent_site"]

    for token in (mine, None):
        r = client.get(f"/api/v1/policies/{PACK}/reach", headers=bearer(token) if token else {})
        assert r.status_code in (401, 403)
    for token in (department, regulator, operator):
        r = client.get(f"/api/v1/policies/{PACK}/reach", headers=bearer(token))
        assert r.status_code == 200, r.text
    result = r.json()
    assert result["run"]["id"] == run["id"] and result["eligible_enterprises"] == 2
    warehouse = next(c for c in result["clauses"] if c["clause_id"] == "overseas_warehouse")
    assert warehouse["eligible"] == 1 and warehouse["up_to"] == 1_000_000
    assert next(d for d in warehouse["by_district"] if d["district"] == "黄岛区")["eligible"] == 1

    page = client.get(f"/api/v1/policies/{PACK}/matches?clause=key_platform", headers=bearer(department)).json()
    assert (
        page["total"] == 1 and page["items"][0]["uscc"] == E1 and page["items"][0]["name"] == "青岛甲跨境电商有限公司"
    )
    page = client.get(f"/api/v1/policies/{PACK}/matches?district=黄岛区&limit=1", headers=bearer(department)).json()
    assert page["total"] == 1 and page["items"][0]["clause_id"] == "overseas_warehouse"
    r = client.get(f"/api/v1/policies/{PACK}/matches?district=北京", headers=bearer(department))
    assert r.status_code == 422 and r.json()["error"]["details"]
    assert client.get(f"/api/v1/policies/{PACK}/matches?limit=1000", headers=bearer(department)).status_code == 422
    assert client.get(f"/api/v1/policies/{PACK}/matches", headers=bearer(regulator)).status_code == 403
    assert client.get(f"/api/v1/policies/{PACK}/matches", headers=bearer(mine)).status_code == 403


def test_notice_api_for_an_organisation_without_notices(client, session, token_for, as_actor):
    token = token_for(as_actor("bank"), scopes=["read"])
    assert client.get("/api/v1/notices", headers=bearer(token)).json() == []
    assert client.get("/api/v1/notices/unread-count", headers=bearer(token)).json() == {"unread": 0}
    assert client.post("/api/v1/notices/1/read", headers=bearer(token)).status_code == 404
    assert notices.amount_text(None, "assessed") == "金额待核定"

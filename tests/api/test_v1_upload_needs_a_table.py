"""Uploading to a declared resource that has no table yet: the publisher is told (409) how to give it
one; everyone else is refused as before, learning nothing about the table."""

from __future__ import annotations

from tests.builders import make_entry


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_the_publisher_is_told_to_give_the_resource_its_table_first(client, session, as_actor, token_for):
    dept = as_actor("department")
    rid = make_entry(session, dept, resources=[{"name": "登记信息"}]).resources[0].id
    url = f"/api/v1/resources/{rid}/versions"
    r = client.post(url, files={"file": ("a.csv", b"name\nx\n", "text/csv")}, headers=auth(token_for(dept)))
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "store.table_not_created"
    assert "登记信息" in error["message"] and "尚未建立数据表" in error["message"]
    assert f"POST /api/v1/resources/{rid}/schema" in error["message"] and "pubdata resource create" in error["message"]
    assert error["details"]["create_table"] == f"/api/v1/resources/{rid}/schema"

    # after the fix it names, the same upload is queued
    assert client.post(f"/api/v1/resources/{rid}/schema", json={}, headers=auth(token_for(dept))).status_code == 201
    again = client.post(url, files={"file": ("a.csv", b"name\nx\n", "text/csv")}, headers=auth(token_for(dept)))
    assert again.status_code == 202, again.text


def test_others_are_refused_before_the_missing_table_is_mentioned(client, session, as_actor, token_for):
    rid = make_entry(session, as_actor("department"), resources=[{"name": "登记信息"}]).resources[0].id
    url = f"/api/v1/resources/{rid}/versions"
    for role in ("department", "enterprise"):
        r = client.post(url, files={"file": ("a.csv", b"name\nx\n")}, headers=auth(token_for(as_actor(role))))
        assert r.status_code == 403 and "数据表" not in r.json()["error"]["message"], (role, r.text)
    assert client.post(url, files={"file": ("a.csv", b"name\nx\n")}).status_code == 401

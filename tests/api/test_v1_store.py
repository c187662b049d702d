from tests.builders import make_entry

SCHEMA = {"fields": [{"name": "uscc", "type": "string", "semanticType": "uscc"}], "primaryKey": "uscc"}


def auth(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_create_and_read_a_table(client, session, as_actor, token_for):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    r = client.post(
        f"/api/v1/entries/{entry.code}/resources",
        json={"name": "登记表", "schema": SCHEMA},
        headers=auth(token_for(dept)),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["schema"]["fields"][0]["semanticType"] == "uscc" and body["current_version"] is None
    r = client.get(f"/api/v1/resources/{body['resource_id']}/schema")
    assert r.status_code == 200 and r.json()["name"] == "登记表"


def test_bad_schema_is_422_with_the_field_path(client, session, as_actor, token_for):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    bad = {"fields": [{"name": "a", "type": "string", "constraints": {"pattern": "(?<=x)y"}}]}
    r = client.post(
        f"/api/v1/entries/{entry.code}/resources", json={"name": "坏表", "schema": bad}, headers=auth(token_for(dept))
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "fields[0].constraints.pattern"


def test_other_departments_and_anonymous_cannot_add_tables(client, session, as_actor, token_for):
    entry = make_entry(session, as_actor("department"))
    url = f"/api/v1/entries/{entry.code}/resources"
    assert client.post(url, json={"name": "x", "schema": SCHEMA}).status_code == 401
    r = client.post(url, json={"name": "x", "schema": SCHEMA}, headers=auth(token_for(as_actor("department"))))
    assert r.status_code == 403


def test_versions_api_lists_and_rolls_back(client, session, as_actor, token_for, tmp_path):
    from pubdata.standards import uscc_with_check
    from pubdata.store import ingest

    dept = as_actor("department")
    entry = make_entry(session, dept)
    h = auth(token_for(dept))
    rid = client.post(
        f"/api/v1/entries/{entry.code}/resources", json={"name": "t", "schema": SCHEMA}, headers=h
    ).json()["resource_id"]
    for n in (3, 4):
        path = tmp_path / f"v{n}.csv"
        path.write_text("uscc\n" + "".join(uscc_with_check(f"91370200MA{i:07d}") + "\n" for i in range(n)))
        ingest.ingest(session, dept, rid, path, home=tmp_path / "home")
    versions = client.get(f"/api/v1/resources/{rid}/versions").json()
    assert [(v["number"], v["current"], v["rows_loaded"]) for v in versions] == [(2, True, 4), (1, False, 3)]
    assert client.post(f"/api/v1/resources/{rid}/versions/1/current").status_code == 401
    r = client.post(f"/api/v1/resources/{rid}/versions/1/current", headers=h)
    assert r.status_code == 200 and r.json()["current"] is True
    assert client.post(f"/api/v1/resources/{rid}/versions/9/current", headers=h).status_code == 404

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

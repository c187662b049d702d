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
    from pubdata.store.ingest import load as ingest

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


def _table_with_two_versions(client, session, as_actor, token_for, settings, tmp_path):
    from pubdata.standards import uscc_with_check
    from pubdata.store.ingest import load as ingest

    dept = as_actor("department")
    entry = make_entry(session, dept, update_frequency="monthly")
    h = auth(token_for(dept))
    rid = client.post(
        f"/api/v1/entries/{entry.code}/resources", json={"name": "t", "schema": SCHEMA}, headers=h
    ).json()["resource_id"]
    codes = [uscc_with_check(f"91370200MA{i:07d}") for i in range(40)]
    first = tmp_path / "v1.csv"
    first.write_text("uscc\n" + "\n".join(codes[:20]) + "\n")
    # the second version repeats a code and has a bad one: one duplicate, one invalid value
    second = tmp_path / "v2.csv"
    second.write_text("uscc\n" + "\n".join([*codes[:39], codes[0], "91370200MA0000000X"]) + "\n")
    for path in (first, second):
        ingest.ingest(session, dept, rid, path, home=settings.resolved_home)
    return dept, entry, rid


def test_quality_api_gives_the_current_report_with_words_and_the_trend(
    client, session, as_actor, token_for, settings, tmp_path
):
    _dept, _entry, rid = _table_with_two_versions(client, session, as_actor, token_for, settings, tmp_path)
    r = client.get(f"/api/v1/resources/{rid}/quality")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["current_version"] == 2 and body["rows"] == 39
    assert body["report"]["dimensions"]["uniqueness"]["evidence"]["duplicates"] == 1
    assert body["score"] == body["report"]["score"] and body["score"] < 100
    assert [d["label"] for d in body["dimensions"]] == ["完整性", "规范性", "准确性", "一致性", "唯一性", "时效性"]
    consistency = next(d for d in body["dimensions"] if d["name"] == "consistency")
    assert consistency["score"] is None and consistency["text"] == "未声明且未能推断出跨字段一致性规则"
    assert [(p["version"], p["rows"]) for p in body["trend"]] == [(1, 20), (2, 39)]
    assert body["trend"][0]["score"] > body["trend"][1]["score"]
    assert body["trend"][0]["dimensions"]["uniqueness"] == 100.0


def test_quality_of_an_unknown_resource_is_404(client):
    r = client.get("/api/v1/resources/no-such-resource/quality")
    assert r.status_code == 404 and r.json()["error"]["code"] == "catalog.resource_not_found"


def test_rejects_download_is_for_the_publisher_and_the_operator_only(
    client, session, as_actor, token_for, settings, tmp_path
):
    dept, _entry, rid = _table_with_two_versions(client, session, as_actor, token_for, settings, tmp_path)
    url = f"/api/v1/resources/{rid}/versions/2/rejects.csv"
    for who in (dept, as_actor("operator")):
        r = client.get(url, headers=auth(token_for(who)))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
        assert r.content.startswith(b"\xef\xbb\xbf")
        lines = r.content.decode("utf-8-sig").splitlines()
        assert lines[0] == "row,column,value,reason"
        assert "91370200MA0000000X" in r.text and "统一社会信用代码校验位错误" in r.text
        assert any(line.endswith("主键重复") for line in lines)
    assert client.get(url).status_code == 401
    for role in ("department", "enterprise", "regulator"):
        r = client.get(url, headers=auth(token_for(as_actor(role))))
        assert r.status_code == 403, role
    missing = client.get(f"/api/v1/resources/{rid}/versions/7/rejects.csv", headers=auth(token_for(dept)))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "store.version_not_found"


def test_the_declared_resource_is_given_its_table_by_id_and_then_holds_the_rows(
    client, session, as_actor, token_for, settings, tmp_path
):
    dept = as_actor("department")
    entry = make_entry(session, dept, title="登记信息目录", resources=[{"name": "登记信息"}])
    rid = entry.resources[0].id
    h = auth(token_for(dept))
    r = client.post(f"/api/v1/resources/{rid}/schema", json={"schema": SCHEMA}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["resource_id"] == rid and r.json()["name"] == "登记信息"
    again = client.post(f"/api/v1/resources/{rid}/schema", json={"schema": SCHEMA}, headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "store.table_exists"
    by_name = client.post(f"/api/v1/entries/{entry.code}/resources", json={"name": "登记信息"}, headers=h)
    assert by_name.status_code == 409 and by_name.json()["error"]["details"] == {"resource_id": rid}
    from pubdata.standards import uscc_with_check
    from pubdata.store.ingest import load as ingest

    csv = tmp_path / "v1.csv"
    csv.write_text(f"uscc\n{uscc_with_check('91370200MA0000001')}\n", encoding="utf-8")
    assert ingest.ingest(session, dept, rid, csv, home=settings.resolved_home).state == "published"
    package = client.get(f"/api/3/action/package_show?id={entry.name}").json()["result"]
    (resource,) = package["resources"]
    assert resource["id"] == rid and resource["datastore_active"] is True and resource["row_count"] == 1


def test_the_declared_resource_is_given_its_table_by_its_name(client, session, as_actor, token_for):
    dept = as_actor("department")
    entry = make_entry(session, dept, resources=[{"name": "登记信息", "description": "登记在册"}])
    r = client.post(f"/api/v1/entries/{entry.code}/resources", json={"name": "登记信息"}, headers=auth(token_for(dept)))
    assert r.status_code == 201, r.text
    assert r.json()["resource_id"] == entry.resources[0].id
    resources = client.get(f"/api/v1/entries/{entry.code}").json()["resources"]
    assert [(x["name"], x["description"]) for x in resources] == [("登记信息", "登记在册")]


def test_only_the_entrys_department_or_the_operator_gives_a_resource_its_table(client, session, as_actor, token_for):
    entry = make_entry(session, as_actor("department"))
    url = f"/api/v1/resources/{entry.resources[0].id}/schema"
    assert client.post(url, json={"schema": SCHEMA}).status_code == 401
    for role, status in (("department", 403), ("enterprise", 403), ("operator", 201)):
        r = client.post(url, json={"schema": SCHEMA}, headers=auth(token_for(as_actor(role))))
        assert r.status_code == status, (role, r.text)
    assert (
        client.post(
            "/api/v1/resources/no-such-resource/schema", json={}, headers=auth(token_for(as_actor("operator")))
        ).status_code
        == 404
    )

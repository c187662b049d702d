"""Native REST API: catalogue CRUD, search and facets, tokens, errors in the conventions' shape."""

from tests.builders import make_entry


def auth(secret):
    return {"Authorization": f"Bearer {secret}"}


NEW = {
    "code": "QD-API-0001",
    "title": "崂山区医疗机构名录",
    "category": "medical",
    "open_type": "有条件开放",
    "district": "崂山区",
    "tags": ["医疗", "机构"],
    "fields": [
        {"name": "org_name", "label": "机构名称"},
        {"name": "phone", "label": "联系电话", "personal_kind": "phone"},
    ],
}


def test_create_read_update_delete_entry(client, as_actor, token_for):
    dept = as_actor("department")
    h = auth(token_for(dept))
    r = client.post("/api/v1/entries", json=NEW, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["open_type_label"] == "有条件开放" and body["fields"][1]["is_personal"] is True
    assert len(body["resources"]) == 1
    assert client.get("/api/v1/entries/QD-API-0001").json()["title"] == "崂山区医疗机构名录"
    r = client.patch("/api/v1/entries/QD-API-0001", json={"update_frequency": "每月"}, headers=h)
    assert r.json()["update_frequency"] == "monthly"
    revs = client.get("/api/v1/entries/QD-API-0001/revisions").json()
    assert [x["action"] for x in revs] == ["update", "create"]
    assert client.delete("/api/v1/entries/QD-API-0001", headers=h).status_code == 204
    r = client.get("/api/v1/entries/QD-API-0001")
    assert r.status_code == 404 and r.json()["error"]["code"] == "catalog.entry_not_found"


def test_search_with_facets_filters_sort_and_paging(client, session, as_actor):
    dept = as_actor("department")
    for i in range(5):
        make_entry(
            session,
            dept,
            title=f"医疗保障结算数据{i}",
            category="medical",
            district="市南区" if i % 2 else "全市",
        )
    make_entry(session, dept, title="企业信用评价", category="credit")
    r = client.get("/api/v1/entries", params={"q": "医疗", "limit": 2, "sort": "code_asc"})
    body = r.json()
    assert body["count"] == 5 and len(body["results"]) == 2
    assert body["results"][0]["code"] < body["results"][1]["code"]
    districts = {f["value"]: f["count"] for f in body["facets"]["district"]}
    assert districts == {"全市": 3, "市南区": 2}
    r = client.get("/api/v1/entries", params={"q": "医疗", "district": "市南区", "offset": 1})
    assert r.json()["count"] == 2 and len(r.json()["results"]) == 1
    r = client.get("/api/v1/facets", params={"facet": "category"})
    assert {f["label"] for f in r.json()["category"]} >= {"医疗", "信用"}


def test_bad_input_gives_422_naming_the_field_and_stores_nothing(client, as_actor, token_for):
    h = auth(token_for(as_actor("department")))
    r = client.post("/api/v1/entries", json={**NEW, "category": "天文"}, headers=h)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["details"][0]["field"] == "category" and "天文" in err["message"]
    r = client.post("/api/v1/entries", json={**NEW, "title": "长" * 300}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "title"
    r = client.post("/api/v1/entries", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "request.malformed_json"
    assert client.get("/api/v1/entries/QD-API-0001").status_code == 404
    r = client.get("/api/v1/entries", params={"category": "天文"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "category"
    r = client.get("/api/v1/entries", params={"sort": "random"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "sort"


def test_duplicate_code_is_409(client, as_actor, token_for):
    h = auth(token_for(as_actor("department")))
    assert client.post("/api/v1/entries", json=NEW, headers=h).status_code == 201
    r = client.post("/api/v1/entries", json={**NEW, "title": "重复"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "catalog.duplicate_code"


def test_department_cannot_edit_another_departments_entry(client, as_actor, token_for):
    owner, other = as_actor("department"), as_actor("department")
    assert client.post("/api/v1/entries", json=NEW, headers=auth(token_for(owner))).status_code == 201
    r = client.patch("/api/v1/entries/QD-API-0001", json={"title": "篡改"}, headers=auth(token_for(other)))
    assert r.status_code == 403 and r.json()["error"]["code"] == "catalog.not_owner"
    assert client.get("/api/v1/entries/QD-API-0001").json()["title"] == NEW["title"]


def test_anonymous_and_read_only_tokens_cannot_write(client, as_actor, token_for):
    assert client.post("/api/v1/entries", json=NEW).status_code == 401
    read_only = token_for(as_actor("department"), scopes=["read"])
    r = client.post("/api/v1/entries", json=NEW, headers=auth(read_only))
    assert r.status_code == 403


def test_expired_revoked_and_garbage_tokens_are_401(client, session, as_actor, token_for):
    from datetime import timedelta

    from pubdata.db import utcnow
    from pubdata.identity.models import ApiToken

    dept = as_actor("department")
    secret = token_for(dept)
    assert client.get("/api/v1/me", headers=auth(secret)).json()["username"] == dept.username
    token = session.query(ApiToken).filter_by(user_id=dept.user_id).one()
    token.expires_at = utcnow() - timedelta(minutes=1)
    session.flush()
    r = client.get("/api/v1/entries", headers=auth(secret))
    assert r.status_code == 401 and r.json()["error"]["code"] == "identity.token_expired"
    assert client.get("/api/v1/entries", headers=auth("pd_garbage")).status_code == 401


def test_token_lifecycle_through_the_api(client, as_actor, token_for):
    enterprise = as_actor("enterprise")
    read_only = token_for(enterprise, scopes=["read"])
    r = client.post("/api/v1/tokens", json={"name": "脚本", "scopes": ["read"]}, headers=auth(read_only))
    assert r.status_code == 403  # a token may only mint tokens when it has the "tokens" scope
    secret = token_for(enterprise, scopes=["read", "tokens"])
    r = client.post("/api/v1/tokens", json={"name": "脚本", "scopes": ["read"], "days": 7}, headers=auth(secret))
    assert r.status_code == 201
    new = r.json()
    assert new["token"].startswith("pd_")
    listed = client.get("/api/v1/tokens", headers=auth(secret)).json()
    assert all("token" not in t for t in listed) and len(listed) == 3
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=auth(secret)).json()["revoked_at"]
    r = client.get("/api/v1/me", headers=auth(new["token"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "identity.token_revoked"


def test_organisations_and_openapi(client, as_actor):
    dept = as_actor("department")
    orgs = client.get("/api/v1/organisations", params={"kind": "department"}).json()
    assert any(o["id"] == dept.organisation_id for o in orgs)
    assert client.get("/api/v1/organisations/no-such-org").status_code == 404
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/entries" in spec["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_dcat_paths_get_json_errors_for_bad_tokens(client):
    r = client.get("/catalog.ttl", headers=auth("pd_garbage"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "identity.invalid_token"
    r = client.get("/dataset/x.jsonld", headers=auth("pd_garbage"))
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/json")

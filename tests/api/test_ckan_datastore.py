"""CKAN DataStore actions, driven by the real ``ckanapi`` client against a running server."""

from __future__ import annotations

from typing import Any

import pytest
from ckanapi import RemoteCKAN
from ckanapi.errors import NotAuthorized, ValidationError

from tests.builders import make_org, make_user
from tests.store.rows_fixture import CODES, load_table

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def data(live_server, tmp_path_factory) -> dict[str, Any]:
    from pubdata.identity import service as identity

    tmp = tmp_path_factory.mktemp("datastore")
    with live_server.session() as s:
        dept = make_org(s, "department", code="qd-scjgj-ds", name="青岛市市场监督管理局")
        user = make_user(s, dept, username="ds-publisher", roles=["department"])
        owner = identity.actor_for(user, via="cli")
        open_table = load_table(s, owner, live_server.settings.home, tmp)
        closed = load_table(s, owner, live_server.settings.home, tmp, open_type="conditional", n=5)
        _, secret = identity.create_token(s, owner, name="ds", scopes=["read"], days=1, username=user.username)
    return {"open": open_table.resource_id, "conditional": closed.resource_id, "owner_token": secret}


@pytest.fixture
def ckan(live_server):
    with RemoteCKAN(live_server.url) as api:
        yield api


def test_datastore_search_with_filters_sort_fields_and_total(ckan, data):
    result = ckan.action.datastore_search(
        resource_id=data["open"],
        filters={"district": ["市南区", "崂山区"]},
        sort="capital desc",
        fields=["_id", "uscc", "capital"],
        limit=3,
    )
    assert result["total"] == 20
    assert [f["id"] for f in result["fields"]] == ["_id", "uscc", "capital"]
    assert [f["type"] for f in result["fields"]] == ["int", "text", "numeric"]
    assert [r["uscc"] for r in result["records"]] == [CODES[38], CODES[36], CODES[34]]
    assert "offset=3" in result["_links"]["next"]


def test_datastore_search_q_offset_and_lists(ckan, data):
    result = ckan.action.datastore_search(
        resource_id=data["open"], q="海洋", offset=18, limit=5, records_format="lists", fields="_id,name"
    )
    assert result["total"] == 20
    assert result["records"] == [[38, "青岛海洋科技有限公司37"], [40, "青岛海洋科技有限公司39"]]


def test_datastore_search_sql(ckan, data):
    result = ckan.action.datastore_search_sql(
        sql=f'SELECT district, max(staff) AS most FROM "{data["open"]}" GROUP BY district ORDER BY most DESC LIMIT 2'
    )
    assert result["records"] == [{"district": "崂山区", "most": 114}, {"district": "市北区", "most": 111}]
    assert {f["id"]: f["type"] for f in result["fields"]} == {"district": "text", "most": "int"}


def test_datastore_errors_are_ckan_errors(ckan, data):
    with pytest.raises(ValidationError):
        ckan.action.datastore_search(resource_id=data["open"], filters={"ghost": 1})
    with pytest.raises(ValidationError):
        ckan.action.datastore_search_sql(sql=f'DELETE FROM "{data["open"]}"')
    with pytest.raises(NotAuthorized):
        ckan.action.datastore_search(resource_id=data["conditional"])


def test_owner_reads_conditional_rows_with_a_token(live_server, data):
    with RemoteCKAN(live_server.url, apikey=data["owner_token"]) as api:
        assert api.action.datastore_search(resource_id=data["conditional"])["total"] == 5
        info = api.action.datastore_info(id=data["conditional"])
        assert info["meta"]["count"] == 5 and info["fields"][0]["id"] == "uscc"

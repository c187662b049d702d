"""Deep ``offset`` pages are steered to cursors: the rows API refuses an offset beyond
``PUBDATA_ROWS_MAX_OFFSET`` with ``store.offset_too_deep``, naming the exact equivalent cursor when
there is one; CKAN ``datastore_search`` keeps CKAN's unbounded offset."""

from __future__ import annotations

import pytest

from pubdata.authz import ANONYMOUS
from pubdata.store.query.rows import OffsetTooDeep, RowQuery, read_rows
from tests.store.rows_fixture import load_table

LIMIT = 10


@pytest.fixture
def table(session, as_actor, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "rows_max_offset", LIMIT)
    return load_table(session, as_actor("department"), settings.home, tmp_path).resource_id


def _rows(client, rid, **params):
    return client.get(f"/api/v1/resources/{rid}/rows", params={"limit": 5, **params})


def test_an_offset_up_to_the_limit_pages_as_before(client, table):
    r = _rows(client, table, offset=LIMIT)
    assert r.status_code == 200 and [x["_id"] for x in r.json()["records"]] == [11, 12, 13, 14, 15]


def test_a_deeper_offset_names_the_cursor_that_gives_the_same_page(client, table):
    r = _rows(client, table, offset=23)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "store.offset_too_deep" and "cursor" in error["message"] and str(LIMIT) in error["message"]
    detail = error["details"][0]
    assert detail["field"] == "offset" and detail["max_offset"] == LIMIT and detail["_id__gt"] == 23
    page = _rows(client, table, cursor=detail["cursor"])
    assert page.status_code == 200 and [x["_id"] for x in page.json()["records"]] == [24, 25, 26, 27, 28]
    keyset = _rows(client, table, _id__gt=23)
    assert keyset.json()["records"] == page.json()["records"]
    # and the cursor goes on from there like any other
    after = client.get(page.json()["_links"]["next"])
    assert [x["_id"] for x in after.json()["records"]] == [29, 30, 31, 32, 33]


def test_with_a_filter_or_sort_the_refusal_says_to_page_by_cursor_from_the_start(client, table):
    for params in ({"district": "崂山区"}, {"sort": "-capital"}, {"q": "海洋"}):
        r = _rows(client, table, offset=LIMIT + 1, **params)
        assert r.status_code == 422, params
        detail = r.json()["error"]["details"][0]
        assert r.json()["error"]["code"] == "store.offset_too_deep" and "cursor" not in detail, params
    # walking by cursor from the first page reaches every row, however deep
    seen, url = [], f"/api/v1/resources/{table}/rows?district=崂山区&limit=3"
    while url:
        body = client.get(url).json()
        seen += [x["_id"] for x in body["records"]]
        url = body["_links"]["next"]
    assert seen == [3, 7, 11, 15, 19, 23, 27, 31, 35, 39]


def test_ckan_datastore_search_keeps_its_offset(client, table):
    r = client.post("/api/3/action/datastore_search", json={"resource_id": table, "offset": 30, "limit": 5})
    assert r.status_code == 200 and [x["_id"] for x in r.json()["result"]["records"]] == [31, 32, 33, 34, 35]


def test_the_service_refuses_only_when_asked_to(session, settings, table):
    deep = RowQuery(offset=LIMIT + 5, limit=2)
    assert [r["_id"] for r in read_rows(session, ANONYMOUS, table, deep, home=settings.home).records()] == [16, 17]
    with pytest.raises(OffsetTooDeep):
        read_rows(session, ANONYMOUS, table, deep, home=settings.home, max_offset=LIMIT)

"""Row queries through the read path: filters, q, fields, sort, offset and keyset paging, totals,
versions, and who may read."""

from decimal import Decimal

import pytest

from pubdata.authz import ANONYMOUS
from pubdata.store.ingest import load as ingest
from pubdata.store.query.rows import Filter, InvalidQuery, RowQuery, filters_from_params, read_rows, sort_from_param
from pubdata.store.read import RowsForbidden
from tests.store.rows_fixture import CODES, csv_text, load_table


@pytest.fixture
def loaded(session, as_actor, settings, tmp_path):
    return load_table(session, as_actor("department"), settings.home, tmp_path)


def read(session, settings, rid, actor=ANONYMOUS, **kw):
    return read_rows(session, actor, rid, RowQuery(**kw), home=settings.home)


def test_default_page_has_id_and_all_fields_in_load_order(session, settings, loaded):
    page = read(session, settings, loaded.resource_id, limit=3)
    assert [c.name for c in page.columns] == ["_id", "uscc", "name", "district", "capital", "staff", "founded"]
    records = page.records()
    assert [r["_id"] for r in records] == [1, 2, 3]
    assert records[0]["uscc"] == CODES[0] and records[0]["capital"] == 100.5 and records[0]["founded"] == "2020-01-01"
    assert page.total is None and page.next_cursor


def test_filters_equality_in_ranges_prefix_and_null(session, settings, loaded):
    rid = loaded.resource_id

    def ids(*filters, **kw):
        return [r["_id"] for r in read(session, settings, rid, filters=list(filters), limit=100, **kw).records()]

    assert ids(Filter("district", "eq", "崂山区")) == [3, 7, 11, 15, 19, 23, 27, 31, 35, 39]
    assert ids(Filter("district", "in", ["市南区", "市北区"]), Filter("staff", "lt", "10")) == [1, 2]
    assert ids(Filter("capital", "gte", "137.5"), Filter("capital", "lte", 138.5)) == [38, 39]
    assert ids(Filter("founded", "gt", "2020-01-27")) == [28]
    assert ids(Filter("name", "prefix", "青岛海洋"), Filter("_id", "lte", "6")) == [2, 4, 6]
    assert ids(Filter("staff", "isnull", True)) == [10, 20, 30, 40]
    assert ids(Filter("uscc", "eq", CODES[17])) == [18]
    assert ids(Filter("district", "ne", "崂山区"), Filter("_id", "gt", 36)) == [37, 38, 40]


def test_q_matches_words_in_text_columns(session, settings, loaded):
    page = read(session, settings, loaded.resource_id, q="海洋 市北区", limit=100, include_total=True)
    assert page.total == 10 and {r["district"] for r in page.records()} == {"市北区"}
    assert all("海洋" in r["name"] for r in page.records())
    by_field = read(session, settings, loaded.resource_id, q={"name": "公司3"}, limit=100)
    assert {r["_id"] for r in by_field.records()} == {4, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40}


def test_fields_and_sort(session, settings, loaded):
    page = read(session, settings, loaded.resource_id, fields=["name", "capital"], sort=[("capital", True)], limit=2)
    assert [c.name for c in page.columns] == ["name", "capital"]
    assert page.records() == [
        {"name": "青岛海洋科技有限公司39", "capital": 139.5},
        {"name": "青岛港湾科技有限公司38", "capital": 138.5},
    ]
    assert sort_from_param("capital desc, name") == [("capital", True), ("name", False)]
    assert sort_from_param("-staff,_id") == [("staff", True), ("_id", False)]


def test_keyset_cursor_walks_every_row_once_in_order(session, settings, loaded):
    rid = loaded.resource_id
    seen: list[int] = []
    cursor = None
    sort = [("district", False), ("staff", True)]
    for _ in range(20):
        page = read(session, settings, rid, sort=sort, limit=7, cursor=cursor, fields=["staff"])
        seen += [r["staff"] for r in page.records()]
        cursor = page.next_cursor
        if cursor is None:
            break
    everything = read(session, settings, rid, sort=sort, limit=100, fields=["staff"]).records()
    assert seen == [r["staff"] for r in everything] and len(seen) == 40  # nulls last, none lost or repeated


def test_cursor_from_another_query_is_refused(session, settings, loaded):
    page = read(session, settings, loaded.resource_id, limit=5)
    with pytest.raises(InvalidQuery) as exc:
        read(session, settings, loaded.resource_id, limit=5, cursor=page.next_cursor, sort=[("name", False)])
    assert exc.value.field == "cursor"
    with pytest.raises(InvalidQuery):
        read(session, settings, loaded.resource_id, cursor="not-a-cursor")


def test_total_is_exact_and_offset_pages(session, settings, loaded):
    page = read(
        session,
        settings,
        loaded.resource_id,
        filters=[Filter("district", "eq", "市北区")],
        include_total=True,
        limit=3,
        offset=3,
    )
    assert page.total == 10 and [r["_id"] for r in page.records()] == [14, 18, 22]
    assert read(session, settings, loaded.resource_id, include_total=True, limit=0).total == 40


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"filters": [Filter("nope", "eq", "x")]}, "nope"),
        ({"filters": [Filter("staff", "gt", "many")]}, "staff"),
        ({"filters": [Filter("staff", "prefix", "1")]}, "staff"),
        ({"fields": ["uscc", "secret"]}, "secret"),
        ({"sort": [("missing", False)]}, "missing"),
        ({"limit": 10_000_000}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_bad_queries_name_the_problem(session, settings, loaded, kw, field):
    with pytest.raises(InvalidQuery) as exc:
        read(session, settings, loaded.resource_id, **kw)
    assert exc.value.field == field


def test_query_string_filters():
    got = filters_from_params(
        [("district", "崂山区"), ("staff__gte", "5"), ("uscc__in", "a,b"), ("limit", "5"), ("staff__isnull", "false")]
    )
    assert got == [
        Filter("district", "eq", "崂山区"),
        Filter("staff", "gte", "5"),
        Filter("uscc", "in", ["a", "b"]),
        Filter("staff", "isnull", False),
    ]
    with pytest.raises(InvalidQuery):
        filters_from_params([("staff__like", "x")])


def test_earlier_versions_stay_readable(session, settings, loaded, tmp_path):
    path = tmp_path / "v2.csv"
    path.write_text(csv_text(12), encoding="utf-8")
    ingest.ingest(session, loaded.owner, loaded.resource_id, path, home=settings.home)
    assert read(session, settings, loaded.resource_id, include_total=True).total == 12
    old = read(session, settings, loaded.resource_id, include_total=True, version=1)
    assert old.total == 40 and old.plan.version == 1


def test_conditional_rows_only_for_the_publisher_and_operator(session, settings, as_actor, tmp_path):
    owner = as_actor("department")
    loaded = load_table(session, owner, settings.home, tmp_path, open_type="conditional")
    for outsider in (ANONYMOUS, as_actor("enterprise"), as_actor("department"), as_actor("bank")):
        with pytest.raises(RowsForbidden):
            read(session, settings, loaded.resource_id, outsider)
    assert read(session, settings, loaded.resource_id, owner, include_total=True).total == 40
    assert read(session, settings, loaded.resource_id, as_actor("operator"), limit=1).records()[0]["_id"] == 1


def test_amounts_keep_their_decimals(session, settings, loaded):
    table = read(session, settings, loaded.resource_id, limit=1, fields=["capital"]).table
    assert table.column("capital").to_pylist() == [Decimal("100.50")]

"""Pages in file order served from decoded row groups (store.pages) must be exactly the pages SQL
returns: same rows, types, CSV and cursors, for every filter store.pages takes, across row groups,
with the cache empty or warm, and when a scan hands the rest of the table to DuckDB."""

import random
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from pubdata.authz import ANONYMOUS
from pubdata.settings import get_settings
from pubdata.store import service
from pubdata.store.ingest import load as ingest
from pubdata.store.ingest import text_index
from pubdata.store.query import pages, text_search
from pubdata.store.query import rows as query
from pubdata.store.query.rows import Filter, RowQuery, read_rows
from pubdata.store.read import plan_read
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry

SCHEMA = {
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "district", "type": "string"},
        {"name": "capital", "type": "number", "semanticType": "amount"},
        {"name": "ratio", "type": "number"},
        {"name": "staff", "type": "integer"},
        {"name": "founded", "type": "date"},
        {"name": "checked_at", "type": "datetime"},
        {"name": "listed", "type": "boolean"},
        {"name": "year", "type": "year"},
    ]
}
DISTRICTS = ["市南区", "市北区", "崂山区", "黄岛区", ""]
ROWS = 300


def csv_text() -> str:
    lines = ["name,district,capital,ratio,staff,founded,checked_at,listed,year"]
    rng = random.Random(3)
    for i in range(ROWS):
        blank = i % 11 == 5  # a null in every column now and then
        lines.append(
            ",".join(
                [
                    f"青岛{rng.choice(['海洋', '港湾', '蓝谷'])}公司{i}",
                    "" if blank else DISTRICTS[i % 5],
                    "" if blank else f"{rng.randint(0, 500)}.{rng.choice(['00', '50', '25'])}",
                    "" if blank else f"{rng.random():.3f}",
                    "" if blank else str(rng.randint(0, 99)),
                    "" if blank else f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "" if blank else f"2021-03-{1 + i % 28:02d}T{i % 24:02d}:30:00",
                    "" if blank else rng.choice(["true", "false"]),
                    "" if blank else str(2000 + i % 20),
                ]
            )
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def table(session, as_actor, settings, tmp_path):
    return load(session, as_actor, settings, tmp_path)


def load(session, as_actor, settings, tmp_path):
    owner = as_actor("department")
    entry = make_entry(session, owner, title="分页测试", open_type="unconditional")
    created = service.create_table(session, owner, entry.code, TableCreate(name="明细", schema=SCHEMA))
    path = tmp_path / "rows.csv"
    path.write_text(csv_text(), encoding="utf-8")
    assert ingest.ingest(session, owner, created.resource_id, path, home=settings.home).rows_loaded == ROWS
    return created.resource_id


def small_groups(session, settings, rid):
    """The version's file rewritten in row groups of 7 rows (before anything reads it)."""
    path = plan_read(session, ANONYMOUS, rid, home=settings.home).path
    data = pq.read_table(path)
    pq.write_table(data, path, row_group_size=7, compression="zstd")
    assert pq.ParquetFile(path).metadata.num_row_groups == 43


def random_queries(n):
    rng = random.Random(11)
    candidates = [
        lambda: Filter("district", "eq", rng.choice(DISTRICTS[:4])),
        lambda: Filter("district", "in", rng.sample(DISTRICTS[:4], 2)),
        lambda: Filter("district", "ne", "崂山区"),
        lambda: Filter("district", "isnull", rng.choice([True, False])),
        lambda: Filter("name", "prefix", rng.choice(["青岛海", "青岛港湾", "无"])),
        lambda: Filter("name", rng.choice(["gt", "lte"]), rng.choice(["青岛海洋公司1", "青岛蓝", "A"])),
        lambda: Filter("capital", rng.choice(["gt", "gte", "lt", "lte"]), str(rng.randint(0, 500))),
        lambda: Filter("capital", "eq", f"{rng.randint(0, 500)}.50"),
        lambda: Filter("capital", "gte", "100.005"),  # more decimals than the column: SQL decides
        lambda: Filter("ratio", "lt", "0.5"),  # a double: SQL decides
        lambda: Filter("staff", rng.choice(["gt", "lte", "eq"]), str(rng.randint(0, 99))),
        lambda: Filter("founded", rng.choice(["gte", "lt"]), f"2020-{rng.randint(1, 12):02d}-15"),
        lambda: Filter("checked_at", "gte", f"2021-03-{rng.randint(1, 28):02d}T12:00:00"),
        lambda: Filter("listed", "eq", rng.choice(["true", "false"])),
        lambda: Filter("year", "in", [str(2000 + rng.randint(0, 19)) for _ in range(3)]),
        lambda: Filter("_id", rng.choice(["gt", "gte", "lt", "lte"]), str(rng.randint(1, ROWS))),
    ]
    for _ in range(n):
        filters = [rng.choice(candidates)() for _ in range(rng.choice([0, 1, 1, 2, 3]))]
        fields = rng.choice([None, None, ["name", "capital"], ["_id", "founded"], ["listed"]])
        yield {"filters": filters, "limit": rng.choice([1, 5, 30]), "offset": rng.choice([0, 0, 4, 90]),
               "fields": fields}  # fmt: skip


def pages_both_ways(session, settings, rid, monkeypatch, cases):
    def read(**kw):
        return read_rows(session, ANONYMOUS, rid, RowQuery(**kw), home=settings.home)

    served = []
    from_groups = query._from_groups

    def counted(*args):
        table = from_groups(*args)
        served.append(table is not None)
        return table

    monkeypatch.setattr(query, "_from_groups", counted)
    for case in cases:
        first = read(**case)
        follow = read(**{**case, "offset": 0}, cursor=first.next_cursor) if first.next_cursor else None
        with monkeypatch.context() as m:
            m.setattr(query, "_from_groups", lambda *a: None)
            by_sql = read(**case)
            follow_sql = read(**{**case, "offset": 0}, cursor=by_sql.next_cursor) if by_sql.next_cursor else None
        assert first.records() == by_sql.records(), case
        assert first.table.schema == by_sql.table.schema, case
        assert first.csv_bytes() == by_sql.csv_bytes(), case
        assert first.next_cursor == by_sql.next_cursor, case
        assert (follow and follow.records()) == (follow_sql and follow_sql.records()), case
    assert sum(served) > 0.7 * len(served)  # most pages came from the row groups


@pytest.mark.parametrize("layout", ["as loaded", "row groups of 7"])
@pytest.mark.parametrize("cache_mb", [256, 0])
def test_pages_from_row_groups_equal_the_sql_path(session, settings, table, monkeypatch, layout, cache_mb):
    if layout != "as loaded":
        small_groups(session, settings, table)
    monkeypatch.setattr(get_settings(), "page_cache_mb", cache_mb)
    pages.cache.clear()
    pages_both_ways(session, settings, table, monkeypatch, random_queries(60))


@pytest.mark.parametrize("layout", ["as loaded", "row groups of 7"])
@pytest.mark.parametrize("max_batches", [pages.ROWS_FILE_BATCHES, 1])  # 1: most pages decode the group instead
def test_without_a_cache_pages_take_their_rows_from_the_rows_file(
    session, as_actor, settings, tmp_path, monkeypatch, layout, max_batches
):
    """With PUBDATA_PAGE_CACHE_MB=0 a version with a rows file (its text index's) decodes only the
    filter columns of a row group and reads the page's rows from the rows file, unless they lie in
    more than ROWS_FILE_BATCHES of its batches: the same pages either way."""
    monkeypatch.setattr(get_settings(), "text_index_min_rows", 0)
    monkeypatch.setattr(text_index, "ROWS_BATCH", 16)  # pages cross batches
    monkeypatch.setattr(pages, "ROWS_FILE_BATCHES", max_batches)
    rid = load(session, as_actor, settings, tmp_path)
    if layout != "as loaded":
        small_groups(session, settings, rid)
    assert text_search.rows_file(plan_read(session, ANONYMOUS, rid, home=settings.home).path) is not None
    monkeypatch.setattr(get_settings(), "page_cache_mb", 0)
    pages.cache.clear()
    events: list[tuple[str, bool]] = []  # ("rows file", whether it served the page's rows), ("group", _)
    real_read, real_get = text_search.read_rows_file, pages.cache.get

    def reading(*args, **kw):
        table = real_read(*args, **kw)
        events.append(("rows file", table is not None))
        return table

    monkeypatch.setattr(text_search, "read_rows_file", reading)
    monkeypatch.setattr(pages.cache, "get", lambda *a, **kw: events.append(("group", True)) or real_get(*a, **kw))
    pages_both_ways(session, settings, rid, monkeypatch, random_queries(60))
    served = [ok for what, ok in events if what == "rows file"]
    # after a refusal the page's columns come from the group
    assert all(events[i + 1][0] == "group" for i, event in enumerate(events) if event == ("rows file", False))
    assert served.count(False) > 10 if max_batches == 1 else served.count(True) > 30


def test_a_sparse_filter_hands_the_rest_to_duckdb(session, settings, table, monkeypatch):
    """After COLD_GROUPS row groups not in memory the scan stops and SQL finishes the page."""
    small_groups(session, settings, table)
    pages.cache.clear()
    info = pages.layout(plan_read(session, ANONYMOUS, table, home=settings.home).path)
    conds = pages.conditions(info, [("district", "string", "eq", "崂山区")])
    assert conds is not None
    found = pages.scan(info, ["name"], conds, skip=0, limit=10)
    assert found.resume_at == 14 and found.still_take == 10 - found.table.num_rows
    read = read_rows(session, ANONYMOUS, table, RowQuery(filters=[Filter("district", "eq", "崂山区")], limit=10),
                     home=settings.home)  # fmt: skip
    assert [r["_id"] for r in read.records()] == [i + 1 for i in range(ROWS) if i % 11 != 5 and i % 5 == 2][:10]


def test_row_group_statistics_skip_groups_without_decoding(session, settings, table):
    small_groups(session, settings, table)
    pages.cache.clear()
    info = pages.layout(plan_read(session, ANONYMOUS, table, home=settings.home).path)
    conds = pages.conditions(info, [("_rn", "integer", "gte", 280), ("staff", "integer", "gte", 0)])
    assert conds is not None
    found = pages.scan(info, ["staff"], conds, skip=0, limit=5)
    assert found.resume_at is None and found.table.column("_rn").to_pylist()[0] >= 280
    assert pages.cache.missing(info, 0, ["staff"]) == ["staff"]  # the first groups were never decoded


def test_values_the_column_type_cannot_hold_exactly_take_sql(tmp_path, session, settings, table):
    info = pages.layout(plan_read(session, ANONYMOUS, table, home=settings.home).path)
    assert pages.conditions(info, [("capital", "number", "gte", Decimal("1.005"))]) is None
    assert pages.conditions(info, [("ratio", "number", "lt", Decimal("0.5"))]) is None
    assert pages.conditions(info, [("staff", "integer", "eq", 2**70)]) is None
    assert pages.conditions(info, [("capital", "number", "gte", Decimal("1.5"))]) is not None


def test_a_file_replaced_under_the_same_path_is_read_afresh(session, settings, table, monkeypatch):
    """Caches key on the file's identity, not only its path (a data home rebuilt under a server)."""

    def names():
        page = read_rows(session, ANONYMOUS, table, RowQuery(limit=3, fields=["name"]), home=settings.home)
        return [r["name"] for r in page.records()]

    before = names()
    path = plan_read(session, ANONYMOUS, table, home=settings.home).path
    data = pq.read_table(path)
    pq.write_table(data.slice(3), path.with_suffix(".new"))
    path.with_suffix(".new").replace(path)
    assert names() == [r["name"] for r in data.slice(3, 3).to_pylist()] != before

"""The text index of a version (``q`` without a scan): built at ingest and published with the data,
the same answers as the scan for every query shape, and nothing found that the caller's plan does not
show — hidden columns, the values behind masks, rows outside a contract's row filter."""

from __future__ import annotations

import random

import pytest

from pubdata.authz import ANONYMOUS
from pubdata.settings import get_settings
from pubdata.store import files
from pubdata.store.ingest import text_index
from pubdata.store.query import text_search
from pubdata.store.query.rows import Filter, RowQuery, read_rows
from pubdata.store.read import plan_read
from tests.access.people import grant, load_people, person
from tests.store.rows_fixture import load_table

WORDS = ["海洋", "港湾", "公司3", "公司1", "崂山区", "市北", "青岛", "科技", "有限公司39", "9", "91370200",
         "MA", "ma", "none", "洋科", "区", "司2"]  # fmt: skip


@pytest.fixture
def two_tables(session, as_actor, settings, tmp_path, monkeypatch):
    """The same rows loaded twice: with a text index, and without (answered by the scan)."""
    owner = as_actor("department")
    monkeypatch.setattr(get_settings(), "text_index_min_rows", 0)
    # row groups of 4 rows: pages cross row groups, as they do in a large table
    monkeypatch.setattr(text_index, "_OPTIONS", "FORMAT parquet, ROW_GROUP_SIZE 4")
    monkeypatch.setattr(text_index, "ROWS_BATCH", 3)  # and the rows file's batches: pages cross them too
    indexed = load_table(session, owner, settings.home, tmp_path)
    monkeypatch.setattr(get_settings(), "text_index_min_rows", 10**9)
    scanned = load_table(session, owner, settings.home, tmp_path)
    return indexed.resource_id, scanned.resource_id


def _page(session, settings, rid, actor=ANONYMOUS, **kw):
    return read_rows(session, actor, rid, RowQuery(**kw), home=settings.home)


def test_index_is_written_into_the_version_only_for_large_versions(session, settings, two_tables):
    indexed, scanned = two_tables
    v_indexed = files.version_dir(settings.home, indexed, 1)
    v_scanned = files.version_dir(settings.home, scanned, 1)
    assert (v_indexed / files.TEXT_TERMS_FILE).is_file() and (v_indexed / files.TEXT_CODES_FILE).is_file()
    assert not (v_scanned / files.TEXT_CODES_FILE).exists()  # under PUBDATA_TEXT_INDEX_MIN_ROWS: scanned
    assert not [p for p in files.resource_dir(settings.home, indexed).iterdir() if p.name.startswith(".staging")]
    assert text_search.lookup(plan_read(session, ANONYMOUS, indexed, home=settings.home), "海洋") is not None
    assert text_search.lookup(plan_read(session, ANONYMOUS, scanned, home=settings.home), "海洋") is None


@pytest.mark.parametrize("listed", [text_search.LISTED_VALUES, 0])  # matching ids written out, or joined
def test_index_answers_exactly_what_the_scan_answers(session, settings, two_tables, listed, monkeypatch):
    indexed, scanned = two_tables
    monkeypatch.setattr(text_search, "LISTED_VALUES", listed)
    rng = random.Random(14)
    cases: list[dict] = [{"q": w} for w in WORDS] + [{"q": {"name": "公司3"}}, {"q": {"uscc": "ma00000"}}]
    for _ in range(60):
        kw: dict = {"q": " ".join(rng.sample(WORDS, rng.choice([1, 2, 3]))), "limit": rng.choice([1, 7, 50, 200])}
        if rng.random() < 0.3:
            kw["offset"] = rng.choice([0, 3, 20])
        if rng.random() < 0.3:
            kw["filters"] = [Filter("district", "eq", rng.choice(["市南区", "崂山区"]))]
        if rng.random() < 0.2:
            kw["sort"] = [("capital", True)]
        cases.append(kw)
    matched = 0
    for kw in cases:
        kw = {"include_total": True, **kw}
        a = _page(session, settings, indexed, **kw)
        b = _page(session, settings, scanned, **kw)
        assert a.records() == b.records(), kw
        assert a.total == b.total, kw
        matched += bool(a.total)
        # the cursor continues the same way on both
        if a.next_cursor:
            na = _page(session, settings, indexed, **{**kw, "offset": 0, "cursor": a.next_cursor})
            nb = _page(session, settings, scanned, **{**kw, "offset": 0, "cursor": b.next_cursor})
            assert na.records() == nb.records(), kw
    assert matched > len(cases) // 3  # the comparison is not between empty answers


def test_a_word_found_nowhere_and_case_are_the_scans(session, settings, two_tables):
    indexed, _ = two_tables
    assert _page(session, settings, indexed, q="海洋 nothing-like-this", include_total=True).total == 0
    upper = _page(session, settings, indexed, q="MA000001", include_total=True)
    lower = _page(session, settings, indexed, q="ma000001", include_total=True)
    assert upper.total == lower.total == 10 and upper.records() == lower.records()


def test_a_chinese_word_skips_the_dictionaries_of_ascii_only_columns(session, settings, two_tables, monkeypatch):
    indexed, scanned = two_tables
    looked_up: list[tuple[str, list[str]]] = []
    matches = text_search._matches
    monkeypatch.setattr(
        text_search, "_matches", lambda terms, needles: looked_up.extend(needles) or matches(terms, needles)
    )
    # uscc holds only ASCII (the index says so); name holds Chinese text
    assert (
        "uscc" in text_search._indexed(files.version_dir(settings.home, indexed, 1) / files.TEXT_CODES_FILE).ascii_only
    )
    for q in ("海洋 91370200", "ＭＡ０", "ma0"):
        a = _page(session, settings, indexed, q=q, include_total=True)
        assert a.records() == _page(session, settings, scanned, q=q, include_total=True).records()
    words = dict(looked_up)
    assert "uscc" not in words["海洋"] and "name" in words["海洋"]
    assert "uscc" not in words["ＭＡ０"]  # full-width digits stay non-ASCII whatever the case
    assert "uscc" in words["91370200"] and "uscc" in words["ma0"]  # ASCII words: every column


# --- what the caller's plan does not show -------------------------------------------------------------

GRANTED = ["name", "id_number", "address", "district", "birth"]  # not phone; personal fields masked by default
PLAIN = ["district", "birth", "amount"]  # the one text column granted is not personal: no mask on text


@pytest.fixture
def people_indexed(session, as_actor, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "text_index_min_rows", 0)
    people = load_people(session, as_actor("department"), settings.home, tmp_path)
    assert (files.version_dir(settings.home, people.resource_id, 1) / files.TEXT_CODES_FILE).is_file()
    return people


def _bank_with(session, as_actor, people, fields=GRANTED, **department):
    bank = as_actor("bank")
    grant(session, bank, as_actor("operator"), people, fields, department={"fields": fields, **department})
    return bank


def test_q_under_a_grant_never_finds_hidden_columns_or_filtered_rows(session, as_actor, settings, people_indexed):
    people = people_indexed
    # masks only on a non-text column: the index serves this plan
    bank = _bank_with(session, as_actor, people, PLAIN, masks={"birth": "year"}, row_filter="district = '崂山区'")
    plan = plan_read(session, bank, people.resource_id, home=settings.home)
    assert not plan.masks.keys() - {"birth"} and plan.row_filter_sql
    assert text_search.lookup(plan, "崂山区") is not None, "the index is in use for this plan"

    def found(q, **kw):
        page = _page(session, settings, people.resource_id, bank, q=q, limit=100, include_total=True, **kw)
        return page.total, [r["_id"] for r in page.records()]

    phone = person(4)["phone"]  # row 5 is in 崂山区 (i % 3 == 1): only the hidden column holds this
    assert found(phone) == (0, [])
    assert found(phone[:7]) == (0, [])
    assert found("138") == (0, [])  # every phone number starts so; no granted text column holds it
    assert found("海尔路") == (0, [])  # every address holds it: not granted
    assert found("崂山区 海尔路") == (0, [])
    assert found(person(4)["name"]) == (0, []) and found(person(4)["id_number"]) == (0, [])
    # 市南区 is in rows outside the row filter (and in none inside it)
    assert found("市南区") == (0, [])
    assert found("市南区", filters=[Filter("birth", "isnull", False)]) == (0, [])
    assert found({"district": "市南"}) == (0, [])
    total, ids = found("崂山区")
    assert total == 10 and ids == [i + 1 for i in range(30) if i % 3 == 1]
    total, ids = found("崂山区", filters=[Filter("_id", "gt", 10)])  # the index and the relation together
    assert total == 7 and ids == [i + 1 for i in range(30) if i % 3 == 1 and i >= 10]


def test_q_matches_the_masked_text_not_the_value_behind_the_mask(session, as_actor, settings, people_indexed):
    people = people_indexed
    bank = _bank_with(session, as_actor, people)  # default masks: name 张*, ID number 370212********1234
    plan = plan_read(session, bank, people.resource_id, home=settings.home)
    assert plan.masks.get("name") and plan.masks.get("id_number")
    assert text_search.lookup(plan, "小明") is None  # a masked text column: the plan's relation is scanned

    def total(q):
        page = _page(session, settings, people.resource_id, bank, q=q, limit=100, include_total=True)
        assert page.total == len(page.records())
        return page.total

    assert total("小明") == 0 and total("芳") == 0  # the names' hidden parts
    assert total(person(1)["id_number"]) == 0 and total(person(1)["id_number"][6:14]) == 0  # birth date digits
    assert total("张*") == 4  # what the caller sees: 张芳 → 张* (i = 0, 8, 16, 24)
    assert total({"name": "小明"}) == 0


def test_datastore_search_q_uses_the_index_and_keeps_the_plan(client, session, as_actor, settings, people_indexed,
                                                               token_for):  # fmt: skip
    people = people_indexed
    bank = _bank_with(session, as_actor, people, PLAIN, row_filter="district = '崂山区'")
    headers = {"Authorization": f"Bearer {token_for(bank)}"}

    def search(q):
        r = client.post("/api/3/action/datastore_search", json={"resource_id": people.resource_id, "q": q},
                        headers=headers)  # fmt: skip
        assert r.status_code == 200, r.text
        return r.json()["result"]

    hit = search("崂山区")
    assert hit["total"] == 10 and {r["district"] for r in hit["records"]} == {"崂山区"}
    assert "phone" not in hit["records"][0] and "address" not in hit["records"][0]
    assert search("海尔路 崂山区")["total"] == 0
    assert search(person(4)["phone"])["total"] == 0
    assert search("市南区")["total"] == 0
    anonymous = client.post("/api/3/action/datastore_search", json={"resource_id": people.resource_id, "q": "崂山区"})
    assert anonymous.status_code == 403


def test_rows_read_from_the_index_are_masked_as_the_data_files_are(session, as_actor, settings, people_indexed,
                                                                    monkeypatch):  # fmt: skip
    """A page of ``q`` alone is read from the index's rows file, not the data file: the plan's masks
    apply there all the same (the same records as the data file's path, which a filter forces)."""
    people = people_indexed
    bank = _bank_with(session, as_actor, people, PLAIN, masks={"birth": "year"})
    plan = plan_read(session, bank, people.resource_id, home=settings.home)
    assert plan.masks.keys() == {"birth"} and plan.row_filter_sql is None
    fetched = []
    real = text_search.register_rows
    monkeypatch.setattr(text_search, "register_rows", lambda cur, p, n: fetched.append(n) or real(cur, p, n))

    def page(**kw):
        return _page(session, settings, people.resource_id, bank, q="崂山区", limit=100, **kw).records()

    from_index = page()
    assert fetched == [[i for i in range(30) if i % 3 == 1]], "read from the rows file"
    assert from_index == page(filters=[Filter("_id", "gt", 0)])  # the data file's path: the same records
    assert len(from_index) == 10 and set(from_index[0]) == {"_id", *PLAIN}
    assert all(str(r["birth"]) == str(1960 + (r["_id"] - 1) % 40) for r in from_index)  # the year, not the date

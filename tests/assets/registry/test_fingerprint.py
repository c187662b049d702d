"""The content fingerprint (数据存证哈希): a known answer computed here from canonical bytes written
out by hand (so the test pins the documented form of docs/registry.md, not the implementation), and
the properties a holder of the data relies on: row order and file layout do not matter, NULL is not
the empty string, NFC and NFD spell the same text, one changed value changes it, and the store's
path agrees with the pure function on the same data."""

from __future__ import annotations

import hashlib
import unicodedata
from decimal import Decimal

import pytest

from pubdata.assets.registry import fingerprint as fp
from pubdata.assets.registry.errors import FingerprintUnavailable
from pubdata.store import service as store
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import TableCreate
from tests.access.people import grant, load_people
from tests.builders import make_entry

FIELDS = ["name", "amount"]
ROWS = [("市南区", Decimal("100.50")), ("崂山区", 7), (None, Decimal("0.10"))]
SCHEMA = {"fields": [{"name": "name", "type": "string"}, {"name": "amount", "type": "number"}]}

# The canonical form of FIELDS and ROWS, by hand: the header line, then the row lines in ascending
# byte order (ESC "N" for NULL sorts first; 崂 is E5 B4 82 and 市 E5 B8 82 in UTF-8), values joined
# by US (0x1F), lines by RS (0x1E); 100.50 → 100.5, 0.10 → 0.1, 7 → 7.
CANONICAL = (
    b"name\x1famount"
    b"\x1e"
    b"\x1bN\x1f0.1"
    b"\x1e"
    b"\xe5\xb4\x82\xe5\xb1\xb1\xe5\x8c\xba\x1f7"  # 崂山区 US 7
    b"\x1e"
    b"\xe5\xb8\x82\xe5\x8d\x97\xe5\x8c\xba\x1f100.5"  # 市南区 US 100.5
)
KNOWN = hashlib.sha256(CANONICAL).hexdigest()


def test_the_worked_example_has_the_documented_canonical_bytes():
    assert "崂山区".encode() == b"\xe5\xb4\x82\xe5\xb1\xb1\xe5\x8c\xba"  # the hand-written bytes are right
    assert fp.fingerprint_rows(FIELDS, ROWS) == KNOWN
    assert KNOWN == "2adebf5cb4ef3b783eab033852ee004881393119a3fc6178fe9a6a0b88208d4c"  # as docs/registry.md


def test_row_order_and_value_spelling_do_not_matter():
    shuffled = [ROWS[2], ROWS[0], ROWS[1]]
    spelled = [("市南区", 100.5), ("崂山区", Decimal("7.000")), (None, Decimal("1E-1"))]
    assert fp.fingerprint_rows(FIELDS, shuffled) == fp.fingerprint_rows(FIELDS, spelled) == KNOWN


def test_null_is_not_the_empty_string_and_escapes_keep_values_apart():
    assert fp.fingerprint_rows(["a"], [(None,)]) != fp.fingerprint_rows(["a"], [("",)])
    assert fp.fingerprint_rows(["a"], [(None,)]) != fp.fingerprint_rows(["a"], [("\x1bN",)])  # a text "ESC N"
    # a separator inside a value cannot fake a second value or a second row
    assert fp.fingerprint_rows(["a", "b"], [("x\x1fy", "z")]) != fp.fingerprint_rows(["a", "b"], [("x", "y\x1fz")])
    assert fp.fingerprint_rows(["a"], [("x\x1ey",)]) != fp.fingerprint_rows(["a"], [("x",), ("y",)])


def test_nfc_and_nfd_spell_the_same_text():
    nfd = unicodedata.normalize("NFD", "Café 青岛")
    assert nfd != "Café 青岛"
    assert fp.fingerprint_rows(["s"], [(nfd,)]) == fp.fingerprint_rows(["s"], [("Café 青岛",)])


def test_one_changed_value_or_name_changes_it():
    assert fp.fingerprint_rows(FIELDS, [("市南区", Decimal("100.51")), *ROWS[1:]]) != KNOWN
    assert fp.fingerprint_rows(FIELDS, [*ROWS[:2], ("", Decimal("0.1"))]) != KNOWN
    assert fp.fingerprint_rows(FIELDS, ROWS[:2]) != KNOWN  # a row fewer
    assert fp.fingerprint_rows(["name", "value"], ROWS) != KNOWN  # the header counts
    with pytest.raises(ValueError):
        fp.fingerprint_rows(FIELDS, [("市南区",)])


def test_canonical_values_of_other_types():
    from datetime import UTC, date, datetime, timedelta, timezone

    assert fp.render(True) == "true" and fp.render(False) == "false"
    assert fp.render(Decimal("-0.00")) == "0" and fp.render(-0.0) == "0" and fp.render(1e20) == "1" + "0" * 20
    assert fp.render(date(2026, 1, 5)) == "2026-01-05"
    assert fp.render(datetime(2026, 1, 5, 8, 30)) == "2026-01-05T08:30:00"
    beijing = timezone(timedelta(hours=8))
    assert fp.render(datetime(2026, 1, 5, 8, 30, tzinfo=beijing)) == "2026-01-05T00:30:00Z"
    assert fp.render(datetime(2026, 1, 5, 0, 30, 0, 500, tzinfo=UTC)) == "2026-01-05T00:30:00.000500Z"


def _load(session, department, home, tmp_path, text: str, entry_code: str | None = None) -> str:
    if entry_code is None:
        entry_code = make_entry(session, department, title="各区金额").code
        rid = store.create_table(session, department, entry_code, TableCreate(name="金额", schema=SCHEMA)).resource_id
    else:
        rid = entry_code
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    result = ingest.ingest(session, department, rid, path, home=home)
    assert result.state == "published", result
    return rid


def test_the_store_path_agrees_with_the_pure_function_whatever_the_file_layout(session, as_actor, settings, tmp_path):
    department = as_actor("department")
    rid = _load(session, department, settings.home, tmp_path, "name,amount\n市南区,100.50\n崂山区,7\n,0.10\n")
    found = fp.fingerprint_version(session, department, rid, home=settings.home)
    assert (found.fingerprint, found.rows, found.version, found.field_names) == (KNOWN, 3, 1, FIELDS)
    # version 2: the same data, columns swapped and rows reordered in the file → the same fingerprint
    _load(session, department, settings.home, tmp_path, "amount,name\n0.1,\n7.00,崂山区\n100.5,市南区\n", rid)
    again = fp.fingerprint_version(session, department, rid, home=settings.home)
    assert (again.version, again.fingerprint) == (2, KNOWN)
    assert fp.fingerprint_version(session, department, rid, 1, home=settings.home).fingerprint == KNOWN
    # version 3: one value changed
    _load(session, department, settings.home, tmp_path, "name,amount\n市南区,100.51\n崂山区,7\n,0.10\n", rid)
    assert fp.fingerprint_version(session, department, rid, home=settings.home).fingerprint != KNOWN


def test_a_view_narrowed_by_a_grant_has_no_fingerprint(session, as_actor, settings, tmp_path):
    people = load_people(session, as_actor("department"), settings.home, tmp_path, n=5)
    merchant = as_actor("data_merchant")
    grant(session, merchant, as_actor("operator"), people, ["district", "amount"])
    with pytest.raises(FingerprintUnavailable):
        fp.fingerprint_version(session, merchant, people.resource_id, home=settings.home)
    whole = fp.fingerprint_version(session, people.owner, people.resource_id, home=settings.home)
    assert whole.rows == 5 and len(whole.fingerprint) == 64

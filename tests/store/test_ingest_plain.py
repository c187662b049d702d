"""The plain spellings ingestion reads without the general rules (``semantic.plain_path``: a mobile
number after ``+86`` with spaces or hyphens, an amount with thousands commas, a date as
``YYYY/MM/DD`` or ``YYYY年M月D日``), over thousands of generated spellings — plain or nearly so,
valid or not: wherever the shortcut applies, the definitions ``semantic.normalise_sql`` and
``problem_sql`` give its canonical value and no problem, on the text as written and on the cleaned
text; and the whole ingest pass gives what the definitions give for every one of them."""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pytest

from pubdata.store import table_schema
from pubdata.store.ingest import load as ingest
from pubdata.store.ingest import semantic

FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
FULL_WIDTH_ALL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"})


def _mobiles(rng: random.Random) -> list[str]:
    prefixes = ["", "", "+86", "86", "0086", "+86 ", "86-", "+8 6", "+", "8", "+87", "＋86"]
    separators = ["", "", "", " ", " ", "-", "-", "  ", " - ", "\t", ".", "(", ")", "/"]
    values = []
    for _ in range(6000):
        digits = (
            "1"
            + rng.choice("0123456789")
            + "".join(rng.choice("0123456789") for _ in range(rng.choice([8, 9, 9, 9, 9, 9, 10])))
        )
        groups = [digits[:3], digits[3:7], digits[7:]] if rng.random() < 0.6 else list(digits)
        text = rng.choice(prefixes) + rng.choice(["", " ", "-", "  "]) if rng.random() < 0.6 else ""
        text += "".join(g + rng.choice(separators) for g in groups[:-1]) + groups[-1]
        values.append(text)
    return values


def _amounts(rng: random.Random) -> list[str]:
    values = []
    for _ in range(6000):
        digits = str(
            rng.choice([0, 1, 7, 12, 999, 1000, 123456, 10**14, 10**15 - 1, 10**15, 10**16]) + rng.randrange(1000)
        )
        digits = digits if rng.random() < 0.9 else "0" + digits
        if rng.random() < 0.5:  # thousands commas, sometimes misplaced
            groups = []
            while digits:
                size = 3 if rng.random() < 0.9 else rng.choice([1, 2, 4])
                groups.insert(0, digits[-size:])
                digits = digits[:-size]
            digits = ",".join(groups)
        decimals = rng.choice(["", "", ".5", ".50", ".05", ".", ".123", ".1234"])
        sign = rng.choice(["", "", "-", "+", " -", "- "])
        mark = rng.choice(["", "", "", "¥", "￥ "])
        tail = rng.choice(["", "", "", "元", " 元"])
        values.append(sign + mark + digits + decimals + tail)
    return values


def _dates(rng: random.Random) -> list[str]:
    years = [
        "0999",
        "1000",
        "1582",
        "1600",
        "1900",
        "2000",
        "2020",
        "2021",
        "2024",
        "2100",
        "9999",
        "0000",
        "999",
        "20201",
    ]
    values = []
    for _ in range(8000):
        year = rng.choice(years)
        month, day = rng.randrange(0, 14), rng.choice([*range(0, 33), 28, 29, 29, 30, 31, 31])
        m = f"{month:02d}" if rng.random() < 0.6 else str(month)
        d = f"{day:02d}" if rng.random() < 0.6 else str(day)
        form = rng.randrange(7)
        if form == 0:
            text = f"{year}-{m}-{d}"
        elif form == 1:
            text = f"{year}/{m}/{d}"
        elif form == 2:
            text = f"{year}年{m}月{d}日"
        elif form == 3:
            text = f"{year}年{m}月{d}" + rng.choice(["", "日日", "号"])
        elif form == 4:
            text = f"{year}.{m}.{d}"
        elif form == 5:
            text = f"{year}{rng.choice('-/.')}{m}{rng.choice('-/.')}{d}"
        else:
            text = f"{year}{m}{d}"
        if rng.random() < 0.1:
            text += rng.choice([" 00:00", " 00:00:00", "T00:00:00", " 12:00"])
        values.append(text)
    return values


GENERATORS = {"mobile": _mobiles, "amount": _amounts, "date": _dates}


def _written(kind: str) -> list[str | None]:
    """Generated spellings, and some of them as real files also write them (full-width, padded)."""
    rng = random.Random(kind)
    values: list[str | None] = [None, "", " "]
    for value in GENERATORS[kind](rng):
        values.append(value)
        roll = rng.random()
        if roll < 0.15:
            values.append(value.translate(FULL_WIDTH_DIGITS))
        elif roll < 0.2:
            values.append(value.translate(FULL_WIDTH_ALL))
        elif roll < 0.25:
            values.append(f" {value}\u3000")
    return values


def _table(values: list[str | None]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"preserve_insertion_order": True})
    semantic.register_functions(con)
    con.register("given", pa.table({"i": list(range(len(values))), "v": pa.array(values, type=pa.string())}))
    con.execute("CREATE TABLE sample AS SELECT * FROM given")
    con.unregister("given")
    return con


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_plain_spellings_read_as_the_definitions_read_them(kind: str) -> None:
    values = _written(kind)
    con = _table(values)
    clean = semantic.cleaned_sql(kind, "v")
    con.execute(f"CREATE TABLE cleaned AS SELECT i, v, {clean} AS c FROM sample")
    plain = semantic.plain_path(kind, "v")
    again = semantic.plain_path(kind, "c")
    assert plain is not None and again is not None
    rows = con.execute(
        f"SELECT v, c, {plain.condition}, CASE WHEN {plain.condition} THEN {plain.canonical} END, "
        f"{again.condition}, CASE WHEN {again.condition} THEN {again.canonical} END, "
        f"{semantic.normalise_sql(kind, 'v')}, {semantic.problem_sql(kind, 'v')}, "
        f"{semantic.normalise_cleaned_sql(kind, 'c')} FROM cleaned ORDER BY i"
    ).fetchall()
    as_written = [r for r in rows if r[2]]
    on_cleaned = [r for r in rows if r[4]]
    # The shortcut as written: only texts cleaning keeps, and then the definitions' answers.
    assert [r for r in as_written if r[1] != r[0] or r[3] != r[6] or r[7] is not None] == []
    # On the cleaned text: the definitions' answers too (the normalisation from the cleaned text is
    # the normalisation of the text as written).
    assert [r for r in on_cleaned if r[5] != r[6] or r[5] != r[8] or r[7] is not None] == []
    # Not vacuous: many values take it, more after cleaning, and many others are left to the rules,
    # some of them valid and some not.
    missed = [r for r in rows if not r[4]]
    assert len(as_written) > 300 and len(on_cleaned) > len(as_written)
    assert any(r[7] is None and r[6] is not None for r in missed)
    assert any(r[7] is not None for r in missed)


def _field(kind: str) -> dict[str, str]:
    if kind == "date":
        return {"name": "v", "type": "date"}
    return {"name": "v", "type": "number" if kind == "amount" else "string", "semanticType": kind}


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_the_ingest_pass_reads_generated_spellings_as_the_definitions_do(kind: str) -> None:
    values = _written(kind)
    con = _table(values)
    expected = con.execute(
        f"SELECT {semantic.normalise_sql(kind, 'v')}, {semantic.problem_sql(kind, 'v')} FROM sample ORDER BY i"
    ).fetchall()
    ingest._check(con, table_schema.parse_schema({"fields": [_field(kind)]}), "(SELECT v FROM sample ORDER BY i)")
    stored = [row[0] for row in con.execute("SELECT v FROM rows ORDER BY rowid").fetchall()]
    problems = dict(
        con.execute("SELECT rid, [p.reason FOR p IN problems] FROM problem_rows").fetchall()  # type: ignore[arg-type]
    )
    got = [(stored[i], (problems.get(i) or [None])[0]) for i in range(len(values))]
    assert [(values[i], g, expected[i]) for i, g in enumerate(got) if g != expected[i]] == []
    assert len({p for _, p in expected}) > 2  # valid values and more than one reason

"""The ingest's staged normalisation (``ingest._check``: the cleaned value computed once, full-width
digits with a short map and other full-width characters with ``semantic.halfwidth``, the check skipped
where ``semantic.settled_sql`` holds) gives, value by value, what the one-expression definitions
``semantic.normalise_sql`` and ``semantic.problem_sql`` give, for every kind, over values written
in many forms: as written, full-width, padded with ASCII and ideographic spaces, with separators."""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pytest
from stdnum.cn import ric

from pubdata.standards import uscc_with_check
from pubdata.store import table_schema
from pubdata.store.ingest import load as ingest
from pubdata.store.ingest import semantic

FULL_WIDTH_ALL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"})
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def resident_id(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


SEEDS: dict[str, list[str]] = {
    "uscc": [uscc_with_check("91370200MA0000001"), uscc_with_check("N2370200MA0000002"), "91370200MA00000010"],
    "resident_id": [resident_id("37020219850909127"), resident_id("11010519491231002"), "370202850101121"],
    "mobile": ["13912345678", "+86 139-1234-5678", "0086 139 1234 5678", "(139)1234-5678", "12912345678", "139"],
    "phone": ["0532-88889999", "(0532)88889999-123", "+86 532 8888 9999", "4008001234", "95588", "010-1234"],
    "postcode": ["266000", "266 000", "966000", "26600"],
    "email": ["a.b@Example.COM", "x@y", "name@qd.gov.cn", "a@@b.cn"],
    "division_code": ["370202", "370202001", "990202", "3702"],
    "person_name": ["张三", "阿依古丽•买买提", "John Smith", "张", "Zhang3"],
    "address": ["青岛市市南区香港中路1号", "Room 12", "!!!", "市南区" * 80],
    "amount": ["1000.5", "1,234,567.50", "¥12", "￥ 12", "100元", "-0.5", "12.345", "1,23", "1e3", "abc"],
    "integer": ["42", "1,000", "12.0", "-7", "9223372036854775808", "1.5"],
    "number": ["3.14", "1,000.5", "+2", "1e5", ".5", "1e999", "x"],
    "boolean": ["是", "否", "TRUE", "n", "1", "maybe"],
    "date": ["2020-03-01", "2020/3/2", "2020年3月3日", "2020.3.6 00:00:00", "20200305", "2020/02/30", "03/01/2020"],
    "datetime": ["2020-03-01 08:00:00", "2020/03/01T08:00:00+00:00", "2020-03-01 8:00", "2020-13-01 00:00:00"],
    "year": ["2020", "2020年", "20", "二〇二〇"],
    "string": ["存续", " 存续 ", "", "a  b"],
}


def forms(value: str, rng: random.Random) -> list[str]:
    """The value as written, and as real files write it."""
    return [
        value,
        value.translate(FULL_WIDTH_DIGITS),
        value.translate(FULL_WIDTH_ALL),
        f"  {value}\u3000",
        f"\u3000{value.translate(FULL_WIDTH_DIGITS)} ",
        value.lower(),
        "".join(c.translate(FULL_WIDTH_ALL) if rng.random() < 0.3 else c for c in value),
    ]


def field_for(kind: str) -> dict[str, str]:
    if kind in semantic.SEMANTIC_KINDS:
        return {"name": "v", "type": "number" if kind == "amount" else "string", "semanticType": kind}
    return {"name": "v", "type": kind}


@pytest.mark.parametrize("kind", semantic.KINDS)
def test_the_ingest_pass_normalises_and_rejects_as_the_definitions_do(kind: str) -> None:
    rng = random.Random(kind)
    values: list[str | None] = [None]
    for seed in SEEDS[kind]:
        values += forms(seed, rng)
    schema = table_schema.parse_schema({"fields": [field_for(kind)]})
    con = duckdb.connect(config={"preserve_insertion_order": True})
    con.register("given", pa.table({"i": list(range(len(values))), "v": pa.array(values, type=pa.string())}))
    con.execute("CREATE TABLE sample AS SELECT * FROM given")
    expected = con.execute(
        f"SELECT {semantic.normalise_sql(kind, 'v')}, {semantic.problem_sql(kind, 'v')} FROM sample ORDER BY i"
    ).fetchall()
    ingest._check(con, schema, "(SELECT v FROM sample ORDER BY i)")
    stored = [row[0] for row in con.execute("SELECT v FROM rows ORDER BY rowid").fetchall()]
    problems = dict(
        con.execute("SELECT rid, [p.reason FOR p IN problems] FROM problem_rows").fetchall()  # type: ignore[arg-type]
    )
    got = [(stored[i], (problems.get(i) or [None])[0]) for i in range(len(values))]
    assert [(values[i], g) for i, g in enumerate(got) if g != expected[i]] == []
    assert any(p is None and n for n, p in expected)  # some valid values, and (text aside) invalid ones
    assert kind == "string" or any(p is not None for _, p in expected)


def test_halfwidth_is_translate_over_arrow_buffers() -> None:
    rng = random.Random(2)
    alphabet = [*"aZ09 -.", "中", "年", "é", "😀", "\u3000", "￥", "\uff5f", *(chr(c) for c in range(0xFF01, 0xFF5F))]
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))) for _ in range(3000)]
    values[5] = None  # type: ignore[call-overload]
    con = duckdb.connect()
    for table in (semantic._ALL, semantic._ALNUM):
        expected = [
            None if v is None else con.execute("SELECT translate(?, ?, ?)", [v, *table]).fetchone()[0]  # type: ignore[index]
            for v in values[:300]
        ]
        for array in (pa.array(values, pa.string()), pa.array(values, pa.large_string())):
            assert semantic.halfwidth(array.slice(0, 300), table).to_pylist() == expected
            assert semantic.halfwidth(array.slice(7, 300), table).to_pylist()[:293] == expected[7:]
        mapping = str.maketrans(*table)
        assert semantic.halfwidth(pa.array(values), table).to_pylist() == [
            None if v is None else v.translate(mapping) for v in values
        ]


SPACES = (
    "\t\n\f\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200E))) + "\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
)


@pytest.mark.parametrize("kind", ["date", "address", "string"])
@pytest.mark.parametrize("with_function", [False, True])
def test_cleaned_values_are_half_width_and_trimmed(kind: str, with_function: bool) -> None:
    """Against Python: ``str.translate`` with the kind's table (all full-width forms and the ideographic
    space; letters and digits only for addresses and names; nothing for text), then stripped."""
    rng = random.Random(kind)
    wide = [chr(c) for c in range(0xFF01, 0xFF5F)]
    alphabet = [*wide, *"０１２３４５６７８９" * 8, *"ab 9-年", "\u3000", "\u00a0", "\v", "中", "😀"]
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 8))) for _ in range(4000)]
    table = {"date": semantic._ALL, "address": semantic._ALNUM, "string": ("", "")}[kind]
    mapping = str.maketrans(*table)
    expected = [v.translate(mapping).strip(SPACES) or None for v in values]
    con = duckdb.connect()
    semantic.register_functions(con)
    con.register("given", pa.table({"i": list(range(len(values))), "v": pa.array(values, type=pa.string())}))
    sql = semantic.cleaned_sql(kind, "v", halfwidth_function=with_function)
    got = [row[0] for row in con.execute(f"SELECT {sql} FROM given ORDER BY i").fetchall()]
    assert [(v, g, e) for v, g, e in zip(values, got, expected, strict=True) if g != e] == []


@pytest.mark.parametrize("kind", ["mobile", "address"])
def test_widened_values_are_translate_whatever_the_neighbouring_code_points(kind: str) -> None:
    """Against Python's ``str.translate`` with the kind's table, over texts of full-width digits among
    the code points whose UTF-8 bytes look most like theirs (EF BC xx, EF BD xx, U+FF00, U+FF5F–U+FFEF)
    and others: the digits alone are mapped over the bytes as hexadecimal text."""
    rng = random.Random(kind)
    near = [chr(c) for c in (0xFF00, *range(0xFF5F, 0xFF70), *range(0xFFE0, 0xFFEF), 0xFEFF, 0x3001, 0x30FB)]
    alphabet = [*"０１２３４５６７８９" * 6, *near, *"09 -+.:;", "中", "年", "é", "😀", "\u00bc", "\u0bc9"]
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 10))) for _ in range(6000)]
    values += [v + rng.choice(["：", "？", "＜", "Ａ", "\u3000"]) for v in values[:500]]  # the general map
    table = semantic._halfwidth_table(kind)
    assert table is not None
    mapping = str.maketrans(*table)
    con = duckdb.connect()
    semantic.register_functions(con)
    con.register("given", pa.table({"i": list(range(len(values))), "v": pa.array(values, type=pa.string())}))
    for function in (False, True):
        sql = semantic.widened_sql(kind, "v", halfwidth_function=function)
        got = [row[0] for row in con.execute(f"SELECT {sql} FROM given ORDER BY i").fetchall()]
        assert [(v, g) for v, g in zip(values, got, strict=True) if g != v.translate(mapping)] == []

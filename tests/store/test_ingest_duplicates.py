"""Duplicate keys found by the ingest pass (``ingest._duplicates``: hashes grouped first, then the keys
whose hash repeats) are exactly the rows after the first with the same primary key (missing parts
compare equal) or the same unique value (missing values never collide), as a scan in row order
finds them — over a composite key and many collisions."""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa

from pubdata.store import table_schema
from pubdata.store.ingest import load as ingest

SCHEMA = {
    "fields": [
        {"name": "a", "type": "string"},
        {"name": "b", "type": "string"},
        {"name": "c", "type": "string", "constraints": {"unique": True}},
    ],
    "primaryKey": ["a", "b"],
}


def _expected(rows: list[tuple[str | None, str | None, str | None]]) -> dict[int, list[str]]:
    seen_keys: set[tuple[str | None, str | None]] = set()
    seen_values: set[str] = set()
    found: dict[int, list[str]] = {}
    for i, (a, b, c) in enumerate(rows):
        if c is not None and c in seen_values:
            found.setdefault(i, []).append("值重复")
        if (a, b) in seen_keys:
            found.setdefault(i, []).append("主键重复")
        seen_keys.add((a, b))
        if c is not None:
            seen_values.add(c)
    return found


def test_duplicate_keys_are_the_rows_after_the_first() -> None:
    rng = random.Random(7)
    parts = [None, "1", "2", "10", "甲"]
    rows = [
        (rng.choice(parts), rng.choice(parts), rng.choice([None, *(str(n) for n in range(200))])) for _ in range(3000)
    ]
    rows += [(f"u{i}", str(i), f"v{i}") for i in range(2000)]  # unique throughout
    con = duckdb.connect(config={"preserve_insertion_order": True})
    con.register(
        "given",
        pa.table(
            {
                "i": list(range(len(rows))),
                "a": [r[0] for r in rows],
                "b": [r[1] for r in rows],
                "c": [r[2] for r in rows],
            }
        ),
    )
    con.execute("CREATE TABLE sample AS SELECT * FROM given")
    ingest._check(con, table_schema.parse_schema(SCHEMA), "(SELECT a, b, c FROM sample ORDER BY i)")
    got = {
        rid: [p.split("|")[1] for p in problems]
        for rid, problems in con.execute(
            "SELECT rid, [p.col || '|' || p.reason FOR p IN problems] FROM problem_rows"
        ).fetchall()
    }
    expected = _expected(rows)
    assert len(expected) > 2500 and any("值重复" in r for r in expected.values())
    assert got == expected

"""What the benchmarks share: deterministic synthetic values, and the check that pubdata's result and
the peer's are the same rows. The scripts run as ``python benchmarks/NAME.py``, so this directory is
on their import path."""

from __future__ import annotations

from pathlib import Path

import duckdb


def uniform(tag: str) -> str:
    """SQL for a deterministic uniform number in [0, 1) per enterprise ``i`` and tag."""
    return f"((hash(i, '{tag}') % 1000000) / 1000000.0)"


def differences(con: duckdb.DuckDBPyConnection, a: Path, b: Path) -> int:
    """Rows in one Parquet result and not the other (NULLs compare equal in EXCEPT ALL)."""
    one_way = "SELECT count(*) FROM (SELECT * FROM read_parquet('{}') EXCEPT ALL SELECT * FROM read_parquet('{}'))"
    row = con.execute(f"SELECT ({one_way.format(a, b)}) + ({one_way.format(b, a)})").fetchone()
    assert row is not None
    return int(row[0])

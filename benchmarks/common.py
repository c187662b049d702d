"""What the benchmarks share: deterministic synthetic values, the check that pubdata's result and
the peer's are the same rows, and a fresh platform over a facts file for the end-to-end runs. The
scripts run as ``python benchmarks/NAME.py``, so this directory is on their import path."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def fresh_platform(work: Path, database_url: str | None, schema: str) -> Iterator[Path]:
    """A fresh metadata database (SQLite under the home, or a PostgreSQL schema of the benchmark's
    own, emptied first and dropped after: nothing else in the database is touched), migrated;
    yields the home."""
    home = work / "home"
    os.environ["PUBDATA_HOME"] = str(home)
    from sqlalchemy import text

    from pubdata.db import forget_engine, get_engine, make_engine, migrate
    from pubdata.settings import get_settings

    postgres = bool(database_url and database_url.startswith("postgres"))
    if database_url and postgres:
        admin = make_engine(database_url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
        admin.dispose()
        sep = "&" if "?" in database_url else "?"
        database_url = f"{database_url}{sep}options=-csearch_path%3D{schema}"
    if database_url:
        os.environ["PUBDATA_DATABASE_URL"] = database_url
    forget_engine()
    get_settings.cache_clear()
    migrate()
    yield home
    if postgres:
        with get_engine().begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    get_engine().dispose()


@contextmanager
def platform_with_facts(
    work: Path, facts: Path, enterprises: int, year: int, database_url: str | None, schema: str
) -> Iterator[Path]:
    """``fresh_platform`` with ``facts`` published as facts version 1; yields the home."""
    from pubdata.db import session_scope
    from pubdata.enterprise import files
    from pubdata.enterprise.models import EnterpriseFactsVersion

    with fresh_platform(work, database_url, schema) as home:
        target = files.facts_file(home, 1)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(facts, target)
        with session_scope() as s:
            s.add(EnterpriseFactsVersion(number=1, year=year, enterprises=enterprises, sources={}, built_via="bench"))
        yield home

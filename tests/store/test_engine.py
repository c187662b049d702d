"""The process's DuckDB connections: opened once each and kept (with their Parquet footer caches)."""

from __future__ import annotations

from pubdata.store import engine


def test_page_and_main_cursors_alternate_without_reopening_a_connection():
    for page in (True, False, True, False):
        engine.cursor(page=page).close()
    opened = engine._connection.cache_info().misses
    for page in (True, False, True, False, True):
        engine.cursor(page=page).close()
    assert engine._connection.cache_info().misses == opened  # both stayed open

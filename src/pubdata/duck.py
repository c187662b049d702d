"""The one factory of batch DuckDB connections: the in-memory connection a load, a facts build or a
match run writes with. Bounded by the read settings' memory limit and threads (or the caller's),
spilling into a directory of the job's own, and never loading or fetching an extension.

Reads go through the store's own engine (``store.engine``): one reader per process, confined
connections for SQL."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pubdata.settings import get_settings


def batch_connection(
    spill: Path, *, memory_limit: str | None = None, threads: int | None = None, keep_order: bool = False
) -> duckdb.DuckDBPyConnection:
    """A connection of the job's own. ``keep_order``: rows come out in the order they went in
    (a load keeps its file's row numbers); otherwise DuckDB may reorder for speed."""
    settings = get_settings()
    spill.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        ":memory:",
        config={
            "memory_limit": memory_limit or settings.duckdb_memory_limit,
            "threads": threads or settings.duckdb_threads,
            "temp_directory": str(spill),
            "preserve_insertion_order": keep_order,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )

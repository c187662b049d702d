"""The process's DuckDB connection. DuckDB runs the records side (the published Parquet versions):
one in-memory connection per process, a cursor per request or thread, bounded memory and threads.
Nothing is downloaded at run time: no extension autoloading or autoinstalling."""

from __future__ import annotations

import threading
from functools import lru_cache

import duckdb

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _connection(memory_limit: str, threads: int, temp_directory: str) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": memory_limit,
        "threads": threads,
        "temp_directory": temp_directory,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "preserve_insertion_order": False,
    }
    return duckdb.connect(":memory:", config=config)


def cursor(
    memory_limit: str = "4GB", threads: int = 2, temp_directory: str = "/tmp/pubdata-duckdb"
) -> duckdb.DuckDBPyConnection:
    """A cursor on the process's connection (cursors are cheap and safe to use from one thread each)."""
    with _lock:
        return _connection(memory_limit, threads, temp_directory).cursor()

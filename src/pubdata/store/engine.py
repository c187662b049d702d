"""The process's DuckDB connection for reading the store's published versions: one in-memory
connection per process, a cursor per query, bounded memory and threads, Parquet footers cached.
Nothing is downloaded at run time: no extension autoloading or autoinstalling.

``run`` executes one query under a time limit: a timer interrupts the cursor when it runs out, and
the caller gets ``QueryTimeout`` naming the limit.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import duckdb

from pubdata.errors import Invalid
from pubdata.settings import get_settings

_lock = threading.Lock()


class QueryTimeout(Invalid):
    code = "store.query_timeout"


class QueryFailed(Invalid):
    code = "store.query_failed"


@lru_cache(maxsize=1)
def _connection(memory_limit: str, threads: int) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": memory_limit,
        "threads": threads,
        "temp_directory": tempfile.gettempdir() + "/pubdata-duckdb",
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "enable_external_access": True,  # read_parquet of the store's own files; user SQL is checked
        # rows come back in file order without an ORDER BY: the rows API relies on it for _id paging
        "preserve_insertion_order": True,
    }
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET parquet_metadata_cache = true")  # a version's file never changes: keep its footer
    return con


PAGE_MEMORY_LIMIT = "1GB"


def cursor(*, page: bool = False) -> duckdb.DuckDBPyConnection:
    """A cursor on the process's connection (cursors are cheap; one per query and thread).

    ``page=True`` is for a page of rows read in file order (a scan that stops after the page): it
    runs on a second, single-threaded connection, because a second thread only decodes a row group
    the page won't need — measured twice as fast at 100M rows — and concurrent page requests then
    don't contend for the heavy queries' threads. Sorts, counts, exports and SQL use the main one."""
    settings = get_settings()
    with _lock:
        if page:
            return _connection(PAGE_MEMORY_LIMIT, 1).cursor()
        return _connection(settings.duckdb_memory_limit, settings.duckdb_threads).cursor()


def run(
    cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = (), *, timeout: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Execute ``sql`` on ``cur`` within ``timeout`` seconds (the setting when None); the cursor then
    holds the result to fetch."""
    limit = get_settings().query_timeout_s if timeout is None else timeout
    timer = threading.Timer(limit, cur.interrupt)
    timer.start()
    try:
        return cur.execute(sql, list(params))
    except duckdb.InterruptException:
        raise QueryTimeout(f"查询超过时间限制 {limit:g} 秒，已中止；请缩小范围或增加筛选条件") from None
    except duckdb.Error as exc:
        raise QueryFailed(f"查询失败：{str(exc).splitlines()[0]}") from None
    finally:
        timer.cancel()

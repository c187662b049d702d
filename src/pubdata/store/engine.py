"""The process's DuckDB connections for reading the store's published versions.

- The shared connection (``cursor``): one in-memory connection per process, a cursor per query,
  bounded memory and threads, Parquet footers cached. It runs only queries the platform builds itself
  (validated identifiers, values as parameters): row pages, counts, downloads, the sandbox.
- ``confined``: a connection for user SQL statements that can open nothing but the files the
  statement's read plans named — external access off, ``allowed_paths`` set to those files, the configuration
  locked before the statement runs. A statement that gets past the SQL checks still cannot read any
  other file, attach a database, install or load an extension, or change a setting.

Nothing is downloaded at run time: no extension autoloading or autoinstalling.

``run`` executes one statement under a time limit: a timer interrupts the cursor when it runs out,
and the caller gets ``QueryTimeout`` naming the limit. ``deadline`` does the same for a streamed
result (downloads). An error from DuckDB reaches the caller as ``QueryFailed`` with a category only
(its text can carry row values, e.g. the string a cast failed on, and the generated query with
server paths); the full text goes to the server log.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from pubdata.errors import Invalid, PubdataError
from pubdata.settings import get_settings

_lock = threading.Lock()
log = logging.getLogger("pubdata.store.engine")


class QueryTimeout(Invalid):
    code = "store.query_timeout"


class QueryFailed(Invalid):
    """The statement cannot run as written (a cast, a name, the syntax, a permission): the caller's."""

    code = "store.query_failed"


class StoreFault(PubdataError):
    """DuckDB failed for a reason of the server's (a file it could not read, an internal error): a
    500, not the caller's fault; the full text is in the server log."""

    status = 500
    code = "store.fault"


# DuckDB's error classes → what the caller is told (a category, never the engine's text).
_CATEGORIES: tuple[tuple[type[Exception], str, str], ...] = (
    (duckdb.ConversionException, "conversion", "类型转换失败：某个值无法转换为目标类型（请检查 CAST 与比较的类型）"),
    (duckdb.OutOfRangeException, "out_of_range", "数值超出范围"),
    (duckdb.BinderException, "binding", "字段、表或函数引用无效（请检查名称与参数类型）"),
    (duckdb.CatalogException, "catalog", "引用了不存在的表或函数"),
    (duckdb.ParserException, "syntax", "SQL 语法错误"),
    (duckdb.PermissionException, "permission", "不允许的操作：查询只能读取已授权的数据资源"),
    (duckdb.OutOfMemoryException, "resources", "查询所需内存超出限制；请缩小范围或增加筛选条件"),
    (duckdb.InvalidInputException, "invalid_input", "查询的输入无效（例如正则表达式或函数参数）"),
    (duckdb.NotImplementedException, "not_supported", "查询使用了不支持的功能"),
)


_MISSING_COLUMN = re.compile(r'Referenced column "([^"]{1,200})" not found')


_SERVER_FAULTS = (duckdb.IOException, duckdb.InternalException, duckdb.FatalException, duckdb.SerializationException)


def failure(exc: duckdb.Error, *, sql: str = "") -> QueryFailed | StoreFault:
    """The caller-facing error for a DuckDB error: its category, logged in full for the operator."""
    log.warning("DuckDB statement failed: %s | %s", str(exc).replace("\n", " ")[:2000], sql[:2000])
    if isinstance(exc, duckdb.BinderException):
        # a name the caller wrote that the readable columns don't have: safe to repeat (only the name)
        missing = _MISSING_COLUMN.search(str(exc))
        if missing:
            return _failed("binding", f"字段不存在或未获授权：{missing.group(1)}")
    # a store file DuckDB could not read (missing, truncated): callers never name files, so a message
    # about one is the server's problem, whatever class DuckDB gives it
    ours = isinstance(exc, duckdb.InvalidInputException) and ".parquet" in str(exc)
    if not ours:
        for kind, category, message in _CATEGORIES:
            if isinstance(exc, kind):
                return _failed(category, message)
    if ours or isinstance(exc, _SERVER_FAULTS):
        return server_fault(f"DuckDB {type(exc).__name__}")
    return _failed("execution", "执行出错（详情已记入服务器日志）")


def server_fault(why: str) -> StoreFault:
    """A ``StoreFault`` for the caller (no detail), ``why`` logged for the operator."""
    log.error("store fault: %s", why)
    text = "查询失败：服务器读取数据时出错（已记入服务器日志，请稍后重试或联系运营方）"
    return StoreFault(text, details=[{"field": None, "message": text, "category": "server"}])


def _failed(category: str, message: str) -> QueryFailed:
    text = f"查询失败：{message}"
    return QueryFailed(text, details=[{"field": None, "message": text, "category": category}])


@lru_cache(maxsize=8)  # the main and the page connection (maxsize=1 reopened them in turn, losing the footers)
def _connection(memory_limit: str, threads: int) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": memory_limit,
        "threads": threads,
        "temp_directory": tempfile.gettempdir() + "/pubdata-duckdb",
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        # read_parquet of the store's own files; this connection runs only queries the platform builds
        # (user SQL text runs on ``confined`` connections)
        "enable_external_access": True,
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
    with deadline(cur, timeout, sql=sql):
        return cur.execute(sql, list(params))


@contextmanager
def deadline(cur: duckdb.DuckDBPyConnection, timeout: float | None = None, *, sql: str = "") -> Iterator[None]:
    """Interrupt whatever ``cur`` runs inside the block after ``timeout`` seconds (the query time
    limit when None); DuckDB's errors leave it as ``QueryTimeout`` or a categorised ``QueryFailed``."""
    limit = get_settings().query_timeout_s if timeout is None else timeout
    timer = threading.Timer(limit, cur.interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    except duckdb.InterruptException:
        raise QueryTimeout(f"查询超过时间限制 {limit:g} 秒，已中止；请缩小范围或增加筛选条件") from None
    except duckdb.Error as exc:
        raise failure(exc, sql=sql) from None
    finally:
        timer.cancel()


CONFINED_CONNECTIONS = 16
_confined: OrderedDict[tuple[str, ...], duckdb.DuckDBPyConnection] = OrderedDict()
_confined_lock = threading.Lock()


@contextmanager
def confined(paths: Iterable[Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor for one user SQL statement on a connection that can open exactly ``paths`` (the read
    plans' files) and nothing else: external access off, those paths allowed, the configuration
    locked. Connections are kept per set of paths (the last ``CONFINED_CONNECTIONS`` sets), so a
    statement over the same files reuses one and its cached Parquet footers: reuse is safe because
    the set allowed is exactly the set the statement's plans named."""
    key = tuple(sorted({str(Path(p)) for p in paths}))
    with _confined_lock:  # its own lock: opening one (~20–30 ms) must not hold up the page cursors
        con = _confined.get(key)
        if con is None:
            con = _confined[key] = _confined_connection(key)
            while len(_confined) > CONFINED_CONNECTIONS:
                _confined.popitem(last=False)  # closed when its last cursor is (DuckDB counts them)
        _confined.move_to_end(key)
        cur = con.cursor()
    try:
        yield cur
    finally:
        cur.close()


def _confined_connection(allowed: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    settings = get_settings()
    con = duckdb.connect(
        ":memory:",
        config={
            "memory_limit": settings.duckdb_memory_limit,
            "threads": settings.duckdb_threads,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "preserve_insertion_order": True,
        },
    )
    # the order matters: paths are allowed before external access is switched off, then nothing
    # (these settings included) can be changed by a statement
    con.execute("SET parquet_metadata_cache = true")
    con.execute("SET allowed_paths = ?", [list(allowed)])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con

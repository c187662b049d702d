"""Pages of rows in file order (``_id`` order, the default), served from decoded row groups.

A page in file order needs the first matching rows from some starting row on. DuckDB answers it by
decoding at least a whole row group of every column and then some (~10–30 ms at 122,880 rows a
group, however small the page). Here the row groups a page touches are decoded once, by pyarrow,
column by column, and kept in a bounded cache (``PUBDATA_PAGE_CACHE_MB``; a version's file never
changes, so a cached column never goes stale); filters are evaluated with Arrow compute on slices
of a group that grow as they go, stopping as soon as the page is full, and the page's rows are
taken from the cached columns. A page of a group already in memory costs well under a millisecond.

Only what this module evaluates exactly as the SQL path would comes here (``store.query.rows`` decides):
the table's own columns (no masks, no contract row filter), no text search, the operators eq, ne,
gt, gte, lt, lte, in, prefix, isnull, on text, integer, year, amount (decimal), date, datetime and
boolean fields with values representable in the column's type. ``conditions`` returns None for
anything else, and the page goes through SQL. A page reads at most ``COLD_GROUPS`` row groups that
are not in memory yet; then ``scan`` reports where it stopped and the caller lets DuckDB continue
from there (it prunes row groups by statistics and scans in parallel: the right tool for a sparse
filter over the rest of a large table). Groups whose min/max statistics rule a condition out are
skipped without decoding, as DuckDB would.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pubdata.settings import get_settings
from pubdata.store.query import text_search
from pubdata.store.read import ROW_NUMBER  # the 0-based file row number, as in the plan's relation

COLD_GROUPS = 2  # row groups a page may decode before DuckDB takes over
# A page whose rows lie in more batches of the rows file than this decodes the row group's columns
# instead: a batch costs about five times as much per row (its buffers' fixed costs), so 32 batches of
# 512 rows cost well under a 122,880-row group (at 2M rows: a sparse filter's 100 rows in ~100
# batches took 27-34 ms, the group 19-21 ms).
ROWS_FILE_BATCHES = 32
FIRST_SLICE = 4096  # rows of the first slice a filter is evaluated on; each next slice doubles
_TYPES: dict[str, Callable[[pa.DataType], bool]] = {
    "string": pa.types.is_string,
    "any": pa.types.is_string,
    "integer": pa.types.is_int64,
    "year": pa.types.is_int32,
    "number": pa.types.is_decimal,  # amounts; doubles (NaN orders differently in DuckDB) take SQL
    "date": pa.types.is_date32,
    "datetime": lambda t: pa.types.is_timestamp(t) and t.tz is None,
    "boolean": pa.types.is_boolean,
}
_COMPARE = {
    "eq": pc.equal, "ne": pc.not_equal, "gt": pc.greater, "gte": pc.greater_equal,
    "lt": pc.less, "lte": pc.less_equal,
}  # fmt: skip
_FALSE = pa.scalar(False)
_DICTIONARY_ENCODINGS = {"PLAIN_DICTIONARY", "RLE_DICTIONARY", "RLE", "BIT_PACKED"}  # RLE: levels
_STATS_TYPES = ("integer", "year", "number", "date", "datetime")


@dataclass(frozen=True)
class Condition:
    """One filter on a column (or on ``_rn``), with its value(s) as Arrow scalars of the column's type."""

    column: str
    op: str
    value: Any  # a pa.Scalar; a pa.Array for "in"; a str for "prefix"; a bool for "isnull"
    ranged: bool = False  # whether row-group min/max statistics may rule it out

    def mask(self, values: pa.Array) -> pa.Array:
        if self.op == "isnull":
            return pc.is_null(values) if self.value else pc.is_valid(values)
        if isinstance(values, pa.DictionaryArray):  # tested on the distinct values, then mapped to the rows
            return self.mask(values.dictionary).take(values.indices)
        if self.op == "in":
            return pc.is_in(values, value_set=self.value)
        if self.op == "prefix":
            return pc.starts_with(values, self.value)
        return _COMPARE[self.op](values, self.value)

    def may_match(self, low: Any, high: Any) -> bool:
        """Whether a row group whose values lie in [low, high] may hold a match."""
        if not self.ranged:
            return True
        values = self.value.to_pylist() if self.op == "in" else [self.value.as_py()]
        if self.op in ("eq", "in"):
            return any(low <= v <= high for v in values)
        v = values[0]
        return {"gt": high > v, "gte": high >= v, "lt": low < v, "lte": low <= v}.get(self.op, True)


def conditions(info: Layout, filters: list[tuple[str, str, str, Any]]) -> list[Condition] | None:
    """Filters (column or ``_rn``, Table Schema type, op, typed value or values) as conditions on the
    file's columns, or None when one of them can't be evaluated here exactly (the page takes SQL)."""
    schema = info.arrow_schema
    out = []
    for column, kind, op, value in filters:
        arrow_type = pa.int64() if column == ROW_NUMBER else schema.field(column).type
        if column != ROW_NUMBER and not _TYPES.get(kind, lambda t: False)(arrow_type):
            return None
        if op == "isnull":
            out.append(Condition(column, op, bool(value)))
            continue
        if op == "prefix":
            if not isinstance(value, str):
                return None
            out.append(Condition(column, op, value))
            continue
        if op not in _COMPARE and op != "in":
            return None
        values = value if op == "in" else [value]
        scalars = [s for s in (_scalar(v, arrow_type) for v in values) if s is not None]
        if len(scalars) != len(values):
            return None
        converted = pa.array([s.as_py() for s in scalars], arrow_type) if op == "in" else scalars[0]
        ranged = (column == ROW_NUMBER or kind in _STATS_TYPES) and op != "ne"
        out.append(Condition(column, op, converted, ranged=ranged))
    return out


def _scalar(value: Any, arrow_type: pa.DataType) -> pa.Scalar | None:
    """The value as a scalar of the column's type, if it is exactly one (else None: SQL decides)."""
    expected: tuple[type, ...] = {
        "string": (str,), "int64": (int,), "int32": (int,), "bool": (bool,), "date32[day]": (date,),
    }.get(str(arrow_type), ())  # fmt: skip
    if pa.types.is_decimal(arrow_type):
        expected = (Decimal, int)
    elif pa.types.is_timestamp(arrow_type):
        expected = (datetime,)
    if not isinstance(value, expected) or isinstance(value, bool) != (arrow_type == pa.bool_()):
        return None
    if isinstance(value, datetime) and (value.tzinfo is not None or pa.types.is_date32(arrow_type)):
        return None  # an aware time, or a time against a date: SQL's casts decide
    try:
        scalar = pa.scalar(value, arrow_type)  # typed: no inference (which imports on every call)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        return None
    return scalar if scalar.as_py() == value else None  # e.g. a time finer than the column's unit


# --- the file's layout and the cache of decoded columns ---------------------------------------------


@dataclass(frozen=True)
class Layout:
    key: tuple[Any, ...]  # the file's path and identity (inode, mtime, size): what the caches key on
    metadata: pq.FileMetaData
    arrow_schema: pa.Schema
    starts: tuple[int, ...]  # the first row of each row group, then the total

    @property
    def rows(self) -> int:
        return self.starts[-1]

    def group_of(self, row: int) -> int:
        return bisect.bisect_right(self.starts, row) - 1

    def dictionary_coded(self, group: int, column: str) -> bool:
        """Whether the group's chunk of a text column is dictionary-encoded throughout (a writer falls
        back to plain values when a chunk has too many distinct ones)."""
        if not pa.types.is_string(self.arrow_schema.field(column).type):
            return False
        chunk = self.metadata.row_group(group).column(self.metadata.schema.names.index(column))
        return chunk.has_dictionary_page and not set(chunk.encodings) - _DICTIONARY_ENCODINGS

    def may_match(self, group: int, conds: list[Condition]) -> bool:
        """False when a condition's min/max statistics show the group holds no match."""
        meta = self.metadata.row_group(group)
        names = self.metadata.schema.names
        for cond in conds:
            if cond.column == ROW_NUMBER:
                if not cond.may_match(self.starts[group], self.starts[group + 1] - 1):
                    return False
                continue
            if not cond.ranged:
                continue
            stats = meta.column(names.index(cond.column)).statistics
            if stats is None or not stats.has_min_max:
                continue
            low, high = stats.min, stats.max
            if type(low) is not type(cond.value.as_py() if cond.op != "in" else cond.value[0].as_py()):
                continue  # statistics in a physical representation: no conclusion
            if not cond.may_match(low, high):
                return False
        return True


_layout_lock = threading.Lock()


@lru_cache(maxsize=256)
def _layout_of(key: tuple[Any, ...]) -> Layout:
    metadata = pq.ParquetFile(key[0]).metadata
    starts = [0]
    for i in range(metadata.num_row_groups):
        starts.append(starts[-1] + metadata.row_group(i).num_rows)
    return Layout(key, metadata, metadata.schema.to_arrow_schema(), tuple(starts))


def layout(path: Path) -> Layout:
    """The file's footer and row-group starts, read once per file. A published version's file never
    changes, but the key includes the file's identity all the same, so a data home rebuilt under a
    running server (``pubdata demo`` again) can't serve another file's rows."""
    st = path.stat()
    with _layout_lock:
        return _layout_of((str(path), st.st_ino, st.st_mtime_ns, st.st_size))


class _ColumnCache:
    """Decoded columns of row groups, least recently used first out, within a byte budget."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[Any, ...], pa.Array] = OrderedDict()  # (file key, group, column)
        self._bytes = 0
        self._lock = threading.Lock()

    def missing(self, info: Layout, group: int, columns: list[str]) -> list[str]:
        with self._lock:
            return [c for c in columns if (info.key, group, c) not in self._items]

    def get(self, info: Layout, group: int, columns: list[str], *, filtering: bool = False) -> dict[str, pa.Array]:
        """The group's columns, decoding those not in memory (outside the lock: a slow decode
        doesn't hold up pages of other groups). ``filtering``: for conditions only, never kept nor
        returned as a page's values — text columns are then decoded as dictionaries (a dictionary-encoded
        chunk reads about four times as fast so; ``Condition.mask`` tests the distinct values)."""
        out: dict[str, pa.Array] = {}
        with self._lock:
            for c in columns:
                item = self._items.get((info.key, group, c))
                if item is not None:
                    self._items.move_to_end((info.key, group, c))
                    out[c] = item
        wanted = [c for c in columns if c not in out]
        if wanted:
            texts = [c for c in wanted if info.dictionary_coded(group, c)] if filtering else []
            f = pq.ParquetFile(info.key[0], metadata=info.metadata, read_dictionary=texts or None)
            table = f.read_row_group(group, columns=wanted)
            decoded = {c: _as_duckdb_reads(table.column(c).combine_chunks()) for c in wanted}
            out |= decoded
            if not filtering:
                self._put(info, group, decoded)
        return out

    def _put(self, info: Layout, group: int, columns: dict[str, pa.Array]) -> None:
        budget = get_settings().page_cache_mb * 1024 * 1024
        with self._lock:
            for c, values in columns.items():
                key = (info.key, group, c)
                if key in self._items:
                    continue
                self._items[key] = values
                self._bytes += values.nbytes
            while self._bytes > budget and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


cache = _ColumnCache()


def _as_duckdb_reads(values: pa.Array) -> pa.Array:
    """The Arrow type DuckDB gives the same column (it names UTC ``Etc/UTC``), so a page is the same
    whichever way it was read."""
    if pa.types.is_timestamp(values.type) and values.type.tz == "UTC":
        return values.cast(pa.timestamp(values.type.unit, "Etc/UTC"))
    return values


# --- scanning ---------------------------------------------------------------------------------------


@dataclass
class Scan:
    """What a scan found: the page's rows (``_rn`` and the asked columns, in file order) and, when it
    stopped before the page was full, the file row to continue from and what is still owed."""

    table: pa.Table
    resume_at: int | None = None
    still_skip: int = 0  # matches still to skip (the page's offset) after resume_at
    still_take: int = 0  # matches still to take after resume_at


def _rows_source(info: Layout) -> Path | None:
    """The version's rows file (``text_search.rows_file``), when a page takes its rows from there: only
    when the page cache keeps nothing (``PUBDATA_PAGE_CACHE_MB=0``). A page then decodes the filter
    columns of its row groups and one 512-row batch per stretch of rows it returns, instead of every
    column of a 122,880-row group for 100 rows; with a cache, the decoded group serves the next pages."""
    if get_settings().page_cache_mb > 0:
        return None
    return text_search.rows_file(Path(info.key[0]))


def scan(info: Layout, columns: list[str], conds: list[Condition], *, skip: int, limit: int) -> Scan:
    """The matches of ``conds`` in file order, skipping ``skip`` of them and taking ``limit``."""
    filter_columns = [c for c in dict.fromkeys(c.column for c in conds) if c != ROW_NUMBER]
    source = _rows_source(info)
    needed = filter_columns if source else list(dict.fromkeys(filter_columns + columns))
    parts: list[pa.Table] = []
    cold = 0
    row = _first_row(conds)
    while limit > 0 and row < info.rows:
        group = info.group_of(row)
        if not info.may_match(group, conds):
            row = info.starts[group + 1]
            continue
        if cache.missing(info, group, needed):
            if cold == COLD_GROUPS:
                return Scan(_concat(parts, info, columns), row, skip, limit)
            cold += 1
        found, skip, limit = _scan_group(info, group, row, needed, columns, conds, skip, limit, source)
        if found is not None:
            parts.append(found)
        row = info.starts[group + 1]
    return Scan(_concat(parts, info, columns))


def _first_row(conds: list[Condition]) -> int:
    """Where the scan starts: after the ``_rn`` lower bounds (an ``_id`` filter, the cursor)."""
    start = 0
    for cond in conds:
        if cond.column == ROW_NUMBER and cond.op in ("gt", "gte", "eq"):
            start = max(start, cond.value.as_py() + (1 if cond.op == "gt" else 0))
    return start


def _scan_group(
    info: Layout,
    group: int,
    row: int,
    needed: list[str],
    columns: list[str],
    conds: list[Condition],
    skip: int,
    limit: int,
    source: Path | None = None,
) -> tuple[pa.Table | None, int, int]:
    """Matches in one row group from file row ``row`` on; returns them and what is still to skip
    and take. Filters are evaluated on slices that double in size, so a page stops soon after it
    is full whether its filter matches often or rarely. ``source``: the rows file the matches'
    ``columns`` are read from (``needed`` then holds the filter columns only)."""
    group_start, size = info.starts[group], info.starts[group + 1] - info.starts[group]
    values = cache.get(info, group, needed, filtering=source is not None)
    at = row - group_start
    picked: list[pa.Array] = []
    if not conds:
        first = at + skip
        skip = max(0, first - size)
        if first < size:
            picked.append(pa.array(np.arange(first, min(size, first + limit), dtype=np.int64)))
            limit -= len(picked[0])
    step = FIRST_SLICE
    while conds and at < size and limit > 0:
        length = min(step, size - at)
        mask = None
        for cond in conds:
            if cond.column == ROW_NUMBER:
                part = pa.array(np.arange(group_start + at, group_start + at + length, dtype=np.int64))
            else:
                part = values[cond.column].slice(at, length)
            m = cond.mask(part)
            mask = m if mask is None else pc.and_(mask, m)
        hits = pc.indices_nonzero(pc.fill_null(mask, _FALSE))
        dropped = min(skip, len(hits))
        hits, skip = hits.slice(dropped, limit), skip - dropped
        if len(hits):
            picked.append(pc.add(hits.cast(pa.int64()), pa.scalar(at, pa.int64())))
            limit -= len(hits)
        at += length
        step *= 2
    if not picked:
        return None, skip, limit
    rows = pa.concat_arrays(picked)
    file_rows = pc.add(rows, pa.scalar(group_start, pa.int64()))
    taken = None
    if source is not None:
        taken = text_search.read_rows_file(source, file_rows.to_pylist(), columns, max_batches=ROWS_FILE_BATCHES)
    if taken is not None:
        out = {c: _as_duckdb_reads(taken.column(c).combine_chunks()) for c in columns}
    else:  # no rows file, or the rows are spread over too many of its batches
        if source is not None:  # ``values`` then holds the filter columns, decoded for filtering only
            values = cache.get(info, group, columns)
        out = {c: values[c].take(rows) for c in columns}
    return pa.table({ROW_NUMBER: file_rows, **out}), skip, limit


def _concat(parts: list[pa.Table], info: Layout, columns: list[str]) -> pa.Table:
    if parts:
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    schema = info.arrow_schema
    fields = [pa.field(ROW_NUMBER, pa.int64())]
    for c in columns:
        f = schema.field(c)
        empty = _as_duckdb_reads(pa.array([], f.type))
        fields.append(pa.field(c, empty.type))
    return pa.schema(fields).empty_table()

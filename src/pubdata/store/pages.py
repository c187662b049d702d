"""Reading a page of rows straight from the Parquet file when nothing needs SQL: the table's own
columns in file order, no filter but a starting ``_id``, no masks, no row filter. The page's rows
are located by the row groups' row counts in the file's footer and only they are decoded, so
browsing stays a few milliseconds deep into a 100-million-row table (DuckDB decodes at least a
whole row group per column and then some: ~30 ms for the same page). Anything else — filters,
sorts, contracts — goes through SQL in ``store.query``."""

from __future__ import annotations

import bisect
import threading
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_lock = threading.Lock()


@lru_cache(maxsize=256)
def _starts(path: Path) -> tuple[int, ...]:
    """The first row of each row group, then the total (a version's file never changes)."""
    meta = pq.ParquetFile(path).metadata
    starts = [0]
    for i in range(meta.num_row_groups):
        starts.append(starts[-1] + meta.row_group(i).num_rows)
    return tuple(starts)


def read_page(path: Path, columns: list[str], start: int, limit: int) -> pa.Table:
    """Rows ``start`` … ``start + limit - 1`` (0-based file rows) of ``columns``; fewer at the end."""
    with _lock:
        starts = _starts(path)
    total = starts[-1]
    if start >= total or limit <= 0:
        return _as_duckdb_reads(pq.ParquetFile(path).schema_arrow.empty_table().select(columns))
    parts: list[pa.Table] = []
    f = pq.ParquetFile(path)
    group = bisect.bisect_right(starts, start) - 1
    wanted = min(limit, total - start)
    skip = start - starts[group]
    while wanted > 0:
        in_group = starts[group + 1] - starts[group]
        take = min(wanted, in_group - skip)
        # batches of skip + take rows: only the pages holding them are decoded
        batches = f.iter_batches(batch_size=max(skip + take, 1), row_groups=[group], columns=columns)
        first = next(batches)
        parts.append(pa.Table.from_batches([first]).slice(skip, take))
        wanted -= take
        group += 1
        skip = 0
    table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    return _as_duckdb_reads(table)


def _as_duckdb_reads(table: pa.Table) -> pa.Table:
    """The Arrow types DuckDB gives the same columns (it names UTC ``Etc/UTC``), so a page is the
    same whichever way it was read."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and f.type.tz == "UTC":
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp(f.type.unit, "Etc/UTC")))
    return table

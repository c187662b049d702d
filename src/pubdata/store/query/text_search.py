"""``q`` answered from a version's text index (``store/ingest/text_index.py``) instead of a scan of
every text value.

A word is looked up in the dictionary of each searched column (``contains(value, lower(word))`` over
the distinct lowercased values, exactly the scan's test), and the matching rows are those whose value
id, in the codes file, is one of the matches: a scan of small integers in file order that stops after
the page. The result is the scan's, row for row. A word with a Chinese character skips the columns the
index recorded as ASCII-only (ID numbers, codes): no such value can contain it.

What the caller's plan does not show is never searched:

- only the plan's visible text columns are looked up (a column outside the contract is not in the
  condition, so a word found only there matches nothing);
- when a visible text column is masked, ``q`` must match the masked text (张*), never the value behind
  the mask, so the index (of raw values) is not used and the plan's relation is scanned as before;
- the index finds candidate row numbers only: rows are then read through the plan's relation, so a
  contract's row filter still removes what it removes; the shortcuts that skip the relation (a page
  of row numbers, a total from the dictionary's counts) are taken only when the plan has no row filter.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from pubdata.store import engine, files
from pubdata.store.ingest.semantic import quote_identifier, sql_literal
from pubdata.store.ingest.text_index import ASCII_KEY, ROWS_BATCH_KEY, TEXT_TYPES
from pubdata.store.read import ReadPlan


@dataclass(frozen=True)
class TextMatch:
    """The rows a ``q`` matches, as a condition over the version's codes file."""

    codes: str  # a relation of the codes with ``file_row_number``
    condition: str  # over ``codes``; "FALSE" when some word matches no value at all
    params: list[Any] = field(default_factory=list)
    known_total: int | None = None  # matching rows from the dictionary's counts (one word in one column)
    joined: bool = False  # the condition joins the dictionary (too many values to list): no scan order

    def page_order(self) -> str:
        """What a page over the codes needs to come in file order."""
        return " ORDER BY file_row_number" if self.joined else ""

    @property
    def empty(self) -> bool:
        return self.condition == "FALSE"

    def row_numbers_sql(self) -> str:
        """A subquery of the matching file row numbers (the relation's ``_rn``)."""
        return f"(SELECT file_row_number FROM {self.codes} WHERE {self.condition})"


@dataclass(frozen=True)
class _Index:
    columns: frozenset[str]  # the text columns the index covers
    ascii_only: frozenset[str]  # those holding only ASCII text (none known for an index built before this)


@lru_cache(maxsize=4096)
def _indexed(codes: Path) -> _Index | None:
    """What a version's index covers (None: the version has no index). Versions never change."""
    if not codes.is_file():
        return None
    schema = pq.read_schema(codes)
    ascii_only = json.loads((schema.metadata or {}).get(ASCII_KEY, b"[]"))
    return _Index(frozenset(schema.names), frozenset(ascii_only))


def _caseless_non_ascii(text: str) -> bool:
    """Whether ``text`` keeps a non-ASCII character whatever ``lower`` does: it has a letter without
    case (a Chinese character; category Lo) or a non-ASCII digit (full-width 3), which no lowercasing
    maps to ASCII. Such a word cannot be a substring of ASCII text."""
    return any(ord(c) > 127 and unicodedata.category(c) in ("Lo", "Nd") for c in text)


def lookup(plan: ReadPlan, q: str | dict[str, str] | None) -> TextMatch | None:
    """The index's answer to ``q`` under ``plan``, or None when the scan must answer it: the version
    has no index, a searched column is masked or not indexed, or ``q`` names a column that is not a
    visible text column (the scan then names the problem)."""
    if not q:
        return None
    version_dir = plan.path.parent
    codes_path = version_dir / files.TEXT_CODES_FILE
    indexed = _indexed(codes_path)
    if indexed is None:
        return None
    visible = {f.name: f for f in plan.fields}

    def searchable(name: str) -> bool:
        f = visible.get(name)
        return (
            f is not None
            and f.type in TEXT_TYPES
            and name not in plan.masks
            and plan.schema.field(name).type in TEXT_TYPES
            and name in indexed.columns
        )

    if isinstance(q, dict):
        needles = [(str(text), [name]) for name, text in q.items()]
    else:
        columns = [f.name for f in plan.fields if f.type in TEXT_TYPES]
        needles = [(word, columns) for word in q.split()]
        if not columns or not needles:
            return None
    if not all(searchable(name) for _, names in needles for name in names):
        return None
    # a word with a Chinese character is not looked up in the dictionaries of ASCII-only columns
    needles = [
        (text, [n for n in names if n not in indexed.ascii_only] if _caseless_non_ascii(text) else names)
        for text, names in needles
    ]
    terms = f"read_parquet({sql_literal(str(version_dir / files.TEXT_TERMS_FILE))})"
    codes = f"read_parquet({sql_literal(str(codes_path))}, file_row_number = true)"
    found = _matches(terms, needles)
    conditions: list[str] = []
    params: list[Any] = []
    joined = False
    for i, (text, names) in enumerate(needles):
        hit = [name for name in names if (i, name) in found]
        if not hit:
            return TextMatch(codes=codes, condition="FALSE")
        ors = []
        for name in hit:
            col, ranges = quote_identifier(name), found[i, name][1]
            if ranges is not None:  # a plain filter on the scan: rows stay in file order, the scan stops early
                singles = [lo for lo, hi in ranges if lo == hi]
                if singles:
                    ors.append(f"{col} IN ({', '.join(str(int(v)) for v in singles)})")
                ors += [f"{col} BETWEEN {int(lo)} AND {int(hi)}" for lo, hi in ranges if lo != hi]
            else:
                ors.append(f"{col} IN (SELECT vid FROM {terms} WHERE col = ? AND contains(value, lower(?)))")
                params += [name, text]
                joined = True
        conditions.append("(" + " OR ".join(ors) + ")")
    # one word found in one column: its values' row counts add up (a row holds one value per column)
    known = list(found.values())[0][0] if len(needles) == 1 and len(found) == 1 else None
    return TextMatch(codes=codes, condition=" AND ".join(conditions), params=params, known_total=known, joined=joined)


# Matching values are written into the condition as runs of consecutive ids: a dictionary is sorted,
# so the values a prefix matches are one run (every ID number starting 370203), found from the ids'
# min, max and count without listing them; other matches are listed when at most this many values,
# and joined from the dictionary when more.
LISTED_VALUES = 2000


def _matches(
    terms: str, needles: list[tuple[str, list[str]]]
) -> dict[tuple[int, str], tuple[int, list[tuple[int, int]] | None]]:
    """(needle, column) → (rows holding a matching value, the matching ids as runs ``(first, last)``,
    or None when they must be joined), for the pairs with any match."""
    parts = []
    params: list[Any] = []
    # One part per (word, column), each with ``col = ?``: the dictionary is sorted by column, so the
    # row groups' statistics leave every other column's values unread (``col IN (…)`` reads them all).
    for i, (text, names) in enumerate(needles):
        for name in names:
            parts.append(
                f"SELECT {i} AS i, col, sum(n) AS n, min(vid), max(vid), count(*), "
                f"CASE WHEN count(*) <= {LISTED_VALUES} THEN list(vid ORDER BY vid) END FROM {terms} "
                f"WHERE col = ? AND contains(value, lower(?)) GROUP BY col"
            )
            params += [name, text]
    if not parts:
        return {}
    cur = engine.cursor()
    try:
        rows = engine.run(cur, " UNION ALL ".join(parts), params).fetchall()
    finally:
        cur.close()
    found: dict[tuple[int, str], tuple[int, list[tuple[int, int]] | None]] = {}
    for i, col, n, first, last, values, vids in rows:
        runs: list[tuple[int, int]] | None = None
        if last - first + 1 == values:  # distinct ids: as many as the span means every id in it
            runs = [(int(first), int(last))]
        elif vids is not None:
            runs = []
            for v in vids:
                if runs and runs[-1][1] == v - 1:
                    runs[-1] = (runs[-1][0], int(v))
                else:
                    runs.append((int(v), int(v)))
        found[int(i), str(col)] = (int(n), runs)
    return found


def page_row_numbers(match: TextMatch, *, after: int | None, offset: int, limit: int) -> list[int]:
    """The file row numbers of one page of matches in file order (after row ``after`` when a cursor
    continues), from the codes alone. Only for a plan without a row filter or other filters. On the
    single-threaded page connection: a parallel scan's LIMIT may take rows of a later row group."""
    if match.empty or limit == 0:
        return []
    condition, params = match.condition, list(match.params)
    if after is not None:
        condition, params = f"file_row_number > ? AND {condition}", [after, *params]
    cur = engine.cursor(page=True)
    try:
        sql = (
            f"SELECT file_row_number FROM {match.codes} WHERE {condition}{match.page_order()} "
            f"LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        return [int(r[0]) for r in engine.run(cur, sql, params).fetchall()]
    finally:
        cur.close()


def count(match: TextMatch) -> int:
    """How many rows match (only for a plan without a row filter or other filters)."""
    if match.empty:
        return 0
    if match.known_total is not None:
        return match.known_total
    cur = engine.cursor()
    try:
        row = engine.run(cur, f"SELECT count(*) FROM {match.codes} WHERE {match.condition}", match.params).fetchone()
    finally:
        cur.close()
    return int(row[0]) if row else 0


def rows_file(data: Path) -> Path | None:
    """The rows file next to a version's data file, if the version has one."""
    path = data.parent / files.TEXT_ROWS_FILE
    return path if path.is_file() else None


@overload
def read_rows_file(path: Path, numbers: list[int], names: list[str] | None = None) -> pa.Table: ...
@overload
def read_rows_file(
    path: Path, numbers: list[int], names: list[str] | None = None, *, max_batches: int
) -> pa.Table | None: ...
def read_rows_file(
    path: Path, numbers: list[int], names: list[str] | None = None, *, max_batches: int | None = None
) -> pa.Table | None:
    """The rows numbered ``numbers`` (file row numbers, ascending) of a rows file, with the columns
    ``names`` (all when None): one batch (of the size the file says it was written with) decoded per
    batch the rows fall in, instead of a row group of the data file. None when the rows fall in more
    than ``max_batches`` batches (decoding the row group is then cheaper)."""
    with pa.memory_map(str(path)) as source:
        schema = ipc.open_file(source).schema
        size = int(schema.metadata[ROWS_BATCH_KEY])
        within: dict[int, list[int]] = {}  # batch → the rows' places in it: each batch decoded once
        for n in numbers:
            within.setdefault(n // size, []).append(n % size)
        if max_batches is not None and len(within) > max_batches:
            return None
        keep = [i for i, n in enumerate(schema.names) if names is None or n in names]
        reader = ipc.open_file(source, options=ipc.IpcReadOptions(included_fields=keep, use_threads=False))
        parts = [reader.get_batch(b).take(pa.array(at, pa.int32())) for b, at in within.items()]
        return pa.Table.from_batches(parts, schema=reader.schema).combine_chunks()


def register_rows(cur: duckdb.DuckDBPyConnection, plan: ReadPlan, numbers: list[int]) -> str | None:
    """The rows numbered ``numbers`` (file row numbers, ascending) from the version's rows file,
    registered on ``cur`` as a view with the data file's columns and ``file_row_number``: the source
    for ``plan.relation_over``, which masks and filters them as it does the data file. None when the
    version has no rows file (an index built before it existed): the data file is read instead."""
    path = rows_file(plan.path)
    if path is None:
        return None
    # the visible columns (all of them if a row filter may name others)
    names = None if plan.row_filter_sql is not None else [f.name for f in plan.fields]
    table = read_rows_file(path, numbers, names)
    table = table.append_column("file_row_number", pa.array(numbers, pa.int64()))
    name = f"_text_rows_{id(table):x}"
    cur.register(name, table)
    return name

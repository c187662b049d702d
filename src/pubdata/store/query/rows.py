"""Row queries, through the read path: filters (equality, IN, ranges, prefix, null tests), ``q``
(every word must appear in some text column), ``fields``, ``sort``, paging by ``offset`` or by a keyset
``cursor``, and an exact ``total`` cached per version and filter. The page comes back as an Arrow table
that the interfaces render as JSON records, CSV or Parquet.

Every query ends with ``_id`` as the last sort key, so pages are deterministic and the cursor (the
last row's sort values and ``_id``) continues exactly where the page ended, in constant time however
deep the page. Values in filters and cursors are typed per the field and passed as parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.errors import Invalid
from pubdata.settings import get_settings
from pubdata.store import engine, table_schema
from pubdata.store.ingest.semantic import quote_identifier
from pubdata.store.query import pages, text_search
from pubdata.store.query.text_search import TextMatch
from pubdata.store.read import (
    ROW_ID,
    ROW_NUMBER,
    ReadPlan,
    RowsTaken,
    plan_read,
    record_read,
    rows_allowed,
    take_rows,
)

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "prefix", "isnull")
_COMPARE = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
RESERVED_PARAMS = ("limit", "offset", "sort", "fields", "q", "cursor", "total", "format", "version")
TEXT_TYPES = ("string", "any")
CKAN_TYPES = {
    "string": "text", "any": "text", "integer": "int", "year": "int", "number": "numeric",
    "boolean": "bool", "date": "date", "datetime": "timestamp",
}  # fmt: skip
BEIJING = "+08:00"  # record datetimes are Beijing civil time (see docs/store.md)


class InvalidQuery(Invalid):
    code = "store.invalid_query"


class OffsetTooDeep(InvalidQuery):
    """An ``offset`` beyond the rows API's limit: reaching it means reading and dropping every row
    before it (0.5–0.8 s at 5M), where a cursor continues in constant time."""

    code = "store.offset_too_deep"


# What one row query may ask for (named in the API document). Each filter value is bound as a DuckDB
# parameter, and binding costs ~0.1 ms a value (200,000 values: ~20 s before the scan starts), so the
# values of all filters together are bounded, an IN list counting each of its values.
MAX_FILTERS = 20
MAX_FILTER_VALUES = 1000
MAX_FIELDS = 1000  # as many as a table may have (table_schema.MAX_FIELDS)
MAX_SORT_KEYS = 10
MAX_Q_LENGTH = 500
MAX_CURSOR_LENGTH = 4096  # a cursor holds one row's sort values: never near this


@dataclass(frozen=True)
class Filter:
    field: str
    op: str = "eq"
    value: Any = None  # a list for "in"; a bool for "isnull"


@dataclass
class RowQuery:
    filters: list[Filter] = field(default_factory=list)
    q: str | dict[str, str] | None = None  # words anywhere, or {field: text} per column
    fields: list[str] | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int = 100
    offset: int = 0
    cursor: str | None = None
    include_total: bool = False
    version: int | None = None


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Table Schema type
    title: str | None = None

    @property
    def ckan_type(self) -> str:
        return CKAN_TYPES.get(self.type, "text")


@dataclass
class RowPage:
    plan: ReadPlan
    columns: list[Column]
    table: pa.Table
    total: int | None
    next_cursor: str | None
    limit: int
    offset: int
    sql: str = ""  # the query run, with its parameters (its digest is audited)
    quota: RowsTaken | None = None  # what the grant's row quota let this page return (None: not charged)

    def records(self) -> list[dict[str, Any]]:
        return records_of(self.table)

    def lists(self) -> list[list[Any]]:
        return [list(row) for row in zip(*_json_columns(self.table), strict=True)]

    def csv_bytes(self) -> bytes:
        return csv_bytes(self.table)

    def parquet_bytes(self) -> bytes:
        buffer = io.BytesIO()
        pq.write_table(self.table, buffer, compression="zstd")
        return buffer.getvalue()


def records_of(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (numbers as numbers, dates ISO, datetimes with +08:00)."""
    if table.num_columns == 0:
        return [{} for _ in range(table.num_rows)]
    names = table.column_names
    return [dict(zip(names, row, strict=True)) for row in zip(*_json_columns(table), strict=True)]


def _json_columns(table: pa.Table) -> list[list[Any]]:
    """Each column as JSON-ready Python values; only decimals and times need a conversion per value."""
    out = []
    for column in table.columns:
        if pa.types.is_date32(column.type):  # ISO dates straight from Arrow (the same text as isoformat)
            values = column.cast(pa.string()).to_pylist()
        else:
            values = column.to_pylist()
            if pa.types.is_decimal(column.type) or pa.types.is_temporal(column.type):
                values = [json_value(v) for v in values]
        out.append(values)
    return out


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, datetime):
        return value.isoformat() + BEIJING if value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_bytes(table: pa.Table, *, header: bool = True, bom: bool = True, delimiter: str = ",") -> bytes:
    """UTF-8 CSV (with a BOM, so Excel reads Chinese correctly, unless ``bom`` is false)."""
    buffer = io.BytesIO()
    if bom:
        buffer.write(b"\xef\xbb\xbf")
    options = pacsv.WriteOptions(include_header=header, quoting_style="needed", delimiter=delimiter)
    pacsv.write_csv(table, buffer, options)
    return buffer.getvalue()


# --- parsing request parameters -------------------------------------------------------------------


def check_filter_values(filters: dict[str, Any]) -> dict[str, Any]:
    """A filters object (``{field: value or [values]}``) carries at most ``MAX_FILTER_VALUES`` values
    in all (a pydantic validator: the sandbox's query model uses it)."""
    values = sum(len(v) if isinstance(v, list) else 1 for v in filters.values())
    if values > MAX_FILTER_VALUES:
        raise ValueError(_too_many_values(values))
    return filters


def _too_many_values(values: int) -> str:
    return f"筛选取值过多：一次查询的筛选最多 {MAX_FILTER_VALUES} 个取值（列表的每个值各算一个），实有 {values} 个"


def check_limits(query: RowQuery) -> None:
    """Refuse a query beyond the limits above (422, naming the limit) before any of it is typed or run."""
    if len(query.filters) > MAX_FILTERS:
        raise InvalidQuery(f"筛选条件过多：最多 {MAX_FILTERS} 个，实有 {len(query.filters)} 个", field="filters")
    values = sum(len(f.value) if isinstance(f.value, list) else 1 for f in query.filters)
    if values > MAX_FILTER_VALUES:
        raise InvalidQuery(_too_many_values(values), field="filters")
    if query.fields is not None and len(query.fields) > MAX_FIELDS:
        raise InvalidQuery(f"fields 最多 {MAX_FIELDS} 个字段名，实有 {len(query.fields)} 个", field="fields")
    if len(query.sort) > MAX_SORT_KEYS:
        raise InvalidQuery(f"排序字段过多：最多 {MAX_SORT_KEYS} 个，实有 {len(query.sort)} 个", field="sort")
    texts = list(query.q.values()) if isinstance(query.q, dict) else [query.q or ""]
    if isinstance(query.q, dict) and len(query.q) > MAX_FILTERS:
        raise InvalidQuery(f"q 最多按 {MAX_FILTERS} 个字段检索，实有 {len(query.q)} 个", field="q")
    length = sum(len(str(t)) for t in texts)
    if length > MAX_Q_LENGTH:
        raise InvalidQuery(f"q 过长：最多 {MAX_Q_LENGTH} 个字符，实有 {length} 个", field="q")
    if query.cursor and len(query.cursor) > MAX_CURSOR_LENGTH:
        raise InvalidQuery(f"cursor 过长：最多 {MAX_CURSOR_LENGTH} 个字符（请使用上一页返回的 cursor）", field="cursor")


def filters_from_params(params: Iterable[tuple[str, str]]) -> list[Filter]:
    """Filters from query-string pairs: ``field=value`` (equality) or ``field__op=value`` with op in
    eq, ne, gt, gte, lt, lte, in (comma-separated), prefix, isnull (true/false). Reserved parameter
    names (limit, sort, …) are skipped; filter such a column with ``name__eq``."""
    out: list[Filter] = []
    for key, value in params:
        if key in RESERVED_PARAMS or key.startswith("_") and key != ROW_ID and not key.startswith(ROW_ID + "__"):
            continue
        name, _, op = key.partition("__")
        op = op or "eq"
        if op not in OPERATORS:
            raise InvalidQuery(f"不支持的筛选运算：{op}（可用：{'、'.join(OPERATORS)}）", field=key)
        if op == "in":
            out.append(Filter(name, "in", [v for v in value.split(",")]))
        elif op == "isnull":
            if value.lower() not in ("true", "false", "1", "0"):
                raise InvalidQuery(f"isnull 的取值应为 true 或 false：{value}", field=key)
            out.append(Filter(name, "isnull", value.lower() in ("true", "1")))
        else:
            out.append(Filter(name, op, value))
    return out


def sort_from_param(text: str | None) -> list[tuple[str, bool]]:
    """``sort=a,-b`` or CKAN's ``a asc, b desc``."""
    out: list[tuple[str, bool]] = []
    for part in (text or "").split(","):
        words = part.strip().split()
        if not words:
            continue
        name, descending = words[0], False
        if name.startswith("-"):
            name, descending = name[1:], True
        if len(words) == 2 and words[1].lower() in ("asc", "desc"):
            descending = words[1].lower() == "desc"
        elif len(words) > 1:
            raise InvalidQuery(f"排序写法无效：{part.strip()}（例：sort=amount desc,name）", field="sort")
        out.append((name, descending))
    return out


def fields_from_param(text: str | list[str] | None) -> list[str] | None:
    if text is None:
        return None
    names = text if isinstance(text, list) else text.split(",")
    return [n.strip() for n in names if n.strip()] or None


# --- building the query ------------------------------------------------------------------------------


@dataclass
class _Sql:
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    # the same filters typed, as (column, Table Schema type, op, value) for store.pages; None once
    # a condition has no such form (text search)
    typed: list[tuple[str, str, str, Any]] | None = field(default_factory=list)

    def add(self, condition: str, *params: Any) -> None:
        self.where.append(condition)
        self.params.extend(params)

    @property
    def clause(self) -> str:
        return (" WHERE " + " AND ".join(self.where)) if self.where else ""


def _column(plan: ReadPlan, name: str, what: str) -> tuple[str, Column]:
    """The SQL expression and type of a field or ``_id``; unknown names are a clear error."""
    if name == ROW_ID:
        return ROW_NUMBER, Column(ROW_ID, "integer", "行号")
    try:
        f = plan.field(name)
    except KeyError:
        raise InvalidQuery(
            f"{what}中的字段不存在：{name}（可用字段：{'、'.join(plan.field_names)}）", field=name
        ) from None
    return quote_identifier(name), Column(f.name, f.type, f.title)


def _typed(plan: ReadPlan, name: str, value: Any) -> Any:
    if name == ROW_ID:
        try:
            return int(value) - 1  # _id is 1-based, the file row number 0-based
        except (TypeError, ValueError):
            raise InvalidQuery(f"_id 应为整数：{value}", field=ROW_ID) from None
    f = plan.field(name)
    if f.type in TEXT_TYPES and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    try:
        return table_schema.typed_value(f, value)
    except ValueError:
        label = table_schema.TYPE_LABELS.get(f.type, f.type)
        raise InvalidQuery(f"字段 {name} 的取值应为{label}：{value}", field=name) from None


def _where(plan: ReadPlan, query: RowQuery, match: TextMatch | None = None) -> _Sql:
    sql = _Sql()
    typed = []
    for flt in query.filters:
        col, column = _column(plan, flt.field, "筛选条件")
        if flt.op == "isnull":
            sql.add(f"{col} IS {'' if flt.value else 'NOT '}NULL")
            value: Any = flt.value
        elif flt.op == "in" or (flt.op == "eq" and isinstance(flt.value, list)):  # CKAN: {"f": [a, b]}
            values = flt.value if isinstance(flt.value, list) else [flt.value]
            if not values:
                raise InvalidQuery(f"in 筛选至少需要一个取值：{flt.field}", field=flt.field)
            value = [_typed(plan, flt.field, v) for v in values]
            sql.add(f"{col} IN ({', '.join('?' for _ in values)})", *value)
        elif flt.op == "prefix":
            if flt.field == ROW_ID or plan.field(flt.field).type not in TEXT_TYPES:
                raise InvalidQuery(f"prefix 只适用于文本字段：{flt.field}", field=flt.field)
            value = str(flt.value)
            sql.add(f"starts_with({col}, ?)", value)
        elif flt.op in _COMPARE:
            value = _typed(plan, flt.field, flt.value)
            sql.add(f"{col} {_COMPARE[flt.op]} ?", value)
        else:
            raise InvalidQuery(f"不支持的筛选运算：{flt.op}", field=flt.field)
        op = "in" if isinstance(value, list) else flt.op
        typed.append((ROW_NUMBER if col == ROW_NUMBER else flt.field, column.type, op, value))
    sql.typed = None if query.q else typed
    if match is None:
        _text_search(plan, query.q, sql)
    elif match.empty:
        sql.add("FALSE")
    else:  # the version's text index: the same rows, without reading every text value
        sql.add(f"{ROW_NUMBER} IN {match.row_numbers_sql()}", *match.params)
    return sql


def _text_search(plan: ReadPlan, q: str | dict[str, str] | None, sql: _Sql) -> None:
    """``q`` as words that must each appear (case-insensitively) in some text column, or as
    ``{field: text}``: each named column contains its text."""
    if not q:
        return
    if isinstance(q, dict):
        for name, text in q.items():
            col, _ = _column(plan, name, "全文检索")
            sql.add(f"contains(lower(CAST({col} AS VARCHAR)), lower(?))", str(text))
        return
    texts = [quote_identifier(f.name) for f in plan.fields if f.type in TEXT_TYPES]
    if not texts:
        raise InvalidQuery("该数据表没有可全文检索的文本字段", field="q")
    haystack = f"lower(concat_ws(' ', {', '.join(texts)}))"
    for word in q.split():
        sql.add(f"contains({haystack}, lower(?))", word)


def _order(plan: ReadPlan, query: RowQuery) -> list[tuple[str, str, bool]]:
    """(name, SQL expression, descending), ending with ``_id``."""
    keys = []
    for name, descending in query.sort:
        col, _ = _column(plan, name, "排序")
        keys.append((name, col, descending))
    if not keys or keys[-1][0] != ROW_ID:
        keys = [k for k in keys if k[0] != ROW_ID] + [(ROW_ID, ROW_NUMBER, False)]
    return keys


def _after(keys: list[tuple[str, str, bool]], values: list[Any], i: int = 0) -> tuple[str, list[Any]]:
    """SQL for "the row comes after the cursor" in the order ``keys`` (NULLS LAST both ways)."""
    name, col, descending = keys[i]
    value = values[i]
    last = i == len(keys) - 1
    if col == ROW_NUMBER:  # never null: a plain range the Parquet scan can use to skip row groups
        return f"{col} {'<' if descending else '>'} ?", [value]
    if value is None:
        if last:
            return "FALSE", []
        rest, params = _after(keys, values, i + 1)
        return f"({col} IS NULL AND {rest})", params
    beyond = f"({col} {'<' if descending else '>'} ? OR {col} IS NULL)"
    if last:
        return beyond, [value]
    rest, params = _after(keys, values, i + 1)
    return f"({beyond} OR ({col} = ? AND {rest}))", [value, value, *params]


def _digest(plan: ReadPlan, query: RowQuery, *, with_sort: bool = True) -> str:
    """A key of the query's rows (resource, version, filters, q) and, for cursors, their order."""
    shape = [plan.resource_id, plan.version, plan.scope, [(f.field, f.op, f.value) for f in query.filters], query.q]
    if with_sort:
        shape.append(query.sort)
    return hashlib.sha256(json.dumps(shape, default=str, ensure_ascii=False).encode()).hexdigest()[:16]


def _encode_cursor(digest: str, values: list[Any]) -> str:
    payload = json.dumps({"d": digest, "v": [json_value(v) for v in values]}, ensure_ascii=False)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(plan: ReadPlan, keys: list[tuple[str, str, bool]], digest: str, cursor: str) -> list[Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = payload["v"]
        ok = payload["d"] == digest and isinstance(values, list) and len(values) == len(keys)
    except (binascii.Error, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise InvalidQuery("cursor 无效：它只能用于产生它的同一查询（同一版本、筛选和排序）", field="cursor")
    typed: list[Any] = []
    for (name, _, _), value in zip(keys, values, strict=True):
        if value is None:
            typed.append(None)
        elif name != ROW_ID and plan.field(name).type == "datetime" and isinstance(value, str):
            typed.append(_typed(plan, name, value.removesuffix(BEIJING)))
        else:
            typed.append(_typed(plan, name, value))
    return typed


# --- running -----------------------------------------------------------------------------------------


class _TotalCache:
    """Exact totals per (resource, version, filter): versions are immutable, so a count stays true."""

    def __init__(self, size: int = 10_000) -> None:
        self._items: OrderedDict[str, int] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str) -> int | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: str, value: int) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


totals = _TotalCache()


def read_rows(
    session: Session, actor: Actor, resource_id: str, query: RowQuery, *, home: Path, max_offset: int | None = None
) -> RowPage:
    """One page of a table's rows, as the actor may read them: never more rows than the grant's
    daily row quota has left (the page is then cut, ``page.quota.truncated``, and its cursor goes on
    from the last row returned). ``max_offset``: an ``offset`` beyond it is refused with
    ``OffsetTooDeep``, which names the cursor to use instead when one is exactly equivalent."""
    check_limits(query)  # before the plan is made (and a call charged)
    plan = plan_read(session, actor, resource_id, query.version, home=home)
    if max_offset is not None and query.offset > max_offset:
        raise _too_deep(plan, query, max_offset)
    left = rows_allowed(plan)
    capped = query if left is None or query.limit <= left else replace(query, limit=left)
    page = run_query(plan, capped)
    taken = take_rows(session, actor, plan, "rows.read", rows=page.table.num_rows, query_text=page.sql)
    if taken.rows < page.table.num_rows:  # a concurrent reader took part of what was left
        page = run_query(plan, replace(query, limit=taken.rows))
    cut = taken.truncated or (capped.limit < query.limit and page.table.num_rows == capped.limit)
    page.quota, page.limit = replace(taken, truncated=cut), query.limit
    return page


def _too_deep(plan: ReadPlan, query: RowQuery, max_offset: int) -> OffsetTooDeep:
    """The refusal of a deep offset. In ``_id`` order over all the plan's rows (no filter, no ``q``,
    no contract row filter) the row at offset N is the row after ``_id`` N, so the equivalent cursor
    is known without reading anything and is given in the details (``cursor``, ``_id__gt``)."""
    message = (
        f"offset 过大：最多 {max_offset}（越深的 offset 需要读取并丢弃之前的全部行）。请按 cursor 翻页：从第一页起，"
        f"每次传入上一页返回的 next_cursor（或 _links.next），任意深度的翻页耗时相同；也可以用 _id__gt=上一页最后的 _id"
    )
    detail: dict[str, Any] = {"field": "offset", "message": message, "max_offset": max_offset}
    plain = not query.filters and not query.q and not query.sort and plan.row_filter_sql is None
    if plain and not query.cursor:
        detail["cursor"] = _encode_cursor(_digest(plan, query), [query.offset])
        detail["_id__gt"] = query.offset
    return OffsetTooDeep(message, details=[detail])


def run_query(plan: ReadPlan, query: RowQuery) -> RowPage:
    check_limits(query)
    limit_max = get_settings().rows_max_limit
    if not 0 <= query.limit <= limit_max:
        raise InvalidQuery(f"limit 应在 0 到 {limit_max} 之间：{query.limit}", field="limit")
    if query.offset < 0:
        raise InvalidQuery(f"offset 不能为负数：{query.offset}", field="offset")
    if query.cursor and query.offset:
        raise InvalidQuery("cursor 与 offset 不能同时使用", field="cursor")
    names = query.fields or [ROW_ID, *plan.field_names]
    selected = [_column(plan, n, "fields 参数") for n in dict.fromkeys(names)]
    match = text_search.lookup(plan, query.q)
    where = _where(plan, query, match)
    keys = _order(plan, query)
    digest = _digest(plan, query)
    # In _id order (the default) no ORDER BY: the scan returns rows in file order (the engine
    # preserves insertion order) and stops after the page instead of sorting every match.
    in_file_order = keys == [(ROW_ID, ROW_NUMBER, False)]
    paged = _Sql(list(where.where), list(where.params), where.typed and list(where.typed))
    after: list[Any] = []
    if query.cursor:
        after = _decode_cursor(plan, keys, digest, query.cursor)
        condition, params = _after(keys, after)
        paged.add(condition, *params)
        if in_file_order and paged.typed is not None:
            paged.typed.append((ROW_NUMBER, "integer", "gt", after[0]))
    hidden = [k for k in keys if k[0] not in names]  # sort keys the cursor needs but the caller didn't ask for
    projection = [f"{_out(col)} AS {quote_identifier(c.name)}" for col, c in selected]
    projection += [f"{_out(col)} AS {quote_identifier('__k' + str(i))}" for i, (_, col, _) in enumerate(hidden)]
    order = (
        ""
        if in_file_order and match is None  # the index's row numbers are joined: a join keeps no order
        else " ORDER BY " + ", ".join(f"{col} {'DESC' if desc else 'ASC'} NULLS LAST" for _, col, desc in keys)
    )
    sql = _select(plan, projection, paged, order, query.limit, query.offset)
    # q alone, in file order, nothing else narrowing the plan's rows: the index pages on its own
    from_index = match is not None and in_file_order and not query.filters and plan.row_filter_sql is None
    counting = _start_total(plan, query, where, match if from_index else None) if query.include_total else None
    table = _from_groups(plan, selected, hidden, projection, paged, query) if in_file_order else None
    if table is None and from_index:
        assert match is not None
        found = text_search.page_row_numbers(
            match, after=after[0] if after else None, offset=query.offset, limit=query.limit
        )
        table = _rows_numbered(plan, projection, found)
    if table is None:
        table = _run_page(sql, paged.params, in_file_order)
    total = counting.result() if counting else None
    next_cursor = None
    if table.num_rows == query.limit and query.limit > 0:
        last = table.slice(table.num_rows - 1).to_pylist()[0]
        values = [last["__k" + str(hidden.index(k)) if k in hidden else k[0]] for k in keys]
        next_cursor = _encode_cursor(digest, values)
    if hidden:
        table = table.drop_columns(["__k" + str(i) for i in range(len(hidden))])
    return RowPage(
        plan=plan,
        columns=[c for _, c in selected],
        table=table,
        total=total,
        next_cursor=next_cursor,
        limit=query.limit,
        offset=query.offset,
        sql=sql + " -- " + json.dumps(paged.params, default=str, ensure_ascii=False),
    )


# Counts run beside their page: a count reads every row its filter may match, the page stops early,
# and each waits on DuckDB (which releases the GIL), so the two overlap instead of adding up. At most
# four counts run at once in a process (each uses every DuckDB thread); more wait their turn.
_counting = ThreadPoolExecutor(max_workers=4, thread_name_prefix="row-total")


def _start_total(plan: ReadPlan, query: RowQuery, where: _Sql, match: TextMatch | None) -> Future[int]:
    """The exact total of ``query``'s rows, counted in the background unless known (the plan's row
    count, a cached total); ``match``: the ``q`` that the index alone answers, if so."""
    digest = _digest(plan, query, with_sort=False)
    known = _known_total(plan, where, digest)
    if known is not None:
        done: Future[int] = Future()
        done.set_result(known)
        return done
    if match is not None:
        return _counting.submit(_index_total, match, digest)
    return _counting.submit(count_rows, plan, where, digest)


def _select(plan: ReadPlan, projection: list[str], where: _Sql, order: str, limit: int, offset: int) -> str:
    return (
        f"SELECT {', '.join(projection)} FROM {plan.relation} AS t{where.clause}{order} "
        f"LIMIT {int(limit)} OFFSET {int(offset)}"
    )


def _run_page(sql: str, params: list[Any], in_file_order: bool) -> pa.Table:
    cur = engine.cursor(page=in_file_order)
    try:
        return engine.run(cur, sql, params).to_arrow_table()
    finally:
        cur.close()


def _from_groups(
    plan: ReadPlan,
    selected: list[tuple[str, Column]],
    hidden: list[Any],
    projection: list[str],
    paged: _Sql,
    query: RowQuery,
) -> pa.Table | None:
    """A page in file order from the decoded row groups (``store.query.pages``), finished by SQL from where
    the scan stopped if it had to; None when the page needs SQL from the start (masks, a contract's
    row filter, text search, a filter ``store.query.pages`` can't evaluate exactly)."""
    if plan.masks or plan.row_filter_sql is not None or paged.typed is None:
        return None
    info = pages.layout(plan.path)
    conds = pages.conditions(info, paged.typed)
    if conds is None:
        return None
    names = [c.name for col, c in selected if col != ROW_NUMBER]
    found = pages.scan(info, names, conds, skip=query.offset, limit=query.limit)
    ids = pc.add(found.table.column(ROW_NUMBER), pa.scalar(1, pa.int64()))
    columns = {c.name: (ids if col == ROW_NUMBER else found.table.column(c.name)) for col, c in selected}
    columns |= {"__k" + str(i): ids for i in range(len(hidden))}  # in file order only _id can be hidden
    table = pa.table(columns)
    if found.resume_at is None:
        return table
    rest = _Sql(paged.where + [f"{ROW_NUMBER} >= ?"], paged.params + [found.resume_at])
    sql = _select(plan, projection, rest, "", found.still_take, found.still_skip)
    return pa.concat_tables([table, _run_page(sql, rest.params, True)])


def _rows_numbered(plan: ReadPlan, projection: list[str], numbers: list[int]) -> pa.Table:
    """The rows of ``numbers`` (ascending file row numbers) through the plan's relation: over the text
    index's rows file when the version has one (a batch decoded per row), else over the data file."""
    these = _Sql([f"{ROW_NUMBER} IN ({', '.join(str(int(n)) for n in numbers)})" if numbers else "FALSE"])
    cur = engine.cursor(page=True)
    source = None
    try:
        source = text_search.register_rows(cur, plan, numbers) if numbers else None
        relation = plan.relation_over(source) if source else plan.relation
        sql = f"SELECT {', '.join(projection)} FROM {relation} AS t{these.clause} LIMIT {len(numbers)}"
        return engine.run(cur, sql).to_arrow_table()
    finally:
        if source:
            cur.unregister(source)
        cur.close()


def _index_total(match: TextMatch, digest: str) -> int:
    """The count of a ``q`` answered by the index alone (cached like every total)."""
    cached = totals.get(digest)
    if cached is None:
        cached = text_search.count(match)
        totals.put(digest, cached)
    return cached


def count_rows(plan: ReadPlan, where: _Sql | None = None, digest: str | None = None) -> int:
    """The rows the plan exposes (the version's count, or the contract's filtered count), or those
    matching ``where`` (cached under ``digest``)."""
    if where is None:
        where, digest = _Sql(), _digest(plan, RowQuery(), with_sort=False)
    cur = engine.cursor()
    try:
        return _total(cur, plan, where, digest or "")
    finally:
        cur.close()


def _out(col: str) -> str:
    """A column as the caller sees it: ``_id`` is the 1-based row number."""
    return f"{ROW_NUMBER} + 1" if col == ROW_NUMBER else col


def _known_total(plan: ReadPlan, where: _Sql, digest: str) -> int | None:
    """A total known without counting: every row the plan exposes, or a count cached under ``digest``."""
    if not where.where and plan.row_filter_sql is None:
        return plan.rows
    return totals.get(digest)


def _total(cur: Any, plan: ReadPlan, where: _Sql, digest: str) -> int:
    known = _known_total(plan, where, digest)
    if known is not None:
        return known
    row = engine.run(cur, f"SELECT count(*) FROM {plan.relation} AS t{where.clause}", where.params).fetchone()
    value = int(row[0]) if row else 0
    totals.put(digest, value)
    return value


def value_exists(
    session: Session,
    actor: Actor,
    resource_id: str,
    field: str,
    value: Any,
    *,
    home: Path,
    action: str,
    grant_id: int | None = None,
) -> bool:
    """Whether some row the caller's verify plan exposes has ``field`` equal to ``value`` — a
    verification product's answer, nothing else of the row. Planned with ``purpose="verify"``: only a
    verify grant (or the publisher's own reading) serves it, one call is charged to the grant, and
    the answer is audited as ``action`` with the grant and the digest of the value asked, never the
    value itself (it may be personal). ``grant_id``: the one grant to answer under (a buyer holding
    two verification products over one table gets each product's own answer)."""
    plan = plan_read(session, actor, resource_id, home=home, purpose="verify", grant_id=grant_id)
    column, _ = _column(plan, field, "核验字段")
    typed = _typed(plan, field, value)
    cur = engine.cursor()
    try:
        row = engine.run(
            cur, f"SELECT EXISTS (SELECT 1 FROM {plan.relation} AS t WHERE {column} = ?)", [typed]
        ).fetchone()
    finally:
        cur.close()
    found = bool(row and row[0])
    record_read(session, actor, plan, action, rows=0, query_text=f"{field}={value}", always=True)
    return found

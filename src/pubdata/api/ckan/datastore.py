"""CKAN DataStore actions over the store's read path: ``datastore_search``, ``datastore_search_sql``
and ``datastore_info``, in the shapes CKAN 2.10 answers (``fields`` with CKAN types, ``records`` as
objects or lists or CSV, ``total``, ``_links``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa

from pubdata.api.ckan.actions import Context, action
from pubdata.api.ckan.errors import invalid
from pubdata.api.ckan.params import Params
from pubdata.store.query import rows as query
from pubdata.store.query import sql
from pubdata.store.query.rows import Filter, RowQuery
from pubdata.store.read import ROW_ID, plan_read, record_read

RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")


def _json_param(p: Params, key: str) -> Any:
    value = p.raw(key)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text[0] in "{[":
            try:
                return json.loads(text)
            except ValueError:
                raise invalid(key, f"不是合法的 JSON：{text}") from None
    return value


def _filters(p: Params) -> list[Filter]:
    value = _json_param(p, "filters")
    if value is None:
        return []
    if not isinstance(value, dict):
        raise invalid("filters", '应为 JSON 对象，例如 {"district": "崂山区"}')
    out = []
    for name, wanted in value.items():
        if isinstance(wanted, dict):
            raise invalid("filters", f"{name} 的取值应为单个值或取值列表")
        out.append(Filter(name, "in", wanted) if isinstance(wanted, list) else Filter(name, "eq", wanted))
    return out


def _q(p: Params) -> str | dict[str, str] | None:
    value = _json_param(p, "q")
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return value
    raise invalid("q", "应为字符串或 {字段: 文本} 对象")


def _fields(p: Params) -> list[str] | None:
    value = _json_param(p, "fields")
    if isinstance(value, list):
        return query.fields_from_param([str(v) for v in value])
    return query.fields_from_param(value) if isinstance(value, str) else None


@action
def datastore_search(ctx: Context, p: Params) -> dict[str, Any]:
    """Rows of a resource. Parameters: ``resource_id`` (or ``id``), ``filters`` ({field: value or
    [values]}), ``q`` (text, or {field: text}), ``fields``, ``sort`` ("a desc, b"), ``limit`` (default
    100), ``offset``, ``include_total`` (default true), ``records_format`` (objects, lists, csv, tsv;
    csv and tsv are machine formats: values exact). Under a grant with a daily row quota the result also
    carries ``quota`` (the numbers) and, when the page was cut to what was left, ``truncated_by_quota``."""
    resource_id = p.string("resource_id").strip() or p.required("id")
    records_format = p.string("records_format", "objects")
    if records_format not in RECORDS_FORMATS:
        raise invalid("records_format", f"应为 {'、'.join(RECORDS_FORMATS)} 之一")
    if p.boolean("distinct"):
        raise invalid("distinct", "不支持 distinct，请用 datastore_search_sql 的 SELECT DISTINCT")
    limit = p.integer("limit", 100, maximum=ctx.settings.rows_max_limit)
    offset = p.integer("offset", 0)
    include_total = p.boolean("include_total", True)
    spec = RowQuery(
        filters=_filters(p),
        q=_q(p),
        fields=_fields(p),
        sort=query.sort_from_param(p.string("sort") or None),
        limit=limit,
        offset=offset,
        include_total=include_total,
    )
    page = query.read_rows(ctx.session, ctx.actor, resource_id, spec, home=ctx.settings.home)
    fields = [{"id": c.name, "type": c.ckan_type, "info": {"label": c.title or ""}} for c in page.columns]
    for f in fields:
        if f["id"] == ROW_ID:
            f.pop("info")
    result: dict[str, Any] = {
        "include_total": include_total,
        "resource_id": resource_id,
        "fields": fields,
        "records_format": records_format,
        "limit": limit,
        "offset": offset,
    }
    if records_format == "objects":
        result["records"] = page.records()
    elif records_format == "lists":
        result["records"] = page.lists()
    else:
        delimiter = "\t" if records_format == "tsv" else ","
        result["records"] = query.csv_bytes(page.table, header=False, bom=False, delimiter=delimiter).decode()
    if include_total:
        result["total"] = page.total
    truncated = bool(page.quota and page.quota.truncated)
    if page.quota and page.quota.quota is not None:  # extra keys CKAN clients ignore: the row quota's marker
        result["quota"] = page.quota.marker()
        if truncated:
            result["truncated_by_quota"] = True
    base = "/api/3/action/datastore_search"
    keep = {k: v for k, v in p.data.items() if k not in ("offset",) and isinstance(v, str | int | bool)}
    step = page.table.num_rows if truncated else limit  # a cut page goes on after its last row
    result["_links"] = {
        "start": f"{base}?{urlencode(keep)}",
        "next": f"{base}?{urlencode({**keep, 'offset': offset + step})}",
    }
    return result


@action
def datastore_search_sql(ctx: Context, p: Params) -> dict[str, Any]:
    """Read-only SQL (PostgreSQL syntax) over resources you may read: ``SELECT … FROM "<resource id>"``.
    Checked against an allow-list, run under a time limit; at most the configured number of rows
    (``records_truncated`` says when the result was cut; ``truncated_by_quota`` and ``quota`` when a
    grant's daily row quota cut it)."""
    result = sql.run_sql(ctx.session, ctx.actor, p.required("sql"), home=ctx.settings.home)
    out: dict[str, Any] = {
        "sql": result.sql,
        "records": query.records_of(result.table),
        "fields": [{"id": f.name, "type": _ckan_type(f.type)} for f in result.table.schema],
    }
    if result.truncated:
        out["records_truncated"] = True
    taken = result.quota
    if taken is not None and taken.quota is not None:
        out["quota"] = taken.marker()
        if taken.truncated:
            out["truncated_by_quota"] = out["records_truncated"] = True
    return out


@action
def datastore_info(ctx: Context, p: Params) -> dict[str, Any]:
    """The fields and row count of a resource's current version, as the caller's plan exposes them
    (a contract's columns, and the rows its row filter leaves). ``id`` (or ``resource_id``). Like
    every call on a grant it is charged one call (no rows); a governed table's is audited."""
    resource_id = p.string("resource_id").strip() or p.required("id")
    plan = plan_read(ctx.session, ctx.actor, resource_id, home=ctx.settings.home)
    count = query.count_rows(plan)
    record_read(ctx.session, ctx.actor, plan, "datastore.info", rows=0)
    return {
        "meta": {"count": count, "version": plan.version, "table_type": "BASE TABLE"},
        "fields": [
            {
                "id": f.name,
                "type": query.CKAN_TYPES.get(f.type, "text"),
                "info": {"label": f.title or "", "notes": f.description or ""},
                "schema": {"native_type": f.type, "is_index": f.name in plan.schema.primary_key_fields},
            }
            for f in plan.fields
        ],
    }


def _ckan_type(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return "text"

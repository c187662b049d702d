"""Full-table downloads, streamed through the read path: CSV (UTF-8 with a BOM, so Excel opens
Chinese correctly), Parquet and JSON Lines. Rows are fetched from DuckDB in record batches and
encoded batch by batch, so memory stays flat whatever the table's size. Also the Frictionless
``datapackage.json`` describing an entry's tables and their downloads.

A download is charged whole before it starts: one larger than the grant's daily row quota has left
is refused (429, with the numbers), never cut. Spreadsheet or machine: the BOM CSV is meant for
Excel, so text cells that a spreadsheet would run as a formula are neutralised (``spreadsheet_safe``,
OWASP's CSV-injection rule); ``raw`` CSV (no BOM), Parquet and JSON Lines are exact.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.catalog import service as catalog
from pubdata.errors import Forbidden, Invalid, NotFound
from pubdata.settings import get_settings
from pubdata.store import engine
from pubdata.store.ingest.semantic import quote_identifier
from pubdata.store.models import StoreTable
from pubdata.store.query.rows import count_rows, csv_bytes, json_value
from pubdata.store.read import ROW_NUMBER, ReadPlan, has_row_access, open_label, plan_read, take_rows

if TYPE_CHECKING:
    from pubdata.catalog.models import CatalogEntry

BATCH_ROWS = 65_536
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/jsonl; charset=utf-8",
}


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection), plus,
# as a precaution, the full-width forms a Chinese input method types.
FORMULA_LEADS = "=+-@\t\r＝＋－＠"
_FORMULA_LEAD = "^([=+\\-@\\t\\r＝＋－＠])"  # FORMULA_LEADS as an RE2 class


def spreadsheet_safe(table: pa.Table) -> pa.Table:
    """The table as a spreadsheet may open it: every text cell (and column name) that starts with a
    formula character gets a leading ``'``, so it is shown as the text it is. Only text columns
    change: a negative number in a numeric column stays a number."""
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type):
            column = column.cast(pa.string())
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.replace_substring_regex(column, pattern=_FORMULA_LEAD, replacement="'\\1")
        columns.append(column)
    names = [spreadsheet_safe_text(n) for n in table.column_names]
    return pa.Table.from_arrays(columns, names=names)


MAX_CELL_CHARS = 16 << 20  # a cell of a CSV re-read here (an ingested line is at most 10 MB)


def spreadsheet_safe_text(value: str) -> str:
    """One cell as ``spreadsheet_safe`` writes it."""
    return "'" + value if value[:1] and value[0] in FORMULA_LEADS else value


def spreadsheet_safe_csv(chunks: Iterable[bytes], *, flush_bytes: int = 1 << 20) -> Iterator[bytes]:
    """A UTF-8 CSV stream (no BOM) with every cell made ``spreadsheet_safe_text``, re-encoded as it
    streams (for CSV files written elsewhere, such as a version's ``rejects.csv``)."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(_lines(chunks)):
        writer.writerow([spreadsheet_safe_text(cell) for cell in row])
        if out.tell() >= flush_bytes:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode()


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    tail = ""
    for chunk in chunks:
        *lines, tail = (tail + decoder.decode(chunk)).split("\n")
        for line in lines:
            yield line + "\n"
    tail += decoder.decode(b"", final=True)
    if tail:
        yield tail


@dataclass(frozen=True)
class Download:
    plan: ReadPlan
    format: str
    chunks: Iterator[bytes]

    @property
    def media_type(self) -> str:
        return FORMATS[self.format]

    @property
    def filename(self) -> str:
        return f"{self.plan.entry_name}-{self.plan.resource_name}-v{self.plan.version}.{self.format}"


def download(
    session: Session,
    actor: Actor,
    resource_id: str,
    fmt: str,
    *,
    version: int | None = None,
    home: Path,
    raw: bool = False,
) -> Download:
    """The whole table (current or ``version``) as a stream of bytes in ``fmt``. CSV is for
    spreadsheets (BOM, formula cells neutralised) unless ``raw`` (no BOM, values exact). Under a
    daily row quota the whole table is charged before the stream starts; ``QuotaExceeded`` (429,
    rows asked, rows left, the quota) when it does not fit."""
    if fmt not in FORMATS:
        raise Invalid(f"不支持的下载格式：{fmt}（可用：csv、parquet、jsonl）", field="format")
    plan = plan_read(session, actor, resource_id, version, home=home)
    take_rows(session, actor, plan, f"download.{fmt}", rows=count_rows(plan), whole=True)
    return Download(plan, fmt, _stream(plan, fmt, raw=raw))


def _batches(plan: ReadPlan) -> Iterator[pa.RecordBatch]:
    cols = ", ".join(quote_identifier(n) for n in plan.field_names)
    sql = f"SELECT {cols} FROM {plan.relation} AS t ORDER BY {ROW_NUMBER}"
    cur = engine.cursor()
    try:
        # the whole stream is one statement under the download time limit: DuckDB is interrupted when
        # it runs out, however slowly the client reads
        with engine.deadline(cur, get_settings().download_timeout_s, sql=sql):
            yield from cur.execute(sql).to_arrow_reader(BATCH_ROWS)
    finally:
        cur.close()


def _stream(plan: ReadPlan, fmt: str, *, raw: bool = False) -> Iterator[bytes]:
    if fmt == "csv":
        first = True
        for batch in _batches(plan):
            table = pa.Table.from_batches([batch])
            yield csv_bytes(table if raw else spreadsheet_safe(table), header=first, bom=first and not raw)
            first = False
        if first:  # an empty table still gets its header
            yield csv_bytes(_empty(plan) if raw else spreadsheet_safe(_empty(plan)), header=True, bom=not raw)
    elif fmt == "jsonl":
        for batch in _batches(plan):
            lines = (
                json.dumps({k: json_value(v) for k, v in row.items()}, ensure_ascii=False) for row in batch.to_pylist()
            )
            yield ("\n".join(lines) + "\n").encode()
    else:
        yield from _parquet_stream(plan)


def _parquet_stream(plan: ReadPlan) -> Iterator[bytes]:
    buffer = io.BytesIO()
    writer: pq.ParquetWriter | None = None
    for batch in _batches(plan):
        if writer is None:
            writer = pq.ParquetWriter(buffer, batch.schema, compression="zstd")
        writer.write_batch(batch)
        yield _drain(buffer)
    if writer is None:
        writer = pq.ParquetWriter(buffer, _empty(plan).schema, compression="zstd")
    writer.close()
    yield _drain(buffer)


def _drain(buffer: io.BytesIO) -> bytes:
    data = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return data


def _empty(plan: ReadPlan) -> pa.Table:
    cols = ", ".join(quote_identifier(n) for n in plan.field_names)
    cur = engine.cursor()
    try:
        return engine.run(cur, f"SELECT {cols} FROM {plan.relation} AS t LIMIT 0").to_arrow_table()
    finally:
        cur.close()


# --- datapackage.json ------------------------------------------------------------------------------


def datapackage(session: Session, actor: Actor, entry_key: str, *, base_url: str) -> dict[str, Any]:
    """A Frictionless Tabular Data Package of an entry: its metadata and, per table the actor may
    read, the Table Schema and the download paths of the current version. Tables the actor may not
    read (or that have no published version yet) are not resources — a resource needs a ``path`` or
    ``data`` — but are listed under ``x-unavailableResources`` with their Table Schema and why. When
    no table is left the package would be invalid (frictionless requires a resource), so it is refused:
    403 when access is what is missing, 404 when nothing has been published yet."""
    entry = catalog.get_entry(session, actor, entry_key)
    label = open_label(entry.open_type)
    resources: list[dict[str, Any]] = []
    unavailable: list[dict[str, Any]] = []
    for resource in entry.resources:
        table = session.get(StoreTable, resource.id)
        if table is None:
            continue
        item: dict[str, Any] = {
            "name": _slug(resource.name, resource.id),
            "title": resource.name,
            "profile": "tabular-data-resource",
            "schema": _table_schema_for_package(table.table_schema),
            "x-resourceId": resource.id,
            "x-version": table.current_version,
        }
        if not has_row_access(session, actor, entry, resource.id):
            why = "需申请并获批后使用" if entry.open_type == "conditional" else "不提供数据下载"
            item.update({"x-reasonCode": "no_access", "x-reason": f"无权读取该数据（{label}，{why}）"})
            unavailable.append(item)
        elif table.current_version is None:
            item.update({"x-reasonCode": "no_version", "x-reason": "尚未发布数据版本"})
            unavailable.append(item)
        else:
            base = f"{base_url}/api/v1/resources/{resource.id}/download"
            item.update(path=f"{base}.csv", format="csv", mediatype="text/csv", encoding="utf-8-sig")
            item["x-alternatives"] = {"parquet": f"{base}.parquet", "jsonl": f"{base}.jsonl"}
            resources.append(item)
    if not resources:
        details = [
            {"resource_id": u["x-resourceId"], "title": u["title"], "reason": u["x-reason"]} for u in unavailable
        ]
        if any(u["x-reasonCode"] == "no_access" for u in unavailable):
            raise Forbidden(
                f"无权读取该数据：{entry.title}（{label}），没有可提供给您的数据表，因此不提供数据包",
                code="store.datapackage_forbidden",
                details=details,
            )
        raise NotFound(
            f"该条目尚无已发布的数据表，暂无数据包：{entry.title}", code="store.datapackage_empty", details=details
        )
    licence = entry.licence
    package: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": entry.name.lower(),
        "id": entry.code,
        "title": entry.title,
        "description": entry.description,
        "homepage": f"{base_url}/dataset/{entry.name}",
        "keywords": [t.tag for t in entry.tags],
        "licenses": [{"name": licence, "title": licence}],
        "publisher": entry.organisation.name,
        "x-openType": label,
        "resources": resources,
    }
    if unavailable:
        package["x-unavailableResources"] = unavailable
    return package


def table_downloads(session: Session, actor: Actor, entries: Iterable[CatalogEntry]) -> dict[str, bool]:
    """For each of the entries' resources that has a published table: whether the actor may download
    its rows now (the rule of the datapackage and the resource page, ``has_row_access``: nothing is
    charged or audited). What the DCAT export needs to give ``dcat:downloadURL`` only to those who
    may follow it; the download itself checks again."""
    resources = [(entry, resource) for entry in entries for resource in entry.resources]
    if not resources:
        return {}
    published = set(
        session.scalars(
            select(StoreTable.resource_id).where(
                StoreTable.resource_id.in_([r.id for _, r in resources]), StoreTable.current_version.is_not(None)
            )
        )
    )
    return {r.id: has_row_access(session, actor, e, r.id) for e, r in resources if r.id in published}


def _table_schema_for_package(schema: dict[str, Any]) -> dict[str, Any]:
    """The stored Table Schema with key field lists written as arrays: Table Schema v1 allows a bare
    string, but frictionless (v5, Data Package v2) accepts only the array form, valid in both."""
    out = dict(schema)
    if isinstance(out.get("primaryKey"), str):
        out["primaryKey"] = [out["primaryKey"]]
    if out.get("foreignKeys"):
        keys = []
        for key in out["foreignKeys"]:
            key = dict(key)
            if isinstance(key.get("fields"), str):
                key["fields"] = [key["fields"]]
            reference = key.get("reference")
            if isinstance(reference, dict) and isinstance(reference.get("fields"), str):
                key["reference"] = {**reference, "fields": [reference["fields"]]}
            keys.append(key)
        out["foreignKeys"] = keys
    return out


def _slug(name: str, fallback: str) -> str:
    """Data Package resource names are lower-case ASCII with - _ . only."""
    slug = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in name.lower()).strip("-")
    return slug if slug and any(c.isalnum() for c in slug) else f"resource-{fallback[:8]}"

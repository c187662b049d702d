"""Full-table downloads, streamed through the read path: CSV (UTF-8 with a BOM, so Excel opens
Chinese correctly), Parquet and JSON Lines. Rows are fetched from DuckDB in record batches and
encoded batch by batch, so memory stays flat whatever the table's size. Also the Frictionless
``datapackage.json`` describing an entry's tables and their downloads.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.catalog import service as catalog
from pubdata.errors import Invalid
from pubdata.store import engine
from pubdata.store.models import StoreTable
from pubdata.store.query import count_rows, csv_bytes, json_value
from pubdata.store.read import ROW_NUMBER, ReadPlan, has_row_access, open_label, plan_read, record_read
from pubdata.store.semantic import quote_identifier

BATCH_ROWS = 65_536
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/jsonl; charset=utf-8",
}


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
    session: Session, actor: Actor, resource_id: str, fmt: str, *, version: int | None = None, home: Path
) -> Download:
    """The whole table (current or ``version``) as a stream of bytes in ``fmt``."""
    if fmt not in FORMATS:
        raise Invalid(f"不支持的下载格式：{fmt}（可用：csv、parquet、jsonl）", field="format")
    plan = plan_read(session, actor, resource_id, version, home=home)
    record_read(session, actor, plan, f"download.{fmt}", rows=count_rows(plan))
    return Download(plan, fmt, _stream(plan, fmt))


def _batches(plan: ReadPlan) -> Iterator[pa.RecordBatch]:
    cols = ", ".join(quote_identifier(n) for n in plan.field_names)
    cur = engine.cursor()
    try:
        reader = cur.execute(f"SELECT {cols} FROM {plan.relation} AS t ORDER BY {ROW_NUMBER}").to_arrow_reader(
            BATCH_ROWS
        )
        yield from reader
    finally:
        cur.close()


def _stream(plan: ReadPlan, fmt: str) -> Iterator[bytes]:
    if fmt == "csv":
        first = True
        for batch in _batches(plan):
            yield csv_bytes(pa.Table.from_batches([batch]), header=first, bom=first)
            first = False
        if first:  # an empty table still gets its header
            yield csv_bytes(_empty(plan), header=True, bom=True)
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
        return cur.execute(f"SELECT {cols} FROM {plan.relation} AS t LIMIT 0").to_arrow_table()
    finally:
        cur.close()


# --- datapackage.json ------------------------------------------------------------------------------


def datapackage(session: Session, actor: Actor, entry_key: str, *, base_url: str) -> dict[str, Any]:
    """A Frictionless Data Package for an entry: its metadata and, per table, the Table Schema and the
    download paths of the current version (rows the actor may not read are listed without paths)."""
    entry = catalog.get_entry(session, actor, entry_key)
    readable = {r.id: has_row_access(session, actor, entry, r.id) for r in entry.resources}
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
        "x-openType": open_label(entry.open_type),
        "resources": [],
    }
    for resource in entry.resources:
        table = session.get(StoreTable, resource.id)
        if table is None:
            continue
        item: dict[str, Any] = {
            "name": _slug(resource.name, resource.id),
            "title": resource.name,
            "profile": "tabular-data-resource",
            "schema": table.table_schema,
            "x-resourceId": resource.id,
            "x-version": table.current_version,
        }
        if readable[resource.id] and table.current_version is not None:
            base = f"{base_url}/api/v1/resources/{resource.id}/download"
            item.update(path=f"{base}.csv", format="csv", mediatype="text/csv", encoding="utf-8-sig")
            item["x-alternatives"] = {"parquet": f"{base}.parquet", "jsonl": f"{base}.jsonl"}
        package["resources"].append(item)
    return package


def _slug(name: str, fallback: str) -> str:
    """Data Package resource names are lower-case ASCII with - _ . only."""
    slug = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in name.lower()).strip("-")
    return slug if slug and any(c.isalnum() for c in slug) else f"resource-{fallback[:8]}"

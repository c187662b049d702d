"""What a Delta Sharing query hands out: the read plan's relation (columns, masks and row filter of
the grant, inside DuckDB) materialised as one Parquet file per view and table version, and
short-lived pre-signed URLs to it.

A file is keyed by everything that decides its content — the table, the version, the grant, the
visible columns, their masks (and the grant's mask salt) and the row filter — so every recipient
reading under the same grant and version shares one file, and a different view never does. Files
are immutable once published (stage → fsync → rename, ``pubdata.files``); a version is immutable, so
a file never goes stale. Old files may be swept by deleting ``$PUBDATA_HOME/sharing/files``: the next
query rebuilds what it needs.

URLs are signed with an HMAC key derived from the platform secret: ``/delta-sharing/files/<key>.parquet
?profile=<id>&grant=<id or 0>&expires=<unix s>&sig=<hex>``. The signature binds the file, the profile,
the grant and the expiry, so a URL cannot be pointed at another file, stretched past its expiry, or
kept alive by a profile or a grant revoked since (the file endpoint checks both on every request)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pubdata import files as atomic
from pubdata.duck import batch_connection
from pubdata.settings import get_settings
from pubdata.sharing.errors import FileUrlRefused
from pubdata.store.ingest.semantic import quote_identifier, sql_literal
from pubdata.store.read import ROW_NUMBER, ReadPlan

FORMAT_REVISION = 1  # bump when the way files are written changes (a new key for every file)
FILES_DIR = "sharing/files"
KEY_PATTERN = re.compile(r"^[0-9a-f]{64}$")

# DuckDB types and how the protocol's schema string (Spark's JSON type names) calls them; anything
# else (HUGEINT, UBIGINT, TIME, INTERVAL, nested types, …) is shared as its text
_SPARK_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "byte",
    "SMALLINT": "short",
    "INTEGER": "integer",
    "BIGINT": "long",
    "FLOAT": "float",
    "DOUBLE": "double",
    "VARCHAR": "string",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "BLOB": "binary",
}
_WIDENED = {"UTINYINT": ("SMALLINT", "short"), "USMALLINT": ("INTEGER", "integer"), "UINTEGER": ("BIGINT", "long")}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")


@dataclass(frozen=True)
class Column:
    name: str
    spark_type: str
    cast: str | None = None  # DuckDB type the column is cast to when written


@dataclass(frozen=True)
class SharedFile:
    key: str
    path: Path
    rows: int
    size: int
    modified_ms: int


def _connection(home: Path):  # type: ignore[no-untyped-def]
    return batch_connection(home / "sharing" / ".spill", threads=1)


def columns(plan: ReadPlan, home: Path) -> list[Column]:
    """The plan's visible columns (masked types included) as the protocol's schema describes them."""
    names = ", ".join(quote_identifier(n) for n in plan.field_names)
    con = _connection(home)
    try:
        described = con.execute(f"DESCRIBE SELECT {names} FROM {plan.relation} AS t").fetchall()
    finally:
        con.close()
    out = []
    for row in described:
        name, duck = str(row[0]), str(row[1]).upper()
        if duck in _SPARK_TYPES:
            out.append(Column(name, _SPARK_TYPES[duck]))
        elif duck in _WIDENED:
            out.append(Column(name, _WIDENED[duck][1], _WIDENED[duck][0]))
        elif m := _DECIMAL.match(duck.replace(" ", "")):
            out.append(Column(name, f"decimal({m.group(1)},{m.group(2)})"))
        else:
            out.append(Column(name, "string", "VARCHAR"))
    return out


def schema_string(cols: list[Column]) -> str:
    """The table's schema as the protocol carries it (Spark's StructType JSON)."""
    fields = [{"name": c.name, "type": c.spark_type, "nullable": True, "metadata": {}} for c in cols]
    return json.dumps({"type": "struct", "fields": fields}, ensure_ascii=False, separators=(",", ":"))


def file_key(plan: ReadPlan) -> str:
    """The content key of the plan's file: equal for equal views of one table version only."""
    view = [
        FORMAT_REVISION, plan.resource_id, plan.version, plan.grant_id, plan.field_names,
        sorted(plan.masks.items()), plan.row_filter_sql, hashlib.sha256(plan.salt.encode()).hexdigest(),
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(view, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def file_path(home: Path, key: str) -> Path:
    if not KEY_PATTERN.match(key):
        raise FileUrlRefused("文件链接无效")
    return home / FILES_DIR / key[:2] / f"{key}.parquet"


def materialise(plan: ReadPlan, home: Path) -> SharedFile:
    """The plan's rows (in row order) as a Parquet file, written once per view and version and
    reused afterwards."""
    key = file_key(plan)
    target = file_path(home, key)
    if not target.is_file():
        cols = columns(plan, home)
        projection = ", ".join(
            quote_identifier(c.name)
            if c.cast is None
            else f"CAST({quote_identifier(c.name)} AS {c.cast}) AS {quote_identifier(c.name)}"
            for c in cols
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f"{atomic.STAGING_PREFIX}{secrets.token_hex(8)}.parquet")
        con = _connection(home)
        try:
            con.execute(
                f"COPY (SELECT {projection} FROM {plan.relation} AS t ORDER BY {ROW_NUMBER}) "
                f"TO {sql_literal(str(staged))} (FORMAT parquet, COMPRESSION zstd)"
            )
            atomic.publish_file(staged, target)
        finally:
            con.close()
            staged.unlink(missing_ok=True)
    stat = target.stat()
    return SharedFile(key, target, pq.read_metadata(target).num_rows, stat.st_size, int(stat.st_mtime * 1000))


def _signing_key() -> bytes:
    secret = get_settings().resolved_secret_key().encode()
    return hmac.new(secret, b"delta-sharing-file-url", hashlib.sha256).digest()


def _signature(key: str, profile_id: int, grant_id: int, expires: int) -> str:
    message = f"{key}:{profile_id}:{grant_id}:{expires}".encode()
    return hmac.new(_signing_key(), message, hashlib.sha256).hexdigest()


def signed_url(
    base_url: str, key: str, profile_id: int, grant_id: int | None, *, now: float | None = None
) -> tuple[str, int]:
    """A pre-signed URL of the file for the profile reading under the grant (None: open data), and
    when it expires (epoch milliseconds)."""
    expires = int(now if now is not None else time.time()) + get_settings().sharing_url_minutes * 60
    grant = grant_id or 0
    sig = _signature(key, profile_id, grant, expires)
    query = f"profile={profile_id}&grant={grant}&expires={expires}&sig={sig}"
    return f"{base_url.rstrip('/')}/delta-sharing/files/{key}.parquet?{query}", expires * 1000


def check_signature(
    key: str, profile_id: int, grant_id: int, expires: int, sig: str, *, now: float | None = None
) -> None:
    """Refuse (403) a URL whose signature does not match or that has expired."""
    good = KEY_PATTERN.match(key) and hmac.compare_digest(_signature(key, profile_id, grant_id, expires), sig)
    if not good:
        raise FileUrlRefused("文件链接签名无效")
    if expires <= (now if now is not None else time.time()):
        raise FileUrlRefused("文件链接已过期，请重新查询数据表以获取新的链接", code="sharing.file_url_expired")

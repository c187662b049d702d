"""Backup and restore of a whole platform: the metadata database and the home's files, consistent
while the platform serves and writes, restorable into a fresh home on SQLite or PostgreSQL.

An archive is one tar file::

    manifest.json                 format, schema revision, source database, row counts, file count
    db/<table>.jsonl.gz           every table's rows, one JSON object per row (typed: see below)
    files/<path under the home>   the record files, facts, scores, materials, reports, keys

**Consistency.** The tables are read in one read-only snapshot transaction (PostgreSQL: REPEATABLE
READ; SQLite in WAL mode: one read transaction), so they agree with each other however the platform
writes meanwhile. The files are copied *after* the snapshot began: every file a row of the snapshot
names was published (an atomic rename) before that row committed, and the platform deletes no
published file but a draft report's, so the copy holds them all; files newer than the snapshot come
along unreferenced, which is harmless. What is never copied: the SQLite database itself (its rows are
in ``db/``), staging folders (uploads in progress) and the ingest uploads of queued jobs.

**Portability.** Rows are written as JSON by column type (instants and dates in ISO 8601, JSON as
JSON), so an archive made on SQLite restores into PostgreSQL and back. ``restore`` refuses a target
database that already holds data or a home that holds files, builds the schema with the migrations,
refuses an archive of another schema revision, inserts the tables parents first in batches (on
SQLite with foreign keys checked at commit), sets PostgreSQL's id sequences past the restored ids,
and unpacks the files — all or nothing for the database (one transaction).

The archive holds the home's secrets (the session key, the audit signing key): it is written with
mode 600 and must be kept like them.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    Numeric,
    Table,
    TypeDecorator,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import inspect as sa_inspect

from pubdata import models  # noqa: F401  (every table registered on the metadata)
from pubdata.db import Base, migrate, utcnow
from pubdata.errors import Conflict, Invalid
from pubdata.jobs import registry

FORMAT = "pubdata-backup/1"
BATCH = 5000
SKIPPED_DIRS = {"uploads", "backups"}  # queued ingest uploads (transient); archives of queued backups
BACKUPS_DIR = "backups"  # where a queued backup writes its archive, under the home
DATABASE_FILES = ("pubdata.sqlite3", "pubdata.sqlite3-wal", "pubdata.sqlite3-shm", "pubdata.sqlite3-journal")


class BackupError(Invalid):
    code = "backup.invalid"


class RestoreRefused(Conflict):
    code = "backup.restore_refused"


@dataclass(frozen=True)
class Summary:
    path: Path
    revision: str
    database: str
    tables: dict[str, int]
    files: int
    bytes: int


# --- encoding rows -------------------------------------------------------------------------------


def _kind(column: Any) -> Any:
    """The column's SQL type under any decorator (``UTCDateTime`` is a ``DateTime``)."""
    return column.type.impl if isinstance(column.type, TypeDecorator) else column.type


def _encoder(column: Any) -> Any:
    kind = _kind(column)
    if isinstance(kind, DateTime):
        return lambda v: v.astimezone(UTC).isoformat() if v.tzinfo else v.isoformat()
    if isinstance(kind, Date):
        return date.isoformat
    if isinstance(kind, Numeric) and kind.asdecimal:
        return str
    if isinstance(kind, LargeBinary):
        return lambda v: base64.b64encode(v).decode()
    return None


def _decoder(column: Any) -> Any:
    kind = _kind(column)
    if isinstance(kind, DateTime):
        return datetime.fromisoformat
    if isinstance(kind, Date):
        return date.fromisoformat
    if isinstance(kind, Numeric) and kind.asdecimal:
        return Decimal
    if isinstance(kind, LargeBinary):
        return base64.b64decode
    return None


def _convert(row: dict[str, Any], converters: dict[str, Any]) -> dict[str, Any]:
    for name, fn in converters.items():
        if row.get(name) is not None:
            row[name] = fn(row[name])
    return row


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)  # parents before children


def _revision(conn: Connection) -> str:
    found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if not found:
        raise BackupError("数据库尚未初始化（没有迁移版本），无法备份")
    return str(found)


# --- backup --------------------------------------------------------------------------------------


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection inside one read-only snapshot transaction."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn, conn.begin():
            yield conn
        return
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("BEGIN")  # pysqlite would not open a transaction for reads alone
        raw.execute("SELECT count(*) FROM alembic_version")  # the snapshot starts at the first read
        try:
            yield conn
        finally:
            raw.execute("ROLLBACK")


def _dump_table(conn: Connection, table: Table, tar: tarfile.TarFile) -> int:
    encoders = {c.name: f for c in table.columns if (f := _encoder(c)) is not None}
    buffer = io.BytesIO()
    count = 0
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as out:
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(select(table))
        for row in result.mappings():
            line = json.dumps(_convert(dict(row), encoders), ensure_ascii=False, separators=(",", ":"))
            out.write(line.encode() + b"\n")
            count += 1
    _add_bytes(tar, f"db/{table.name}.jsonl.gz", buffer.getvalue())
    return count


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(utcnow().timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


def _home_files(home: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(home):
        here = Path(root)
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".staging") and not (here == home and d in SKIPPED_DIRS)
        )  # fmt: skip
        for name in sorted(names):
            if here == home and name in DATABASE_FILES:
                continue
            if name.endswith((".partial", ".tmp")):
                continue
            yield here / name


def backup(engine: Engine, home: Path, target: Path) -> Summary:
    """Write an archive of the platform to ``target`` (refused if it exists): the database in one
    snapshot, then the home's files. Written to ``<target>.partial`` and renamed when complete."""
    home = home.resolve()
    target = target.resolve()
    if target.exists():
        raise BackupError(f"备份文件已存在，不会覆盖：{target}", field="target")
    if home in target.parents and target.parent != home / BACKUPS_DIR:  # the one folder no backup copies
        raise BackupError(f"备份文件不能写在数据目录之内：{target}", field="target")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    counts: dict[str, int] = {}
    files = size = 0
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            with _snapshot(engine) as conn:
                revision = _revision(conn)
                for table in _tables():
                    counts[table.name] = _dump_table(conn, table, tar)
                # the files after the snapshot began: everything its rows name is already published
                for path in _home_files(home):
                    try:
                        tar.add(path, arcname=f"files/{path.relative_to(home).as_posix()}", recursive=False)
                    except FileNotFoundError:  # a staged or superseded file removed meanwhile
                        continue
                    files += 1
                    size += path.stat().st_size if path.exists() else 0
            manifest = {
                "format": FORMAT, "created_at": utcnow().isoformat(), "revision": revision,
                "database": engine.dialect.name, "tables": counts, "files": files,
            }  # fmt: skip
            _add_bytes(tar, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Summary(target, revision, engine.dialect.name, counts, files, size)


def queued_target(home: Path, job_id: str) -> Path:
    """Where the backup job ``job_id`` writes its archive: ``$PUBDATA_HOME/backups/`` (never copied
    into another backup)."""
    return home.resolve() / BACKUPS_DIR / f"pubdata-backup-{job_id}.tar"


def _backup_job(ctx: registry.Context) -> registry.Outcome:
    """The ``backup`` job: an archive under the home named after the job, so a second run of the
    same job finds it written and writes nothing (an interrupted run left only a ``.partial``)."""
    if ctx.engine is None:
        raise BackupError("备份任务需要独立的数据库连接", field="engine")
    target = queued_target(ctx.home, ctx.job_id)
    if target.is_file():
        return registry.Outcome({"path": str(target), "bytes": target.stat().st_size, "reused": True})
    ctx.progress("备份数据库与文件", 10, None)
    summary = backup(ctx.engine, ctx.home, target)
    return registry.Outcome(
        {"path": str(summary.path), "bytes": summary.bytes, "files": summary.files, "revision": summary.revision,
         "tables": len(summary.tables)},
        rows=sum(summary.tables.values()),
    )  # fmt: skip


registry.register(registry.Handler(kind="backup", title="平台备份", run=_backup_job))


# --- restore -------------------------------------------------------------------------------------


def _read_manifest(tar: tarfile.TarFile, source: Path) -> dict[str, Any]:
    try:
        member = tar.extractfile("manifest.json")
    except KeyError:
        member = None
    if member is None:
        raise BackupError(f"不是 pubdata 备份文件（缺少 manifest.json）：{source}", field="archive")
    manifest: dict[str, Any] = json.loads(member.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"备份格式 {manifest.get('format')!r} 不受支持（本版本读取 {FORMAT}）", field="archive")
    return manifest


def _check_empty(engine: Engine, home: Path) -> None:
    existing = set(sa_inspect(engine).get_table_names())
    if existing:
        with engine.connect() as conn:
            holding = [t.name for t in _tables() if t.name in existing and conn.execute(select(t).limit(1)).first()]
        if holding:
            raise RestoreRefused(f"目标数据库已有数据（如 {'、'.join(holding[:3])}），只能恢复到空数据库")
    if home.exists():
        present = [p for p in home.iterdir() if p.name not in DATABASE_FILES]
        if present:
            raise RestoreRefused(f"目标数据目录不是空的（如 {present[0].name}），只能恢复到新的数据目录")


def _load_table(conn: Connection, table: Table, tar: tarfile.TarFile) -> int:
    member = tar.extractfile(f"db/{table.name}.jsonl.gz")
    if member is None:
        raise BackupError(f"备份中缺少数据表 {table.name}", field="archive")
    decoders = {c.name: f for c in table.columns if (f := _decoder(c)) is not None}
    order = list(table.primary_key.columns)
    batch: list[dict[str, Any]] = []
    count = 0
    rows = (_convert(json.loads(line), decoders) for line in gzip.GzipFile(fileobj=member))
    # rows of a self-referencing table in key order: what a row refers to was created before it
    for row in sorted(rows, key=lambda r: tuple(r[c.name] for c in order)) if _self_referencing(table) else rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(insert(table), batch)
            count, batch = count + len(batch), []
    if batch:
        conn.execute(insert(table), batch)
        count += len(batch)
    return count


def _self_referencing(table: Table) -> bool:
    return any(fk.column.table is table for fk in table.foreign_keys)


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: each table's id sequence continues after the restored ids."""
    for table in _tables():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer) or keys[0].autoincrement is False:
            continue
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": keys[0].name})
        name = sequence.scalar()
        if name:
            conn.execute(
                text(f'SELECT setval(:s, coalesce((SELECT max("{keys[0].name}") FROM "{table.name}"), 0) + 1, false)'),
                {"s": name},
            )


def _extract_files(tar: tarfile.TarFile, home: Path) -> int:
    count = 0
    for member in tar.getmembers():
        if not member.name.startswith("files/") or not member.isfile():
            continue
        relative = Path(member.name.removeprefix("files/"))
        if relative.is_absolute() or ".." in relative.parts:
            raise BackupError(f"备份中的文件路径无效：{member.name}", field="archive")
        target = home / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        assert source is not None
        with open(target, "wb") as out:
            shutil.copyfileobj(source, out)
        os.chmod(target, member.mode & 0o777)
        count += 1
    return count


def _settle_transient(conn: Connection) -> None:
    """What belonged to the processes of the old deployment: its leases are dropped (this one's
    processes take the periodic work at once), its queued or running ingest jobs fail — their
    uploads are not in the archive — with a message saying so, and its running jobs of other kinds
    go back to the queue (their parameters are ids: they run again, once)."""
    from pubdata.jobs.models import Job
    from pubdata.leases import WorkerLease

    conn.execute(delete(WorkerLease))
    conn.execute(
        update(Job)
        .where(Job.state.in_(("queued", "running")), Job.kind == "ingest")
        .values(state="failed", stage="失败", finished_at=utcnow(), active_key=None, error={
            "code": "store.job_not_restored", "details": None,
            "message": "从备份恢复：备份不含排队中的上传文件，请重新上传",
        })
    )  # fmt: skip
    conn.execute(
        update(Job)
        .where(Job.state == "running", Job.kind != "ingest")
        .values(state="queued", stage="排队中（从备份恢复）", worker=None, heartbeat_at=None)
    )


def restore(engine: Engine, home: Path, source: Path) -> Summary:
    """Restore an archive into an empty database and a new home (refused otherwise)."""
    home = home.resolve()
    if not source.is_file():
        raise BackupError(f"备份文件不存在：{source}", field="archive")
    try:
        opened = tarfile.open(source, mode="r")  # noqa: SIM115 - closed by the with below
    except tarfile.TarError as exc:
        raise BackupError(f"无法读取备份文件：{exc}", field="archive") from None
    with opened as tar:
        manifest = _read_manifest(tar, source)
        _check_empty(engine, home)
        migrate(engine)
        with engine.connect() as conn:
            current = _revision(conn)
        if current != manifest["revision"]:
            raise RestoreRefused(
                f"备份的数据库结构版本为 {manifest['revision']}，本程序为 {current}："
                "请用与备份时相同版本的 pubdata 恢复"
            )
        counts: dict[str, int] = {}
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # checked when the transaction commits
            for table in reversed(_tables()):  # rows the migrations seeded: the archive has them as they were
                conn.execute(table.delete())
            for table in _tables():
                counts[table.name] = _load_table(conn, table, tar)
            if engine.dialect.name == "postgresql":
                _reset_sequences(conn)
            _settle_transient(conn)
        if counts != manifest["tables"]:
            wrong = {t: (n, manifest["tables"].get(t)) for t, n in counts.items() if manifest["tables"].get(t) != n}
            raise BackupError(f"恢复的行数与备份清单不符：{wrong}", field="archive")
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=home.parent) as tmp:
            staged = Path(tmp) / "files"
            files = _extract_files(tar, staged)
            for child in staged.iterdir() if staged.exists() else ():
                os.replace(child, home / child.name)
    return Summary(source, current, engine.dialect.name, counts, files, source.stat().st_size)

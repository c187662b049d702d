"""Loading a file into a new immutable version of a table.

The file is read by DuckDB as text columns (CSV in UTF-8 or GBK/GB18030, JSON Lines, Parquet), its
header checked against the schema, and every value normalised and checked in one vectorised query
(``semantic.problem_sql`` for the types and semantic types, SQL for the schema's constraints and the
primary key). Valid rows are written, typed, to ``data.parquet``; rejected ones to ``rejects.csv``
(row, column, value, reason). The work happens in a DuckDB database file inside the staging
directory, so memory stays bounded (DuckDB spills) and a crash leaves nothing visible: the version
becomes visible only when its directory is renamed into place and the metadata transaction commits.
A version whose rejected rows exceed the table's threshold (default 5%) is refused whole.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.catalog import service as catalog
from pubdata.db import utcnow
from pubdata.errors import Invalid
from pubdata.store import files, semantic, table_schema
from pubdata.store.errors import TableNotFound
from pubdata.store.models import StoreTable, StoreVersion
from pubdata.store.quality import LoadFacts, measure

ROW = "_row"  # the source row number (1 = first data row), kept through validation
FORMATS = {".csv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_CHUNK = 1 << 20
Progress = Callable[[str, int, "int | None"], None]  # (stage, percent, rows read so far or None)


class InvalidSource(Invalid):
    code = "store.invalid_source"


@dataclass
class LoadResult:
    version: int
    state: str  # published | refused
    rows_loaded: int
    rows_rejected: int
    quality: dict[str, Any]
    rejects_file: str | None
    problems: dict[str, int] = field(default_factory=dict)  # reason → count

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "state": self.state,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "quality": self.quality,
            "rejects_file": self.rejects_file,
        }


# --- reading the source ------------------------------------------------------------------------


def _utf8_or_transcode(path: Path, staged: Path) -> tuple[Path, str]:
    """The file itself when it is valid UTF-8 (a BOM is fine); otherwise a UTF-8 copy decoded from
    GB18030 (a superset of GBK and GB2312). Streams in 1 MB chunks: memory stays flat."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return path, "utf-8"
    except UnicodeDecodeError:
        pass
    target = staged / "source-utf8.csv"
    gb = codecs.getincrementaldecoder("gb18030")()
    try:
        with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(gb.decode(chunk))
            dst.write(gb.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        raise InvalidSource(
            f"文件编码无法识别：既不是 UTF-8 也不是 GBK/GB18030（第 {exc.start} 字节附近）", field="file"
        ) from None
    return target, "gb18030"


def _source_relation(path: Path, fmt: str, staged: Path) -> tuple[str, str | None]:
    """SQL of the file as a relation of text columns, and the encoding read."""
    if fmt == "csv":
        utf8, encoding = _utf8_or_transcode(path, staged)
        return (
            f"read_csv({semantic.sql_literal(str(utf8))}, header = true, all_varchar = true, "
            "strict_mode = true, max_line_size = 10485760, null_padding = false)",
            encoding,
        )
    if fmt == "jsonl":
        return f"read_json({semantic.sql_literal(str(path))}, format = 'newline_delimited')", "utf-8"
    return f"read_parquet({semantic.sql_literal(str(path))})", None


def _format_of(path: Path, declared: str | None) -> str:
    fmt = declared or FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "jsonl", "parquet"):
        raise InvalidSource(
            f"不支持的文件格式：{path.suffix or declared}（支持 CSV、JSON Lines、Parquet）", field="file"
        )
    return fmt


# --- checking ----------------------------------------------------------------------------------


def _kind(f: table_schema.SchemaField) -> str:
    if f.semantic_type:
        return f.semantic_type
    return "string" if f.type == "any" else f.type


def _constraint_checks(f: table_schema.SchemaField, v: str) -> list[tuple[str, str]]:
    """(condition, reason) pairs for the field's constraints over its normalised value ``v``."""
    c = f.constraints
    checks: list[tuple[str, str]] = []
    if c is None:
        return checks
    if c.required:
        checks.append((f"{v} IS NULL", "必填字段为空"))
    if c.enum:
        allowed = ", ".join(semantic.sql_literal(str(x)) for x in c.enum)
        checks.append((f"{v} IS NOT NULL AND {v} NOT IN ({allowed})", "取值不在允许范围内"))
    if c.pattern:
        checks.append(
            (f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {semantic.sql_literal(c.pattern)})", "不符合格式要求")
        )
    if c.min_length is not None:
        checks.append((f"length({v}) < {int(c.min_length)}", f"长度小于 {c.min_length}"))
    if c.max_length is not None:
        checks.append((f"length({v}) > {int(c.max_length)}", f"长度超过 {c.max_length}"))
    typed = f"TRY_CAST({v} AS {table_schema.duckdb_type(f)})"
    for bound, op, reason in ((c.minimum, "<", "小于最小值"), (c.maximum, ">", "大于最大值")):
        if bound is not None:
            value = table_schema.typed_value(f, bound)
            literal = semantic.sql_literal(str(value))
            checks.append((f"{typed} {op} CAST({literal} AS {table_schema.duckdb_type(f)})", f"{reason} {value}"))
    return checks


def _raw(name: str) -> str:
    return semantic.quote_identifier(f"{name}__raw")


def _normalised_sql(schema: table_schema.TableSchema) -> str:
    """First pass: each field's normalised value, and its text as written (for the rejects file)."""
    parts = [ROW]
    for f in schema.fields:
        col = semantic.quote_identifier(f.name)
        parts.append(f"{semantic.normalise_sql(_kind(f), col)} AS {col}")
        parts.append(f"CAST({col} AS VARCHAR) AS {_raw(f.name)}")
    return ", ".join(parts)


def _problems_sql(schema: table_schema.TableSchema) -> str:
    """Second pass, over normalised values: the row number, the values, and one ``_problems`` list
    of {col, val, reason} (each reason computed once; the list keeps the non-null ones)."""
    select_list = [ROW, *(semantic.quote_identifier(f.name) for f in schema.fields)]
    problems: list[str] = []

    def problem(name: str, value: str, reason_sql: str) -> None:
        problems.append(f"struct_pack(col := {semantic.sql_literal(name)}, val := {value}, reason := ({reason_sql}))")

    for f in schema.fields:
        v = semantic.quote_identifier(f.name)
        raw = _raw(f.name)
        problem(f.name, raw, semantic.problem_sql(_kind(f), v, normalised=True))
        for cond, reason in _constraint_checks(f, v):
            problem(f.name, raw, f"CASE WHEN {cond} THEN {semantic.sql_literal(reason)} END")
        if f.constraints is not None and f.constraints.unique:
            problem(
                f.name,
                raw,
                f"CASE WHEN {v} IS NOT NULL AND row_number() OVER (PARTITION BY {v} ORDER BY {ROW}) > 1 "
                "THEN '值重复' END",
            )
    key = schema.primary_key_fields
    if key:
        parts = ", ".join(semantic.quote_identifier(k) for k in key)
        problem(
            ",".join(key),
            f"concat_ws(',', {parts})",
            f"CASE WHEN row_number() OVER (PARTITION BY {parts} ORDER BY {ROW}) > 1 THEN '主键重复' END",
        )
    select_list.append("list_filter([" + ", ".join(problems) + "], p -> p.reason IS NOT NULL) AS _problems")
    return ", ".join(select_list)


def _check_header(con: duckdb.DuckDBPyConnection, relation: str, schema: table_schema.TableSchema) -> None:
    try:
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    except duckdb.Error as exc:
        raise InvalidSource(f"无法读取文件：{str(exc).splitlines()[0]}", field="file") from None
    names = [f.name for f in schema.fields]
    missing = [n for n in names if n not in columns]
    extra = [c for c in columns if c not in names]
    if missing or extra:
        parts = []
        if missing:
            parts.append("缺少字段 " + "、".join(missing))
        if extra:
            parts.append("多出字段 " + "、".join(extra))
        raise InvalidSource("表头与表结构不一致：" + "；".join(parts), field="header")


# --- loading -----------------------------------------------------------------------------------


def ingest(
    session: Session,
    actor: Actor,
    resource_id: str,
    path: Path,
    *,
    home: Path,
    source_name: str | None = None,
    source_format: str | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Load the file at ``path`` as the next version of the resource's table. Only the entry's
    department or the operator may load. Raises ``Invalid`` (nothing stored) for unreadable files or a
    header that does not match; returns a refused result when too many rows are rejected."""
    fmt = _format_of(path, source_format)
    if not path.is_file():
        raise InvalidSource(f"文件不存在：{path}", field="file")
    return _load(
        session,
        actor,
        resource_id,
        lambda staged: _source_relation(path, fmt, staged),
        home=home,
        source_name=source_name or path.name,
        source_format=fmt,
        source_bytes=path.stat().st_size,
        progress=progress,
    )


def load_relation(
    session: Session,
    actor: Actor,
    resource_id: str,
    relation_sql: str,
    *,
    home: Path,
    source_name: str,
    progress: Progress | None = None,
) -> LoadResult:
    """Load the rows of a DuckDB query (columns named as the schema's fields, e.g. the demo city's
    generated records) as the next version, through the same checks, rejects and quality report as
    a file. The query must be self-contained: it runs in the load's own connection."""
    return _load(
        session,
        actor,
        resource_id,
        lambda _staged: (f"({relation_sql})", None),
        home=home,
        source_name=source_name,
        source_format="generated",
        source_bytes=0,
        progress=progress,
    )


def _load(
    session: Session,
    actor: Actor,
    resource_id: str,
    source: Callable[[Path], tuple[str, str | None]],
    *,
    home: Path,
    source_name: str,
    source_format: str,
    source_bytes: int,
    progress: Progress | None,
) -> LoadResult:
    report = progress or (lambda _stage, _pct, _rows: None)
    resource = catalog.get_resource(session, actor, resource_id)
    catalog.editable_entry(session, actor, resource.entry.code)
    table = session.get(StoreTable, resource.id)
    if table is None:
        raise TableNotFound(f"资源尚未建立数据表：{resource_id}")
    schema = table_schema.parse_schema(table.table_schema)
    number = (
        session.scalar(select(func.max(StoreVersion.number)).where(StoreVersion.resource_id == resource.id)) or 0
    ) + 1
    files.sweep_staging(home, resource.id)

    with files.staging(home, resource.id) as staged:
        report("读取", 5, None)
        relation, encoding = source(staged)
        con = duckdb.connect(
            str(staged / "work.duckdb"),
            config={
                "memory_limit": "2GB",
                "threads": 2,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            },
        )
        try:
            _check_header(con, relation, schema)
            try:
                con.execute(f"CREATE TABLE src AS SELECT row_number() OVER () AS {ROW}, * FROM {relation}")
            except duckdb.Error as exc:
                raise InvalidSource(f"文件内容无法解析：{str(exc).splitlines()[0]}", field="file") from None
            report("校验", 40, con.execute("SELECT count(*) FROM src").fetchone()[0])  # type: ignore[index]
            con.execute(f"CREATE TABLE normalised AS SELECT {_normalised_sql(schema)} FROM src")
            con.execute("DROP TABLE src")
            con.execute(f"CREATE TABLE checked AS SELECT {_problems_sql(schema)} FROM normalised")
            con.execute("DROP TABLE normalised")
            total = con.execute("SELECT count(*) FROM checked").fetchone()[0]  # type: ignore[index]
            rejected = con.execute("SELECT count(*) FROM checked WHERE len(_problems) > 0").fetchone()[0]  # type: ignore[index]
            reasons = dict(
                con.execute(
                    "SELECT p.reason, count(*) FROM (SELECT unnest(_problems) AS p FROM checked) GROUP BY 1"
                ).fetchall()
            )
            rejects_path = staged / files.REJECTS_FILE
            con.execute(
                f"COPY (SELECT {ROW} AS row, p.col AS column, p.val AS value, p.reason AS reason FROM "
                f"(SELECT {ROW}, unnest(_problems) AS p FROM checked) ORDER BY {ROW}) "
                f"TO {semantic.sql_literal(str(rejects_path))} (HEADER, DELIMITER ',')"
            )
            refused = total == 0 or rejected / total > table.reject_threshold
            report("写入", 70, total)
            if not refused:
                typed = ", ".join(
                    f"TRY_CAST({semantic.quote_identifier(f.name)} AS {table_schema.duckdb_type(f)}) "
                    f"AS {semantic.quote_identifier(f.name)}"
                    for f in schema.fields
                )
                con.execute(
                    f"COPY (SELECT {typed} FROM checked WHERE len(_problems) = 0 ORDER BY {ROW}) TO "
                    f"{semantic.sql_literal(str(staged / files.DATA_FILE))} (FORMAT parquet, COMPRESSION zstd)"
                )
            quality = measure(
                con,
                "checked",
                schema,
                LoadFacts(total=total, rejected=rejected, reasons=reasons),
                update_frequency=resource.entry.update_frequency,
                loaded_at=utcnow(),
            )
        finally:
            con.close()
        (staged / "work.duckdb").unlink(missing_ok=True)
        (staged / "work.duckdb.wal").unlink(missing_ok=True)
        if encoding == "gb18030":
            (staged / "source-utf8.csv").unlink(missing_ok=True)
        target = files.version_dir(home, resource.id, number)
        files.publish(staged, target)

    version = StoreVersion(
        resource_id=resource.id,
        number=number,
        state="refused" if refused else "published",
        source_name=source_name,
        source_format=source_format,
        source_encoding=encoding,
        source_bytes=source_bytes,
        rows_loaded=0 if refused else total - rejected,
        rows_rejected=rejected,
        quality=quality,
        created_by=actor.user_id,
        published_at=None if refused else utcnow(),
    )
    session.add(version)
    if not refused:
        table.current_version = number
        table.updated_at = utcnow()
    session.flush()
    report("完成", 100, total)
    return LoadResult(
        version=number,
        state=version.state,
        rows_loaded=version.rows_loaded,
        rows_rejected=rejected,
        quality=quality,
        rejects_file=str(target / files.REJECTS_FILE) if rejected else None,
        problems=reasons,
    )

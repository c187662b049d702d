"""Loading a file into a new immutable version of a table.

The file is read by DuckDB as text columns (CSV in UTF-8 or GBK/GB18030, XLSX through a staged CSV,
JSON Lines, Parquet), its header checked against the schema, and every value normalised and checked
in one streamed, vectorised query (``semantic``: a one-regex shortcut for values valid and canonical
or in a common plain spelling; for the rest the cleaned value computed once, the same shortcut tried
on it, else the normalisation from it and the full checks unless the normalised value is canonical
and valid; SQL for the schema's constraints). Only rows with a problem get the list of their
problems built. Primary-key and unique-field duplicates are found afterwards with one ``GROUP BY``
each (over the keys' hashes first). Valid rows are written, typed, to ``data.parquet``; rejected ones
to ``rejects.csv`` (row, column, value, reason).

The work happens in an in-memory DuckDB database whose temporary directory is inside the staging
directory, so memory stays bounded (DuckDB spills the checked rows there beyond its memory limit)
and a crash leaves nothing visible: the version becomes visible only when its directory is renamed
into place and the metadata transaction commits. A version whose rejected rows exceed the table's
threshold (default 5%) is refused whole.
"""

from __future__ import annotations

import codecs
import csv
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata import duck
from pubdata.authz import Actor
from pubdata.catalog import service as catalog
from pubdata.db import utcnow
from pubdata.errors import Invalid
from pubdata.settings import get_settings
from pubdata.store import files, table_schema
from pubdata.store.errors import TableNotCreated
from pubdata.store.ingest import semantic, text_index, xlsx
from pubdata.store.models import StoreTable, StoreVersion
from pubdata.store.quality.checks import LoadFacts, measure

if TYPE_CHECKING:
    from pubdata.catalog.models import CatalogResource

ROW = "_row"  # the source row number (1 = first data row), kept through validation
BAD = "_bad"  # true when the row has at least one problem (then ``_problems`` lists them)
FAILED = "_failed"  # on a bad row: bit i set when field i has a problem (tables of at most FAILED_BITS fields)
FAILED_BITS = 62
PROBLEMS = "_problems"
FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
MAX_LINE_BYTES = 10 * 1024 * 1024  # one CSV line (record) at most
MEMORY_LIMIT = "2GB"  # DuckDB's share; beyond it the checked rows spill to the staging directory
THREADS = 2
# zstd level 1: a quarter less CPU than the default level 3 for a file about a tenth larger. A
# dictionary only for columns of at most 10,000 distinct values in a row group (codes, names, phone
# numbers are written plain at once rather than after a dictionary of most of their values was
# built and dropped): a sixth less CPU for the file, and a smaller one; the values are the same.
PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, DICTIONARY_SIZE_LIMIT 10000)"
_CHUNK = 1 << 20
_CHECK_BATCH = 1 << 20  # codes per NumPy batch when verifying check characters
_SNIFF = 64 * 1024
_PROBLEM_TYPE = "STRUCT(col VARCHAR, val VARCHAR, reason VARCHAR)[]"
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


@dataclass(frozen=True)
class Source:
    """A source as DuckDB reads it: a relation of (text) columns, the encoding read, and the header
    when the reader already knows it (otherwise DuckDB describes the relation)."""

    relation: str
    encoding: str | None
    columns: list[str] | None = None
    kind: str = "file"  # file | generated
    fallback: Callable[[], Source] | None = None  # the source read again when it is not valid UTF-8


# --- reading the source ------------------------------------------------------------------------

_LABELS = {"csv": "CSV", "xlsx": "XLSX", "jsonl": "JSON Lines", "parquet": "Parquet"}


def _sniff(path: Path, fmt: str) -> None:
    """Refuse an empty file, and a file whose content is not what its format says (an Excel workbook
    renamed .csv, a CSV renamed .parquet, a PDF...), before any reader sees it."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF)
        if fmt == "parquet" and len(head) >= 4:
            fh.seek(-4, 2)
            tail = fh.read(4)
        else:
            tail = b""
    if not head:
        raise InvalidSource("文件为空（0 字节），没有可载入的数据", field="file")
    actual = _content_kind(head)
    expected = {"csv": "text", "jsonl": "text", "xlsx": "zip", "parquet": "parquet"}[fmt]
    if fmt == "parquet" and actual == "parquet" and tail != b"PAR1":
        raise InvalidSource("Parquet 文件已损坏或不完整（缺少文件尾）", field="file")
    if actual != expected:
        described = {
            "zip": "ZIP 压缩包（例如 XLSX 工作簿）",
            "parquet": "Parquet 文件",
            "ole": "旧版 Office 文件（例如 .xls）",
            "pdf": "PDF 文件",
            "gzip": "gzip 压缩文件",
            "binary": "二进制文件",
            "text": "文本文件",
        }[actual]
        hint = "；旧版 .xls 请另存为 .xlsx 或 CSV" if actual == "ole" else ""
        raise InvalidSource(f"文件内容与格式不符：按 {_LABELS[fmt]} 载入，但内容是{described}{hint}", field="file")


def _content_kind(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if b"\x00" in head:  # no text encoding we accept has NUL bytes (UTF-16 is not accepted either)
        return "binary"
    return "text"


def _transcoded(path: Path, staged: Path) -> Path:
    """A UTF-8 copy of ``path`` decoded as GB18030 (a superset of GBK and GB2312), streamed in 1 MB
    chunks: memory stays flat. Raises ``InvalidSource`` when it is not GB18030 either."""
    target = staged / "source-utf8.csv"
    gb = codecs.getincrementaldecoder("gb18030")()
    offset = 0
    try:
        with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(gb.decode(chunk))
                offset += len(chunk)
            dst.write(gb.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        raise InvalidSource(
            f"文件编码无法识别：既不是 UTF-8 也不是 GBK/GB18030（第 {offset + exc.start} 字节附近）", field="file"
        ) from None
    return target


def _csv_header(path: Path) -> list[str]:
    """The first record of a UTF-8 CSV file (BOM removed), read without loading the file. Raises
    ``UnicodeDecodeError`` when it is not UTF-8."""
    csv.field_size_limit(MAX_LINE_BYTES)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        try:
            header = next(csv.reader(fh), None)
        except csv.Error as exc:
            raise InvalidSource(f"表头无法解析：{exc}", field="header") from None
    if not header or header == [""]:
        raise InvalidSource("文件没有表头（第 1 行为空）", field="header")
    return [name.strip() for name in header]


def csv_relation(path: Path, columns: list[str]) -> str:
    """SQL reading a UTF-8 CSV file with the given header as text columns. The dialect is fixed
    (comma, double quotes) rather than sniffed, so a ragged or malformed line is an error that names
    its line instead of a guessed dialect."""
    cols = ", ".join(f"{semantic.sql_literal(c)}: 'VARCHAR'" for c in columns)
    return (
        f"read_csv({semantic.sql_literal(str(path))}, auto_detect = false, header = true, delim = ',', "
        f"quote = '\"', escape = '\"', columns = {{{cols}}}, strict_mode = true, "
        f"max_line_size = {MAX_LINE_BYTES}, null_padding = false)"
    )


def _file_source(path: Path, fmt: str, staged: Path, report: Progress) -> Source:
    if fmt == "xlsx":
        utf8 = staged / "source-xlsx.csv"
        try:
            xlsx.to_csv(path, utf8, progress=lambda rows: report("读取", 10, rows))
        except xlsx.WorkbookRejected as exc:
            raise InvalidSource(exc.message, field="file") from None
        return _csv_source(utf8, None)
    if fmt == "csv":
        # Taken as UTF-8 (DuckDB validates every byte it reads); a file that turns out not to be is
        # transcoded from GB18030 and read again (``Source.fallback``). Most files are UTF-8 and pay
        # for no separate pass over their bytes.
        try:
            return _csv_source(path, "utf-8", fallback=lambda: _csv_source(_transcoded(path, staged), "gb18030"))
        except UnicodeDecodeError:
            return _csv_source(_transcoded(path, staged), "gb18030")
    if fmt == "jsonl":
        return Source(f"read_json({semantic.sql_literal(str(path))}, format = 'newline_delimited')", "utf-8")
    return Source(f"read_parquet({semantic.sql_literal(str(path))})", None)


def _csv_source(path: Path, encoding: str | None, fallback: Callable[[], Source] | None = None) -> Source:
    columns = _csv_header(path)
    _match_header(columns, None)  # duplicates and blanks; schema fields are matched by the load
    return Source(csv_relation(path, columns), encoding, columns, fallback=fallback)


def _format_of(path: Path, declared: str | None) -> str:
    fmt = declared or FORMATS.get(path.suffix.lower())
    if fmt not in _LABELS:
        raise InvalidSource(
            f"不支持的文件格式：{path.suffix or declared}（支持 CSV、XLSX、JSON Lines、Parquet）", field="file"
        )
    return fmt


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_JSON_LINE = re.compile(r"Malformed JSON in file .*? in line (\d+)")
_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _read_error(exc: duckdb.Error) -> InvalidSource:
    """A reader's error as a message naming the line and the problem."""
    text = str(exc)
    json_line = _JSON_LINE.search(text)
    if json_line:
        # DuckDB 1.5 counts JSON lines from 2 (one past the line it could not parse)
        number = max(int(json_line.group(1)) - 1, 1)
        return InvalidSource(f"第 {number} 行不是有效的 JSON（JSON Lines 每行一个对象）", field="file")
    line = _LINE.search(text)
    where = f"第 {line.group(1)} 行" if line else "文件中"
    if "Maximum line size" in text:
        return InvalidSource(
            f"{where}超过单行大小上限 {MAX_LINE_BYTES // (1024 * 1024)} MB（{MAX_LINE_BYTES} 字节）", field="file"
        )
    columns = _COLUMNS.search(text)
    if columns:
        return InvalidSource(
            f"{where}的列数与表头不一致：应为 {columns.group(1)} 列，实为 {columns.group(2)} 列", field="file"
        )
    if "unterminated quote" in text:
        return InvalidSource(f"{where}有未闭合的引号", field="file")
    if "Invalid unicode" in text or "not utf-8" in text:
        return InvalidSource(f"{where}含有无效的 UTF-8 字符", field="file")
    first = text.splitlines()[0].removeprefix("Invalid Input Error: ").removeprefix("Conversion Error: ")
    return InvalidSource(f"文件内容无法解析（{where}）：{first}", field="file")


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


def _text(i: int) -> str:
    return f'"text#{i}"'  # "#" is not allowed in field names (table_schema.NAME_PATTERN): no clash


def _fast(i: int) -> str:
    return f'"fast#{i}"'


def _reason(i: int, j: int) -> str:
    return f'"reason#{i}#{j}"'


def _raw(i: int) -> str:
    return f'"raw#{i}"'


def _unique(f: table_schema.SchemaField) -> bool:
    return f.constraints is not None and bool(f.constraints.unique)


def _select_layers(base: str, layers: list[list[str]]) -> str:
    sql = base
    for layer in layers:
        sql = f"SELECT {', '.join(layer)} FROM ({sql})"
    return sql


def _reason_layer(
    schema: table_schema.TableSchema,
    keep: list[str],
    fast: dict[int, semantic.FastPath | None],
    *,
    settle: bool = False,
    again: dict[int, semantic.FastPath] | None = None,
) -> tuple[list[str], list[tuple[int, str]]]:
    """Select list computing every reason column over the normalised values (the type check only
    where neither the shortcut as written nor, from ``again``, the shortcut on the cleaned value
    applied, nor, with ``settle``, ``semantic.settled_sql`` on the normalised value — all leave check
    characters to ``_check_characters``; then the constraints), and (field index, column) of each."""
    q = semantic.quote_identifier
    layer = list(keep)
    reasons: list[tuple[int, str]] = []
    for i, f in enumerate(schema.fields):
        v = q(f.name)
        kind = _kind(f)
        checks: list[str] = []
        if kind != "string":  # text is never a problem
            check = semantic.problem_sql(kind, v, normalised=True)
            settled = semantic.settled_sql(kind, v) if settle else None
            if settled is not None:
                check = f"CASE WHEN {settled} THEN NULL ELSE {check} END"
            taken = [flag for flag, spec in ((_fast(i), fast.get(i)), (_again(i), (again or {}).get(i))) if spec]
            checks.append(f"CASE WHEN {' OR '.join(taken)} THEN NULL ELSE {check} END" if taken else check)
        checks += [f"CASE WHEN {cond} THEN {semantic.sql_literal(why)} END" for cond, why in _constraint_checks(f, v)]
        for j, check in enumerate(checks):
            layer.append(f"{check} AS {_reason(i, j)}")
            reasons.append((i, _reason(i, j)))
    return layer, reasons


def _cleaned(i: int) -> str:
    return f'"cleaned#{i}"'


def _widened(i: int) -> str:
    return f'"widened#{i}"'


def _again(i: int) -> str:
    return f'"again#{i}"'


def _cleaned_layers(
    schema: table_schema.TableSchema, keep: list[str], fast: dict[int, semantic.FastPath | None]
) -> list[list[str]]:
    """The first step of each field's normalisation (``semantic.cleaned_sql``: half-width, trimmed),
    computed once per value (the later steps refer to it several times), not where the shortcut
    applies: in two layers, the half-width text (``semantic.widened_sql``), then that text trimmed
    (``semantic.trimmed_sql``, which refers to it several times too)."""
    widened = list(keep)
    cleaned = list(keep)
    for i, f in enumerate(schema.fields):
        wide = semantic.widened_sql(_kind(f), _text(i), halfwidth_function=True)
        widened.append(
            f"{wide if fast.get(i) is None else f'CASE WHEN {_fast(i)} THEN NULL ELSE {wide} END'} AS {_widened(i)}"
        )
        cleaned.append(f"{semantic.trimmed_sql(_widened(i))} AS {_cleaned(i)}")
    return [widened, cleaned]


def _again_paths(schema: table_schema.TableSchema) -> dict[int, semantic.FastPath]:
    """The shortcut tested again on the cleaned value of the values that missed it as written
    (``semantic.plain_path``: full-width digits and padding removed, many are then in a plain
    spelling), for every field but plain text, whose normalisation is its cleaning."""
    paths = {}
    for i, f in enumerate(schema.fields):
        spec = semantic.plain_path(_kind(f), _cleaned(i), defer_check_character=True)
        if spec is not None and _kind(f) != "string":
            paths[i] = spec
    return paths


def _normalise_layer(
    schema: table_schema.TableSchema,
    keep: list[str],
    fast: dict[int, semantic.FastPath | None],
    again: dict[int, semantic.FastPath] | None = None,
) -> list[str]:
    """Each field's normalised value from its cleaned one (``_cleaned_layers``), or the shortcut's
    (as written, then, from ``again``, on the cleaned value)."""
    layer = list(keep)
    for i, f in enumerate(schema.fields):
        whens = [(_fast(i), spec.canonical) for spec in [fast.get(i)] if spec is not None]
        whens += [(_again(i), spec.canonical) for spec in [(again or {}).get(i)] if spec is not None]
        value = semantic.normalise_cleaned_sql(_kind(f), _cleaned(i))
        if whens:
            value = f"CASE {' '.join(f'WHEN {flag} THEN {canonical}' for flag, canonical in whens)} ELSE {value} END"
        layer.append(f"{value} AS {semantic.quote_identifier(f.name)}")
    return layer


def _rows_sql(schema: table_schema.TableSchema, relation: str) -> str:
    """One streamed, parallel query from the source to the rows kept for checking: each field's
    normalised value, ``_bad`` (the row has a type or constraint problem), and the text as written
    where it differs from the normalised value and may be shown in the rejects file (``raw#i``: on
    bad rows, and on every row for unique fields). Row numbers are not computed here: the rows are
    stored in file order (``preserve_insertion_order``), so a row's number is its ``rowid`` + 1 — a
    ``row_number()`` window would run the whole query on one thread.

    Layers, each computed once per value (DuckDB does not share subexpressions across CASE branches):
    the text as written; whether it is valid and canonical or in a plain spelling
    (``semantic.plain_path``); where not, the cleaned value (``semantic.cleaned_sql``); whether that
    is (the same shortcut again); the normalised value (the shortcut's, or the rest of the
    normalisation from the cleaned value); each reason (the full check only where neither shortcut
    nor ``semantic.settled_sql`` applies; then the constraints); the flag; the kept texts and, on a
    bad row, which fields have a problem (``_failed``, for ``_failed_fields``).
    """
    q = semantic.quote_identifier
    fields = schema.fields
    texts = [_text(i) for i in range(len(fields))]
    names = [q(f.name) for f in fields]
    fast = {i: semantic.plain_path(_kind(f), texts[i], defer_check_character=True) for i, f in enumerate(fields)}
    shortcuts = {i: spec for i, spec in fast.items() if spec is not None}
    flags = [_fast(i) for i in shortcuts]
    again = _again_paths(schema)
    text_layer = [f"CAST({q(f.name)} AS VARCHAR) AS {texts[i]}" for i, f in enumerate(fields)]
    fast_layer = [*texts, *(f"{spec.condition} AS {_fast(i)}" for i, spec in shortcuts.items())]
    cleaned_layers = _cleaned_layers(schema, [*texts, *flags], fast)
    # The cleaned value is NULL where the shortcut as written applied: so is the condition here.
    again_layer = [
        *texts,
        *flags,
        *(_cleaned(i) for i in range(len(fields))),
        *(f"{spec.condition} AS {_again(i)}" for i, spec in again.items()),
    ]
    again_flags = [_again(i) for i in again]
    norm_layer = _normalise_layer(schema, [*texts, *flags, *again_flags], fast, again)
    reason_layer, reasons = _reason_layer(schema, [*texts, *names], fast, settle=True, again=again)
    bad = " OR ".join(f"{col} IS NOT NULL" for _, col in reasons) or "false"
    flag_layer = [*texts, *names, *(col for _, col in reasons), f"({bad}) AS {BAD}"]
    kept = [
        f"CASE WHEN {'' if _unique(f) else f'{BAD} AND '}{texts[i]} IS DISTINCT FROM {names[i]} "
        f"THEN {texts[i]} END AS {_raw(i)}"
        for i, f in enumerate(fields)
    ]
    final = [*names, BAD, *kept]
    if len(fields) <= FAILED_BITS:
        by_field: dict[int, list[str]] = {}
        for i, col in reasons:
            by_field.setdefault(i, []).append(f"{col} IS NOT NULL")
        mask = " + ".join(f"CASE WHEN {' OR '.join(c)} THEN {1 << i} ELSE 0 END" for i, c in by_field.items())
        final.append(f"CAST(CASE WHEN {BAD} THEN {mask or '0'} END AS BIGINT) AS {FAILED}")
    return _select_layers(
        f"SELECT * FROM {relation}",
        [text_layer, fast_layer, *cleaned_layers, again_layer, norm_layer, reason_layer, flag_layer, final],
    )


def _problems_sql(schema: table_schema.TableSchema, rows: str, only: list[int] | None = None) -> str:
    """``(rid, problems)`` for the bad rows of the table ``rows``: the texts as written are rebuilt,
    normalised and checked again in full (the shortcut only ever skips work on valid values, so the
    verdicts are the same), and ``{col, val, reason}`` listed for every problem, in field order.
    ``only``: the indexes (ascending) of the fields that can have a problem (``_failed_fields``); the
    others are not checked again. The statement's planning is most of its cost for a small table
    (~13 ms for 8 fields), and grows with the fields checked."""
    q = semantic.quote_identifier
    chosen = list(range(len(schema.fields))) if only is None else only
    checked = schema.model_copy(update={"fields": [schema.fields[i] for i in chosen]})
    fields = checked.fields
    texts = [_text(k) for k in range(len(fields))]
    names = [q(f.name) for f in fields]
    base = f"SELECT rowid AS rid, * FROM {rows} WHERE {BAD}"
    text_layer = ["rid", *(f"coalesce({_raw(i)}, {names[k]}) AS {texts[k]}" for k, i in enumerate(chosen))]
    cleaned_layers = _cleaned_layers(checked, ["rid", *texts], {})
    norm_layer = _normalise_layer(checked, ["rid", *texts], {})
    reason_layer, reasons = _reason_layer(checked, ["rid", *texts, *names], {})
    items = ", ".join(
        f"struct_pack(col := {semantic.sql_literal(fields[k].name)}, val := {texts[k]}, reason := {col})"
        for k, col in reasons
    )
    listed = f"list_filter([{items}], p -> p.reason IS NOT NULL)" if reasons else f"CAST([] AS {_PROBLEM_TYPE})"
    return _select_layers(
        base, [text_layer, *cleaned_layers, norm_layer, reason_layer, ["rid", f"{listed} AS problems"]]
    )


def _duplicates(con: duckdb.DuckDBPyConnection, schema: table_schema.TableSchema) -> bool:
    """Find every row after the first with the same unique-field value ('值重复'; missing values never
    collide) or the same primary key ('主键重复'; missing parts compare equal) — what a stable sort by
    row number would find — with one GROUP BY per key, into ``dup(rid, ord, problem)``, and flag those
    rows bad (an in-place update: row ids, hence row numbers, do not move). True if any."""
    q = semantic.quote_identifier
    keys: list[tuple[list[str], str, str, str]] = []  # (columns, column label, value shown, reason)
    for i, f in enumerate(schema.fields):
        if _unique(f):
            keys.append(([f.name], f.name, f"coalesce(t.{_raw(i)}, t.{q(f.name)})", "值重复"))
    pk = schema.primary_key_fields
    if pk:
        shown = "concat_ws(',', " + ", ".join(f"t.{q(k)}" for k in pk) + ")"
        keys.append((pk, ",".join(pk), shown, "主键重复"))
    con.execute(f"CREATE TEMP TABLE dup (rid BIGINT, ord INTEGER, problem {_PROBLEM_TYPE[:-2]})")
    for ord_, (columns, label, shown, reason) in enumerate(keys):
        cols = ", ".join(q(c) for c in columns)
        where = f"WHERE {q(columns[0])} IS NOT NULL" if reason == "值重复" else ""
        # Equal keys have equal hashes: grouping the 64-bit hashes first (cheaper than the texts) leaves
        # only the rows whose hash repeats to group by the key itself — most often none.
        repeated = f"SELECT hash({cols}) FROM rows {where} GROUP BY 1 HAVING count(*) > 1"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE dupkey AS SELECT {cols}, min(rowid) AS first FROM rows "
            f"{where or 'WHERE true'} AND hash({cols}) IN ({repeated}) GROUP BY {cols} HAVING count(*) > 1"
        )
        if not con.execute("SELECT count(*) FROM dupkey").fetchone()[0]:  # type: ignore[index]
            continue
        match = " AND ".join(f"t.{q(c)} IS NOT DISTINCT FROM d.{q(c)}" for c in columns)
        con.execute(
            f"INSERT INTO dup SELECT t.rowid, {ord_}, struct_pack(col := {semantic.sql_literal(label)}, "
            f"val := {shown}, reason := {semantic.sql_literal(reason)}) "
            f"FROM rows t JOIN dupkey d ON {match} AND t.rowid > d.first"
        )
    con.execute("DROP TABLE IF EXISTS dupkey")
    if not con.execute("SELECT count(*) FROM dup").fetchone()[0]:  # type: ignore[index]
        return False
    con.execute(f"UPDATE rows SET {BAD} = true WHERE NOT {BAD} AND rowid IN (SELECT rid FROM dup)")
    return True


def _failed_fields(
    con: duckdb.DuckDBPyConnection, schema: table_schema.TableSchema, coded: set[int]
) -> list[int] | None:
    """The indexes of the fields with a problem on some bad row: those the main pass found
    (``_failed``) and ``coded``, those with a wrong check character; None (every field) for a table
    too wide for the bit mask."""
    if len(schema.fields) > FAILED_BITS:
        return None
    row = con.execute(f"SELECT bit_or({FAILED}) FROM rows WHERE {BAD}").fetchone()
    mask = int(row[0] or 0) if row else 0
    return sorted(coded | {i for i in range(len(schema.fields)) if mask >> i & 1})


def _check_characters(con: duckdb.DuckDBPyConnection, schema: table_schema.TableSchema) -> set[int]:
    """Verify the check characters the main pass left to NumPy (``semantic.plain_path`` with
    ``defer_check_character``), a million rows at a time, and flag the rows with a wrong one bad (an
    in-place update). One scan of the code columns in row order: a value's position in the scan is
    its ``rowid`` (the table was just created, nothing deleted). Values that took the full check,
    valid or already flagged, come out the same, so checking every value again changes nothing.
    Returns the indexes of the fields with a wrong check character."""
    q = semantic.quote_identifier
    coded = [(i, f.name, _kind(f)) for i, f in enumerate(schema.fields) if _kind(f) in ("uscc", "resident_id")]
    if not coded:
        return set()
    columns = ", ".join(q(name) for _, name, _ in coded)
    wrong: list[np.ndarray] = []
    fields: set[int] = set()
    start = 0
    for batch in con.execute(f"SELECT {columns} FROM rows").to_arrow_reader(_CHECK_BATCH):
        failed = np.zeros(batch.num_rows, dtype=bool)
        for j, (i, _, kind) in enumerate(coded):
            column_failed = ~semantic.check_characters_ok(kind, batch.column(j))
            if column_failed.any():
                fields.add(i)
                failed |= column_failed
        if failed.any():
            wrong.append(np.flatnonzero(failed) + start)
        start += batch.num_rows
    if wrong:
        con.register("wrong_check_character", pa.table({"rid": np.concatenate(wrong)}))
        con.execute(f"UPDATE rows SET {BAD} = true WHERE rowid IN (SELECT rid FROM wrong_check_character)")
        con.unregister("wrong_check_character")
    return fields


def _check(con: duckdb.DuckDBPyConnection, schema: table_schema.TableSchema, relation: str) -> None:
    """Build ``rows`` (normalised values, in file order), ``problem_rows(rid, problems)`` for every
    rejected row, and the ``checked`` view that ``quality.measure`` reads: ``_row``, the normalised
    value of each field, ``_bad`` and the ``_problems`` list (empty for valid rows)."""
    q = semantic.quote_identifier
    semantic.register_functions(con)
    con.execute(f"CREATE TABLE rows AS {_rows_sql(schema, relation)}")
    coded = _check_characters(con, schema)
    con.execute(f"CREATE TABLE problem_rows AS {_problems_sql(schema, 'rows', _failed_fields(con, schema, coded))}")
    if _duplicates(con, schema):
        con.execute(
            "CREATE OR REPLACE TABLE problem_rows AS SELECT rid, "
            f"list_concat(coalesce(p.problems, CAST([] AS {_PROBLEM_TYPE})), "
            f"coalesce(d.problems, CAST([] AS {_PROBLEM_TYPE}))) AS problems FROM problem_rows p "
            "FULL OUTER JOIN (SELECT rid, list(problem ORDER BY ord) AS problems FROM dup GROUP BY rid) d USING (rid)"
        )
    fields = ", ".join(f"r.{q(f.name)}" for f in schema.fields)
    if con.execute("SELECT count(*) FROM problem_rows").fetchone()[0]:  # type: ignore[index]
        con.execute(
            f"CREATE VIEW checked AS SELECT r.rowid + 1 AS {ROW}, {fields}, p.rid IS NOT NULL AS {BAD}, "
            f"coalesce(p.problems, CAST([] AS {_PROBLEM_TYPE})) AS {PROBLEMS} "
            "FROM rows r LEFT JOIN problem_rows p ON p.rid = r.rowid"
        )
    else:
        con.execute(
            f"CREATE VIEW checked AS SELECT r.rowid + 1 AS {ROW}, {fields}, false AS {BAD}, "
            f"CAST([] AS {_PROBLEM_TYPE}) AS {PROBLEMS} FROM rows r"
        )


HEADER_NAMES_SHOWN = 20  # a header message names at most this many columns (then "等 N 个")
_NAME_SHOWN = 60  # characters of one column name in a message


def _listed(names: list[str]) -> str:
    """Names for a message, bounded whatever the file: the first few, each cut, then how many in all."""
    shown = [n if len(n) <= _NAME_SHOWN else n[:_NAME_SHOWN] + "…" for n in names[:HEADER_NAMES_SHOWN]]
    more = f" 等 {len(names)} 个" if len(names) > HEADER_NAMES_SHOWN else ""
    return "、".join(shown) + more


def _match_header(columns: list[str], schema: table_schema.TableSchema | None) -> None:
    blank = [str(i + 1) for i, c in enumerate(columns) if not c]
    if blank:
        raise InvalidSource(f"表头第 {_listed(blank)} 列没有字段名", field="header")
    seen: set[str] = set()
    repeated = [c for c in columns if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    if repeated:
        raise InvalidSource("表头字段重复：" + _listed(list(dict.fromkeys(repeated))), field="header")
    if schema is None:
        return
    names = [f.name for f in schema.fields]
    known = set(names)
    present = set(columns)
    missing = [n for n in names if n not in present]
    extra = [c for c in columns if c not in known]
    if missing or extra:
        parts = []
        if missing:
            parts.append("缺少字段 " + _listed(missing))
        if extra:
            parts.append("多出字段 " + _listed(extra))
        raise InvalidSource("表头与表结构不一致：" + "；".join(parts), field="header")


def _header(con: duckdb.DuckDBPyConnection, source: Source) -> list[str]:
    if source.columns is not None:
        return source.columns
    try:
        return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source.relation}").fetchall()]
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise _read_error(exc) from None
    except duckdb.Error as exc:
        raise InvalidSource(f"无法读取文件：{str(exc).splitlines()[0]}", field="file") from None


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
    department or the operator may load. Raises ``InvalidSource`` (nothing stored, no version) for an
    empty, unreadable, malformed or mislabelled file or a header that does not match; returns a
    refused result when too many rows are rejected."""
    fmt = _format_of(path, source_format)
    if not path.is_file():
        raise InvalidSource(f"文件不存在：{path}", field="file")

    def source(staged: Path, report: Progress) -> Source:
        _sniff(path, fmt)
        return _file_source(path, fmt, staged, report)

    return _load(
        session,
        actor,
        resource_id,
        source,
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
    threads: int = THREADS,
    columns: list[str] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> LoadResult:
    """Load the rows of a DuckDB query (columns named as the schema's fields, e.g. the demo city's
    generated records) as the next version, through the same checks, rejects and quality report as
    a file. The query must be self-contained: it runs in the load's own connection, with ``threads``
    DuckDB threads (a caller running several loads at once gives each fewer).

    ``columns``: the query's column names, when the caller knows them (else DuckDB describes the
    query: a few milliseconds of planning). ``connection``: a connection from ``load_connection`` to
    run in instead of a new one, for a caller making many small loads one after another (a new
    connection cost a small generated load ~25 ms of its ~110); whatever the outcome it is left
    empty and open, or closed when it could not be emptied (the caller then opens another)."""
    return _load(
        session,
        actor,
        resource_id,
        lambda _staged, _report: Source(f"({relation_sql})", None, columns, kind="generated"),
        home=home,
        source_name=source_name,
        source_format="generated",
        source_bytes=0,
        progress=progress,
        threads=threads,
        connection=connection,
    )


def load_connection(spill: Path, threads: int = THREADS) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for ``load_relation(connection=…)``, spilling to ``spill`` (a directory of
    its own: two databases must not share one), with the load's functions registered. The caller
    closes it, and uses it from one thread at a time."""
    con = duck.batch_connection(spill, memory_limit=MEMORY_LIMIT, threads=threads, keep_order=True)
    semantic.register_functions(con)
    return con


def _clear(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every view and table a load left in a reused connection (``rows``, ``problem_rows``, the
    ``checked`` view, temporary tables), so the next load starts as in a new one."""
    views = con.execute("SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal").fetchall()
    q = semantic.quote_identifier
    for kind, found in (("VIEW", views), ("TABLE", tables)):
        for schema_name, name in found:
            con.execute(f"DROP {kind} IF EXISTS {q(schema_name)}.{q(name)} CASCADE")


def loadable_table(session: Session, actor: Actor, resource_id: str) -> StoreTable:
    """The resource's table, if the actor may load versions of it (its entry's department or the
    operator); ``TableNotCreated`` (409) naming the ways to create it when the resource has none."""
    return _loadable(session, actor, resource_id)[1]


def _loadable(session: Session, actor: Actor, resource_id: str) -> tuple[CatalogResource, StoreTable]:
    resource = catalog.get_resource(session, actor, resource_id)
    catalog.editable_entry(session, actor, resource.entry.code)
    table = session.get(StoreTable, resource.id)
    if table is None:  # only the publisher gets this far: tell them how to give it one
        raise TableNotCreated(
            f"资源“{resource.name}”尚未建立数据表，不能上传数据。请先为它建立数据表：在门户的资源页面提交表结构，"
            f"或调用 POST /api/v1/resources/{resource.id}/schema，或使用命令行 pubdata resource create",
            details={"resource_id": resource.id, "create_table": f"/api/v1/resources/{resource.id}/schema"},
        )
    return resource, table


def _connect(staged: Path, threads: int = THREADS) -> duckdb.DuckDBPyConnection:
    """The load's own DuckDB (``pubdata.duck``): in memory (writing the checked rows into a database
    file would cost as much as the whole raw load), spilling to the staging directory beyond
    ``MEMORY_LIMIT``; row numbers follow the file, so data.parquet keeps its order."""
    return duck.batch_connection(staged / "spill", memory_limit=MEMORY_LIMIT, threads=threads, keep_order=True)


def _load(
    session: Session,
    actor: Actor,
    resource_id: str,
    source: Callable[[Path, Progress], Source],
    *,
    home: Path,
    source_name: str,
    source_format: str,
    source_bytes: int,
    progress: Progress | None,
    threads: int = THREADS,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> LoadResult:
    report = progress or (lambda _stage, _pct, _rows: None)

    def connect() -> duckdb.DuckDBPyConnection:
        return connection if connection is not None else _connect(staged, threads)

    def release(con: duckdb.DuckDBPyConnection) -> None:
        if connection is None:
            con.close()
            return
        try:
            _clear(con)
        except duckdb.Error:  # not usable any more (e.g. invalidated by a fatal error): never half-clear
            con.close()

    resource, table = _loadable(session, actor, resource_id)
    schema = table_schema.parse_schema(table.table_schema)
    number = (
        session.scalar(select(func.max(StoreVersion.number)).where(StoreVersion.resource_id == resource.id)) or 0
    ) + 1
    files.sweep_staging(home, resource.id)

    with files.staging(home, resource.id) as staged:
        report("读取", 5, None)
        src = source(staged, report)
        con = connect()
        try:
            _match_header(_header(con, src), schema)
            report("校验", 15, None)
            try:
                _check(con, schema, src.relation)
            except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
                if src.fallback is None or "Invalid unicode" not in str(exc):
                    raise _read_error(exc) from None
                release(con)
                src = src.fallback()
                con = connect()
                _match_header(_header(con, src), schema)
                try:
                    _check(con, schema, src.relation)
                except (duckdb.InvalidInputException, duckdb.ConversionException) as again:
                    raise _read_error(again) from None
            total = con.execute("SELECT count(*) FROM rows").fetchone()[0]  # type: ignore[index]
            if total == 0 and src.kind == "file":
                raise InvalidSource("文件中没有数据行（只有表头）", field="file")
            rejected = con.execute("SELECT count(*) FROM problem_rows").fetchone()[0]  # type: ignore[index]
            report("校验", 60, total)
            reasons = dict(
                con.execute(
                    "SELECT p.reason, count(*) FROM (SELECT unnest(problems) AS p FROM problem_rows) GROUP BY 1"
                ).fetchall()
            )
            rejects_path = staged / files.REJECTS_FILE
            con.execute(
                "COPY (SELECT rid + 1 AS row, p.col AS column, p.val AS value, p.reason AS reason FROM "
                "(SELECT rid, unnest(problems) AS p, generate_subscripts(problems, 1) AS i FROM problem_rows) "
                f"ORDER BY rid, i) TO {semantic.sql_literal(str(rejects_path))} (HEADER, DELIMITER ',')"
            )
            refused = total == 0 or rejected / total > table.reject_threshold
            report("写入", 70, total)
            if not refused:
                typed = ", ".join(
                    f"TRY_CAST({semantic.quote_identifier(f.name)} AS {table_schema.duckdb_type(f)}) "
                    f"AS {semantic.quote_identifier(f.name)}"
                    for f in schema.fields
                )
                # A scan of ``rows`` follows the file: data.parquet keeps the rows' order without a sort.
                con.execute(
                    f"COPY (SELECT {typed} FROM rows WHERE NOT {BAD}) TO "
                    f"{semantic.sql_literal(str(staged / files.DATA_FILE))} {PARQUET_OPTIONS}"
                )
            report("质量评估", 90, total)
            quality = measure(
                con,
                "checked",
                schema,
                LoadFacts(total=total, rejected=rejected, reasons=reasons),
                update_frequency=resource.entry.update_frequency,
                loaded_at=utcnow(),
            )
            if not refused and total - rejected >= get_settings().text_index_min_rows:
                report("全文索引", 95, total)
                # published with the data, in the same rename
                text_index.build(con, schema, staged, use_threads=threads > 1)
        finally:
            release(con)
        for scratch in ("source-utf8.csv", "source-xlsx.csv"):
            (staged / scratch).unlink(missing_ok=True)
        shutil.rmtree(staged / "spill", ignore_errors=True)
        target = files.version_dir(home, resource.id, number)
        files.publish(staged, target)

    version = StoreVersion(
        resource_id=resource.id,
        number=number,
        state="refused" if refused else "published",
        source_name=source_name,
        source_format=source_format,
        source_encoding=src.encoding,
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

"""The content fingerprint of a data version (数据存证哈希): SHA-256 over a canonical form that anyone
holding the same data can recompute, whatever the file's row or column order (docs/registry.md,
"The content fingerprint", states the form precisely).

Canonical form ``pubdata-canonical-v1``:

- every value is rendered as text: NULL → ``ESC N`` (the bytes 0x1B 0x4E); booleans ``true`` /
  ``false``; integers in decimal; decimals and numbers positionally, without exponent, trailing
  zeros or a trailing point (``100.50`` → ``100.5``, ``-0`` → ``0``; a binary double is first turned
  into its shortest round-trip decimal; NaN and the infinities ``NaN``, ``Infinity``,
  ``-Infinity``); dates ``YYYY-MM-DD``; date-times
  ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` (``Z`` appended after conversion to UTC when they carry a zone);
  strings in Unicode NFC. In every non-NULL text the three bytes ESC (0x1B), RS (0x1E) and US (0x1F)
  are each preceded by ESC, so the form is unambiguous;
- a line is its values joined by US (0x1F), UTF-8 encoded;
- the header line holds the field names (as strings) in the table schema's order; the row lines
  follow in ascending byte order (a total order: equal lines are identical rows);
- the lines are joined by RS (0x1E), with no trailing separator; the fingerprint is the lowercase
  hexadecimal SHA-256 of those bytes.

``fingerprint_rows`` is pure (for anyone holding the data: values typed per the table schema);
``fingerprint_version`` reads a published version through the store's read path."""

from __future__ import annotations

import hashlib
import math
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata import duck
from pubdata.assets.registry.errors import FingerprintUnavailable
from pubdata.authz import Actor
from pubdata.settings import get_settings
from pubdata.store import read as store_read
from pubdata.store.ingest.semantic import quote_identifier

CANONICAL_FORM = "pubdata-canonical-v1"
ALGORITHM = "SHA-256"
ESC, RS, US = "\x1b", "\x1e", "\x1f"
NULL = ESC + "N"
_ESCAPES = str.maketrans({ESC: ESC + ESC, RS: ESC + RS, US: ESC + US})
BATCH = 50_000


def _decimal_text(value: Decimal) -> str:
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "-Infinity" if value < 0 else "Infinity"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def render(value: Any) -> str:
    """One value's canonical text (before UTF-8 encoding)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "-Infinity" if value < 0 else "Infinity"
        return _decimal_text(Decimal(repr(value)))
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
            return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).translate(_ESCAPES)
    raise TypeError(f"no canonical form for a value of type {type(value).__name__}: {value!r}")


def line(values: Sequence[Any]) -> bytes:
    """A header or row line: the rendered values joined by US, UTF-8 encoded."""
    return US.join(render(v) for v in values).encode("utf-8")


def fingerprint_rows(field_names: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The fingerprint of a table given its field names (schema order) and its rows (each a sequence
    of values in the same order, typed: None, bool, int, Decimal, float, date, datetime, str). The
    rows may come in any order. ``ValueError`` when a row has the wrong number of values."""
    width = len(field_names)
    lines = []
    for i, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"row {i} has {len(row)} values, the table has {width} fields")
        lines.append(line(row))
    lines.sort()
    digest = hashlib.sha256(line(list(field_names)))
    for row_line in lines:
        digest.update(RS.encode())
        digest.update(row_line)
    return digest.hexdigest()


@dataclass(frozen=True)
class VersionFingerprint:
    """A version's fingerprint and what it covers."""

    resource_id: str
    entry_code: str
    version: int
    field_names: list[str]
    rows: int
    fingerprint: str


def fingerprint_version(
    session: Session, actor: Actor, resource_id: str, version: int | None = None, *, home: Path | None = None
) -> VersionFingerprint:
    """The fingerprint of a published version of a table (the current one when ``version`` is None),
    read through the store's read path as ``actor`` — who must be allowed to read the whole table
    (open data, its publisher, the operator, the system): a view narrowed by a grant has no
    fingerprint of the version (``FingerprintUnavailable``). Rows are rendered here and sorted in
    memory (the demo's tables are small; see docs/registry.md)."""
    home = home if home is not None else get_settings().resolved_home
    plan = store_read.plan_read(session, actor, resource_id, version, home=home)
    if plan.grant_id is not None or plan.row_filter_sql or plan.masks:
        raise FingerprintUnavailable(
            f"只能对完整的数据版本计算指纹：当前身份只能读取该表的授权范围（{plan.entry_name}）", field="version"
        )
    names = plan.schema.field_names
    columns = ", ".join(quote_identifier(n) for n in names)
    with tempfile.TemporaryDirectory(prefix="fingerprint-") as spill:
        con = duck.batch_connection(Path(spill))
        try:
            result = con.execute(f"SELECT {columns} FROM {plan.relation} AS v")
            rows: list[tuple[Any, ...]] = []
            while batch := result.fetchmany(BATCH):
                rows.extend(batch)
        finally:
            con.close()
    store_read.record_read(session, actor, plan, "registry.fingerprint", rows=len(rows))
    return VersionFingerprint(
        resource_id=plan.resource_id, entry_code=plan.entry_code, version=plan.version, field_names=names,
        rows=len(rows), fingerprint=fingerprint_rows(names, rows),
    )  # fmt: skip

"""The fact catalogue of the enterprise facts table (一企一档): every fact's name, Chinese title,
meaning, unit, type, source and the rule for an enterprise the source has no record of — read from
the deployment's fact-sources file (``config.configured()``; the demo city's
``sources/qingdao.yaml`` unless ``PUBDATA_FACTS_SOURCES_FILE`` names another).

Other domains import this as data: the policy engine checks the facts a policy pack names, and their
types, against ``FACTS``; the facts builder (``enterprise/build.py``) writes one column per fact.
``FACTS`` and ``SOURCES`` are updated in place when the configured file changes (``refresh()``), so
``from pubdata.enterprise.facts import FACTS`` always sees the current catalogue.

Types: ``string``, ``district`` (one of the city's districts), ``integer``, ``number`` (exact
decimal with two places, e.g. a percentage: 5.0 is 5%), ``money`` (integer yuan, 元), ``boolean``,
``date``. Every fact may be null (unknown); when a fact's source table has no published data at
all, the fact is null for every enterprise whatever its own rule says. Facts of the
``enterprise_supplied`` source are never computed from public data: null in every build.

The facts describe the **facts year** (统计年度, a parameter of the build): figures are that year's,
states are as of its last day (31 December).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

from pubdata.enterprise import config as _config
from pubdata.enterprise.errors import InvalidFactSources

log = logging.getLogger(__name__)

FactType = Literal["string", "district", "integer", "number", "money", "boolean", "date"]

TAX_GRADES: tuple[str, ...] = ("A", "B", "M", "C", "D")
KEY = "uscc"

_DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "district": "VARCHAR",
    "integer": "BIGINT",
    "number": "DECIMAL(18,2)",
    "money": "BIGINT",
    "boolean": "BOOLEAN",
    "date": "DATE",
}
DUCKDB_TYPES = _DUCKDB_TYPES  # fact type → the Parquet column's DuckDB type
TYPE_LABELS: dict[str, str] = {
    "string": "文本",
    "district": "区（市）",
    "integer": "整数",
    "number": "数值",
    "money": "金额（元）",
    "boolean": "是/否",
    "date": "日期",
}


@dataclass(frozen=True)
class SourceDef:
    """Where facts come from: catalogue entries (one, or several with the same columns read as one
    table) and the columns the facts read — or no table at all (``kind`` ``enterprise_supplied``:
    public data cannot supply it; ``derived``: computed from other facts)."""

    key: str
    entry_code: str  # the first of entry_codes ("" for a source without a table)
    title: str
    columns: tuple[str, ...]
    covers: str  # whom the source covers, in Chinese (decides null versus zero/false)
    entry_codes: tuple[str, ...] = ()
    kind: str = "table"
    resource: str | None = None
    key_column: str = KEY


@dataclass(frozen=True)
class FactDef:
    """One fact: a column of the facts table."""

    name: str
    title: str
    meaning: str
    type: FactType
    source: str  # a key of SOURCES
    missing: str  # the value when the source holds no record of the enterprise, and why
    unit: str = ""
    values: tuple[str, ...] | None = None  # the allowed values of a string (or district) fact
    absent_value: Any = None  # the value itself

    @property
    def duckdb_type(self) -> str:
        return _DUCKDB_TYPES[self.type]

    @property
    def entry_code(self) -> str:
        return SOURCES[self.source].entry_code

    @property
    def source_title(self) -> str:
        return SOURCES[self.source].title

    @property
    def supplied(self) -> bool:
        """Whether only the enterprise can supply it (never computed from public data)."""
        return SOURCES[self.source].kind == "enterprise_supplied"


SOURCES: dict[str, SourceDef] = {}
FACTS: dict[str, FactDef] = {}
DISTRICTS: tuple[str, ...] = ()  # the city's districts (区、市), from the fact-sources file
_state: dict[str, str] = {}
_lock = threading.Lock()


def source_def(s: _config.SourceSpec) -> SourceDef:
    return SourceDef(
        key=s.key, entry_code=s.entries[0] if s.entries else "", title=s.title, columns=s.columns, covers=s.covers,
        entry_codes=s.entries, kind=s.kind, resource=s.resource, key_column=s.key_column,
    )  # fmt: skip


def fact_def(f: _config.FactSpec) -> FactDef:
    return FactDef(
        name=f.name, title=f.title, meaning=f.meaning, type=f.type,  # type: ignore[arg-type]
        source=f.source, missing=f.absent.why, unit=f.unit, values=f.values, absent_value=f.absent.value,
    )  # fmt: skip


_last: list[_config.SourcesConfig] = []


def refresh(*, strict: bool = False) -> _config.SourcesConfig:
    """The configured fact-sources file (``config.configured()``), with ``FACTS``, ``SOURCES`` and
    ``DISTRICTS`` brought up to date in place when it changed. A file that became bad while the
    process runs leaves readers on the last good catalogue (logged); ``strict`` (a build) and the
    first load raise ``InvalidFactSources`` instead."""
    global DISTRICTS
    try:
        current = _config.configured()
    except InvalidFactSources as exc:
        if strict or not _last:
            raise
        log.warning("fact-sources file refused, keeping the last good one: %s", exc.message)
        return _last[0]
    with _lock:
        if _state.get("digest") != current.digest or _state.get("path") != current.path:
            sources = {k: source_def(s) for k, s in current.sources.items()}
            facts = {n: fact_def(f) for n, f in current.facts.items()}
            SOURCES.clear()
            SOURCES.update(sources)
            FACTS.clear()
            FACTS.update(facts)
            DISTRICTS = tuple(d.name for d in current.districts)
            _state.update(digest=current.digest, path=current.path)
        _last[:] = [current]
    return current


def fact(name: str) -> FactDef:
    """The fact called ``name``; KeyError for a name the catalogue does not have."""
    return FACTS[name]


refresh()

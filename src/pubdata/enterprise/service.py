"""Enterprise facts (一企一档): building the facts table from the store's records, knowing when it
is stale, and reading one enterprise's facts.

A build reads the current version of each source table (``facts.SOURCES``) through the store's
read path (``store.read.plan_read``: the caller must be allowed to read whole tables, i.e. the
operator or the system; each governed source read is audited), runs one DuckDB query over the
plans' relations in a connection of its own (memory bounded by ``PUBDATA_DUCKDB_MEMORY_LIMIT``,
spilling to the staging directory beyond it), writes ``facts.parquet`` into a staging directory,
records the version row and only then renames the directory to ``v<number>``.

Builds are idempotent: when the facts year and every source's version equal the current facts
version's, nothing is built (unless forced). ``facts_stale`` answers the same question without
building.

Enterprise-supplied facts (``supplied``): a build carries each enterprise's current supplied values
into the table (one more join, over a small Parquet of them written into the staging directory) and
records the newest supplied value it saw; a later supply makes the facts stale. ``get_facts``
overlays the current supplied values at once, with who supplied them and when.

Reading: every read of the facts file goes through ``read_facts``, the one permission check: an
organisation's users see their own enterprise's facts (the organisation's credit code); the
operator, departments and the regulator see any enterprise's, and only they (and the system actor)
may read the whole table (policy matching, reach, match lists); everyone else gets "not found" (or
403 for the whole table). Every one-enterprise read is audited, and so is every refusal.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata import batch, duck
from pubdata.audit import service as audit
from pubdata.authz import SYSTEM, Actor, Permission, require
from pubdata.catalog import service as catalog
from pubdata.db import utcnow
from pubdata.enterprise import build, files, supplied
from pubdata.enterprise import facts as catalogue
from pubdata.enterprise.config import SourcesConfig, SourceSpec
from pubdata.enterprise.errors import (
    EnterpriseNotFound,
    FactsBuildConflict,
    FactsNotBuilt,
    FactSourceMissing,
    InvalidYear,
    RegistryMissing,
    SourceColumnsMissing,
    SourceUnitMissing,
)
from pubdata.enterprise.facts import FACTS, KEY, SOURCES
from pubdata.enterprise.models import EnterpriseFactsVersion
from pubdata.enterprise.rights import may_read, own_uscc
from pubdata.enterprise.schemas import (
    EnterpriseFacts,
    FactDefRead,
    FactsBuild,
    FactsVersionRead,
    FactValue,
    SourceRead,
    fact_def_read,
)
from pubdata.enterprise.supplied import check_may_supply, supplied_facts, supply_facts
from pubdata.errors import NotFound
from pubdata.store import read as store_read
from pubdata.store import service as store
from pubdata.store.ingest.semantic import sql_literal

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_YEAR = 1990
STAGING_MAX_AGE = timedelta(hours=6)  # a staging directory this old belongs to a build that died
PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 65536)"


# --- the catalogue --------------------------------------------------------------------------------


def _source_read(key: str) -> SourceRead:
    s = SOURCES[key]
    return SourceRead(
        key=s.key, entry_code=s.entry_code, title=s.title, covers=s.covers, kind=s.kind, entry_codes=list(s.entry_codes)
    )


def fact_catalogue() -> list[FactDefRead]:
    """Every fact with its meaning, unit, type, source and missing-record rule (public)."""
    catalogue.refresh()
    return [fact_def_read(f, _source_read(f.source)) for f in FACTS.values()]


# --- sources --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    entry_code: str
    resource_id: str
    version: int


@dataclass(frozen=True)
class _Resolved:
    """A source's tables with published data (one per entry that has some), and what was read for
    every entry (``{entry code: version or None}``)."""

    tables: tuple[_Table, ...]
    recorded: dict[str, int | None]


def _resolve(session: Session, actor: Actor, source: SourceSpec, problems: list[dict[str, str]]) -> _Resolved:
    """Each entry's table: the named resource's (``resource``), else the entry's first table with a
    published version holding every column the facts read. An entry or resource missing from the
    catalogue, or a table with data lacking columns, is a problem (the build is refused); an entry
    without published data is a source without data."""
    tables: list[_Table] = []
    recorded: dict[str, int | None] = {}
    where = f"sources.{source.key}"
    for code in source.entries:
        recorded[code] = None
        try:
            entry = catalog.get_entry(session, actor, code)
        except NotFound:
            problems.append({"field": where, "message": f"数据目录中没有 {code}（{source.title}）"})
            continue
        if source.resource is not None and source.resource not in {r.name for r in entry.resources}:
            present = "、".join(r.name for r in entry.resources) or "无"
            problems.append(
                {
                    "field": f"{where}.resource",
                    "message": f"{code} 没有名为“{source.resource}”的资源（现有：{present}）",
                }
            )
            continue
        lacking: list[str] | None = None
        found = None
        for resource_id, name, current in store_read.readable_tables(session, actor, code):
            if current is None or (source.resource is not None and name != source.resource):
                continue
            schema = store.get_table(session, actor, resource_id).table_schema
            names = {f["name"] for f in schema.get("fields", [])}
            missing = [c for c in source.columns if c not in names]
            if not missing:
                found = _Table(code, resource_id, current)
                break
            lacking = lacking or missing
        if found is not None:
            tables.append(found)
            recorded[code] = found.version
        elif lacking is not None:
            problems.append(
                {
                    "field": f"{where}.columns",
                    "message": f"来源数据缺少企业档案需要的字段：{source.title}（{code}）缺少 {'、'.join(lacking)}",
                }
            )
    return _Resolved(tuple(tables), recorded)


def _resolve_all(session: Session, actor: Actor, config: SourcesConfig) -> dict[str, _Resolved]:
    """Every table source resolved; ``FactSourceMissing`` (or ``SourceColumnsMissing`` when only
    columns lack) naming every problem."""
    problems: list[dict[str, str]] = []
    resolved = {s.key: _resolve(session, actor, s, problems) for s in config.table_sources}
    if problems:
        only_columns = all(p["field"].endswith(".columns") for p in problems)
        error = SourceColumnsMissing if only_columns else FactSourceMissing
        message = "；".join(p["message"] for p in problems)
        raise error(f"企业档案的数据来源有误：{message}", details=problems)
    return resolved


def _recorded(resolved: dict[str, _Resolved]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for r in resolved.values():
        out.update(r.recorded)
    return out


# --- versions -------------------------------------------------------------------------------------


def _current(session: Session) -> EnterpriseFactsVersion | None:
    return session.scalar(select(EnterpriseFactsVersion).order_by(EnterpriseFactsVersion.number.desc()).limit(1))


def current_version(session: Session) -> FactsVersionRead | None:
    """The facts version readers see (the newest), or None before the first build."""
    row = _current(session)
    return FactsVersionRead.model_validate(row) if row else None


def list_versions(session: Session, actor: Actor) -> list[FactsVersionRead]:
    """Every facts version, newest first (those who may read any enterprise's facts)."""
    require(actor, Permission.ENTERPRISE_FACTS_READ_ANY)
    rows = session.scalars(select(EnterpriseFactsVersion).order_by(EnterpriseFactsVersion.number.desc()))
    return [FactsVersionRead.model_validate(r) for r in rows]


def _supplied_changed(row: EnterpriseFactsVersion, through: int | None) -> bool:
    return (row.supplied_through or 0) != (through or 0)


def facts_stale(session: Session) -> bool:
    """Whether a build would make a new version: no version yet, the fact-sources file changed,
    some source table's current version differs from the one the current facts were built from, or
    an enterprise supplied a value since."""
    row = _current(session)
    if row is None:
        return True
    config = catalogue.refresh()
    if row.sources_file_digest != config.digest or _supplied_changed(row, supplied.latest_id(session)):
        return True
    try:
        recorded = _recorded(_resolve_all(session, SYSTEM, config))
    except SourceColumnsMissing:
        return True  # a build would say what is wrong
    return recorded != dict(row.sources)


def registry_published(session: Session) -> bool:
    """Whether the registry source has published data: without it a build has nothing to build from
    (``RegistryMissing``), so the refresher queues no build. ``FactSourceMissing`` or
    ``SourceColumnsMissing`` when the catalogue does not hold what the fact-sources file names."""
    config = catalogue.refresh()
    return bool(_resolve_all(session, SYSTEM, config)[config.registry].tables)


# --- building -------------------------------------------------------------------------------------


def _beijing_year() -> int:
    return datetime.now(SHANGHAI).year


def _money_columns(config: SourcesConfig) -> dict[str, set[str]]:
    """Per source, the columns money facts read (they need a declared money unit)."""
    out: dict[str, set[str]] = {}
    for f in config.facts.values():
        a = f.aggregate
        if f.type != "money" or a is None:
            continue
        columns = set(a.columns) | ({a.column} if a.column and a.kind in ("value", "latest") else set())
        out.setdefault(f.source, set()).update(columns)
    return out


def _sources(
    config: SourcesConfig, resolved: dict[str, _Resolved], plans: dict[tuple[str, str], store_read.ReadPlan]
) -> dict[str, build.Source | None]:
    """The build's view of each source; ``SourceUnitMissing`` naming every money column whose Table
    Schema declares no money unit (yuan, wan_yuan, …): amounts are never guessed from titles."""
    money = _money_columns(config)
    problems: list[dict[str, str]] = []
    out: dict[str, build.Source | None] = {}
    for key, r in resolved.items():
        spec = config.sources[key]
        members = []
        unique = False
        for t in r.tables:
            plan = plans[(key, t.entry_code)]
            units: dict[str, str | None] = {f.name: f.unit for f in plan.fields}
            for column in sorted(money.get(key, ())):
                if units.get(column) not in build.YUAN_PER_UNIT:
                    declared = units.get(column)
                    problems.append(
                        {
                            "field": f"sources.{key}.columns",
                            "message": f"{spec.title}（{t.entry_code}）的金额字段 {column} "
                            + (f"的单位 {declared} 不是金额单位" if declared else "没有在表结构中声明单位（unit）")
                            + "：应为 fen、yuan、wan_yuan 或 yi_yuan",
                        }
                    )
            members.append(build.Member(plan.relation, units))
            unique = plan.schema.primary_key_fields == [spec.key_column]
        out[key] = build.Source(tuple(members), unique_key=unique) if members else None
    if problems:
        message = "；".join(p["message"] for p in problems)
        raise SourceUnitMissing(f"企业档案的数据来源有误：{message}", details=problems)
    return out


def _default_year(config: SourcesConfig, sources: dict[str, build.Source | None]) -> int:
    """The latest full year of the default-year source (the cross-border e-commerce statistics in
    the demo); last year without it."""
    this_year = _beijing_year()
    source = sources.get(config.default_year_source or "")
    if source is None:
        return this_year - 1
    _, rows = store.analytic_query(build.default_year_sql(config, source, this_year))
    year = rows[0][0] if rows else None
    return int(year) if year is not None else this_year - 1


SUPPLIED_FILE = "supplied.parquet"


def _write_supplied(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """The current supplied values as a small Parquet (uscc, name, value: canonical text) for the
    build's one query; kept beside the facts file as the record of what the version carried."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    usccs, names, values = (list(c) for c in zip(*rows, strict=True))
    table = pa.table({"uscc": usccs, "name": names, "value": values})
    pq.write_table(table, path, compression="zstd")
    return path


def _sweep_staging(home: Path) -> None:
    root = files.facts_root(home)
    if not root.is_dir():
        return
    cutoff = time.time() - STAGING_MAX_AGE.total_seconds()
    for child in root.iterdir():
        if child.name.startswith(".staging-") and child.stat().st_mtime < cutoff:
            shutil.rmtree(child, ignore_errors=True)


def build_facts(
    session: Session,
    actor: Actor,
    *,
    home: Path,
    year: int | None = None,
    force: bool = False,
    via: str = "cli",
    config: SourcesConfig | None = None,
    engine: str | None = None,
) -> FactsBuild:
    """Build a new version of the facts table for ``year`` (default: the latest full year of the
    fact-sources file's ``default_year`` source) from the current version of every source table,
    unless the current facts were built for that year from exactly those versions and the same
    fact-sources file (``force`` builds anyway). ``config``: the fact-sources file to build from
    (default the configured one). The operator's (or the system's) right to build; reads of
    governed sources are audited. Raises ``RegistryMissing`` without registry data,
    ``FactSourceMissing`` when the file names an entry or resource the catalogue lacks,
    ``SourceColumnsMissing`` when a source table lacks a column, ``SourceUnitMissing`` when a money
    column declares no unit, ``InvalidYear``, and ``FactsBuildConflict`` when another build took the
    number. Nothing is written when any of these is raised. ``engine``: the batch engine computing
    the table (``duckdb`` or ``spark``; default ``PUBDATA_BATCH_ENGINE``): the same table either way."""
    require(actor, Permission.ENTERPRISE_FACTS_BUILD)
    engine = batch.engine_name(engine)
    config = config or catalogue.refresh(strict=True)
    resolved = _resolve_all(session, actor, config)
    if not resolved[config.registry].tables:
        source = config.sources[config.registry]
        raise RegistryMissing(f"生成企业档案需要{source.title}（{'、'.join(source.entries)}）的已发布数据")
    plans = {
        (key, t.entry_code): store_read.plan_read(session, actor, t.resource_id, t.version, home=home)
        for key, r in resolved.items()
        for t in r.tables
    }
    sources = _sources(config, resolved, plans)
    this_year = _beijing_year()
    if year is None:
        year = _default_year(config, sources)
    elif not FIRST_YEAR <= year <= this_year:
        raise InvalidYear(f"统计年度应在 {FIRST_YEAR} 至 {this_year} 年之间：{year}", field="year")
    recorded = _recorded(resolved)
    through = supplied.latest_id(session)
    current = _current(session)
    stale = (
        current is None
        or current.year != year
        or dict(current.sources) != recorded
        or current.sources_file_digest != config.digest
        or _supplied_changed(current, through)
    )
    if current is not None and not stale and not force:
        return FactsBuild(version=FactsVersionRead.model_validate(current), built=False, stale_before=False)

    _sweep_staging(home)
    supplied_rows = supplied.build_snapshot(session, through)
    with files.staging(home) as staged:
        started = time.perf_counter()
        named, inputs = build.named_inputs(sources)
        query_inputs: dict[str, Path | str] = dict(inputs)
        if supplied_rows:
            query_inputs["supplied"] = _write_supplied(staged / SUPPLIED_FILE, supplied_rows)
        sql = build.facts_sql(config, named, year, supplied="supplied" if supplied_rows else None)
        query = batch.Query(sql, query_inputs, order_by=(KEY,))
        target = staged / files.FACTS_FILE
        con = duck.batch_connection(staged / "spill")  # the build's own DuckDB, spilling into its staging
        try:
            batch.write_parquet(con, query, target, PARQUET_OPTIONS, work=staged / "engine", engine=engine)
            row = con.execute(f"SELECT count(*) FROM read_parquet({sql_literal(str(target))})").fetchone()
        finally:
            con.close()
        shutil.rmtree(staged / "spill", ignore_errors=True)
        shutil.rmtree(staged / "engine", ignore_errors=True)
        enterprises = int(row[0]) if row else 0
        seconds = round(time.perf_counter() - started, 3)
        number = (session.scalar(select(func.max(EnterpriseFactsVersion.number))) or 0) + 1
        version = EnterpriseFactsVersion(
            number=number,
            year=year,
            enterprises=enterprises,
            sources=recorded,
            sources_file_version=config.version,
            sources_file_digest=config.digest,
            supplied_through=through,
            built_by=actor.user_id,
            built_via=via,
            seconds=seconds,
            built_at=utcnow(),
        )
        try:
            with session.begin_nested():
                session.add(version)
                session.flush()
        except IntegrityError:
            raise FactsBuildConflict(f"另一个企业档案构建刚刚生成了第 {number} 版，请稍后重试") from None
        files.publish(staged, home, number)

    for plan in plans.values():
        store_read.record_read(session, actor, plan, "facts.source_read", rows=plan.rows)
    audit.record_later(
        session,
        actor,
        audit.Event(
            "facts.build",
            version=number,
            rows=enterprises,
            details={
                "year": year,
                "sources": recorded,
                "sources_file_version": config.version,
                "supplied_values": len(supplied_rows),
                "engine": engine,
            },
        ),
    )
    return FactsBuild(version=FactsVersionRead.model_validate(version), built=True, stale_before=stale)


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactsRead:
    """A facts read that passed the permission check: the version, and its immutable Parquet file
    for DuckDB (``relation``)."""

    version: int
    path: Path

    @property
    def relation(self) -> str:
        return f"read_parquet({sql_literal(str(self.path))})"


def read_facts(
    session: Session, actor: Actor, *, home: Path, uscc: str | None = None, number: int | None = None
) -> FactsRead:
    """The one door to the facts file: every read of it (one enterprise's page or API answer, policy
    evaluation, batch matching, reach and match lists, the CLI) starts here.

    * ``uscc`` given — one enterprise's row is to be read: its own organisation's users
      (``ENTERPRISE_FACTS_READ``) or those who may read any enterprise's (``ENTERPRISE_FACTS_READ_ANY``);
      anyone else gets "not found", as for a code the facts do not hold;
    * ``uscc`` None — the whole table (every enterprise): ``ENTERPRISE_FACTS_READ_ANY`` only (the
      operator's batch matching, departments' and the regulator's reach; the system actor holds it).

    Refusals are audited (``facts.read``, refused); allowed reads are audited by what the caller
    returns (``facts.read`` for one enterprise, ``policy.match``/``policy.matches_read`` for lists),
    since aggregate passes release no row. The current version, or ``number`` (versions are
    immutable: a match run's results are read with the facts they came from). ``FactsNotBuilt``
    before the first build or for a version never built."""
    code = uscc.strip().upper() if uscc is not None else None
    allowed = may_read(session, actor, code) if code is not None else actor.can(Permission.ENTERPRISE_FACTS_READ_ANY)
    if not allowed:
        what = f"企业档案：{code}" if code is not None else "全部企业的企业档案"
        details = {"uscc": code} if code is not None else {"scope": "all"}
        event = audit.Event("facts.read", reason=f"无权读取{what}", version=number, details=details)
        audit.refuse(session, actor, event)
        if code is not None:
            raise EnterpriseNotFound(f"企业档案中没有该企业：{code}")
        require(actor, Permission.ENTERPRISE_FACTS_READ_ANY)  # 401 for the public, 403 for others
    if number is not None:
        if session.scalar(select(EnterpriseFactsVersion.id).where(EnterpriseFactsVersion.number == number)) is None:
            raise FactsNotBuilt(f"企业档案没有第 {number} 版")
        return FactsRead(number, files.facts_file(home, number))
    row = _current(session)
    if row is None:
        hint = "" if code is not None else "：请先运行 pubdata facts build"
        raise FactsNotBuilt(f"企业档案尚未生成{hint}")
    return FactsRead(row.number, files.facts_file(home, row.number))


def _row(facts: FactsRead, uscc: str) -> dict[str, Any] | None:
    names, rows = store.analytic_query(f"SELECT * FROM {facts.relation} WHERE {KEY} = ?", [uscc])
    return dict(zip(names, rows[0], strict=True)) if rows else None


def get_facts(session: Session, actor: Actor, uscc: str, *, home: Path) -> EnterpriseFacts:
    """One enterprise's facts in the current version, each with its title, unit and source. Its own
    organisation's users, and those who may read any enterprise's facts; "not found" for everyone
    else (and for a code the facts do not hold). The read is audited."""
    code = uscc.strip().upper()
    catalogue.refresh()
    source = read_facts(session, actor, home=home, uscc=code)
    current = session.scalar(select(EnterpriseFactsVersion).where(EnterpriseFactsVersion.number == source.version))
    row = _row(source, code)
    if row is None:
        raise EnterpriseNotFound(f"企业档案中没有该企业：{code}")
    audit.record_later(
        session, actor, audit.Event("facts.read", version=source.version, rows=1, details={"uscc": code})
    )
    # the enterprise's current supplied values, seen at once (the table carries them from the next build)
    overlay = supplied.current_values(session, code)
    facts = []
    for f in FACTS.values():
        given = overlay.get(f.name) if f.supplied else None
        facts.append(
            FactValue(
                name=f.name, title=f.title, value=given.value if given else row.get(f.name), type=f.type,
                unit=f.unit, meaning=f.meaning, missing=f.missing, source=_source_read(f.source),
                supplied=f.supplied, supplied_by=given.supplied_by if given else None,
                supplied_at=given.supplied_at if given else None, supplied_note=given.note if given else None,
            )
        )  # fmt: skip
    return EnterpriseFacts(
        uscc=code,
        name=row.get("name"),
        version=FactsVersionRead.model_validate(current),
        values={f.name: f.value for f in facts},
        facts=facts,
    )


__all__ = [
    "build_facts",
    "check_may_supply",
    "current_version",
    "fact_catalogue",
    "facts_stale",
    "get_facts",
    "list_versions",
    "may_read",
    "own_uscc",
    "read_facts",
    "supplied_facts",
    "supply_facts",
]

"""The demo city's records: every catalogue entry's declared resource gets its table and a
published version of synthetic rows (an entry has one resource, and it holds the rows), loaded
through the store's full pipeline (validation, rejects, quality report, atomic versioned publish).

``fill`` splits the requested number of records across the 5,099 entries — the 25 anchor entries
get about three quarters (``record_anchors``), the others share the rest by update frequency, at
least ``MIN_ROWS`` each — and loads each entry's rows as one DuckDB query
(``store.ingest.load_relation``): no Python runs per row, and DuckDB's memory limit bounds memory.

Rows are keyed by valid codes. An enterprise key table (``enterprise_table``) holds the demo city's
300 enterprises — their real unified social credit codes, names and districts — followed by
synthetic enterprises (one per ``RECORDS_PER_ENTERPRISE`` records) whose codes get their check
characters in SQL. It is written once per (seed, size) as Parquet under
``$PUBDATA_HOME/demo-records/`` and joined by every enterprise-keyed dataset; in a large city a small
generic dataset draws its enterprises from a contiguous slice of it (``enterprise_window``), so its
load reads a few of the table's row groups instead of all of them. A person table
(``person_table``: every synthetic person's resident ID number, name, birth date and district) is
written the same way and joined by the datasets of at least as many rows as there are persons.

Reruns are cheap: a table whose current version was generated with the same seed and size (its
``source_name`` records them) is skipped, so an interrupted fill resumes where it stopped. Each
entry commits on its own.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from pubdata import duck
from pubdata import files as core_files
from pubdata.authz import Actor
from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import EntryCreate
from pubdata.demo import city, entries, names
from pubdata.demo import progress as fill_progress
from pubdata.demo import record_sql as q
from pubdata.demo.record_anchors import BY_CODE, END, START, Sizes
from pubdata.demo.record_fields import (
    DIRTY_EVERY,
    ENTERPRISE_FIELDS,
    PERSON_COLUMNS,
    PERSON_FIELDS,
    Ctx,
    Dataset,
    dirty_column,
    person_sql,
    schema_of,
    value_sql,
)
from pubdata.demo.record_sql import Gen, lit
from pubdata.identity import service as identity
from pubdata.store import service as store
from pubdata.store.errors import TableNotFound
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import ResourceTableCreate

GENERATOR = "2"  # bump when generated values change: existing versions are then regenerated
DEFAULT_RECORDS = 1_000_000
MAX_RECORDS = 120_000_000
RECORDS_PER_ENTERPRISE = 250
RECORDS_PER_PERSON = 100
GENERIC_SHARE = 0.25  # of the records, for the entries other than the anchors
MIN_ROWS = 20
FREQUENCY_WEIGHT = {"realtime": 4.0, "daily": 3.0, "weekly": 2.0, "monthly": 1.5, "quarterly": 1.0}
FREQUENCY_WEIGHT |= {"yearly": 0.6, "irregular": 0.8}
DUCKDB_MEMORY = "1GB"
ENTERPRISE_GROUP = 8192  # rows per row group of the enterprise key table (see enterprise_window)
PLANNING_BOUND_ROWS = 100_000  # below this, a load's time is mostly DuckDB planning its statements

OpenSession = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class FillProgress:
    """Where a fill is: entries and rows done of the plan, and what is being loaded."""

    entries_done: int
    entries_total: int
    rows_done: int
    rows_total: int
    current: str
    stage: str = ""


Progress = Callable[[FillProgress], Any]


def sizes(records: int) -> Sizes:
    if not 0 < records <= MAX_RECORDS:
        raise ValueError(f"records must be between 1 and {MAX_RECORDS}")
    return Sizes(
        records=records,
        enterprises=max(city.ENTERPRISES, records // RECORDS_PER_ENTERPRISE),
        persons=max(1000, records // RECORDS_PER_PERSON),
    )


# --- planning ------------------------------------------------------------------------------------


def _unit_hash(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def enterprise_window(code: str, rows: int, s: Sizes, seed: int) -> tuple[int, int] | None:
    """The enterprises (a range of ``e_idx``) an entry's generic records concern, when not all of
    them: a large city's small dataset draws from a contiguous slice of ``ENTERPRISE_GROUP`` row
    groups at least as wide as its rows, so its query reads those groups of the enterprise file, not
    all of it (the join was most of a small load's time at 120M records: ~55 of ~190 ms)."""
    groups = s.enterprises // ENTERPRISE_GROUP
    width = max(1, math.ceil(rows / ENTERPRISE_GROUP))
    if width >= groups:
        return None
    first = int(_unit_hash(f"{seed}:{code}:enterprises") * (groups - width + 1)) * ENTERPRISE_GROUP
    return first, first + width * ENTERPRISE_GROUP - 1


def generic_dataset(entry: EntryCreate, rows: int, s: Sizes, seed: int) -> Dataset:
    """Records for an entry from its declared fields' names and types."""
    fields = list(entry.fields or [])
    names_ = {f.name for f in fields}
    start = entry.temporal_start or START
    end = min(entry.temporal_end or END, END)
    if start > end:
        start = date(end.year, 1, 1)
    g = Gen(seed, entry.code)
    ctx = Ctx(g, Gen(seed, "persons", row="_pi"), start, end)
    district = None
    if entry.district in q.DISTRICTS:
        district = str(q.DISTRICTS.index(entry.district))
    enterprise, window = None, None
    if names_ & (ENTERPRISE_FIELDS | {"winner"}):
        window = enterprise_window(entry.code, rows, s, seed)
        first, last = window or (0, s.enterprises - 1)
        enterprise = f"{first} + {g.h('ent')} % {last - first + 1}"
    person = f"{g.h('person')} % {s.persons}" if names_ & PERSON_FIELDS else None
    return Dataset(
        code=entry.code,
        rows=rows,
        columns=[(f.name, value_sql(f.name, f.type, ctx)) for f in fields],
        schema=schema_of(fields),
        enterprise=enterprise,
        enterprises=window,
        person=person,
        district=district,
        dirty=dirty_column(fields),
    )


def expected_loaded(ds: Dataset, kept: int | None = None) -> float:
    """Rows a dataset is expected to load: the rows its ``where`` keeps (``kept``, counted; all when
    not given), less the spoiled values' share that the store rejects (one row in ``DIRTY_EVERY``,
    counted as rejected whether or not the spoiled value fails — so the estimate never exceeds)."""
    rows = ds.rows if kept is None else kept
    return rows * (1 - 1 / DIRTY_EVERY) if ds.dirty else float(rows)


def plan(
    items: list[EntryCreate], s: Sizes, seed: int, *, kept: Callable[[Dataset], int] | None = None
) -> list[Dataset]:
    """Every entry's dataset: anchors by their builders, the rest sharing what the anchors leave of
    ``s.records``, so that the rows loaded reach the records asked for. An anchor's ``where`` drops
    some of its generated rows (years before an enterprise was founded) and the store rejects the
    spoiled ones: ``kept(ds)`` counts what a ``where`` keeps (``fill`` asks DuckDB), and the generic
    entries are planned to make up the difference, rounded up (never less than ``MIN_ROWS`` each)."""
    out = [BY_CODE[e.code](e, s, seed) for e in items if e.code in BY_CODE]
    anchors = sum(expected_loaded(ds, kept(ds) if kept and ds.where else None) for ds in out)
    others = [e for e in items if e.code not in BY_CODE]
    weights = [
        FREQUENCY_WEIGHT.get(e.update_frequency or "", 1.0) * (0.4 + 1.2 * _unit_hash(f"{seed}:{e.code}"))
        for e in others
    ]
    # as if every generic dataset had a spoiled column (most have): their rejects are made up too
    budget = max(0.0, s.records - anchors) / (1 - 1 / DIRTY_EVERY)
    total = sum(weights) or 1.0
    for e, w in zip(others, weights, strict=True):
        out.append(generic_dataset(e, max(MIN_ROWS, math.ceil(budget * w / total)), s, seed))
    return out


def where_kept(home: Path, seed: int, s: Sizes) -> Callable[[Dataset], int]:
    """``kept`` for ``plan``: the rows a dataset's query returns after its ``where``, counted by DuckDB
    (the where needs only a few columns and the join: seconds at 120M records, nothing to write)."""

    def count(ds: Dataset) -> int:
        con = duck.batch_connection(home / "demo-records" / "spill", memory_limit=DUCKDB_MEMORY)
        try:
            row = con.execute(f"SELECT count(*) FROM ({dataset_sql(ds, s, seed, home)})").fetchone()
        finally:
            con.close()
        return int(row[0]) if row else 0

    return count


def source_tag(ds: Dataset, s: Sizes, seed: int) -> str:
    """What a version was generated from; a rerun with the same tag skips the entry."""
    parts = [f"seed={seed}", f"rows={ds.rows}"]
    if ds.enterprise:
        parts.append(f"enterprises={s.enterprises}")
    if ds.person:
        parts.append(f"persons={s.persons}")
    return f"demo-records:{':'.join(parts)}:gen={GENERATOR}"


# --- the enterprise key table ----------------------------------------------------------------------

_INDUSTRY = re.compile(r"所属行业：(.+?)（([A-Z]\d{4})）")
COMPANY_TYPES = (
    "有限责任公司（自然人投资或控股）",
    "有限责任公司（自然人独资）",
    "股份有限公司（非上市）",
    "有限责任公司（法人独资）",
)
SYLLABLES = "达兴盛源泰利安丰通华宇恒信德美嘉汇鑫瑞康"


def _demo_rows(seed: int) -> list[tuple[Any, ...]]:
    """The demo city's enterprises as (idx, uscc, name, district index, type, industry code, name)."""
    out = []
    for i, spec in enumerate(city.enterprises(seed)):
        assert spec.uscc is not None and spec.district is not None
        match = _INDUSTRY.search(spec.description)
        if spec.uscc.startswith("93"):
            kind, code, label = "农民专业合作社", "A0519", "其他农业专业及辅助性活动"
        elif spec.uscc.startswith("N2"):
            kind, code, label = "农村集体经济组织", "L7212", "投资与资产管理"
        else:
            assert match is not None, spec.description
            label, code = match.group(1), match.group(2)
            kind = "股份有限公司（非上市）" if "股份" in spec.name else "有限责任公司（自然人投资或控股）"
        out.append((i, spec.uscc, spec.name, q.DISTRICTS.index(spec.district), kind, code, label))
    return out


def enterprise_table(path: Path, s: Sizes, seed: int) -> None:
    """Write the enterprise key table (``e_*`` columns, ``e_idx`` 0 … E-1) to ``path`` as Parquet,
    atomically (a temporary file renamed into place)."""
    g = Gen(seed, "enterprises", row="e_idx")
    demo = _demo_rows(seed)
    values = ", ".join(
        f"({i}, {lit(u)}, {lit(n)}, {d}, {lit(k)}, {lit(c)}, {lit(label)})" for i, u, n, d, k, c, label in demo
    )
    industries = names.INDUSTRIES
    ind = f"1 + CAST({g.h('industry')} % {len(industries)} AS BIGINT)"
    trade = g.pick("trade", names.TRADE_NAMES)
    syllable = f"CASE WHEN {g.chance('syl', 600)} THEN {g.pick('syl2', tuple(SYLLABLES))} ELSE '' END"
    part = f"{q.str_list([x[0] for x in industries])}[{ind}]"
    form = g.pick("form", names.COMPANY_FORMS)
    name = (
        f"CASE WHEN {g.chance('shape', 120)} THEN {trade} || {syllable} || '（青岛）' || {part} || {form} "
        f"WHEN {g.chance('shape2', 80)} THEN '山东' || {trade} || {syllable} || {part} || {form} "
        f"ELSE '青岛' || {trade} || {syllable} || {part} || {form} END"
    )
    org8 = f"((e_idx * 7368787 + {int(_unit_hash(str(seed)) * 1e7)}) % 100000000)"
    synthetic = (
        f"SELECT e_idx, {q.uscc(q.division_of('e_dindex'), org8)} AS e_uscc, {name} AS e_name, e_dindex, "
        f"{g.pick('type', COMPANY_TYPES)} AS e_type, "
        f"{q.str_list([x[2] for x in industries])}[{ind}] AS e_industry_code, "
        f"{q.str_list([x[1] for x in industries])}[{ind}] AS e_industry_name "
        f"FROM (SELECT range AS e_idx, {g.district_index('district', row='range')} AS e_dindex "
        f"FROM range({len(demo)}, {s.enterprises}))"
    )
    statuses = q.weighted(("存续", "在业", "吊销", "注销", "迁出"), (84, 6, 3, 5, 2))
    status = q.when(f"e_idx < {len(demo)}", "'存续'", g.pick("status", statuses))
    sql = (
        f"SELECT e_idx, e_uscc, e_name, {q.district_of('e_dindex')} AS e_district, e_dindex, "
        f"{q.division_of('e_dindex')} AS e_division, e_type, e_industry_code, e_industry_name, "
        f"CAST(round(exp(ln(3) + {g.unit('capital')} * ln(20000)), 2) AS DECIMAL(18,2)) AS e_capital, "
        f"CASE WHEN e_idx = 0 THEN DATE '2016-04-18' ELSE {g.date('found', '1995-01-01', 10150)} END AS e_found, "
        f"{status} AS e_status, {q.address(g, 'addr', 'e_dindex')} AS e_address, "
        f"{g.person_name('rep')} AS e_legal_rep "
        f"FROM (SELECT * FROM (VALUES {values}) AS d(e_idx, e_uscc, e_name, e_dindex, e_type, e_industry_code, "
        f"e_industry_name) UNION ALL ({synthetic} WHERE e_uscc NOT IN (SELECT col0 FROM (VALUES "
        + ", ".join(f"({lit(row[1])})" for row in demo)
        + ")))) ORDER BY e_idx"
    )
    _write_parquet(sql, path, ENTERPRISE_GROUP)


def _write_parquet(sql: str, path: Path, row_group: int) -> None:
    """The rows of ``sql`` as a Parquet file at ``path``, atomically (a temporary file renamed into
    place)."""
    with core_files.staging_dir(path.parent) as work:
        staged = work / path.name
        con = duck.batch_connection(work / "spill", memory_limit=DUCKDB_MEMORY, threads=2)
        try:
            options = f"FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {row_group}"
            con.execute(f"COPY ({sql}) TO {lit(str(staged))} ({options})")
        finally:
            con.close()
        core_files.publish_file(staged, path)


def enterprise_file(home: Path, s: Sizes, seed: int) -> Path:
    return home / "demo-records" / f"enterprises-{seed}-{s.enterprises}-g{GENERATOR}.parquet"


# --- the person table ------------------------------------------------------------------------------


def person_table(path: Path, s: Sizes, seed: int) -> None:
    """Write the person table (``_pi`` 0 … P-1 and the ``PERSON_COLUMNS`` that ``person_sql``
    computes from it) to ``path`` as Parquet, atomically. A dataset of at least ``s.persons`` rows
    joins it (``dataset_sql``) rather than computing a resident ID number and a name for every row:
    at 120M records the 42M visits and settlements computed them ~35 times per person."""
    persons = Gen(seed, "persons", row="_pi")
    columns = ", ".join(("_pi", *PERSON_COLUMNS))
    sql = f"SELECT {columns} FROM ({person_sql(f'SELECT range AS _pi FROM range({s.persons})', persons)})"
    _write_parquet(sql, path, ENTERPRISE_GROUP * 16)


def person_file(home: Path, s: Sizes, seed: int) -> Path:
    return home / "demo-records" / f"persons-{seed}-{s.persons}-g{GENERATOR}.parquet"


def dataset_sql(ds: Dataset, s: Sizes, seed: int, home: Path) -> str:
    """A dataset's query over the key tables of ``home`` (``fill`` writes them first)."""
    persons = Gen(seed, "persons", row="_pi")
    joined = str(person_file(home, s, seed)) if ds.person and ds.rows >= s.persons else None
    return ds.sql(seed, str(enterprise_file(home, s, seed)), persons, joined)


# --- filling ---------------------------------------------------------------------------------------


def _operator(open_session: OpenSession) -> Actor:
    with open_session() as session:
        return identity.actor_for(identity.get_user(session, "operator"), via="cli")


def table_of(session: Session, actor: Actor, code: str) -> tuple[str, bool, str | None]:
    """The entry's declared resource (where its rows live: the demo declares one per entry), whether
    it has its table yet, and the source tag of the table's current version, if any."""
    entry = catalog.get_entry(session, actor, code)
    resource = min(entry.resources, key=lambda r: r.position)
    try:
        versions = store.list_versions(session, actor, resource.id)
    except TableNotFound:
        return resource.id, False, None
    current = next((v for v in versions if v.current), None)
    return resource.id, True, current.source_name if current else None


def _load(
    open_session: OpenSession,
    actor: Actor,
    ds: Dataset,
    tag: str,
    sql: str,
    home: Path,
    stage: ingest.Progress,
    threads: int = ingest.THREADS,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> ingest.LoadResult | None:
    """Load one dataset as the next version of the entry's declared resource; None when its current
    version already has this tag. The resource is given its table (committed) first, so the metadata
    database is written only briefly at the end of a long load (a server using it meanwhile is not
    held up)."""
    with open_session() as session:
        resource_id, has_table, current = table_of(session, actor, ds.code)
        if current == tag:
            return None
        if not has_table:
            store.create_resource_table(session, actor, resource_id, ResourceTableCreate(schema=ds.schema))
    with open_session() as session:
        return ingest.load_relation(
            session,
            actor,
            resource_id,
            sql,
            home=home,
            source_name=tag,
            progress=stage,
            threads=threads,
            columns=[name for name, _ in ds.columns],
            connection=connection,
        )


@fill_progress.recorded  # keeps $PUBDATA_HOME/demo-records/progress.json for the portal and API
def fill(
    open_session: OpenSession,
    *,
    home: Path,
    seed: int = city.DEFAULT_SEED,
    records: int = DEFAULT_RECORDS,
    progress: Progress | None = None,
    only: Collection[str] | None = None,
    workers: int = 2,
) -> dict[str, Any]:
    """Give every demo entry's declared resource (or those of the entries whose codes are in
    ``only``) its table and a published version of about ``records`` synthetic rows in all. The
    city itself must exist (``city.build``). Returns counts: entries loaded, skipped (already
    current) and refused, rows loaded and rejected."""
    started = time.perf_counter()
    s = sizes(records)
    items, _times = entries.compose(seed)
    if only is not None:
        items = [e for e in items if e.code in set(only)]
    report = progress or (lambda _p: None)
    actor = _operator(open_session)
    for path, label, write in (
        (enterprise_file(home, s, seed), "企业主体代码表", enterprise_table),
        (person_file(home, s, seed), "自然人代码表", person_table),
    ):
        if not path.exists():
            report(FillProgress(0, len(items), 0, 0, label, "生成"))
            write(path, s, seed)
    datasets = plan(items, s, seed, kept=where_kept(home, seed, s))
    rows_total = sum(ds.rows for ds in datasets)
    counts = {"loaded": 0, "skipped": 0, "refused": 0, "rows_loaded": 0, "rows_rejected": 0}
    state = {"done": 0, "rows": 0}
    lock = threading.Lock()
    # Each worker thread keeps one DuckDB connection for all its loads (``ingest.load_connection``):
    # with a new one per load, the median small load took 112.6 ms, with a kept one 84.9 ms (100
    # loads at 120M records, one at a time), and there are 5,089 of them.
    local = threading.local()
    opened: list[duckdb.DuckDBPyConnection] = []

    def connection(rows: int) -> duckdb.DuckDBPyConnection:
        con = getattr(local, "con", None)
        if con is None:
            with lock:
                con = ingest.load_connection(home / "demo-records" / "spill" / f"load-{len(opened)}", threads)
                opened.append(con)
            local.con = con
        # A small load's statements are mostly planning, and DuckDB's common-subexpression pass is a
        # tenth of it: without it the median small load took 5 ms less (200 loads, paired), where a
        # 3M-row load's main statement took 7.8 s instead of 6.7 (one run each).
        small = rows < PLANNING_BOUND_ROWS
        con.execute("SET disabled_optimizers = 'common_subexpressions'" if small else "RESET disabled_optimizers")
        return con

    def one(ds: Dataset) -> None:
        tag = source_tag(ds, s, seed)

        def stage(name: str, _pct: int, _rows: int | None) -> None:
            report(FillProgress(state["done"], len(datasets), state["rows"], rows_total, ds.code, name))

        sql = dataset_sql(ds, s, seed, home)
        try:
            result = _load(open_session, actor, ds, tag, sql, home, stage, threads, connection(ds.rows))
        except BaseException:
            local.con = None  # the next load on this thread opens another (this one stays in ``opened``)
            raise
        with lock:
            if result is None:
                counts["skipped"] += 1
            else:
                counts["loaded" if result.state == "published" else "refused"] += 1
                counts["rows_loaded"] += result.rows_loaded
                counts["rows_rejected"] += result.rows_rejected
            state["done"] += 1
            state["rows"] += ds.rows
            report(FillProgress(state["done"], len(datasets), state["rows"], rows_total, ds.code, "完成"))

    # ``workers`` loads at a time, largest first, each with one DuckDB thread. A generated load's
    # validation is one query over ``range(n)``, which DuckDB runs on one thread whatever it is given,
    # and a small load is mostly fixed single-threaded work: loads side by side keep the cores busy,
    # where one load with every thread left them half idle (the twelve largest tables at 30M records:
    # 116 s one at a time with two threads, 85 s two at a time with one each, the same CPU; two at a
    # time with two threads each oversubscribed the cores: 115 s, 40% more CPU). Largest first leaves
    # the thousands of small loads to even out the end.
    ordered = sorted(datasets, key=lambda ds: -ds.rows)
    threads = 1 if workers > 1 else ingest.THREADS
    try:
        if workers > 1 and len(ordered) > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-fill") as pool:
                for future in [pool.submit(one, ds) for ds in ordered]:
                    future.result()
        else:
            for ds in ordered:
                one(ds)
    finally:
        for con in opened:
            con.close()
    return {
        "records": records,
        "enterprises": s.enterprises,
        "entries": len(datasets),
        **counts,
        "seconds": round(time.perf_counter() - started, 2),
    }

"""Bulk matching (政策匹配): every clause of a pack for every enterprise of the facts table in one
vectorised DuckDB statement, with proactive notices for the enterprises that newly qualify.

A run (``match_pack``):

1. records the pack text (``policy_pack_version``) and a ``policy_match_run`` row;
2. evaluates ``engine.pack_select`` — the statement the pack's test cases check against the Python
   evaluator — over the current facts Parquet file, in a DuckDB connection of its own (memory and
   threads bounded by the read settings, spilling under the home), and writes every enterprise ×
   clause result (enterprise, clause, eligible, amount, amount_kind) to
   ``policy/matches/run-<id>.parquet``: staged, then renamed into place;
3. brings ``policy_match`` — the results that are not a plain "no" (eligible, or undecided for want
   of facts), one row per enterprise and clause of the pack — to the run's results by difference:
   the pack's rows are read once and compared with the new results in DuckDB, and only the changes
   are written (new pairs inserted with ``COPY`` on PostgreSQL or one executemany elsewhere, changed
   pairs updated, pairs no longer eligible or undecided deleted). Rows of an earlier version of the
   pack move to the new version: the table holds each pack's current results;
4. notifies (``notices.create_notices``) every pair that is eligible now and was not eligible
   before with the same amount. The previous results of the same pack id count whatever their
   version, so a re-versioned pack notifies only where the amount changed.

Idempotent: when a finished run for the same pack text and facts version exists, it is returned as
it is (``force`` runs again; it then finds no difference and notifies nobody). On PostgreSQL a
transaction-level advisory lock keeps two runs of one pack from interleaving.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Table, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from pubdata import batch, bulk, duck
from pubdata import files as core_files
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.db import keep_whatever_happens, utcnow
from pubdata.enterprise import service as enterprise
from pubdata.errors import Invalid, PubdataError
from pubdata.policy import service
from pubdata.policy.matching import notices
from pubdata.policy.matching.schemas import MatchRunRead
from pubdata.policy.models import PolicyMatch, PolicyMatchRun, PolicyPackVersion
from pubdata.policy.packs.engine import pack_select
from pubdata.policy.packs.pack import Pack
from pubdata.store.ingest.semantic import sql_literal

SHANGHAI = ZoneInfo("Asia/Shanghai")
PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)"
BATCH = 50_000
MATCH_COLUMNS = ("clause_id", "uscc", "eligible", "amount", "amount_kind")  # per row; the rest are the run's
Progress = Callable[[str], object]
MATCH_TABLE = cast(Table, PolicyMatch.__table__)


class PackNotMatchable(Invalid):
    code = "policy.pack_not_matchable"


class MatchFailed(Invalid):
    code = "policy.match_failed"


# --- files ---------------------------------------------------------------------------------------------


def results_root(home: Path) -> Path:
    return home / "policy" / "matches"


def results_file(home: Path, run_id: int) -> Path:
    """Where a run's results are (every enterprise × clause, as Parquet)."""
    return results_root(home) / f"run-{run_id}.parquet"


# --- the vectorised pass -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassSummary:
    enterprises: int
    pairs: int
    eligible: int
    undecided: int
    total_amount: int


def run_pass(
    con: duckdb.DuckDBPyConnection, pack: Pack, facts_file: Path, target: Path, *, engine: str | None = None
) -> PassSummary:
    """Evaluate every clause of ``pack`` for every row of ``facts_file`` with one ``pack_select``
    statement on the batch ``engine`` (``duckdb`` or ``spark``, default ``PUBDATA_BATCH_ENGINE``: the
    same file either way) and write the results to ``target`` (Parquet: enterprise, clause,
    eligible, amount, amount_kind); return the counts."""
    source = f"read_parquet({sql_literal(str(facts_file))})"
    result = f"read_parquet({sql_literal(str(target))})"
    query = batch.Query(pack_select(pack, "facts"), {"facts": facts_file})
    try:
        batch.write_parquet(con, query, target, PARQUET_OPTIONS, work=target.parent / "engine", engine=engine)
        counts = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE eligible), count(*) FILTER (WHERE eligible IS NULL), "
            f"coalesce(sum(amount) FILTER (WHERE eligible), 0) FROM {result}"
        ).fetchone()
        enterprises = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    except (duckdb.Error, batch.QueryFailed) as exc:
        raise MatchFailed(f"匹配计算失败：{str(exc).splitlines()[0]}") from None
    assert counts is not None and enterprises is not None
    return PassSummary(int(enterprises[0]), int(counts[0]), int(counts[1]), int(counts[2]), int(counts[3]))


# --- runs ----------------------------------------------------------------------------------------------


def run_read(run: PolicyMatchRun, version: PolicyPackVersion, *, reused: bool = False) -> MatchRunRead:
    return MatchRunRead(
        id=run.id,
        pack_id=version.pack_id,
        pack_version=version.version,
        digest=version.digest,
        facts_version=run.facts_version,
        state=run.state,
        enterprises=run.enterprises,
        eligible=run.eligible,
        undecided=run.undecided,
        newly_eligible=run.newly_eligible,
        total_amount=run.total_amount,
        seconds=run.seconds,
        started_at=run.started_at,
        finished_at=run.finished_at,
        reused=reused,
    )


def latest_run(session: Session, pack_id: str) -> tuple[PolicyMatchRun, PolicyPackVersion] | None:
    """The pack's latest finished run (of any version of it) and the pack text it used."""
    row = session.execute(
        select(PolicyMatchRun, PolicyPackVersion)
        .join(PolicyPackVersion, PolicyPackVersion.id == PolicyMatchRun.pack_version_id)
        .where(PolicyPackVersion.pack_id == pack_id, PolicyMatchRun.state == "done")
        .order_by(PolicyMatchRun.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def _lock(session: Session, pack_id: str) -> None:
    """Serialise runs of one pack on PostgreSQL (SQLite serialises writers already)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x5044_0000 + zlib.crc32(pack_id.encode()) % 65536}
        )


def match_pack(
    session: Session,
    actor: Actor,
    pack_id: str,
    *,
    home: Path,
    force: bool = False,
    progress: Progress | None = None,
    engine: str | None = None,
) -> MatchRunRead:
    """Match a shipped pack against every enterprise of the current facts table: results stored per
    run, ``policy_match`` brought up to date, notices for newly eligible enterprises (see the
    module's description). The operator's (or the system's) right. Raises ``FactsNotBuilt`` before
    the facts table exists and ``PackNotMatchable`` when the pack uses facts the table lacks.
    ``engine``: the batch engine of the pass (default ``PUBDATA_BATCH_ENGINE``)."""
    require(actor, Permission.POLICY_MATCH_RUN)
    engine = batch.engine_name(engine)
    say = progress or (lambda _message: None)
    pack = service.get_pack(actor, pack_id)
    if not pack.notifies:
        raise PackNotMatchable(f"政策 {pack.id} 是认定标准，不做批量匹配和主动推送")
    problems = service.check_inputs_against_facts(pack)
    if problems:
        raise PackNotMatchable(f"政策 {pack.id} 不能批量匹配：" + "；".join(problems), details=problems)
    facts = enterprise.read_facts(session, actor, home=home)  # every enterprise: the read-any permission
    facts_file, facts_version = facts.path, facts.version
    absent = [name for name in pack.inputs if name not in set(pq.read_schema(facts_file).names)]
    if absent:
        # a facts version built from an older fact-sources file (the refresher rebuilds it)
        raise PackNotMatchable(
            f"政策 {pack.id} 暂不能批量匹配：企业档案第 {facts_version} 版没有 {'、'.join(absent)}"
            "（按较早的事实来源配置构建），重建企业档案后再匹配",
            details=absent,
        )
    version = service.register_version(session, pack)
    _lock(session, pack.id)
    if not force:
        done = session.scalar(
            select(PolicyMatchRun)
            .where(
                PolicyMatchRun.pack_version_id == version.id,
                PolicyMatchRun.facts_version == facts_version,
                PolicyMatchRun.state == "done",
            )
            .order_by(PolicyMatchRun.id.desc())
            .limit(1)
        )
        if done is not None:
            say(f"{pack.id}：政策与企业档案（第 {facts_version} 版）均无变化，沿用第 {done.id} 次匹配结果")
            return run_read(done, version, reused=True)

    started = time.perf_counter()
    run = PolicyMatchRun(pack_version_id=version.id, facts_version=facts_version, state="running", started_at=utcnow())
    session.add(run)
    session.flush()
    try:
        return _execute(
            session, actor, pack, version, run, facts_file, home=home, say=say, started=started, engine=engine
        )
    except Exception as exc:
        _keep_failure(session, pack, run, exc, seconds=time.perf_counter() - started)
        raise


def _keep_failure(session: Session, pack: Pack, run: PolicyMatchRun, exc: Exception, *, seconds: float) -> None:
    """A failed run is rolled back with everything it did; its record (state ``failed``, the error)
    is written whatever happens (``db.keep_whatever_happens``), so an operator can see what went
    wrong. After a rollback the row (and a pack version made in the same transaction) is created
    anew; if the caller commits instead, the run's own row is marked failed."""
    message = exc.message if isinstance(exc, PubdataError) else f"{type(exc).__name__}: {exc}"
    facts_version, started_at, run_id = run.facts_version, run.started_at, run.id

    def write(s: Session) -> None:
        row = s.get(PolicyMatchRun, run_id)
        if row is None:
            version = service.register_version(s, pack)
            row = PolicyMatchRun(pack_version_id=version.id, facts_version=facts_version, started_at=started_at)
            s.add(row)
        row.state, row.error = "failed", message[:4000]
        row.seconds, row.finished_at = round(seconds, 3), utcnow()
        s.flush()

    keep_whatever_happens(session, write)


def _execute(
    session: Session,
    actor: Actor,
    pack: Pack,
    version: PolicyPackVersion,
    run: PolicyMatchRun,
    facts_file: Path,
    *,
    home: Path,
    say: Progress,
    started: float,
    engine: str,
) -> MatchRunRead:
    """The run itself: the pass over the facts, the results file, ``policy_match``, notices, audit."""
    facts_version = run.facts_version
    root = results_root(home)
    with core_files.staging_dir(root) as work:
        con = duck.batch_connection(work / "spill")
        try:
            say(f"{pack.id}：计算 {len(pack.clauses)} 个条款 × 企业档案第 {facts_version} 版的全部企业")
            staged = work / "results.parquet"
            summary = run_pass(con, pack, facts_file, staged, engine=engine)
            say(
                f"{pack.id}：{summary.enterprises:,} 个企业，符合 {summary.eligible:,} 项，"
                f"待补充信息 {summary.undecided:,} 项；保存结果"
            )
            target = results_file(home, run.id)
            core_files.publish_file(staged, target)  # a file left by a rolled-back run with this id is replaced
            changes, newly = _sync(session, con, pack, version, run, target)
        finally:
            con.close()
    facts = enterprise.current_version(session)
    facts_words = f"企业档案（{facts.year}年度，第 {facts.number} 版）" if facts else "企业档案"
    notified = notices.create_notices(session, pack, version.id, facts_words, newly)
    run.state = "done"
    run.enterprises = summary.enterprises
    run.eligible = summary.eligible
    run.undecided = summary.undecided
    run.total_amount = summary.total_amount
    run.newly_eligible = notified
    run.results_path = str(target.relative_to(home))
    run.seconds = round(time.perf_counter() - started, 3)
    run.finished_at = utcnow()
    session.flush()
    audit.record_later(
        session,
        actor,
        audit.Event(
            "policy.match",
            version=facts_version,
            rows=summary.enterprises,
            details={
                "pack": pack.id,
                "digest": pack.digest,
                "run": run.id,
                "eligible": summary.eligible,
                "undecided": summary.undecided,
                "notices": notified,
                **changes,
                "engine": engine,
            },
        ),  # fmt: skip
    )
    say(f"{pack.id}：完成，新推送 {notified:,} 条（{run.seconds} 秒）")
    return run_read(run, version)


def match_all(
    session: Session,
    actor: Actor,
    *,
    home: Path,
    on: date | None = None,
    force: bool = False,
    progress: Progress | None = None,
    engine: str | None = None,
) -> list[MatchRunRead]:
    """Match every support pack in force on ``on`` (today in Beijing time by default); recognition
    packs (the MIIT tiers) pay nothing and take no applications, so they push no notices."""
    require(actor, Permission.POLICY_MATCH_RUN)
    day = on or datetime.now(SHANGHAI).date()
    runs = []
    for pack in service.list_packs(actor, on=day):
        if not pack.notifies:
            continue
        try:
            runs.append(match_pack(session, actor, pack.id, home=home, force=force, progress=progress, engine=engine))
        except PackNotMatchable as exc:  # one pack the facts cannot serve yet does not stop the others
            (progress or (lambda _message: None))(exc.message)
    return runs


# --- bringing policy_match up to date ------------------------------------------------------------------


def _old_rows(session: Session, version_ids: list[int]) -> pa.Table:
    """The pack's rows in ``policy_match`` (of any of its versions), streamed into Arrow straight
    from the driver's cursor, each batch of tuples converted at once (a million rows: no per-row
    Python work). ``eligible`` comes as the driver gives it (SQLite: 0/1) and is cast in DuckDB."""
    conn = session.connection()
    flag = pa.bool_() if conn.dialect.name == "postgresql" else pa.int64()
    row_type = pa.struct(
        [("id", pa.int64()), ("pack_version_id", pa.int64()), ("clause_id", pa.string()), ("uscc", pa.string()),
         ("eligible", flag), ("amount", pa.int64()), ("amount_kind", pa.string())]
    )  # fmt: skip
    ids = ", ".join(str(int(v)) for v in version_ids) or "NULL"
    sql = (
        "SELECT id, pack_version_id, clause_id, uscc, eligible, amount, amount_kind FROM policy_match "
        f"WHERE pack_version_id IN ({ids})"
    )
    batches = []
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(BATCH):
            batches.append(pa.RecordBatch.from_struct_array(pa.array(rows, type=row_type)))
    finally:
        cursor.close()
    return pa.Table.from_batches(batches, schema=pa.schema(list(row_type)))


def _ids(con: duckdb.DuckDBPyConnection, sql: str) -> list[int]:
    return [int(r[0]) for r in con.execute(sql).fetchall()]


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[list[tuple[Any, ...]]]:
    """The query's rows in batches."""
    con.execute(sql)
    while rows := con.fetchmany(BATCH):
        yield rows


def _delete_ids(session: Session, ids: list[int]) -> None:
    t = MATCH_TABLE
    for start in range(0, len(ids), 1000):
        session.execute(delete(t).where(t.c.id.in_(ids[start : start + 1000])))


def _sync(
    session: Session,
    con: duckdb.DuckDBPyConnection,
    pack: Pack,
    version: PolicyPackVersion,
    run: PolicyMatchRun,
    results: Path,
) -> tuple[dict[str, int], list[notices.NewlyEligible]]:
    """Write the differences between the pack's rows in ``policy_match`` and the run's results;
    return the counts of changes and the pairs to notify."""
    session.flush()
    version_ids = list(session.scalars(select(PolicyPackVersion.id).where(PolicyPackVersion.pack_id == pack.id)))
    con.register("old_rows", _old_rows(session, version_ids))
    # one row per enterprise and clause of the pack: the current version's first, then the newest
    con.execute(
        "CREATE TEMP TABLE old_ranked AS SELECT * REPLACE (CAST(eligible AS BOOLEAN) AS eligible), "
        "row_number() OVER (PARTITION BY clause_id, uscc "
        f"ORDER BY pack_version_id = {int(version.id)} DESC, id DESC) AS rank FROM old_rows"
    )
    con.execute(
        "CREATE TEMP TABLE new_rows AS SELECT enterprise AS uscc, clause AS clause_id, eligible, amount, amount_kind "
        f"FROM read_parquet({sql_literal(str(results))}) WHERE eligible IS NOT FALSE"
    )
    con.execute("CREATE TEMP TABLE old AS SELECT * EXCLUDE (rank) FROM old_ranked WHERE rank = 1")
    table = MATCH_TABLE
    duplicates = _ids(con, "SELECT id FROM old_ranked WHERE rank > 1")
    _delete_ids(session, duplicates)
    moved = 0
    if con.execute(f"SELECT count(*) FROM old WHERE pack_version_id <> {int(version.id)}").fetchone() != (0,):
        earlier = [v for v in version_ids if v != version.id]
        result = session.execute(
            update(table).where(table.c.pack_version_id.in_(earlier)).values(pack_version_id=version.id),
            execution_options={"synchronize_session": False},
        )
        moved = int(getattr(result, "rowcount", 0) or 0)

    gone = _ids(con, "SELECT o.id FROM old o ANTI JOIN new_rows n USING (clause_id, uscc)")
    _delete_ids(session, gone)

    now = utcnow()
    changed = con.execute(
        "SELECT o.id, n.eligible, n.amount, n.amount_kind FROM old o JOIN new_rows n USING (clause_id, uscc) "
        "WHERE o.eligible IS DISTINCT FROM n.eligible OR o.amount IS DISTINCT FROM n.amount "
        "OR o.amount_kind IS DISTINCT FROM n.amount_kind"
    ).fetchall()
    if changed:
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                eligible=bindparam("b_eligible"),
                amount=bindparam("b_amount"),
                amount_kind=bindparam("b_kind"),
                run_id=run.id,
                updated_at=now,
            )
        )
        for start in range(0, len(changed), BATCH):
            session.execute(
                stmt,
                [
                    {"b_id": r[0], "b_eligible": r[1], "b_amount": r[2], "b_kind": r[3]}
                    for r in changed[start : start + BATCH]
                ],
                execution_options={"synchronize_session": False},
            )

    # in key order, so the unique index grows at its end
    inserted = bulk.insert_rows(
        session,
        table,
        MATCH_COLUMNS,
        _fetch(
            con,
            "SELECT n.clause_id, n.uscc, n.eligible, n.amount, n.amount_kind FROM new_rows n "
            "ANTI JOIN old o USING (clause_id, uscc) ORDER BY n.clause_id, n.uscc",
        ),
        constants={"pack_version_id": version.id, "run_id": run.id, "first_matched_at": now, "updated_at": now},
    )
    newly = [
        notices.NewlyEligible(uscc=r[0], clause_id=r[1], amount=r[2], amount_kind=r[3])
        for r in con.execute(
            "SELECT n.uscc, n.clause_id, n.amount, n.amount_kind "
            "FROM new_rows n LEFT JOIN old o USING (clause_id, uscc) "
            "WHERE n.eligible AND NOT coalesce(o.eligible AND o.amount IS NOT DISTINCT FROM n.amount "
            "AND o.amount_kind = n.amount_kind, FALSE) ORDER BY n.uscc, n.clause_id"
        ).fetchall()
    ]
    con.unregister("old_rows")
    return (
        {"inserted": inserted, "updated": len(changed), "deleted": len(gone) + len(duplicates), "moved": moved},
        newly,
    )


def match_counts(session: Session, pack_id: str) -> dict[str, int]:
    """The pack's rows in ``policy_match``: eligible and undecided pairs (a cheap check for tests
    and the CLI)."""
    rows = session.execute(
        select(PolicyMatch.eligible, func.count())
        .join(PolicyPackVersion, PolicyPackVersion.id == PolicyMatch.pack_version_id)
        .where(PolicyPackVersion.pack_id == pack_id)
        .group_by(PolicyMatch.eligible)
    ).all()
    out = {"eligible": 0, "undecided": 0}
    for eligible, count in rows:
        out["eligible" if eligible else "undecided"] += int(count)
    return out

"""Credit scoring (以数据变信用): scorecard versions, score runs over every enterprise, and one
enterprise's score with its reasons.

A run (``run_scoring``):

1. resolves the card (a shipped model file such as ``expert``, or the newest fitted version of a
   model id) and records its exact text (``finance_model_version``, once per text);
2. reads the facts through the enterprise domain's one door (``enterprise.read_facts``: the whole
   table, so the read-any permission) and checks that the facts file has every column the card uses;
3. runs the card compiled to one DuckDB statement (``scorecards.sql.score_select``) over the facts
   Parquet file in a batch connection of its own, writing every enterprise's score, grade, measured
   values and points to a staged Parquet file that is renamed to
   ``finance/scores/facts-v<F>/model-<M>.parquet`` when complete;
4. records the run (``finance_score_run``: enterprises, grade counts, mean, the score distribution
   for charts; for a fitted card the PSI against its training population, also appended to the
   model version's PSI history) and audits it (``credit.score``).

Idempotent: a finished run of the same card text over the same facts version is returned as it is
(``force`` runs again and replaces the file with the same content). A failed run keeps its record
(state ``failed``, the error) whatever happens to the caller's transaction.

Reading (``score_enterprise``): its own organisation's users (``finance:score:read``) and the
operator (``finance:score:read_any``); everyone else — banks included, whose way in is a credit
report under the enterprise's consent — gets "not found", and the refusal is audited. Every read is
audited (``credit.read``).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import batch, duck
from pubdata import files as core_files
from pubdata.audit import service as audit
from pubdata.authz import SYSTEM, Actor, Permission, require
from pubdata.db import keep_whatever_happens, utcnow
from pubdata.enterprise import service as enterprise
from pubdata.errors import PubdataError
from pubdata.finance import files
from pubdata.finance.errors import ModelNotFound, ScoreNotFound, ScoresNotRun, ScoringFailed
from pubdata.finance.models import FinanceModelVersion, FinanceScoreRun
from pubdata.finance.schemas import (
    CreditScoreRead,
    DimensionScore,
    FeatureScore,
    GradeCutRead,
    ModelRef,
    ModelVersionRead,
    ReasonRead,
    ScaleRead,
    ScoreRunRead,
)
from pubdata.finance.scorecards import card as cards
from pubdata.finance.scorecards import reasons as why
from pubdata.finance.scorecards.sql import facts_needed, score_select
from pubdata.identity import service as identity
from pubdata.store import service as store
from pubdata.store.ingest.semantic import sql_literal

PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)"
BUCKET = 20  # points per bucket of the score distribution
DEFAULT_MODEL = "expert"
Progress = Callable[[str], object]


# --- cards and their versions ------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> cards.Card:
    return cards.parse_card(text)


def card_of(row: FinanceModelVersion) -> cards.Card:
    """The card a stored version holds (parsed once per text)."""
    return _parse(row.text)


def register_card(
    session: Session,
    card: cards.Card,
    *,
    actor: Actor | None = None,
    metrics: dict[str, Any] | None = None,
    charts: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> FinanceModelVersion:
    """The row recording this exact card text (created the first time it is used)."""
    row = session.scalar(
        select(FinanceModelVersion).where(
            FinanceModelVersion.model_id == card.id, FinanceModelVersion.digest == card.digest
        )
    )
    if row is None:
        row = FinanceModelVersion(
            model_id=card.id, version=card.version, kind=card.kind, digest=card.digest, title=card.title,
            text=card.text, metrics=metrics, charts=charts, training=training,
            created_by=actor.user_id if actor is not None else None,
        )  # fmt: skip
        session.add(row)
        session.flush()
    return row


def resolve_card(session: Session, model: str) -> tuple[cards.Card, FinanceModelVersion]:
    """A shipped card (``expert``, ``expert-v1``, a file path) registered as a version, or the newest
    stored version of a fitted model id."""
    try:
        card = cards.load_card(model)
    except ModelNotFound:
        row = session.scalar(
            select(FinanceModelVersion)
            .where(FinanceModelVersion.model_id == model)
            .order_by(FinanceModelVersion.version.desc(), FinanceModelVersion.id.desc())
            .limit(1)
        )
        if row is None:
            raise ModelNotFound(f"没有这个评分卡：{model}") from None
        return card_of(row), row
    return card, register_card(session, card)


def list_models(session: Session, actor: Actor) -> list[ModelVersionRead]:
    """Every scorecard version, expert and fitted, newest first (the operator)."""
    require(actor, Permission.FINANCE_SCORE_READ_ANY)
    rows = session.scalars(select(FinanceModelVersion).order_by(FinanceModelVersion.id.desc()))
    return [ModelVersionRead.model_validate(r) for r in rows]


# --- runs ------------------------------------------------------------------------------------------------


def run_read(run: FinanceScoreRun, version: FinanceModelVersion, *, reused: bool = False) -> ScoreRunRead:
    return ScoreRunRead(
        id=run.id, model_id=version.model_id, model_version=version.version, model_version_id=version.id,
        kind=version.kind, digest=version.digest, facts_version=run.facts_version,
        facts_year=(run.charts or {}).get("facts_year"), state=run.state, enterprises=run.enterprises,
        grades=dict(run.grades or {}), mean_score=run.mean_score, psi=run.psi, charts=run.charts,
        seconds=run.seconds, error=run.error, started_at=run.started_at, finished_at=run.finished_at, reused=reused,
    )  # fmt: skip


def list_runs(session: Session, actor: Actor, *, limit: int = 50) -> list[ScoreRunRead]:
    """The latest score runs, newest first (the operator)."""
    require(actor, Permission.FINANCE_SCORE_READ_ANY)
    rows = session.execute(
        select(FinanceScoreRun, FinanceModelVersion)
        .join(FinanceModelVersion, FinanceModelVersion.id == FinanceScoreRun.model_version_id)
        .order_by(FinanceScoreRun.id.desc())
        .limit(limit)
    ).all()
    return [run_read(r, v) for r, v in rows]


@dataclass(frozen=True)
class PassSummary:
    enterprises: int
    grades: dict[str, int]
    mean_score: float | None
    distribution: list[dict[str, int]]  # [{"from": 300, "count": n}, ...] in BUCKET-point buckets


def missing_columns(con: duckdb.DuckDBPyConnection, card: cards.Card, relation: str) -> list[str]:
    """The facts the card uses that the facts file lacks (a facts version built before a fact existed)."""
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    return [c for c in facts_needed(card) if c not in have]


def score_pass(
    con: duckdb.DuckDBPyConnection,
    card: cards.Card,
    facts_file: Path,
    facts_year: int,
    target: Path,
    *,
    engine: str | None = None,
) -> PassSummary:
    """Score every row of ``facts_file`` with ``card`` in one statement, on the batch ``engine``
    (``duckdb`` or ``spark``, default ``PUBDATA_BATCH_ENGINE``: the same file either way), write the
    results to ``target`` (Parquet) and summarise them: what a run and the benchmark both time."""
    source = f"read_parquet({sql_literal(str(facts_file))})"
    lacking = missing_columns(con, card, source)
    if lacking:
        raise ScoringFailed(
            f"评分卡 {card.id} v{card.version} 用到的事实不在这一版企业档案中：{'、'.join(lacking)}"
            "（请先重新生成企业档案）",
            details=[{"field": name, "message": "企业档案缺少这个事实"} for name in lacking],
        )
    query = batch.Query(score_select(card, "facts", facts_year), {"facts": facts_file})
    result = f"read_parquet({sql_literal(str(target))})"
    try:
        batch.write_parquet(con, query, target, PARQUET_OPTIONS, work=target.parent / "engine", engine=engine)
        grades = con.execute(f"SELECT grade, count(*) FROM {result} GROUP BY grade").fetchall()
        mean = con.execute(f"SELECT avg(score) FROM {result}").fetchone()
        buckets = con.execute(
            f"SELECT {card.min} + {BUCKET} * ((score - {card.min}) // {BUCKET}) AS b, count(*) FROM {result} "
            "GROUP BY b ORDER BY b"
        ).fetchall()
    except (duckdb.Error, batch.QueryFailed) as exc:
        raise ScoringFailed(f"评分计算失败：{str(exc).splitlines()[0]}") from None
    counts = {g: 0 for g in cards.GRADES}
    counts.update({str(g): int(n) for g, n in grades})
    return PassSummary(
        enterprises=sum(counts.values()),
        grades=counts,
        mean_score=round(float(mean[0]), 2) if mean and mean[0] is not None else None,
        distribution=[{"from": int(b), "count": int(n)} for b, n in buckets],
    )


def facts_year_of(session: Session, number: int) -> int:
    """The facts year of facts version ``number``."""
    current = enterprise.current_version(session)
    if current is not None and current.number == number:
        return current.year
    # an older version: its year is recorded with it
    for v in enterprise.list_versions(session, SYSTEM):
        if v.number == number:
            return v.year
    return current.year if current is not None else utcnow().year - 1


def run_scoring(
    session: Session,
    actor: Actor,
    *,
    home: Path,
    model: str = DEFAULT_MODEL,
    force: bool = False,
    progress: Progress | None = None,
    via: str = "cli",
    engine: str | None = None,
) -> ScoreRunRead:
    """Score every enterprise of the current facts table with a card (see the module's description).
    The operator's (or the system's) right. Raises ``FactsNotBuilt`` before the first facts build,
    ``ModelNotFound``, ``InvalidModelFile`` and ``ScoringFailed`` (a fact the facts file lacks).
    ``engine``: the batch engine that computes the scores (default ``PUBDATA_BATCH_ENGINE``)."""
    require(actor, Permission.FINANCE_SCORE_RUN)
    engine = batch.engine_name(engine)
    say = progress or (lambda _message: None)
    card, version = resolve_card(session, model)
    facts = enterprise.read_facts(session, actor, home=home)  # every enterprise: the read-any permission
    if not force:
        done = session.scalar(
            select(FinanceScoreRun)
            .where(
                FinanceScoreRun.model_version_id == version.id,
                FinanceScoreRun.facts_version == facts.version,
                FinanceScoreRun.state == "done",
            )
            .order_by(FinanceScoreRun.id.desc())
            .limit(1)
        )
        if done is not None:
            say(
                f"{card.id} v{card.version}：评分卡与企业档案（第 {facts.version} 版）均无变化，沿用第 {done.id} 次评分"
            )
            return run_read(done, version, reused=True)
    started = time.perf_counter()
    run = FinanceScoreRun(
        model_version_id=version.id, facts_version=facts.version, state="running", started_at=utcnow(),
        started_by=actor.user_id, via=via, grades={},
    )  # fmt: skip
    session.add(run)
    session.flush()
    try:
        return _execute(
            session, actor, card, version, run, facts.path, home=home, say=say, started=started, engine=engine
        )
    except Exception as exc:
        _keep_failure(session, run, exc, seconds=time.perf_counter() - started)
        raise


def _keep_failure(session: Session, run: FinanceScoreRun, exc: Exception, *, seconds: float) -> None:
    """The failed run's record survives the caller's rollback (state ``failed`` and the error)."""
    message = exc.message if isinstance(exc, PubdataError) else f"{type(exc).__name__}: {exc}"
    version_id, facts_version, started_at, run_id = run.model_version_id, run.facts_version, run.started_at, run.id
    by, via = run.started_by, run.via

    def write(s: Session) -> None:
        row = s.get(FinanceScoreRun, run_id)
        if row is None:
            if s.get(FinanceModelVersion, version_id) is None:
                return  # the card version itself was rolled back: nothing to attach the record to
            row = FinanceScoreRun(
                model_version_id=version_id, facts_version=facts_version, started_at=started_at, started_by=by,
                via=via, grades={},
            )  # fmt: skip
            s.add(row)
        row.state, row.error = "failed", message[:4000]
        row.seconds, row.finished_at = round(seconds, 3), utcnow()
        s.flush()

    keep_whatever_happens(session, write)


def _execute(
    session: Session,
    actor: Actor,
    card: cards.Card,
    version: FinanceModelVersion,
    run: FinanceScoreRun,
    facts_file: Path,
    *,
    home: Path,
    say: Progress,
    started: float,
    engine: str,
) -> ScoreRunRead:
    facts_year = facts_year_of(session, run.facts_version)
    root = files.scores_root(home)
    with core_files.staging_dir(root) as work:
        con = duck.batch_connection(work / "spill")
        try:
            say(f"{card.id} v{card.version}：为企业档案第 {run.facts_version} 版（{facts_year} 年度）的全部企业评分")
            staged = work / "scores.parquet"
            summary = score_pass(con, card, facts_file, facts_year, staged, engine=engine)
            psi = _psi(con, version, staged) if card.kind == "fitted" else None
            target = files.scores_file(home, run.facts_version, version.id)
            core_files.publish_file(staged, target)
        finally:
            con.close()
    run.state = "done"
    run.enterprises = summary.enterprises
    run.grades = summary.grades
    run.mean_score = summary.mean_score
    run.psi = psi
    run.charts = {"facts_year": facts_year, "bucket": BUCKET, "distribution": summary.distribution}
    run.results_path = str(target.relative_to(home))
    run.seconds = round(time.perf_counter() - started, 3)
    run.finished_at = utcnow()
    session.flush()
    if psi is not None:
        charts = dict(version.charts or {})
        history = list(charts.get("psi", []))
        history.append(
            {"run": run.id, "facts_version": run.facts_version, "at": run.finished_at.isoformat(), "psi": psi}
        )
        charts["psi"] = history
        version.charts = charts
        session.flush()
    audit.record_later(
        session,
        actor,
        audit.Event(
            "credit.score",
            version=run.facts_version,
            rows=summary.enterprises,
            details={
                "model": card.id,
                "model_version": card.version,
                "digest": card.digest,
                "run": run.id,
                "grades": summary.grades,
                "psi": psi,
                "engine": engine,
            },
        ),  # fmt: skip
    )
    say(
        f"{card.id} v{card.version}：完成，{summary.enterprises:,} 个企业，"
        f"平均 {summary.mean_score} 分（{run.seconds} 秒）"
    )
    return run_read(run, version)


def psi_value(expected: list[float], actual: list[float], floor: float = 1e-4) -> float:
    """PSI = Σ (a − e) · ln(a / e) over the buckets (proportions; empty buckets floored)."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, floor), max(a, floor)
        total += (a - e) * math.log(a / e)
    return round(total, 6)


def _psi(con: duckdb.DuckDBPyConnection, version: FinanceModelVersion, scores: Path) -> float | None:
    """A fitted card's PSI: this run's scores against the training population, in the training
    score deciles (``training.psi_edges``/``psi_expected``)."""
    training = version.training or {}
    edges, expected = training.get("psi_edges"), training.get("psi_expected")
    if not edges or not expected:
        return None
    case = " ".join(f"WHEN score < {float(e)} THEN {i}" for i, e in enumerate(edges))
    rows = con.execute(
        f"SELECT CASE {case} ELSE {len(edges)} END AS b, count(*) FROM read_parquet({sql_literal(str(scores))}) "
        "GROUP BY b"
    ).fetchall()
    counts = dict.fromkeys(range(len(expected)), 0)
    for b, n in rows:
        counts[int(b)] = int(n)
    total = sum(counts.values()) or 1
    return psi_value(list(expected), [counts[i] / total for i in range(len(expected))])


# --- one enterprise -----------------------------------------------------------------------------------


def may_read(session: Session, actor: Actor, uscc: str) -> bool:
    """Any enterprise's score with the read-any permission; otherwise only one's own organisation's."""
    if actor.can(Permission.FINANCE_SCORE_READ_ANY):
        return True
    return actor.can(Permission.FINANCE_SCORE_READ) and enterprise.own_uscc(session, actor) == uscc


def _latest_run(session: Session, model: str) -> tuple[FinanceScoreRun, FinanceModelVersion] | None:
    """The latest finished run of ``model``: a shipped card reference names one version (``expert`` is
    the newest shipped file, ``expert-v1`` the first), a fitted model id any of its versions."""
    which = FinanceModelVersion.model_id == model
    try:
        card = cards.load_card(model)
    except ModelNotFound:
        pass
    else:
        which = (FinanceModelVersion.model_id == card.id) & (FinanceModelVersion.version == card.version)
    row = session.execute(
        select(FinanceScoreRun, FinanceModelVersion)
        .join(FinanceModelVersion, FinanceModelVersion.id == FinanceScoreRun.model_version_id)
        .where(which, FinanceScoreRun.state == "done")
        .order_by(FinanceScoreRun.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def score_enterprise(
    session: Session, actor: Actor, uscc: str, *, home: Path, model: str = DEFAULT_MODEL
) -> CreditScoreRead:
    """One enterprise's score from the latest finished run of ``model``: score, grade, points per
    dimension and feature, and the top reasons raising and lowering it. Its own organisation's users
    and the operator; "not found" for everyone else (audited), for an enterprise the run does not
    hold, and before the first run. Every read is audited (``credit.read``)."""
    code = uscc.strip().upper()
    # the enterprise owns what is read about it: the read shows in its own audit view
    owner = identity.organisation_ids_by_uscc(session, [code]).get(code)
    if not may_read(session, actor, code):
        event = audit.Event(
            "credit.read", reason=f"无权读取企业信用评分：{code}", publisher_org_id=owner,
            details={"uscc": code, "model": model},
        )  # fmt: skip
        audit.refuse(session, actor, event)
        raise ScoreNotFound(f"没有该企业的信用评分：{code}")
    latest = _latest_run(session, model)
    if latest is None:
        raise ScoresNotRun(f"评分卡 {model} 尚未评分：请先运行 pubdata credit score")
    run, version = latest
    assert run.results_path is not None
    path = home / run.results_path
    names, rows = store.analytic_query(f"SELECT * FROM read_parquet({sql_literal(str(path))}) WHERE uscc = ?", [code])
    if not rows:
        raise ScoreNotFound(f"没有该企业的信用评分：{code}")
    row = dict(zip(names, rows[0], strict=True))
    card = card_of(version)
    audit.record_later(
        session,
        actor,
        audit.Event(
            "credit.read", version=run.facts_version, rows=1, publisher_org_id=owner,
            details={"uscc": code, "model": version.model_id, "model_version": version.version, "run": run.id},
        ),
    )  # fmt: skip
    return _score_read(card, version, run, row)


def _score_read(
    card: cards.Card, version: FinanceModelVersion, run: FinanceScoreRun, row: dict[str, Any]
) -> CreditScoreRead:
    values = {f.fact: row.get("v__" + f.fact) for f in card.features}
    points = {f.fact: int(row["p__" + f.fact]) for f in card.features}
    dimensions = []
    for d in card.dimensions:
        features = [
            FeatureScore(
                fact=f.fact,
                label=f.label,
                value=_json_value(values[f.fact]),
                value_text=why.value_text(f, values[f.fact]),
                points=points[f.fact],
                neutral=f.neutral,
                contribution=points[f.fact] - f.neutral,
                text=why.describe(f, values[f.fact]),
            )  # fmt: skip
            for f in d.features
        ]
        dimensions.append(
            DimensionScore(id=d.id, title=d.title, points=sum(x.points for x in features), features=features)
        )
    up, down = why.reasons(card, values, points)
    return CreditScoreRead(
        uscc=row["uscc"], name=row.get("name"), score=int(row["score"]), grade=str(row["grade"]),
        raw_score=int(row["raw_score"]), scale=ScaleRead(base=card.base, min=card.min, max=card.max),
        grades=[GradeCutRead(grade=g.grade, min=g.min) for g in card.grades],
        model=ModelRef(id=card.id, version=card.version, kind=card.kind, title=card.title, digest=card.digest,
                       model_version_id=version.id),
        facts_version=run.facts_version, facts_year=(run.charts or {}).get("facts_year"), run_id=run.id,
        scored_at=run.finished_at, dimensions=dimensions,
        reasons_up=[ReasonRead(fact=r.fact, dimension=r.dimension, points=r.points, text=r.text) for r in up],
        reasons_down=[ReasonRead(fact=r.fact, dimension=r.dimension, points=r.points, text=r.text) for r in down],
    )  # fmt: skip


@dataclass(frozen=True)
class ScorePoint:
    """One enterprise's score in one finished run: when, over which facts and card version."""

    run_id: int
    scored_at: datetime | None
    facts_version: int
    facts_year: int | None
    model_id: str
    model_version: int
    score: int
    grade: str


def score_history(
    session: Session, actor: Actor, uscc: str, *, home: Path, model: str = DEFAULT_MODEL
) -> list[ScorePoint]:
    """One enterprise's score in every finished run of ``model`` (every card version of that id),
    oldest first; a run that rewrote the same results file (same facts and card version) counts
    once, as its latest run. Who may read it as ``score_enterprise`` (others: "not found", audited);
    the read is audited (``credit.read``, ``history``)."""
    code = uscc.strip().upper()
    owner = identity.organisation_ids_by_uscc(session, [code]).get(code)
    if not may_read(session, actor, code):
        event = audit.Event(
            "credit.read", reason=f"无权读取企业信用评分：{code}", publisher_org_id=owner,
            details={"uscc": code, "model": model, "history": True},
        )  # fmt: skip
        audit.refuse(session, actor, event)
        raise ScoreNotFound(f"没有该企业的信用评分：{code}")
    rows = session.execute(
        select(FinanceScoreRun, FinanceModelVersion)
        .join(FinanceModelVersion, FinanceModelVersion.id == FinanceScoreRun.model_version_id)
        .where(FinanceModelVersion.model_id == model, FinanceScoreRun.state == "done")
        .order_by(FinanceScoreRun.id.desc())
    ).all()
    latest: dict[str, tuple[FinanceScoreRun, FinanceModelVersion]] = {}
    for run, version in rows:
        if run.results_path and run.results_path not in latest and (home / run.results_path).is_file():
            latest[run.results_path] = (run, version)
    if not latest:
        return []
    paths = ", ".join(sql_literal(str(home / p)) for p in latest)
    _, found = store.analytic_query(
        f"SELECT filename, score, grade FROM read_parquet([{paths}], filename = true) WHERE uscc = ?", [code]
    )
    by_file = {str(r[0]): (int(r[1]), str(r[2])) for r in found}
    points = []
    for path, (run, version) in latest.items():
        hit = by_file.get(str(home / path))
        if hit is None:
            continue
        points.append(
            ScorePoint(
                run_id=run.id,
                scored_at=run.finished_at,
                facts_version=run.facts_version,
                facts_year=(run.charts or {}).get("facts_year"),
                model_id=version.model_id,
                model_version=version.version,
                score=hit[0],
                grade=hit[1],
            )  # fmt: skip
        )
    audit.record_later(
        session,
        actor,
        audit.Event("credit.read", rows=len(points), publisher_org_id=owner,
                    details={"uscc": code, "model": model, "history": True}),
    )  # fmt: skip
    return sorted(points, key=lambda p: p.run_id)

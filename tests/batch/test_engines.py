"""The three batch jobs — enterprise facts, credit scoring, bulk policy matching — on DuckDB and on
Spark over the demo city (its source entries at a small size), through the jobs' own services:
the same rights, the same audit, and the same results, compared row by row.

Every output column is a boolean, an integer, an exact DECIMAL, a string or a date: rows are
compared with ``==`` (no tolerance), and ``_no_floats`` fails if a job ever grows a floating-point
column, so that such a column gets a comparison decided on purpose rather than by accident."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from pubdata import batch
from pubdata.audit.models import AuditRecord
from pubdata.authz import SYSTEM
from pubdata.batch import spark as spark_engine
from pubdata.cli import app as cli_app
from pubdata.db import get_engine, session_scope
from pubdata.demo import city, records
from pubdata.enterprise import files, service
from pubdata.enterprise.facts import SOURCES
from pubdata.errors import Forbidden
from pubdata.finance import service as finance
from pubdata.finance.files import scores_root
from pubdata.policy.matching import match
from pubdata.settings import get_settings
from tests.conftest import fresh_engine

PACK = "qingdao-cbec-2023"


@dataclass
class Demo:
    engine: Engine
    home: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("batch-engines")
    engine = fresh_engine(root, name="batch_engines")
    with session_scope(engine) as session:
        city.build(session, seed=city.DEFAULT_SEED, progress=lambda _msg: None)
    home = root / "home"
    codes = {c for s in SOURCES.values() for c in s.entry_codes}
    records.fill(lambda: session_scope(engine), home=home, seed=city.DEFAULT_SEED, records=20_000, only=codes)
    yield Demo(engine, home)
    engine.dispose()


def _rows(path: Path, order: str) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    con = duckdb.connect()
    try:
        relation = f"read_parquet('{path}')"
        schema = [(c[0], c[1]) for c in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        return con.execute(f"SELECT * FROM {relation} ORDER BY {order}").fetchall(), schema
    finally:
        con.close()


def _no_floats(schema: list[tuple[str, str]]) -> None:
    assert not [c for c, t in schema if t in ("FLOAT", "DOUBLE", "REAL")], schema


def _same(a: Path, b: Path, order: str) -> int:
    rows_a, schema_a = _rows(a, order)
    rows_b, schema_b = _rows(b, order)
    assert schema_a == schema_b
    _no_floats(schema_a)
    assert len(rows_a) == len(rows_b) > 0
    for left, right in zip(rows_a, rows_b, strict=True):  # row by row, so a failure names the row
        assert left == right
    return len(rows_a)


def _engine_of(engine: Engine, action: str) -> str:
    with session_scope(engine) as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq.desc()).limit(1)
        ).one()
        return str(record.details["engine"])


def test_facts_scores_and_matches_are_identical_on_both_engines(demo: Demo, spark: Any, tmp_path: Path) -> None:
    facts: dict[str, Path] = {}
    for engine in ("duckdb", "spark"):
        with session_scope(demo.engine) as session:
            built = service.build_facts(session, SYSTEM, home=demo.home, force=True, engine=engine)
            assert built.built
            facts[engine] = files.facts_file(demo.home, built.version.number)
        assert _engine_of(demo.engine, "facts.build") == engine
    # in the same order too: the file is sorted by credit code whatever computed it
    assert _rows(facts["duckdb"], "uscc")[0] == _rows(facts["spark"], "uscc")[0]
    assert _same(facts["duckdb"], facts["spark"], "uscc") >= 300
    assert not list(files.facts_root(demo.home).glob("*/engine"))  # Spark's staging left nothing behind

    # scoring and matching read the current facts version (the Spark-built one) on both engines
    scores: dict[str, Path] = {}
    runs: dict[str, Any] = {}
    for engine in ("duckdb", "spark"):
        with session_scope(demo.engine) as session:
            run = finance.run_scoring(session, SYSTEM, home=demo.home, force=True, engine=engine)
            runs[engine] = run
        # the run's file (per facts version and card) is rewritten by the next run: keep a copy
        scores[engine] = tmp_path / f"scores-{engine}.parquet"
        shutil.copy(demo.home / _results_path(demo.engine, run.id), scores[engine])
        assert _engine_of(demo.engine, "credit.score") == engine
    assert _same(scores["duckdb"], scores["spark"], "uscc") >= 300
    assert runs["duckdb"].grades == runs["spark"].grades and runs["duckdb"].mean_score == runs["spark"].mean_score
    assert not list(scores_root(demo.home).rglob("engine"))

    matched = {}
    for engine in ("duckdb", "spark"):
        with session_scope(demo.engine) as session:
            matched[engine] = match.match_pack(session, SYSTEM, PACK, home=demo.home, force=True, engine=engine)
        assert _engine_of(demo.engine, "policy.match") == engine
    first, second = matched["duckdb"], matched["spark"]
    assert _same(
        match.results_file(demo.home, first.id), match.results_file(demo.home, second.id), "enterprise, clause"
    )
    assert (first.eligible, first.undecided, first.total_amount) == (
        second.eligible,
        second.undecided,
        second.total_amount,
    )
    assert first.eligible > 0
    # the Spark run found policy_match exactly as the DuckDB run left it: nothing to change, no one to notify
    assert second.newly_eligible == 0
    with session_scope(demo.engine) as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "policy.match").order_by(AuditRecord.seq.desc()).limit(1)
        ).one()
        assert (record.details["inserted"], record.details["updated"], record.details["deleted"]) == (0, 0, 0)


def _results_path(engine: Engine, run_id: int) -> str:
    from pubdata.finance.models import FinanceScoreRun

    with session_scope(engine) as session:
        run = session.get(FinanceScoreRun, run_id)
        assert run is not None and run.results_path
        return run.results_path


def test_the_engine_changes_no_right(demo: Demo, as_actor: Any) -> None:
    with session_scope(demo.engine) as session:
        for call in (
            lambda: service.build_facts(session, as_actor("bank"), home=demo.home, engine="spark"),
            lambda: finance.run_scoring(session, as_actor("enterprise"), home=demo.home, engine="spark"),
            lambda: match.match_pack(session, as_actor("bank"), PACK, home=demo.home, engine="spark"),
        ):
            with pytest.raises(Forbidden):
                call()
        session.rollback()


def test_engine_choice_errors_name_the_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(batch.UnknownEngine, match="duckdb 或 spark"):
        batch.engine_name("hadoop")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(batch.EngineUnavailable, match="找不到 Java") as exc:
        spark_engine.check_can_start("local[2]")
    assert exc.value.status == 503 and exc.value.code == "batch.engine_unavailable"
    monkeypatch.undo()
    with pytest.raises(batch.EngineUnavailable, match="PUBDATA_SPARK_MASTER"):
        spark_engine.check_can_start("yarn")
    spark_engine.check_can_start("spark://spark-master.internal:7077")
    # local mode: two shuffle partitions per core it is given (not per core of the machine)
    assert [spark_engine._shuffle_partitions(m) for m in ("local", "local[2]", "local[8]")] == [2, 4, 16]


def test_the_cli_takes_an_engine(demo: Demo, spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBDATA_HOME", str(demo.home))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", demo.engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    try:
        r = runner.invoke(cli_app, ["credit", "score", "--engine", "spark", "--force", "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["reused"] is False
        r = runner.invoke(cli_app, ["policy", "match", PACK, "--engine", "hadoop", "--json"])
        assert r.exit_code == 1 and json.loads(r.stdout)["error"]["code"] == "batch.unknown_engine"
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()

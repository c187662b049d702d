"""Score runs over every enterprise, one enterprise's score with reasons, who may do what (refusals
audited), runs kept per (facts version, card version), and a facts file lacking a fact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit.models import AuditRecord
from pubdata.authz import SYSTEM
from pubdata.db import write_durable
from pubdata.enterprise import files as enterprise_files
from pubdata.enterprise.errors import FactsNotBuilt
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.finance import files, service
from pubdata.finance.errors import ScoreNotFound, ScoresNotRun, ScoringFailed
from pubdata.finance.models import FinanceScoreRun
from tests.builders import actor_of, make_org, make_user
from tests.finance.builders import code, publish_facts

E1, E2, E3 = code(11), code(12), code(13)
ROWS = [
    {"uscc": E1, "name": "青岛甲科技有限公司", "status": "存续", "founded": date(2014, 6, 1), "tax_credit_grade": "A",
     "insured_headcount": 120, "is_high_tech": True, "is_specialised": False, "patent_count": 8, "penalty_count": 0,
     "is_dishonest_debtor": False, "is_abnormal_operation": False, "registered_capital": 10_000_000,
     "cbec_import_export_amount": 0},
    {"uscc": E2, "name": "青岛乙贸易有限公司", "status": "在业", "founded": date(2023, 3, 1), "tax_credit_grade": "C",
     "insured_headcount": 3, "is_high_tech": False, "is_specialised": False, "patent_count": 0, "penalty_count": 3,
     "is_dishonest_debtor": False, "is_abnormal_operation": True, "registered_capital": 500_000},
    {"uscc": E3, "name": "青岛丙商贸有限公司", "status": "吊销", "founded": date(2010, 1, 1), "tax_credit_grade": "D",
     "is_dishonest_debtor": True, "penalty_count": 12},
]  # fmt: skip


def enterprise_actor(session: Session, uscc: str):  # type: ignore[no-untyped-def]
    org = make_org(session, "enterprise", uscc=uscc)
    return actor_of(make_user(session, org, roles=["enterprise"]))


def refusals(session: Session, action: str) -> list[AuditRecord]:
    write_durable(session)
    return list(
        session.scalars(select(AuditRecord).where(AuditRecord.action == action, AuditRecord.result == "refused"))
    )


def test_a_run_scores_every_enterprise_and_stores_one_file_per_facts_and_card_version(session, tmp_path: Path):
    number = publish_facts(session, tmp_path, ROWS)
    run = service.run_scoring(session, SYSTEM, home=tmp_path)
    assert run.state == "done" and not run.reused and run.enterprises == 3 and run.facts_version == number
    assert run.facts_year == 2025
    # E1: 600 + 45 (11 years) + 10 (1000万 capital) + 80 (A) + 35 (120 insured) + 0 + 40 (高新) + 20 (8 patents) + 20
    # E2: 600 − 15 (2 years) − 10 − 60 (C) + 0 (3 insured) + 0 (no trade known) − 40 (3 penalties) − 80 (异常名录)
    # E3: far below 300 → 300
    assert run.grades["AAA"] == 1 and run.grades["C"] == 2 and sum(run.grades.values()) == 3
    target = files.scores_file(tmp_path, number, run.model_version_id)
    assert target.is_file() and not list(files.scores_root(tmp_path).glob(".staging-*"))
    rows = dict(duckdb.sql(f"SELECT uscc, score FROM read_parquet('{target}')").fetchall())
    assert rows == {E1: 850, E2: 395, E3: 300}
    assert sum(b["count"] for b in run.charts["distribution"]) == 3

    again = service.run_scoring(session, SYSTEM, home=tmp_path)
    assert again.reused and again.id == run.id
    forced = service.run_scoring(session, SYSTEM, home=tmp_path, force=True)
    assert not forced.reused and forced.id != run.id and forced.grades == run.grades

    # a new facts version: a new file beside the first, which stays
    second = publish_facts(session, tmp_path, ROWS[:2])
    later = service.run_scoring(session, SYSTEM, home=tmp_path)
    assert later.facts_version == second and later.enterprises == 2
    assert files.scores_file(tmp_path, second, later.model_version_id).is_file() and target.is_file()
    assert [r.id for r in service.list_runs(session, SYSTEM)][:1] == [later.id]
    assert [m.model_id for m in service.list_models(session, SYSTEM)] == ["expert"]


def test_one_enterprise_gets_its_score_points_and_reasons_in_chinese(session, tmp_path: Path):
    publish_facts(session, tmp_path, ROWS)
    service.run_scoring(session, SYSTEM, home=tmp_path)
    own = enterprise_actor(session, E2)
    got = service.score_enterprise(session, own, E2.lower(), home=tmp_path)
    assert (got.uscc, got.name, got.score, got.grade) == (E2, "青岛乙贸易有限公司", 395, "C")
    assert got.model.id == "expert" and got.scale.min == 300 and got.scale.max == 900
    assert [r.text for r in got.reasons_down] == [
        "在经营异常名录中（−80 分）",
        "纳税信用等级为 C（−60 分）",
        "近三年行政处罚 3 次（−40 分）",
    ]
    assert got.reasons_up == []
    tax = next(d for d in got.dimensions if d.title == "纳税信用")
    assert tax.points == -60 and tax.features[0].value == "C"
    basic = next(d for d in got.dimensions if d.id == "basic")
    founded = next(f for f in basic.features if f.fact == "founded")
    assert (founded.value, founded.points, founded.text) == (2, -15, "成立年限 2 年")
    capital = next(f for f in basic.features if f.fact == "registered_capital")
    assert capital.text == "注册资本不足 100 万元" and capital.value_text == "50 万元"

    best = service.score_enterprise(session, SYSTEM, E1, home=tmp_path)
    assert [r.text for r in best.reasons_up] == [
        "纳税信用等级为 A（+80 分）",
        "成立年限 11 年（+45 分）",
        "高新技术企业（+40 分）",
    ]
    assert [r.points for r in best.reasons_up] == [80, 45, 40] and best.reasons_down == []
    assert sum(d.points for d in best.dimensions) + best.scale.base == best.raw_score == 850

    write_durable(session)
    reads = session.scalars(select(AuditRecord).where(AuditRecord.action == "credit.read")).all()
    assert {(r.result, (r.details or {}).get("uscc")) for r in reads} >= {("allowed", E2), ("allowed", E1)}
    # the enterprise owns what is read about it: its reads show in its own audit view
    own_reads = [r for r in reads if (r.details or {}).get("uscc") == E2]
    assert own_reads and all(r.publisher_org_id == own.organisation_id for r in own_reads)


def test_who_may_read_a_score_and_every_refusal_is_audited(session, tmp_path: Path, as_actor):
    publish_facts(session, tmp_path, ROWS)
    service.run_scoring(session, SYSTEM, home=tmp_path)
    operator = as_actor("operator")
    assert service.score_enterprise(session, operator, E3, home=tmp_path).grade == "C"
    neighbour = enterprise_actor(session, E1)
    for actor in (neighbour, as_actor("bank"), as_actor("department"), as_actor("regulator"), as_actor("anonymous")):
        with pytest.raises(ScoreNotFound):
            service.score_enterprise(session, actor, E2, home=tmp_path)
    refused = refusals(session, "credit.read")
    assert len(refused) == 5 and all((r.details or {}).get("uscc") == E2 for r in refused)
    # a code no run holds is "not found" for the operator too
    with pytest.raises(ScoreNotFound):
        service.score_enterprise(session, operator, code(99), home=tmp_path)


def test_only_the_operator_or_the_system_runs_scoring(session, tmp_path: Path, as_actor):
    publish_facts(session, tmp_path, ROWS)
    for role in ("enterprise", "bank", "department", "regulator"):
        with pytest.raises(Forbidden):
            service.run_scoring(session, as_actor(role), home=tmp_path)
    with pytest.raises(Unauthenticated):
        service.run_scoring(session, as_actor("anonymous"), home=tmp_path)
    for role in ("bank", "enterprise"):
        with pytest.raises(Forbidden):
            service.list_runs(session, as_actor(role))
    assert service.run_scoring(session, as_actor("operator"), home=tmp_path).enterprises == 3
    assert session.scalars(select(FinanceScoreRun)).all()


def test_before_facts_or_before_a_run(session, tmp_path: Path):
    with pytest.raises(FactsNotBuilt):
        service.run_scoring(session, SYSTEM, home=tmp_path)
    publish_facts(session, tmp_path, ROWS)
    with pytest.raises(ScoresNotRun):
        service.score_enterprise(session, SYSTEM, E1, home=tmp_path)


def test_a_facts_file_without_a_fact_the_card_uses_is_refused_and_the_failure_kept(session, tmp_path: Path):
    number = publish_facts(session, tmp_path, ROWS)
    path = enterprise_files.facts_file(tmp_path, number)
    pq.write_table(pq.read_table(path).drop_columns(["tax_credit_grade", "patent_count"]), path)
    with pytest.raises(ScoringFailed) as refused:
        service.run_scoring(session, SYSTEM, home=tmp_path)
    assert "tax_credit_grade" in refused.value.message and "patent_count" in refused.value.message
    write_durable(session)
    failed = session.scalars(select(FinanceScoreRun).where(FinanceScoreRun.state == "failed")).all()
    assert failed and "tax_credit_grade" in (failed[-1].error or "")
    assert not list(files.scores_root(tmp_path).rglob("*.parquet"))


def test_the_follower_scores_once_per_facts_version(tmp_path: Path):
    from pubdata.db import make_engine, migrate, session_scope
    from pubdata.finance import tasks

    engine = make_engine(f"sqlite:///{tmp_path / 'follower.sqlite3'}")
    migrate(engine)
    try:
        assert tasks.score_if_stale(engine, tmp_path) is None  # no facts yet
        with session_scope(engine) as s:
            publish_facts(s, tmp_path, ROWS)
        first = tasks.score_if_stale(engine, tmp_path)
        assert first is not None and first.enterprises == 3
        assert tasks.score_if_stale(engine, tmp_path) is None  # nothing changed
        with session_scope(engine) as s:
            publish_facts(s, tmp_path, ROWS[:1])
        second = tasks.score_if_stale(engine, tmp_path)
        assert second is not None and second.enterprises == 1 and second.facts_version == first.facts_version + 1
    finally:
        engine.dispose()

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
    {"uscc": E1, "name": "青岛甲科技有限公司", "status": "存续", "founded": date(2014, 6, 1), "age_years": 11,
     "tax_credit_grade": "A", "tax_credit_grade_previous": "A", "tax_grade_a_years_3": 3, "tax_grade_cd_years_3": 0,
     "insured_headcount": 120, "insured_months_12": 12, "insured_headcount_change_pct": 8.5,
     "utility_bill_months_12": 12, "utility_on_time_ratio_pct": 100.0, "utility_arrears_months_12": 0,
     "is_high_tech": True, "high_tech_enterprise_valid": True, "is_specialised": False, "specialised_level": "无",
     "patent_count": 8, "ip_class1_count": 3, "ip_class2_count": 5, "penalty_count": 0, "penalty_fine_amount_3y": 0,
     "enforcement_count": 0, "abnormal_listings_3y": 0, "is_dishonest_debtor": False, "is_abnormal_operation": False,
     "listed_abnormal_or_seriously_dishonest": False, "registered_capital": 10_000_000,
     "cbec_import_export_amount": 0},
    {"uscc": E2, "name": "青岛乙贸易有限公司", "status": "在业", "founded": date(2023, 3, 1), "age_years": 2,
     "tax_credit_grade": "C", "tax_credit_grade_previous": "B", "tax_grade_a_years_3": 0, "tax_grade_cd_years_3": 1,
     "insured_headcount": 3, "insured_months_12": 12, "insured_headcount_change_pct": -10.0,
     "utility_bill_months_12": 12, "utility_on_time_ratio_pct": 88.0, "utility_arrears_months_12": 0,
     "is_high_tech": False, "high_tech_enterprise_valid": False, "is_specialised": False, "specialised_level": "无",
     "patent_count": 0, "ip_class1_count": 0, "ip_class2_count": 0, "penalty_count": 3,
     "penalty_fine_amount_3y": 30_000, "enforcement_count": 0, "abnormal_listings_3y": 1,
     "is_dishonest_debtor": False, "is_abnormal_operation": True, "listed_abnormal_or_seriously_dishonest": True,
     "registered_capital": 500_000},
    {"uscc": E3, "name": "青岛丙商贸有限公司", "status": "吊销", "founded": date(2010, 1, 1), "age_years": 15,
     "tax_credit_grade": "D", "is_dishonest_debtor": True, "penalty_count": 12, "enforcement_count": 3},
]  # fmt: skip


def enterprise_actor(session: Session, uscc: str):  # type: ignore[no-untyped-def]
    org = make_org(session, "enterprise", uscc=uscc)
    return actor_of(make_user(session, org, roles=["enterprise"]))


def refusals(session: Session, action: str) -> list[AuditRecord]:
    write_durable(session)
    return list(
        session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == action, AuditRecord.result == "refused")
            .order_by(AuditRecord.seq)
        )
    )


def test_a_run_scores_every_enterprise_and_stores_one_file_per_facts_and_card_version(session, tmp_path: Path):
    number = publish_facts(session, tmp_path, ROWS)
    run = service.run_scoring(session, SYSTEM, home=tmp_path)
    assert run.state == "done" and not run.reused and run.enterprises == 3 and run.facts_version == number
    assert run.facts_year == 2025
    # the expert card v2 (docs/credit.md):
    # E1: 600 + 45 (11 years) + 10 (1000万 capital) + 60 (A) + 15 (previous A) + 20 (A three years) + 35 (120 insured)
    #     + 5 (12 months) + 5 (headcount +8.5 %) + 10 (all bills on time) + 40 (高新) + 15 (3 Ⅰ类) + 5 (5 Ⅱ类)
    #     + 20 (no penalty) = 885
    # E2: 600 − 15 (2 years) − 10 (50万) − 60 (C) + 5 (previous B) − 30 (C once in three years) + 5 (12 months)
    #     − 30 (3 penalties) − 20 (3万 fines) − 80 (异常名录) − 20 (listed once in three years) = 345
    # E3: far below 300 → 300
    assert run.grades["AAA"] == 1 and run.grades["C"] == 2 and sum(run.grades.values()) == 3
    target = files.scores_file(tmp_path, number, run.model_version_id)
    assert target.is_file() and not list(files.scores_root(tmp_path).glob(".staging-*"))
    rows = dict(duckdb.sql(f"SELECT uscc, score FROM read_parquet('{target}')").fetchall())
    assert rows == {E1: 885, E2: 345, E3: 300}
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
    assert (got.uscc, got.name, got.score, got.grade) == (E2, "青岛乙贸易有限公司", 345, "C")
    assert got.model.version == 2
    assert got.model.id == "expert" and got.scale.min == 300 and got.scale.max == 900
    assert [r.text for r in got.reasons_down] == [
        "在经营异常名录中（−80 分）",
        "纳税信用等级为 C（−60 分）",
        "近三年有 1 年纳税信用为 C 或 D 级（−30 分）",  # ties (−30 each) in the card's order: before penalties
    ]
    assert [r.text for r in got.reasons_up] == ["上一次纳税信用评价为 B 级（+5 分）", "全年 12 个月连续参保（+5 分）"]
    tax = next(d for d in got.dimensions if d.title == "纳税信用")
    assert tax.points == -60 + 5 + 0 - 30 and tax.features[0].value == "C"  # grade, previous, A years, C/D years
    basic = next(d for d in got.dimensions if d.id == "basic")
    age = next(f for f in basic.features if f.fact == "age_years")
    assert (age.value, age.points, age.text) == (2, -15, "成立 2 年")
    operations = next(d for d in got.dimensions if d.id == "operations")
    change = next(f for f in operations.features if f.fact == "insured_headcount_change_pct")
    assert (change.points, change.value_text) == (0, "-10 %")
    compliance = next(d for d in got.dimensions if d.id == "compliance")
    fines = next(f for f in compliance.features if f.fact == "penalty_fine_amount_3y")
    assert (fines.points, fines.text) == (-20, "近三年罚没金额 3 万元")
    capital = next(f for f in basic.features if f.fact == "registered_capital")
    assert capital.text == "注册资本不足 100 万元" and capital.value_text == "50 万元"

    best = service.score_enterprise(session, SYSTEM, E1, home=tmp_path)
    assert [r.text for r in best.reasons_up] == [
        "纳税信用等级为 A（+60 分）",
        "成立 11 年（+45 分）",
        "有效期内的高新技术企业（+40 分）",
    ]
    assert [r.points for r in best.reasons_up] == [60, 45, 40] and best.reasons_down == []
    assert sum(d.points for d in best.dimensions) + best.scale.base == best.raw_score == 885

    write_durable(session)
    reads = session.scalars(select(AuditRecord).where(AuditRecord.action == "credit.read")).all()
    assert {(r.result, (r.details or {}).get("uscc")) for r in reads} >= {("allowed", E2), ("allowed", E1)}
    # the enterprise owns what is read about it: its reads show in its own audit view
    own_reads = [r for r in reads if (r.details or {}).get("uscc") == E2]
    assert own_reads and all(r.publisher_org_id == own.organisation_id for r in own_reads)


def test_v1_stays_loadable_as_expert_v1_with_its_own_runs_beside_v2(session, tmp_path: Path):
    number = publish_facts(session, tmp_path, ROWS)
    v2 = service.run_scoring(session, SYSTEM, home=tmp_path)
    v1 = service.run_scoring(session, SYSTEM, home=tmp_path, model="expert-v1")  # run after v2
    assert (v2.model_id, v2.model_version, v1.model_id, v1.model_version) == ("expert", 2, "expert", 1)
    assert not v1.reused and v1.model_version_id != v2.model_version_id
    assert files.scores_file(tmp_path, number, v1.model_version_id).is_file()
    assert files.scores_file(tmp_path, number, v2.model_version_id).is_file()
    # E1 under v1: 600 + 45 + 10 + 80 (A) + 35 + 0 + 40 (高新) + 20 (8 patents) + 20 (no penalty) = 850
    old = service.score_enterprise(session, SYSTEM, E1, home=tmp_path, model="expert-v1")
    assert (old.model.version, old.score, old.reasons_up[0].text) == (1, 850, "纳税信用等级为 A（+80 分）")
    # "expert" is the newest shipped version, whichever version ran last
    new = service.score_enterprise(session, SYSTEM, E1, home=tmp_path)
    assert (new.model.version, new.score, new.reasons_up[0].text) == (2, 885, "纳税信用等级为 A（+60 分）")
    assert sorted((m.model_id, m.version) for m in service.list_models(session, SYSTEM)) == [
        ("expert", 1),
        ("expert", 2),
    ]
    assert service.run_scoring(session, SYSTEM, home=tmp_path, model="expert-v1").reused


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
    # a facts version built before the credit-profile facts existed lacks what v2 reads
    pq.write_table(pq.read_table(path).drop_columns(["tax_credit_grade", "ip_class1_count"]), path)
    with pytest.raises(ScoringFailed) as refused:
        service.run_scoring(session, SYSTEM, home=tmp_path)
    assert "tax_credit_grade" in refused.value.message and "ip_class1_count" in refused.value.message
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

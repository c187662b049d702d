"""Fitted scorecards on synthetic outcomes with a known signal: the hold-out AUC lands in the
documented range, the written card reproduces the fit, versions are kept beside the expert card,
re-scoring reports PSI; bad, unknown or one-class outcomes are refused, audited, and store nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from pubdata.audit.models import AuditRecord
from pubdata.authz import SYSTEM
from pubdata.db import write_durable
from pubdata.errors import Forbidden
from pubdata.finance import demo_outcomes, service
from pubdata.finance.errors import InvalidOutcomes
from pubdata.finance.models import FinanceModelVersion
from pubdata.finance.scorecards import fit
from tests.finance.builders import code, publish_synthetic_facts

# docs/credit.md: with the documented coefficients the oracle AUC is about 0.78–0.80, and a fit on a
# few thousand outcomes gets a hold-out AUC in 0.68–0.86
AUC_RANGE = (0.68, 0.86)


@pytest.fixture
def city(session, tmp_path: Path) -> list[dict]:
    publish_synthetic_facts(session, tmp_path, 20_000)
    return demo_outcomes.draw_outcomes(session, SYSTEM, home=tmp_path, sample=3_000, seed=7)


def test_a_fit_on_synthetic_outcomes_lands_in_the_documented_auc_range(session, tmp_path: Path, city):
    bad = sum(o["defaulted"] for o in city)
    assert 150 < bad < 600  # about 9 % defaults
    oracle = demo_outcomes.oracle_auc(city)
    assert 0.74 <= oracle <= 0.84

    result = fit.fit_scorecard(session, SYSTEM, city, home=tmp_path, supplied_by="测试银行")
    model, metrics = result.model, result.model.metrics
    assert model.kind == "fitted" and model.model_id == "fitted" and model.version == 1
    assert AUC_RANGE[0] <= metrics["auc"] <= AUC_RANGE[1], metrics
    assert metrics["auc"] <= oracle + 0.05  # no card beats the truth by much on a hold-out
    assert metrics["gini"] == pytest.approx(2 * metrics["auc"] - 1, abs=1e-3)
    assert 0.2 < metrics["ks"] < 0.7
    assert metrics["card_agreement"] == 1.0  # the card's bins and points give exactly the fitted scores
    assert set(metrics["iv"]) == {f.fact for f in service.cards.load_card("expert").features}
    # the expert card v2's features: every fact the outcome model draws from is among them
    assert {"age_years", "high_tech_enterprise_valid", "is_dishonest_debtor", "status", "insured_headcount"} <= set(
        metrics["iv"]
    )
    # the features with a real signal carry information; one without any (专精特新) hardly
    assert metrics["iv"]["tax_credit_grade"] > 0.1 and metrics["iv"]["penalty_count"] > 0.05
    assert metrics["iv"]["specialised_level"] < metrics["iv"]["tax_credit_grade"]
    training = model.training
    assert training["holdout"] == 900 and training["train"] == 2100 and training["supplied_by"] == "测试银行"
    assert len(training["psi_expected"]) == len(training["psi_edges"]) + 1

    charts = model.charts
    assert charts["roc"][0] == [0.0, 0.0] and charts["roc"][-1] == [1.0, 1.0] and len(charts["roc"]) <= 101
    assert sum(b["good"] + b["bad"] for b in charts["distribution"]["buckets"]) == 900
    assert charts["ks"]["max"] > 0.2
    # scored every enterprise at once: PSI against the training population (a random sample of the same city)
    run = result.run
    assert run is not None and run.enterprises == 20_000 and run.kind == "fitted"
    assert run.psi is not None and run.psi < 0.1
    assert [p["psi"] for p in charts["psi"]] == [run.psi]

    # an enterprise's score under the fitted card, with reasons against the training average
    someone = city[0]["uscc"]
    score = service.score_enterprise(session, SYSTEM, someone, home=tmp_path, model="fitted")
    assert score.model.kind == "fitted" and 300 <= score.score <= 900
    assert all(r.points == f.contribution for r in score.reasons_up + score.reasons_down
               for d in score.dimensions for f in d.features if f.fact == r.fact)  # fmt: skip

    # a second fit is a new version; the first and the expert card stay
    second = fit.fit_scorecard(session, SYSTEM, city[:2000], home=tmp_path, score=False)
    assert second.model.version == 2 and second.run is None
    kinds = [(m.model_id, m.version) for m in service.list_models(session, SYSTEM)]
    assert ("fitted", 1) in kinds and ("fitted", 2) in kinds and ("expert", 2) in kinds


def _fitted_versions(session) -> int:  # type: ignore[no-untyped-def]
    return len(session.scalars(select(FinanceModelVersion).where(FinanceModelVersion.kind == "fitted")).all())


def _refused_fits(session) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    write_durable(session)
    return list(
        session.scalars(select(AuditRecord).where(AuditRecord.action == "credit.fit", AuditRecord.result == "refused"))
    )


def test_one_class_unknown_enterprises_and_bad_rows_are_refused_and_nothing_is_stored(session, tmp_path: Path, city):
    performing = [{**o, "defaulted": False} for o in city]
    with pytest.raises(InvalidOutcomes, match="只有一类"):
        fit.fit_scorecard(session, SYSTEM, performing, home=tmp_path)

    stranger = code(999_999)
    with pytest.raises(InvalidOutcomes) as unknown:
        fit.fit_scorecard(session, SYSTEM, [*city, {"uscc": stranger, "defaulted": True}], home=tmp_path)
    assert stranger in unknown.value.message and "不在企业档案" in unknown.value.message

    rows = [dict(city[0]), {"uscc": city[1]["uscc"], "defaulted": "maybe"}, dict(city[0]), {"defaulted": 1}]
    rows += [{**city[2], "observed": "2026-13-01"}]
    with pytest.raises(InvalidOutcomes) as bad:
        fit.fit_scorecard(session, SYSTEM, rows, home=tmp_path)
    fields = {d["field"] for d in bad.value.details}
    assert fields == {"outcomes[1].defaulted", "outcomes[2].uscc", "outcomes[3].uscc", "outcomes[4].observed"}

    with pytest.raises(InvalidOutcomes, match="太少"):
        fit.fit_scorecard(session, SYSTEM, city[:100], home=tmp_path)

    assert _fitted_versions(session) == 0
    assert len(_refused_fits(session)) == 4


def test_each_outcome_is_read_as_of_its_decision_day_so_later_facts_do_not_leak(session, tmp_path: Path, city):
    """A later facts version records the defaults' own consequences (court enforcement): read from
    the version of the decision day, a fit cannot learn from them; read from today's, it would."""
    from datetime import date, datetime

    from pubdata.enterprise.models import EnterpriseFactsVersion
    from pubdata.enterprise.service import read_facts
    from tests.finance.builders import publish_facts

    first = session.scalar(select(EnterpriseFactsVersion).where(EnterpriseFactsVersion.number == 1))
    first.built_at = datetime(2025, 3, 1, 2, 0)  # built 2025-03-01 (Beijing)
    session.flush()
    import duckdb

    rows = duckdb.sql(f"SELECT * FROM read_parquet('{read_facts(session, SYSTEM, home=tmp_path).path}')").arrow()
    rows = (rows.read_all() if hasattr(rows, "read_all") else rows).to_pylist()
    bad = sorted(o["uscc"] for o in city if o["defaulted"])
    defaulted = set(bad[: len(bad) * 2 // 3])
    for r in rows:  # today's version: two in three defaulted borrowers are now dishonest debtors
        r["is_dishonest_debtor"] = r["uscc"] in defaulted or bool(r["is_dishonest_debtor"])
    publish_facts(session, tmp_path, rows)

    decided = [{**o, "as_of": "2025-06-30"} for o in city]
    pit = fit.fit_scorecard(session, SYSTEM, decided, home=tmp_path, score=False).model
    assert pit.training["as_of_rows"] == 3000 and pit.training["earlier_facts_rows"] == 3000
    assert pit.training["facts_versions"] == [1] and pit.training["current_facts_rows"] == 0
    leaked = fit.fit_scorecard(session, SYSTEM, city, home=tmp_path, score=False).model
    assert leaked.training["facts_versions"] == [2] and leaked.training["as_of_rows"] == 0
    assert leaked.metrics["iv"]["is_dishonest_debtor"] > 1.0  # the outcome itself, read back
    assert pit.metrics["iv"]["is_dishonest_debtor"] < 0.5
    assert pit.metrics["auc"] < leaked.metrics["auc"] - 0.05  # the leak flatters the hold-out
    # a decision before the first version was built is read from today's version, and counted so
    early = fit.fit_scorecard(session, SYSTEM, [{**o, "as_of": date(2024, 1, 1)} for o in city], home=tmp_path,
                              score=False).model  # fmt: skip
    assert early.training["current_facts_rows"] == 3000 and early.training["facts_versions"] == [2]
    # one enterprise may have two loans decided on different days; the same day twice is refused
    twice = [*decided, {**city[0], "as_of": "2025-09-01"}]
    assert fit.fit_scorecard(session, SYSTEM, twice, home=tmp_path, score=False).model.training["outcomes"] == 3001
    with pytest.raises(InvalidOutcomes) as dup:
        fit.fit_scorecard(session, SYSTEM, [*decided, decided[0]], home=tmp_path, score=False)
    assert "决策日 2025-06-30" in dup.value.message


def test_only_the_operator_fits(session, tmp_path: Path, city, as_actor):
    for role in ("enterprise", "bank", "department"):
        with pytest.raises(Forbidden):
            fit.fit_scorecard(session, as_actor(role), city, home=tmp_path)
    with pytest.raises(Forbidden):
        demo_outcomes.draw_outcomes(session, as_actor("bank"), home=tmp_path)
    assert _fitted_versions(session) == 0

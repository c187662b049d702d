"""Stored appraisal reports through their service: a draft over a registered asset taken through
the cost and income methods (hand-computed values), a reconciliation, the 财会〔2023〕11号
classification and the signature that seals it; a signed report never changes (a tampered row no
longer matches its seal); every out-of-range input refused naming its field, storing nothing and
audited; δ from the asset's measured quality report; who may write and who may read."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from pubdata.access.service import beijing_today
from pubdata.assets.appraisal import InvalidAppraisal
from pubdata.assets.valuation import service as appraisals
from pubdata.assets.valuation.errors import (
    AppraisalNotFound,
    AssetNotAppraisable,
    Incomplete,
    InvalidReport,
    NoQualityReport,
    NotAgency,
    WrongState,
)
from pubdata.assets.valuation.models import AssetAppraisal
from pubdata.assets.valuation.schemas import CostIn, FigureIn, ReconcileIn
from pubdata.audit.models import AuditRecord
from pubdata.authz import ANONYMOUS
from pubdata.db import write_durable
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.store.quality import report as quality
from tests.assets.registry.test_registry import refusals, world  # noqa: F401
from tests.assets.valuation.helpers import (
    CLASSIFY,
    COST,
    INCOME,
    cost_in,
    fig,
    header,
    income_in,
    signed,
    valuation_world,
)


@pytest.fixture
def vw(session, world, as_actor):  # noqa: F811
    return valuation_world(session, world, as_actor)


def count(session):
    return session.scalar(select(func.count()).select_from(AssetAppraisal))


# --- the flow -----------------------------------------------------------------------------------


def test_a_report_goes_from_draft_through_three_steps_to_a_sealed_signature(session, vw):
    w = vw
    draft = appraisals.create_appraisal(session, w["appraiser"], header(w))
    assert (draft.state, draft.state_label, draft.version) == ("draft", "草稿", 1)
    assert draft.code.startswith(f"QD-PG-{beijing_today().year}-") and draft.registration_code == w["asset"]
    assert draft.holder_org_id == w["holder"].organisation_id and draft.agency_org_id == w["agency_org"].id
    assert [p.user_id for p in draft.appraisers] == [w["appraiser"].user_id]
    assert draft.purpose_label == "财务报告（数据资产入表）" and draft.asset_title == "各区金额数据资源"

    cost = appraisals.record_cost(session, w["appraiser"], draft.code, cost_in())
    (m,) = cost.methods
    # C = 100,000 + 400,000 + 500,000 = 1,000,000 fen; δ = 0.8 → P = 800,000 fen
    assert (m.method, m.title, m.value_fen, m.formula) == ("cost", "成本法", 800_000, "P = C × δ")
    assert m.facts["replacement_cost_fen"] == 1_000_000 and m.facts["delta"] == "4/5"
    shown = {i.key: (i.display, i.evidence, i.attachment) for i in m.inputs}
    assert shown["cost.planning"] == ("1,000.00 元", "项目规划合同", "HT-2025-001")
    assert shown["cost.adjustment.coefficient"] == ("0.8", "专家评议会纪要 2026-11", None)
    assert "评估值 P = C × δ = 10,000.00 元 × 0.8 = 8,000.00 元" in m.trace

    income = appraisals.record_income(session, w["appraiser"], draft.code, income_in())
    assert [x.method for x in income.methods] == ["cost", "income"]
    assert income.methods[1].value_fen == 30_277_986 and income.version == 3

    weights = {"cost": fig("0.2", "成本可靠"), "income": fig("0.8", "收益预测有合同支撑")}
    rec = appraisals.reconcile(session, w["appraiser"], draft.code, ReconcileIn.model_validate({"weights": weights}))
    # 0.2 × 800,000 + 0.8 × 30,277,986 = 160,000 + 24,222,388.8 = 24,382,388.8 → 24,382,389 fen
    assert rec.concluded_value_fen == 24_382_389 and rec.reconciliation.value_fen == 24_382_389
    assert rec.reconciliation.weights == {"cost": "1/5", "income": "4/5"}
    assert rec.reconciliation.spread_note and "差异较大" in rec.reconciliation.spread_note

    cls = appraisals.classify(session, w["appraiser"], draft.code, CLASSIFY)
    assert cls.classification.category == "无形资产" and "无形资产" in cls.classification.standard

    done = appraisals.sign(session, w["appraiser"], draft.code)
    assert (done.state, done.state_label, done.signed_by, done.content_intact) == (
        "signed", "已签署", w["appraiser"].user_id, True
    )  # fmt: skip
    assert len(done.content_hash) == 64 and done.signed_by_name == done.appraisers[0].name
    write_durable(session)
    actions = set(session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("appraisal.%"))))
    assert {"appraisal.create", "appraisal.cost", "appraisal.income", "appraisal.reconcile",
            "appraisal.classify", "appraisal.sign"} <= actions  # fmt: skip


def test_choosing_one_method_needs_a_reason_and_adopts_its_value(session, vw):
    w = vw
    a = appraisals.create_appraisal(session, w["appraiser"], header(w))
    appraisals.record_cost(session, w["appraiser"], a.code, cost_in())
    appraisals.record_income(session, w["appraiser"], a.code, income_in())
    with pytest.raises(InvalidAppraisal) as e:
        appraisals.reconcile(session, w["appraiser"], a.code, ReconcileIn(conclusion_method="income"))
    assert e.value.details[0]["field"] == "reconcile.reason"
    with pytest.raises(InvalidReport) as e:  # a weight for a method not computed, none for one that is
        appraisals.reconcile(
            session, w["appraiser"], a.code,
            ReconcileIn.model_validate({"weights": {"cost": fig("1"), "market": fig("0")}}),
        )  # fmt: skip
    assert "市场法" in e.value.message and "收益法" in e.value.message
    r = appraisals.reconcile(
        session, w["appraiser"], a.code, ReconcileIn(conclusion_method="income", reason="收益可预测，成本法低估")
    )
    assert r.concluded_value_fen == 30_277_986 and r.reconciliation.conclusion_method_label == "收益法"
    assert r.reconciliation.reason == "收益可预测，成本法低估"
    # a method's input changing afterwards clears the conclusion drawn from the old results
    again = appraisals.record_cost(
        session, w["appraiser"], a.code, cost_in(adjustment={"kind": "direct", "coefficient": fig("0.9")})
    )
    assert again.reconciliation is None and again.concluded_value_fen is None
    assert again.methods[0].value_fen == 900_000


def test_clearing_a_method_removes_its_input_and_result(session, vw):
    w = vw
    a = appraisals.create_appraisal(session, w["appraiser"], header(w))
    appraisals.record_cost(session, w["appraiser"], a.code, cost_in())
    cleared = appraisals.clear_method(session, w["appraiser"], a.code, "cost")
    assert cleared.methods == [] and cleared.cost_input is None
    with pytest.raises(InvalidReport):
        appraisals.clear_method(session, w["appraiser"], a.code, "magic")


# --- sealed -------------------------------------------------------------------------------------


def test_a_signed_report_is_immutable_and_a_tampered_row_no_longer_matches_its_seal(session, vw):
    w = vw
    done = signed(session, w)
    assert done.concluded_value_fen == (800_000 + 30_277_986) // 2 + 0  # 0.5 / 0.5: 15,538,993 exactly
    code = done.code
    steps = [
        lambda: appraisals.record_cost(session, w["appraiser"], code, cost_in()),
        lambda: appraisals.record_income(session, w["appraiser"], code, income_in()),
        lambda: appraisals.clear_method(session, w["appraiser"], code, "cost"),
        lambda: appraisals.reconcile(session, w["appraiser"], code, ReconcileIn(conclusion_method="cost", reason="x")),
        lambda: appraisals.classify(session, w["appraiser"], code, CLASSIFY),
        lambda: appraisals.update_appraisal(session, w["appraiser"], code, header(w, title="改名")),
        lambda: appraisals.sign(session, w["appraiser"], code),
    ]
    for step in steps:
        with pytest.raises(WrongState):
            step()
    after = appraisals.get_appraisal(session, w["appraiser"], code)
    assert (after.version, after.content_hash, after.content_intact) == (done.version, done.content_hash, True)
    assert set(refusals(session, "appraisal.cost")) == {"appraisal.wrong_state"}

    row = session.scalar(select(AssetAppraisal).where(AssetAppraisal.code == code))
    row.concluded_value_fen += 1  # changed behind the service's back
    session.flush()
    assert appraisals.get_appraisal(session, w["regulator"], code).content_intact is False


def test_a_re_appraisal_is_a_new_report_and_a_signed_one_can_be_withdrawn(session, vw):
    w = vw
    first = signed(session, w)
    second = appraisals.create_appraisal(session, w["appraiser"], header(w, previous_code=first.code))
    assert second.code != first.code and second.previous_code == first.code
    with pytest.raises(InvalidReport):  # a draft is not withdrawn
        appraisals.withdraw(session, w["appraiser"], first.code, "  ")
    with pytest.raises(WrongState):
        appraisals.withdraw(session, w["appraiser"], second.code, "数据口径有误")
    gone = appraisals.withdraw(session, w["appraiser"], first.code, "数据口径有误")
    assert (gone.state, gone.state_label, gone.withdraw_reason, gone.content_intact) == (
        "withdrawn", "已撤回", "数据口径有误", True
    )  # fmt: skip
    with pytest.raises(InvalidReport):  # the previous report must be the agency's signed one over the same asset
        appraisals.create_appraisal(session, w["appraiser"], header(w, previous_code=second.code))


def test_signing_needs_results_a_conclusion_a_classification_and_a_named_signer(session, vw):
    w = vw
    a = appraisals.create_appraisal(session, w["appraiser"], header(w))
    with pytest.raises(Incomplete) as e:
        appraisals.sign(session, w["appraiser"], a.code)
    assert "评估方法的结果" in e.value.message and "会计处理分类" in e.value.message
    with pytest.raises(Incomplete):  # nothing to reconcile yet
        appraisals.reconcile(session, w["appraiser"], a.code, ReconcileIn(conclusion_method="cost", reason="唯一方法"))
    appraisals.record_cost(session, w["appraiser"], a.code, cost_in())
    appraisals.reconcile(session, w["appraiser"], a.code, ReconcileIn(conclusion_method="cost", reason="唯一方法"))
    appraisals.classify(session, w["appraiser"], a.code, CLASSIFY)
    with pytest.raises(NotAgency):  # a colleague of the agency, not named on the report
        appraisals.sign(session, w["second"], a.code)
    assert appraisals.sign(session, w["appraiser"], a.code).concluded_value_fen == 800_000
    assert refusals(session, "appraisal.sign") == ["appraisal.incomplete", "appraisal.not_agency"]


# --- bad input ----------------------------------------------------------------------------------


def _cost_with(adjustment=None, **parts):
    return cost_in(**({"adjustment": adjustment} if adjustment else {}), **parts)


BAD_COST = [
    ("δ = 0", _cost_with({"kind": "direct", "coefficient": fig("0")}), "cost.adjustment.coefficient", "δ 必须大于零"),
    ("δ < 0", _cost_with({"kind": "direct", "coefficient": fig("-0.2")}), "cost.adjustment.coefficient",
     "δ 必须大于零"),
    ("δ > 1.5", _cost_with({"kind": "direct", "coefficient": fig("1.6")}), "cost.adjustment.coefficient", "不能大于"),
    ("remaining life 0", _cost_with({"kind": "economic_life", "used_years": fig(2), "remaining_years": fig(0)}),
     "cost.adjustment.remaining_years", "剩余经济寿命必须大于零"),
    ("a negative component", _cost_with(storage=fig(-1)), "cost.storage", "不能为负数"),
    ("money as a decimal", _cost_with(storage=fig("10.5")), "cost.storage", "必须是整数分"),
    ("no evidence", _cost_with(storage=fig(10, " ")), "cost.storage", "缺少依据"),
    ("weights not one", _cost_with({"kind": "quality", "dimensions": [
        {"name": "完整性", "score": fig("0.9"), "weight": fig("0.5")},
        {"name": "准确性", "score": fig("0.8"), "weight": fig("0.4")}]}), "cost.adjustment.weights", "恰好为 1"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "data", "field", "words"), BAD_COST, ids=[b[0] for b in BAD_COST])
def test_every_out_of_range_cost_input_is_refused_naming_its_field_and_nothing_is_stored(
    session, vw, what, data, field, words
):
    w = vw
    a = appraisals.create_appraisal(session, w["appraiser"], header(w))
    with pytest.raises(InvalidAppraisal) as e:
        appraisals.record_cost(session, w["appraiser"], a.code, data)
    assert field in [d["field"] for d in e.value.details] and words in e.value.message
    after = appraisals.get_appraisal(session, w["appraiser"], a.code)
    assert (after.cost_input, after.methods, after.version) == (None, [], 1)
    assert refusals(session, "appraisal.cost") == ["assets.invalid_appraisal"]


BAD_INCOME = [
    ("i = 0", {"discount_rate": fig("0")}, "income.discount_rate", "折现率 i 必须大于零"),
    ("i < 0", {"discount_rate": fig("-0.05")}, "income.discount_rate", "折现率 i 必须大于零"),
    ("n = 0", {"years": fig(0), "basis": {"kind": "direct", "net_income": []}}, "income.years", "至少为 1 年"),
    ("n fractional", {"years": fig("2.5")}, "income.years", "整年数"),
    ("n beyond the contract", {"contract_term_years": fig(2)}, "income.years", "合同期限 2 年"),
    ("K = 0", {"basis": {"kind": "share", "total_income": [fig(1)] * 3, "share": fig("0")}}, "income.basis.share",
     "分成率 K 必须在 (0, 1] 之内"),
    ("K > 1", {"basis": {"kind": "share", "total_income": [fig(1)] * 3, "share": fig("1.2")}}, "income.basis.share",
     "分成率 K 必须在 (0, 1] 之内"),
    ("years of another length", {"basis": {"kind": "direct", "net_income": [fig(1)] * 2}},
     "income.basis.net_income", "不一致"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "overrides", "field", "words"), BAD_INCOME, ids=[b[0] for b in BAD_INCOME])
def test_every_out_of_range_income_input_is_refused_naming_its_field_and_nothing_is_stored(
    session, vw, what, overrides, field, words
):
    w = vw
    a = appraisals.create_appraisal(session, w["appraiser"], header(w))
    appraisals.record_cost(session, w["appraiser"], a.code, cost_in())
    with pytest.raises(InvalidAppraisal) as e:
        appraisals.record_income(session, w["appraiser"], a.code, income_in(**overrides))
    assert field in [d["field"] for d in e.value.details] and words in e.value.message
    after = appraisals.get_appraisal(session, w["appraiser"], a.code)
    assert (after.income_input, [m.method for m in after.methods], after.version) == (None, ["cost"], 2)
    assert refusals(session, "appraisal.income") == ["assets.invalid_appraisal"]


def test_a_float_never_reaches_the_calculation():
    with pytest.raises(ValidationError):
        FigureIn.model_validate({"value": 0.8, "evidence": "x"})
    with pytest.raises(ValidationError):
        CostIn.model_validate({**COST, "planning": {"value": 1.5, "evidence": "x"}})
    assert INCOME["discount_rate"]["value"] == "0.1"  # the builders use decimal strings


def test_a_header_out_of_range_is_refused_with_every_problem_named(session, vw):
    w = vw
    before = count(session)
    with pytest.raises(AssetNotAppraisable):
        appraisals.create_appraisal(session, w["appraiser"], header(w, registration_code="QD-DR-1999-000001"))
    with pytest.raises(InvalidReport) as e:
        appraisals.create_appraisal(
            session, w["appraiser"],
            header(w, valuation_date=beijing_today() + timedelta(days=1),
                   appraisers=[w["appraiser"].username, w["other_agency"].username, w["former_user"].username,
                               w["appraiser"].username, "nobody"]),
        )  # fmt: skip
    fields = [d["field"] for d in e.value.details]
    assert fields == ["valuation_date", "appraisers[2]", "appraisers[3]", "appraisers[4]", "appraisers[5]"]
    assert "不是本评估机构的在职人员" in e.value.message and "评估人员重复" in e.value.message
    assert count(session) == before
    assert refusals(session, "appraisal.create") == ["appraisal.asset_not_appraisable", "appraisal.invalid"]


# --- δ from the quality report ------------------------------------------------------------------


def test_delta_from_the_assets_quality_report_stores_its_scores_as_evidence(session, vw):
    w = vw
    a = appraisals.create_appraisal(session, w["appraiser"], header(w))
    proposal = appraisals.quality_proposal(session, w["appraiser"], a.code)
    report = quality.table_quality(session, w["holder"], w["rid"]).report
    scored = {d["label"]: d for d in report["dimensions"].values() if d.get("score") is not None}
    assert {d["name"] for d in proposal.dimensions} == set(scored)
    for d in proposal.dimensions:  # the score on a 0–1 scale, the weight renormalised over the scored ones
        assert float(d["score"]) == pytest.approx(scored[d["name"]]["score"] / 100)
    total_weight = sum(scored[n]["weight"] for n in scored)
    assert sum(float(d["weight"]) for d in proposal.dimensions) == pytest.approx(1)
    expected = sum(scored[n]["score"] / 100 * scored[n]["weight"] / total_weight for n in scored)

    done = appraisals.record_cost(session, w["appraiser"], a.code, cost_in(adjustment={"kind": "quality_report"}))
    m = done.methods[0]
    assert m.facts["delta_source"] == "quality"
    assert float(Fraction(m.facts["delta"])) == pytest.approx(expected, abs=1e-3)
    evidence = [i.evidence for i in m.inputs if i.key.startswith("cost.adjustment.dimensions")]
    assert evidence and all("质量评价报告" in e for e in evidence)
    assert done.cost_input["adjustment"]["derived_from"] == "quality_report"
    assert any("质量评价报告" in line for line in m.trace)


def test_delta_from_a_quality_report_the_asset_does_not_have_is_refused(session, vw):
    w = vw
    a = appraisals.create_appraisal(session, w["appraiser"], header(w))
    row = session.scalar(select(AssetAppraisal).where(AssetAppraisal.code == a.code))
    with pytest.raises(NoQualityReport):
        appraisals._quality_dimensions(session, w["appraiser"], "no-such-resource")
    assert row.cost_input is None


# --- who ----------------------------------------------------------------------------------------


def test_only_an_agencys_appraisers_write_and_only_their_own_agencys_reports(session, vw):
    w = vw
    for actor, error in ((w["holder"], Forbidden), (w["operator"], Forbidden), (ANONYMOUS, Unauthenticated)):
        with pytest.raises(error):
            appraisals.create_appraisal(session, actor, header(w))
    a = appraisals.create_appraisal(session, w["appraiser"], header(w))
    with pytest.raises(AppraisalNotFound):  # another agency does not even see the draft
        appraisals.record_cost(session, w["other_agency"], a.code, cost_in())
    with pytest.raises(Forbidden):  # oversight reads but does not write
        appraisals.record_cost(session, w["regulator"], a.code, cost_in())
    # a colleague of the same agency edits the draft
    assert appraisals.record_cost(session, w["second"], a.code, cost_in()).methods[0].value_fen == 800_000
    assert sorted(refusals(session, "appraisal.cost")) == ["appraisal.not_found", "auth.permission_denied"]


def test_who_reads_a_report(session, vw):
    w = vw
    draft = appraisals.create_appraisal(session, w["appraiser"], header(w))
    for actor in (w["appraiser"], w["second"], w["operator"], w["regulator"]):
        assert appraisals.get_appraisal(session, actor, draft.code).code == draft.code
    for actor in (w["holder"], w["stranger"], w["other_agency"], ANONYMOUS):  # the holder sees it once signed
        with pytest.raises(AppraisalNotFound):
            appraisals.get_appraisal(session, actor, draft.code)
        assert appraisals.list_appraisals(session, actor) == []
    done = signed(session, w)
    assert appraisals.get_appraisal(session, w["holder"], done.code).concluded_value_fen == 15_538_993
    assert [x.code for x in appraisals.list_appraisals(session, w["holder"])] == [done.code]
    assert {x.code for x in appraisals.list_appraisals(session, w["regulator"])} == {draft.code, done.code}
    assert [x.code for x in appraisals.list_appraisals(session, w["appraiser"], state="signed")] == [done.code]
    for actor in (w["stranger"], w["other_agency"], ANONYMOUS):
        with pytest.raises(AppraisalNotFound):
            appraisals.get_appraisal(session, actor, done.code)
    with pytest.raises(AppraisalNotFound):
        appraisals.get_appraisal(session, w["regulator"], "not a code")

"""The demo city's appraisal report (demo/appraisal.py): the demo appraiser appraises a registered
asset by the cost and income methods (and the market method when the platform has settled
transactions), reconciles with stated weights, classifies and signs; a second run reuses the signed
report; an unknown registration code gives no report."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy import func, select

from pubdata.assets.valuation import service as appraisals
from pubdata.assets.valuation.models import AssetAppraisal
from pubdata.demo import appraisal as demo_appraisal
from tests.assets.registry.test_registry import apply, registered, world  # noqa: F401


def test_the_demo_report_is_signed_and_reused(session, world, as_actor):  # noqa: F811
    w = world
    code = registered(session, w, apply(session, w, "department").id).code
    actors = {"appraiser": as_actor("appraiser")}
    assert demo_appraisal.apply(session, actors, "QD-DR-1999-000001") is None
    made = demo_appraisal.apply(session, actors, code)
    report = appraisals.get_appraisal(session, w["department"], made)  # the holder reads it once signed
    assert (report.state, report.registration_code, report.title) == ("signed", code, demo_appraisal.TITLE)
    assert {"cost", "income"} <= {m.method for m in report.methods} and report.content_intact is True
    cost = next(m for m in report.methods if m.method == "cost")
    assert cost.facts["replacement_cost_fen"] == sum(f["value"] for f in demo_appraisal.COMPONENTS.values())
    assert all(i.evidence for m in report.methods for i in m.inputs)
    assert report.concluded_value_fen and report.classification.category == "无形资产"
    assert sum(Fraction(x) for x in report.reconciliation.weights.values()) == 1
    assert demo_appraisal.apply(session, actors, code) == made
    assert session.scalar(select(func.count()).select_from(AssetAppraisal)) == 1

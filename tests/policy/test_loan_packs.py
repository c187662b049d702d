"""Loan-related policies (鲁科贷贴息, 担保费补贴) travel like every support pack: the enterprise supplies
what public data cannot say, the next facts build carries it, bulk matching finds the enterprise and
pushes a notice naming the right department, and an application goes to that department."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor
from pubdata.enterprise import service as facts
from pubdata.policy.applications import reviewers
from pubdata.policy.applications import workflow as apps
from pubdata.policy.matching import match, notices
from pubdata.policy.models import PolicyMatch, PolicyPackVersion
from pubdata.settings import Settings
from tests import builders
from tests.enterprise.mini_city import A, B, build_city

LUKEDAI = "qingdao-lukedai-interest-2025"
GUARANTEE = "qingdao-guarantee-fee-2025"


@pytest.fixture
def city(session: Session, settings: Settings, tmp_path: Path) -> Path:
    build_city(session, settings.home, tmp_path)
    facts.build_facts(session, SYSTEM, home=settings.home)
    return settings.home


def _enterprise(session: Session, uscc: str) -> Actor:
    org = builders.make_org(session, "enterprise", uscc=uscc)
    return builders.actor_of(builders.make_user(session, org, roles=["enterprise"]))


def _matches(session: Session, pack: str) -> dict[tuple[str, str], tuple]:
    rows = session.execute(
        select(PolicyMatch.uscc, PolicyMatch.clause_id, PolicyMatch.eligible, PolicyMatch.amount)
        .join(PolicyPackVersion, PolicyPackVersion.id == PolicyMatch.pack_version_id)
        .where(PolicyPackVersion.pack_id == pack)
    ).all()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def test_a_supplied_loan_reaches_the_interest_subsidy_notice_and_the_tech_bureau(session: Session, city: Path) -> None:
    own_a = _enterprise(session, A)
    # before anything is supplied, nobody is eligible: the loan facts are unknown, never guessed
    before = match.match_pack(session, SYSTEM, LUKEDAI, home=city)
    assert before.eligible == 0 and before.newly_eligible == 0

    facts.supply_facts(
        session, own_a, A,
        {"tech_based_sme_registered": True, "lukedai_loan_filed_settled_on_time": True,
         "lukedai_loan_interest_paid_yuan": 1_500_000, "provincial_tech_loan_interest_subsidy_received": False,
         "loan_received_other_provincial_interest_subsidy": False},
        note="鲁科贷备案及结清确认、付息凭证",
    )  # fmt: skip
    assert facts.build_facts(session, SYSTEM, home=city).built
    run = match.match_pack(session, SYSTEM, LUKEDAI, home=city)
    # 40% of 150万 is 60万: the 50万 per-enterprise cap holds
    assert _matches(session, LUKEDAI)[(A, "interest_subsidy")] == (True, 500_000)
    assert run.eligible == 1 and run.newly_eligible == 1  # A only: nobody else supplied a loan

    inbox = notices.list_notices(session, own_a)
    notice = next(n for n in inbox if n.pack_id == LUKEDAI)
    assert notice.title == "您符合“鲁科贷贴息”条件：50万元"
    assert "向注册地所在区（市）科技主管部门提出申请" in notice.body
    assert "按照企业所选备案贷款实际支付利息的40%进行补贴" in notice.body

    # the application goes to the department the operator named for the 科技 duty of A's district
    tech_bureau = builders.make_org(session, "department", name="青岛市科学技术局")
    with pytest.raises(reviewers.ReviewerNotConfigured, match="市南区的科技主管部门"):
        apps.submit_application(session, own_a, LUKEDAI, "interest_subsidy", home=city)
    reviewers.set_reviewer(session, SYSTEM, "市南区", tech_bureau.code, duty="tech")
    app = apps.submit_application(session, own_a, LUKEDAI, "interest_subsidy", home=city)
    assert app.reviewer_org_id == tech_bureau.id and app.registered_district == "市南区"
    assert (app.computed_amount, app.amount_kind, app.cap) == (500_000, "formula", 500_000)
    assert app.claimed_facts["lukedai_loan_interest_paid_yuan"] == 1_500_000


def test_a_guarantor_is_matched_per_band_and_an_unknown_condition_stays_undecided(session: Session, city: Path) -> None:
    guarantor = _enterprise(session, B)
    facts.supply_facts(
        session, guarantor, B,
        {"licensed_financing_guarantor": True, "guarantor_sound_operation_no_bad_record": True,
         "guarantee_business_compliant": True, "guarantee_band_1000w_annualised_yuan": 80_000_000,
         "guarantee_band_500w_annualised_yuan": 120_000_000},
    )  # fmt: skip
    facts.build_facts(session, SYSTEM, home=city)
    match.match_pack(session, SYSTEM, GUARANTEE, home=city)
    # condition 4 not yet stated: both clauses are undecided, no notice is pushed
    found = _matches(session, GUARANTEE)
    assert found[(B, "fee_subsidy_half_percent")] == (None, None)
    assert not [n for n in notices.list_notices(session, guarantor) if n.pack_id == GUARANTEE]

    facts.supply_facts(session, guarantor, B, {"single_enterprise_guarantee_within_limit": True})
    facts.build_facts(session, SYSTEM, home=city)
    match.match_pack(session, SYSTEM, GUARANTEE, home=city)
    found = _matches(session, GUARANTEE)
    assert found[(B, "fee_subsidy_half_percent")] == (True, 400_000)  # 8000万 × 0.5%
    assert found[(B, "fee_subsidy_one_percent")] == (True, 1_200_000)  # 1.2亿 × 1%
    pushed = [n for n in notices.list_notices(session, guarantor) if n.pack_id == GUARANTEE]
    assert len(pushed) == 2
    assert all("民营经济（中小企业）主管部门" in n.body for n in pushed)

"""The application workflow (政策通) through the services: routing to the registered district's
commerce bureau only, refusals (registered elsewhere, ineligible, missing facts, duplicates, an amount
above the cap, materials of the wrong type or size), reject / return / resubmit / withdraw /
disburse, every role's rights, and the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit.models import AuditRecord
from pubdata.authz import SYSTEM
from pubdata.db import write_durable
from pubdata.errors import Forbidden, Invalid, NotFound
from pubdata.policy.applications import files as materials
from pubdata.policy.applications import materials as mats
from pubdata.policy.applications import reads, reviewers
from pubdata.policy.applications import reviews as review
from pubdata.policy.applications import workflow as apps
from pubdata.policy.models import PolicyDisbursement, PolicyNotice, PolicyPackVersion
from pubdata.policy.packs.engine import InvalidFacts
from pubdata.policy.service import get_pack
from tests import builders
from tests.policy.applicants import JPEG, PACK, PDF, PLATFORM_FACTS, PNG, Cast, make_cast

LIMIT = 1024 * 1024


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cast has a dozen users: hash their passwords cheaply (what is tested is not argon2)."""
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def cast(session: Session, home: Path) -> Cast:
    return make_cast(session, home)


def _apply(session: Session, cast: Cast, home: Path, clause: str = "key_platform", **kw: Any) -> Any:
    return apps.submit_application(session, cast.enterprise, PACK, clause, home=home, **kw)


def _upload_all(session: Session, actor: Any, app: Any, home: Path) -> None:
    clause = get_pack(SYSTEM, PACK).clause(app.clause_id)
    for label in clause.materials:
        staged = materials.stage_bytes(home, f"{label}.pdf", PDF, LIMIT)
        mats.add_material(session, actor, app.id, label, staged, home=home)


def _submitted(session: Session, cast: Cast, home: Path, clause: str = "key_platform", **kw: Any) -> Any:
    app = _apply(session, cast, home, clause, **kw)
    _upload_all(session, cast.enterprise, app, home)
    return apps.submit_draft(session, cast.enterprise, app.id)


def _audit(session: Session, action: str, result: str = "allowed") -> list[AuditRecord]:
    write_durable(session)
    stmt = select(AuditRecord).where(AuditRecord.action == action, AuditRecord.result == result)
    return list(session.scalars(stmt.order_by(AuditRecord.seq)))


# --- applying -------------------------------------------------------------------------------------------


def test_an_application_is_routed_to_the_registered_districts_bureau_with_the_cap(
    session: Session, cast: Cast, home: Path
) -> None:
    app = _apply(session, cast, home, note="请审核")
    assert app.state == "draft" and app.year == 2022 and app.uscc == cast.enterprise_org.uscc
    assert app.registered_district == "崂山区" and app.reviewer_org_id == cast.laoshan_org.id
    assert (app.computed_amount, app.amount_kind, app.cap) == (500_000, "up_to", 500_000)
    assert app.facts_version is not None and app.public_facts["cbec_import_export_amount"] == 60_000_000
    # the claim holds the clause's facts only, taken from the public row where not stated
    assert app.claimed_facts == {
        "registered_district": "崂山区",
        "provincial_key_platform_2022": True,
        "cbec_import_export_amount": 60_000_000,
    }
    assert app.evaluation["eligible"] is True
    assert any("最高不超过50万元" in line for line in app.evaluation["trace"])
    version = session.get(PolicyPackVersion, app.pack_version_id)
    assert version is not None and version.pack_id == PACK


def test_claimed_facts_override_the_public_ones_and_the_reviewer_sees_the_difference(
    session: Session, cast: Cast, home: Path
) -> None:
    app = _apply(session, cast, home, claimed_facts={"cbec_import_export_amount": 35_000_000})
    assert (app.computed_amount, app.cap) == (200_000, 200_000)  # 达到3000万: at most 20万
    _upload_all(session, cast.enterprise, app, home)
    apps.submit_draft(session, cast.enterprise, app.id)
    seen = reads.get_application(session, cast.laoshan, app.id)
    assert seen.differences == ["cbec_import_export_amount"]
    by_name = {f.name: f for f in seen.facts}
    assert by_name["cbec_import_export_amount"].claimed == 35_000_000
    assert by_name["cbec_import_export_amount"].public == 60_000_000
    assert by_name["provincial_key_platform_2022"].status == "same"
    assert seen.actions == ["approve", "reject", "return"]


def test_another_districts_bureau_neither_sees_nor_decides_it(session: Session, cast: Cast, home: Path) -> None:
    app = _submitted(session, cast, home)
    assert [a.id for a in reads.list_applications(session, cast.laoshan)] == [app.id]
    assert reads.list_applications(session, cast.shinan) == []
    assert reads.list_applications(session, cast.other_department) == []
    for actor in (cast.shinan, cast.other_department):
        with pytest.raises(NotFound):
            reads.get_application(session, actor, app.id)
        with pytest.raises(NotFound):
            review.approve_application(session, actor, app.id, 100_000)
        with pytest.raises(NotFound):
            review.reject_application(session, actor, app.id, "不予支持")
    assert reads.get_application(session, cast.laoshan, app.id).state == "submitted"
    refusals = _audit(session, "policy.approve", "refused")
    assert {r.actor_org_id for r in refusals} == {cast.shinan_org.id, cast.other_department.organisation_id}


def test_drafts_are_not_in_the_reviewers_queue(session: Session, cast: Cast, home: Path) -> None:
    app = _apply(session, cast, home)
    assert reads.list_applications(session, cast.laoshan) == []
    with pytest.raises(NotFound):
        reads.get_application(session, cast.laoshan, app.id)


def test_an_enterprise_registered_elsewhere_is_refused(session: Session, home: Path) -> None:
    cast = make_cast(session, home, facts=None)  # no public row: the organisation's district decides
    cast.enterprise_org.district = "济南市历下区"
    session.flush()
    with pytest.raises(apps.RegisteredElsewhere, match="不在青岛市"):
        _apply(session, cast, home, claimed_facts={"provincial_key_platform_2022": True})
    cast.enterprise_org.district = None
    with pytest.raises(apps.RegisteredElsewhere, match="无法确定本企业的注册地"):
        _apply(session, cast, home)
    assert reads.list_applications(session, cast.enterprise) == []
    assert len(_audit(session, "policy.apply", "refused")) == 2


def test_a_claimed_district_other_than_the_public_record_is_refused(session: Session, cast: Cast, home: Path) -> None:
    with pytest.raises(apps.RegisteredElsewhere, match="与公共数据记录的注册地“崂山区”不一致"):
        _apply(session, cast, home, claimed_facts={"registered_district": "市南区"})
    with pytest.raises(InvalidFacts, match="registered_district"):
        _apply(session, cast, home, claimed_facts={"registered_district": "济南市"})


def test_the_public_row_wins_over_the_organisations_district(session: Session, home: Path) -> None:
    cast = make_cast(session, home, facts={"registered_district": "市南区", "provincial_key_platform_2022": True,
                                           "cbec_import_export_amount": 1_000})  # fmt: skip
    app = _apply(session, cast, home)  # the organisation says 崂山区; the registry says 市南区
    assert app.registered_district == "市南区" and app.reviewer_org_id == cast.shinan_org.id
    assert (app.amount_kind, app.cap) == ("fixed", 100_000)


def test_without_a_facts_row_the_enterprise_claims_everything(session: Session, home: Path) -> None:
    cast = make_cast(session, home, facts=None)
    with pytest.raises(apps.FactsMissing, match="获评2022年省重点培育的跨境电商平台"):
        _apply(session, cast, home)
    app = _apply(session, cast, home, claimed_facts={"provincial_key_platform_2022": True,
                                                      "cbec_import_export_amount": 30_000_000})  # fmt: skip
    assert app.public_facts is None and app.facts_version is None and app.cap == 200_000
    assert app.year == apps.beijing_today().year - 1


def test_an_ineligible_claim_is_refused_with_the_reason(session: Session, cast: Cast, home: Path) -> None:
    with pytest.raises(apps.NotEligible, match="出口.*2,000万元|2000万"):
        _apply(session, cast, home, "independent_site", claimed_facts={"cbec_export_amount": 20_000_000})
    with pytest.raises(apps.NotEligible, match="获评2022年省重点培育的跨境电商平台"):
        _apply(session, cast, home, claimed_facts={"provincial_key_platform_2022": False})


def test_an_amount_that_needs_a_missing_fact_is_refused(session: Session, cast: Cast, home: Path) -> None:
    with pytest.raises(apps.FactsMissing, match="计算金额.*独立站建设、运维、研发等资金投入"):
        _apply(session, cast, home, "independent_site", claimed_facts={"independent_site_investment": None})


def test_one_application_per_clause_and_year(session: Session, cast: Cast, home: Path) -> None:
    first = _apply(session, cast, home)
    apps.withdraw_application(session, cast.enterprise, first.id)
    with pytest.raises(apps.DuplicateApplication, match=f"申报 #{first.id}（已撤回）") as caught:
        _apply(session, cast, home)
    assert caught.value.status == 409 and caught.value.details["application_id"] == first.id
    other_year = _apply(session, cast, home, year=2021)  # another year is another application
    assert other_year.id != first.id
    assert _apply(session, cast, home, "independent_site").clause_id == "independent_site"


def test_bad_input_names_the_problem_and_stores_nothing(session: Session, cast: Cast, home: Path) -> None:
    with pytest.raises(InvalidFacts, match="未知的事实：revenue"):
        _apply(session, cast, home, claimed_facts={"revenue": 1})
    with pytest.raises(InvalidFacts, match="不能为负数"):
        _apply(session, cast, home, claimed_facts={"cbec_import_export_amount": -5})
    with pytest.raises(apps.InvalidApplication, match="申报年度"):
        _apply(session, cast, home, year=1999)
    with pytest.raises(NotFound):
        _apply(session, cast, home, "no_such_clause")
    with pytest.raises(NotFound):
        apps.submit_application(session, cast.enterprise, "no-such-pack", "x", home=home)
    assert reads.list_applications(session, cast.enterprise) == []


def test_no_reviewer_for_the_district_is_a_clear_conflict(session: Session, home: Path) -> None:
    cast = make_cast(session, home, facts={**_platform(), "registered_district": "莱西市"})
    with pytest.raises(reviewers.ReviewerNotConfigured, match="莱西市的商务主管部门"):
        _apply(session, cast, home)


def _platform() -> dict[str, Any]:
    return dict(PLATFORM_FACTS)


def test_a_notice_for_the_clause_is_linked(session: Session, cast: Cast, home: Path) -> None:
    version = session.scalar(select(PolicyPackVersion).where(PolicyPackVersion.pack_id == PACK))
    if version is None:
        from pubdata.policy.service import register_version

        version = register_version(session, get_pack(SYSTEM, PACK))
    notice = PolicyNotice(organisation_id=cast.enterprise_org.id, uscc=cast.enterprise_org.uscc,
                          pack_version_id=version.id, pack_id=PACK, clause_id="key_platform", amount=500_000,
                          amount_kind="up_to", title="可申报", body="…")  # fmt: skip
    session.add(notice)
    session.flush()
    app = _apply(session, cast, home)
    assert notice.application_id == app.id
    assert reads.get_application(session, cast.enterprise, app.id).notice_id == notice.id


# --- materials -------------------------------------------------------------------------------------------


def test_submitting_needs_every_listed_material(session: Session, cast: Cast, home: Path) -> None:
    app = _apply(session, cast, home)
    labels = get_pack(SYSTEM, PACK).clause("key_platform").materials
    staged = materials.stage_bytes(home, "申报表.png", PNG, LIMIT)
    mats.add_material(session, cast.enterprise, app.id, labels[0], staged, home=home)
    with pytest.raises(apps.MaterialsMissing, match=labels[1]):
        apps.submit_draft(session, cast.enterprise, app.id)
    for label in labels[1:]:
        mats.add_material(session, cast.enterprise, app.id, label, materials.stage_bytes(home, "a.jpg", JPEG, LIMIT),
                          home=home)  # fmt: skip
    apps.submit_draft(session, cast.enterprise, app.id)
    seen = reads.get_application(session, cast.enterprise, app.id)
    assert seen.state == "submitted" and seen.missing_materials == []
    assert [m.content_type for m in seen.materials] == ["image/png", "image/jpeg", "image/jpeg"]


def test_materials_are_checked_by_content_and_size(session: Session, cast: Cast, home: Path) -> None:
    with pytest.raises(materials.InvalidMaterial, match="只接受 PDF、PNG 或 JPEG"):
        materials.stage_bytes(home, "申报表.pdf", b"MZ\x90\x00 not a pdf at all", LIMIT)
    with pytest.raises(materials.InvalidMaterial, match="只接受"):
        materials.stage_bytes(home, "x.pdf", b"%PD", LIMIT)  # shorter than a signature
    with pytest.raises(materials.InvalidMaterial, match="为空"):
        materials.stage_bytes(home, "x.pdf", b"", LIMIT)
    with pytest.raises(materials.MaterialTooLarge, match="超过上限") as caught:
        materials.stage_bytes(home, "big.pdf", PDF + b"\0" * 2000, 1000)
    assert caught.value.status == 413
    assert list((materials.materials_root(home) / ".staging").iterdir()) == []  # nothing left behind
    app = _apply(session, cast, home)
    with pytest.raises(materials.InvalidMaterial, match="不是该条款要求的申报材料"):
        staged = materials.stage_bytes(home, "a.pdf", PDF, LIMIT)
        mats.add_material(session, cast.enterprise, app.id, "营业执照", staged, home=home)
    assert _audit(session, "policy.material", "refused")[0].details["code"] == "policy.invalid_material"


def test_a_material_is_stored_by_its_hash_and_read_by_the_enterprise_and_reviewer_only(
    session: Session, cast: Cast, home: Path
) -> None:
    app = _submitted(session, cast, home)
    material = reads.get_application(session, cast.enterprise, app.id).materials[0]
    for actor in (cast.enterprise, cast.laoshan):
        row, path = mats.open_material(session, actor, app.id, material.id, home=home)
        assert path.read_bytes() == PDF and path.name == row.sha256
        assert path.parent == materials.materials_root(home) / str(app.id)
    for actor in (cast.operator, cast.regulator):  # oversight sees the list, not the bytes
        assert reads.get_application(session, actor, app.id).materials[0].id == material.id
        with pytest.raises(Forbidden):
            mats.open_material(session, actor, app.id, material.id, home=home)
    for actor in (cast.shinan, cast.bank, cast.other_enterprise):
        with pytest.raises(NotFound):
            mats.open_material(session, actor, app.id, material.id, home=home)
    assert len(_audit(session, "policy.material_read")) == 2
    assert len(_audit(session, "policy.material_read", "refused")) == 2


def test_no_materials_once_submitted(session: Session, cast: Cast, home: Path) -> None:
    app = _submitted(session, cast, home)
    with pytest.raises(apps.WrongState):
        mats.begin_material(session, cast.enterprise, app.id)


# --- reviewing -------------------------------------------------------------------------------------------


def test_approve_within_the_cap_then_disburse(session: Session, cast: Cast, home: Path) -> None:
    app = _submitted(session, cast, home)
    with pytest.raises(apps.AmountAboveCap, match="超过本申报的上限 50万元"):
        review.approve_application(session, cast.laoshan, app.id, 500_001)
    with pytest.raises(apps.InvalidApplication, match="大于 0"):
        review.approve_application(session, cast.laoshan, app.id, 0)
    assert reads.get_application(session, cast.laoshan, app.id).state == "submitted"
    review.approve_application(session, cast.laoshan, app.id, 450_000, "核定为45万元")
    assert (app.state, app.approved_amount) == ("approved", 450_000)
    with pytest.raises(apps.WrongState):
        apps.withdraw_application(session, cast.enterprise, app.id)  # decided: too late
    with pytest.raises(Forbidden):
        review.disburse_application(session, cast.operator, app.id, "PZ-1")
    with pytest.raises(apps.InvalidApplication, match="凭证号"):
        review.disburse_application(session, cast.laoshan, app.id, "  ")
    review.disburse_application(session, cast.laoshan, app.id, "LS-2023-0001")
    paid = session.scalar(select(PolicyDisbursement).where(PolicyDisbursement.application_id == app.id))
    assert paid is not None and (paid.amount, paid.reference) == (450_000, "LS-2023-0001")
    seen = reads.get_application(session, cast.enterprise, app.id)
    assert seen.state == "disbursed" and seen.state_label == "已拨付" and seen.disbursement is not None
    assert [e.action for e in seen.events] == ["create", "material", "material", "material", "submit", "approve",
                                               "disburse"]  # fmt: skip
    with pytest.raises(apps.WrongState):
        review.disburse_application(session, cast.laoshan, app.id, "LS-2023-0002")


def test_an_assessed_amount_without_a_cap_is_set_by_the_reviewer(session: Session, home: Path) -> None:
    facts = {"registered_district": "崂山区", "public_warehouse_operating_months": 14,
             "public_warehouse_trade_amount": 1_500_000_000}  # fmt: skip
    cast = make_cast(session, home, facts=facts)
    app = _submitted(session, cast, home, "public_warehouse")
    assert (app.computed_amount, app.amount_kind) == (None, "assessed")
    assert app.cap == 2_000_000  # the clause's own ceiling (最高不超过200万元)
    with pytest.raises(apps.AmountAboveCap):
        review.approve_application(session, cast.laoshan, app.id, 2_000_001)
    review.approve_application(session, cast.laoshan, app.id, 300_000)
    assert app.approved_amount == 300_000


def test_reject_needs_a_reason_and_is_final(session: Session, cast: Cast, home: Path) -> None:
    app = _submitted(session, cast, home)
    with pytest.raises(apps.InvalidApplication, match="驳回需说明理由"):
        review.reject_application(session, cast.laoshan, app.id, " ")
    review.reject_application(session, cast.laoshan, app.id, "认定文件与企业名称不符")
    seen = reads.get_application(session, cast.enterprise, app.id)
    assert (seen.state, seen.reason) == ("rejected", "认定文件与企业名称不符")
    assert seen.actions == []
    with pytest.raises(apps.WrongState):
        apps.resubmit_application(session, cast.enterprise, app.id)


def test_return_then_add_material_correct_facts_and_resubmit(session: Session, cast: Cast, home: Path) -> None:
    app = _submitted(session, cast, home)
    with pytest.raises(apps.InvalidApplication, match="理由"):
        review.return_application(session, cast.laoshan, app.id, "")
    review.return_application(session, cast.laoshan, app.id, "请补充海关出具的进出口数据证明")
    assert reads.get_application(session, cast.enterprise, app.id).actions == [
        "update", "material", "resubmit", "withdraw"
    ]  # fmt: skip
    staged = materials.stage_bytes(home, "海关证明.pdf", PDF + b"more", LIMIT)
    mats.add_material(session, cast.enterprise, app.id, "年度跨境电商进出口数据证明", staged, home=home)
    with pytest.raises(apps.NotEligible):  # a correction is re-evaluated; nothing changes when refused
        apps.update_claim(session, cast.enterprise, app.id, claimed_facts={"provincial_key_platform_2022": False})
    assert app.claimed_facts["provincial_key_platform_2022"] is True
    apps.update_claim(session, cast.enterprise, app.id, claimed_facts={"cbec_import_export_amount": 40_000_000})
    assert (app.cap, app.computed_amount) == (200_000, 200_000)
    apps.resubmit_application(session, cast.enterprise, app.id)
    assert app.state == "submitted"
    review.approve_application(session, cast.laoshan, app.id, 200_000)
    actions = [e.action for e in reads.get_application(session, cast.laoshan, app.id).events]
    assert actions[-5:] == ["return", "material", "update", "resubmit", "approve"]


def test_withdraw_by_the_enterprise_before_a_decision(session: Session, cast: Cast, home: Path) -> None:
    app = _submitted(session, cast, home)
    with pytest.raises(Forbidden):
        apps.withdraw_application(session, cast.laoshan, app.id)
    apps.withdraw_application(session, cast.enterprise, app.id, "材料有误，撤回")
    assert app.state == "withdrawn"
    with pytest.raises(apps.WrongState):
        review.approve_application(session, cast.laoshan, app.id, 1)


# --- roles -------------------------------------------------------------------------------------------------


def test_every_role(session: Session, cast: Cast, home: Path, as_actor: Any) -> None:
    app = _submitted(session, cast, home)
    admin = as_actor("admin")
    # reading: the enterprise, its reviewer, oversight; nobody else
    for actor in (cast.enterprise, cast.laoshan, cast.operator, cast.regulator, admin):
        assert reads.get_application(session, actor, app.id).id == app.id
    for actor in (cast.shinan, cast.other_department, cast.bank, cast.other_enterprise, as_actor("data_merchant"),
                  as_actor("appraiser")):  # fmt: skip
        with pytest.raises(NotFound):
            reads.get_application(session, actor, app.id)
        assert reads.list_applications(session, actor) == []
    with pytest.raises(NotFound):
        reads.get_application(session, as_actor("anonymous"), app.id)
    assert [a.id for a in reads.list_applications(session, cast.operator)] == [app.id]
    assert [a.id for a in reads.list_applications(session, cast.regulator, box="all")] == [app.id]
    with pytest.raises(Forbidden):
        reads.list_applications(session, cast.enterprise, box="all")
    # applying: enterprises only
    for actor in (cast.laoshan, cast.operator, cast.regulator, cast.bank):
        with pytest.raises(Forbidden):
            apps.submit_application(session, actor, PACK, "key_platform", home=home)
    # deciding: the reviewer only (oversight reads but does not decide)
    for actor in (cast.operator, cast.regulator, cast.enterprise, cast.bank):
        with pytest.raises(Forbidden):
            review.approve_application(session, actor, app.id, 100_000)
    # the other enterprise of the same district neither sees nor withdraws it
    with pytest.raises(NotFound):
        apps.withdraw_application(session, cast.other_enterprise, app.id)
    # routing is the operator's
    with pytest.raises(Forbidden):
        reviewers.set_reviewer(session, cast.laoshan, "崂山区", cast.laoshan_org.code)
    assert reads.default_box(cast.laoshan) == "review" and reads.default_box(cast.enterprise) == "mine"
    assert reads.default_box(cast.regulator) == "all"


def test_an_enterprise_without_a_credit_code_cannot_apply(session: Session, cast: Cast, home: Path) -> None:
    org = builders.make_org(session, "enterprise", district="崂山区")
    actor = builders.actor_of(builders.make_user(session, org, roles=["enterprise"]))
    org.uscc = None  # e.g. an organisation registered before codes were required
    session.flush()
    with pytest.raises(Invalid, match="没有统一社会信用代码"):
        apps.submit_application(session, actor, PACK, "key_platform", home=home)


# --- routing and audit -------------------------------------------------------------------------------------


def test_the_operator_routes_districts_and_new_applications_follow(session: Session, cast: Cast, home: Path) -> None:
    assert {(r.district, r.organisation_code) for r in reviewers.list_reviewers(session, cast.bank)} == {
        ("崂山区", cast.laoshan_org.code), ("市南区", cast.shinan_org.code)
    }  # fmt: skip
    first = _apply(session, cast, home)
    reviewers.set_reviewer(session, cast.operator, "崂山区", cast.shinan_org.code)
    assert first.reviewer_org_id == cast.laoshan_org.id  # routed when made
    second = _apply(session, cast, home, "independent_site")
    assert second.reviewer_org_id == cast.shinan_org.id
    with pytest.raises(reviewers.InvalidReviewer, match="不是青岛市的区"):
        reviewers.set_reviewer(session, cast.operator, "济南市", cast.shinan_org.code)
    with pytest.raises(reviewers.InvalidReviewer, match="应为政府部门"):
        reviewers.set_reviewer(session, cast.operator, "崂山区", cast.enterprise_org.code)
    with pytest.raises(reviewers.InvalidReviewer, match="未知的审核职责"):
        reviewers.set_reviewer(session, cast.operator, "崂山区", cast.shinan_org.code, duty="tax")
    assert _audit(session, "policy.reviewer_set")[-1].details["previous_org_id"] == cast.laoshan_org.id
    assert len(_audit(session, "policy.reviewer_set", "refused")) == 3


def test_every_step_is_audited_and_the_bureau_sees_its_applications(session: Session, cast: Cast, home: Path) -> None:
    from pubdata.audit import service as audit

    app = _submitted(session, cast, home)
    review.return_application(session, cast.laoshan, app.id, "补充材料")
    apps.resubmit_application(session, cast.enterprise, app.id)
    review.approve_application(session, cast.laoshan, app.id, 100_000)
    review.disburse_application(session, cast.laoshan, app.id, "V-1")
    for action, who in (("create", cast.enterprise), ("material", cast.enterprise), ("submit", cast.enterprise),
                        ("return", cast.laoshan), ("resubmit", cast.enterprise), ("approve", cast.laoshan),
                        ("disburse", cast.laoshan)):  # fmt: skip
        records = [r for r in _audit(session, f"policy.{action}") if r.details["application_id"] == app.id]
        assert records and records[0].actor_user_id == who.user_id, action
        assert records[0].publisher_org_id == cast.laoshan_org.id
    approve = next(r for r in _audit(session, "policy.approve") if r.details["application_id"] == app.id)
    assert approve.details["amount"] == 100_000 and approve.details["from"] == "submitted"
    _, seen = audit.search(session, cast.laoshan, audit.AuditQuery(action="policy.submit"))
    assert [r.details["application_id"] for r in seen] == [app.id]
    _, other = audit.search(session, cast.shinan, audit.AuditQuery(action="policy.submit"))
    assert other == []
    assert audit.verify(session, SYSTEM).ok


def test_cli_routes_a_district(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from pubdata.cli import app
    from pubdata.db import forget_engine, get_engine
    from pubdata.settings import get_settings
    from tests.conftest import database_url

    monkeypatch.setenv("PUBDATA_HOME", str(tmp_path))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", database_url(tmp_path, name="cli_reviewers"))
    get_settings.cache_clear()
    forget_engine()
    runner = CliRunner()
    try:
        assert (
            runner.invoke(app, ["org", "create", "ls-swj", "青岛市崂山区商务局", "--kind", "department"]).exit_code == 0
        )
        out = runner.invoke(app, ["policy", "reviewer", "set", "崂山区", "ls-swj", "--json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.output)["organisation_name"] == "青岛市崂山区商务局"
        listed = runner.invoke(app, ["policy", "reviewer", "list"])
        assert "崂山区  商务主管部门  青岛市崂山区商务局（ls-swj）" in listed.output
        bad = runner.invoke(app, ["policy", "reviewer", "set", "浦东新区", "ls-swj", "--json"])
        assert bad.exit_code == 1 and json.loads(bad.output)["error"]["code"] == "policy.invalid_reviewer"
        missing = runner.invoke(app, ["policy", "reviewer", "set", "崂山区", "no-such-org"])
        assert missing.exit_code == 2
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        forget_engine()

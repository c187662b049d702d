"""The data-asset registry (确权登记) through its service: an application taken through acceptance,
formal review, public notice and objections to a registration code and a certificate; every refusal
(核心 data, sources the holder may not rely on, a fingerprint that does not match, registering too
early or over an open objection, amending what is not registered, a second initial registration),
each writing nothing and audited; transfers and cancellations linked to the first registration;
public verification by code with and without the holder's own fingerprint; who may do what."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pubdata.access.service import beijing_today
from pubdata.assets.registry import fingerprint as fp
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.errors import (
    AlreadyRegistered,
    CoreDataRefused,
    FingerprintMismatch,
    InvalidRegistration,
    NotHolder,
    NoticeNotOver,
    ObjectionsPending,
    RegistrationNotFound,
    WrongState,
)
from pubdata.assets.registry.models import AssetRegistration, RegistrationEvent, RegistrationObjection
from pubdata.assets.registry.schemas import ChainIn, FormalReviewIn, RegistrationIn, ResolveIn, SourceIn
from pubdata.audit.models import AuditRecord
from pubdata.authz import ANONYMOUS, SYSTEM
from pubdata.db import write_durable
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.standards import uscc_with_check
from tests.access.people import grant, load_people
from tests.assets.registry.test_fingerprint import KNOWN, _load
from tests.builders import make_entry, make_org

_n = itertools.count(1)
DATA = "name,amount\n市南区,100.50\n崂山区,7\n,0.10\n"  # the worked example of test_fingerprint


def _actor(session, as_actor, role, kind):
    org = make_org(session, kind, uscc=uscc_with_check(f"11370200MB{next(_n) + 1000:07d}"))
    return as_actor(role, org), org


@pytest.fixture
def world(session, as_actor, settings, tmp_path):
    department, dept_org = _actor(session, as_actor, "department", "department")
    merchant, merchant_org = _actor(session, as_actor, "data_merchant", "data_merchant")
    operator, _ = _actor(session, as_actor, "operator", "operator")
    rid = _load(session, department, settings.home, tmp_path, DATA)
    return {
        "department": department, "dept_org": dept_org, "merchant": merchant, "merchant_org": merchant_org,
        "registrar": operator, "rival": as_actor("data_merchant"), "enterprise": as_actor("enterprise"),
        "rid": rid, "entry": _entry_code(session, rid), "home": settings.home, "tmp": tmp_path,
    }  # fmt: skip


def _entry_code(session, rid):
    from pubdata.catalog import service as catalog

    return catalog.get_resource(session, SYSTEM, rid).entry.code


def app_in(w, holder="department", **overrides) -> RegistrationIn:
    org = w["dept_org"] if holder == "department" else w["merchant_org"]
    data = {
        "title": "各区金额数据资源", "description": "各区金额汇总", "holder_name": org.name, "holder_uscc": org.uscc,
        "rights": ["holding", "processing"], "sources": [SourceIn(entry=w["entry"], basis="own")],
        "resource_id": w["rid"], "update_frequency": "每月", "coverage": "青岛市", "scenario": "society",
        "classification": "general",
    }  # fmt: skip
    data.update(overrides)
    return RegistrationIn(**data)


def apply(session, w, holder="department", **overrides):
    return registry.apply(session, w[holder], app_in(w, holder, **overrides), home=w["home"])


def into_notice(session, w, reg_id, days=10):
    registry.accept(session, w["registrar"], reg_id)
    return registry.formal_review(session, w["registrar"], reg_id, FormalReviewIn(action="pass", notice_days=days))


def notice_over(session, reg_id):
    session.get(AssetRegistration, reg_id).notice_until = beijing_today() - timedelta(days=1)


def registered(session, w, reg_id):
    into_notice(session, w, reg_id)
    notice_over(session, reg_id)
    return registry.register(session, w["registrar"], reg_id)


def chain(session, w, actor, **data):
    reg = registry.apply_chain(session, w[actor], ChainIn(**data))
    return registered(session, w, reg.id)


def counts(session):
    return tuple(
        session.scalar(select(func.count()).select_from(m))
        for m in (AssetRegistration, RegistrationEvent, RegistrationObjection)
    )


def refusals(session, action):
    write_durable(session)  # what the request boundary does with refusals
    rows = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.action == action, AuditRecord.result == "refused")
        .order_by(AuditRecord.seq)
    )
    return [r.details["code"] for r in rows]


# --- the flow -----------------------------------------------------------------------------------


def test_an_application_goes_to_a_registration_code_and_a_certificate(session, world):
    w = world
    reg = apply(session, w, fingerprint=KNOWN.upper())  # the holder's own computation, checked
    assert (reg.state, reg.kind, reg.root_id, reg.previous_id) == ("submitted", "initial", reg.id, None)
    assert (reg.fingerprint, reg.rows, reg.version, reg.field_names) == (KNOWN, 3, 1, ["name", "amount"])
    assert reg.holder_org_id == w["department"].organisation_id and reg.code is None
    assert reg.rights_labels == ["数据资源持有权", "数据加工使用权"] and reg.sources[0].basis_label.startswith("自有")

    assert registry.accept(session, w["registrar"], reg.id).state == "accepted"
    noticed = registry.formal_review(session, w["registrar"], reg.id, FormalReviewIn(action="pass"))
    today = beijing_today()
    assert noticed.state == "public_notice" and noticed.state_label == "公示中"
    assert (noticed.notice_from, noticed.notice_until) == (today, today + timedelta(days=10))
    for last_day in (today + timedelta(days=10), today):  # not before the notice is over, nor on its last day
        session.get(AssetRegistration, reg.id).notice_until = last_day
        with pytest.raises(NoticeNotOver):
            registry.register(session, w["registrar"], reg.id)
    notice_over(session, reg.id)
    done = registry.register(session, w["registrar"], reg.id)
    assert done.state == "registered" and done.registered_on == today
    assert registry.CODE_PATTERN.match(done.code) and done.code.startswith(f"QD-DR-{today.year}-")
    assert [(e.from_state, e.to_state, e.action) for e in done.events] == [
        (None, "submitted", "apply"), ("submitted", "accepted", "accept"),
        ("accepted", "public_notice", "formal_review"), ("public_notice", "registered", "register"),
    ]  # fmt: skip

    cert = registry.certificate(session, ANONYMOUS, done.code.lower())
    assert (cert.code, cert.status, cert.status_label, cert.kind_label) == (done.code, "valid", "有效", "首次登记")
    assert (cert.holder_name, cert.holder_uscc) == (w["dept_org"].name, w["dept_org"].uscc)
    assert (cert.fingerprint, cert.fingerprint_algorithm, cert.canonical_form) == (
        KNOWN, "SHA-256", "pubdata-canonical-v1"
    )  # fmt: skip
    assert (cert.entry_code, cert.version, cert.rows, cert.classification_label) == (w["entry"], 1, 3, "一般数据")
    assert cert.scenario_label == "社会民生" and cert.objections_filed == 0 and cert.registered_on == today
    assert [c.code for c in cert.chain] == [done.code] and cert.verification_path == f"/registry/verify/{done.code}"

    # anyone verifies: with the fingerprint they recompute from the data they hold, or with another
    ok = registry.verify(session, done.code, fp.fingerprint_rows(["name", "amount"], [("崂山区", 7)]))
    assert (ok.status, ok.fingerprint_matches) == ("valid", False)
    ok = registry.verify(session, done.code, KNOWN)
    assert (ok.status, ok.fingerprint_matches, ok.certificate.code) == ("valid", True, done.code)
    assert registry.verify(session, done.code).fingerprint_matches is None
    with pytest.raises(RegistrationNotFound):
        registry.verify(session, "QD-DR-1999-000001")
    with pytest.raises(RegistrationNotFound):
        registry.verify(session, "not a code")
    write_durable(session)
    actions = set(session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("registry.%"))))
    assert {"registry.apply", "registry.accept", "registry.formal_review", "registry.register",
            "registry.verify"} <= actions  # fmt: skip


def test_a_return_for_correction_goes_back_to_formal_review(session, world):
    w = world
    reg = apply(session, w)
    registry.accept(session, w["registrar"], reg.id)
    with pytest.raises(InvalidRegistration):  # returning needs its reasons
        registry.formal_review(session, w["registrar"], reg.id, FormalReviewIn(action="return"))
    returned = registry.formal_review(
        session, w["registrar"], reg.id, FormalReviewIn(action="return", reason="补充覆盖范围")
    )
    assert returned.state == "returned"
    with pytest.raises(RegistrationNotFound):  # another organisation does not even see it
        registry.resubmit(session, w["rival"], reg.id)
    with pytest.raises(Forbidden):  # the registrar sees it but does not resubmit it
        registry.resubmit(session, w["registrar"], reg.id)
    fixed = registry.resubmit(session, w["department"], reg.id, app_in(w, coverage="青岛市全市十区"), home=w["home"])
    assert (fixed.state, fixed.coverage) == ("accepted", "青岛市全市十区")
    passed = registry.formal_review(session, w["registrar"], reg.id, FormalReviewIn(action="pass"))
    assert passed.state == "public_notice"
    assert [e.action for e in passed.events] == ["apply", "accept", "return", "resubmit", "formal_review"]


# --- objections ---------------------------------------------------------------------------------


def test_an_open_objection_blocks_registration_until_dismissed(session, world):
    w = world
    reg = apply(session, w)
    into_notice(session, w, reg.id)
    with pytest.raises(Unauthenticated):
        registry.file_objection(session, ANONYMOUS, reg.id, "该数据并非其所有")
    objection = registry.file_objection(session, w["enterprise"], reg.id, "该数据含本企业提供的数据，权属有争议")
    assert (objection.state, objection.state_label) == ("open", "待处理")
    notice_over(session, reg.id)
    with pytest.raises(ObjectionsPending):
        registry.register(session, w["registrar"], reg.id)
    with pytest.raises(WrongState):  # the notice is over: no more objections
        registry.file_objection(session, w["enterprise"], reg.id, "再次提出")
    with pytest.raises(Forbidden):  # only the registrar resolves
        registry.resolve_objection(session, w["department"], objection.id, ResolveIn(action="dismiss", reason="x"))
    dismissed = registry.resolve_objection(
        session, w["registrar"], objection.id, ResolveIn(action="dismiss", reason="数据为本部门依职责采集")
    )
    assert dismissed.state == "dismissed" and dismissed.resolution == "数据为本部门依职责采集"
    with pytest.raises(WrongState):  # resolved once
        registry.resolve_objection(session, w["registrar"], objection.id, ResolveIn(action="uphold", reason="x"))
    done = registry.register(session, w["registrar"], reg.id)
    assert done.state == "registered"
    assert registry.certificate(session, ANONYMOUS, done.code).objections_filed == 1
    assert [o.state for o in done.objections] == ["dismissed"]
    assert set(refusals(session, "registry.register")) == {"registry.objections_pending"}


def test_an_upheld_objection_refuses_the_registration(session, world):
    w = world
    reg = apply(session, w)
    into_notice(session, w, reg.id)
    objection = registry.file_objection(session, w["enterprise"], reg.id, "权属有争议")
    registry.resolve_objection(session, w["registrar"], objection.id, ResolveIn(action="uphold", reason="权属存在争议"))
    refused = registry.get_registration(session, w["department"], reg.id)
    assert (refused.state, refused.state_label, refused.code) == ("refused", "不予登记", None)
    assert refused.events[-1].reason == "权属存在争议"
    notice_over(session, reg.id)
    with pytest.raises(WrongState):
        registry.register(session, w["registrar"], reg.id)
    assert apply(session, w).state == "submitted"  # a refused application no longer blocks a new one


# --- refusals -----------------------------------------------------------------------------------


def test_core_data_is_refused(session, world):
    w = world
    before = counts(session)
    with pytest.raises(CoreDataRefused):
        apply(session, w, classification="core")
    core = make_entry(session, w["department"], title="核心数据目录", security_grade="core")
    with pytest.raises(CoreDataRefused) as refused:
        apply(session, w, sources=[SourceIn(entry=w["entry"], basis="own"), SourceIn(entry=core.code, basis="own")])
    assert "核心数据" in refused.value.message and refused.value.status == 422
    assert counts(session) == before
    assert refusals(session, "registry.apply") == ["registry.core_data", "registry.core_data"]


def test_sources_the_holder_neither_holds_nor_has_an_active_grant_for_are_refused(session, world, as_actor, tmp_path):
    w = world
    people = load_people(session, as_actor("department"), w["home"], tmp_path, n=4)
    merchant_grant = grant(session, w["merchant"], w["registrar"], people, ["district", "amount"])
    rival_grant = grant(session, w["rival"], w["registrar"], people, ["district"])
    before = counts(session)
    refused_inputs = [
        [SourceIn(entry=w["entry"], basis="own")],  # the department's entry is not the merchant's own
        [SourceIn(entry=people.entry_code, basis="open")],  # conditionally open, not open data
        [SourceIn(entry=people.entry_code, basis="grant", grant_id=rival_grant)],  # another's grant
    ]
    for sources in refused_inputs:
        with pytest.raises(NotHolder) as refused:
            apply(session, w, "merchant", sources=sources, resource_id=people.resource_id)
        assert refused.value.status == 403
    with pytest.raises(InvalidRegistration):  # a grant basis names its grant
        apply(session, w, "merchant", sources=[SourceIn(entry=people.entry_code, basis="grant")],
              resource_id=people.resource_id)  # fmt: skip
    assert counts(session) == before
    assert refusals(session, "registry.apply") == ["registry.not_holder"] * 3 + ["registry.invalid"]
    # with its own active grant, and with open data as the basis, the merchant may apply
    own_grant = SourceIn(entry=people.entry_code, basis="grant", grant_id=merchant_grant)
    ok = apply(session, w, "merchant", sources=[own_grant], resource_id=people.resource_id)
    assert ok.state == "submitted" and ok.sources[0].grant_id == merchant_grant
    assert apply(session, w, "merchant", sources=[SourceIn(entry=w["entry"], basis="open")]).state == "submitted"


def test_a_fingerprint_that_does_not_match_is_refused(session, world):
    w = world
    before = counts(session)
    wrong = fp.fingerprint_rows(["name", "amount"], [("市南区", 100.5)])
    with pytest.raises(FingerprintMismatch) as refused:
        apply(session, w, fingerprint=wrong)
    assert KNOWN in refused.value.message and refused.value.details[0]["field"] == "fingerprint"
    with pytest.raises(InvalidRegistration):  # a version that does not exist
        apply(session, w, version=9)
    assert counts(session) == before
    assert refusals(session, "registry.apply") == ["registry.fingerprint_mismatch", "registry.invalid"]


def test_a_second_active_initial_registration_is_refused(session, world):
    w = world
    first = apply(session, w)
    before = counts(session)
    with pytest.raises(AlreadyRegistered):
        apply(session, w)  # while the first is pending
    registered(session, w, first.id)
    with pytest.raises(AlreadyRegistered):
        apply(session, w)  # once it is registered
    assert counts(session)[0] == before[0]  # no second registration (the first's own steps wrote events)
    assert refusals(session, "registry.apply") == ["registry.already_registered"] * 2


def test_amending_what_is_not_registered_is_refused(session, world):
    w = world
    pending = apply(session, w)
    before = counts(session)
    with pytest.raises(WrongState):
        apply(session, w, kind="change", previous_id=pending.id, reason="更新")
    with pytest.raises(WrongState):
        registry.apply_chain(session, w["department"], ChainIn(kind="cancellation", previous_id=pending.id, reason="x"))
    with pytest.raises(InvalidRegistration):
        apply(session, w, kind="correction", previous_id=None)
    with pytest.raises(InvalidRegistration):
        registry.apply_chain(session, w["department"], ChainIn(kind="cancellation", previous_id=10**6, reason="x"))
    assert counts(session) == before
    assert len(refusals(session, "registry.apply")) == 4


def test_refused_review_steps_write_nothing_and_are_audited(session, world):
    w = world
    reg = apply(session, w)
    before = counts(session)
    with pytest.raises(WrongState):  # not accepted yet
        registry.formal_review(session, w["registrar"], reg.id, FormalReviewIn(action="pass"))
    with pytest.raises(InvalidRegistration):  # rejecting needs a reason
        registry.accept(session, w["registrar"], reg.id, accept=False)
    registry.accept(session, w["registrar"], reg.id)
    after_accept = counts(session)
    for days in (0, 91):
        with pytest.raises(InvalidRegistration):
            registry.formal_review(session, w["registrar"], reg.id, FormalReviewIn(action="pass", notice_days=days))
    with pytest.raises(WrongState):
        registry.register(session, w["registrar"], reg.id)
    assert counts(session) == (before[0], before[1] + 1, before[2]) == after_accept
    assert session.get(AssetRegistration, reg.id).notice_until is None
    assert refusals(session, "registry.formal_review") == [
        "registry.wrong_state",
        "registry.invalid",
        "registry.invalid",
    ]
    assert refusals(session, "registry.accept") == ["registry.invalid"]


# --- the chain ----------------------------------------------------------------------------------


def test_a_transfer_and_a_cancellation_are_linked_to_the_first(session, world):
    w = world
    first = registered(session, w, apply(session, w).id)
    m = w["merchant_org"]
    with pytest.raises(NotHolder):  # only the holder transfers
        registry.apply_chain(session, w["merchant"], ChainIn(kind="transfer", previous_id=first.id, reason="x",
                             counterparty_org=m.code, counterparty_name=m.name, counterparty_uscc=m.uscc))  # fmt: skip
    transfer = chain(session, w, "department", kind="transfer", previous_id=first.id, reason="数据资源整体转让",
                     counterparty_org=m.code, counterparty_name=m.name, counterparty_uscc=m.uscc)  # fmt: skip
    assert (transfer.state, transfer.kind, transfer.root_id, transfer.previous_id) == (
        "registered", "transfer", first.id, first.id
    )  # fmt: skip
    assert (transfer.holder_org_id, transfer.holder_uscc) == (m.id, m.uscc)
    assert (transfer.counterparty_org_id, transfer.counterparty_name) == (w["dept_org"].id, w["dept_org"].name)
    assert transfer.fingerprint == KNOWN and transfer.code != first.code
    old = registry.verify(session, first.code, KNOWN)
    assert (old.status, old.status_label, old.fingerprint_matches) == ("superseded", "已变更（以后续登记为准）", True)
    assert [c.code for c in old.certificate.chain] == [first.code, transfer.code]
    with pytest.raises(WrongState):  # the transferor's registration is no longer the head
        registry.apply_chain(session, w["department"], ChainIn(kind="cancellation", previous_id=first.id, reason="x"))

    cancel = chain(session, w, "merchant", kind="cancellation", previous_id=transfer.id, reason="停止经营该数据")
    assert (cancel.kind, cancel.root_id, cancel.previous_id) == ("cancellation", first.id, transfer.id)
    for code in (first.code, transfer.code, cancel.code):
        v = registry.verify(session, code, KNOWN)
        assert (v.status, v.status_label, v.fingerprint_matches) == ("cancelled", "已注销", True)
    states = {r.id: r.state for r in session.scalars(select(AssetRegistration))}
    assert (states[first.id], states[transfer.id], states[cancel.id]) == ("cancelled", "cancelled", "registered")
    with pytest.raises(WrongState):  # nothing more to amend
        registry.apply_chain(session, w["merchant"], ChainIn(kind="cancellation", previous_id=transfer.id, reason="x"))
    assert apply(session, w).state == "submitted"  # the subject may be registered afresh


def test_a_change_supersedes_the_registration_it_amends(session, world):
    w = world
    first = registered(session, w, apply(session, w).id)
    change = apply(session, w, kind="change", previous_id=first.id, reason="增加加工使用权以外的说明",
                   description="各区金额汇总（修订）")  # fmt: skip
    assert (change.root_id, change.previous_id) == (first.id, first.id)
    with pytest.raises(AlreadyRegistered):  # one amendment pending at a time
        apply(session, w, kind="correction", previous_id=first.id, reason="更正")
    done = registered(session, w, change.id)
    assert registry.verify(session, done.code).status == "valid"
    assert registry.verify(session, first.code).status == "superseded"


# --- who may do what ----------------------------------------------------------------------------


def test_who_may_do_what(session, world, as_actor):
    w = world
    with pytest.raises(Unauthenticated):
        registry.apply(session, ANONYMOUS, app_in(w), home=w["home"])
    appraiser, _ = _actor(session, as_actor, "appraiser", "appraisal_agency")
    with pytest.raises(Forbidden):  # an appraiser has no registry:apply and publishes nothing
        registry.apply(session, appraiser, app_in(w, sources=[SourceIn(entry=w["entry"], basis="open")],
                       holder_uscc=_uscc_of(session, appraiser)), home=w["home"])  # fmt: skip
    # a department applies over its own entries only (another's open data: a product manager's task)
    other_dept, other_org = _actor(session, as_actor, "department", "department")
    with pytest.raises(Forbidden):
        registry.apply(session, other_dept, app_in(w, sources=[SourceIn(entry=w["entry"], basis="open")],
                       holder_name=other_org.name, holder_uscc=other_org.uscc), home=w["home"])  # fmt: skip
    # (a caller not signed in is told to sign in: 401 is not a refusal the audit trail keeps)
    assert refusals(session, "registry.apply") == ["registry.may_not_apply"] * 2
    reg = apply(session, w)
    # the applicant does not review; the registrar does
    with pytest.raises(Forbidden):
        registry.accept(session, w["department"], reg.id)
    # a submitted application is the applicant's and the registrar's: not found for others
    for outsider in (ANONYMOUS, w["rival"]):
        with pytest.raises(RegistrationNotFound):
            registry.get_registration(session, outsider, reg.id)
        assert reg.id not in [r.id for r in registry.list_registrations(session, outsider)]
    assert registry.get_registration(session, w["registrar"], reg.id).events
    into_notice(session, w, reg.id)
    public = registry.get_registration(session, ANONYMOUS, reg.id)  # in notice: public, without its history
    assert public.state == "public_notice" and public.events == [] and public.objections == []
    assert reg.id in [r.id for r in registry.list_registrations(session, ANONYMOUS)]
    # the registrar never reviews its own organisation member's own application
    other = _load(session, w["department"], w["home"], w["tmp"], DATA)
    sources = [SourceIn(entry=_entry_code(session, other), basis="open")]
    data = app_in(
        w, sources=sources, resource_id=other, holder_name="运营方", holder_uscc=_uscc_of(session, w["registrar"])
    )
    own = registry.apply(session, w["registrar"], data, home=w["home"])
    with pytest.raises(Forbidden):
        registry.accept(session, w["registrar"], own.id)
    assert refusals(session, "registry.accept") == [
        "auth.permission_denied", "registry.own_application"
    ]  # fmt: skip


def _uscc_of(session, actor):
    from pubdata.identity.models import Organisation

    return session.get(Organisation, actor.organisation_id).uscc


def test_a_licence_is_linked_and_leaves_the_holder_registered(session, world):
    w = world
    first = registered(session, w, apply(session, w).id)
    m = w["merchant_org"]
    parties = {"counterparty_org": m.code, "counterparty_name": m.name, "counterparty_uscc": m.uscc}
    before = counts(session)
    for bad in (
        {"rights": ["operating"]},  # not a right the first registration claims
        {"rights": []},
        {"rights": ["processing"], "licence_until": beijing_today()},  # a licence ends after today
        {"rights": ["processing"], "counterparty_org": w["dept_org"].code, "counterparty_name": "自己",
         "counterparty_uscc": w["dept_org"].uscc},  # not to the holder itself
        {"rights": ["processing"], "counterparty_uscc": w["dept_org"].uscc},  # not the licensee's code
    ):  # fmt: skip
        with pytest.raises(InvalidRegistration):
            registry.apply_chain(session, w["department"], ChainIn(kind="licence", previous_id=first.id,
                                 reason="许可", **{**parties, **bad}))  # fmt: skip
    assert counts(session) == before
    licence = chain(session, w, "department", kind="licence", previous_id=first.id, reason="许可加工使用",
                    rights=["processing"], licence_until=beijing_today() + timedelta(days=365), **parties)  # fmt: skip
    assert (licence.kind, licence.root_id, licence.previous_id, licence.rights) == (
        "licence", first.id, first.id, ["processing"]
    )  # fmt: skip
    assert (licence.holder_org_id, licence.counterparty_org_id) == (w["dept_org"].id, m.id)
    assert registry.verify(session, first.code).status == "valid"  # a licence does not supersede
    assert registry.verify(session, licence.code).certificate.counterparty_name == m.name
    # the licensee sees the licence among its own
    assert licence.id in [r.id for r in registry.list_registrations(session, w["merchant"], mine=True)]


def test_a_revoked_grant_is_no_basis(session, world, as_actor, tmp_path):
    from pubdata.access import service as access

    w = world
    people = load_people(session, as_actor("department"), w["home"], tmp_path, n=4)
    grant_id = grant(session, w["merchant"], w["registrar"], people, ["district", "amount"])
    access.revoke_grant(session, w["registrar"], grant_id, "合同终止")
    with pytest.raises(NotHolder) as refused:
        apply(session, w, "merchant", sources=[SourceIn(entry=people.entry_code, basis="grant", grant_id=grant_id)],
              resource_id=people.resource_id)  # fmt: skip
    assert "已撤销" in refused.value.message


def test_a_change_keeps_the_registered_table(session, world):
    w = world
    first = registered(session, w, apply(session, w).id)
    other = _load(session, w["department"], w["home"], w["tmp"], DATA)
    before = counts(session)
    with pytest.raises(InvalidRegistration):  # a change of another table is that table's own registration
        apply(session, w, kind="change", previous_id=first.id, reason="换表", resource_id=other,
              sources=[SourceIn(entry=_entry_code(session, other), basis="own")])  # fmt: skip
    assert counts(session) == before
    # a new version of the same table is what a change registers
    _load(session, w["department"], w["home"], w["tmp"], DATA + "黄岛区,1\n", w["rid"])
    change = apply(session, w, kind="change", previous_id=first.id, reason="数据更新至第 2 版")
    assert (change.version, change.rows) == (2, 4) and change.fingerprint != KNOWN


def test_a_product_is_registered_by_its_provider(session, world):
    from pubdata.assets.registry.schemas import ProductFacts
    from pubdata.market import service as market
    from pubdata.market.schemas import ContractIn
    from tests.market.builders import product_in

    w = world
    product = market.create_product(
        session, w["merchant"], product_in(w["rid"], contract=ContractIn(fields=["name", "amount"]))
    )

    def lookup(s, actor, product_id):
        p = market.get_product(s, actor, product_id)
        return ProductFacts(id=p.id, code=p.code, title=p.title, provider_org_id=p.provider_org_id,
                            resource_id=p.resource_id)  # fmt: skip

    data = app_in(w, "merchant", subject="product", product_id=product.id, resource_id=None, rights=["operating"],
                  sources=[SourceIn(entry=w["entry"], basis="open")])  # fmt: skip
    with pytest.raises(InvalidRegistration):  # the caller must say how products are looked up
        registry.apply(session, w["merchant"], data, home=w["home"])
    reg = registry.apply(session, w["merchant"], data, products=lookup, home=w["home"])
    assert (reg.subject, reg.product_id, reg.resource_id, reg.fingerprint) == ("product", product.id, w["rid"], KNOWN)
    with pytest.raises(AlreadyRegistered):
        registry.apply(session, w["merchant"], data, products=lookup, home=w["home"])
    with pytest.raises(InvalidRegistration):  # another's draft is not found by the rival
        registry.apply(session, w["rival"], data, products=lookup, home=w["home"])

    def lookup_any(s, actor, product_id):  # a lookup that sees every product: the provider is still checked
        return lookup(s, SYSTEM, product_id)

    with pytest.raises(NotHolder):
        registry.apply(session, w["rival"], data, products=lookup_any, home=w["home"])

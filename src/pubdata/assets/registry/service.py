"""The data-asset registry (确权登记): applications, their review, public notice, objections,
registration codes, certificates and public verification (docs/registry.md).

Flow (every transition a ``registration_event``, every write and every refusal audited):
submitted (申请) → accepted (受理) or rejected → formal review (形式审核): passed into public notice
(公示, ``notice_until`` = today + notice days) or returned for correction (→ resubmitted → formal
review again) → objections (异议) may be filed during the notice, each resolved (upheld: the
registration is refused; dismissed with reasons) → registered (赋码) once the notice is over and no
objection is open. Changes, corrections, transfers, licences and cancellations are registrations of
their own linked to the registration they amend and to the chain's first.

Who: the applicant's organisation is the holder — its users with ``REGISTRY_APPLY`` (the operator,
enterprises, data merchants) or the publishing department of every source entry apply; the
registrar (``REGISTRY_REVIEW``, the operator) accepts, reviews, resolves objections and registers, never
its own application; any signed-in user files an objection; everyone verifies a certificate."""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.access import service as access
from pubdata.assets.registry import fingerprint as fp
from pubdata.assets.registry.errors import (
    AlreadyRegistered,
    CoreDataRefused,
    FingerprintMismatch,
    InvalidRegistration,
    NotHolder,
    NoticeNotOver,
    ObjectionNotFound,
    ObjectionsPending,
    RegistrationNotFound,
    WrongState,
)
from pubdata.assets.registry.models import AssetRegistration, RegistrationEvent, RegistrationObjection
from pubdata.assets.registry.schemas import (
    BASES,
    CLASSIFICATIONS,
    KINDS,
    OBJECTION_STATES,
    RIGHTS,
    STATES,
    SUBJECTS,
    VERIFY_STATUSES,
    Certificate,
    ChainIn,
    ChainLink,
    EventRead,
    FormalReviewIn,
    ObjectionRead,
    ProductLookup,
    RegistrationIn,
    RegistrationRead,
    ResolveIn,
    SourceRead,
    Verification,
)
from pubdata.audit import service as audit
from pubdata.authz import ANONYMOUS, SYSTEM, Actor, Permission, require
from pubdata.catalog import service as catalog
from pubdata.catalog.vocab import SCENARIOS
from pubdata.db import utcnow
from pubdata.errors import Forbidden, NotFound, Unauthenticated
from pubdata.identity import service as identity
from pubdata.settings import get_settings
from pubdata.standards import uscc_problem

CODE_PATTERN = re.compile(r"^[A-Z]{2,4}-DR-\d{4}-\d{6}$")
DEFAULT_NOTICE_DAYS = 10
MAX_NOTICE_DAYS = 90
REGISTRAR = "公共数据资源登记机构（平台运营方）"
VERIFY_PATH = "/registry/verify/{code}"
ACTIVE = ("submitted", "accepted", "returned", "public_notice", "registered", "superseded")
PENDING = ("submitted", "accepted", "returned", "public_notice")
SUPERSEDING = ("change", "correction", "transfer")  # registering one ends the registration it amends
HEAD_KINDS = ("initial", "change", "correction", "transfer")  # what an amendment may amend


def _refusals_audited(action: str, key: str = "registration") -> Any:
    return audit.refusals_audited(action, key)


def city_prefix() -> str:
    """The city's prefix of registration codes (``PUBDATA_REGISTRY_CITY_PREFIX``, validated there)."""
    return get_settings().registry_city_prefix


# --- reading ------------------------------------------------------------------------------------


def _registrar(actor: Actor) -> bool:
    return actor.can(Permission.REGISTRY_REVIEW)


def _privileged(actor: Actor, reg: AssetRegistration) -> bool:
    """The holder, the counterparty, the applicant and the registrar see a registration in any state
    with its events and objections."""
    if _registrar(actor):
        return True
    if actor.user_id is not None and actor.user_id == reg.applicant_user_id:
        return True
    org = actor.organisation_id
    return org is not None and org in (reg.holder_org_id, reg.counterparty_org_id)


PUBLIC_STATES = ("public_notice", "registered", "superseded", "cancelled")


def _visible(session: Session, actor: Actor, registration_id: int) -> AssetRegistration:
    reg = session.get(AssetRegistration, registration_id) if isinstance(registration_id, int) else None
    if reg is None or not (reg.state in PUBLIC_STATES or _privileged(actor, reg)):
        raise RegistrationNotFound(f"登记不存在：{registration_id}")
    return reg


def _read(session: Session, actor: Actor, reg: AssetRegistration) -> RegistrationRead:
    privileged = _privileged(actor, reg)
    events: list[EventRead] = []
    objections: list[ObjectionRead] = []
    if privileged:
        rows = session.scalars(
            select(RegistrationEvent).where(RegistrationEvent.registration_id == reg.id).order_by(RegistrationEvent.id)
        )
        events = [EventRead.model_validate(e) for e in rows]
        objections = [_objection_read(o) for o in _objections(session, reg.id)]
    return RegistrationRead(
        id=reg.id, code=reg.code, kind=reg.kind, kind_label=KINDS[reg.kind], state=reg.state,
        state_label=STATES[reg.state], previous_id=reg.previous_id, root_id=reg.root_id, subject=reg.subject,
        subject_label=SUBJECTS[reg.subject], product_id=reg.product_id, title=reg.title,
        description=reg.description, holder_org_id=reg.holder_org_id, holder_name=reg.holder_name,
        holder_uscc=reg.holder_uscc, counterparty_org_id=reg.counterparty_org_id,
        counterparty_name=reg.counterparty_name, counterparty_uscc=reg.counterparty_uscc,
        licence_until=reg.licence_until, rights=list(reg.rights), rights_labels=[RIGHTS[r] for r in reg.rights],
        sources=_sources_read(reg), resource_id=reg.resource_id, entry_id=reg.entry_id, version=reg.version,
        field_names=list(reg.field_names), rows=reg.rows, fingerprint=reg.fingerprint,
        update_frequency=reg.update_frequency, coverage=reg.coverage, scenario=reg.scenario,
        scenario_label=SCENARIOS[reg.scenario], classification=reg.classification,
        classification_label=CLASSIFICATIONS[reg.classification], reason=reg.reason, notice_from=reg.notice_from,
        notice_until=reg.notice_until, registered_on=reg.registered_on, created_at=reg.created_at,
        events=events, objections=objections,
    )  # fmt: skip


def _sources_read(reg: AssetRegistration) -> list[SourceRead]:
    return [
        SourceRead(
            entry=s["entry"],
            title=s["title"],
            basis=s["basis"],
            basis_label=BASES[s["basis"]],
            grant_id=s.get("grant_id"),
        )  # fmt: skip
        for s in reg.sources
    ]


def _objection_read(o: RegistrationObjection) -> ObjectionRead:
    out = ObjectionRead.model_validate(o)
    out.state_label = OBJECTION_STATES[o.state]
    return out


def _objections(session: Session, registration_id: int) -> list[RegistrationObjection]:
    return list(
        session.scalars(
            select(RegistrationObjection)
            .where(RegistrationObjection.registration_id == registration_id)
            .order_by(RegistrationObjection.id)
        )
    )


def get_registration(session: Session, actor: Actor, registration_id: int) -> RegistrationRead:
    """A registration: in notice or registered (and after) for everyone, without its events and
    objections; in any state with them for the holder, the counterparty, the applicant and the
    registrar. Not found for everyone else."""
    return _read(session, actor, _visible(session, actor, registration_id))


def list_registrations(
    session: Session, actor: Actor, *, state: str | None = None, mine: bool = False
) -> list[RegistrationRead]:
    """Registrations the actor may see: the public ones (in notice, registered, superseded,
    cancelled) for everyone, the organisation's own in any state, every one for the registrar.
    ``mine``: the organisation's own only (as holder or counterparty)."""
    stmt = select(AssetRegistration)
    org = actor.organisation_id if actor.organisation_id is not None else -1
    own = (AssetRegistration.holder_org_id == org) | (AssetRegistration.counterparty_org_id == org)
    if mine:
        stmt = stmt.where(own)
    elif not _registrar(actor):
        stmt = stmt.where(AssetRegistration.state.in_(PUBLIC_STATES) | own)
    if state is not None:
        stmt = stmt.where(AssetRegistration.state == state)
    regs = session.scalars(stmt.order_by(AssetRegistration.id).limit(1000))
    return [_read(session, actor, r) for r in regs]


# --- applying -----------------------------------------------------------------------------------


# every action ``_event`` and ``_move`` record, as ``registry.<action>`` (the audit viewer labels each)
ACTIONS = ("apply", "resubmit", "accept", "reject", "return", "formal_review", "object", "resolve",
           "objection_upheld", "register", "supersede", "cancel", "verify")  # fmt: skip


def _event(action: str, reg: AssetRegistration, **details: Any) -> audit.Event:
    return audit.Event(
        f"registry.{action}",
        resource_id=reg.resource_id,
        version=reg.version,
        publisher_org_id=reg.holder_org_id,
        details={"registration": reg.id, "kind": reg.kind, "code": reg.code, **details},
    )


def _move(
    session: Session, actor: Actor, reg: AssetRegistration, to: str, action: str, reason: str = "", **details: Any
) -> None:
    old = reg.state
    reg.state = to
    reg.updated_at = utcnow()
    session.add(RegistrationEvent(registration_id=reg.id, from_state=old, to_state=to, action=action,
                                  actor_user_id=actor.user_id, reason=reason))  # fmt: skip
    session.flush()
    event = _event(action, reg, **{"from": old, "to": to, **details})
    event.reason = reason
    audit.record(session, actor, event)


def _check_uscc(code: str | None, field: str, problems: list[dict[str, str]]) -> None:
    problem = uscc_problem(code or "")
    if problem:
        problems.append({"field": field, "message": f"统一社会信用代码有误（{field}）：{problem}"})


def _raise(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidRegistration("；".join(p["message"] for p in problems), details=problems)


def _holder_org(session: Session, actor: Actor) -> Any:
    if not actor.is_authenticated:
        raise Unauthenticated("需要登录：申请登记须以机构用户身份进行", code="auth.login_required")
    org = identity.own_organisation(session, actor) if actor.organisation_id is not None else None
    if org is None:
        raise Forbidden("申请登记须以机构身份进行：当前账号不属于任何机构", code="registry.no_organisation")
    return org


def _may_apply(actor: Actor, source_orgs: set[int]) -> None:
    """Users with ``registry:apply`` (the operator, enterprises, data merchants), or the publishing
    department of every source entry; what they may register is checked source by source."""
    if actor.can(Permission.REGISTRY_APPLY):
        return
    if actor.can(Permission.CATALOG_ENTRY_UPDATE) and source_orgs and source_orgs == {actor.organisation_id}:
        return
    raise Forbidden("无权申请登记：须为有登记申请权限的机构用户，或所登记数据的发布部门", code="registry.may_not_apply")


def _check_sources(
    session: Session, actor: Actor, data: RegistrationIn, holder_org_id: int
) -> tuple[list[dict[str, Any]], list[Any]]:
    """The sources in their stored form and their entries; ``NotHolder`` when a basis does not hold."""
    problems: list[dict[str, str]] = []
    if not data.sources:
        problems.append({"field": "sources", "message": "须至少列出一项来源数据（目录编码及其来源合法性依据）"})
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    entries = []
    for i, src in enumerate(data.sources):
        field = f"sources[{i}]"
        try:
            entry = catalog.get_entry(session, actor, src.entry)
        except NotFound:
            problems.append({"field": f"{field}.entry", "message": f"来源目录不存在：{src.entry}"})
            continue
        if entry.code in seen:
            problems.append({"field": f"{field}.entry", "message": f"来源目录重复：{entry.code}"})
            continue
        seen.add(entry.code)
        entries.append(entry)
        if src.basis != "grant" and src.grant_id is not None:
            problems.append({"field": f"{field}.grant_id", "message": "只有依据为使用授权（grant）时填写授权编号"})
        out.append({"entry": entry.code, "title": entry.title, "basis": src.basis, "grant_id": src.grant_id})
    _raise(problems)
    for i, (src, entry) in enumerate(zip(data.sources, entries, strict=True)):
        field = f"sources[{i}]"
        if entry.security_grade == "core":
            raise CoreDataRefused(f"来源数据“{entry.title}”为核心数据，不予登记", field=f"{field}.entry")
        if src.basis == "own" and entry.organisation_id != holder_org_id:
            raise NotHolder(f"“{entry.title}”不是登记主体发布的数据，不能以自有数据为依据（{field}.basis）")
        if src.basis == "open" and entry.open_type != "unconditional":
            raise NotHolder(f"“{entry.title}”不是无条件开放数据，不能以开放数据为依据（{field}.basis）")
        if src.basis == "grant":
            _check_grant(session, actor, entry, src.grant_id, holder_org_id, field)
    return out, entries


def _check_grant(
    session: Session, actor: Actor, entry: Any, grant_id: int | None, holder_org_id: int, field: str
) -> None:
    if grant_id is None:
        raise InvalidRegistration(f"以使用授权为依据时须填写授权编号（{field}.grant_id）", field=f"{field}.grant_id")
    resources = {r.id for r in entry.resources}
    # per resource: the unfiltered list is cut to the newest 500 grants (the operator sees every one)
    grant = next((g for rid in sorted(resources) for g in access.list_grants(session, actor, resource_id=rid)
                  if g.id == grant_id), None)  # fmt: skip
    if grant is None or grant.consumer_org_id != holder_org_id or grant.resource_id not in resources:
        raise NotHolder(f"授权 {grant_id} 不是登记主体就“{entry.title}”取得的使用授权（{field}.grant_id）")
    if grant.origin != "review":
        raise NotHolder(f"授权 {grant_id} 是购买数据产品取得的使用授权，不能作为来源合法性依据（{field}.grant_id）")
    if grant.status != "active":
        label = {"revoked": "已撤销", "expired": "已过期", "pending": "尚未生效"}.get(grant.status, "无效")
        raise NotHolder(f"授权 {grant_id}（“{entry.title}”）{label}，不能作为来源合法性依据（{field}.grant_id）")


def _active_initial(session: Session, reg_subject: str, resource_id: str, product_id: int | None) -> int | None:
    stmt = select(AssetRegistration.id).where(
        AssetRegistration.kind == "initial", AssetRegistration.state.in_(ACTIVE),
        AssetRegistration.subject == reg_subject,
    )  # fmt: skip
    if reg_subject == "product":
        stmt = stmt.where(AssetRegistration.product_id == product_id)
    else:
        stmt = stmt.where(AssetRegistration.resource_id == resource_id)
    return session.scalar(stmt.limit(1))


def _previous(
    session: Session, actor: Actor, previous_id: int | None, kind: str, exclude: int | None = None
) -> AssetRegistration:
    """The registration an amendment amends: registered, the head of its chain, held by the actor's
    organisation, without another amendment pending."""
    if previous_id is None:
        raise InvalidRegistration(f"{KINDS[kind]}须指明所变更的登记（previous_id）", field="previous_id")
    prev = session.get(AssetRegistration, previous_id)
    if prev is None:
        raise InvalidRegistration(f"所变更的登记不存在：{previous_id}", field="previous_id")
    if prev.state != "registered" or prev.kind not in HEAD_KINDS:
        raise WrongState(
            f"只能对已登记且有效的登记办理{KINDS[kind]}：登记 {previous_id} 当前为“{STATES[prev.state]}”"
            + ("" if prev.kind in HEAD_KINDS else f"（{KINDS[prev.kind]}）")
        )
    if actor.organisation_id != prev.holder_org_id:
        raise NotHolder(f"只有登记主体（{prev.holder_name}）可以办理{KINDS[kind]}")
    pending = session.scalar(
        select(AssetRegistration.id).where(
            AssetRegistration.previous_id == prev.id, AssetRegistration.state.in_(PENDING),
            AssetRegistration.kind.in_(("change", "correction", "transfer", "cancellation")),
            AssetRegistration.id != (exclude or -1),
        ).limit(1)
    )  # fmt: skip
    if pending is not None and kind != "licence":
        raise AlreadyRegistered(f"登记 {prev.code} 已有办理中的登记申请（{pending}），请待其办结")
    return prev


def _fingerprinted(
    session: Session, resource_id: str, version: int | None, supplied: str | None, home: Path | None
) -> fp.VersionFingerprint:
    """The registrar recomputes the version's fingerprint (reading the whole version as the system);
    the applicant's own must match it."""
    try:
        found = fp.fingerprint_version(session, SYSTEM, resource_id, version, home=home)
    except NotFound as exc:
        raise InvalidRegistration(f"找不到所登记的数据版本：{exc.message}", field="version") from None
    if supplied is not None and supplied.strip().lower() != found.fingerprint:
        raise FingerprintMismatch(
            f"所报数据指纹与登记机构对第 {found.version} 版数据重新计算的指纹不一致："
            f"申报 {supplied.strip().lower()}，计算 {found.fingerprint}",
            field="fingerprint",
        )
    return found


def _checked(
    session: Session, actor: Actor, data: RegistrationIn, products: ProductLookup | None, home: Path | None,
    *, resubmitting: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """An application's input checked, as the registration's column values."""
    org = _holder_org(session, actor)
    problems: list[dict[str, str]] = []
    _check_uscc(data.holder_uscc, "holder_uscc", problems)
    if org.uscc and data.holder_uscc and org.uscc != data.holder_uscc:
        problems.append({"field": "holder_uscc", "message": "登记主体的统一社会信用代码与本机构登记的不一致"})
    if not data.rights:
        problems.append({"field": "rights", "message": "须至少主张一项权利（持有权、加工使用权、经营权）"})
    if len(set(data.rights)) != len(data.rights):
        problems.append({"field": "rights", "message": "主张的权利有重复"})
    if data.kind == "initial" and data.previous_id is not None:
        problems.append({"field": "previous_id", "message": "首次登记不指向其他登记"})
    if data.subject == "product" and data.product_id is None:
        problems.append({"field": "product_id", "message": "登记数据产品须填写产品编号（product_id）"})
    if data.subject == "resource" and data.product_id is not None:
        problems.append({"field": "product_id", "message": "登记数据资源时不填写产品编号"})
    if data.subject == "resource" and not data.resource_id:
        problems.append({"field": "resource_id", "message": "须指明所登记的数据表（resource_id）"})
    _raise(problems)
    if data.classification == "core":
        raise CoreDataRefused("核心数据不予登记", field="classification")
    prev = _previous(session, actor, data.previous_id, data.kind, resubmitting) if data.kind != "initial" else None
    if prev is not None and (prev.subject, prev.product_id) != (data.subject, data.product_id):
        raise InvalidRegistration("变更、更正登记的登记对象须与原登记一致", field="subject")
    resource_id = data.resource_id
    if data.subject == "product":
        assert data.product_id is not None
        if products is None:
            raise InvalidRegistration("无法核对数据产品：本次调用未提供产品查询", field="product_id")
        try:
            product = products(session, actor, data.product_id)
        except NotFound:
            raise InvalidRegistration(f"数据产品不存在：{data.product_id}", field="product_id") from None
        if product.provider_org_id != org.id:
            raise NotHolder(f"数据产品“{product.title}”不是本机构提供的，不能登记其经营权")
        resource_id = resource_id or product.resource_id
    assert resource_id is not None
    sources, entries = _check_sources(session, actor, data, org.id)
    _may_apply(actor, {e.organisation_id for e in entries})
    try:
        resource = catalog.get_resource(session, actor, resource_id)
    except NotFound:
        raise InvalidRegistration(f"数据表不存在：{resource_id}", field="resource_id") from None
    if prev is not None and prev.subject == "resource" and resource.id != prev.resource_id:
        raise InvalidRegistration(
            "变更、更正登记的数据表须与原登记一致（另一张表须办理其自身的首次登记）", field="resource_id"
        )
    if resource.entry.code not in {s["entry"] for s in sources}:
        raise InvalidRegistration(
            f"所登记的数据表属于目录 {resource.entry.code}，须列入来源数据并说明其来源合法性", field="sources"
        )
    grades = {e.security_grade for e in entries}
    if "important" in grades and data.classification == "general":
        raise InvalidRegistration("来源数据含重要数据，分类分级不得低于“重要数据”", field="classification")
    if data.kind == "initial":
        taken = _active_initial(session, data.subject, resource_id, data.product_id)
        if taken is not None and taken != resubmitting:
            raise AlreadyRegistered(f"该{SUBJECTS[data.subject]}已有办理中或有效的首次登记（{taken}）")
    found = _fingerprinted(session, resource_id, data.version, data.fingerprint, home)
    return dict(
        kind=data.kind, previous_id=prev.id if prev else None, root_id=prev.root_id if prev else None,
        subject=data.subject, product_id=data.product_id, title=data.title, description=data.description,
        holder_org_id=org.id, holder_name=data.holder_name, holder_uscc=data.holder_uscc, rights=list(data.rights),
        sources=sources, resource_id=resource.id, entry_id=resource.entry.id, version=found.version,
        field_names=found.field_names, rows=found.rows, fingerprint=found.fingerprint,
        update_frequency=data.update_frequency, coverage=data.coverage, scenario=data.scenario,
        classification=data.classification, reason=data.reason.strip(),
    )  # fmt: skip


@_refusals_audited("registry.apply", "title")
def _apply(
    session: Session, actor: Actor, title: str, data: RegistrationIn, products: ProductLookup | None, home: Path | None
) -> AssetRegistration:
    reg = AssetRegistration(
        **_checked(session, actor, data, products, home), state="submitted", applicant_user_id=actor.user_id
    )
    session.add(reg)
    session.flush()
    if reg.root_id is None:
        reg.root_id = reg.id
    _created(session, actor, reg)
    return reg


def _created(session: Session, actor: Actor, reg: AssetRegistration) -> None:
    session.add(RegistrationEvent(registration_id=reg.id, from_state=None, to_state="submitted", action="apply",
                                  actor_user_id=actor.user_id, reason=reg.reason))  # fmt: skip
    session.flush()
    audit.record(session, actor, _event("apply", reg, fingerprint=reg.fingerprint, previous=reg.previous_id))


def apply(
    session: Session,
    actor: Actor,
    data: RegistrationIn,
    *,
    products: ProductLookup | None = None,
    home: Path | None = None,
) -> RegistrationRead:
    """An application of kind initial, change or correction by the actor's organisation (the
    holder). The registrar recomputes the fingerprint of the version (``home``: the data directory,
    the configured one by default); ``products`` looks a product subject up. Refused: core data, a
    source the holder may not rely on, a fingerprint that does not match, an amendment of what is
    not registered, a second active initial registration of the subject; nothing is written."""
    return _read(session, actor, _apply(session, actor, data.title, data, products, home))


@_refusals_audited("registry.apply", "previous")
def _apply_chain(session: Session, actor: Actor, previous_id: int, data: ChainIn) -> AssetRegistration:
    _holder_org(session, actor)
    prev = _previous(session, actor, previous_id, data.kind)
    _may_apply(actor, {prev.holder_org_id} if actor.organisation_id == prev.holder_org_id else set())
    reg = AssetRegistration(
        kind=data.kind, state="submitted", previous_id=prev.id, root_id=prev.root_id, subject=prev.subject,
        product_id=prev.product_id, title=prev.title, description=prev.description, holder_org_id=prev.holder_org_id,
        holder_name=prev.holder_name, holder_uscc=prev.holder_uscc, rights=list(prev.rights),
        sources=list(prev.sources), resource_id=prev.resource_id, entry_id=prev.entry_id, version=prev.version,
        field_names=list(prev.field_names), rows=prev.rows, fingerprint=prev.fingerprint,
        update_frequency=prev.update_frequency, coverage=prev.coverage, scenario=prev.scenario,
        classification=prev.classification, reason=data.reason.strip(), applicant_user_id=actor.user_id,
    )  # fmt: skip
    if data.kind in ("transfer", "licence"):
        problems: list[dict[str, str]] = []
        if not data.counterparty_org:
            problems.append({"field": "counterparty_org", "message": "须填写受让方或被许可方的机构代码"})
        _check_uscc(data.counterparty_uscc, "counterparty_uscc", problems)
        if not (data.counterparty_name or "").strip():
            problems.append({"field": "counterparty_name", "message": "须填写受让方或被许可方的名称"})
        _raise(problems)
        try:
            other = identity.get_organisation(session, actor, data.counterparty_org or "")
        except NotFound:
            raise InvalidRegistration(f"机构不存在：{data.counterparty_org}", field="counterparty_org") from None
        if other.id == prev.holder_org_id:
            raise InvalidRegistration("受让方或被许可方不能是登记主体本身", field="counterparty_org")
        if other.uscc and other.uscc != data.counterparty_uscc:
            raise InvalidRegistration("统一社会信用代码与该机构登记的不一致", field="counterparty_uscc")
        if data.kind == "transfer":  # the transferee becomes the holder; the transferor is recorded
            reg.holder_org_id, reg.holder_name, reg.holder_uscc = (
                other.id,
                data.counterparty_name or "",
                data.counterparty_uscc or "",
            )
            reg.counterparty_org_id, reg.counterparty_name, reg.counterparty_uscc = (
                prev.holder_org_id,
                prev.holder_name,
                prev.holder_uscc,
            )
        else:
            rights = list(data.rights or [])
            if not rights or not set(rights) <= set(prev.rights) or len(set(rights)) != len(rights):
                raise InvalidRegistration("许可的权利须为原登记所主张权利中的一项或多项", field="rights")
            if data.licence_until is not None and data.licence_until <= access.beijing_today():
                raise InvalidRegistration("许可期限须晚于今天", field="licence_until")
            reg.rights, reg.licence_until = [str(r) for r in rights], data.licence_until
            reg.counterparty_org_id, reg.counterparty_name, reg.counterparty_uscc = (
                other.id,
                data.counterparty_name,
                data.counterparty_uscc,
            )
    elif any((data.counterparty_org, data.counterparty_name, data.counterparty_uscc, data.rights, data.licence_until)):
        raise InvalidRegistration("注销登记不填写受让方、被许可方、权利或许可期限", field="kind")
    session.add(reg)
    session.flush()
    _created(session, actor, reg)
    return reg


def apply_chain(session: Session, actor: Actor, data: ChainIn) -> RegistrationRead:
    """A transfer (转移), licence (许可) or cancellation (注销) of a registered registration by its
    holder, with its reason; it goes through the same review, notice and registration."""
    return _read(session, actor, _apply_chain(session, actor, data.previous_id, data))


def _own_pending(session: Session, actor: Actor, registration_id: int) -> AssetRegistration:
    reg = _visible(session, actor, registration_id)
    if actor.organisation_id is None or actor.organisation_id not in (reg.holder_org_id, reg.counterparty_org_id) \
            or actor.user_id is None:  # fmt: skip
        raise Forbidden("只有申请机构可以补正登记申请", code="registry.not_applicant")
    return reg


@_refusals_audited("registry.resubmit")
def _resubmit(
    session: Session, actor: Actor, registration_id: int, data: RegistrationIn | None, products: ProductLookup | None,
    home: Path | None,
) -> AssetRegistration:  # fmt: skip
    reg = _own_pending(session, actor, registration_id)
    if reg.state != "returned":
        raise WrongState(f"登记当前为“{STATES[reg.state]}”，只有退回补正的申请可以重新提交")
    if data is not None:
        if reg.kind not in ("initial", "change", "correction") or data.kind != reg.kind:
            raise InvalidRegistration("补正不能改变登记类型", field="kind")
        if data.previous_id != reg.previous_id or data.subject != reg.subject or data.product_id != reg.product_id:
            raise InvalidRegistration("补正不能改变登记对象或所变更的登记", field="subject")
        checked = _checked(session, actor, data, products, home, resubmitting=reg.id)
        checked.pop("root_id")
        for key, value in checked.items():
            setattr(reg, key, value)
        reg.updated_at = utcnow()
    _move(session, actor, reg, "accepted", "resubmit", (data.reason if data else "").strip())
    return reg


def resubmit(
    session: Session,
    actor: Actor,
    registration_id: int,
    data: RegistrationIn | None = None,
    *,
    products: ProductLookup | None = None,
    home: Path | None = None,
) -> RegistrationRead:
    """The applicant resubmits an application returned for correction (with corrected input, checked
    as a new application is, or as it was); it goes back to formal review."""
    return _read(session, actor, _resubmit(session, actor, registration_id, data, products, home))


# --- the registrar ------------------------------------------------------------------------------


def _reviewable(
    session: Session, actor: Actor, registration_id: int, states: tuple[str, ...], what: str
) -> AssetRegistration:
    require(actor, Permission.REGISTRY_REVIEW)
    reg = session.get(AssetRegistration, registration_id) if isinstance(registration_id, int) else None
    if reg is None:
        raise RegistrationNotFound(f"登记不存在：{registration_id}")
    if reg.state not in states:
        raise WrongState(f"登记当前为“{STATES[reg.state]}”，不能{what}")
    if actor.user_id is not None and actor.user_id == reg.applicant_user_id:
        raise Forbidden("不能审核本人提交的登记申请", code="registry.own_application")
    return reg


def _reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidRegistration(f"{what}须说明理由", field="reason")
    return text


@_refusals_audited("registry.accept")
def _accept(session: Session, actor: Actor, registration_id: int, accept: bool, reason: str) -> AssetRegistration:
    reg = _reviewable(session, actor, registration_id, ("submitted",), "受理")
    if accept:
        _move(session, actor, reg, "accepted", "accept", reason.strip())
    else:
        _move(session, actor, reg, "rejected", "reject", _reason(reason, "不予受理"))
        reg.ended_at = utcnow()
    return reg


def accept(
    session: Session, actor: Actor, registration_id: int, *, accept: bool = True, reason: str = ""
) -> RegistrationRead:
    """受理: the registrar accepts a submitted application, or rejects it (final) with a reason."""
    return _read(session, actor, _accept(session, actor, registration_id, accept, reason))


@_refusals_audited("registry.formal_review")
def _formal_review(
    session: Session, actor: Actor, registration_id: int, data: FormalReviewIn, on: date | None
) -> AssetRegistration:
    reg = _reviewable(session, actor, registration_id, ("accepted",), "形式审核")
    if data.action == "return":
        _move(session, actor, reg, "returned", "return", _reason(data.reason, "退回补正"))
        return reg
    days = data.notice_days
    if isinstance(days, bool) or not 1 <= days <= MAX_NOTICE_DAYS:
        raise InvalidRegistration(f"公示天数须为 1 至 {MAX_NOTICE_DAYS} 之间的整数：{days!r}", field="notice_days")
    today = on or access.beijing_today()
    reg.notice_from, reg.notice_until = today, today + timedelta(days=days)
    _move(session, actor, reg, "public_notice", "formal_review", data.reason.strip(),
          notice_until=reg.notice_until.isoformat())  # fmt: skip
    return reg


def formal_review(
    session: Session, actor: Actor, registration_id: int, data: FormalReviewIn, *, on: date | None = None
) -> RegistrationRead:
    """形式审核: passed into public notice (公示) until today + ``notice_days`` (default 10), or
    returned for correction with the reasons. ``on``: the review's day (the demo replays a notice
    that has ended; today in Beijing by default)."""
    return _read(session, actor, _formal_review(session, actor, registration_id, data, on))


@_refusals_audited("registry.object")
def _object(session: Session, actor: Actor, registration_id: int, text: str) -> RegistrationObjection:
    if not actor.is_authenticated or actor.user_id is None:
        raise Unauthenticated("需要登录：提出异议须先登录", code="auth.login_required")
    reg = _visible(session, actor, registration_id)
    today = access.beijing_today()
    if reg.state != "public_notice" or reg.notice_until is None or today > reg.notice_until:
        raise WrongState("只能在公示期内对登记提出异议")
    body = (text or "").strip()
    if not body:
        raise InvalidRegistration("异议须写明事实和理由", field="text")
    if len(body) > 4000:
        raise InvalidRegistration("异议不超过 4000 字", field="text")
    objection = RegistrationObjection(registration_id=reg.id, text=body, filed_by=actor.user_id,
                                      filed_by_org_id=actor.organisation_id, state="open")  # fmt: skip
    session.add(objection)
    session.flush()
    audit.record(session, actor, _event("object", reg, objection=objection.id))
    return objection


def file_objection(session: Session, actor: Actor, registration_id: int, text: str) -> ObjectionRead:
    """异议: any signed-in user objects to a registration during its public notice."""
    return _objection_read(_object(session, actor, registration_id, text))


@_refusals_audited("registry.resolve", "objection")
def _resolve(session: Session, actor: Actor, objection_id: int, data: ResolveIn) -> RegistrationObjection:
    require(actor, Permission.REGISTRY_REVIEW)
    objection = session.get(RegistrationObjection, objection_id) if isinstance(objection_id, int) else None
    if objection is None:
        raise ObjectionNotFound(f"异议不存在：{objection_id}")
    if objection.state != "open":
        raise WrongState(f"该异议已处理（{OBJECTION_STATES[objection.state]}）")
    reg = _reviewable(session, actor, objection.registration_id, ("public_notice",), "处理异议")
    reason = _reason(data.reason, "处理异议")
    objection.state = "upheld" if data.action == "uphold" else "dismissed"
    objection.resolution, objection.resolved_by, objection.resolved_at = reason, actor.user_id, utcnow()
    session.flush()
    audit.record(session, actor, _event("resolve", reg, objection=objection.id, outcome=objection.state))
    if objection.state == "upheld":
        _move(session, actor, reg, "refused", "objection_upheld", reason, objection=objection.id)
        reg.ended_at = utcnow()
    return objection


def resolve_objection(session: Session, actor: Actor, objection_id: int, data: ResolveIn) -> ObjectionRead:
    """The registrar resolves an objection: upheld (the registration is refused) or dismissed, with
    its reasons either way."""
    return _objection_read(_resolve(session, actor, objection_id, data))


def _next_code(session: Session, year: int) -> str:
    stem = f"{city_prefix()}-DR-{year}-"
    last = session.scalar(select(func.max(AssetRegistration.code)).where(AssetRegistration.code.like(f"{stem}%")))
    number = int(last[len(stem) :]) + 1 if last else 1
    return f"{stem}{number:06d}"


@_refusals_audited("registry.register")
def _register(session: Session, actor: Actor, registration_id: int, on: date | None) -> AssetRegistration:
    reg = _reviewable(session, actor, registration_id, ("public_notice",), "登记赋码")
    today = on or access.beijing_today()
    if reg.notice_until is not None and today <= reg.notice_until:
        raise NoticeNotOver(
            f"公示期至 {reg.notice_until}，期满后（{reg.notice_until + timedelta(days=1)} 起）才能登记赋码"
        )
    open_ = [o.id for o in _objections(session, reg.id) if o.state == "open"]
    if open_:
        raise ObjectionsPending(f"尚有 {len(open_)} 项异议未处理，处理完毕后才能登记赋码")
    prev = session.get(AssetRegistration, reg.previous_id) if reg.previous_id is not None else None
    if prev is not None and prev.state != "registered":
        raise WrongState(f"所变更的登记当前为“{STATES[prev.state]}”，不能再办理{KINDS[reg.kind]}")
    now = utcnow()
    reg.code = _next_code(session, today.year)
    reg.registered_on, reg.registered_at = today, now
    _move(session, actor, reg, "registered", "register", "", code=reg.code, fingerprint=reg.fingerprint)
    if prev is not None and reg.kind in SUPERSEDING:
        prev.ended_at = now
        _move(session, actor, prev, "superseded", "supersede", f"由 {reg.code}（{KINDS[reg.kind]}）变更")
    if reg.kind == "cancellation":
        chain = session.scalars(
            select(AssetRegistration).where(
                AssetRegistration.root_id == reg.root_id, AssetRegistration.state.in_(("registered", "superseded")),
                AssetRegistration.id != reg.id,
            )
        )  # fmt: skip
        for link in chain:
            link.ended_at = now
            _move(session, actor, link, "cancelled", "cancel", f"由 {reg.code} 注销")
    return reg


def register(session: Session, actor: Actor, registration_id: int, *, on: date | None = None) -> RegistrationRead:
    """赋码: the registrar registers an application whose notice is over and whose objections are all
    resolved: it gets its registration code (``{prefix}-DR-{year}-{sequence:06d}``); a change,
    correction or transfer supersedes the registration it amends, a cancellation cancels the chain.
    ``on``: the day of registration (the demo's replay; today in Beijing by default)."""
    return _read(session, actor, _register(session, actor, registration_id, on))


# --- certificates and verification --------------------------------------------------------------


def _status(session: Session, reg: AssetRegistration) -> str:
    root = session.get(AssetRegistration, reg.root_id) if reg.root_id is not None else reg
    if reg.state == "cancelled" or reg.kind == "cancellation" or (root is not None and root.state == "cancelled"):
        return "cancelled"
    if reg.state == "superseded":
        return "superseded"
    return "valid"


def _by_code(session: Session, code: str) -> AssetRegistration:
    text = (code or "").strip().upper()
    reg = (
        session.scalar(select(AssetRegistration).where(AssetRegistration.code == text))
        if CODE_PATTERN.match(text)
        else None
    )
    if reg is None:
        raise RegistrationNotFound(f"登记编号不存在：{code}")
    return reg


def _certificate(session: Session, reg: AssetRegistration) -> Certificate:
    assert reg.code is not None and reg.registered_on is not None
    links = session.scalars(
        select(AssetRegistration)
        .where(AssetRegistration.root_id == reg.root_id, AssetRegistration.code.is_not(None))
        .order_by(AssetRegistration.registered_at, AssetRegistration.id)
    )
    chain = [
        ChainLink(
            id=r.id,
            code=r.code,
            kind=r.kind,
            kind_label=KINDS[r.kind],
            state=r.state,
            state_label=STATES[r.state],
            registered_on=r.registered_on,
            holder_name=r.holder_name,
        )  # fmt: skip
        for r in links
    ]
    status = _status(session, reg)
    entry_code = next((s["entry"] for s in reg.sources if s["entry"]), "")
    with contextlib.suppress(NotFound):
        entry_code = catalog.get_resource(session, SYSTEM, reg.resource_id).entry.code
    filed = session.scalar(
        select(func.count()).select_from(RegistrationObjection).where(RegistrationObjection.registration_id == reg.id)
    )
    return Certificate(
        code=reg.code, kind=reg.kind, kind_label=KINDS[reg.kind], status=status, status_label=VERIFY_STATUSES[status],
        title=reg.title, description=reg.description, subject=reg.subject, subject_label=SUBJECTS[reg.subject],
        product_id=reg.product_id, holder_name=reg.holder_name, holder_uscc=reg.holder_uscc,
        counterparty_name=reg.counterparty_name, counterparty_uscc=reg.counterparty_uscc,
        licence_until=reg.licence_until, rights=list(reg.rights), rights_labels=[RIGHTS[r] for r in reg.rights],
        sources=_sources_read(reg), entry_code=entry_code, version=reg.version, field_names=list(reg.field_names),
        rows=reg.rows, update_frequency=reg.update_frequency, coverage=reg.coverage, scenario=reg.scenario,
        scenario_label=SCENARIOS[reg.scenario], classification=reg.classification,
        classification_label=CLASSIFICATIONS[reg.classification], fingerprint=reg.fingerprint,
        fingerprint_algorithm=fp.ALGORITHM, canonical_form=fp.CANONICAL_FORM, notice_from=reg.notice_from,
        notice_until=reg.notice_until, objections_filed=int(filed or 0), registered_on=reg.registered_on,
        registrar=REGISTRAR, chain=chain, verification_path=VERIFY_PATH.format(code=reg.code),
    )  # fmt: skip


def certificate(session: Session, actor: Actor, code: str) -> Certificate:
    """The certificate's data of a registration code (public): for a page and a PDF."""
    return _certificate(session, _by_code(session, code))


def verify(session: Session, code: str, fingerprint: str | None = None, *, actor: Actor = ANONYMOUS) -> Verification:
    """Public verification: the certificate's public data and its status (valid, superseded by a
    later registration, cancelled — 已注销), and, when a fingerprint is given, whether it matches the
    registered one. Every verification is audited (the code and the outcome; not who holds the data)."""
    reg = _by_code(session, code)
    cert = _certificate(session, reg)
    given = fingerprint.strip().lower() if fingerprint else None
    matches = None if given is None else given == reg.fingerprint
    audit.record_later(session, actor, _event("verify", reg, status=cert.status, matches=matches))
    return Verification(code=cert.code, status=cert.status, status_label=cert.status_label, certificate=cert,
                        fingerprint_given=given, fingerprint_matches=matches, checked_at=utcnow())  # fmt: skip

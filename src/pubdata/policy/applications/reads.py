"""Reading applications (政策通): one application with the claimed facts next to the public ones,
its materials, history and disbursement; the lists (an enterprise's own, a reviewer's queue,
everything for oversight); and what the application form starts from (``prepare_application``).
Visibility is ``policy.applications.may_see``: what an actor may not see is not found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission, require
from pubdata.errors import Invalid, PubdataError
from pubdata.identity import service as identity
from pubdata.policy import service as policies
from pubdata.policy.applications import reviewers
from pubdata.policy.applications.schemas import (
    ApplicationRead,
    ApplicationSummary,
    DisbursementRead,
    EventRead,
    FactComparison,
    MaterialRead,
    RequiredMaterial,
)
from pubdata.policy.applications.workflow import (
    STATE_LABELS,
    allowed_actions,
    beijing_today,
    clause_inputs,
    own_enterprise,
    pack_of,
    public_facts,
    registered_district,
    visible_application,
)
from pubdata.policy.models import (
    PolicyApplication,
    PolicyApplicationEvent,
    PolicyDisbursement,
    PolicyMaterial,
    PolicyNotice,
)
from pubdata.policy.packs.engine import ClauseResult, check_facts, evaluate_clause
from pubdata.policy.packs.pack import Clause, Pack

BOXES = ("mine", "review", "all")


def _summary(session: Session, app: PolicyApplication, names: dict[int, str]) -> ApplicationSummary:
    pack = pack_of(session, app)
    clause = pack.clause(app.clause_id)
    return ApplicationSummary(
        id=app.id,
        pack_id=app.pack_id,
        pack_title=pack.spec.title,
        clause_id=app.clause_id,
        clause_title=clause.title,
        year=app.year,
        organisation_id=app.organisation_id,
        organisation_name=names.get(app.organisation_id, ""),
        uscc=app.uscc,
        registered_district=app.registered_district,
        reviewer_org_id=app.reviewer_org_id,
        reviewer_name=names.get(app.reviewer_org_id, ""),
        state=app.state,
        state_label=STATE_LABELS.get(app.state, app.state),
        computed_amount=app.computed_amount,
        amount_kind=app.amount_kind,
        cap=app.cap,
        approved_amount=app.approved_amount,
        submitted_at=app.submitted_at,
        updated_at=app.updated_at,
    )


def _names(session: Session, actor: Actor, apps: list[PolicyApplication]) -> dict[int, str]:
    ids = {a.organisation_id for a in apps} | {a.reviewer_org_id for a in apps}
    return identity.organisation_names_by_id(session, actor, sorted(ids))


def _status(claimed: Any, public: Any) -> str:
    if public is None:
        return "unknown" if claimed is None else "no_public"
    return "same" if claimed == public else "differs"


def compare_facts(pack: Pack, clause: Clause, app: PolicyApplication) -> list[FactComparison]:
    """The clause's facts, claimed next to public (the facts row at the time of application)."""
    public = app.public_facts or {}
    names = list(dict.fromkeys(clause_inputs(pack, clause) + list(app.claimed_facts)))
    out = []
    for name in names:
        spec = pack.inputs.get(name)
        claimed, known = app.claimed_facts.get(name), public.get(name)
        out.append(
            FactComparison(
                name=name,
                title=spec.title if spec else name,
                type=spec.type if spec else "string",
                unit=spec.unit if spec else None,
                claimed=claimed,
                public=known,
                status=_status(claimed, known),
            )
        )
    return out


def get_application(session: Session, actor: Actor, application_id: int) -> ApplicationRead:
    """One application as its enterprise, its reviewer or oversight sees it."""
    app = visible_application(session, actor, application_id)
    pack = pack_of(session, app)
    clause = pack.clause(app.clause_id)
    rows = list(
        session.scalars(
            select(PolicyMaterial).where(PolicyMaterial.application_id == app.id).order_by(PolicyMaterial.id)
        )
    )
    counts = {label: sum(1 for r in rows if r.label == label) for label in clause.materials}
    events = session.scalars(
        select(PolicyApplicationEvent)
        .where(PolicyApplicationEvent.application_id == app.id)
        .order_by(PolicyApplicationEvent.id)
    )
    paid = session.scalar(select(PolicyDisbursement).where(PolicyDisbursement.application_id == app.id))
    notice_id = session.scalar(select(PolicyNotice.id).where(PolicyNotice.application_id == app.id).limit(1))
    facts = compare_facts(pack, clause, app)
    return ApplicationRead(
        **_summary(session, app, _names(session, actor, [app])).model_dump(),
        claimed_facts=app.claimed_facts,
        public_facts=app.public_facts,
        facts_version=app.facts_version,
        evaluation=app.evaluation,
        note=app.note,
        reason=app.reason,
        facts=facts,
        differences=[f.name for f in facts if f.status == "differs"],
        required_materials=[RequiredMaterial(label=label, provided=n) for label, n in counts.items()],
        missing_materials=[label for label, n in counts.items() if n == 0],
        materials=[MaterialRead.model_validate(r) for r in rows],
        events=[EventRead.model_validate(e) for e in events],
        disbursement=DisbursementRead.model_validate(paid) if paid is not None else None,
        notice_id=notice_id,
        actions=allowed_actions(actor, app),
    )


def default_box(actor: Actor) -> str:
    """What "my applications" means for the actor: everything for oversight, a reviewer's queue,
    otherwise the organisation's own."""
    if actor.can(Permission.POLICY_APPLICATION_READ_ANY):
        return "all"
    if actor.can(Permission.POLICY_APPLICATION_REVIEW) and actor.organisation_id is not None:
        return "review"
    return "mine"


def list_applications(
    session: Session, actor: Actor, *, box: str | None = None, state: str | None = None, limit: int = 500
) -> list[ApplicationSummary]:
    """``mine``: the organisation's applications; ``review``: those routed to the organisation
    (drafts excluded); ``all``: every application (oversight). Newest first."""
    box = box or default_box(actor)
    stmt = select(PolicyApplication)
    if box == "mine":
        if actor.organisation_id is None:
            return []
        stmt = stmt.where(PolicyApplication.organisation_id == actor.organisation_id)
    elif box == "review":
        if not actor.can(Permission.POLICY_APPLICATION_REVIEW) or actor.organisation_id is None:
            return []
        org = actor.organisation_id
        stmt = stmt.where(PolicyApplication.reviewer_org_id == org, PolicyApplication.state != "draft")
    elif box == "all":
        require(actor, Permission.POLICY_APPLICATION_READ_ANY)
    else:
        raise Invalid(f"未知的列表：{box}（mine、review、all）", field="box")
    if state is not None:
        if state not in STATE_LABELS:
            raise Invalid(f"未知的状态：{state}（{'、'.join(STATE_LABELS)}）", field="state")
        stmt = stmt.where(PolicyApplication.state == state)
    apps = list(session.scalars(stmt.order_by(PolicyApplication.id.desc()).limit(limit)))
    names = _names(session, actor, apps)
    return [_summary(session, a, names) for a in apps]


def pending_count(session: Session, actor: Actor) -> int:
    """Applications waiting for the actor's organisation: to decide, or approved and not yet paid."""
    if not actor.can(Permission.POLICY_APPLICATION_REVIEW) or actor.organisation_id is None:
        return 0
    stmt = (
        select(func.count())
        .select_from(PolicyApplication)
        .where(
            PolicyApplication.reviewer_org_id == actor.organisation_id,
            PolicyApplication.state.in_(("submitted", "approved")),
        )
    )
    return session.scalar(stmt) or 0


@dataclass
class ApplyForm:
    """What the application form starts from: the clause, its facts (public values prefilled), the
    materials it lists, where the application would go, and whether one already exists."""

    pack: Pack
    clause: Clause
    inputs: list[str]
    year: int
    public: dict[str, Any] | None
    facts_version: int | None
    district: str | None
    reviewer_name: str | None
    problem: str | None  # why the enterprise cannot apply (registered elsewhere, no reviewer …)
    existing_id: int | None
    preview: ClauseResult | None  # the clause on the public facts
    titles: dict[str, str] = field(default_factory=dict)


def prepare_application(
    session: Session, actor: Actor, pack_id: str, clause_id: str, *, home: Path, year: int | None = None
) -> ApplyForm:
    """The application form for the actor's own enterprise (the right to apply is checked; a reason
    the enterprise cannot apply is reported in ``problem`` rather than raised)."""
    require(actor, Permission.POLICY_APPLICATION_SUBMIT)
    pack = policies.get_pack(actor, pack_id)
    clause = pack.clause(clause_id)
    org = own_enterprise(session, actor)
    public, facts_version, facts_year = public_facts(session, actor, pack, org.uscc, home=home)
    the_year = year or facts_year or beijing_today().year - 1
    district: str | None = None
    reviewer_name: str | None = None
    problem: str | None = None
    try:
        district = registered_district(pack, public, org)
        reviewer_id = reviewers.reviewer_org_for(session, pack.spec.reviewer.department, district)
        reviewer_name = identity.organisation_names_by_id(session, actor, [reviewer_id]).get(reviewer_id)
    except PubdataError as exc:
        problem = exc.message
    existing = session.scalar(
        select(PolicyApplication.id).where(
            PolicyApplication.organisation_id == org.id,
            PolicyApplication.pack_id == pack.id,
            PolicyApplication.clause_id == clause.id,
            PolicyApplication.year == the_year,
        )
    )
    preview = None
    if public is not None:
        try:
            preview = evaluate_clause(pack, clause, check_facts(pack, public, strict=False))
        except PubdataError:
            preview = None
    return ApplyForm(
        pack=pack,
        clause=clause,
        inputs=clause_inputs(pack, clause),
        year=the_year,
        public=public,
        facts_version=facts_version,
        district=district,
        reviewer_name=reviewer_name,
        problem=problem if pack.active_on(beijing_today()) else f"《{pack.spec.title}》不在有效期内，不再受理申报",
        existing_id=existing,
        preview=preview,
        titles={n: s.title for n, s in pack.inputs.items()},
    )

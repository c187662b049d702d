"""Routing applications to their reviewer: "the commerce department of the district where the
enterprise is registered" (注册地所在区（市）商务主管部门) is a row of ``policy_reviewer`` — a duty
(a pack's ``reviewer.department``) and a district, pointing at a department's organisation.

The operator keeps the table (``set_reviewer``: service, CLI ``pubdata policy reviewer set``, API
``PUT /api/v1/policy-reviewers/{district}``); the demo city fills it from its ten district commerce
bureaus. Applications are routed when they are made (``reviewer_org_for``) and keep the reviewer
they were routed to: a later change of the table applies to new applications only. Who reviews
what is public: enterprises should know where their application goes.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.catalog.vocab import DISTRICT_NAMES
from pubdata.db import utcnow
from pubdata.errors import Conflict, Invalid
from pubdata.identity import service as identity
from pubdata.policy.applications.schemas import ReviewerRead
from pubdata.policy.models import PolicyReviewer
from pubdata.policy.packs.pack import DUTY_NAMES

DUTIES = DUTY_NAMES  # a pack's reviewer.department → its name


class ReviewerNotConfigured(Conflict):
    code = "policy.reviewer_not_configured"


class InvalidReviewer(Invalid):
    code = "policy.invalid_reviewer"


def check_duty(duty: str) -> str:
    if duty not in DUTIES:
        raise InvalidReviewer(f"未知的审核职责：{duty}（可用：{'、'.join(DUTIES)}）", field="duty")
    return duty


def check_district(district: str) -> str:
    name = (district or "").strip()
    if name not in DISTRICT_NAMES:
        raise InvalidReviewer(
            f"不是青岛市的区（市）：{district}（应为 {'、'.join(DISTRICT_NAMES)} 之一）", field="district"
        )
    return name


@audit.refusals_audited("policy.reviewer_set", "district", statuses={403, 404, 409, 422})
def set_reviewer(
    session: Session, actor: Actor, district: str, organisation: str, *, duty: str = "commerce"
) -> ReviewerRead:
    """Make the department ``organisation`` (code or id) the reviewer of ``duty`` in ``district``
    (the operator's right). Audited with the previous reviewer."""
    require(actor, Permission.POLICY_REVIEWER_MANAGE)
    duty = check_duty(duty)
    district = check_district(district)
    org = identity.get_organisation(session, actor, organisation)
    if org.kind != "department":
        raise InvalidReviewer(f"审核部门应为政府部门：{org.name}（{org.code}）不是", field="organisation")
    row = session.scalar(select(PolicyReviewer).where(PolicyReviewer.duty == duty, PolicyReviewer.district == district))
    previous = row.organisation_id if row is not None else None
    if row is None:
        row = PolicyReviewer(duty=duty, district=district, organisation_id=org.id)
        session.add(row)
    row.organisation_id = org.id
    row.updated_by = actor.user_id
    row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        audit.Event(
            "policy.reviewer_set",
            publisher_org_id=org.id,
            details={"duty": duty, "district": district, "organisation": org.code, "previous_org_id": previous},
        ),
    )
    return _read(session, actor, row)


def _read(session: Session, actor: Actor, row: PolicyReviewer) -> ReviewerRead:
    org = identity.get_organisation(session, actor, str(row.organisation_id))
    return ReviewerRead(
        duty=row.duty,
        duty_label=DUTIES.get(row.duty, row.duty),
        district=row.district,
        organisation_id=org.id,
        organisation_code=org.code,
        organisation_name=org.name,
        updated_at=row.updated_at,
    )


def list_reviewers(session: Session, actor: Actor, *, duty: str | None = None) -> list[ReviewerRead]:
    """Who reviews which duty in which district, in the districts' usual order (public)."""
    require(actor, Permission.POLICY_PACK_READ)
    stmt = select(PolicyReviewer)
    if duty is not None:
        stmt = stmt.where(PolicyReviewer.duty == check_duty(duty))
    order = {d: i for i, d in enumerate(DISTRICT_NAMES)}
    rows = sorted(session.scalars(stmt), key=lambda r: (r.duty, order.get(r.district, 99)))
    return [_read(session, actor, r) for r in rows]


def reviewer_org_for(session: Session, duty: str, district: str) -> int:
    """The organisation reviewing ``duty`` in ``district``; ``ReviewerNotConfigured`` when the
    operator has not named one (nobody could act on the application)."""
    org_id = session.scalar(
        select(PolicyReviewer.organisation_id).where(PolicyReviewer.duty == duty, PolicyReviewer.district == district)
    )
    if org_id is None:
        raise ReviewerNotConfigured(f"平台尚未配置{district}的{DUTIES.get(duty, duty)}，暂时无法受理申报：请联系运营方")
    return int(org_id)

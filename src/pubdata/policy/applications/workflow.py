"""The application workflow (政策通): an enterprise applies for a clause of a policy; the
application goes to the reviewer of the district where the enterprise is registered (its commerce
department, ``policy.reviewers``), who approves an amount no higher than the cap, rejects, or returns
it for more material; an approved application is disbursed.

States (an explicit machine, ``TRANSITIONS``)::

    draft ──submit──▶ submitted ──approve──▶ approved ──disburse──▶ disbursed
      │                 │  │  └──reject──▶ rejected
      │                 │  └──return──▶ returned ──resubmit──▶ submitted
      └──withdraw──▶ withdrawn ◀──withdraw── (submitted, returned)

An application is made as a *draft* — every check is done then (registered district, eligibility on
the claimed facts, one per organisation, clause and year), so the enterprise learns at once whether it
may apply — and is submitted once every material the clause lists has been uploaded (with ``submit``
at creation when the clause lists none). Drafts and returned applications are the enterprise's to
change: add materials, correct the claimed facts (re-evaluated). Withdrawn and rejected applications
are final: the clause and year stay taken.

Who: an enterprise's users apply for their own organisation (``policy:application:submit``; the
organisation needs its credit code); the reviewing department's users decide the applications routed
to their organisation (``policy:application:review``) and record the payment of those they approved
(``policy:disbursement:create``); the operator and the regulator read every application (not the
materials' bytes). Anyone else: not found. Every transition is a ``PolicyApplicationEvent`` and an
audit record (``publisher_org_id`` is the reviewer, so the bureau's audit view shows its
applications); refused attempts are audited as refusals.

Amounts: ``cap`` is the most a reviewer may approve — the computed amount for fixed and formula
clauses, the 最高不超过 figure for up-to tiers, and for an assessed amount the clause's own ceiling
(its ``cap``, or none: the reviewer sets the amount).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.catalog.vocab import DISTRICT_NAMES
from pubdata.db import utcnow
from pubdata.enterprise import service as enterprise
from pubdata.enterprise.errors import EnterpriseNotFound, FactsNotBuilt
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound
from pubdata.identity import service as identity
from pubdata.policy import service as policies
from pubdata.policy.applications import reviewers
from pubdata.policy.models import (
    PolicyApplication,
    PolicyApplicationEvent,
    PolicyMaterial,
    PolicyNotice,
    PolicyPackVersion,
)
from pubdata.policy.packs.engine import ClauseResult, check_facts, evaluate_clause
from pubdata.policy.packs.pack import Clause, Pack, compile_pack
from pubdata.rules import expr

BEIJING = ZoneInfo("Asia/Shanghai")
FIRST_YEAR = 2000
MAX_MATERIALS = 50  # files per application

STATE_LABELS = {
    "draft": "草稿（待提交）",
    "submitted": "待审核",
    "returned": "退回补充材料",
    "approved": "已核准",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
    "disbursed": "已拨付",
}
ACTION_LABELS = {
    "create": "创建申报",
    "update": "修改申报信息",
    "material": "上传材料",
    "submit": "提交申报",
    "resubmit": "重新提交",
    "approve": "核准",
    "reject": "驳回",
    "return": "退回补充材料",
    "withdraw": "撤回",
    "disburse": "拨付",
}
# action → {from state: to state}
TRANSITIONS: dict[str, dict[str, str]] = {
    "submit": {"draft": "submitted"},
    "resubmit": {"returned": "submitted"},
    "approve": {"submitted": "approved"},
    "reject": {"submitted": "rejected"},
    "return": {"submitted": "returned"},
    "withdraw": {"draft": "withdrawn", "submitted": "withdrawn", "returned": "withdrawn"},
    "disburse": {"approved": "disbursed"},
}
ENTERPRISE_EDITABLE = ("draft", "returned")  # the enterprise may add materials and correct facts
ENTERPRISE_ACTIONS = ("submit", "resubmit", "withdraw")
REVIEW_ACTIONS = ("approve", "reject", "return")


class ApplicationNotFound(NotFound):
    code = "policy.application_not_found"


class MaterialNotFound(NotFound):
    code = "policy.material_not_found"


class WrongState(Conflict):
    code = "policy.application_wrong_state"


class DuplicateApplication(Conflict):
    code = "policy.duplicate_application"


class RegisteredElsewhere(Invalid):
    code = "policy.registered_elsewhere"


class NotEligible(Invalid):
    code = "policy.not_eligible"


class FactsMissing(Invalid):
    code = "policy.facts_missing"


class MaterialsMissing(Invalid):
    code = "policy.materials_missing"


class AmountAboveCap(Invalid):
    code = "policy.amount_above_cap"


class InvalidApplication(Invalid):
    code = "policy.invalid_application"


# --- plumbing -----------------------------------------------------------------------------------------


def refusals_audited(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A refused attempt (no right, not visible, wrong state, bad input) is audited, then raised."""
    return audit.refusals_audited(action, lambda target: "application_id" if isinstance(target, int) else "policy")


def beijing_today() -> date:
    return datetime.now(BEIJING).date()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@lru_cache(maxsize=64)
def _compiled(digest: str, text: str) -> Pack:
    return compile_pack(text)


def pack_of(session: Session, app: PolicyApplication) -> Pack:
    """The pack exactly as it was when the application was made (its recorded text)."""
    version = session.get(PolicyPackVersion, app.pack_version_id)
    assert version is not None
    return _compiled(version.digest, version.text)


def clause_inputs(pack: Pack, clause: Clause) -> list[str]:
    """The facts a clause reads — the reviewer's place first (routing), then its conditions and
    its amount — in order of first use."""
    names: list[str] = [pack.spec.reviewer.of]
    for node in ([pack.applies_when] if pack.applies_when is not None else []) + [clause.when]:
        names += expr.facts_used(node)
    names += clause.amount.facts()
    return [n for n in dict.fromkeys(names) if n in pack.inputs]


def record_step(
    session: Session, actor: Actor, app: PolicyApplication, action: str, to_state: str, *,
    amount: int | None = None, reason: str = "", from_state: str | None = None, **details: Any,
) -> None:  # fmt: skip
    """The history row and the audit record of one step."""
    before = app.state if from_state is None else from_state
    session.add(
        PolicyApplicationEvent(
            application_id=app.id, action=action, from_state=before, to_state=to_state,
            actor_user_id=actor.user_id, actor_org_id=actor.organisation_id, amount=amount, reason=reason,
        )
    )  # fmt: skip
    app.state = to_state
    app.updated_at = utcnow()
    extra = {k: v for k, v in details.items() if v is not None}
    audit.record(
        session,
        actor,
        audit.Event(
            f"policy.{action}",
            reason=reason,
            publisher_org_id=app.reviewer_org_id,
            details={
                "application_id": app.id, "pack": app.pack_id, "clause": app.clause_id, "year": app.year,
                "uscc": app.uscc, "from": before, "to": to_state, "amount": amount, **extra,
            },
        ),
    )  # fmt: skip
    session.flush()


def transition(
    session: Session, actor: Actor, app: PolicyApplication, action: str, *, amount: int | None = None, reason: str = ""
) -> None:
    to_state = TRANSITIONS[action].get(app.state)
    if to_state is None:
        raise WrongState(
            f"申报 #{app.id} 当前状态为“{STATE_LABELS.get(app.state, app.state)}”，不能{ACTION_LABELS[action]}"
        )
    record_step(session, actor, app, action, to_state, amount=amount, reason=reason)


# --- who sees and does what ------------------------------------------------------------------------------


def is_owner(actor: Actor, app: PolicyApplication) -> bool:
    return actor.organisation_id is not None and actor.organisation_id == app.organisation_id


def is_reviewer(actor: Actor, app: PolicyApplication) -> bool:
    return (
        actor.can(Permission.POLICY_APPLICATION_REVIEW)
        and actor.organisation_id is not None
        and actor.organisation_id == app.reviewer_org_id
        and app.state != "draft"
    )


def may_see(actor: Actor, app: PolicyApplication) -> bool:
    """The enterprise its own, the reviewer what was submitted to it, oversight everything."""
    return actor.can(Permission.POLICY_APPLICATION_READ_ANY) or is_owner(actor, app) or is_reviewer(actor, app)


def visible_application(session: Session, actor: Actor, application_id: int) -> PolicyApplication:
    app = session.get(PolicyApplication, application_id)
    if app is None or not may_see(actor, app):
        raise ApplicationNotFound(f"申报不存在：{application_id}")
    return app


def own_application(session: Session, actor: Actor, application_id: int) -> PolicyApplication:
    """An application the actor's enterprise made, for the enterprise's own actions."""
    require(actor, Permission.POLICY_APPLICATION_SUBMIT)
    app = visible_application(session, actor, application_id)
    if not is_owner(actor, app):
        raise Forbidden("只有提出申报的企业可以进行此操作")
    return app


def reviewed_application(session: Session, actor: Actor, application_id: int) -> PolicyApplication:
    """An application routed to the actor's organisation, for the reviewer's decisions."""
    require(actor, Permission.POLICY_APPLICATION_REVIEW)
    app = visible_application(session, actor, application_id)
    if not is_reviewer(actor, app):
        raise Forbidden("只有该申报的审核部门（平台为企业注册地所在区（市）配置的主管部门）可以审核")
    return app


def allowed_actions(actor: Actor, app: PolicyApplication) -> list[str]:
    """What the actor may do with the application now (the portal's forms, the API's hint)."""
    out: list[str] = []
    if is_owner(actor, app) and actor.can(Permission.POLICY_APPLICATION_SUBMIT):
        if app.state in ENTERPRISE_EDITABLE:
            out += ["update", "material"]
        out += [a for a in ENTERPRISE_ACTIONS if app.state in TRANSITIONS[a]]
    if is_reviewer(actor, app):
        out += [a for a in REVIEW_ACTIONS if app.state in TRANSITIONS[a]]
        if actor.can(Permission.POLICY_DISBURSE) and app.state in TRANSITIONS["disburse"]:
            out.append("disburse")
    return out


def may_download(actor: Actor, app: PolicyApplication) -> bool:
    """Materials' bytes: the enterprise and its reviewer only (oversight sees what was uploaded)."""
    return is_owner(actor, app) or is_reviewer(actor, app)


# --- applying ----------------------------------------------------------------------------------------------


def own_enterprise(session: Session, actor: Actor) -> Any:
    if actor.organisation_id is None:
        raise Forbidden("申报需以企业身份提出：当前账号不属于任何机构")
    org = identity.get_organisation(session, actor, str(actor.organisation_id))
    if not org.uscc:
        raise InvalidApplication(f"本机构（{org.name}）没有统一社会信用代码，不能申报政策：请联系运营方补充")
    return org


def public_facts(
    session: Session, actor: Actor, pack: Pack, uscc: str, *, home: Path
) -> tuple[dict[str, Any] | None, int | None, int | None]:
    """The pack's facts from the enterprise's facts-table row (read with the enterprise domain's
    rights and audit): (values, facts version, facts year), or Nones without a row."""
    try:
        row = enterprise.get_facts(session, actor, uscc, home=home)
    except (FactsNotBuilt, EnterpriseNotFound):
        return None, None, None
    values = {name: _jsonable(row.values.get(name)) for name in pack.inputs}
    return values, row.version.number, row.version.year


def registered_district(pack: Pack, public: Mapping[str, Any] | None, org: Any) -> str:
    """Where the enterprise is registered: its public facts row when it says, else the
    organisation's district; refused unless one of Qingdao's ten."""
    place = pack.spec.reviewer.of
    district = (public or {}).get(place) or org.district
    if district is None:
        raise RegisteredElsewhere(
            "无法确定本企业的注册地（公共数据和机构信息中都没有）：只有注册地在青岛市各区（市）的企业可以申报，"
            "请联系运营方补充注册地",
            field=f"claimed_facts.{place}",
        )
    if district not in DISTRICT_NAMES:
        raise RegisteredElsewhere(
            f"本企业注册地为“{district}”，不在青岛市：本政策由企业{pack.reviewing_office}受理，"
            f"只受理注册地在青岛市各区（市）（{'、'.join(DISTRICT_NAMES)}）的企业",
            field=f"claimed_facts.{place}",
        )
    return str(district)


def _claim(
    pack: Pack, clause: Clause, public: Mapping[str, Any] | None, supplied: Mapping[str, Any], district: str
) -> dict[str, Any]:
    """The claimed facts of the clause: what the enterprise states, the rest from its public row."""
    given = check_facts(pack, supplied, strict=True)
    place = pack.spec.reviewer.of
    if given.get(place) is not None and given[place] != district:
        raise RegisteredElsewhere(
            f"申报填写的注册地“{given[place]}”与公共数据记录的注册地“{district}”不一致：本政策由{pack.reviewing_office}"
            "受理，请向注册地申报，或先更正登记信息",
            field=f"claimed_facts.{place}",
        )
    claimed = {}
    for name in clause_inputs(pack, clause):
        value = given[name] if name in given else (public or {}).get(name)
        claimed[name] = _jsonable(value)
    claimed[place] = district
    return claimed


def _evaluate(pack: Pack, clause: Clause, claimed: Mapping[str, Any]) -> ClauseResult:
    """The clause on the claimed facts; refused unless eligible with everything known."""
    result = evaluate_clause(pack, clause, check_facts(pack, claimed, strict=False))
    titles = {n: pack.inputs[n].title for n in pack.inputs}
    if result.eligible is False:
        failed = [line.removeprefix("条件 ✗ ") for line in result.trace if line.startswith("条件 ✗")]
        raise NotEligible(
            f"按申报的事实不符合“{clause.title}”的条件：" + ("；".join(failed) or "条件不成立"),
            details=[{"field": "claimed_facts", "message": line} for line in result.trace],
        )
    if result.missing:
        what = "判断是否符合条件" if result.eligible is None else "计算金额"
        raise FactsMissing(
            f"缺少{what}所需的事实：{'、'.join(titles.get(n, n) for n in result.missing)}（请在申报中填写）",
            details=[{"field": f"claimed_facts.{n}", "message": f"请填写{titles.get(n, n)}"} for n in result.missing],
        )
    return result


def _cap(result: ClauseResult, clause: Clause) -> int | None:
    if result.amount_kind == "assessed":
        return clause.amount.cap
    return result.amount


def _year(year: int | None, facts_year: int | None) -> int:
    this_year = beijing_today().year
    if year is None:
        return facts_year or this_year - 1
    if not FIRST_YEAR <= year <= this_year:
        raise InvalidApplication(f"申报年度应在 {FIRST_YEAR} 至 {this_year} 年之间：{year}", field="year")
    return year


def _duplicate(session: Session, org_id: int, pack_id: str, clause_id: str, year: int) -> PolicyApplication | None:
    return session.scalar(
        select(PolicyApplication).where(
            PolicyApplication.organisation_id == org_id,
            PolicyApplication.pack_id == pack_id,
            PolicyApplication.clause_id == clause_id,
            PolicyApplication.year == year,
        )
    )


def _duplicate_error(first: PolicyApplication, clause: Clause) -> DuplicateApplication:
    return DuplicateApplication(
        f"本企业已申报过{first.year}年度的“{clause.title}”：申报 #{first.id}"
        f"（{STATE_LABELS.get(first.state, first.state)}），同一条款每年只能申报一次",
        details={"application_id": first.id, "state": first.state},
    )


@refusals_audited("policy.apply")
def submit_application(
    session: Session,
    actor: Actor,
    pack_id: str,
    clause_id: str,
    *,
    year: int | None = None,
    claimed_facts: Mapping[str, Any] | None = None,
    note: str = "",
    home: Path,
    submit: bool = False,
) -> PolicyApplication:
    """Apply for a clause for the actor's own enterprise. Checks, in order: the right to apply, the
    pack and clause, the policy in force, the organisation's credit code, the registered district
    (public facts row, else the organisation's; one of the ten, and the claim may not differ), the
    claimed facts' types, eligibility on the claimed facts (facts not claimed come from the public
    row), one application per organisation, clause and year, and a reviewer for the district.
    The application is a draft until ``submit_draft`` (or ``submit=True`` when the clause lists no
    materials); a proactive notice for the clause is linked to it."""
    require(actor, Permission.POLICY_APPLICATION_SUBMIT)
    pack = policies.get_pack(actor, pack_id)
    clause = pack.clause(clause_id)
    if not pack.notifies:
        raise InvalidApplication(f"《{pack.spec.title}》是认定标准，不在政策通申报：认定按主管部门的认定程序办理")
    today = beijing_today()
    if not pack.active_on(today):
        raise InvalidApplication(f"《{pack.spec.title}》不在有效期内（{today}），不再受理申报")
    org = own_enterprise(session, actor)
    public, facts_version, facts_year = public_facts(session, actor, pack, org.uscc, home=home)
    district = registered_district(pack, public, org)
    year = _year(year, facts_year)
    first = _duplicate(session, org.id, pack.id, clause.id, year)
    if first is not None:
        raise _duplicate_error(first, clause)
    claimed = _claim(pack, clause, public, claimed_facts or {}, district)
    result = _evaluate(pack, clause, claimed)
    reviewer_org_id = reviewers.reviewer_org_for(session, pack.spec.reviewer.department, district)
    version = policies.register_version(session, pack)
    app = PolicyApplication(
        pack_id=pack.id, pack_version_id=version.id, clause_id=clause.id, year=year, organisation_id=org.id,
        uscc=org.uscc, registered_district=district, reviewer_org_id=reviewer_org_id, state="draft",
        claimed_facts=claimed, public_facts=public, facts_version=facts_version, evaluation=result.as_dict(),
        computed_amount=result.amount, amount_kind=result.amount_kind, cap=_cap(result, clause),
        note=note.strip(), submitted_by=actor.user_id,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(app)
            session.flush()
    except IntegrityError:  # a concurrent application took the clause and year first
        first = _duplicate(session, org.id, pack.id, clause.id, year)
        if first is None:
            raise
        raise _duplicate_error(first, clause) from None
    notice = session.scalar(
        select(PolicyNotice)
        .where(
            or_(PolicyNotice.organisation_id == org.id, PolicyNotice.uscc == org.uscc),
            PolicyNotice.pack_id == pack.id,
            PolicyNotice.clause_id == clause.id,
            PolicyNotice.application_id.is_(None),
        )
        .order_by(PolicyNotice.id.desc())
        .limit(1)
    )
    if notice is not None:
        notice.application_id = app.id
    record_step(session, actor, app, "create", "draft", from_state="", amount=result.amount,
           notice_id=notice.id if notice else None, facts_version=facts_version)  # fmt: skip
    if submit:
        _submit(session, actor, app, "submit")
    return app


@refusals_audited("policy.update")
def update_claim(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    claimed_facts: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> PolicyApplication:
    """Correct the claimed facts (re-evaluated: still eligible, amount and cap recomputed) or the
    note of a draft or returned application."""
    app = own_application(session, actor, application_id)
    if app.state not in ENTERPRISE_EDITABLE:
        raise WrongState(f"申报当前状态为“{STATE_LABELS[app.state]}”，不能修改")
    changed: list[str] = []
    if claimed_facts is not None:
        pack = pack_of(session, app)
        clause = pack.clause(app.clause_id)
        claimed = _claim(pack, clause, app.public_facts, {**app.claimed_facts, **claimed_facts},
                         app.registered_district)  # fmt: skip
        result = _evaluate(pack, clause, claimed)
        changed = sorted(k for k in claimed if claimed.get(k) != app.claimed_facts.get(k))
        app.claimed_facts = claimed
        app.evaluation = result.as_dict()
        app.computed_amount = result.amount
        app.amount_kind = result.amount_kind
        app.cap = _cap(result, clause)
    if note is not None:
        app.note = note.strip()
    record_step(session, actor, app, "update", app.state, amount=app.computed_amount, changed=changed or None)
    return app


def missing_materials(session: Session, app: PolicyApplication, clause: Clause) -> list[str]:
    provided = set(session.scalars(select(PolicyMaterial.label).where(PolicyMaterial.application_id == app.id)))
    return [label for label in clause.materials if label not in provided]


def _submit(session: Session, actor: Actor, app: PolicyApplication, action: str) -> None:
    clause = pack_of(session, app).clause(app.clause_id)
    missing = missing_materials(session, app, clause)
    if missing:
        raise MaterialsMissing(
            f"还缺少 {len(missing)} 项申报材料：{'、'.join(missing)}（每项至少上传一个文件后才能提交）",
            details=[{"field": "materials", "message": m} for m in missing],
        )
    transition(session, actor, app, action)
    app.submitted_at = utcnow()


@refusals_audited("policy.submit")
def submit_draft(session: Session, actor: Actor, application_id: int) -> PolicyApplication:
    """Send a draft to its reviewer: every listed material must be there."""
    app = own_application(session, actor, application_id)
    _submit(session, actor, app, "submit")
    return app


@refusals_audited("policy.resubmit")
def resubmit_application(session: Session, actor: Actor, application_id: int) -> PolicyApplication:
    """Send a returned application back to its reviewer (materials added, facts corrected)."""
    app = own_application(session, actor, application_id)
    _submit(session, actor, app, "resubmit")
    return app


@refusals_audited("policy.withdraw")
def withdraw_application(session: Session, actor: Actor, application_id: int, reason: str = "") -> PolicyApplication:
    """The enterprise takes its application back before a decision (final for the clause and year)."""
    app = own_application(session, actor, application_id)
    transition(session, actor, app, "withdraw", reason=reason.strip())
    return app

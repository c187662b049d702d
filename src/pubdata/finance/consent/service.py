"""Consents (授权): an enterprise authorises a named bank, admitted to the finance zone, to read
chosen sections of its credit report for a stated purpose until a date; it may revoke the consent
at once. A bank reads a report only under a live consent (not revoked, not past its last day,
covering every section read): ``authorise_report`` is the one check every path that shows a report
calls, and ``record_report_read`` audits the read with the enterprise as the owner of the data, so
the enterprise sees every read in its own audit view and on the consent page (``consent_uses``).
Refusals are audited too."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.access import zones
from pubdata.access.service import beijing_today
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.db import utcnow
from pubdata.finance.consent.errors import (
    ConsentNotFound,
    ConsentRequired,
    ConsentRevoked,
    InvalidConsent,
    UnknownBank,
)
from pubdata.finance.consent.models import FinanceConsent
from pubdata.finance.consent.schemas import (
    MAX_DAYS,
    PURPOSES,
    SECTIONS,
    ConsentCreate,
    ConsentRead,
    ConsentStatus,
    ConsentUse,
)
from pubdata.identity import service as identity
from pubdata.identity.errors import OrganisationNotFound
from pubdata.identity.schemas import OrganisationRead

FINANCE_ZONE = "finance"
READ_ACTION = "credit.report_read"


def status_of(consent: FinanceConsent) -> ConsentStatus:
    if consent.revoked_at is not None:
        return "revoked"
    return "live" if beijing_today() <= consent.expires_on else "expired"


def _read(session: Session, actor: Actor, consents: list[FinanceConsent]) -> list[ConsentRead]:
    orgs = identity.organisations_by_id(
        session, actor, {c.bank_org_id for c in consents} | {c.enterprise_org_id for c in consents}
    )
    return [
        ConsentRead(
            id=c.id, uscc=c.uscc, enterprise=orgs[c.enterprise_org_id].name, bank_code=orgs[c.bank_org_id].code,
            bank=orgs[c.bank_org_id].name, sections=list(c.sections),
            section_labels=[SECTIONS[s].label for s in c.sections if s in SECTIONS], purpose=c.purpose,
            purpose_label=PURPOSES.get(c.purpose, c.purpose), purpose_note=c.purpose_note, expires_on=c.expires_on,
            granted_at=c.granted_at, revoked_at=c.revoked_at, revoke_reason=c.revoke_reason, status=status_of(c),
        )
        for c in consents
    ]  # fmt: skip


def _own_enterprise(session: Session, actor: Actor) -> tuple[int, str]:
    org = identity.own_organisation(session, actor)
    if org is None or not org.uscc:
        raise InvalidConsent("只有登记了统一社会信用代码的企业才能授权银行查询本企业信用报告")
    return org.id, org.uscc


def is_zone_bank(session: Session, organisation_id: int | None, kind: str | None) -> bool:
    """Whether an organisation is a bank admitted to the finance zone: the banks consents name, and
    the banks that publish loan products and work applications."""
    if organisation_id is None or kind != "bank":
        return False
    zone = zones.get_zone(session, FINANCE_ZONE)
    return zones.membership_state(session, zone.id, organisation_id) == "admitted"


def _admitted_bank(session: Session, actor: Actor, code: str) -> int:
    try:
        bank = identity.get_organisation(session, actor, code.strip())
    except OrganisationNotFound:
        bank = None
    if bank is None or not is_zone_bank(session, bank.id, bank.kind):
        raise UnknownBank(f"银行不存在或未入驻金融专区：{code}", field="bank")
    return bank.id


def admitted_banks(session: Session, actor: Actor) -> list[OrganisationRead]:
    """The banks a consent may name: organisations of kind bank admitted to the finance zone."""
    banks = identity.list_organisations(session, actor, kind="bank")
    return [OrganisationRead.model_validate(b) for b in banks if is_zone_bank(session, b.id, b.kind)]


def _check(data: ConsentCreate) -> None:
    problems = []
    unknown = [s for s in data.sections if s not in SECTIONS]
    if unknown:
        problems.append({"field": "sections", "message": f"未知的报告部分：{'、'.join(unknown)}"})
    if len(set(data.sections)) != len(data.sections):
        problems.append({"field": "sections", "message": "报告部分重复"})
    if data.purpose not in PURPOSES:
        problems.append({"field": "purpose", "message": f"未知的用途：{data.purpose}"})
    today = beijing_today()
    if data.expires_on < today:
        problems.append({"field": "expires_on", "message": f"授权截止日期已过：{data.expires_on}"})
    elif data.expires_on > today + timedelta(days=MAX_DAYS):
        problems.append(
            {"field": "expires_on", "message": f"授权期限最长一年（至 {today + timedelta(days=MAX_DAYS)}）"}
        )
    if problems:
        raise InvalidConsent("；".join(p["message"] for p in problems), details=problems)


@audit.refusals_audited("consent.grant", "bank")
def _grant(session: Session, actor: Actor, bank: str, data: ConsentCreate) -> FinanceConsent:
    require(actor, Permission.FINANCE_CONSENT_GRANT)
    enterprise_org_id, uscc = _own_enterprise(session, actor)
    _check(data)
    bank_org_id = _admitted_bank(session, actor, bank)
    consent = FinanceConsent(
        uscc=uscc,
        enterprise_org_id=enterprise_org_id,
        bank_org_id=bank_org_id,
        sections=list(data.sections),
        purpose=data.purpose,
        purpose_note=data.purpose_note.strip(),
        expires_on=data.expires_on,
        granted_by=actor.user_id,
        granted_at=utcnow(),
    )
    session.add(consent)
    session.flush()
    audit.record(
        session,
        actor,
        audit.Event(
            "consent.grant",
            publisher_org_id=enterprise_org_id,
            details={"consent": consent.id, "uscc": uscc, "bank": bank_org_id, "sections": list(data.sections),
                     "purpose": data.purpose, "expires_on": data.expires_on.isoformat()},
        ),
    )  # fmt: skip
    return consent


def grant_consent(session: Session, actor: Actor, data: ConsentCreate) -> ConsentRead:
    """The actor's enterprise authorises the bank ``data.bank`` (an organisation of kind bank,
    admitted to the finance zone) to read the listed sections of its credit report for the purpose
    until ``expires_on`` (Beijing day, inclusive; today at the earliest, one year ahead at most).
    Every problem of the request is named at once; refusals are audited."""
    return _read(session, actor, [_grant(session, actor, data.bank, data)])[0]


def _visible(session: Session, actor: Actor, consent_id: int) -> FinanceConsent:
    consent = session.get(FinanceConsent, consent_id)
    if consent is None or not (
        actor.can(Permission.FINANCE_CONSENT_READ_ANY)
        or actor.organisation_id in (consent.enterprise_org_id, consent.bank_org_id)
    ):
        raise ConsentNotFound(f"授权不存在：{consent_id}")
    return consent


def get_consent(session: Session, actor: Actor, consent_id: int) -> ConsentRead:
    """One consent: the enterprise that gave it, the bank it names, and the oversight roles."""
    require(actor, Permission.FINANCE_CONSENT_READ)
    return _read(session, actor, [_visible(session, actor, consent_id)])[0]


@audit.refusals_audited("consent.revoke", "consent")
def revoke_consent(session: Session, actor: Actor, consent_id: int, reason: str = "") -> ConsentRead:
    """The enterprise withdraws a consent at once: from now on its bank reads nothing under it.
    Only the enterprise that gave it; a consent already revoked is a conflict (expired ones may
    still be revoked, to say so)."""
    require(actor, Permission.FINANCE_CONSENT_GRANT)
    consent = session.get(FinanceConsent, consent_id)
    if consent is None or consent.enterprise_org_id != actor.organisation_id:
        raise ConsentNotFound(f"授权不存在：{consent_id}")
    if consent.revoked_at is not None:
        raise ConsentRevoked(f"该授权已于 {consent.revoked_at:%Y-%m-%d %H:%M} 撤销")
    consent.revoked_at = utcnow()
    consent.revoked_by = actor.user_id
    consent.revoke_reason = reason.strip()[:500]
    session.flush()
    audit.record(
        session,
        actor,
        audit.Event("consent.revoke", reason=consent.revoke_reason, publisher_org_id=consent.enterprise_org_id,
                    details={"consent": consent.id, "uscc": consent.uscc, "bank": consent.bank_org_id}),
    )  # fmt: skip
    return _read(session, actor, [consent])[0]


def list_consents(session: Session, actor: Actor, *, uscc: str | None = None) -> list[ConsentRead]:
    """Consents the actor may see, newest first: an enterprise those it gave, a bank those naming it,
    the operator and the regulator all (``uscc`` narrows to one enterprise)."""
    require(actor, Permission.FINANCE_CONSENT_READ)
    stmt = select(FinanceConsent)
    if not actor.can(Permission.FINANCE_CONSENT_READ_ANY):
        if actor.organisation_id is None:
            return []
        org = actor.organisation_id
        stmt = stmt.where((FinanceConsent.enterprise_org_id == org) | (FinanceConsent.bank_org_id == org))
    if uscc is not None:
        stmt = stmt.where(FinanceConsent.uscc == uscc.strip().upper())
    return _read(session, actor, list(session.scalars(stmt.order_by(FinanceConsent.id.desc()))))


def live_consent(session: Session, bank_org_id: int, uscc: str, sections: Iterable[str]) -> FinanceConsent | None:
    """The bank's live consent from the enterprise covering every one of ``sections`` (the one
    expiring last), or None."""
    wanted = set(sections)
    rows = session.scalars(
        select(FinanceConsent)
        .where(
            FinanceConsent.bank_org_id == bank_org_id,
            FinanceConsent.uscc == uscc,
            FinanceConsent.revoked_at.is_(None),
            FinanceConsent.expires_on >= beijing_today(),
        )
        .order_by(FinanceConsent.expires_on.desc(), FinanceConsent.id.desc())
    )
    return next((c for c in rows if wanted <= set(c.sections)), None)


def consent_for_loan(
    session: Session, actor: Actor, consent_id: int, bank_org_id: int, sections: Iterable[str]
) -> FinanceConsent:
    """The actor's own live consent ``consent_id``, checked to name the bank and cover the sections a
    loan application needs; ``InvalidConsent`` naming what is wrong otherwise."""
    consent = session.get(FinanceConsent, consent_id)
    if consent is None or consent.enterprise_org_id != actor.organisation_id:
        raise InvalidConsent(f"本企业没有编号为 {consent_id} 的授权", field="consent_id")
    problems = []
    if status_of(consent) != "live":
        problems.append("该授权已撤销" if consent.revoked_at is not None else f"该授权已于 {consent.expires_on} 到期")
    if consent.bank_org_id != bank_org_id:
        problems.append("该授权不是给这家银行的")
    lacking = [SECTIONS[s].label for s in sections if s not in consent.sections]
    if lacking:
        problems.append(f"该授权未包含贷款产品要求的报告部分：{'、'.join(lacking)}")
    if problems:
        raise InvalidConsent("；".join(problems), field="consent_id")
    return consent


def authorise_report(session: Session, actor: Actor, uscc: str, sections: Iterable[str]) -> FinanceConsent:
    """The one check before a bank sees any part of an enterprise's credit report: a live consent of
    that enterprise naming the actor's bank and covering every section. Raises ``ConsentRequired``
    (403, audited as a refused ``credit.report_read``) otherwise; nothing of the report is read
    before this passes."""
    code = uscc.strip().upper()
    wanted = list(dict.fromkeys(sections))
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        raise InvalidConsent(f"未知的报告部分：{'、'.join(unknown)}", field="sections")
    consent = None
    if actor.can(Permission.FINANCE_REPORT_READ) and actor.organisation_id is not None:
        consent = live_consent(session, actor.organisation_id, code, wanted)
    if consent is None:
        reason = f"没有该企业有效的授权：{code}（{'、'.join(SECTIONS[s].label for s in wanted)}）"
        owner = identity.organisation_ids_by_uscc(session, [code]).get(code)
        event = audit.Event(
            READ_ACTION, reason=reason, publisher_org_id=owner, details={"uscc": code, "sections": wanted}
        )
        audit.refuse(session, actor, event)
        require(actor, Permission.FINANCE_REPORT_READ)  # 401 for the public, 403 for others without the right
        raise ConsentRequired(reason)
    return consent


def record_report_read(session: Session, actor: Actor, consent: FinanceConsent, sections: Iterable[str]) -> None:
    """Audit a read of the report under ``consent``: owned by the enterprise, so it appears in its
    audit view and among the consent's uses."""
    audit.record_later(
        session,
        actor,
        audit.Event(
            READ_ACTION, rows=1, publisher_org_id=consent.enterprise_org_id,
            details={"consent": consent.id, "uscc": consent.uscc, "sections": list(sections),
                     "purpose": consent.purpose},
        ),
    )  # fmt: skip


def consent_uses(session: Session, actor: Actor, consent_id: int, *, limit: int = 200) -> list[ConsentUse]:
    """The reads of the report under this consent, newest first, as the audit trail holds them (with
    the refused attempts of its bank): for the enterprise that gave it, the bank it names and the
    regulator; each sees what its audit view holds."""
    require(actor, Permission.FINANCE_CONSENT_READ)
    consent = _visible(session, actor, consent_id)
    query = audit.AuditQuery(action=READ_ACTION, publisher_org_id=consent.enterprise_org_id, limit=5000)
    _, records = audit.search(session, actor, query)
    uses = [
        ConsentUse(
            at=r.at, consent_id=(r.details or {}).get("consent"), reader=r.actor_name, reader_org_id=r.actor_org_id,
            result=r.result, sections=list((r.details or {}).get("sections") or []), reason=r.reason,
        )
        for r in records
        if (r.details or {}).get("consent") == consent.id
        or (r.result == audit.REFUSED and r.actor_org_id == consent.bank_org_id)
    ]  # fmt: skip
    return uses[:limit]

"""The credit report (信用报告) a bank reads under an enterprise's consent, and the enterprise reads
about itself.

``credit_report`` is the only way to the report:

* a **bank** (``finance:report:read``): ``authorise_report`` first — a live consent of that enterprise
  naming the bank and covering every section asked for (``None``: every section the live consent
  covers) — and nothing of the report is read before it passes. The bank holds no facts or score
  permission, so the sections are read *as the system on the report's behalf* (``SYSTEM``): the
  consented sections' facts from the enterprise facts table, and for ``score`` the expert score,
  grade and reasons. The read is audited with ``record_report_read`` (owned by the enterprise, so it
  shows among the consent's uses);
* the **enterprise's own users**: their own full report (or the sections asked for), read with their
  own rights and audited as usual (``facts.read``, ``credit.read``);
* **everyone else** (other enterprises, departments, the operator, the regulator, the public): refused
  as consent refuses (401 for the public, 403 otherwise), and the refusal is audited.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor, Permission
from pubdata.db import utcnow
from pubdata.enterprise import service as enterprise
from pubdata.finance import service as scores
from pubdata.finance.consent import service as consents
from pubdata.finance.consent.errors import InvalidConsent
from pubdata.finance.consent.schemas import PURPOSES, SECTIONS
from pubdata.finance.errors import ScoreNotFound, ScoresNotRun
from pubdata.finance.schemas import CreditScoreRead

ReportValue = str | int | float | bool | None


class ReportFact(BaseModel):
    """One fact of a report section: what it is, its value, unit and meaning."""

    name: str
    title: str
    value: ReportValue = Field(description="the value in the facts table (None: unknown)")
    value_text: str = Field(description="the value as shown to a reader, in Chinese")
    unit: str
    meaning: str


class ReportSection(BaseModel):
    code: str
    label: str
    facts: list[ReportFact] = Field(default_factory=list)
    score: CreditScoreRead | None = Field(default=None, description="the score section: the expert score")
    note: str = Field(default="", description="why a part of the section is not available")


class ReportConsent(BaseModel):
    """The consent a bank read the report under."""

    id: int
    bank_org_id: int
    sections: list[str]
    purpose: str
    purpose_label: str
    expires_on: date


class CreditReportRead(BaseModel):
    """An enterprise's credit report: the sections the reader may see, each with its facts (and for
    ``score`` the expert score, grade and reasons)."""

    uscc: str
    name: str | None
    reader: Literal["bank", "enterprise"] = Field(description="bank: read under consent; enterprise: its own")
    consent: ReportConsent | None = Field(default=None, description="the consent a bank read under")
    facts_version: int
    facts_year: int
    generated_at: datetime
    sections: list[ReportSection]


def value_text(value: Any, type_: str, unit: str) -> str:
    """A fact's value for a reader: 是/否, money in 元/万元/亿元, dates, numbers with their unit."""
    if value is None:
        return "未知"
    if isinstance(value, bool) or type_ == "boolean":
        return "是" if value else "否"
    if type_ == "money":
        d = Decimal(str(value))
        for word, size in (("亿", Decimal(100_000_000)), ("万", Decimal(10_000))):
            if abs(d) >= size:
                return f"{(d / size).quantize(Decimal('0.01')).normalize():,f}{word}元"
        return f"{d.normalize():,f}元"
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
        return f"{text}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def _json(value: Any) -> ReportValue:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value  # type: ignore[no-any-return]


def _wanted(sections: list[str] | None) -> list[str] | None:
    if sections is None:
        return None
    wanted = list(dict.fromkeys(s.strip() for s in sections if s.strip()))
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        raise InvalidConsent(f"未知的报告部分：{'、'.join(unknown)}", field="sections")
    if not wanted:
        return None
    return wanted


def _is_bank_reader(actor: Actor) -> bool:
    return actor.can(Permission.FINANCE_REPORT_READ) and actor.organisation_id is not None


def _is_own(session: Session, actor: Actor, code: str) -> bool:
    return (
        actor.organisation_id is not None
        and actor.can(Permission.FINANCE_SCORE_READ)
        and enterprise.own_uscc(session, actor) == code
    )


def credit_report(
    session: Session, actor: Actor, uscc: str, sections: list[str] | None, *, home: Path
) -> CreditReportRead:
    """The enterprise's credit report for ``actor`` (see the module's description): a bank only under
    a live consent covering every section asked for (``None``: the sections its live consent covers),
    each read audited and visible to the enterprise; the enterprise's own users their full report;
    anyone else refused (``ConsentRequired`` 403, ``Forbidden``, ``Unauthenticated``), audited.
    Unknown section codes are ``InvalidConsent`` (422)."""
    code = uscc.strip().upper()
    wanted = _wanted(sections)
    if _is_bank_reader(actor):
        if wanted is None:  # the sections of the live consent, if there is one; nothing is read yet
            live = consents.live_consent(session, actor.organisation_id or 0, code, [])
            wanted = list(live.sections) if live is not None else list(SECTIONS)
        consent = consents.authorise_report(session, actor, code, wanted)  # the one check, first
        report = _build(session, SYSTEM, code, wanted, home=home, kind="bank")  # on the report's behalf
        report.consent = ReportConsent(
            id=consent.id, bank_org_id=consent.bank_org_id, sections=list(consent.sections), purpose=consent.purpose,
            purpose_label=PURPOSES.get(consent.purpose, consent.purpose), expires_on=consent.expires_on,
        )  # fmt: skip
        consents.record_report_read(session, actor, consent, wanted)
        return report
    if _is_own(session, actor, code):
        return _build(session, actor, code, wanted or list(SECTIONS), home=home, kind="enterprise")
    # nobody else: refused as consent refuses (audited; 401 for the public, 403 for the others)
    consents.authorise_report(session, actor, code, wanted or list(SECTIONS))
    raise AssertionError("authorise_report lets no reader without the report right through")  # pragma: no cover


def _build(
    session: Session,
    reader: Actor,
    code: str,
    wanted: list[str],
    *,
    home: Path,
    kind: Literal["bank", "enterprise"],
) -> CreditReportRead:
    facts = enterprise.get_facts(session, reader, code, home=home)  # the reader's right, or the system's
    catalogue = {f.name: f for f in facts.facts}
    out: list[ReportSection] = []
    for key in SECTIONS:  # the report's own order, whatever the order asked
        if key not in wanted:
            continue
        section = SECTIONS[key]
        rows = [
            ReportFact(
                name=name, title=catalogue[name].title, value=_json(facts.values.get(name)),
                value_text=value_text(facts.values.get(name), catalogue[name].type, catalogue[name].unit),
                unit=catalogue[name].unit, meaning=catalogue[name].meaning,
            )
            for name in section.facts
            if name in catalogue
        ]  # fmt: skip
        part = ReportSection(code=key, label=section.label, facts=rows)
        if key == "score":
            try:
                part.score = scores.score_enterprise(session, reader, code, home=home)
            except ScoresNotRun:
                part.note = "平台尚未完成信用评分"
            except ScoreNotFound:
                part.note = "最近一次信用评分中没有该企业"
        out.append(part)
    return CreditReportRead(
        uscc=code, name=facts.name, reader=kind, facts_version=facts.version.number, facts_year=facts.version.year,
        generated_at=utcnow(), sections=out,
    )  # fmt: skip

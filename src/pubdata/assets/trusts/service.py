"""Data trusts (数据信托, issue 13 §7; docs/trusts.md).

A settlor (an organisation holding registered data assets) entrusts them to a trustee (a licensed
trust company: an organisation of a ``TRUSTEE_KINDS`` kind) for beneficiaries whose exact shares
sum to one, for a term and a fee (a rate in basis points of the gross, or a fixed amount per
distribution). States: draft → active (the operator approves) → ended (term over or terminated
with a reason). Only drafts are edited.

``distribute`` pays out what the trust's clearing account holds: gross → the trustee's fee → the
beneficiaries pro rata (``ledger.allocate.split``, the rounding remainder to the one flagged
beneficiary), posted as one balanced ledger entry under the caller's reference — idempotent: the
same reference and amount return the distribution first made and write nothing.

Who: the settlor's organisation (its users with ``TRUST_MANAGE``) or the operator creates and edits
drafts; the operator (``TRUST_REVIEW``) or the system approves, terminates and
distributes; the settlor's, trustee's and beneficiaries' organisations and the oversight roles
(``LEDGER_READ_ANY``) read a trust; it is not found for everyone else. Every write and every refused
write is audited (the refusal kept although the request rolls back); a refused write writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.errors import RegistrationNotFound
from pubdata.assets.trusts.errors import (
    AssetAlreadyEntrusted,
    AssetNotHeld,
    AssetNotRegistered,
    CodeTaken,
    DistributionConflict,
    InsufficientFunds,
    InvalidDistribution,
    InvalidFee,
    InvalidShares,
    InvalidTerm,
    InvalidTrust,
    InvalidTrustee,
    NotSettlor,
    OutsideTerm,
    TrustNotFound,
    WrongState,
)
from pubdata.assets.trusts.models import AssetTrust, AssetTrustAsset, AssetTrustBeneficiary, AssetTrustDistribution
from pubdata.assets.trusts.schemas import (
    MAX_ASSETS,
    MAX_BENEFICIARIES,
    MAX_FEE_RATE_BP,
    PURPOSES,
    STATES,
    TRUSTEE_KINDS,
    BeneficiaryIn,
    BeneficiaryRead,
    DistributionPart,
    DistributionRead,
    TrustIn,
    TrustRead,
)
from pubdata.audit import service as audit
from pubdata.authz import SYSTEM, Actor, Permission, require, require_any
from pubdata.db import utcnow
from pubdata.identity import service as identity
from pubdata.ledger import allocate
from pubdata.ledger import service as ledger
from pubdata.ledger.errors import PostingConflict
from pubdata.ledger.schemas import MAX_LINE_FEN, Posting

# the kinds of registration that register the asset itself (a licence or a cancellation does not)
ASSET_KINDS = ("initial", "change", "correction", "transfer")
LEDGER_KIND = "trust_distribution"
MAX_REFERENCE = 128
# the order in which problems choose the error's class (the message names them all)
_ORDER = (InvalidTrust, InvalidTrustee, InvalidShares, InvalidFee, InvalidTerm, AssetNotRegistered, AssetNotHeld,
          AssetAlreadyEntrusted)  # fmt: skip


def _refusals_audited(action: str, key: str = "trust") -> Any:
    return audit.refusals_audited(action, key)


def clearing_code(trust_id: int) -> str:
    """The code of a trust's clearing account (a liability: what the market holds for the trust,
    credited by the settlement of products built on its assets, debited by distributions)."""
    return f"trust:{trust_id}:clearing"


# --- reading ------------------------------------------------------------------------------------


def _oversight(actor: Actor) -> bool:
    return actor.can(Permission.LEDGER_READ_ANY) or actor.can(Permission.TRUST_REVIEW)


def _parts(session: Session, model: Any, trust_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The rows of ``model`` (a trust's beneficiaries or assets) per trust, in their order."""
    out: dict[int, list[Any]] = {i: [] for i in trust_ids}
    if trust_ids:
        rows = session.scalars(
            select(model).where(model.trust_id.in_(list(trust_ids))).order_by(model.trust_id, model.position)
        )
        for row in rows:
            out[row.trust_id].append(row)
    return out


def _beneficiaries(session: Session, trust_ids: Sequence[int]) -> dict[int, list[AssetTrustBeneficiary]]:
    return _parts(session, AssetTrustBeneficiary, trust_ids)


def _assets(session: Session, trust_ids: Sequence[int]) -> dict[int, list[str]]:
    return {i: [a.registration_code for a in rows] for i, rows in _parts(session, AssetTrustAsset, trust_ids).items()}


def _may_read(actor: Actor, trust: AssetTrust, beneficiaries: list[AssetTrustBeneficiary]) -> bool:
    if _oversight(actor):
        return True
    org = actor.organisation_id
    return org is not None and (
        org in (trust.settlor_org_id, trust.trustee_org_id) or any(b.organisation_id == org for b in beneficiaries)
    )


def _reads(session: Session, actor: Actor, trusts: Sequence[AssetTrust]) -> list[TrustRead]:
    ids = [t.id for t in trusts]
    bens, assets = _beneficiaries(session, ids), _assets(session, ids)
    org_ids = {t.settlor_org_id for t in trusts} | {t.trustee_org_id for t in trusts}
    org_ids |= {b.organisation_id for rows in bens.values() for b in rows}
    orgs = identity.organisations_by_id(session, actor, org_ids)

    def name(org_id: int) -> str:
        org = orgs.get(org_id)
        return org.name if org is not None else str(org_id)

    return [
        TrustRead(
            id=t.id,
            code=t.code,
            title=t.title,
            description=t.description,
            settlor_org_id=t.settlor_org_id,
            settlor=name(t.settlor_org_id),
            trustee_org_id=t.trustee_org_id,
            trustee=name(t.trustee_org_id),
            purpose=t.purpose,
            purpose_label=PURPOSES[t.purpose],
            fee_rate_bp=t.fee_rate_bp,
            fee_fixed_fen=t.fee_fixed_fen,
            term_start=t.term_start,
            term_end=t.term_end,
            state=t.state,
            state_label=STATES[t.state],
            version=t.version,
            ledger_account_code=clearing_code(t.id) if t.ledger_account_id is not None else None,
            beneficiaries=[
                BeneficiaryRead(
                    organisation_id=b.organisation_id,
                    organisation=name(b.organisation_id),
                    numerator=b.numerator,
                    denominator=b.denominator,
                    share=f"{b.numerator}/{b.denominator}",
                    remainder=b.remainder,
                )
                for b in bens[t.id]
            ],
            assets=assets[t.id],
            created_by=t.created_by,
            created_at=t.created_at,
            updated_at=t.updated_at,
            approved_by=t.approved_by,
            approved_at=t.approved_at,
            ended_at=t.ended_at,
            end_reason=t.end_reason,
        )  # fmt: skip
        for t in trusts
    ]


def _visible(session: Session, actor: Actor, trust_id: int) -> AssetTrust:
    trust = session.get(AssetTrust, trust_id) if ledger.is_fen(trust_id) else None
    if trust is None or not _may_read(actor, trust, _beneficiaries(session, [trust.id])[trust.id]):
        raise TrustNotFound(f"数据信托不存在：{trust_id}")
    return trust


def get_trust(session: Session, actor: Actor, trust_id: int) -> TrustRead:
    """A trust with its beneficiaries and assets: for its settlor's, trustee's and beneficiaries'
    organisations and the oversight roles; not found for everyone else."""
    return _reads(session, actor, [_visible(session, actor, trust_id)])[0]


def list_trusts(session: Session, actor: Actor, *, state: str | None = None) -> list[TrustRead]:
    """The trusts the actor may read (every trust for the oversight roles), optionally in one state."""
    stmt = select(AssetTrust)
    if not _oversight(actor):
        org = actor.organisation_id
        if org is None:
            return []
        as_beneficiary = select(AssetTrustBeneficiary.trust_id).where(AssetTrustBeneficiary.organisation_id == org)
        stmt = stmt.where(
            (AssetTrust.settlor_org_id == org) | (AssetTrust.trustee_org_id == org) | AssetTrust.id.in_(as_beneficiary)
        )
    if state is not None:
        stmt = stmt.where(AssetTrust.state == state)
    return _reads(session, actor, list(session.scalars(stmt.order_by(AssetTrust.id).limit(1000))))


def list_distributions(session: Session, actor: Actor, trust_id: int) -> list[DistributionRead]:
    """A trust's distributions in the order made (for whoever may read the trust)."""
    trust = _visible(session, actor, trust_id)
    rows = session.scalars(
        select(AssetTrustDistribution)
        .where(AssetTrustDistribution.trust_id == trust.id)
        .order_by(AssetTrustDistribution.id)
    )
    return [_distribution_read(d) for d in rows]


# --- checking a trust ---------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[type[InvalidTrust], str, str]] = []

    def add(self, kind: type[InvalidTrust], field: str, message: str) -> None:
        self.items.append((kind, field, message))

    def raise_any(self) -> None:
        if not self.items:
            return
        kinds = {k for k, _, _ in self.items}
        first = next(k for k in _ORDER if k in kinds)
        raise first(
            "；".join(m for _, _, m in self.items), details=[{"field": f, "message": m} for _, f, m in self.items]
        )


def _check_shares(session: Session, actor: Actor, data: TrustIn, problems: _Problems) -> None:
    bens = data.beneficiaries
    if not bens:
        problems.add(InvalidShares, "beneficiaries", "至少要有一位受益人")
        return
    if len(bens) > MAX_BENEFICIARIES:
        problems.add(InvalidShares, "beneficiaries", f"受益人至多 {MAX_BENEFICIARIES} 位，实有 {len(bens)} 位")
    ids = [b.organisation_id for b in bens]
    known = identity.organisations_by_id(session, actor, set(ids))
    for n, b in enumerate(bens, 1):
        if b.organisation_id not in known:
            message = f"第 {n} 位受益人机构不存在：{b.organisation_id}"
            problems.add(InvalidShares, f"beneficiaries[{n}].organisation_id", message)
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        names = "、".join(known[i].name if i in known else str(i) for i in duplicates)
        problems.add(InvalidShares, "beneficiaries", f"受益人重复：{names}")
    total = Fraction(0)
    positive = True
    for n, b in enumerate(bens, 1):
        if b.numerator <= 0 or b.denominator <= 0:
            positive = False
            problems.add(
                InvalidShares, f"beneficiaries[{n}].share",
                f"第 {n} 位受益人的份额必须大于零（分子、分母都为正整数）：{b.numerator}/{b.denominator}",
            )  # fmt: skip
        else:
            total += Fraction(b.numerator, b.denominator)
    if positive and total != 1:
        problems.add(InvalidShares, "beneficiaries", f"受益人份额之和必须恰好为 1，实为 {total}")
    flagged = sum(1 for b in bens if b.remainder)
    if flagged != 1:
        message = (
            "须指定一位受益人承接分配尾差（remainder），实未指定"
            if flagged == 0
            else f"只能指定一位受益人承接分配尾差（remainder），实指定了 {flagged} 位"
        )
        problems.add(InvalidShares, "beneficiaries.remainder", message)


def _check_fee(data: TrustIn, problems: _Problems) -> None:
    rate, fixed = data.fee_rate_bp, data.fee_fixed_fen
    if (rate is None) == (fixed is None):
        which = "都未填写" if rate is None else "都填写了"
        message = f"受托人报酬须在费率（fee_rate_bp）与固定金额（fee_fixed_fen）中选且只选一种，实{which}"
        problems.add(InvalidFee, "fee", message)
    if rate is not None and not 0 <= rate <= MAX_FEE_RATE_BP:
        problems.add(InvalidFee, "fee_rate_bp", f"费率必须在 0 到 {MAX_FEE_RATE_BP} 个基点之间：{rate}")
    if fixed is not None and not 0 <= fixed <= MAX_LINE_FEN:
        problems.add(InvalidFee, "fee_fixed_fen", f"固定报酬必须是 0 到 {MAX_LINE_FEN} 之间的整数分：{fixed}")


def _check_assets(
    session: Session, actor: Actor, codes: Sequence[str], settlor_uscc: str | None, trust_id: int | None,
    problems: _Problems,
) -> list[str]:  # fmt: skip
    """The entrusted codes, normalised; each must be a registration in force of the asset itself
    whose holder's credit code is the settlor's, not trust property of another active trust."""
    out: list[str] = []
    if not codes:
        problems.add(AssetNotRegistered, "assets", "至少要委托一项已登记的数据资产（登记编号）")
        return out
    if len(codes) > MAX_ASSETS:
        problems.add(InvalidTrust, "assets", f"委托资产至多 {MAX_ASSETS} 项，实有 {len(codes)} 项")
        return out
    for n, raw in enumerate(codes, 1):
        field = f"assets[{n}]"
        text = raw.strip().upper() if isinstance(raw, str) else ""
        if text in out:
            problems.add(InvalidTrust, field, f"委托资产重复：{text}")
            continue
        try:
            cert = registry.certificate(session, actor, text)
        except RegistrationNotFound:
            problems.add(AssetNotRegistered, field, f"第 {n} 项资产未登记：登记编号 {raw!r} 不存在")
            continue
        out.append(cert.code)
        if cert.kind not in ASSET_KINDS:
            problems.add(
                AssetNotRegistered, field, f"第 {n} 项 {cert.code} 是{cert.kind_label}，不是数据资产本身的登记"
            )
        elif cert.status != "valid":
            problems.add(AssetNotRegistered, field, f"第 {n} 项资产 {cert.code} 的登记已失效（{cert.status_label}）")
        elif settlor_uscc is None or cert.holder_uscc != settlor_uscc:
            problems.add(
                AssetNotHeld, field,
                f"委托人不是第 {n} 项资产 {cert.code} 的登记持有人（持有人：{cert.holder_name}，"
                f"统一社会信用代码 {cert.holder_uscc}）",
            )  # fmt: skip
    if out:
        stmt = (
            select(AssetTrustAsset.registration_code, AssetTrust.code)
            .join(AssetTrust, AssetTrust.id == AssetTrustAsset.trust_id)
            .where(AssetTrust.state == "active", AssetTrustAsset.registration_code.in_(out))
        )
        if trust_id is not None:
            stmt = stmt.where(AssetTrust.id != trust_id)
        for code, other in session.execute(stmt):
            problems.add(AssetAlreadyEntrusted, "assets", f"资产 {code} 已是存续中的数据信托 {other} 的信托财产")
    return out


def _check(session: Session, actor: Actor, data: TrustIn, trust_id: int | None) -> list[str]:
    """Every problem of ``data`` at once (nothing written), or the normalised asset codes."""
    problems = _Problems()
    if not data.title.strip():
        problems.add(InvalidTrust, "title", "信托名称不能为空")
    orgs = identity.organisations_by_id(session, actor, {data.settlor_org_id, data.trustee_org_id})
    settlor, trustee = orgs.get(data.settlor_org_id), orgs.get(data.trustee_org_id)
    if settlor is None:
        problems.add(InvalidTrust, "settlor_org_id", f"委托人机构不存在：{data.settlor_org_id}")
    elif not settlor.uscc:
        message = f"委托人 {settlor.name} 没有统一社会信用代码，不能持有登记的数据资产"
        problems.add(InvalidTrust, "settlor_org_id", message)
    if trustee is None:
        problems.add(InvalidTrustee, "trustee_org_id", f"受托人机构不存在：{data.trustee_org_id}")
    elif trustee.kind not in TRUSTEE_KINDS:
        problems.add(
            InvalidTrustee, "trustee_org_id",
            f"受托人须是持牌信托机构（银行等金融机构）：{trustee.name} 是{trustee.kind.label}",
        )  # fmt: skip
    elif data.trustee_org_id == data.settlor_org_id:
        problems.add(InvalidTrustee, "trustee_org_id", "受托人不能是委托人本身")
    _check_shares(session, actor, data, problems)
    _check_fee(data, problems)
    if data.term_end < data.term_start:
        problems.add(InvalidTerm, "term_end", f"信托期限的结束日期 {data.term_end} 早于开始日期 {data.term_start}")
    codes = _check_assets(
        session, actor, data.assets, settlor.uscc if settlor is not None else None, trust_id, problems
    )
    problems.raise_any()
    return codes


# --- writing ------------------------------------------------------------------------------------


# every action ``_event`` records, as ``asset_trust.<action>`` (the audit viewer labels each)
ACTIONS = ("create", "update", "approve", "end", "distribute")


def _event(action: str, trust: AssetTrust, **details: Any) -> audit.Event:
    return audit.Event(
        f"asset_trust.{action}",
        publisher_org_id=trust.settlor_org_id,
        details={"trust": trust.id, "code": trust.code, "version": trust.version, **details},
    )


def _may_write(actor: Actor, settlor_org_id: int) -> None:
    require(actor, Permission.TRUST_MANAGE)
    if not actor.can(Permission.TRUST_REVIEW) and actor.organisation_id != settlor_org_id:
        raise NotSettlor("只有委托人机构（或平台运营方）可以设立、修改数据信托")


def _set(session: Session, trust: AssetTrust, data: TrustIn, codes: list[str]) -> None:
    for key in ("title", "description", "settlor_org_id", "trustee_org_id", "purpose", "fee_rate_bp",
                "fee_fixed_fen", "term_start", "term_end"):  # fmt: skip
        setattr(trust, key, getattr(data, key))
    trust.title = data.title.strip()
    for old in _beneficiaries(session, [trust.id])[trust.id]:
        session.delete(old)
    for old_asset in session.scalars(select(AssetTrustAsset).where(AssetTrustAsset.trust_id == trust.id)):
        session.delete(old_asset)
    session.flush()
    for n, b in enumerate(data.beneficiaries):
        share = Fraction(b.numerator, b.denominator)
        session.add(
            AssetTrustBeneficiary(trust_id=trust.id, organisation_id=b.organisation_id, numerator=share.numerator,
                                  denominator=share.denominator, remainder=b.remainder, position=n)
        )  # fmt: skip
    for n, code in enumerate(codes):
        session.add(AssetTrustAsset(trust_id=trust.id, registration_code=code, position=n))
    session.flush()


@_refusals_audited("asset_trust.create", "code")
def _create(session: Session, actor: Actor, code: str, data: TrustIn) -> AssetTrust:
    _may_write(actor, data.settlor_org_id)
    if session.scalar(select(AssetTrust.id).where(AssetTrust.code == code)) is not None:
        raise CodeTaken(f"信托代码已被使用：{code}", details=[{"field": "code", "message": "信托代码已被使用"}])
    codes = _check(session, actor, data, None)
    trust = AssetTrust(code=code, title=data.title.strip(), settlor_org_id=data.settlor_org_id,
                       trustee_org_id=data.trustee_org_id, purpose=data.purpose, fee_rate_bp=data.fee_rate_bp,
                       fee_fixed_fen=data.fee_fixed_fen, term_start=data.term_start,
                       term_end=data.term_end, state="draft", version=1, created_by=actor.user_id)  # fmt: skip
    session.add(trust)
    session.flush()
    _set(session, trust, data, codes)
    audit.record(session, actor, _event("create", trust, assets=codes))
    return trust


def create_trust(session: Session, actor: Actor, data: TrustIn) -> TrustRead:
    """A draft trust. Refused with every problem named, nothing written: shares not positive or not
    summing to one, a beneficiary twice, no or two remainder parties; a trustee that is not a
    licensed trust company; neither or both fee kinds, a rate outside 0–10000 bp; a term ending
    before it starts; an asset not registered or no longer in force, not held by the settlor, or
    already trust property of an active trust."""
    return _reads(session, actor, [_create(session, actor, data.code, data)])[0]


@_refusals_audited("asset_trust.update")
def _update(session: Session, actor: Actor, trust_id: int, data: TrustIn) -> AssetTrust:
    require(actor, Permission.TRUST_MANAGE)  # first: a token without the scope learns nothing of the trust
    trust = _visible(session, actor, trust_id)
    _may_write(actor, trust.settlor_org_id)
    if trust.state != "draft":
        raise WrongState(f"数据信托当前为“{STATES[trust.state]}”，只有草稿可以修改")
    if data.code != trust.code:
        raise InvalidTrust("信托代码不能修改", field="code")
    if data.settlor_org_id != trust.settlor_org_id:
        raise InvalidTrust("委托人不能修改：请另行设立信托", field="settlor_org_id")
    codes = _check(session, actor, data, trust.id)
    _set(session, trust, data, codes)
    trust.version += 1
    trust.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, _event("update", trust, assets=codes))
    return trust


def update_trust(session: Session, actor: Actor, trust_id: int, data: TrustIn) -> TrustRead:
    """Replace a draft whole (the same checks as ``create_trust``; code and settlor never change);
    the version goes up. An active or ended trust is never edited."""
    return _reads(session, actor, [_update(session, actor, trust_id, data)])[0]


def _as_input(session: Session, trust: AssetTrust) -> TrustIn:
    return TrustIn(
        code=trust.code, title=trust.title, description=trust.description, settlor_org_id=trust.settlor_org_id,
        trustee_org_id=trust.trustee_org_id, purpose=trust.purpose,  # type: ignore[arg-type]
        fee_rate_bp=trust.fee_rate_bp, fee_fixed_fen=trust.fee_fixed_fen, term_start=trust.term_start,
        term_end=trust.term_end, assets=_assets(session, [trust.id])[trust.id],
        beneficiaries=[BeneficiaryIn(organisation_id=b.organisation_id, numerator=b.numerator,
                                     denominator=b.denominator, remainder=b.remainder)
                       for b in _beneficiaries(session, [trust.id])[trust.id]],
    )  # fmt: skip


@_refusals_audited("asset_trust.approve")
def _approve(session: Session, actor: Actor, trust_id: int, today: date | None) -> AssetTrust:
    require(actor, Permission.TRUST_REVIEW)
    trust = _visible(session, actor, trust_id)
    if trust.state != "draft":
        raise WrongState(f"数据信托当前为“{STATES[trust.state]}”，只有草稿可以审核设立")
    day = _day(today)
    if trust.term_end < day:
        raise OutsideTerm(f"信托期限已于 {trust.term_end} 届满，不能设立")
    _check(session, actor, _as_input(session, trust), trust.id)  # holdings may have changed since the draft
    # the trust's own clearing account comes with the approval (trust:review), whatever ledger rights
    # the approver's credential carries: an ``assets`` token approves without ``operate``
    account = ledger.open_account(
        session, SYSTEM, clearing_code(trust.id), f"数据信托{trust.code}待分配收益", "liability",
        organisation_id=trust.trustee_org_id,
    )  # fmt: skip
    trust.ledger_account_id = account.id
    trust.state = "active"
    trust.approved_by, trust.approved_at = actor.user_id, utcnow()
    trust.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, _event("approve", trust, account=account.code))
    return trust


def approve(session: Session, actor: Actor, trust_id: int, *, today: date | None = None) -> TrustRead:
    """The operator (or the system) approves a draft: it becomes active and its clearing account is
    opened. The checks of ``create_trust`` run again (an asset may have been transferred or cancelled
    since); a trust whose term is already over is refused (``OutsideTerm``)."""
    return _reads(session, actor, [_approve(session, actor, trust_id, today)])[0]


def _end(session: Session, actor: Actor, trust: AssetTrust, reason: str) -> None:
    old = trust.state
    trust.state, trust.ended_at, trust.end_reason = "ended", utcnow(), reason
    trust.updated_at = utcnow()
    session.flush()
    event = _event("end", trust, **{"from": old})
    event.reason = reason
    audit.record(session, actor, event)


@_refusals_audited("asset_trust.terminate")
def _terminate(session: Session, actor: Actor, trust_id: int, reason: str) -> AssetTrust:
    require(actor, Permission.TRUST_REVIEW)
    trust = _visible(session, actor, trust_id)
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > 2000:
        raise InvalidTrust("终止数据信托须写明理由（至多 2000 字）", field="reason")
    if trust.state == "ended":
        raise WrongState("数据信托已终止")
    _end(session, actor, trust, text)
    return trust


def terminate(session: Session, actor: Actor, trust_id: int, reason: str) -> TrustRead:
    """End a draft or active trust early, with a reason (the operator or the system)."""
    return _reads(session, actor, [_terminate(session, actor, trust_id, reason)])[0]


def end_expired(session: Session, actor: Actor, *, today: date | None = None) -> list[TrustRead]:
    """End every active trust whose term is over (reason 信托期限届满): a periodic job's step."""
    require(actor, Permission.TRUST_REVIEW)
    day = _day(today)
    trusts = list(
        session.scalars(
            select(AssetTrust).where(AssetTrust.state == "active", AssetTrust.term_end < day).order_by(AssetTrust.id)
        )
    )
    for trust in trusts:
        _end(session, actor, trust, f"信托期限届满（{trust.term_end}）")
    return _reads(session, actor, trusts)


# --- distributions ------------------------------------------------------------------------------


def _day(today: date | None) -> date:
    """The Beijing date to check a term against: today, or an earlier date an in-process caller gives
    (never a later one)."""
    now = beijing_today()
    if today is None:
        return now
    if not isinstance(today, date) or today > now:
        raise InvalidDistribution(f"日期不能晚于今天（{now}）：{today}", field="today")
    return today


def _distribution_read(d: AssetTrustDistribution) -> DistributionRead:
    return DistributionRead(
        id=d.id, trust_id=d.trust_id, reference=d.reference, gross_fen=d.gross_fen, fee_fen=d.fee_fen,
        net_fen=d.gross_fen - d.fee_fen, parts=[DistributionPart(**p) for p in d.parts],
        ledger_entry_id=d.ledger_entry_id, distributed_on=d.distributed_on, distributed_by=d.distributed_by,
        distributed_at=d.distributed_at,
    )  # fmt: skip


def _by_reference(session: Session, reference: str) -> AssetTrustDistribution | None:
    return session.scalars(select(AssetTrustDistribution).where(AssetTrustDistribution.reference == reference)).first()


def _replay(existing: AssetTrustDistribution, trust_id: int, gross_fen: int) -> AssetTrustDistribution:
    if existing.trust_id != trust_id or existing.gross_fen != gross_fen:
        raise DistributionConflict(
            f"业务编号 {existing.reference} 已用于一次分配（信托 {existing.trust_id}，总额 {existing.gross_fen} 分），"
            f"不能以不同的信托或金额（信托 {trust_id}，总额 {gross_fen} 分）再次分配",
            details={"reference": existing.reference, "distribution": existing.id},
        )
    return existing


def fee_of(trust: AssetTrust, gross_fen: int) -> int:
    """The trustee's fee on a gross amount: ``gross × rate / 10000`` rounded down, or the fixed fee
    capped at the gross."""
    if trust.fee_rate_bp is not None:
        return gross_fen * trust.fee_rate_bp // MAX_FEE_RATE_BP
    return min(trust.fee_fixed_fen or 0, gross_fen)


@_refusals_audited("asset_trust.distribute")
def _distribute(
    session: Session, actor: Actor, trust_id: int, gross_fen: int, reference: str, today: date | None
) -> AssetTrustDistribution:
    require_any(actor, Permission.TRUST_REVIEW, Permission.MARKET_SETTLE)  # the settlement distributes
    problems = []
    if not ledger.is_fen(gross_fen):
        message = f"分配总额必须是整数分，不能是 {type(gross_fen).__name__}：{gross_fen!r}"
        problems.append({"field": "gross_fen", "message": message})
    elif not 0 <= gross_fen <= MAX_LINE_FEN:
        message = f"分配总额必须是 0 到 {MAX_LINE_FEN} 之间的整数分：{gross_fen}"
        problems.append({"field": "gross_fen", "message": message})
    ref = reference.strip() if isinstance(reference, str) else ""
    if not ref or len(ref) > MAX_REFERENCE:
        message = f"业务编号（reference）不能为空，至多 {MAX_REFERENCE} 个字符"
        problems.append({"field": "reference", "message": message})
    if problems:
        raise InvalidDistribution("；".join(p["message"] for p in problems), details=problems)
    trust = _visible(session, actor, trust_id)
    existing = _by_reference(session, ref)
    if existing is not None:
        return _replay(existing, trust.id, gross_fen)
    if trust.state != "active":
        raise WrongState(f"数据信托当前为“{STATES[trust.state]}”，只有存续中的信托可以分配收益")
    day = _day(today)
    if not trust.term_start <= day <= trust.term_end:
        raise OutsideTerm(f"{day} 不在信托期限内（{trust.term_start} 至 {trust.term_end}），不能分配收益")
    clearing = clearing_code(trust.id)
    held = -ledger.balance(session, actor, clearing)
    if gross_fen > held:
        raise InsufficientFunds(
            f"信托待分配收益账户余额 {held} 分，不足以分配 {gross_fen} 分",
            details={"account": clearing, "balance_fen": held, "gross_fen": gross_fen},
        )
    fee = fee_of(trust, gross_fen)
    bens = _beneficiaries(session, [trust.id])[trust.id]
    remainder_to = next(f"org:{b.organisation_id}" for b in bens if b.remainder)
    split = allocate.split(
        gross_fen - fee, [(f"org:{b.organisation_id}", Fraction(b.numerator, b.denominator)) for b in bens],
        remainder_to,
    )  # fmt: skip
    parts = [  # fmt: skip
        {
            "organisation_id": b.organisation_id,
            "amount_fen": split[f"org:{b.organisation_id}"],
            "remainder": b.remainder,
        }
        for b in bens
    ]
    entry_id = None
    if gross_fen > 0:
        lines: list[tuple[str, int, str]] = [(clearing, gross_fen, "信托收益分配")]
        if fee > 0:
            payable = ledger.account_for(session, actor, trust.trustee_org_id, "payable").code
            lines.append((payable, -fee, "受托人报酬"))
        for b, part in zip(bens, parts, strict=True):
            if part["amount_fen"] > 0:
                payable = ledger.account_for(session, actor, b.organisation_id, "payable").code
                lines.append((payable, -part["amount_fen"], f"信托受益（份额 {b.numerator}/{b.denominator}）"))
        try:
            entry = ledger.post(session, actor, Posting(ref, LEDGER_KIND, lines, f"数据信托 {trust.code} 收益分配"))
        except PostingConflict:
            raise DistributionConflict(
                f"业务编号 {ref} 已被账簿中的其他分录使用，不能用于本次分配", details={"reference": ref}
            ) from None
        entry_id = entry.id
    row = AssetTrustDistribution(
        trust_id=trust.id, reference=ref, gross_fen=gross_fen, fee_fen=fee, parts=parts, ledger_entry_id=entry_id,
        distributed_on=day, distributed_by=actor.user_id,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same reference distributed meanwhile by a concurrent caller
        again = _by_reference(session, ref)
        if again is None:
            raise
        return _replay(again, trust.id, gross_fen)
    audit.record(
        session, actor,
        _event("distribute", trust, reference=ref, gross_fen=gross_fen, fee_fen=fee, entry=entry_id,
               parts={str(p["organisation_id"]): p["amount_fen"] for p in parts}),
    )  # fmt: skip
    return row


def distribute(
    session: Session, actor: Actor, trust_id: int, gross_fen: int, reference: str, *, today: date | None = None
) -> DistributionRead:
    """Pay ``gross_fen`` out of an active trust within its term: the trustee's fee first (rate ×
    gross rounded down, or the fixed fee capped at the gross), the rest split among the beneficiaries
    by their shares with the remainder to the flagged one — one balanced ledger entry under
    ``reference`` debiting the trust's clearing account and crediting the trustee's and each
    beneficiary's ``payable``. Idempotent: the same reference and amount return the first
    distribution and write nothing; another amount or trust is a ``DistributionConflict``. Refused:
    a trust not active (``WrongState``) or outside its term (``OutsideTerm``), a gross that is not a
    non-negative int of fen (``InvalidDistribution``), more than the clearing account holds
    (``InsufficientFunds``)."""
    return _distribution_read(_distribute(session, actor, trust_id, gross_fen, reference, today))


def active_by_code(session: Session, code: str) -> int | None:
    """The id of the active trust with this code, if any (for the market's distribution rules and
    settlement, which credit its clearing account and then ``distribute``)."""
    return session.scalar(select(AssetTrust.id).where(AssetTrust.code == code, AssetTrust.state == "active"))

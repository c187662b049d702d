"""The demo city's data trust (数据信托): the holder of registered data assets entrusts them to the
demo trust company (海晟信托, ``city.trust_company``) for three beneficiaries — itself, the city's
market regulation bureau and the demo enterprise — with a fee of 1.5 % of each distribution, and the
operator approves it, so the settlor's, the trustee's, the beneficiaries' and the operator's trust
pages have something to show. Built through the same service the API and the portal call;
idempotent: a demo trust already there is reused (and approved if still a draft)."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.errors import RegistrationNotFound
from pubdata.assets.trusts import service as trusts
from pubdata.assets.trusts.schemas import BeneficiaryIn, TrustIn
from pubdata.authz import SYSTEM, Actor, Permission, Role
from pubdata.demo import city, names
from pubdata.identity import service as identity
from pubdata.identity.errors import OrganisationNotFound

CODE = "haisheng-credit-data-trust"
TITLE = "企业信用数据资产服务信托"
DESCRIPTION = (
    "委托人以其登记的企业信用数据资产设立资产服务信托，由海晟信托作为受托人管理；基于信托资产的数据产品"
    "按月结算的收益进入信托，扣除受托人报酬后按份额分配给受益人。"
)
FEE_RATE_BP = 150  # 1.5 % of each distribution's gross
TERM_DAYS = 5 * 365
# the beneficiaries after the settlor (which takes the first share and the rounding remainder)
OTHER_BENEFICIARIES = ("qd-scjgj", names.DEMO_ENTERPRISE_CODE, "merchant-haishu")
SHARES = (Fraction(1, 2), Fraction(3, 10), Fraction(1, 5))
KIND_ROLES = {"department": Role.DEPARTMENT, "enterprise": Role.ENTERPRISE, "data_merchant": Role.DATA_MERCHANT,
              "operator": Role.OPERATOR}  # fmt: skip


def _entrustable(session: Session, codes: list[str]) -> tuple[str, list[str]] | None:
    """The holder's credit code of the first registration in force of an asset itself, and every
    given code in force that the same holder holds; None when there is none."""
    holder = None
    picked: list[str] = []
    for code in codes:
        try:
            cert = registry.certificate(session, SYSTEM, code)
        except RegistrationNotFound:
            continue
        if cert.status != "valid" or cert.kind not in trusts.ASSET_KINDS:
            continue
        holder = holder or cert.holder_uscc
        if cert.holder_uscc == holder and cert.code not in picked:
            picked.append(cert.code)
    return (holder, picked) if holder else None


def _settlor(session: Session, actors: dict[str, Actor], org_id: int) -> Actor:
    """An actor of the settlor's organisation allowed to set up trusts: one of ``actors`` if any is,
    otherwise the organisation acting as itself (as the demo's departments do)."""
    for actor in actors.values():
        if actor.organisation_id == org_id and actor.can(Permission.TRUST_MANAGE):
            return actor
    org = identity.get_organisation(session, SYSTEM, str(org_id))
    role = KIND_ROLES.get(org.kind, Role.ENTERPRISE)
    return Actor(username=f"{org.code}-trust-settlor", organisation_id=org.id, organisation_kind=org.kind,
                 roles=frozenset({role}), via="cli")  # fmt: skip


def apply(session: Session, actors: dict[str, Actor], asset_codes: list[str]) -> str | None:
    """Set up and approve the demo trust over ``asset_codes`` (registration codes; those in force of
    the first one's holder are entrusted) unless it exists; its code, or None when no code is usable.
    ``actors``: ``operator`` (approves) and any others, among which the holder's user is looked for."""
    operator = actors["operator"]
    existing = next((t for t in trusts.list_trusts(session, operator) if t.code == CODE), None)
    if existing is not None:
        if existing.state == "draft":
            trusts.approve(session, operator, existing.id)
        return existing.code
    found = _entrustable(session, asset_codes)
    if found is None:
        return None
    holder_uscc, codes = found
    holder_id = identity.organisation_ids_by_uscc(session, [holder_uscc]).get(holder_uscc)
    if holder_id is None:
        return None
    try:
        trustee = identity.get_organisation(session, SYSTEM, city.trust_company().code)
    except OrganisationNotFound:
        return None
    others = []
    for code in OTHER_BENEFICIARIES:
        try:
            org = identity.get_organisation(session, SYSTEM, code)
        except OrganisationNotFound:
            continue
        if org.id not in (holder_id, trustee.id) and org.id not in others:
            others.append(org.id)
    beneficiaries = [holder_id, *others[:2]]
    shares = SHARES if len(beneficiaries) == 3 else (Fraction(1, 2),) * 2 if len(beneficiaries) == 2 else (Fraction(1),)
    start = beijing_today() - timedelta(days=30)
    data = TrustIn(
        code=CODE, title=TITLE, description=DESCRIPTION, settlor_org_id=holder_id, trustee_org_id=trustee.id,
        purpose="asset_service", fee_rate_bp=FEE_RATE_BP, term_start=start, term_end=start + timedelta(days=TERM_DAYS),
        beneficiaries=[BeneficiaryIn(organisation_id=org_id, numerator=share.numerator, denominator=share.denominator,
                                     remainder=n == 0)
                       for n, (org_id, share) in enumerate(zip(beneficiaries, shares, strict=True))],
        assets=codes,
    )  # fmt: skip
    draft = trusts.create_trust(session, _settlor(session, actors, holder_id), data)
    return trusts.approve(session, operator, draft.id).code

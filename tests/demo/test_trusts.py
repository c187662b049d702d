"""The demo city's data trust (demo/trusts.py): set up by the holder of the given registered assets,
with the demo trust company as trustee and three beneficiaries whose shares sum to one, approved by
the operator; a second run reuses it; codes that are unknown or of another holder are left out;
nothing usable, no trust."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy import func, select

from pubdata.assets.registry.schemas import SourceIn
from pubdata.assets.trusts import service as trusts
from pubdata.assets.trusts.models import AssetTrust
from pubdata.demo import city, names
from pubdata.demo import trusts as demo_trusts
from tests.assets.registry.test_fingerprint import _load
from tests.assets.registry.test_registry import _entry_code, apply, registered, world  # noqa: F401
from tests.builders import make_org


def test_the_demo_trust_is_set_up_approved_and_reused(session, world, as_actor):  # noqa: F811
    w = world
    spec = city.trust_company()
    trustee = make_org(session, spec.kind, code=spec.code, name=spec.name, uscc=spec.uscc)
    bureau = make_org(session, "department", code="qd-scjgj", name="青岛市市场监督管理局（测试）")
    enterprise = make_org(session, "enterprise", code=names.DEMO_ENTERPRISE_CODE, name="海岸线（测试）")
    theirs = registered(session, w, apply(session, w, "department").id).code
    # the merchant's registration of another table of the department's (open data): another holder
    rid = _load(session, w["department"], w["home"], w["tmp"], "name,amount\n黄岛区,5\n")
    sources = [SourceIn(entry=_entry_code(session, rid), basis="open")]
    own = registered(session, w, apply(session, w, "merchant", resource_id=rid, sources=sources).id).code
    actors = {"operator": w["registrar"], "merchant": w["merchant"]}

    assert demo_trusts.apply(session, actors, []) is None
    assert demo_trusts.apply(session, actors, ["QD-DR-1999-000001", theirs.lower(), own]) == demo_trusts.CODE
    # the first usable code's holder is the settlor: here the department, over its own asset only
    made = trusts.list_trusts(session, w["registrar"])
    assert [(t.code, t.state, t.settlor_org_id, t.assets) for t in made] == [
        (demo_trusts.CODE, "active", w["dept_org"].id, [theirs])
    ]  # fmt: skip
    trust = made[0]
    assert (trust.trustee_org_id, trust.trustee, trust.fee_rate_bp) == (trustee.id, "海晟信托有限责任公司", 150)
    assert [(b.organisation_id, b.share, b.remainder) for b in trust.beneficiaries] == [
        (w["dept_org"].id, "1/2", True), (bureau.id, "3/10", False), (enterprise.id, "1/5", False),
    ]  # fmt: skip
    assert sum(Fraction(b.numerator, b.denominator) for b in trust.beneficiaries) == 1
    assert trust.term_start < trust.term_end and trust.ledger_account_code == f"trust:{trust.id}:clearing"

    # a second run reuses it, whatever codes it is given
    assert demo_trusts.apply(session, actors, []) == demo_trusts.CODE
    assert session.scalar(select(func.count()).select_from(AssetTrust)) == 1


def test_the_merchant_sets_up_the_trust_over_its_own_assets(session, world):  # noqa: F811
    w = world
    spec = city.trust_company()
    make_org(session, spec.kind, code=spec.code, name=spec.name, uscc=spec.uscc)
    sources = [SourceIn(entry=w["entry"], basis="open")]
    own = registered(session, w, apply(session, w, "merchant", sources=sources).id).code
    actors = {"operator": w["registrar"], "merchant": w["merchant"]}
    assert demo_trusts.apply(session, actors, [own]) == demo_trusts.CODE
    [trust] = trusts.list_trusts(session, w["merchant"])  # the merchant, as settlor, reads it
    assert (trust.settlor_org_id, trust.state, trust.assets) == (w["merchant_org"].id, "active", [own])
    assert trust.created_by == w["merchant"].user_id  # set up by the merchant's own user
    # no other demo beneficiary exists here: the settlor takes it all
    assert [(b.organisation_id, b.share) for b in trust.beneficiaries] == [(w["merchant_org"].id, "1/1")]

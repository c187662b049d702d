"""Data trusts (数据信托) through their service: a trust over a registered asset created by its
settlor, approved by the operator and distributing a hand-computed gross into a balanced ledger
(the trustee's fee, the beneficiaries pro rata, the rounding remainder to the flagged one);
re-distribution under the same reference writing nothing; every refusal named, writing nothing and
audited; who may create, approve, distribute and read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pubdata.access.service import beijing_today
from pubdata.assets.registry.schemas import ChainIn, SourceIn
from pubdata.assets.trusts import service as trusts
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
    InvalidTrustee,
    NotSettlor,
    OutsideTerm,
    TrustNotFound,
    WrongState,
)
from pubdata.assets.trusts.models import AssetTrust, AssetTrustBeneficiary, AssetTrustDistribution
from pubdata.assets.trusts.schemas import BeneficiaryIn, TrustIn
from pubdata.authz import SYSTEM
from pubdata.errors import Forbidden
from pubdata.ledger import service as ledger
from pubdata.ledger.models import LedgerEntry
from pubdata.ledger.schemas import Posting
from tests.assets.registry.test_registry import apply, refusals, registered, world  # noqa: F401
from tests.builders import make_org

GROSS = 1_000_001


@pytest.fixture
def tw(session, world, as_actor):  # noqa: F811
    w = dict(world)
    # the merchant registers the open table it builds on: it is the holder, and so the settlor
    reg = registered(session, w, apply(session, w, "merchant", sources=[SourceIn(entry=w["entry"], basis="open")]).id)
    w["asset"] = reg.code
    w["asset_id"] = reg.id
    w["settlor_org"] = w["merchant_org"]
    w["settlor"] = w["merchant"]  # a user of the settlor holding MARKET_PRODUCT_MANAGE
    w["trustee_org"] = make_org(session, "bank")
    w["trustee"] = as_actor("bank", w["trustee_org"])
    w["ben_orgs"] = [make_org(session, "enterprise") for _ in range(3)]
    w["ben"] = as_actor("enterprise", w["ben_orgs"][0])
    w["operator"] = w["registrar"]
    w["regulator"] = as_actor("regulator")
    w["stranger"] = as_actor("enterprise")
    return w


def trust_in(w, **overrides) -> TrustIn:
    a, b, c = w["ben_orgs"]
    today = beijing_today()
    data = {
        "code": "qd-trust-1", "title": "各区金额数据信托", "settlor_org_id": w["settlor_org"].id,
        "trustee_org_id": w["trustee_org"].id, "purpose": "asset_service", "fee_rate_bp": 150,
        "term_start": today - timedelta(days=30), "term_end": today + timedelta(days=335),
        "beneficiaries": [BeneficiaryIn(organisation_id=a.id, numerator=1, denominator=3),
                          BeneficiaryIn(organisation_id=b.id, numerator=1, denominator=3),
                          BeneficiaryIn(organisation_id=c.id, numerator=1, denominator=3, remainder=True)],
        "assets": [w["asset"]],
    }  # fmt: skip
    data.update(overrides)
    return TrustIn(**data)


def fund(session, w, trust, amount, reference="settlement:test:1"):
    """What the month's settlement does for a product built on trust assets: credit the trust."""
    clearing = ledger.account_for(session, w["operator"], None, "clearing").code
    ledger.post(
        session,
        w["operator"],
        Posting(reference, "settlement", [(clearing, amount), (trusts.clearing_code(trust.id), -amount)]),
    )


def active(session, w, **overrides):
    trust = trusts.create_trust(session, w["settlor"], trust_in(w, **overrides))
    return trusts.approve(session, w["operator"], trust.id)


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


# --- the flow -----------------------------------------------------------------------------------


def test_create_approve_and_distribute_into_a_balanced_ledger(session, tw):
    w = tw
    draft = trusts.create_trust(session, w["settlor"], trust_in(w))
    assert (draft.state, draft.state_label, draft.purpose_label) == ("draft", "草稿", "资产服务信托")
    assert draft.assets == [w["asset"]] and [b.share for b in draft.beneficiaries] == ["1/3"] * 3
    assert draft.ledger_account_code is None and draft.trustee == w["trustee_org"].name

    trust = trusts.approve(session, w["operator"], draft.id)
    assert trust.state == "active" and trust.ledger_account_code == f"trust:{trust.id}:clearing"
    fund(session, w, trust, GROSS)

    d = trusts.distribute(session, w["operator"], trust.id, GROSS, "trust-dist:2026-11")
    # fee = floor(1,000,001 × 150 / 10000) = 15,000; the rest 985,001 in thirds: 328,333.67 each,
    # floored to 328,333 twice and 328,333 + 2 fen of remainder to the flagged third beneficiary
    assert (d.gross_fen, d.fee_fen, d.net_fen) == (GROSS, 15_000, 985_001)
    assert [p.amount_fen for p in d.parts] == [328_333, 328_333, 328_335]
    assert [p.remainder for p in d.parts] == [False, False, True]

    entry = ledger.get_entry(session, w["operator"], "trust-dist:2026-11")
    assert entry.id == d.ledger_entry_id and entry.kind == "trust_distribution"
    a, b, c = w["ben_orgs"]
    assert sorted((line.account_code, line.amount_fen) for line in entry.lines) == sorted([
        (f"trust:{trust.id}:clearing", GROSS), (f"org:{w['trustee_org'].id}:payable", -15_000),
        (f"org:{a.id}:payable", -328_333), (f"org:{b.id}:payable", -328_333), (f"org:{c.id}:payable", -328_335),
    ])  # fmt: skip
    assert ledger.check_balanced(session) == 0 and ledger.unbalanced_entries(session) == []
    assert ledger.balance(session, w["operator"], trust.ledger_account_code) == 0  # all paid out

    # each party's statement shows its part; the trustee also sees the trust's clearing account
    mine = ledger.statement(session, w["ben"], a.id)
    payable = next(acc for acc in mine.accounts if acc.account.code == f"org:{a.id}:payable")
    assert [(ln.reference, ln.amount_fen) for ln in payable.lines] == [("trust-dist:2026-11", -328_333)]
    assert payable.closing_fen == -328_333
    trustee = ledger.statement(session, w["trustee"], w["trustee_org"].id)
    closing = {acc.account.code: acc.closing_fen for acc in trustee.accounts}
    assert closing == {f"org:{w['trustee_org'].id}:payable": -15_000, f"trust:{trust.id}:clearing": 0}
    remainder = ledger.statement(session, w["regulator"], c.id)
    assert remainder.accounts[0].closing_fen == -328_335

    assert [x.id for x in trusts.list_distributions(session, w["ben"], trust.id)] == [d.id]


def test_the_same_reference_distributes_once(session, tw):
    w = tw
    trust = active(session, w)
    fund(session, w, trust, 3 * GROSS)
    first = trusts.distribute(session, w["operator"], trust.id, GROSS, "trust-dist:1")
    before = (count(session, LedgerEntry), count(session, AssetTrustDistribution))
    again = trusts.distribute(session, SYSTEM, trust.id, GROSS, "trust-dist:1")
    assert again == first
    assert (count(session, LedgerEntry), count(session, AssetTrustDistribution)) == before
    assert ledger.balance(session, w["operator"], trust.ledger_account_code) == -2 * GROSS  # paid once

    with pytest.raises(DistributionConflict):
        trusts.distribute(session, w["operator"], trust.id, GROSS + 1, "trust-dist:1")
    with pytest.raises(DistributionConflict):  # a reference the ledger already used for something else
        trusts.distribute(session, w["operator"], trust.id, 100, "settlement:test:1")
    assert (count(session, LedgerEntry), count(session, AssetTrustDistribution)) == before
    assert refusals(session, "asset_trust.distribute") == ["asset_trust.distribution_conflict"] * 2
    assert ledger.check_balanced(session) == 0


def test_a_fixed_fee_is_capped_at_the_gross_and_zero_parts_are_left_out(session, tw):
    w = tw
    trust = active(session, w, fee_rate_bp=None, fee_fixed_fen=500)
    fund(session, w, trust, 10_000)
    small = trusts.distribute(session, w["operator"], trust.id, 400, "d:1")
    assert small.fee_fen == 400 and [p.amount_fen for p in small.parts] == [0, 0, 0]
    assert len(ledger.get_entry(session, w["operator"], "d:1").lines) == 2  # the clearing and the trustee
    big = trusts.distribute(session, w["operator"], trust.id, 2_001, "d:2")
    assert big.fee_fen == 500 and [p.amount_fen for p in big.parts] == [500, 500, 501]
    zero = trusts.distribute(session, w["operator"], trust.id, 0, "d:3")
    assert zero.ledger_entry_id is None and zero.fee_fen == 0
    assert ledger.check_balanced(session) == 0


# --- refusals -----------------------------------------------------------------------------------


def ben(org, n, d, remainder=False):
    return BeneficiaryIn(organisation_id=org.id, numerator=n, denominator=d, remainder=remainder)


def test_bad_trusts_are_refused_each_named_with_nothing_written(session, tw):
    w = tw
    a, b, c = w["ben_orgs"]
    other = make_org(session, "enterprise")
    cases = [
        ({"beneficiaries": [ben(a, 1, 3), ben(b, 1, 3), ben(c, 1, 4, True)]}, InvalidShares, "之和必须恰好为 1"),
        ({"beneficiaries": [ben(a, 0, 3), ben(b, 1, 1, True)]}, InvalidShares, "必须大于零"),
        ({"beneficiaries": [ben(a, -1, 2), ben(b, 3, 2, True)]}, InvalidShares, "必须大于零"),
        ({"beneficiaries": [ben(a, 1, 2), ben(a, 1, 2, True)]}, InvalidShares, "受益人重复"),
        ({"beneficiaries": [ben(a, 1, 2), ben(b, 1, 2)]}, InvalidShares, "实未指定"),
        ({"beneficiaries": [ben(a, 1, 2, True), ben(b, 1, 2, True)]}, InvalidShares, "实指定了 2 位"),
        ({"beneficiaries": []}, InvalidShares, "至少要有一位受益人"),
        ({"fee_rate_bp": 10_001}, InvalidFee, "0 到 10000 个基点"),
        ({"fee_rate_bp": -1}, InvalidFee, "0 到 10000 个基点"),
        ({"fee_rate_bp": 100, "fee_fixed_fen": 100}, InvalidFee, "实都填写了"),
        ({"fee_rate_bp": None}, InvalidFee, "实都未填写"),
        ({"term_end": beijing_today() - timedelta(days=31)}, InvalidTerm, "早于开始日期"),
        ({"trustee_org_id": other.id}, InvalidTrustee, "持牌信托机构"),
        ({"settlor_org_id": w["dept_org"].id}, AssetNotHeld, "委托人不是第 1 项资产"),
        ({"assets": ["QD-DR-2026-999999"]}, AssetNotRegistered, "未登记"),
        ({"assets": []}, AssetNotRegistered, "至少要委托一项"),
    ]
    for overrides, error, text in cases:
        with pytest.raises(error) as caught:
            trusts.create_trust(session, w["operator"], trust_in(w, **overrides))
        assert text in caught.value.message, (overrides, caught.value.message)
        assert caught.value.details and all("field" in p for p in caught.value.details)
    # every problem at once, the class of the first kind
    with pytest.raises(InvalidShares) as caught:
        trusts.create_trust(session, w["operator"], trust_in(w, fee_rate_bp=20_000, beneficiaries=[ben(a, 1, 2)]))
    assert {p["field"] for p in caught.value.details} >= {"fee_rate_bp", "beneficiaries", "beneficiaries.remainder"}
    assert count(session, AssetTrust) == 0 and count(session, AssetTrustBeneficiary) == 0
    codes = refusals(session, "asset_trust.create")
    assert len(codes) == len(cases) + 1 and "asset_trust.asset_not_held" in codes


def test_a_cancelled_or_already_entrusted_asset_is_refused(session, tw):
    w = tw
    first = active(session, w)
    with pytest.raises(AssetAlreadyEntrusted):
        trusts.create_trust(session, w["operator"], trust_in(w, code="qd-trust-2"))
    with pytest.raises(CodeTaken):
        trusts.create_trust(session, w["operator"], trust_in(w))
    trusts.terminate(session, w["operator"], first.id, "委托人申请提前终止")
    draft = trusts.create_trust(session, w["operator"], trust_in(w, code="qd-trust-2"))  # free again
    # the asset's registration is cancelled: a draft over it is never approved
    from pubdata.assets.registry import service as registry

    cancel = registry.apply_chain(
        session, w["merchant"], ChainIn(kind="cancellation", previous_id=w["asset_id"], reason="停止持有")
    )
    cancel = registered(session, w, cancel.id)
    with pytest.raises(AssetNotRegistered) as caught:
        trusts.approve(session, w["operator"], draft.id)
    assert "已注销" in caught.value.message
    assert trusts.get_trust(session, w["operator"], draft.id).state == "draft"
    with pytest.raises(AssetNotRegistered):  # nor is a trust created over it, nor over the cancellation
        trusts.create_trust(session, w["operator"], trust_in(w, code="qd-trust-3", assets=[cancel.code]))


def test_only_drafts_are_edited(session, tw):
    w = tw
    draft = trusts.create_trust(session, w["settlor"], trust_in(w))
    edited = trusts.update_trust(session, w["settlor"], draft.id, trust_in(w, title="改名后的信托", fee_rate_bp=200))
    assert (edited.title, edited.fee_rate_bp, edited.version) == ("改名后的信托", 200, 2)
    trust = trusts.approve(session, w["operator"], draft.id)
    with pytest.raises(WrongState):
        trusts.update_trust(session, w["settlor"], trust.id, trust_in(w, fee_rate_bp=0))
    with pytest.raises(WrongState):
        trusts.approve(session, w["operator"], trust.id)
    assert trusts.get_trust(session, w["operator"], trust.id).fee_rate_bp == 200
    assert refusals(session, "asset_trust.update") == ["asset_trust.wrong_state"]


def test_distributions_are_refused_outside_an_active_term_or_beyond_the_funds(session, tw):
    w = tw
    draft = trusts.create_trust(session, w["settlor"], trust_in(w))
    with pytest.raises(WrongState):
        trusts.distribute(session, w["operator"], draft.id, 100, "x:1")
    trust = trusts.approve(session, w["operator"], draft.id)
    fund(session, w, trust, 1_000)
    for bad in (100.0, -1, True, "100", None):
        with pytest.raises(InvalidDistribution):
            trusts.distribute(session, w["operator"], trust.id, bad, "x:2")
    with pytest.raises(InvalidDistribution):
        trusts.distribute(session, w["operator"], trust.id, 100, "  ")
    with pytest.raises(InsufficientFunds):
        trusts.distribute(session, w["operator"], trust.id, 1_001, "x:3")
    with pytest.raises(OutsideTerm):  # a day before the term started
        trusts.distribute(session, w["operator"], trust.id, 100, "x:4", today=beijing_today() - timedelta(days=31))
    trusts.terminate(session, w["operator"], trust.id, "提前终止")
    with pytest.raises(WrongState):
        trusts.distribute(session, w["operator"], trust.id, 100, "x:5")
    assert count(session, AssetTrustDistribution) == 0 and ledger.check_balanced(session) == 0
    assert len(refusals(session, "asset_trust.distribute")) == 10


def test_a_term_not_yet_started_and_a_term_over(session, tw):
    w = tw
    today = beijing_today()
    trust = active(session, w, term_start=today + timedelta(days=1), term_end=today + timedelta(days=60))
    fund(session, w, trust, 100)
    with pytest.raises(OutsideTerm):
        trusts.distribute(session, w["operator"], trust.id, 100, "y:1")
    assert trusts.end_expired(session, w["operator"], today=today) == []
    # a past day after the term: only reachable in the past, so look at a trust that ended yesterday
    session.get(AssetTrust, trust.id).term_start = today - timedelta(days=10)
    session.get(AssetTrust, trust.id).term_end = today - timedelta(days=1)
    with pytest.raises(OutsideTerm):
        trusts.distribute(session, w["operator"], trust.id, 100, "y:2")
    ended = trusts.end_expired(session, SYSTEM)
    assert [(t.id, t.state) for t in ended] == [(trust.id, "ended")] and "期限届满" in ended[0].end_reason


# --- who may do what ------------------------------------------------------------------------------


def test_who_may_create_approve_distribute_and_read(session, tw, as_actor):
    w = tw
    with pytest.raises(Forbidden):  # a beneficiary: no MARKET_PRODUCT_MANAGE
        trusts.create_trust(session, w["ben"], trust_in(w))
    with pytest.raises(NotSettlor):  # a merchant of another organisation
        trusts.create_trust(session, w["rival"], trust_in(w))
    draft = trusts.create_trust(session, w["settlor"], trust_in(w))
    for actor in (w["settlor"], w["trustee"], w["rival"]):
        with pytest.raises(Forbidden):
            trusts.approve(session, actor, draft.id)
    with pytest.raises(TrustNotFound):  # another merchant does not even see the draft
        trusts.update_trust(session, w["rival"], draft.id, trust_in(w))
    with pytest.raises(Forbidden):  # a beneficiary sees it but does not edit it
        trusts.update_trust(session, w["ben"], draft.id, trust_in(w))
    trust = trusts.approve(session, SYSTEM, draft.id)
    fund(session, w, trust, 100)
    for actor in (w["settlor"], w["trustee"], w["ben"]):
        with pytest.raises(Forbidden):
            trusts.distribute(session, actor, trust.id, 100, "z:1")

    readers = (w["settlor"], w["trustee"], w["ben"], w["operator"], w["regulator"])
    for actor in readers:
        assert trusts.get_trust(session, actor, trust.id).code == "qd-trust-1"
        assert [t.id for t in trusts.list_trusts(session, actor)] == [trust.id]
    for actor in (w["stranger"], w["rival"], as_actor("anonymous")):
        with pytest.raises(TrustNotFound):
            trusts.get_trust(session, actor, trust.id)
        with pytest.raises(TrustNotFound):
            trusts.list_distributions(session, actor, trust.id)
        assert trusts.list_trusts(session, actor) == []
    with pytest.raises(TrustNotFound):
        trusts.get_trust(session, w["operator"], 10**9)

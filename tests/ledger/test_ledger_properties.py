"""Properties of the ledger: whatever sequence of market operations is posted — orders and usage
charged to buyers, payments, refunds of part of what was paid (never more), settlements splitting
revenue among the department, the operator, the data merchant and the trust beneficiary (by fixed
shares or the 累进 rule, remainder to one named party), payouts, retried postings — the ledger
balances, every entry balances, every account holds what the market's own arithmetic says, and the
market never pays out money it does not hold. And ``split``/``progressive`` always hand out exactly
the total, in non-negative parts, each party its floor."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pubdata.ledger import allocate
from pubdata.ledger import service as ledger
from pubdata.ledger.models import LedgerEntry
from pubdata.ledger.schemas import Posting
from tests import builders

PARTIES = ("department", "operator", "merchant", "trust")
BUYERS = 2
_examples = itertools.count(1)


@pytest.fixture
def market(session, as_actor):
    """The operator's finance staff and the accounts of the market, two buyers and the four parties
    that share revenue (made once; each example runs in a savepoint rolled back after it)."""
    operator = as_actor("operator")
    orgs = {
        "department": builders.make_org(session, "department"),
        "operator": builders.make_org(session, "operator"),
        "merchant": builders.make_org(session, "data_merchant"),
        "trust": builders.make_org(session, "enterprise", name="数据信托受益人"),
    }
    buyers = [builders.make_org(session, "enterprise") for _ in range(BUYERS)]
    codes = {
        "cash": ledger.account_for(session, operator, None, "cash").code,
        "clearing": ledger.account_for(session, operator, None, "clearing").code,
    }
    for n, buyer in enumerate(buyers):
        codes[f"receivable:{n}"] = ledger.account_for(session, operator, buyer.id, "receivable").code
        codes[f"payable:buyer{n}"] = ledger.account_for(session, operator, buyer.id, "payable").code
    for party, org in orgs.items():
        codes[f"payable:{party}"] = ledger.account_for(session, operator, org.id, "payable").code
    return operator, codes


@dataclass
class Books:
    """What the market's own arithmetic says each account holds (debit positive)."""

    balances: dict[str, int] = field(default_factory=dict)
    paid: list[int] = field(default_factory=lambda: [0] * BUYERS)
    refunded: list[int] = field(default_factory=lambda: [0] * BUYERS)
    settled: int = 0

    def get(self, name: str) -> int:
        return self.balances.get(name, 0)

    def move(self, lines: list[tuple[str, int]]) -> None:
        for name, fen in lines:
            self.balances[name] = self.get(name) + fen

    @property
    def settleable(self) -> int:
        """Paid by buyers and neither refunded nor yet settled to the parties."""
        return sum(self.paid) - sum(self.refunded) - self.settled


amounts = st.integers(min_value=1, max_value=10**9)
percent = st.integers(min_value=1, max_value=100)
weights = st.lists(st.integers(min_value=0, max_value=9), min_size=len(PARTIES), max_size=len(PARTIES)).filter(any)


def shares_of(ws: list[int]) -> list[tuple[str, Fraction]]:
    return [(party, Fraction(w, sum(ws))) for party, w in zip(PARTIES, ws, strict=True) if w]


rules = st.one_of(
    st.tuples(st.just("split"), weights, st.integers(0, 3)),
    st.tuples(st.just("progressive"), weights, weights, st.integers(0, 3), st.integers(0, 10**8)),
)
# each kind listed as often as it should come up: money has to be paid before it is settled, and
# settled before it is paid out, so those steps come up more often than orders
KINDS = ("order", "usage", "payment", "payment", "refund", "settlement", "settlement", "payout", "payout", "retry")
operations = st.tuples(st.sampled_from(KINDS), st.integers(0, 5), percent, amounts, rules)
orders = st.tuples(st.just("order"), st.integers(0, 5), percent, amounts, rules)
PAYEES = (*PARTIES, *(f"buyer{n}" for n in range(BUYERS)))


def settle(amount: int, rule: tuple) -> dict[str, int]:
    if rule[0] == "split":
        shares = shares_of(rule[1])
        return allocate.split(amount, shares, shares[rule[2] % len(shares)][0])
    below, above = shares_of(rule[1]), shares_of(rule[2])
    parties = list(dict.fromkeys(p for p, _ in [*below, *above]))
    return allocate.progressive(amount, rule[4], below, above, parties[rule[3] % len(parties)])


def step(books: Books, op: tuple, prefix: str) -> Posting | None:
    """The posting an operation makes (None when there is nothing to do), applied to ``books``."""
    kind, who, pct, fen, rule = op
    buyer = who % BUYERS
    lines: list[tuple[str, int]] = []
    if kind in ("order", "usage"):
        fen = fen if kind == "order" else fen % 10**6 + 1
        lines = [(f"receivable:{buyer}", fen), ("clearing", -fen)]
    elif kind == "payment":  # a buyer that owes something, if any
        owing = [n for n in range(BUYERS) if books.get(f"receivable:{n}") > 0] or [buyer]
        buyer = owing[who % len(owing)]
        fen = books.get(f"receivable:{buyer}") * pct // 100
        books.paid[buyer] += fen
        lines = [("cash", fen), (f"receivable:{buyer}", -fen)]
    elif kind == "refund":  # never more than the buyer paid, nor than is still unsettled
        paying = [n for n in range(BUYERS) if books.paid[n] > books.refunded[n]] or [buyer]
        buyer = paying[who % len(paying)]
        fen = min(books.paid[buyer] - books.refunded[buyer], books.settleable) * pct // 100
        books.refunded[buyer] += fen
        lines = [("clearing", fen), (f"payable:buyer{buyer}", -fen)]
    elif kind == "settlement":
        fen = books.settleable * pct // 100
        parts = settle(fen, rule)
        assert sum(parts.values()) == fen and min(parts.values()) >= 0
        books.settled += fen
        lines = [("clearing", fen)] + [(f"payable:{party}", -part) for party, part in parts.items()]
    elif kind == "payout":
        owed = [p for p in PAYEES if books.get(f"payable:{p}") < 0] or list(PAYEES)
        whom = owed[who % len(owed)]
        fen = -books.get(f"payable:{whom}") * pct // 100
        lines = [(f"payable:{whom}", fen), ("cash", -fen)]
    lines = [(name, fen) for name, fen in lines if fen]
    if not lines:
        return None
    books.move(lines)
    return Posting(f"{prefix}:{kind}:{next(_examples)}", kind, lines, memo=f"{kind}（性质测试）")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(orders, min_size=1, max_size=3), then=st.lists(operations, min_size=5, max_size=30))
def test_any_sequence_of_market_operations_leaves_the_ledger_balanced(session, market, first, then):
    operator, codes = market
    ops = first + then
    prefix = f"ex{next(_examples)}"
    books = Books()
    posted: list[tuple[Posting, int]] = []
    nested = session.begin_nested()
    try:
        for op in ops:
            if op[0] == "retry":
                if posted:  # a retried call: the same entry back, nothing written
                    posting, entry_id = posted[op[3] % len(posted)]
                    before = session.scalar(select(func.count()).select_from(LedgerEntry))
                    assert ledger.post(session, operator, posting).id == entry_id
                    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before
                continue
            posting = step(books, op, prefix)
            if posting is None:
                continue
            resolved = Posting(posting.reference, posting.kind, [(codes[n], fen) for n, fen in posting.lines])
            posted.append((resolved, ledger.post(session, operator, resolved).id))
        assert ledger.check_balanced(session) == 0
        assert ledger.unbalanced_entries(session) == []
        assert ledger.trial_balance(session, operator).total_fen == 0
        for name, code in codes.items():
            assert ledger.balance(session, operator, code) == books.get(name), name
        assert books.get("cash") >= -sum(books.get(n) for n in codes if n.startswith("payable:")) >= 0
    finally:
        nested.rollback()


# --- allocation, no database ---------------------------------------------------------------------

parties = st.lists(
    st.tuples(st.text("abcdefgh", min_size=1, max_size=3), st.integers(1, 1000)),
    min_size=1,
    max_size=8,
    unique_by=lambda t: t[0],
)


def exact(weighted: list[tuple[str, int]]) -> list[tuple[str, Fraction]]:
    total = sum(w for _, w in weighted)
    return [(p, Fraction(w, total)) for p, w in weighted]


@settings(max_examples=500, deadline=None)
@given(total=st.integers(0, 10**15), weighted=parties, pick=st.integers(0, 7))
def test_split_hands_out_exactly_the_total_each_party_its_floor(total, weighted, pick):
    shares = exact(weighted)
    remainder_to = shares[pick % len(shares)][0]
    parts = allocate.split(total, shares, remainder_to)
    assert list(parts) == [p for p, _ in shares]
    assert sum(parts.values()) == total and min(parts.values()) >= 0
    for party, share in shares:
        floor = total * share.numerator // share.denominator
        if party == remainder_to:
            assert floor <= parts[party] < floor + len(shares)
        else:
            assert parts[party] == floor


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(0, 10**12),
    threshold=st.integers(0, 10**12),
    below=parties,
    above=parties,
    pick=st.integers(0, 15),
)
def test_progressive_hands_out_exactly_the_total(total, threshold, below, above, pick):
    below_shares, above_shares = exact(below), exact(above)
    names = list(dict.fromkeys(p for p, _ in [*below_shares, *above_shares]))
    remainder_to = names[pick % len(names)]
    parts = allocate.progressive(total, threshold, below_shares, above_shares, remainder_to)
    assert sum(parts.values()) == total and min(parts.values()) >= 0
    lower, upper = min(total, threshold), total - min(total, threshold)
    for party in names:
        entitled = sum((lower * s for p, s in below_shares if p == party), Fraction(0)) + sum(
            (upper * s for p, s in above_shares if p == party), Fraction(0)
        )
        floor = entitled.numerator // entitled.denominator
        assert parts[party] >= floor if party == remainder_to else parts[party] == floor


@settings(max_examples=200, deadline=None)
@given(
    totals=st.lists(st.integers(0, 10**12), min_size=1, max_size=20),
    threshold=st.one_of(st.none(), st.integers(0, 10**12)),
    below=parties,
    above=parties,
    pick=st.integers(0, 15),
)
def test_splitting_many_bills_at_once_gives_each_bill_its_own_parts(totals, threshold, below, above, pick):
    below_shares, above_shares = exact(below), exact(above)
    if threshold is None:
        names = [p for p, _ in below_shares]
        remainder_to = names[pick % len(names)]
        one = [allocate.split(t, below_shares, remainder_to) for t in totals]
    else:
        names = list(dict.fromkeys(p for p, _ in [*below_shares, *above_shares]))
        remainder_to = names[pick % len(names)]
        one = [allocate.progressive(t, threshold, below_shares, above_shares, remainder_to) for t in totals]
    many = allocate.progressive_many(totals, threshold, below_shares, above_shares if threshold is not None else None,
                                     remainder_to)  # fmt: skip
    assert many == one


def test_splitting_many_refuses_a_bad_amount_by_its_position():
    shares = [("operator", Fraction(1, 2)), ("department", Fraction(1, 2))]
    with pytest.raises(allocate.InvalidAllocation, match="第 2 笔金额不能为负数"):
        allocate.progressive_many([5, -1], None, shares, None, "operator")

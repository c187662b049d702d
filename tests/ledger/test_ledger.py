"""The double-entry ledger: balanced entries in integer fen only, refused whole (nothing written,
every problem named) otherwise; idempotent by reference; corrected by reversal, never by change;
statements per organisation for its own users; the trial balance sums to zero; only the market's
finance roles post. And the allocation of settled revenue with the remainder to one named party."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from pubdata.audit.models import AuditRecord
from pubdata.authz import SYSTEM
from pubdata.db import utcnow, write_durable
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.ledger import allocate
from pubdata.ledger import service as ledger
from pubdata.ledger.errors import (
    AccountConflict,
    AccountNotFound,
    AlreadyReversed,
    EntryNotFound,
    InvalidAccount,
    InvalidAllocation,
    InvalidPosting,
    PostingConflict,
    StatementNotFound,
    UnbalancedEntry,
    UnknownAccount,
)
from pubdata.ledger.models import LedgerEntry, LedgerLine
from pubdata.ledger.schemas import Posting, PostingLine
from tests import builders


@pytest.fixture
def books(session, as_actor):
    """The operator's finance staff, a buying enterprise and a department, with their accounts."""
    operator = as_actor("operator")
    buyer = as_actor("enterprise")
    department = as_actor("department")
    accounts = {
        "cash": ledger.account_for(session, operator, None, "cash").code,
        "clearing": ledger.account_for(session, operator, None, "clearing").code,
        "receivable": ledger.account_for(session, operator, buyer.organisation_id, "receivable").code,
        "buyer_payable": ledger.account_for(session, operator, buyer.organisation_id, "payable").code,
        "dept_payable": ledger.account_for(session, operator, department.organisation_id, "payable").code,
    }
    return operator, buyer, department, accounts


def counts(session):
    return (
        session.scalar(select(func.count()).select_from(LedgerEntry)),
        session.scalar(select(func.count()).select_from(LedgerLine)),
    )


def order(a, reference="order:1", fen=12_000):
    return Posting(reference, "order", [(a["receivable"], fen), (a["clearing"], -fen)], memo="订单")


def test_posting_moves_money_and_every_balance_follows(session, books):
    operator, buyer, _, a = books
    ledger.post(session, operator, order(a))
    entry = ledger.post(
        session, operator, Posting("payment:1", "payment", [(a["cash"], 12_000), (a["receivable"], -12_000)])
    )
    assert entry.reference == "payment:1" and entry.total_fen == 12_000
    assert [(line.account_code, line.amount_fen) for line in entry.lines] == [
        (a["cash"], 12_000),
        (a["receivable"], -12_000),
    ]
    assert ledger.balance(session, operator, a["cash"]) == 12_000
    assert ledger.balance(session, operator, a["receivable"]) == 0
    assert ledger.balance(session, operator, a["clearing"]) == -12_000
    assert ledger.check_balanced(session) == 0 and ledger.unbalanced_entries(session) == []
    assert ledger.get_entry(session, operator, "payment:1") == entry
    posted = session.scalars(
        select(AuditRecord).order_by(AuditRecord.seq).where(AuditRecord.action == "ledger.post")
    ).all()
    assert [(r.result, r.details["reference"], r.details["total_fen"]) for r in posted] == [
        ("allowed", "order:1", 12_000),
        ("allowed", "payment:1", 12_000),
    ]
    assert posted[0].details["organisations"] == [buyer.organisation_id]


@pytest.mark.parametrize(
    ("lines", "error", "says"),
    [
        ([("cash", 100)], InvalidPosting, "至少要有两行"),
        ([], InvalidPosting, "至少要有两行"),
        ([("cash", True), ("clearing", -1)], InvalidPosting, "整数分，不能是 bool"),
        ([("cash", 1.5), ("clearing", -1.5)], InvalidPosting, "整数分，不能是 float"),
        ([("cash", 100.0), ("clearing", -100)], InvalidPosting, "整数分，不能是 float"),
        ([("cash", Decimal("1")), ("clearing", -1)], InvalidPosting, "整数分，不能是 Decimal"),
        ([("cash", "100"), ("clearing", -100)], InvalidPosting, "整数分，不能是 str"),
        ([("cash", 100), ("clearing", -100), ("receivable", 0)], InvalidPosting, "第 3 行金额为零"),
        ([("cash", 100), ("no:such:account", -100)], UnknownAccount, "第 2 行账户不存在：'no:such:account'"),
        ([("cash", 100), (987_654_321, -100)], UnknownAccount, "账户不存在：987654321"),
        ([("cash", 100), (True, -100)], UnknownAccount, "第 2 行账户不存在：True"),
        ([("cash", 100), ("clearing", -99)], UnbalancedEntry, "借方合计 100 分，贷方合计 99 分，相差 1 分"),
        ([("cash", 100), ("receivable", 100)], UnbalancedEntry, "借贷不平"),
        ([("cash", 100), "clearing"], InvalidPosting, "第 2 行格式不对"),
    ],
)
def test_a_posting_that_is_not_a_balanced_entry_in_fen_is_refused_whole(session, books, lines, error, says):
    operator, _, _, a = books
    resolved = [(a.get(x[0], x[0]), *x[1:]) if isinstance(x, tuple) else x for x in lines]
    before = counts(session)
    with pytest.raises(error) as refused:
        ledger.post(session, operator, Posting("bad:1", "payment", resolved))
    assert says in refused.value.message and refused.value.status == 422
    assert counts(session) == before  # nothing written
    write_durable(session)  # what the request boundary does with refusals
    audited = session.scalars(
        select(AuditRecord)
        .order_by(AuditRecord.seq)
        .where(AuditRecord.action == "ledger.post", AuditRecord.result == "refused")
    ).all()
    assert [(r.details["reference"], r.details["code"]) for r in audited] == [("bad:1", error.code)]


def test_every_problem_is_named_at_once(session, books):
    operator, _, _, a = books
    with pytest.raises(InvalidPosting) as refused:
        ledger.post(session, operator, Posting(" ", "Payment!", [(a["cash"], 0.5), ("nowhere", 0)]))
    fields = [d["field"] for d in refused.value.details]
    assert fields == ["reference", "kind", "lines[1].amount_fen", "lines[2].amount_fen", "lines[2].account"]


def test_the_same_reference_posts_once(session, books):
    operator, _, _, a = books
    first = ledger.post(session, operator, order(a))
    before = counts(session)
    again = ledger.post(  # a retried callback: same lines, in another order, other memo
        session, operator, Posting("order:1", "order", [(a["clearing"], -12_000), (a["receivable"], 12_000)])
    )
    assert again == first and counts(session) == before
    assert ledger.balance(session, operator, a["receivable"]) == 12_000  # not twice
    with pytest.raises(PostingConflict) as conflict:
        ledger.post(session, operator, order(a, fen=13_000))
    assert "order:1" in conflict.value.message and conflict.value.status == 409
    with pytest.raises(PostingConflict):  # the same lines under another kind
        usage = Posting("order:1", "usage", [(a["receivable"], 12_000), (a["clearing"], -12_000)])
        ledger.post(session, operator, usage)
    assert counts(session) == before and ledger.balance(session, operator, a["receivable"]) == 12_000


def test_a_correction_is_a_reversing_entry(session, books):
    operator, _, _, a = books
    original = ledger.post(session, operator, order(a))
    reversal = ledger.reverse(session, operator, "order:1", "order:1:reversal", "下错了单")
    assert reversal.kind == "reversal" and reversal.reverses_id == original.id and reversal.memo == "下错了单"
    assert [(x.account_code, x.amount_fen) for x in reversal.lines] == [
        (a["receivable"], -12_000),
        (a["clearing"], 12_000),
    ]
    assert ledger.balance(session, operator, a["receivable"]) == 0
    assert ledger.get_entry(session, operator, "order:1") == original  # the original stands unchanged
    assert ledger.reverse(session, operator, "order:1", "order:1:reversal") == reversal  # idempotent
    with pytest.raises(AlreadyReversed):
        ledger.reverse(session, operator, "order:1", "order:1:reversal-2")
    with pytest.raises(EntryNotFound):
        ledger.reverse(session, operator, "order:404", "order:404:reversal")
    ledger.post(session, operator, order(a, "order:2"))
    with pytest.raises(PostingConflict):  # the new reference is taken by another entry
        ledger.reverse(session, operator, "order:2", "order:1")
    assert ledger.check_balanced(session) == 0


def test_an_organisation_reads_its_own_statement_with_running_balances(session, as_actor, books):
    operator, buyer, department, a = books
    ledger.post(session, operator, order(a, "order:1", 12_000))
    ledger.post(session, operator, order(a, "order:2", 3_000))
    middle = utcnow()
    ledger.post(session, operator, Posting("payment:1", "payment", [(a["cash"], 15_000), (a["receivable"], -15_000)]))
    ledger.post(session, operator, Posting("refund:1", "refund", [(a["clearing"], 500), (a["buyer_payable"], -500)]))

    whole = ledger.statement(session, buyer, buyer.organisation_id)
    by_code = {s.account.code: s for s in whole.accounts}
    assert set(by_code) == {a["receivable"], a["buyer_payable"]}  # its own accounts only
    receivable = by_code[a["receivable"]]
    assert [(x.reference, x.amount_fen, x.balance_fen) for x in receivable.lines] == [
        ("order:1", 12_000, 12_000),
        ("order:2", 3_000, 15_000),
        ("payment:1", -15_000, 0),
    ]
    assert (receivable.opening_fen, receivable.closing_fen) == (0, 0)
    assert by_code[a["buyer_payable"]].closing_fen == -500

    later = ledger.statement(session, buyer, buyer.organisation_id, start=middle)
    receivable = {s.account.code: s for s in later.accounts}[a["receivable"]]
    assert receivable.opening_fen == 15_000
    assert [(x.reference, x.balance_fen) for x in receivable.lines] == [("payment:1", 0)]
    earlier = ledger.statement(session, buyer, buyer.organisation_id, end=middle)
    assert {s.account.code: s for s in earlier.accounts}[a["receivable"]].closing_fen == 15_000

    assert ledger.balance(session, buyer, a["buyer_payable"]) == -500
    other = as_actor("enterprise")
    with pytest.raises(StatementNotFound):
        ledger.statement(session, other, buyer.organisation_id)
    with pytest.raises(StatementNotFound):
        ledger.statement(session, department, buyer.organisation_id)
    with pytest.raises(AccountNotFound):
        ledger.balance(session, other, a["receivable"])
    with pytest.raises(AccountNotFound):  # the market's own accounts are for oversight only
        ledger.balance(session, buyer, a["cash"])
    with pytest.raises(Unauthenticated):
        ledger.statement(session, as_actor("anonymous"), buyer.organisation_id)
    regulator = as_actor("regulator")
    assert ledger.statement(session, regulator, buyer.organisation_id) == whole
    assert ledger.balance(session, regulator, a["cash"]) == 15_000


def test_the_trial_balance_sums_to_zero(session, as_actor, books):
    operator, _, department, a = books
    ledger.post(session, operator, order(a))
    ledger.post(session, operator, Posting("payment:1", "payment", [(a["cash"], 12_000), (a["receivable"], -12_000)]))
    ledger.post(
        session,
        operator,
        Posting("settlement:1", "settlement", [(a["clearing"], 12_000), (a["dept_payable"], -12_000)]),
    )
    trial = ledger.trial_balance(session, as_actor("regulator"))
    balances = {r.account.code: r.balance_fen for r in trial.rows}
    assert balances[a["cash"]] == 12_000 and balances[a["dept_payable"]] == -12_000
    assert balances[a["clearing"]] == 0 and balances[a["receivable"]] == 0
    assert trial.total_fen == 0 and sum(balances.values()) == 0
    assert trial.debit_fen == -trial.credit_fen >= 12_000
    with pytest.raises(Forbidden):
        ledger.trial_balance(session, as_actor("enterprise"))


@pytest.mark.parametrize("role", ["enterprise", "bank", "department", "data_merchant", "regulator"])
def test_only_the_market_finance_roles_post(session, as_actor, books, role):
    _, _, _, a = books
    outsider = as_actor(role)
    with pytest.raises(Forbidden):
        ledger.post(session, outsider, order(a))
    with pytest.raises(Forbidden):
        ledger.reverse(session, outsider, "order:1", "order:1:reversal")
    with pytest.raises(Forbidden):
        ledger.open_account(session, outsider, "market:mine", "我的账户", "asset")
    assert counts(session) == (0, 0)


def test_the_operator_the_admin_and_the_system_post(session, as_actor, books):
    _, _, _, a = books
    ledger.post(session, as_actor("operator"), order(a, "order:1"))
    ledger.post(session, as_actor("admin"), order(a, "order:2"))
    lines = [PostingLine(a["receivable"], 1, "一分钱"), PostingLine(a["clearing"], -1)]
    ledger.post(session, SYSTEM, Posting("order:3", "order", lines))
    assert counts(session) == (3, 6)


def test_accounts_open_once_per_code(session, as_actor, books):
    operator, buyer, _, a = books
    account = ledger.open_account(session, operator, "market:fees", "平台服务费收入", "revenue")
    assert ledger.open_account(session, operator, "market:fees", "另一个名称", "revenue") == account
    with pytest.raises(AccountConflict):
        ledger.open_account(session, operator, "market:fees", "平台服务费收入", "asset")
    with pytest.raises(AccountConflict):
        ledger.open_account(
            session, operator, "market:fees", "平台服务费收入", "revenue", organisation_id=buyer.organisation_id
        )
    with pytest.raises(InvalidAccount) as bad:
        ledger.open_account(session, operator, "Market Fees", "", "income", organisation_id=987_654_321)
    assert [d["field"] for d in bad.value.details] == ["code", "title", "kind", "organisation_id"]
    receivable = ledger.account_for(session, operator, buyer.organisation_id, "receivable")
    assert receivable.code == a["receivable"] == f"org:{buyer.organisation_id}:receivable"
    assert receivable.kind == "asset" and receivable.title.endswith("应收款")
    with pytest.raises(InvalidAccount):
        ledger.account_for(session, operator, buyer.organisation_id, "cash")  # a market purpose
    with pytest.raises(InvalidAccount):
        ledger.account_for(session, operator, None, "receivable")
    org = builders.make_org(session, "data_merchant")
    assert ledger.account_for(session, operator, org.id, "payable").title == f"{org.name}应付款"


# --- allocation ----------------------------------------------------------------------------------


def test_split_gives_each_party_its_floor_and_the_remainder_to_the_named_one():
    thirds = [("department", Fraction(1, 3)), ("operator", Fraction(1, 3)), ("merchant", Fraction(1, 3))]
    assert allocate.split(100, thirds, "operator") == {"department": 33, "operator": 34, "merchant": 33}
    assert allocate.split(0, thirds, "merchant") == {"department": 0, "operator": 0, "merchant": 0}
    shares = [("department", Fraction(7, 10)), ("operator", Fraction(2, 10)), ("trust", Fraction(1, 10))]
    assert allocate.split(999, shares, "trust") == {"department": 699, "operator": 199, "trust": 101}


def test_progressive_splits_below_and_above_the_threshold_and_rounds_once():
    """The worked example of docs/ledger.md."""
    below = [("department", Fraction(1, 2)), ("operator", Fraction(1, 5)), ("merchant", Fraction(3, 10))]
    above = [
        ("department", Fraction(2, 5)),
        ("operator", Fraction(1, 10)),
        ("merchant", Fraction(2, 5)),
        ("trust", Fraction(1, 10)),
    ]
    parts = allocate.progressive(1_234_567, 500_000, below, above, "operator")
    assert parts == {"department": 543_826, "operator": 173_459, "merchant": 443_826, "trust": 73_456}
    assert sum(parts.values()) == 1_234_567
    assert allocate.progressive(400_000, 500_000, below, above, "operator") == {
        "department": 200_000,
        "operator": 80_000,
        "merchant": 120_000,
        "trust": 0,
    }


@pytest.mark.parametrize(
    ("total", "shares", "remainder_to", "says"),
    [
        (100, [("a", 0.5), ("b", 0.5)], "a", "精确分数"),
        (100, [("a", Fraction(1, 2)), ("b", Fraction(1, 3))], "a", "份额之和必须恰好为 1，实为 5/6"),
        (100, [("a", Fraction(3, 2)), ("b", Fraction(-1, 2))], "a", "份额必须大于零：b"),
        (100, [("a", Fraction(1, 2)), ("a", Fraction(1, 2))], "a", "参与方重复"),
        (100, [("a", Fraction(1))], "b", "尾差归属方必须是参与方之一：b"),
        (-1, [("a", Fraction(1))], "a", "金额不能为负数"),
        (1.0, [("a", Fraction(1))], "a", "整数分，不能是 float"),
        (True, [("a", Fraction(1))], "a", "整数分，不能是 bool"),
        (100, [], "a", "没有任何参与方"),
    ],
)
def test_split_refuses_what_is_not_an_exact_whole_split(total, shares, remainder_to, says):
    with pytest.raises(InvalidAllocation) as refused:
        allocate.split(total, shares, remainder_to)
    assert says in refused.value.message

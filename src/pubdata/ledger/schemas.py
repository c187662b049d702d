"""What the ledger takes and gives back: account kinds and the standard purposes of accounts, a
posting (plain dataclasses, so that nothing coerces an amount: fen are ints, and a float or a
string is refused, never rounded), and the entries, balances and statements as read back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

KINDS: dict[str, str] = {
    "asset": "资产",
    "liability": "负债",
    "revenue": "收入",
    "expense": "费用",
    "equity": "权益",
}


@dataclass(frozen=True)
class Purpose:
    """A standard account: its kind and Chinese title (``{name}`` is the organisation's name)."""

    code: str
    kind: str
    title: str


# The standard accounts of an organisation (code ``org:<id>:<purpose>``) ...
ORG_PURPOSES: dict[str, Purpose] = {
    p.code: p
    for p in (
        # what the organisation owes the market for its orders and usage, until it pays
        Purpose("receivable", "asset", "{name}应收款"),
        # what the market owes the organisation (its settled share, refunds due), until paid out
        Purpose("payable", "liability", "{name}应付款"),
    )
}

# ... and of the market itself (code ``market:<purpose>``, no organisation).
MARKET_PURPOSES: dict[str, Purpose] = {
    p.code: p
    for p in (
        Purpose("cash", "asset", "市场资金存管账户"),  # money the market holds
        Purpose("clearing", "liability", "待结算收入"),  # charged to buyers, not yet settled to parties
        Purpose("adjustment", "equity", "调整"),  # corrections the operator posts by hand
        Purpose("revenue", "revenue", "运营方服务收入"),  # the operator's settled share of sales
    )
}

MAX_LINES = 1000  # lines of one entry
MAX_LINE_FEN = 10**15  # 10 万亿元: far above any sale, far below a 64-bit overflow of sums


@dataclass(frozen=True)
class PostingLine:
    """One line: the account (its code or id) and a signed amount in fen (debit +, credit −)."""

    account: str | int
    amount_fen: Any  # checked by the service: an int (not a bool), nothing else
    memo: str = ""


@dataclass(frozen=True)
class Posting:
    """A journal entry to post. ``lines`` holds ``PostingLine``s or ``(account, amount_fen)`` /
    ``(account, amount_fen, memo)`` tuples. ``reference`` is the idempotency key of the business
    event (``payment:42``): posting it again with the same lines returns the first entry."""

    reference: str
    kind: str
    lines: Sequence[PostingLine | tuple[Any, ...]]
    memo: str = ""


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    title: str
    kind: str
    organisation_id: int | None
    created_at: datetime


class LineRead(BaseModel):
    account_id: int
    account_code: str
    amount_fen: int
    memo: str


class EntryRead(BaseModel):
    id: int
    reference: str
    kind: str
    memo: str
    posted_at: datetime
    posted_by: int | None
    reverses_id: int | None
    lines: list[LineRead]

    @property
    def total_fen(self) -> int:
        """The sum of the debits (equal to the credits)."""
        return sum(line.amount_fen for line in self.lines if line.amount_fen > 0)


class BalanceRow(BaseModel):
    account: AccountRead
    balance_fen: int  # debit positive, credit negative


class TrialBalance(BaseModel):
    rows: list[BalanceRow]
    debit_fen: int  # the sum of the debit balances
    credit_fen: int  # the sum of the credit balances (negative)
    total_fen: int  # their sum: 0 in a ledger that balances


class StatementLine(BaseModel):
    entry_id: int
    reference: str
    kind: str
    posted_at: datetime
    memo: str
    amount_fen: int
    balance_fen: int  # the account's running balance after this line


class AccountStatement(BaseModel):
    account: AccountRead
    opening_fen: int  # the balance before ``start``
    closing_fen: int  # the balance after the last line before ``end``
    lines: list[StatementLine]


class Statement(BaseModel):
    organisation_id: int
    start: datetime | None
    end: datetime | None
    accounts: list[AccountStatement]

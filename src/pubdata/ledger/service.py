"""The ledger's services. Every write needs ``ledger:post`` (the operator's finance staff, the
system); reads need ``ledger:read_any`` (oversight) or, for an organisation's own accounts and
statement, ``ledger:read``.

``post`` is the one way money moves: an entry of at least two non-zero integer-fen lines on known
accounts, summing to zero, under a unique reference. It refuses anything else before writing
anything, naming every problem in Chinese; posting the same reference again with the same lines
returns the first entry and changes nothing (a retried payment callback is harmless), with other
lines it is a conflict. Entries are never changed: ``reverse`` posts the opposite entry. Posts are
audited; refusals are audited too and kept although the refused request rolls back."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.db import utcnow
from pubdata.identity import service as identity
from pubdata.ledger.errors import (
    AccountConflict,
    AccountNotFound,
    AlreadyReversed,
    EntryNotFound,
    InvalidAccount,
    InvalidPeriod,
    InvalidPosting,
    PostingConflict,
    StatementNotFound,
    UnbalancedEntry,
    UnknownAccount,
)
from pubdata.ledger.models import LedgerAccount, LedgerEntry, LedgerLine
from pubdata.ledger.schemas import (
    KINDS,
    MARKET_PURPOSES,
    MAX_LINE_FEN,
    MAX_LINES,
    ORG_PURPOSES,
    AccountRead,
    AccountStatement,
    BalanceRow,
    EntryRead,
    LineRead,
    Posting,
    PostingLine,
    Statement,
    StatementLine,
    TrialBalance,
)

CODE_RE = re.compile(r"[a-z0-9][a-z0-9:_.\-]{0,95}")
KIND_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_REFERENCE = 128
MAX_MEMO = 2000


def is_fen(value: object) -> bool:
    """Whether ``value`` is an amount of fen: an int, and not a bool (floats, Decimals and strings
    are never fen, even when they hold a whole number)."""
    return isinstance(value, int) and not isinstance(value, bool)


# --- accounts ----------------------------------------------------------------------------------


def _account_by_code(session: Session, code: str) -> LedgerAccount | None:
    return session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).first()


def _same_account(existing: LedgerAccount, code: str, kind: str, organisation_id: int | None) -> LedgerAccount:
    if existing.kind != kind or existing.organisation_id != organisation_id:
        owner = "市场" if existing.organisation_id is None else f"机构 {existing.organisation_id}"
        raise AccountConflict(
            f"账户代码已被占用：{code}（{owner}的{KINDS.get(existing.kind, existing.kind)}类账户）",
            details={"code": code, "kind": existing.kind, "organisation_id": existing.organisation_id},
        )
    return existing


@audit.refusals_audited("ledger.account_open", "code")
def _open(
    session: Session, actor: Actor, code: str, title: str, kind: str, organisation_id: int | None
) -> LedgerAccount:
    require(actor, Permission.LEDGER_POST)
    problems = []
    if not isinstance(code, str) or not CODE_RE.fullmatch(code):
        message = f"账户代码只能由小写字母、数字和 : _ . - 组成（至多 96 个字符）：{code!r}"
        problems.append({"field": "code", "message": message})
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > 200:
        problems.append({"field": "title", "message": "账户名称不能为空，至多 200 个字符"})
    if kind not in KINDS:
        problems.append({"field": "kind", "message": f"账户类别必须是 {'、'.join(KINDS)} 之一：{kind!r}"})
    if organisation_id is not None and (
        not is_fen(organisation_id) or not identity.organisations_by_id(session, actor, [organisation_id])
    ):
        problems.append({"field": "organisation_id", "message": f"机构不存在：{organisation_id}"})
    if problems:
        raise InvalidAccount("；".join(p["message"] for p in problems), details=problems)
    existing = _account_by_code(session, code)
    if existing is not None:
        return _same_account(existing, code, kind, organisation_id)
    account = LedgerAccount(code=code, title=title.strip(), kind=kind, organisation_id=organisation_id)
    try:
        with session.begin_nested():
            session.add(account)
    except IntegrityError:  # opened meanwhile by a concurrent caller
        existing = _account_by_code(session, code)
        if existing is None:
            raise
        return _same_account(existing, code, kind, organisation_id)
    audit.record(
        session,
        actor,
        audit.Event(
            "ledger.account_open", publisher_org_id=organisation_id,
            details={"code": code, "kind": kind, "organisation_id": organisation_id},
        ),
    )  # fmt: skip
    return account


def open_account(
    session: Session, actor: Actor, code: str, title: str, kind: str, *, organisation_id: int | None = None
) -> AccountRead:
    """Open the account ``code`` (``kind`` one of ``KINDS``; of an organisation or, without one, the
    market's own). Idempotent: the same code, kind and organisation return the existing account (its
    title unchanged); the code with another kind or organisation is an ``AccountConflict``."""
    return AccountRead.model_validate(_open(session, actor, code, title, kind, organisation_id))


def account_code(organisation_id: int | None, purpose: str) -> str:
    """The code of a standard account: ``org:<id>:<purpose>``, or ``market:<purpose>`` without an
    organisation."""
    return f"market:{purpose}" if organisation_id is None else f"org:{organisation_id}:{purpose}"


def account_for(session: Session, actor: Actor, organisation_id: int | None, purpose: str) -> AccountRead:
    """The standard account of an organisation for ``purpose`` (``ORG_PURPOSES``) or, with
    ``organisation_id`` None, of the market (``MARKET_PURPOSES``), opened on first use."""
    require(actor, Permission.LEDGER_POST)
    purposes = MARKET_PURPOSES if organisation_id is None else ORG_PURPOSES
    if purpose not in purposes:
        whose = "市场" if organisation_id is None else "机构"
        raise InvalidAccount(f"{whose}账户的用途必须是 {'、'.join(purposes)} 之一：{purpose!r}", field="purpose")
    code = account_code(organisation_id, purpose)
    existing = _account_by_code(session, code)
    if existing is not None:
        return AccountRead.model_validate(existing)
    spec = purposes[purpose]
    name = ""
    if organisation_id is not None:
        org = identity.organisations_by_id(session, actor, [organisation_id]).get(organisation_id)
        name = org.name if org is not None else str(organisation_id)
    return open_account(session, actor, code, spec.title.format(name=name), spec.kind, organisation_id=organisation_id)


def accounts_for(session: Session, actor: Actor, organisation_ids: Iterable[int], purpose: str) -> dict[int, str]:
    """``account_for`` for many organisations at once (a month's buyers): their standard accounts'
    codes by organisation, the missing ones opened together (one audit record for them all)."""
    require(actor, Permission.LEDGER_POST)
    if purpose not in ORG_PURPOSES:
        raise InvalidAccount(f"机构账户的用途必须是 {'、'.join(ORG_PURPOSES)} 之一：{purpose!r}", field="purpose")
    wanted = {org: account_code(org, purpose) for org in set(organisation_ids)}
    found: set[str] = set()
    codes = sorted(wanted.values())
    for i in range(0, len(codes), 5000):
        found |= set(session.scalars(select(LedgerAccount.code).where(LedgerAccount.code.in_(codes[i : i + 5000]))))
    missing = sorted(org for org, code in wanted.items() if code not in found)
    if missing:
        names = identity.organisations_by_id(session, actor, missing)
        spec = ORG_PURPOSES[purpose]
        unknown = [org for org in missing if org not in names]
        if unknown:
            raise InvalidAccount(f"机构不存在：{'、'.join(map(str, unknown[:10]))}", field="organisation_id")
        session.execute(
            insert(LedgerAccount),
            [{"code": wanted[org], "title": spec.title.format(name=names[org].name), "kind": spec.kind,
              "organisation_id": org, "created_at": utcnow()} for org in missing],
        )  # fmt: skip
        audit.record(session, actor, audit.Event("ledger.account_open", details={
            "purpose": purpose, "opened": len(missing), "organisations": missing[:100],
        }))  # fmt: skip
    return wanted


def _visible_account(session: Session, actor: Actor, account: str | int) -> LedgerAccount:
    require(actor, Permission.LEDGER_READ)
    found: LedgerAccount | None = None
    if isinstance(account, str):
        found = _account_by_code(session, account)
    elif is_fen(account):
        found = session.get(LedgerAccount, account)
    if found is None or not (
        actor.can(Permission.LEDGER_READ_ANY)
        or (found.organisation_id is not None and found.organisation_id == actor.organisation_id)
    ):
        raise AccountNotFound(f"账户不存在：{account}")
    return found


def balance(session: Session, actor: Actor, account: str | int) -> int:
    """The balance of an account (by code or id) in fen: debits minus credits. An organisation's
    users see their own accounts; the oversight roles every account."""
    found = _visible_account(session, actor, account)
    total = session.scalar(select(func.sum(LedgerLine.amount_fen)).where(LedgerLine.account_id == found.id))
    return int(total or 0)


# --- posting -----------------------------------------------------------------------------------


def _lines_of(posting: Posting, problems: list[dict[str, Any]]) -> list[PostingLine]:
    raw = posting.lines
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        problems.append({"field": "lines", "message": "分录行必须是列表"})
        return []
    lines: list[PostingLine] = []
    for n, item in enumerate(raw, 1):
        if isinstance(item, PostingLine):
            lines.append(item)
        elif isinstance(item, tuple) and len(item) in (2, 3):
            lines.append(PostingLine(*item))
        else:
            problems.append({"field": f"lines[{n}]", "message": f"第 {n} 行格式不对：应为（账户, 金额分[, 摘要]）"})
    return lines


def _check_posting(session: Session, posting: Posting) -> tuple[str, list[tuple[LedgerAccount, int, str]]]:
    """The posting's reference and lines resolved to accounts, or ``InvalidPosting`` (or its
    ``UnknownAccount`` / ``UnbalancedEntry``) naming every problem. Reads only."""
    shape: list[dict[str, Any]] = []
    reference = posting.reference.strip() if isinstance(posting.reference, str) else ""
    if not reference or len(reference) > MAX_REFERENCE:
        shape.append({"field": "reference", "message": f"业务编号（reference）不能为空，至多 {MAX_REFERENCE} 个字符"})
    if not isinstance(posting.kind, str) or not KIND_RE.fullmatch(posting.kind):
        shape.append(
            {"field": "kind", "message": f"分录类型必须是小写英文短词（如 payment、refund）：{posting.kind!r}"}
        )
    if not isinstance(posting.memo, str) or len(posting.memo) > MAX_MEMO:
        shape.append({"field": "memo", "message": f"摘要必须是文本，至多 {MAX_MEMO} 个字符"})
    lines = _lines_of(posting, shape)
    if len(lines) < 2 and not any(p["field"].startswith("lines[") for p in shape):
        shape.append({"field": "lines", "message": f"一笔分录至少要有两行（一借一贷），实有 {len(lines)} 行"})
    if len(lines) > MAX_LINES:
        shape.append({"field": "lines", "message": f"一笔分录至多 {MAX_LINES} 行，实有 {len(lines)} 行"})
    for n, line in enumerate(lines, 1):
        amount = line.amount_fen
        if not is_fen(amount):
            message = f"第 {n} 行金额必须是整数分，不能是 {type(amount).__name__}：{amount!r}"
            shape.append({"field": f"lines[{n}].amount_fen", "message": message})
        elif amount == 0:
            shape.append({"field": f"lines[{n}].amount_fen", "message": f"第 {n} 行金额为零"})
        elif abs(amount) > MAX_LINE_FEN:
            shape.append({"field": f"lines[{n}].amount_fen", "message": f"第 {n} 行金额超出上限 {MAX_LINE_FEN} 分"})
        if not isinstance(line.memo, str) or len(line.memo) > MAX_MEMO:
            shape.append({"field": f"lines[{n}].memo", "message": f"第 {n} 行摘要必须是文本，至多 {MAX_MEMO} 个字符"})

    codes = {line.account for line in lines if isinstance(line.account, str)}
    ids = {line.account for line in lines if is_fen(line.account)}
    by_code = {a.code: a for a in session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(codes)))}
    by_id = {a.id: a for a in session.scalars(select(LedgerAccount).where(LedgerAccount.id.in_(ids)))}
    unknown: list[dict[str, Any]] = []
    resolved: list[tuple[LedgerAccount, int, str]] = []
    for n, line in enumerate(lines, 1):
        account = None
        if isinstance(line.account, str):
            account = by_code.get(line.account)
        elif is_fen(line.account):  # not a bool: True is not account 1
            account = by_id.get(line.account)
        if account is None:
            unknown.append({"field": f"lines[{n}].account", "message": f"第 {n} 行账户不存在：{line.account!r}"})
        else:
            resolved.append((account, line.amount_fen, line.memo if isinstance(line.memo, str) else ""))

    unbalanced: list[dict[str, Any]] = []
    if all(is_fen(line.amount_fen) for line in lines) and lines:
        total = sum(line.amount_fen for line in lines)
        if total != 0:
            debit = sum(a for line in lines if (a := line.amount_fen) > 0)
            credit = -sum(a for line in lines if (a := line.amount_fen) < 0)
            message = f"借贷不平：借方合计 {debit} 分，贷方合计 {credit} 分，相差 {total} 分"
            unbalanced.append({"field": "lines", "message": message})

    problems = shape + unknown + unbalanced
    if problems:
        error = InvalidPosting if shape else UnknownAccount if unknown else UnbalancedEntry
        raise error("；".join(p["message"] for p in problems), details=problems)
    return reference, resolved


def _signature(kind: str, lines: Iterable[tuple[int, int]], reverses_id: int | None) -> tuple[Any, ...]:
    return kind, sorted(lines), reverses_id


def _existing_lines(session: Session, entry: LedgerEntry) -> list[tuple[int, int]]:
    rows = session.execute(select(LedgerLine.account_id, LedgerLine.amount_fen).where(LedgerLine.entry_id == entry.id))
    return [(int(a), int(f)) for a, f in rows]


def _replay(
    session: Session, existing: LedgerEntry, kind: str, lines: list[tuple[int, int]], reverses_id: int | None
) -> LedgerEntry:
    if _signature(existing.kind, _existing_lines(session, existing), existing.reverses_id) != _signature(
        kind, lines, reverses_id
    ):
        raise PostingConflict(
            f"业务编号 {existing.reference} 已于 {existing.posted_at:%Y-%m-%d %H:%M} 以不同的分录过账（类型 "
            f"{existing.kind}），不能以新的分录重复过账；如需更正，请冲销后以新编号过账",
            details={"reference": existing.reference, "entry_id": existing.id},
        )
    return existing


def _entry_by_reference(session: Session, reference: str) -> LedgerEntry | None:
    return session.scalars(select(LedgerEntry).where(LedgerEntry.reference == reference)).first()


def _write(session: Session, actor: Actor, posting: Posting, reverses_id: int | None, action: str) -> LedgerEntry:
    reference, resolved = _check_posting(session, posting)
    lines = [(account.id, amount) for account, amount, _ in resolved]
    existing = _entry_by_reference(session, reference)
    if existing is not None:
        return _replay(session, existing, posting.kind, lines, reverses_id)
    entry = LedgerEntry(
        reference=reference, kind=posting.kind, memo=posting.memo.strip(), posted_at=utcnow(),
        posted_by=actor.user_id, reverses_id=reverses_id,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
            session.add_all(
                LedgerLine(entry_id=entry.id, account_id=account.id, amount_fen=amount, memo=memo.strip())
                for account, amount, memo in resolved
            )
    except IntegrityError:  # the same reference posted meanwhile by a concurrent caller
        existing = _entry_by_reference(session, reference)
        if existing is None:
            raise
        return _replay(session, existing, posting.kind, lines, reverses_id)
    organisations = sorted({a.organisation_id for a, _, _ in resolved if a.organisation_id is not None})
    audit.record(
        session,
        actor,
        audit.Event(
            action,
            details={"reference": reference, "kind": posting.kind, "entry": entry.id, "lines": len(resolved),
                     "total_fen": sum(amount for _, amount, _ in resolved if amount > 0),
                     "organisations": organisations, "reverses": reverses_id},
        ),
    )  # fmt: skip
    return entry


@audit.refusals_audited("ledger.post", "reference")
def _post(session: Session, actor: Actor, reference: str, posting: Posting) -> LedgerEntry:
    require(actor, Permission.LEDGER_POST)
    return _write(session, actor, posting, None, "ledger.post")


def post(session: Session, actor: Actor, posting: Posting) -> EntryRead:
    """Post a journal entry. Refused, with nothing written and every problem named: fewer than two
    lines, an amount that is not an int of fen (bool, float, Decimal, str), a zero line, an unknown
    account, lines that do not sum to zero (``InvalidPosting``, ``UnknownAccount``,
    ``UnbalancedEntry``). Idempotent by ``posting.reference``: the same reference, kind and lines
    (in any order) return the entry first posted; other lines or kind raise ``PostingConflict``."""
    reference = posting.reference if isinstance(posting.reference, str) else repr(posting.reference)
    return _entry_read(session, _post(session, actor, reference, posting))


@audit.refusals_audited("ledger.reverse", "reference")
def _reverse(session: Session, actor: Actor, reference: str, new_reference: str, memo: str) -> LedgerEntry:
    require(actor, Permission.LEDGER_POST)
    original = _entry_by_reference(session, reference.strip() if isinstance(reference, str) else "")
    if original is None:
        raise EntryNotFound(f"分录不存在：{reference}")
    reversal = session.scalars(select(LedgerEntry).where(LedgerEntry.reverses_id == original.id)).first()
    if reversal is not None and reversal.reference != (new_reference.strip() if isinstance(new_reference, str) else ""):
        raise AlreadyReversed(
            f"分录 {original.reference} 已被分录 {reversal.reference} 冲销，不能再次冲销",
            details={"reference": original.reference, "reversed_by": reversal.reference},
        )
    lines = [
        PostingLine(account_id, -amount, line_memo)
        for account_id, amount, line_memo in session.execute(
            select(LedgerLine.account_id, LedgerLine.amount_fen, LedgerLine.memo)
            .where(LedgerLine.entry_id == original.id)
            .order_by(LedgerLine.id)
        )
    ]
    posting = Posting(new_reference, "reversal", lines, memo or f"冲销 {original.reference}")
    return _write(session, actor, posting, original.id, "ledger.reverse")


def reverse(session: Session, actor: Actor, reference: str, new_reference: str, memo: str = "") -> EntryRead:
    """Correct an entry without changing it: post, under ``new_reference``, the entry with every
    line of ``reference`` negated (kind ``reversal``). An entry is reversed at most once
    (``AlreadyReversed``); the same call again returns the reversal already posted."""
    return _entry_read(session, _reverse(session, actor, reference, new_reference, memo))


def _entry_read(session: Session, entry: LedgerEntry) -> EntryRead:
    rows = session.execute(
        select(LedgerLine, LedgerAccount.code)
        .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
        .where(LedgerLine.entry_id == entry.id)
        .order_by(LedgerLine.id)
    )
    return EntryRead(
        id=entry.id, reference=entry.reference, kind=entry.kind, memo=entry.memo, posted_at=entry.posted_at,
        posted_by=entry.posted_by, reverses_id=entry.reverses_id,
        lines=[LineRead(account_id=line.account_id, account_code=code, amount_fen=line.amount_fen, memo=line.memo)
               for line, code in rows],
    )  # fmt: skip


def get_entry(session: Session, actor: Actor, reference: str) -> EntryRead:
    """The entry posted under ``reference`` with its lines (oversight roles)."""
    require(actor, Permission.LEDGER_READ_ANY)
    entry = _entry_by_reference(session, reference)
    if entry is None:
        raise EntryNotFound(f"分录不存在：{reference}")
    return _entry_read(session, entry)


# --- reports -----------------------------------------------------------------------------------


def trial_balance(session: Session, actor: Actor) -> TrialBalance:
    """Every account's balance (debit positive), by code; the balances sum to zero."""
    require(actor, Permission.LEDGER_READ_ANY)
    rows = session.execute(
        select(LedgerAccount, func.coalesce(func.sum(LedgerLine.amount_fen), 0))
        .outerjoin(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
        .group_by(LedgerAccount.id)
        .order_by(LedgerAccount.code)
    ).all()
    out = [BalanceRow(account=AccountRead.model_validate(a), balance_fen=int(b)) for a, b in rows]
    debit = sum(r.balance_fen for r in out if r.balance_fen > 0)
    credit = sum(r.balance_fen for r in out if r.balance_fen < 0)
    return TrialBalance(rows=out, debit_fen=debit, credit_fen=credit, total_fen=debit + credit)


def statement(
    session: Session, actor: Actor, organisation_id: int, *, start: datetime | None = None, end: datetime | None = None
) -> Statement:
    """An organisation's accounts, each with its opening balance (before ``start``), its lines
    posted in ``[start, end)`` in the order posted with the running balance after each, and its
    closing balance. For the organisation's own users and the oversight roles; anyone else is told
    there is no such statement."""
    require(actor, Permission.LEDGER_READ)
    if not actor.can(Permission.LEDGER_READ_ANY) and (
        actor.organisation_id is None or actor.organisation_id != organisation_id
    ):
        raise StatementNotFound(f"没有该机构的账户对账单：{organisation_id}")
    if start is not None and end is not None and end <= start:
        raise InvalidPeriod(f"对账期间的结束时间必须晚于开始时间：{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}")
    if not is_fen(organisation_id) or not identity.organisations_by_id(session, actor, [organisation_id]):
        raise StatementNotFound(f"没有该机构的账户对账单：{organisation_id}")
    accounts = session.scalars(
        select(LedgerAccount).where(LedgerAccount.organisation_id == organisation_id).order_by(LedgerAccount.code)
    ).all()
    out = []
    for account in accounts:
        opening = 0
        if start is not None:
            opening = int(
                session.scalar(
                    select(func.coalesce(func.sum(LedgerLine.amount_fen), 0))
                    .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
                    .where(LedgerLine.account_id == account.id, LedgerEntry.posted_at < start)
                )
                or 0
            )
        stmt = (
            select(LedgerLine, LedgerEntry)
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(LedgerLine.account_id == account.id)
            .order_by(LedgerEntry.id, LedgerLine.id)
        )
        if start is not None:
            stmt = stmt.where(LedgerEntry.posted_at >= start)
        if end is not None:
            stmt = stmt.where(LedgerEntry.posted_at < end)
        running = opening
        lines = []
        for line, entry in session.execute(stmt):
            running += line.amount_fen
            lines.append(
                StatementLine(
                    entry_id=entry.id, reference=entry.reference, kind=entry.kind, posted_at=entry.posted_at,
                    memo=line.memo or entry.memo, amount_fen=line.amount_fen, balance_fen=running,
                )
            )  # fmt: skip
        out.append(
            AccountStatement(
                account=AccountRead.model_validate(account), opening_fen=opening, closing_fen=running, lines=lines
            )
        )
    return Statement(organisation_id=organisation_id, start=start, end=end, accounts=out)


def check_balanced(session: Session) -> int:
    """The sum of every line of the ledger: 0 when it balances (for tests and operations)."""
    return int(session.scalar(select(func.coalesce(func.sum(LedgerLine.amount_fen), 0))) or 0)


def unbalanced_entries(session: Session) -> list[str]:
    """The references of entries whose lines do not sum to zero or that have fewer than two lines:
    none, in a ledger only ``post`` wrote to (for tests and operations)."""
    rows = session.scalars(
        select(LedgerEntry.reference)
        .outerjoin(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .group_by(LedgerEntry.id, LedgerEntry.reference)
        .having((func.coalesce(func.sum(LedgerLine.amount_fen), 0) != 0) | (func.count(LedgerLine.id) < 2))
        .order_by(LedgerEntry.id)
    )
    return list(rows)

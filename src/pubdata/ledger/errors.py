"""Ledger errors."""

from __future__ import annotations

from pubdata.errors import Conflict, Invalid, NotFound


class AccountNotFound(NotFound):
    code = "ledger.account_not_found"


class EntryNotFound(NotFound):
    code = "ledger.entry_not_found"


class StatementNotFound(NotFound):
    """No statement the actor may read: another organisation's books are reported as not found."""

    code = "ledger.statement_not_found"


class InvalidAccount(Invalid):
    code = "ledger.invalid_account"


class AccountConflict(Conflict):
    """The code is taken by an account of another kind or organisation."""

    code = "ledger.account_conflict"


class InvalidPosting(Invalid):
    """A posting the ledger cannot take as it is (too few lines, an amount that is not whole fen,
    a zero line, a bad reference or kind). ``details`` names every problem."""

    code = "ledger.invalid_posting"


class UnknownAccount(InvalidPosting):
    code = "ledger.unknown_account"


class UnbalancedEntry(InvalidPosting):
    """The lines do not sum to zero: debits and credits differ."""

    code = "ledger.unbalanced_entry"


class PostingConflict(Conflict):
    """The reference was already posted with other lines (or kind)."""

    code = "ledger.posting_conflict"


class AlreadyReversed(Conflict):
    code = "ledger.already_reversed"


class InvalidAllocation(Invalid):
    code = "ledger.invalid_allocation"


class InvalidPeriod(Invalid):
    code = "ledger.invalid_period"

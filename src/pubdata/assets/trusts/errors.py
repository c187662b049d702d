"""Errors of data trusts (codes ``asset_trust.*``)."""

from __future__ import annotations

from pubdata.errors import Conflict, Forbidden, Invalid, NotFound


class TrustNotFound(NotFound):
    """No trust the actor may see: a trust of other organisations is reported as not found."""

    code = "asset_trust.not_found"


class InvalidTrust(Invalid):
    """A trust that cannot be taken as it is. ``details`` names every problem (``field``, ``message``);
    the error's class follows the first kind of problem (the subclasses below)."""

    code = "asset_trust.invalid"


class InvalidShares(InvalidTrust):
    """Beneficiary shares not positive, not summing to exactly one, a beneficiary twice, no or two
    remainder parties."""

    code = "asset_trust.invalid_shares"


class InvalidTrustee(InvalidTrust):
    """The trustee is not a licensed trust company (see docs/trusts.md for the rule) or is the settlor."""

    code = "asset_trust.invalid_trustee"


class InvalidFee(InvalidTrust):
    """Neither or both fee kinds, a rate outside 0–10000 basis points, a fixed fee that is not whole fen."""

    code = "asset_trust.invalid_fee"


class InvalidTerm(InvalidTrust):
    code = "asset_trust.invalid_term"


class AssetNotRegistered(InvalidTrust):
    """An entrusted code that is not a registration in force (unknown, superseded, cancelled, a licence)."""

    code = "asset_trust.asset_not_registered"


class AssetNotHeld(InvalidTrust):
    """The settlor does not hold an entrusted asset (the registration's holder is someone else)."""

    code = "asset_trust.asset_not_held"


class AssetAlreadyEntrusted(InvalidTrust):
    """An entrusted asset is already trust property of another active trust."""

    code = "asset_trust.asset_already_entrusted"


class NotSettlor(Forbidden):
    """Only the settlor's organisation (or the operator) creates and edits a trust."""

    code = "asset_trust.not_settlor"


class CodeTaken(Conflict):
    code = "asset_trust.code_taken"


class WrongState(Conflict):
    """Editing a trust that is not a draft, approving one that is not, distributing from one that is
    not active."""

    code = "asset_trust.wrong_state"


class OutsideTerm(WrongState):
    """A distribution before the trust's term starts or after it ends; approving a trust whose term is over."""

    code = "asset_trust.outside_term"


class InvalidDistribution(Invalid):
    """A gross amount that is not a non-negative int of fen, a bad reference."""

    code = "asset_trust.invalid_distribution"


class DistributionConflict(Conflict):
    """The reference was already used for another distribution (another amount or trust) or ledger entry."""

    code = "asset_trust.distribution_conflict"


class InsufficientFunds(Conflict):
    """The trust's clearing account holds less than the gross amount to distribute."""

    code = "asset_trust.insufficient_funds"

"""Consent errors."""

from __future__ import annotations

from pubdata.errors import Conflict, Forbidden, Invalid, NotFound


class ConsentNotFound(NotFound):
    code = "finance.consent_not_found"


class InvalidConsent(Invalid):
    code = "finance.invalid_consent"


class UnknownBank(Invalid):
    """The named organisation is not a bank admitted to the finance zone."""

    code = "finance.unknown_bank"


class ConsentRevoked(Conflict):
    code = "finance.consent_revoked"


class ConsentRequired(Forbidden):
    """No live consent of the enterprise lets this bank read (these sections of) its report."""

    code = "finance.consent_required"

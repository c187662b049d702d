"""Errors of appraisal reports (codes ``appraisal.*``). Inputs out of range are refused by the
calculation core with ``pubdata.assets.appraisal.InvalidAppraisal`` (``assets.invalid_appraisal``),
``details`` naming every field."""

from __future__ import annotations

from pubdata.errors import Conflict, Forbidden, Invalid, NotFound


class AppraisalNotFound(NotFound):
    """No report the actor may see: a report of another agency (or a draft for the asset's holder)
    is reported as not found."""

    code = "appraisal.not_found"


class InvalidReport(Invalid):
    """A header, reconciliation or classification that cannot be taken as it is; ``details`` names
    every problem (``field``, ``message``)."""

    code = "appraisal.invalid"


class AssetNotAppraisable(InvalidReport):
    """The registration code is unknown, no longer in force, or registers a licence or a
    cancellation rather than the asset itself."""

    code = "appraisal.asset_not_appraisable"


class UnknownTransaction(InvalidReport):
    """A comparable names a transaction reference that is not a settled transaction of the platform,
    or one settled after the valuation date."""

    code = "appraisal.unknown_transaction"


class NoQualityReport(InvalidReport):
    """δ from the quality report was asked for an asset whose table has no measured report."""

    code = "appraisal.no_quality_report"


class NotAgency(Forbidden):
    """Only an appraisal agency's users (``APPRAISAL_WRITE``) write reports, and only their own agency's."""

    code = "appraisal.not_agency"


class WrongState(Conflict):
    """Editing or signing a report that is not a draft (a signed report is immutable: re-appraise
    with a new report), withdrawing one that is not signed."""

    code = "appraisal.wrong_state"


class Incomplete(Conflict):
    """Signing a report without a method result, a reconciliation, a classification or an appraiser."""

    code = "appraisal.incomplete"

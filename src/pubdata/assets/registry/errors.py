"""Errors of the data-asset registry (确权登记)."""

from __future__ import annotations

from pubdata.errors import Conflict, Forbidden, Invalid, NotFound


class RegistrationNotFound(NotFound):
    """No registration the actor may see (another organisation's application is reported as not found)."""

    code = "registry.not_found"


class InvalidRegistration(Invalid):
    """Bad application input; ``details`` names every field at fault."""

    code = "registry.invalid"


class CoreDataRefused(InvalidRegistration):
    """核心数据 is never registered."""

    code = "registry.core_data"


class FingerprintMismatch(InvalidRegistration):
    """The fingerprint the applicant supplied is not the recomputed one of the version."""

    code = "registry.fingerprint_mismatch"


class FingerprintUnavailable(InvalidRegistration):
    """The version cannot be fingerprinted as asked (only a grant-narrowed view is readable)."""

    code = "registry.fingerprint_unavailable"


class NotHolder(Forbidden):
    """The holder neither publishes a source entry, nor may use it as open data, nor holds an active
    grant for it (or the actor is not the holder of what it amends)."""

    code = "registry.not_holder"


class WrongState(Conflict):
    code = "registry.wrong_state"


class NoticeNotOver(WrongState):
    code = "registry.notice_not_over"


class ObjectionsPending(WrongState):
    code = "registry.objections_pending"


class AlreadyRegistered(Conflict):
    """The subject already has an active initial registration (or the amended one a pending amendment)."""

    code = "registry.already_registered"


class ObjectionNotFound(NotFound):
    code = "registry.objection_not_found"

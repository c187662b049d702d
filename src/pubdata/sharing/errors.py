"""Errors of Delta Sharing: profiles, the protocol's names, and pre-signed file URLs."""

from __future__ import annotations

from pubdata.errors import Forbidden, Invalid, NotFound, Unauthenticated


class ProfileNotFound(NotFound):
    code = "sharing.profile_not_found"


class InvalidProfileInput(Invalid):
    code = "sharing.invalid_profile"


class InvalidRecipientToken(Unauthenticated):
    """An unknown, expired or revoked recipient token (401, as the protocol asks)."""

    code = "sharing.invalid_token"


class ShareNotFound(NotFound):
    """A share, schema or table the recipient may not read is reported as not there."""

    code = "sharing.not_found"


class InvalidSharingRequest(Invalid):
    code = "sharing.invalid_request"


class FileUrlRefused(Forbidden):
    """A pre-signed file URL that has expired, was tampered with or whose profile is revoked."""

    code = "sharing.file_url_refused"

"""Domain errors. Each carries a namespaced ``code`` and an HTTP ``status``; the API, CKAN API,
portal and CLI render them in one place each."""

from __future__ import annotations

from typing import Any


class PubdataError(Exception):
    status = 500
    code = "pubdata.error"
    retry_after: int | None = None  # seconds; every surface sends it as ``Retry-After``

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class NotFound(PubdataError):
    status = 404
    code = "not_found"


class Forbidden(PubdataError):
    status = 403
    code = "forbidden"


class Unauthenticated(PubdataError):
    status = 401
    code = "unauthenticated"


class Invalid(PubdataError):
    """Bad input. ``details`` is a list of ``{"field", "message"}``."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, details: Any = None):
        if details is None and field is not None:
            details = [{"field": field, "message": message}]
        super().__init__(message, code=code, details=details)
        self.field = field


class Conflict(PubdataError):
    status = 409
    code = "conflict"


class RateLimited(PubdataError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None):
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after


class TooLarge(PubdataError):
    """A request bigger than a named limit (its body, a list in it)."""

    status = 413
    code = "too_large"


class Unavailable(PubdataError):
    """The server is saturated (database connections, workers): try again after ``retry_after``."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None):
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after

"""Errors of the CKAN layer itself (request shape, search syntax), alongside the domain errors that
``routes`` renders in CKAN's envelope."""

from __future__ import annotations


class CkanError(Exception):
    """An error detected by the CKAN layer before any service is called."""

    status = 400
    ckan_type = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(CkanError):
    """CKAN answers malformed requests (unknown action, broken JSON) with a bare JSON string."""

    status = 400


class SearchQueryError(CkanError):
    status = 400
    ckan_type = "Search Query Error"


class ValidationError(CkanError):
    """CKAN's validation error: field names as keys, each with a list of messages."""

    status = 409
    ckan_type = "Validation Error"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors.items()), ("", [""]))
        super().__init__(f"{first[0]}: {first[1][0] if first[1] else ''}")
        self.errors = errors


def invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})

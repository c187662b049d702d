from pubdata.errors import Conflict, Forbidden, Invalid, NotFound


class EntryNotFound(NotFound):
    code = "catalog.entry_not_found"


class ResourceNotFound(NotFound):
    code = "catalog.resource_not_found"


class CategoryNotFound(NotFound):
    code = "catalog.category_not_found"


class DuplicateEntryCode(Conflict):
    code = "catalog.duplicate_code"


class InvalidEntry(Invalid):
    code = "catalog.invalid_entry"


class InvalidSearch(Invalid):
    code = "catalog.invalid_search"


class NotEntryOwner(Forbidden):
    code = "catalog.not_owner"


class DuplicateResourceName(Conflict):
    code = "catalog.duplicate_resource"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message, details=[{"field": field, "message": message}] if field else None)

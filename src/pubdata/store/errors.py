from pubdata.errors import Conflict, Invalid, NotFound


class TableNotFound(NotFound):
    code = "store.table_not_found"


class TableExists(Conflict):
    code = "store.table_exists"


class TableNotCreated(Conflict):
    """Rows sent to a resource that has no table yet; the message names how to give it one."""

    code = "store.table_not_created"


class InvalidSchema(Invalid):
    code = "store.invalid_schema"


class VersionNotFound(NotFound):
    code = "store.version_not_found"


class VersionNotPublished(Invalid):
    code = "store.version_not_published"

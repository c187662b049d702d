from pubdata.errors import Invalid, NotFound


class TableNotFound(NotFound):
    code = "store.table_not_found"


class InvalidSchema(Invalid):
    code = "store.invalid_schema"

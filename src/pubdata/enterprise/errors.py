from pubdata.errors import Conflict, Invalid, NotFound


class FactsNotBuilt(NotFound):
    code = "enterprise.facts_not_built"


class EnterpriseNotFound(NotFound):
    code = "enterprise.not_found"


class RegistryMissing(Invalid):
    code = "enterprise.registry_missing"


class SourceColumnsMissing(Invalid):
    code = "enterprise.source_columns_missing"


class InvalidYear(Invalid):
    code = "enterprise.invalid_year"


class FactsBuildConflict(Conflict):
    code = "enterprise.facts_build_conflict"

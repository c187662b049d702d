from pubdata.errors import Conflict, Forbidden, Invalid, NotFound


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


class InvalidFactSources(Invalid):
    """A fact-sources file that cannot be used; ``details`` lists every problem by its path."""

    code = "enterprise.invalid_fact_sources"


class FactSourceMissing(SourceColumnsMissing):
    """A source the fact-sources file names is not in the catalogue (entry or resource) or lacks a
    column: a configuration problem, refused before anything is written."""

    code = "enterprise.fact_source_missing"


class SourceUnitMissing(Invalid):
    """A money column a fact reads declares no money unit in its Table Schema (``unit``)."""

    code = "enterprise.source_unit_missing"


class InvalidSuppliedFacts(Invalid):
    """Supplied facts that cannot be stored; ``details`` names every problem by fact. Nothing of the
    supply is written."""

    code = "enterprise.invalid_supplied_facts"


class SupplyNotAllowed(Forbidden):
    """Only the enterprise's own users supply its facts (those who may read any enterprise's facts
    see them, but may not supply them)."""

    code = "enterprise.supply_not_allowed"


class SupplyConflict(Conflict):
    """Another supply of the same fact of the same enterprise was stored at the same moment."""

    code = "enterprise.supply_conflict"

"""What the enterprise domain returns: the fact catalogue, facts versions, one enterprise's facts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

from pubdata.enterprise.facts import FactDef

# A ``number`` fact (two decimals, e.g. a percentage) is exact in Python and a JSON number on the wire.
Number = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
FactScalar = bool | int | Number | str | date | None


class SourceRead(BaseModel):
    key: str
    entry_code: str  # the first of entry_codes; "" for a source without a table
    title: str
    covers: str
    kind: str = "table"  # table | enterprise_supplied | derived
    entry_codes: list[str] = []


class FactDefRead(BaseModel):
    name: str
    title: str
    meaning: str
    type: str
    unit: str
    values: list[str] | None
    missing: str  # the rule for an enterprise its source has no record of
    source: SourceRead


class FactsVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    year: int
    enterprises: int
    sources: dict[str, int | None]  # entry code → the version read (None: no published data)
    sources_file_version: str | None = None  # the fact-sources file's version it was built from
    supplied_through: int | None = None  # the newest enterprise-supplied value it carries (row id)
    built_via: str
    seconds: float
    built_at: datetime


class FactsBuild(BaseModel):
    """The outcome of ``build_facts``: the current version, and whether this call built it."""

    version: FactsVersionRead
    built: bool
    stale_before: bool


class FactValue(BaseModel):
    name: str
    title: str
    value: FactScalar
    type: str
    unit: str
    meaning: str
    missing: str
    source: SourceRead
    supplied: bool = False  # an enterprise-supplied fact (public data cannot supply it)
    # who supplied the current value and when (enterprise-supplied facts with a value supplied)
    supplied_by: str | None = None
    supplied_at: datetime | None = None
    supplied_note: str | None = None


class EnterpriseFacts(BaseModel):
    uscc: str
    name: str | None
    version: FactsVersionRead
    values: dict[str, FactScalar]  # fact name → value (None: unknown)
    facts: list[FactValue]


def fact_def_read(f: FactDef, source: SourceRead) -> FactDefRead:
    return FactDefRead(
        name=f.name,
        title=f.title,
        meaning=f.meaning,
        type=f.type,
        unit=f.unit,
        values=list(f.values) if f.values else None,
        missing=f.missing,
        source=source,
    )


class SuppliedFactRead(BaseModel):
    """One value an enterprise supplied, with who supplied it and when."""

    id: int
    name: str
    title: str
    type: str
    unit: str
    value: FactScalar  # None: the value was withdrawn (unknown again)
    note: str
    supplied_by: str  # the user's name when they supplied it
    supplied_by_user_id: int | None
    organisation_id: int | None
    supplied_at: datetime
    superseded_at: datetime | None = None  # None: the current value


class SuppliedFacts(BaseModel):
    """An enterprise's supplied facts: the current value of each fact supplied (withdrawn ones
    left out), and the history, newest first."""

    uscc: str
    current: list[SuppliedFactRead]
    history: list[SuppliedFactRead]


class SupplyResult(BaseModel):
    """The outcome of ``supply_facts``: the values stored now, the names whose value was already
    exactly that (nothing written), and the enterprise's supplied facts afterwards."""

    stored: list[str]
    unchanged: list[str]
    facts: SuppliedFacts

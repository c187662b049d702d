"""The enterprise domain's tables: the versions of the enterprise facts table (一企一档), and the
facts only an enterprise can supply, with who supplied them and when.

The facts themselves live outside the metadata database, one Parquet file per version under
``$PUBDATA_HOME/enterprise/facts/v<number>/facts.parquet`` (``enterprise/files.py``); a row here
says which file is current and what it was built from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class EnterpriseFactsVersion(Base):
    """One build of the facts table: the facts year, how many enterprises, and the version of
    every source table it read (``{entry code: version number or null when the source had no
    data}``) and the fact-sources file's version and digest, which is how staleness is decided.
    The newest version is the current one."""

    __tablename__ = "enterprise_facts_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    year: Mapped[int]
    enterprises: Mapped[int] = mapped_column(BigInteger)
    sources: Mapped[dict[str, Any]] = mapped_column(JSON)
    # the fact-sources file it was built from: its ``version`` and a digest of its bytes
    sources_file_version: Mapped[str | None] = mapped_column(String(64))
    sources_file_digest: Mapped[str | None] = mapped_column(String(64))
    # the newest enterprise-supplied value (``enterprise_supplied_fact.id``) the build carried: a
    # value supplied after it makes the facts stale (None: built before supplied facts existed)
    supplied_through: Mapped[int | None] = mapped_column()
    built_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    built_via: Mapped[str] = mapped_column(String(16), default="cli")  # cli | api | demo | job
    seconds: Mapped[float] = mapped_column(default=0.0)  # how long the DuckDB pass took
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnterpriseSuppliedFact(Base):
    """One value of an enterprise-supplied fact (``FactDef.supplied``), as the enterprise's own user
    gave it. History is kept: a new value for the same enterprise and fact is a new row that
    ``supersedes`` the old one, whose ``superseded_at`` is then set; the current value is the row
    not superseded (at most one per enterprise and fact). ``value`` is the canonical text of the
    typed value (``true``/``false``, integer digits, a decimal with two places, the string or ISO
    date); None withdraws the value (unknown again)."""

    __tablename__ = "enterprise_supplied_fact"
    __table_args__ = (
        Index(
            "uq_enterprise_supplied_fact_current",
            "uscc",
            "name",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(80))
    value: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"))
    supplied_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    supplied_by_name: Mapped[str] = mapped_column(String(100), default="")  # the user's name then
    supplied_at: Mapped[datetime] = mapped_column(default=utcnow)
    supersedes: Mapped[int | None] = mapped_column(unique=True)  # the row this value replaced
    superseded_at: Mapped[datetime | None] = mapped_column()

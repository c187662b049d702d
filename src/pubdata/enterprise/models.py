"""The enterprise domain's tables: the versions of the enterprise facts table (一企一档).

The facts themselves live outside the metadata database, one Parquet file per version under
``$PUBDATA_HOME/enterprise/facts/v<number>/facts.parquet`` (``enterprise/files.py``); a row here
says which file is current and what it was built from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
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
    built_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    built_via: Mapped[str] = mapped_column(String(16), default="cli")  # cli | api | demo | job
    seconds: Mapped[float] = mapped_column(default=0.0)  # how long the DuckDB pass took
    built_at: Mapped[datetime] = mapped_column(default=utcnow)

"""The finance domain's tables: scorecard model versions (expert and fitted, each exact text kept)
and score runs (one pass of a model version over one facts version).

The scores themselves live outside the metadata database, one Parquet file per (facts version,
model version) under ``$PUBDATA_HOME/finance/scores/`` (``finance/files.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class FinanceModelVersion(Base):
    """A scorecard exactly as it scored: the model file's text (for a fitted card, the card written
    from the fit), its metrics (fitted: AUC, Gini, KS, IV per feature on the hold-out) and chart data
    (score distribution, ROC, KS curves, PSI over time). Expert and fitted versions sit side by side;
    none is ever changed or deleted, so a score always says which card made it."""

    __tablename__ = "finance_model_version"
    __table_args__ = (UniqueConstraint("model_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[str] = mapped_column(String(48), index=True)
    version: Mapped[int] = mapped_column(Integer)  # the card's own version number
    kind: Mapped[str] = mapped_column(String(16))  # expert | fitted
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the text
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    charts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    training: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # fitted: what it learnt from
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceScoreRun(Base):
    """One scoring pass of a model version over every enterprise of one facts version."""

    __tablename__ = "finance_score_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("finance_model_version.id"), index=True)
    facts_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    enterprises: Mapped[int] = mapped_column(BigInteger, default=0)
    grades: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {grade: enterprises}
    mean_score: Mapped[float | None] = mapped_column(nullable=True)
    psi: Mapped[float | None] = mapped_column(nullable=True)  # fitted: against the training population
    charts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # score distribution
    results_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    seconds: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    via: Mapped[str] = mapped_column(String(16), default="cli")  # cli | api | job
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)

"""What the credit-scoring services return (API, CLI and portal share them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Value = str | int | float | bool | None


class ModelVersionRead(BaseModel):
    """A scorecard version: expert (a shipped model file) or fitted (on a bank's outcomes)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    model_id: str
    version: int
    kind: str
    digest: str
    title: str
    created_at: datetime
    metrics: dict[str, Any] | None = Field(default=None, description="fitted: AUC, Gini, KS, IV per feature (hold-out)")
    charts: dict[str, Any] | None = Field(
        default=None, description="fitted: score distribution, ROC and KS curves, PSI over time"
    )
    training: dict[str, Any] | None = Field(default=None, description="fitted: outcomes, split, facts version")


class ScoreRunRead(BaseModel):
    id: int
    model_id: str
    model_version: int
    model_version_id: int
    kind: str
    digest: str
    facts_version: int
    facts_year: int | None
    state: str
    enterprises: int
    grades: dict[str, int]
    mean_score: float | None
    psi: float | None = Field(default=None, description="fitted cards: PSI against the training population")
    charts: dict[str, Any] | None = Field(default=None, description="score distribution (20-point buckets)")
    seconds: float
    error: str | None = None
    started_at: datetime
    finished_at: datetime | None
    reused: bool = Field(default=False, description="an earlier run of the same card over the same facts")


class ScaleRead(BaseModel):
    base: int
    min: int
    max: int


class GradeCutRead(BaseModel):
    grade: str
    min: int


class FeatureScore(BaseModel):
    fact: str
    label: str
    value: Value = Field(description="the value binned: the fact, or a date's age in complete years")
    value_text: str
    points: int
    neutral: int
    contribution: int = Field(description="points minus the neutral points")
    text: str = Field(description="the value in words")


class DimensionScore(BaseModel):
    id: str
    title: str
    points: int
    features: list[FeatureScore]


class ReasonRead(BaseModel):
    fact: str
    dimension: str
    points: int = Field(description="contribution against the feature's neutral points")
    text: str


class ModelRef(BaseModel):
    id: str
    version: int
    kind: str
    title: str
    digest: str
    model_version_id: int


class CreditScoreRead(BaseModel):
    """One enterprise's credit score: score, grade, points per dimension and feature, and the top
    reasons raising and lowering it."""

    uscc: str
    name: str | None
    score: int
    grade: str
    raw_score: int = Field(description="base points plus every feature's points, before clipping to the scale")
    scale: ScaleRead
    grades: list[GradeCutRead]
    model: ModelRef
    facts_version: int
    facts_year: int | None
    run_id: int
    scored_at: datetime | None
    dimensions: list[DimensionScore]
    reasons_up: list[ReasonRead]
    reasons_down: list[ReasonRead]


class OutcomeIn(BaseModel):
    """A loan outcome a bank supplies: the enterprise, performing or defaulted, when observed, and the
    day the loan was decided (its features are read as the platform knew them that day)."""

    uscc: str
    defaulted: bool
    observed: str | None = Field(default=None, description="observation date (YYYY-MM-DD)")
    as_of: str | None = Field(
        default=None, description="decision or disbursement date (YYYY-MM-DD): the features are read as of that day"
    )


class FitRead(BaseModel):
    model: ModelVersionRead
    run: ScoreRunRead | None = None

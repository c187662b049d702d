from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class TableField:
    """A column of the requested table, as the store describes it (access sits below the store)."""

    name: str
    type: str
    personal_kind: str | None = None
    title: str | None = None


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(min_length=2, max_length=200, description="应用场景，如“普惠金融授信”")
    purpose: str = Field(min_length=5, max_length=4000, description="用途说明")
    fields: list[str] = Field(min_length=1, max_length=1000)
    period_start: date
    period_end: date
    expected_rows: int = Field(default=0, ge=0, le=10**12, description="预计每月使用的行数")
    mode: Literal["rows", "sandbox"] = Field(
        default="rows", description="rows：按合同读取明细（遮盖、过滤后）；sandbox：只做聚合统计（可用不可见）"
    )


class Decision(BaseModel):
    """A reviewer's decision. ``approve`` may narrow: fewer ``fields``, an earlier ``period_end``,
    stricter ``masks``, a ``row_filter`` (ANDed with any before); the operator also sets quotas."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=2000)
    fields: list[str] | None = None
    masks: dict[str, str] | None = None
    row_filter: str | None = Field(default=None, max_length=2000)
    period_end: date | None = None
    mode: Literal["rows", "sandbox"] | None = None  # rows → sandbox narrows; never the other way
    privacy_budget: float | None = Field(default=None, gt=0, le=100, description="差分隐私总预算 ε（运营方设定）")
    daily_call_quota: int | None = Field(default=None, ge=1, le=2**31 - 1)
    daily_row_quota: int | None = Field(default=None, ge=1, le=2**31 - 1)
    rate_per_minute: int | None = Field(default=None, ge=1, le=2**31 - 1)


class RevokeIn(BaseModel):
    reason: str = Field(min_length=2, max_length=2000)


class DecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: str
    action: str
    from_state: str
    to_state: str
    actor_user_id: int | None
    reason: str
    changes: dict | None
    at: datetime


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    request_id: int
    resource_id: str
    consumer_org_id: int
    fields: list[str]
    masks: dict[str, str]
    row_filter: str | None
    purpose: str
    valid_from: date
    valid_to: date
    daily_call_quota: int | None
    daily_row_quota: int | None
    rate_per_minute: int | None
    mode: str
    origin: str = "review"  # review | market (a data product's entitlement)
    privacy_budget: float | None
    privacy_spent: float
    state: str
    status: str = ""  # active | pending | expired | revoked (today, in Beijing)
    revoked_at: datetime | None
    revoke_reason: str | None
    calls_today: int = 0
    rows_today: int = 0


class RequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: str
    entry_id: int
    publisher_org_id: int
    consumer_org_id: int
    requested_by: int
    scenario: str
    purpose: str
    fields: list[str]
    masks: dict[str, str]
    row_filter: str | None
    period_start: date
    period_end: date
    expected_rows: int
    mode: str
    state: str
    created_at: datetime
    updated_at: datetime
    decisions: list[DecisionRead] = []
    grant: GrantRead | None = None

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class JobRead(BaseModel):
    """A background job and its progress. ``result`` is the job's report (for a load, the load's
    report: ``state`` published or refused) once it has succeeded; ``error`` is ``{"code",
    "message", "details"}`` once it has failed, or the last interruption of a retried job."""

    id: str
    kind: str = Field(description="ingest | facts.build | credit.score | policy.match | market.settle | backup")
    title: str = Field(default="", description="the kind, in Chinese")
    key: str | None = Field(default=None, description="what the job does (at most one queued or running per key)")
    params: dict[str, Any] = Field(default_factory=dict, description="the job's parameters (ids, a month…)")
    resource_id: str | None = Field(description="the loaded table (ingest jobs); null for other kinds")
    state: str = Field(
        description="queued | running | succeeded | failed | dead (ran `PUBDATA_JOB_MAX_ATTEMPTS` times without "
        "finishing: not retried again until an operator re-queues it; the dead-letter state)"
    )
    stage: str = Field(description="what the job is doing, in Chinese (排队中, 读取, 校验, 写入, 完成…)")
    percent: int = Field(ge=0, le=100)
    rows_so_far: int | None
    bytes_received: int
    source_name: str
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_by: str | None = Field(description="username of who started it; null for the command line and schedules")
    created_via: str = Field(description="api | portal | cli | schedule")
    attempts: int = Field(default=0, description="runs interrupted (or crashed) so far: retried with backoff")
    not_before: datetime | None = Field(default=None, description="a retried job waits until then")
    worker: str | None = Field(default=None, description="the process running it (host:pid:token)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

"""Pydantic models of Delta Sharing recipient profiles (the platform's own API, not the protocol)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProfileCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the profile is for, e.g. the partner's system")
    days: int | None = Field(default=None, description="Lifetime in days (default and maximum: settings)")


class ProfileRevoke(BaseModel):
    reason: str = Field(default="", max_length=500)


class ProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    user_id: int
    organisation_id: int | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    last_used_at: datetime | None
    status: str = ""  # active | expired | revoked


class ProfileCreated(ProfileRead):
    profile: dict[str, Any] = Field(
        description="The Delta Sharing profile file (shareCredentialsVersion, endpoint, bearerToken, "
        "expirationTime). Shown once: only the token's hash is stored."
    )

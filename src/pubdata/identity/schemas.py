from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class OrganisationKind(StrEnum):
    DEPARTMENT = "department"
    OPERATOR = "operator"
    ENTERPRISE = "enterprise"
    BANK = "bank"
    DATA_MERCHANT = "data_merchant"
    APPRAISAL_AGENCY = "appraisal_agency"
    REGULATOR = "regulator"
    TRUST_COMPANY = "trust_company"

    @property
    def label(self) -> str:
        return ORGANISATION_KIND_LABELS[self]


ORGANISATION_KIND_LABELS = {
    OrganisationKind.DEPARTMENT: "政府部门",
    OrganisationKind.OPERATOR: "运营方",
    OrganisationKind.ENTERPRISE: "企业",
    OrganisationKind.BANK: "银行",
    OrganisationKind.DATA_MERCHANT: "数商",
    OrganisationKind.APPRAISAL_AGENCY: "评估机构",
    OrganisationKind.REGULATOR: "监管部门",
    OrganisationKind.TRUST_COMPANY: "信托公司",
}


class OrganisationCreate(BaseModel):
    code: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=2, max_length=200)
    kind: OrganisationKind
    uscc: str | None = Field(default=None, max_length=18)
    district: str | None = None
    description: str = Field(default="", max_length=4000)


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: OrganisationKind
    uscc: str | None
    district: str | None
    description: str
    created_at: datetime


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    organisation_code: str | None = None
    roles: list[str] = Field(default_factory=list)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    organisation_id: int | None
    roles: list[str] = Field(validation_alias="role_list")
    is_active: bool


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: ["read"])
    days: int | None = Field(
        default=None,
        ge=1,
        description="Days until it expires: PUBDATA_TOKEN_DAYS when unset, PUBDATA_TOKEN_MAX_DAYS at most",
    )


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scopes: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret. Shown once; only its hash is stored.")


class ClientCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: ["read"])
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    token_minutes: int = Field(default=60, ge=5, le=1440, description="Lifetime of the access tokens it gets")


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    client_id: str
    name: str
    scopes: str
    rate_per_minute: int | None
    token_minutes: int
    created_at: datetime
    revoked_at: datetime | None


class ClientCreated(ClientRead):
    client_secret: str = Field(description="The secret. Shown once; only its hash is stored.")

"""What a consent says and how it is shown: the sections of the credit report, the purposes a bank
may read for, the request to grant one and the consent as read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class Section:
    """A part of the credit report an enterprise may let a bank read, and the facts it shows."""

    code: str
    label: str
    facts: tuple[str, ...] = ()


SECTIONS: dict[str, Section] = {
    s.code: s
    for s in (
        Section("basic", "基本登记信息", ("name", "registered_district", "industry_code", "registered_capital",
                                          "founded", "age_years", "status")),
        Section("score", "信用评分、等级与主要原因"),
        Section("tax", "纳税信用", ("tax_credit_grade", "tax_credit_grade_previous", "tax_grade_a_years_3",
                                    "tax_grade_cd_years_3")),
        Section("employment", "社保参保与用工", ("insured_headcount", "insured_months_12",
                                                 "insured_headcount_change_pct")),
        Section("utilities", "水电缴费", ("utility_bill_months_12", "utility_on_time_ratio_pct",
                                          "utility_arrears_months_12")),
        Section("innovation", "知识产权与荣誉", ("patent_count", "ip_class1_count", "ip_class2_count", "is_high_tech",
                                                 "high_tech_enterprise_valid", "is_specialised", "specialised_level")),
        Section("compliance", "行政处罚、司法执行与经营异常", ("penalty_count", "penalty_fine_amount_3y",
                                                               "is_dishonest_debtor", "enforcement_count",
                                                               "is_abnormal_operation", "abnormal_listings_3y",
                                                               "listed_abnormal_or_seriously_dishonest")),
        Section("trade", "跨境贸易", ("cbec_export_amount", "cbec_import_export_amount")),
    )
}  # fmt: skip

PURPOSES: dict[str, str] = {
    "loan_application": "贷款申请审查",
    "credit_line": "授信额度评估",
    "post_loan": "贷后管理",
    "guarantee": "融资担保审查",
}

MAX_DAYS = 366  # the longest a consent may run: one year (a new consent renews it)

ConsentStatus = Literal["live", "expired", "revoked"]


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank: str = Field(min_length=1, max_length=64, description="The bank organisation's code")
    sections: list[str] = Field(min_length=1, max_length=len(SECTIONS), description="Codes of the report's sections")
    purpose: str = Field(min_length=1, max_length=32, description="A purpose code")
    purpose_note: str = Field(default="", max_length=500)
    expires_on: date = Field(description="The last day (Beijing time) the bank may read; at most one year ahead")


class ConsentRead(BaseModel):
    id: int
    uscc: str
    enterprise: str  # the enterprise organisation's name
    bank_code: str
    bank: str  # the bank's name
    sections: list[str]
    section_labels: list[str]
    purpose: str
    purpose_label: str
    purpose_note: str
    expires_on: date
    granted_at: datetime
    revoked_at: datetime | None
    revoke_reason: str
    status: ConsentStatus


class ConsentUse(BaseModel):
    """One read of the report under a consent, as the audit trail recorded it."""

    at: datetime
    consent_id: int | None
    reader: str
    reader_org_id: int | None
    result: str
    sections: list[str]
    reason: str

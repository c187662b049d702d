from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pubdata.catalog import vocab

ENTRY_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
ENTRY_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


def _vocab_validator(terms: tuple[vocab.Term, ...], what: str) -> Any:
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        code = vocab.resolve(terms, value)
        if code is None:
            allowed = "、".join(t.label for t in terms)
            raise ValueError(f"未知{what}：{value}（可选：{allowed}）")
        return code

    return check


def _district(value: str | None) -> str | None:
    if value is None or value in vocab.SPATIAL_COVERAGES:
        return value
    raise ValueError(f"未知行政区：{value}（可选：{'、'.join(vocab.SPATIAL_COVERAGES)}）")


class FieldIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str = Field(min_length=1, max_length=100)
    type: str = "string"
    description: str = Field(default="", max_length=2000)
    is_personal: bool = False
    personal_kind: str | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in vocab.FIELD_TYPES:
            raise ValueError(f"未知字段类型：{v}（可选：{'、'.join(vocab.FIELD_TYPES)}）")
        return v

    _kind = field_validator("personal_kind")(_vocab_validator(vocab.PERSONAL_KINDS, "个人信息类型"))

    @model_validator(mode="after")
    def _personal(self) -> FieldIn:
        if self.personal_kind and not self.is_personal:
            self.is_personal = True
        if self.is_personal and not self.personal_kind:
            self.personal_kind = "other"
        return self


class ResourceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    format: str = Field(default="CSV", max_length=20)


class _EntryBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=2, max_length=200)
    description: str | None = Field(default=None, max_length=8000)
    category: str | None = None
    open_type: str | None = None
    security_grade: str | None = None
    update_frequency: str | None = None
    district: str | None = None
    temporal_start: date | None = None
    temporal_end: date | None = None
    licence: str | None = Field(default=None, max_length=100)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_email: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=40)
    tags: list[str] | None = Field(default=None, max_length=50)
    fields: list[FieldIn] | None = Field(default=None, max_length=500)

    _category = field_validator("category")(_vocab_validator(vocab.CATEGORIES, "类别"))
    _open_type = field_validator("open_type")(_vocab_validator(vocab.OPEN_TYPES, "开放类型"))
    _grade = field_validator("security_grade")(_vocab_validator(vocab.SECURITY_GRADES, "安全级别"))
    _freq = field_validator("update_frequency")(_vocab_validator(vocab.UPDATE_FREQUENCIES, "更新频率"))
    _district = field_validator("district")(_district)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        out: list[str] = []
        for tag in v:
            tag = tag.strip()
            if not tag or len(tag) > 50:
                raise ValueError(f"标签应为 1 至 50 个字符：{tag!r}")
            if tag not in out:
                out.append(tag)
        return out

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, v: list[FieldIn] | None) -> list[FieldIn] | None:
        if v is not None:
            seen: set[str] = set()
            for f in v:
                if f.name in seen:
                    raise ValueError(f"字段名重复：{f.name}")
                seen.add(f.name)
        return v

    @model_validator(mode="after")
    def _period(self) -> _EntryBody:
        if self.temporal_start and self.temporal_end and self.temporal_start > self.temporal_end:
            raise ValueError("时间范围的开始日期晚于结束日期")
        return self


class EntryCreate(_EntryBody):
    code: str = Field(min_length=2, max_length=64, pattern=ENTRY_CODE_PATTERN)
    name: str | None = Field(default=None, min_length=2, max_length=100, pattern=ENTRY_NAME_PATTERN)
    title: str = Field(min_length=2, max_length=200)
    category: str
    open_type: str
    security_grade: str = "general"
    update_frequency: str = "irregular"
    district: str = vocab.CITYWIDE
    licence: str = "青岛市公共数据开放许可协议"
    organisation: str | None = Field(default=None, description="Publishing department's code; defaults to the caller's")
    resources: list[ResourceIn] | None = None


class EntryUpdate(_EntryBody):
    """Partial update: only the attributes given change. ``tags`` and ``fields`` replace the lists."""


class OrganisationRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str


class FieldRead(FieldIn):
    model_config = ConfigDict(from_attributes=True)


class ResourceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    description: str
    format: str
    created_at: datetime
    modified_at: datetime


class EntrySummary(BaseModel):
    """An entry as search results list it: everything but its fields."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    title: str
    description: str
    organisation: OrganisationRef
    category: str
    category_label: str
    open_type: str
    open_type_label: str
    security_grade: str
    security_grade_label: str
    update_frequency: str
    update_frequency_label: str
    district: str
    temporal_start: date | None
    temporal_end: date | None
    licence: str
    contact_name: str
    contact_email: str
    contact_phone: str
    tags: list[str]
    resources: list[ResourceRead]
    created_at: datetime
    modified_at: datetime


class EntryRead(EntrySummary):
    fields: list[FieldRead]


class RevisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: int
    action: str
    actor_name: str
    at: datetime
    changes: dict[str, Any]


class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class SearchPage(BaseModel):
    count: int
    offset: int
    limit: int
    sort: str
    results: list[EntrySummary]
    facets: dict[str, list[FacetValue]]


def entry_summary(entry: Any) -> EntrySummary:
    """Render an entry (ORM object) with the Chinese labels of its coded attributes."""
    return EntrySummary(
        id=entry.id,
        code=entry.code,
        name=entry.name,
        title=entry.title,
        description=entry.description,
        organisation=OrganisationRef.model_validate(entry.organisation),
        category=entry.category,
        category_label=vocab.CATEGORY_BY_CODE[entry.category].label,
        open_type=entry.open_type,
        open_type_label=vocab.OPEN_TYPE_BY_CODE[entry.open_type].label,
        security_grade=entry.security_grade,
        security_grade_label=vocab.GRADE_BY_CODE[entry.security_grade].label,
        update_frequency=entry.update_frequency,
        update_frequency_label=vocab.FREQUENCY_BY_CODE[entry.update_frequency].label,
        district=entry.district,
        temporal_start=entry.temporal_start,
        temporal_end=entry.temporal_end,
        licence=entry.licence,
        contact_name=entry.contact_name,
        contact_email=entry.contact_email,
        contact_phone=entry.contact_phone,
        tags=entry.tag_names,
        resources=[ResourceRead.model_validate(r) for r in entry.resources],
        created_at=entry.created_at,
        modified_at=entry.modified_at,
    )


def entry_read(entry: Any) -> EntryRead:
    """An entry with its fields."""
    return EntryRead(**dict(entry_summary(entry)), fields=[FieldRead.model_validate(f) for f in entry.fields])

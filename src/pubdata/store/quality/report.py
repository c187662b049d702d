"""Quality reports as readers get them: a table's current report with timeliness as of now, its
dimensions in Chinese words, the score trend across published versions, an entry's mean over its
tables. Those who may not read the whole table get the reports without cell values
(``quality.without_values``, applied by ``service.list_versions``). Measuring is ``quality.py``; a
version's rejects file is read through ``store.read.plan_rejects`` (authorised and audited)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.catalog import service as catalog
from pubdata.errors import Forbidden, Invalid, Unauthenticated
from pubdata.store import service, table_schema
from pubdata.store.errors import TableNotFound
from pubdata.store.quality.checks import CHECK_LABELS, DIMENSIONS, LABELS, SHANGHAI, refresh
from pubdata.store.read import may_read_rejects
from pubdata.store.schemas import VersionRead

# --- in words --------------------------------------------------------------------------------------

_BASIS = {"primary_key": "主键", "unique_fields": "唯一字段", "whole_row": "整行"}


def describe(report: dict[str, Any] | None, schema: table_schema.TableSchema | None = None) -> list[dict[str, Any]]:
    """The six dimensions in the order shown, each with its score (or None) and a Chinese sentence
    stating its evidence. Field names are shown by their titles when the schema is given."""
    dims = (report or {}).get("dimensions", {})

    def title(name: str) -> str:
        if schema is not None:
            try:
                return schema.field(name).label
            except KeyError:
                pass
        return name

    out = []
    for name in DIMENSIONS:
        d = dims.get(name)
        if d is None:
            out.append({"name": name, "label": LABELS[name], "score": None, "text": "该版本未评价此维度"})
            continue
        e = d.get("evidence", {})
        text = e.get("unscored") if d.get("score") is None and e.get("unscored") else _sentence(name, e, title)
        out.append({"name": name, "label": LABELS[name], "score": d.get("score"), "text": text})
    return out


def _sentence(name: str, e: dict[str, Any], title: Any) -> str:
    if name == "completeness":
        worst = sorted(e.get("empty_by_field", {}).items(), key=lambda x: -x[1])[:3]
        tail = "；空值最多：" + "、".join(f"{title(k)} {n:,} 个" for k, n in worst) if worst else ""
        return f"{e.get('cells', 0):,} 个单元格中 {e.get('filled', 0):,} 个已填写{tail}"
    if name == "validity":
        top = list(e.get("reasons", {}).items())[:3]
        tail = "；主要问题：" + "、".join(f"{r} {n:,} 个" for r, n in top) if top else ""
        return f"{e.get('cells', 0):,} 个单元格中 {e.get('invalid', 0):,} 个不符合类型、数据标准或约束{tail}"
    if name == "accuracy":
        kinds: dict[str, int] = {}
        for f in e.get("fields", []):
            for kind, n in f.get("checks", {}).items():
                if n:
                    kinds[f"{title(f['field'])}{CHECK_LABELS.get(kind, kind)}"] = n
        tail = "：" + "、".join(f"{k} {n:,} 个" for k, n in list(kinds.items())[:4]) if kinds else ""
        return f"检查 {e.get('checked', 0):,} 个取值，{e.get('suspect', 0):,} 个可疑（不合常理或离群）{tail}"
    if name == "consistency":
        parts = [
            f"{r['label']}（{title(r['fields'][0])}—{title(r['fields'][1])}）"
            f"{r['checked']:,} 组中 {r['inconsistent']:,} 组不一致"
            for r in e.get("rules", [])
        ]
        return (
            f"按 {len(parts)} 条规则比对 {e.get('checked', 0):,} 组取值，{e.get('inconsistent', 0):,} 组不一致："
            + "；".join(parts)
        )
    if name == "uniqueness":
        basis = _BASIS.get(e.get("basis", ""), "主键")
        keys = "、".join(title(k) for k in e.get("key", []))
        return f"{e.get('rows', 0):,} 行中 {e.get('duplicates', 0):,} 行{basis}{f'（{keys}）' if keys else ''}重复"
    # timeliness
    freq = e.get("update_frequency_label") or "未声明"
    period = e.get("period_days")
    period_text = f"（{_days(period)}）" if period else ""
    if e.get("basis") == "field" and e.get("newest") is not None:
        source = f"最新数据 {e.get('newest')}（{title(e.get('field', ''))}）"
    elif e.get("basis") == "field":  # the report without values (quality.without_values): the day only
        source = f"数据截至 {_last_day(e.get('data_until'))}（{title(e.get('field', ''))}）"
    else:
        source = "表中没有日期字段，以载入时间计"
    return f"{source}，数据距今 {_days(e.get('age_days', 0))}；更新频率{freq}{period_text}"


def _last_day(until: str | None) -> str:
    """The Beijing day before the instant ``until`` (the end of the data's last day)."""
    if not until:
        return "未知"
    return (datetime.fromisoformat(until).astimezone(SHANGHAI) - timedelta(microseconds=1)).date().isoformat()


def _days(days: float) -> str:
    if days < 1:
        return f"{round(days * 24)} 小时"
    return f"{math.floor(days) if days >= 10 else round(days, 1):g} 天"


# --- reading reports -------------------------------------------------------------------------------


@dataclass
class TableQuality:
    """A table's quality as readers see it: the current version's report (timeliness as of now), its
    dimensions in words, every version, and the score trend across published versions."""

    resource_id: str
    name: str
    current_version: int | None
    rows: int | None
    report: dict[str, Any] | None
    dimensions: list[dict[str, Any]]
    versions: list[VersionRead]
    trend: list[dict[str, Any]]
    editable: bool
    rejects_readable: bool = False  # the publishing department and the operator (store.read.may_read_rejects)

    @property
    def chart(self) -> dict[str, Any]:
        """What the trend chart draws: each published version's scores, and the dimension labels."""
        return {"points": self.trend, "labels": LABELS}

    def as_json(self) -> dict[str, Any]:
        return {
            "resource_id": self.resource_id,
            "name": self.name,
            "current_version": self.current_version,
            "rows": self.rows,
            "score": (self.report or {}).get("score"),
            "report": self.report,
            "dimensions": self.dimensions,
            "trend": self.trend,
        }


def trend(versions: list[VersionRead]) -> list[dict[str, Any]]:
    """The overall and per-dimension score of each published version (as measured at its load), oldest first."""
    out = []
    for v in sorted(versions, key=lambda v: v.number):
        if v.state != "published" or not v.quality:
            continue
        dims = v.quality.get("dimensions", {})
        out.append(
            {
                "version": v.number,
                "published_at": (v.published_at or v.created_at).isoformat(),
                "rows": v.rows_loaded,
                "score": v.quality.get("score"),
                "dimensions": {k: dims.get(k, {}).get("score") for k in DIMENSIONS},
            }
        )
    return out


def _may_edit(session: Session, actor: Actor, entry_code: str) -> bool:
    try:
        catalog.editable_entry(session, actor, entry_code)
    except (Forbidden, Unauthenticated):
        return False
    return True


def table_quality(session: Session, actor: Actor, resource_id: str, *, now: datetime | None = None) -> TableQuality:
    """The quality of a table for anyone who may see its entry; not found when they may not or when
    the resource has no table."""
    table = service.get_table(session, actor, resource_id)
    resource = catalog.get_resource(session, actor, resource_id)
    return _table_quality(session, actor, resource, table.table_schema, table.current_version, now)


def _table_quality(
    session: Session,
    actor: Actor,
    resource: Any,
    raw_schema: dict[str, Any],
    current: int | None,
    now: datetime | None,
    editable: bool | None = None,
) -> TableQuality:
    versions = service.list_versions(session, actor, resource.id)
    current_read = next((v for v in versions if v.current), None)
    report = refresh(current_read.quality, resource.entry.update_frequency, now) if current_read else None
    try:
        schema: table_schema.TableSchema | None = table_schema.parse_schema(raw_schema)
    except Invalid:  # a stored schema that no longer parses still shows its report
        schema = None
    return TableQuality(
        resource_id=resource.id,
        name=resource.name,
        current_version=current,
        rows=current_read.rows_loaded if current_read else None,
        report=report,
        dimensions=describe(report, schema) if report else [],
        versions=versions,
        trend=trend(versions),
        editable=_may_edit(session, actor, resource.entry.code) if editable is None else editable,
        rejects_readable=may_read_rejects(actor, resource.entry),
    )


def entry_quality(
    session: Session, actor: Actor, entry_key: str | int, *, now: datetime | None = None
) -> list[TableQuality]:
    """The quality of every resource of an entry that has a table, in the entry's resource order."""
    entry = catalog.get_entry(session, actor, entry_key)
    editable = _may_edit(session, actor, entry.code)
    out = []
    for resource in sorted(entry.resources, key=lambda r: r.position):
        try:
            table = service.get_table(session, actor, resource.id)
        except TableNotFound:
            continue
        out.append(_table_quality(session, actor, resource, table.table_schema, table.current_version, now, editable))
    return out


def entry_summary(tables: list[TableQuality]) -> dict[str, Any]:
    """An entry's quality: the mean over its tables' current versions of the overall score and of
    each dimension (a dimension's mean over the tables where it is scored; None where none is)."""
    reports = [t.report for t in tables if t.report]

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 2) if values else None

    return {
        "tables": len(reports),
        "score": mean([r["score"] for r in reports if r.get("score") is not None]),
        "dimensions": {
            k: mean(
                [
                    r["dimensions"][k]["score"]
                    for r in reports
                    if r.get("dimensions", {}).get(k, {}).get("score") is not None
                ]
            )
            for k in DIMENSIONS
        },
    }

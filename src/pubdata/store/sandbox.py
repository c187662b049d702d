"""The privacy sandbox (可用不可见): aggregate queries whose raw rows never leave.

A query asks for measures (``count``, ``sum``, ``avg``, ``stddev``, ``quantile``) of numeric fields,
optionally grouped by up to two fields and filtered by equality. It runs through the read path
(``plan_read(purpose="aggregate")``, so grants, quotas and the audit apply) inside DuckDB, and only
the groups' aggregates come back:

- groups with fewer than ``min_group_size`` rows (default 10) are suppressed (primary suppression);
- then complementary suppression: within the whole result, and within each row and column of a
  two-way grouping, suppressed groups must add up to at least ``min_group_size`` rows and be at least
  two, so that a suppressed group cannot be recovered by subtracting the published ones from a total
  (which another query can always obtain) — the smallest published groups are suppressed until so;
- grouping by or measuring personal identifiers (name, ID number, phone, address, bank card) is
  refused, as are ``min``/``max``-like measures that would release one person's value;
- optionally differential privacy (OpenDP's Laplace mechanism): counts get noise of scale 1/ε', sums
  of values clamped to declared bounds get noise of scale max(|L|, |U|)/ε', averages are noisy sum ÷
  noisy count, where ε' is the query's ε split over its measures (groups are disjoint: parallel
  composition). The ε is charged to the grant's persistent privacy budget before anything is
  released; ``estimate`` says what a query would cost without running it. Suppression is then applied
  to the noisy counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from pubdata.access import usage
from pubdata.authz import Actor
from pubdata.errors import Invalid
from pubdata.settings import get_settings
from pubdata.store import engine, table_schema
from pubdata.store.query import json_value
from pubdata.store.read import ReadPlan, plan_read, record_read
from pubdata.store.semantic import quote_identifier

IDENTIFIER_KINDS = ("name", "id_number", "phone", "address", "bank_card")
NUMERIC = ("integer", "number", "year")
MAX_GROUPS = 1000


class InvalidSandboxQuery(Invalid):
    code = "store.invalid_sandbox_query"


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fn: Literal["count", "sum", "avg", "stddev", "quantile"]
    field: str | None = None
    q: float | None = Field(default=None, ge=0.05, le=0.95, description="quantile: 0.05–0.95")
    bounds: tuple[float, float] | None = Field(default=None, description="DP sum/avg: values are clamped to them")

    @property
    def name(self) -> str:
        if self.fn == "count":
            return "count"
        suffix = f"_{round((self.q or 0) * 100)}" if self.fn == "quantile" else ""
        return f"{self.fn}{suffix}_{self.field}"


class Privacy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epsilon: float = Field(gt=0, le=5, description="ε this query spends from the grant's budget")


class SandboxQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measures: list[Measure] = Field(min_length=1, max_length=10)
    group_by: list[str] = Field(default_factory=list, max_length=2)
    filters: dict[str, str | int | float | list[str | int | float]] = Field(default_factory=dict)
    dp: Privacy | None = None


@dataclass
class SandboxResult:
    group_by: list[str]
    measures: list[str]
    groups: list[dict[str, Any]]
    min_group_size: int
    suppressed: int
    epsilon: float | None = None
    budget_left: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "group_by": self.group_by,
            "measures": self.measures,
            "groups": self.groups,
            "min_group_size": self.min_group_size,
            "suppressed_groups": self.suppressed,
            "epsilon": self.epsilon,
            "privacy_budget_left": self.budget_left,
            "notes": self.notes,
        }


def _check(plan: ReadPlan, q: SandboxQuery) -> None:
    def known(name: str, where: str) -> table_schema.SchemaField:
        try:
            return plan.field(name)
        except KeyError:
            raise InvalidSandboxQuery(f"{where}的字段不存在或未获授权：{name}", field=name) from None

    for name in q.group_by:
        f = known(name, "分组")
        if f.personal_kind in IDENTIFIER_KINDS:
            raise InvalidSandboxQuery(f"不能按个人标识字段分组：{name}（会得到个人明细）", field="group_by")
    for name in q.filters:
        f = known(name, "筛选")
        if f.personal_kind in IDENTIFIER_KINDS:
            raise InvalidSandboxQuery(f"不能按个人标识字段筛选：{name}（会定位到个人）", field="filters")
    for m in q.measures:
        if m.fn == "count":
            continue
        if not m.field:
            raise InvalidSandboxQuery(f"{m.fn} 需要指定字段", field="measures")
        f = known(m.field, "统计")
        if f.personal_kind in IDENTIFIER_KINDS or plan.schema.field(m.field).type not in NUMERIC:
            raise InvalidSandboxQuery(f"{m.fn} 只能统计数值字段：{m.field}", field="measures")
        if m.fn == "quantile" and m.q is None:
            raise InvalidSandboxQuery("quantile 需要 q（0.05–0.95）", field="measures")
        if q.dp is not None:
            if m.fn in ("stddev", "quantile"):
                raise InvalidSandboxQuery(f"差分隐私模式不支持 {m.fn}", field="measures")
            if m.bounds is None or m.bounds[0] >= m.bounds[1]:
                raise InvalidSandboxQuery(
                    f"差分隐私模式下 {m.fn}({m.field}) 需要取值范围 bounds=[下限, 上限]", field="measures"
                )


def estimate(q: SandboxQuery) -> float:
    """The ε a query spends (0 without differential privacy)."""
    return q.dp.epsilon if q.dp else 0.0


def _sql(plan: ReadPlan, q: SandboxQuery) -> tuple[str, list[Any]]:
    keys = [quote_identifier(g) for g in q.group_by]
    select = list(keys) + ["count(*) AS __n"]
    for i, m in enumerate(q.measures):
        if m.fn == "count":
            continue
        col = quote_identifier(m.field or "")
        value = f"CAST({col} AS DOUBLE)"
        if q.dp is not None and m.bounds is not None:
            value = f"least(greatest({value}, {float(m.bounds[0])}), {float(m.bounds[1])})"
        agg = {
            "sum": f"sum({value})",
            "avg": f"sum({value})" if q.dp else f"avg({value})",
            "stddev": f"stddev_samp({value})",
            "quantile": f"quantile_cont({value}, {m.q})",
        }[m.fn]
        select.append(f"{agg} AS __m{i}")
    where, params = [], []
    for name, wanted in q.filters.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        typed = []
        for v in values:
            try:
                typed.append(table_schema.typed_value(plan.field(name), str(v) if not isinstance(v, str) else v))
            except ValueError:
                raise InvalidSandboxQuery(f"筛选字段 {name} 的取值类型不符：{v}", field="filters") from None
        where.append(f"{quote_identifier(name)} IN ({', '.join('?' for _ in typed)})")
        params.extend(typed)
    sql = f"SELECT {', '.join(select)} FROM {plan.relation} AS t"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if keys:
        sql += f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}"
    return sql, params


def _noise(value: float, scale: float) -> float:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    mechanism = dp.m.make_laplace(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale)
    return float(mechanism(float(value)))


def suppress(groups: list[dict[str, Any]], dims: list[str], k: int) -> int:
    """Mark groups to hide (``__hidden``): primary (``__n`` < k) then complementary, within the
    whole result and within each line of a two-way table, until hidden groups in every such set
    are none, or at least two adding up to k rows. Returns how many are hidden."""
    for g in groups:
        g["__hidden"] = g["__n"] < k
    lines: list[list[dict[str, Any]]] = [groups]
    if len(dims) == 2:
        for d in dims:
            by: dict[Any, list[dict[str, Any]]] = {}
            for g in groups:
                by.setdefault(g[d], []).append(g)
            lines.extend(by.values())
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [g for g in line if g["__hidden"]]
            shown = sorted((g for g in line if not g["__hidden"]), key=lambda g: g["__n"])
            if hidden and (len(hidden) < 2 or sum(g["__n"] for g in hidden) < k) and shown:
                shown[0]["__hidden"] = True
                changed = True
    return sum(1 for g in groups if g["__hidden"])


def run(
    session: Session, actor: Actor, resource_id: str, q: SandboxQuery, *, home: Path, dry_run: bool = False
) -> SandboxResult:
    """Run an aggregate query in the sandbox (``dry_run``: only check it and say what it costs)."""
    plan = plan_read(session, actor, resource_id, home=home, purpose="aggregate")
    _check(plan, q)
    k = get_settings().sandbox_min_group_size
    cost = estimate(q)
    names = [m.name for m in q.measures]
    if q.dp is not None and plan.grant_id is None and plan.governed:
        raise InvalidSandboxQuery("差分隐私预算按授权计算：请以获授权机构的身份查询", field="dp")
    if dry_run:
        return SandboxResult(q.group_by, names, [], k, 0, epsilon=cost, notes=["仅估算，未执行查询"])
    sql, params = _sql(plan, q)
    cur = engine.cursor()
    try:
        rows = engine.run(cur, sql, params).fetchall()
        columns = [d[0] for d in cur.description or []]
    finally:
        cur.close()
    if len(rows) > MAX_GROUPS:
        raise InvalidSandboxQuery(f"分组过多（{len(rows)} 组，最多 {MAX_GROUPS} 组）：请减少分组字段", field="group_by")
    groups = [dict(zip(columns, r, strict=True)) for r in rows]
    budget_left = None
    notes = []
    if q.dp is not None:
        if plan.grant_id is not None:
            budget_left = usage.spend_privacy(session, plan.grant_id, cost)
        per_measure = q.dp.epsilon / len(q.measures)
        for g in groups:
            true_n = g["__n"]
            g["__n"] = max(0.0, _noise(true_n, 1.0 / per_measure))
            for i, m in enumerate(q.measures):
                if m.fn in ("sum", "avg") and m.bounds is not None:
                    sensitivity = max(abs(m.bounds[0]), abs(m.bounds[1]))
                    g[f"__m{i}"] = _noise(g[f"__m{i}"] or 0.0, sensitivity / per_measure)
        notes.append(f"差分隐私：ε={q.dp.epsilon:g}（每项统计 ε={per_measure:g}），Laplace 噪声，计数保留两位小数")
    hidden = suppress(groups, q.group_by, k)
    out = []
    for g in groups:
        item: dict[str, Any] = {d: json_value(g[d]) for d in q.group_by}
        item["suppressed"] = bool(g["__hidden"])
        for i, m in enumerate(q.measures):
            if g["__hidden"]:
                item[m.name] = None
            elif m.fn == "count":
                item[m.name] = round(g["__n"], 2) if q.dp else g["__n"]
            elif m.fn == "avg" and q.dp:
                item[m.name] = round(g[f"__m{i}"] / g["__n"], 4) if g["__n"] >= 1 else None
            else:
                value = g[f"__m{i}"]
                item[m.name] = round(float(value), 4) if value is not None else None
        out.append(item)
    if hidden:
        notes.append(f"{hidden} 组因样本少于 {k} 或为防止相减推算而隐藏")
    record_read(session, actor, plan, "sandbox.query", rows=0, query_text=q.model_dump_json())
    return SandboxResult(
        q.group_by, names, out, k, hidden, epsilon=cost if q.dp else None, budget_left=budget_left, notes=notes
    )

"""The privacy sandbox (可用不可见): aggregate queries whose raw rows never leave.

A query asks for measures (``count``, ``sum``, ``avg``, ``stddev``, ``quantile``) of numeric fields,
optionally grouped by up to two fields and filtered by equality. It runs through the read path
(``plan_read(purpose="aggregate")``: grants, masks, row filters, quotas and the audit apply; a group
key of a masked column is the masked value) inside DuckDB, and only the groups' aggregates come back.

Two ways of answering:

- **Differentially private** (OpenDP) — always for a grantee on a *protected* table (any field with a
  ``personalKind`` or a personal semantic type, or an entry of the ``medical`` category), and for
  anyone who asks with ``dp``. The query's ε (``dp.epsilon``, else ``sandbox_default_epsilon``) is
  charged to the grant's persistent privacy budget before anything is computed; a grant without a
  budget gets nothing. ε is split evenly over the released statistics (the group count, then one per
  sum, two per average, three per standard deviation, one histogram per quantile); groups are
  disjoint, so each statistic costs its share once for all groups (parallel composition). Counts get
  discrete Laplace noise; sums, averages and standard deviations are computed from noisy sums of
  values clamped to ``bounds`` (declared by the query, else the field's schema ``minimum``/``maximum``);
  a quantile is read off a noisy 64-bin histogram between the bounds. The set of groups is itself
  data: a group is released only when its noisy count reaches a threshold τ ≥ ``min_group_size``
  (OpenDP's Laplace-threshold mechanism), τ chosen so that a group of one row appears with
  probability at most δ = ``sandbox_delta_per_epsilon`` × ε. Groups below τ are absent — not listed as
  suppressed, not counted. Everything else is computed from the noisy values only.
- **Exact** — for the publishing department and the operator (no grant: they may read every row),
  for open data, and for grantees on tables without personal data when they do not ask for ``dp``.
  Groups with fewer than ``min_group_size`` rows are suppressed, then complementary suppression:
  within the whole result, and within each row and column of a two-way grouping, suppressed groups
  must add up to at least ``min_group_size`` rows and be at least two.

Grouping by, filtering on or measuring personal identifiers (name, ID number, phone, address, bank
card) is refused, as are ``min``/``max``-like measures. Every answer and every refusal after the read
plan is audited (``sandbox.query``) with the ε it spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from pubdata.access import masks, usage
from pubdata.access import service as access
from pubdata.audit import service as audit
from pubdata.authz import Actor
from pubdata.catalog import service as catalog
from pubdata.errors import Forbidden, Invalid
from pubdata.settings import get_settings
from pubdata.store import engine, table_schema
from pubdata.store.ingest.semantic import quote_identifier
from pubdata.store.query.rows import MAX_FILTER_VALUES, MAX_FILTERS, check_filter_values, json_value
from pubdata.store.read import ReadPlan, plan_read

IDENTIFIER_KINDS = masks.IDENTIFIER_KINDS
# Semantic types whose values are about a natural person (a table holding one is personal data).
PERSONAL_SEMANTIC_TYPES = ("resident_id", "person_name", "mobile", "email")
# Catalogue categories whose rows are about patients (health data even where no column says so).
HEALTH_CATEGORIES = ("medical",)
NUMERIC = ("integer", "number", "year")
MAX_GROUPS = 1000  # groups a result may show
MAX_SCANNED_GROUPS = 100_000  # groups a differentially private query may compute before thresholding
QUANTILE_BINS = 64
# Statistics released per measure under differential privacy (each takes an equal share of ε).
RELEASES = {"count": 0, "sum": 1, "avg": 2, "stddev": 3, "quantile": 1}


class InvalidSandboxQuery(Invalid):
    code = "store.invalid_sandbox_query"


class SandboxForbidden(Forbidden):
    code = "store.sandbox_forbidden"


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fn: Literal["count", "sum", "avg", "stddev", "quantile"]
    field: str | None = None
    q: float | None = Field(default=None, ge=0.05, le=0.95, description="quantile: 0.05–0.95")
    bounds: tuple[float, float] | None = Field(
        default=None, description="DP: values are clamped to [lower, upper] (default: the field's schema constraints)"
    )

    @property
    def name(self) -> str:
        if self.fn == "count":
            return "count"
        suffix = f"_{round((self.q or 0) * 100)}" if self.fn == "quantile" else ""
        return f"{self.fn}{suffix}_{self.field}"


class Privacy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # at least 0.001: a smaller ε underflows the noise scale to infinity (and no release that noisy is of use)
    epsilon: float = Field(ge=0.001, le=5, description="ε this query spends from the grant's budget (0.001 … 5)")


_MAX_ITEMS: dict[str, Any] = {"maxItems": MAX_FILTER_VALUES}


class SandboxQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measures: list[Measure] = Field(min_length=1, max_length=10)
    group_by: list[str] = Field(default_factory=list, max_length=2)
    filters: Annotated[
        # the list's maxItems is checked with the total (one clear error, not one per union member)
        dict[str, str | int | float | Annotated[list[str | int | float], Field(json_schema_extra=_MAX_ITEMS)]],
        AfterValidator(check_filter_values),
    ] = Field(
        default_factory=dict,
        max_length=MAX_FILTERS,
        description=f"At most {MAX_FILTERS} fields and {MAX_FILTER_VALUES} values in all",
    )
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
    exact: bool = True
    release_threshold: int | None = None  # DP: the noisy count a group needs to be released at all
    delta: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "group_by": self.group_by,
            "measures": self.measures,
            "groups": self.groups,
            "min_group_size": self.min_group_size,
            "suppressed_groups": self.suppressed,
            "exact": self.exact,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "release_threshold": self.release_threshold,
            "privacy_budget_left": self.budget_left,
            "notes": self.notes,
        }


def is_protected(schema: table_schema.TableSchema, category: str = "", catalogue_personal: bool = False) -> bool:
    """Whether the table holds personal or health data, so that a grantee gets only differentially
    private aggregates: a field with a ``personalKind`` or a personal semantic type, a field the
    catalogue declares personal, or an entry of a health category."""
    return (
        category in HEALTH_CATEGORIES
        or catalogue_personal
        or any(f.personal_kind or f.semantic_type in PERSONAL_SEMANTIC_TYPES for f in schema.fields)
    )


def _protected(session: Session, actor: Actor, plan: ReadPlan) -> bool:
    entry = catalog.get_resource(session, actor, plan.resource_id).entry
    declared = any(f.is_personal or f.personal_kind for f in entry.fields)
    return is_protected(plan.schema, entry.category, declared)


def _bounds(plan: ReadPlan, m: Measure) -> tuple[float, float] | None:
    """The measure's clamping bounds: the query's, else the field's declared minimum and maximum
    (public metadata, so using them costs no privacy)."""
    if m.bounds is not None:
        return m.bounds
    constraints = plan.field(m.field or "").constraints
    low, high = getattr(constraints, "minimum", None), getattr(constraints, "maximum", None)
    try:
        return (float(low), float(high)) if low is not None and high is not None else None
    except (TypeError, ValueError):
        return None


def _check(plan: ReadPlan, q: SandboxQuery, *, private: bool) -> None:
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
        if f.personal_kind in IDENTIFIER_KINDS or f.type not in NUMERIC:  # the type as seen: a mask makes text
            raise InvalidSandboxQuery(f"{m.fn} 只能统计数值字段：{m.field}", field="measures")
        if m.fn == "quantile" and m.q is None:
            raise InvalidSandboxQuery("quantile 需要 q（0.05–0.95）", field="measures")
        if private:
            bounds = _bounds(plan, m)
            if bounds is None or not all(map(math.isfinite, bounds)) or bounds[0] >= bounds[1]:
                raise InvalidSandboxQuery(
                    f"差分隐私模式下 {m.fn}({m.field}) 需要取值范围 bounds=[下限, 上限]（超出的值按边界计）",
                    field="measures",
                )


def releases(q: SandboxQuery) -> int:
    """How many statistics a differentially private answer releases (the group count included)."""
    return 1 + sum(RELEASES[m.fn] for m in q.measures)


def _value(m: Measure, bounds: tuple[float, float] | None) -> str:
    value = f"CAST({quote_identifier(m.field or '')} AS DOUBLE)"
    if bounds is not None:
        value = f"least(greatest({value}, {float(bounds[0])!r}), {float(bounds[1])!r})"
    return value


def _sql(plan: ReadPlan, q: SandboxQuery, *, private: bool) -> tuple[str, list[Any]]:
    keys = [quote_identifier(g) for g in q.group_by]
    select = list(keys) + ["count(*) AS __n"]
    for i, m in enumerate(q.measures):
        if m.fn == "count":
            continue
        if not private:
            value = _value(m, None)
            agg = {
                "sum": f"sum({value})",
                "avg": f"avg({value})",
                "stddev": f"stddev_samp({value})",
                "quantile": f"quantile_cont({value}, {m.q})",
            }[m.fn]
            select.append(f"{agg} AS __m{i}")
            continue
        bounds = _bounds(plan, m)
        assert bounds is not None  # _check
        value = _value(m, bounds)
        if m.fn == "quantile":
            low, width = float(bounds[0]), (float(bounds[1]) - float(bounds[0])) / QUANTILE_BINS
            select.append(
                f"histogram(least(CAST(floor(({value} - {low!r}) / {width!r}) AS INTEGER), {QUANTILE_BINS - 1})) "
                f"AS __h{i}"
            )
            continue
        if m.fn == "sum":
            select.append(f"sum({value}) AS __m{i}")
            continue
        # averages and deviations from values centred on the range's middle: one row then moves a
        # sum by at most half the range, whatever the offset of the bounds
        centred = f"({value} - {(float(bounds[0]) + float(bounds[1])) / 2!r})"
        select.append(f"sum({centred}) AS __m{i}")
        select.append(f"count({value}) AS __c{i}")
        if m.fn == "stddev":
            select.append(f"sum({centred} * {centred}) AS __s{i}")
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


# --- differential privacy (OpenDP) ----------------------------------------------------------------


def _dp() -> Any:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


def release_threshold(scale: float, delta: float, k: int) -> tuple[Any, int]:
    """OpenDP's Laplace-threshold mechanism over group counts (noise ``scale``) and its threshold:
    the smallest τ ≥ ``k`` at which a group of one row (one person's) is released with probability
    at most ``delta``."""
    dp = _dp()
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=int))
    metric = dp.l01inf_distance(dp.absolute_distance(T=int))
    tau = max(k, math.ceil(1 + scale * math.log(1 / (2 * delta))))
    while True:
        mechanism = dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=tau)
        if mechanism.map((1, 1, 1))[1] <= delta:
            return mechanism, tau
        tau += 1


def _noisy(values: list[float], scale: float) -> list[float]:
    dp = _dp()
    mechanism = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float), scale=scale
    )
    return [float(v) for v in mechanism([float(v) for v in values])] if values else []


def _noisy_counts(values: list[int], scale: float) -> list[int]:
    dp = _dp()
    mechanism = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale)
    return [int(v) for v in mechanism([int(v) for v in values])] if values else []


def _quantile(counts: list[int], bounds: tuple[float, float], q: float) -> float | None:
    if sum(counts) <= 0:
        return None
    dp = _dp()
    low, high = bounds
    edges = [low + (high - low) * j / QUANTILE_BINS for j in range(QUANTILE_BINS + 1)]
    return float(dp.t.make_quantiles_from_counts(bin_edges=edges, alphas=[q])([float(c) for c in counts])[0])


def _private(
    plan: ReadPlan, q: SandboxQuery, groups: list[dict[str, Any]], epsilon: float, k: int
) -> tuple[list[dict[str, Any]], int | None, float | None]:
    """The groups as released under ε-DP (δ for the group set): released groups only, every value
    replaced by a noisy one. Returns (groups, threshold τ, δ)."""
    share = epsilon / releases(q)
    scale = 1.0 / share
    if q.group_by:
        delta = get_settings().sandbox_delta_per_epsilon * epsilon
        mechanism, tau = release_threshold(scale, delta, k)
        released = mechanism({str(i): int(g["__n"]) for i, g in enumerate(groups)})
        out = [{**g, "__n": int(released[str(i)])} for i, g in enumerate(groups) if str(i) in released]
    else:  # one group whatever the data: its existence tells nothing
        tau, delta = None, None
        out = [{**g, "__n": _noisy_counts([int(g["__n"])], scale)[0]} for g in groups]
    for i, m in enumerate(q.measures):
        if m.fn == "count":
            continue
        bounds = _bounds(plan, m)
        assert bounds is not None
        if m.fn == "quantile":
            noisy = _noisy_counts([c for g in out for c in _bins(g[f"__h{i}"])], scale)
            for j, g in enumerate(out):
                g[f"__m{i}"] = _quantile(
                    [max(0, c) for c in noisy[j * QUANTILE_BINS : (j + 1) * QUANTILE_BINS]], bounds, m.q or 0.5
                )
            continue
        if m.fn == "sum":  # one row moves a sum by at most the larger bound's magnitude
            sums = _noisy([g[f"__m{i}"] or 0.0 for g in out], max(abs(bounds[0]), abs(bounds[1])) * scale)
            for g, s in zip(out, sums, strict=True):
                g[f"__m{i}"] = s
            continue
        middle, half = (bounds[0] + bounds[1]) / 2, (bounds[1] - bounds[0]) / 2
        sums = _noisy([g[f"__m{i}"] or 0.0 for g in out], half * scale)  # Σ(x − middle)
        counts = _noisy_counts([int(g[f"__c{i}"]) for g in out], scale)
        squares = _noisy([g[f"__s{i}"] or 0.0 for g in out], half * half * scale) if m.fn == "stddev" else []
        for j, g in enumerate(out):
            n = max(counts[j], 1)
            shift = min(max(sums[j] / n, -half), half)  # the mean, centred
            if m.fn == "avg":
                g[f"__m{i}"] = middle + shift
            else:  # from noisy Σ(x − middle)², Σ(x − middle), n; at most half the range, as for any bounded values
                variance = (squares[j] - n * shift * shift) / (n - 1) if n > 1 else 0.0
                g[f"__m{i}"] = min(math.sqrt(max(variance, 0.0)), half)
    return out, tau, delta


def _bins(histogram: Any) -> list[int]:
    counts = dict(histogram or {})
    return [int(counts.get(j, 0)) for j in range(QUANTILE_BINS)]


# --- the query ------------------------------------------------------------------------------------


def _budget(session: Session, actor: Actor, plan: ReadPlan, epsilon: float) -> float:
    """The grant's privacy budget left; refused when it has none or too little for ``epsilon``."""
    grant = access.active_grant(session, actor, plan.resource_id, "aggregate")
    if grant is None or grant.id != plan.grant_id or grant.privacy_budget is None:
        raise SandboxForbidden(
            "该授权未设定差分隐私预算，不能在沙箱中对含个人或健康信息的数据做聚合统计：请联系运营方设定隐私预算"
        )
    left = float(grant.privacy_budget) - float(grant.privacy_spent or 0.0)
    if epsilon > left + 1e-9:
        raise usage.PrivacyBudgetExceeded(
            f"隐私预算不足：本次需要 ε={epsilon:g}，剩余 ε={max(left, 0):g}", field="dp.epsilon"
        )
    return left


def _audit(session: Session, actor: Actor, plan: ReadPlan, q: SandboxQuery, **details: Any) -> None:
    if not plan.governed:
        return
    event = plan.audit_event("sandbox.query", query_text=q.model_dump_json(), rows=0, details=details)
    if details.get("refused"):
        event.reason = str(details["refused"])
        audit.refuse(session, actor, event)
    else:
        audit.record_later(session, actor, event)


def run(
    session: Session, actor: Actor, resource_id: str, q: SandboxQuery, *, home: Path, dry_run: bool = False
) -> SandboxResult:
    """Run an aggregate query in the sandbox (``dry_run``: only check it and say what it costs).

    A grantee on personal or health data gets differentially private aggregates only, paid from the
    grant's privacy budget before they are computed; the publisher and the operator get exact ones."""
    plan = plan_read(session, actor, resource_id, home=home, purpose="aggregate")
    settings = get_settings()
    try:
        private = q.dp is not None or (plan.grant_id is not None and _protected(session, actor, plan))
        epsilon = 0.0
        if private:
            epsilon = q.dp.epsilon if q.dp is not None else settings.sandbox_default_epsilon
            if epsilon <= 0:
                raise InvalidSandboxQuery(
                    "该数据含个人或健康信息，聚合结果须加差分隐私噪声：请在 dp.epsilon 中指定本次花费的 ε", field="dp"
                )
        _check(plan, q, private=private)
        left = _budget(session, actor, plan, epsilon) if private and plan.grant_id is not None else None
    except (Invalid, Forbidden) as exc:
        _audit(session, actor, plan, q, refused=exc.message)
        raise
    return _answer(session, actor, plan, q, private=private, epsilon=epsilon, left=left, dry_run=dry_run)


def _answer(
    session: Session,
    actor: Actor,
    plan: ReadPlan,
    q: SandboxQuery,
    *,
    private: bool,
    epsilon: float,
    left: float | None,
    dry_run: bool,
) -> SandboxResult:
    k = get_settings().sandbox_min_group_size
    names = [m.name for m in q.measures]
    charged = private and plan.grant_id is not None
    if dry_run:
        said = ["仅估算，未执行查询，未花费预算"]
        if private and q.dp is None:
            said.append(f"含个人或健康信息的数据只提供差分隐私结果：未指定 ε 时按默认 ε={epsilon:g}")
        return SandboxResult(
            q.group_by, names, [], k, 0, epsilon=epsilon, budget_left=left, notes=said, exact=not private
        )
    if charged:
        assert plan.grant_id is not None
        left = usage.spend_privacy(session, plan.grant_id, epsilon)  # before anything is computed
    sql, params = _sql(plan, q, private=private)
    limit = MAX_SCANNED_GROUPS if private else MAX_GROUPS
    cur = engine.cursor()
    try:
        rows = engine.run(cur, sql, params).fetchmany(limit + 1)
        columns = [d[0] for d in cur.description or []]
    finally:
        cur.close()
    if len(rows) > limit:
        # Under DP the exact number of groups is not said (it is data); the refusal is audited, and the
        # request's rollback gives back the ε (nothing noisy was released). One exact bit remains: whether
        # the query has more groups than the limit (documented in docs/access.md).
        message = f"分组过多（超过 {limit} 组）：请减少分组字段或增加筛选条件"
        _audit(session, actor, plan, q, refused=message, epsilon=0)
        raise InvalidSandboxQuery(message, field="group_by")
    groups = [dict(zip(columns, r, strict=True)) for r in rows]
    notes: list[str] = []
    tau = delta = None
    if private:
        groups, tau, delta = _private(plan, q, groups, epsilon, k)
        notes.append(
            f"差分隐私（OpenDP）：ε={epsilon:g}，分摊到 {releases(q)} 项统计（每项 ε={epsilon / releases(q):.4g}），"
            "结果均含随机噪声"
        )
        if tau is not None:
            notes.append(f"只发布加噪计数不低于 {tau} 的分组；其余分组不列出，也不说明是否存在")
        if len(groups) > MAX_GROUPS:  # post-processing of released groups: safe to cut and to say
            notes.append(f"发布的分组超过 {MAX_GROUPS} 组，只列出前 {MAX_GROUPS} 组")
            groups = groups[:MAX_GROUPS]
    hidden = suppress(groups, q.group_by, k)
    out = []
    for g in groups:
        item: dict[str, Any] = {d: json_value(g[d]) for d in q.group_by}
        item["suppressed"] = bool(g["__hidden"])
        for i, m in enumerate(q.measures):
            value = g["__n"] if m.fn == "count" else g[f"__m{i}"]
            if g["__hidden"] or value is None:
                item[m.name] = None
            elif m.fn == "count":
                item[m.name] = max(int(value), 0)
            else:
                item[m.name] = round(float(value), 4)
        out.append(item)
    if hidden:
        notes.append(f"{hidden} 组因样本少于 {k} 或为防止相减推算而隐藏")
    _audit(session, actor, plan, q, epsilon=epsilon if charged else 0, exact=not private, groups=len(out))
    return SandboxResult(
        q.group_by, names, out, k, hidden, epsilon=epsilon if private else None, budget_left=left, notes=notes,
        exact=not private, release_threshold=tau, delta=delta,
    )  # fmt: skip

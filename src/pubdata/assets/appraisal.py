"""The calculation core of data-asset appraisal (数据资产评估): the cost, income and market methods of
the China Appraisal Society's 《数据资产评估指导意见》 (中评协〔2023〕17号), their reconciliation into one
appraised value, and the accounting classification under 《企业数据资源相关会计处理暂行规定》
(财会〔2023〕11号). Pure functions: no database (the registry, the evidence store and the appraisal
agency's workflow call this module). See docs/appraisal.md for the formulas.

Money is integer fen in and out. Rates, coefficients and years are ``int``, ``Decimal`` or a string
holding a decimal (``"0.08"``); a ``float`` or a ``bool`` is refused so every result can be
reproduced exactly. Intermediate arithmetic is exact (``Fraction``); each method rounds half-up to
the fen once, at its end.

Every figure is a ``Figure``: its value and its ``evidence`` (the source document or calculation
note), required and non-empty. A result lists each input with its evidence and a step-by-step trace
in Chinese. Bad input is refused whole with ``InvalidAppraisal``, whose message and ``details`` name
every problem found, each with the input's field path (``cost.planning``, ``market.comparables[1].X2``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from pubdata.errors import Invalid

# ------------------------------------------------------------------------------------------------
# Inputs


class InvalidAppraisal(Invalid):
    """Appraisal input out of range, of the wrong type or without evidence. ``details`` is a list of
    ``{"field", "message"}``, one per problem."""

    code = "assets.invalid_appraisal"


@dataclass(frozen=True)
class Figure:
    """One input figure and its evidence. ``value``: integer fen for money; for rates, coefficients
    and years an ``int``, a ``Decimal`` or a decimal string (never a ``float``)."""

    value: int | Decimal | str
    evidence: str


# The replacement-cost components of the cost method, in the order the trace lists them.
COST_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("planning", "规划"),
    ("collection", "采集"),
    ("cleaning", "清洗"),
    ("labelling", "标注"),
    ("storage", "存储"),
    ("development", "开发"),
    ("operation", "运维"),
    ("indirect", "间接成本"),
    ("opportunity", "机会成本"),
    ("taxes", "相关税费"),
)

# The quality dimensions of GB/T 36344 the guidance names; a quality report may use others.
QUALITY_DIMENSIONS = ("规范性", "完整性", "准确性", "一致性", "时效性", "可访问性")

# δ above this is refused: the cost method prices what it would cost to rebuild the data; a premium
# of more than half the rebuild cost is a value the income or market method should show instead.
MAX_DELTA = Decimal("1.5")

# Reconciliation notes a spread between the highest and lowest method value above this (max/min).
SPREAD_NOTE_ABOVE = Fraction(13, 10)

# Below this many comparables the market method warns (the guidance expects several).
MIN_COMPARABLES = 3


@dataclass(frozen=True)
class DirectAdjustment:
    """δ given directly (e.g. an expert panel's coefficient), in (0, 1.5]."""

    coefficient: Figure


@dataclass(frozen=True)
class QualityDimension:
    """One dimension of the asset's quality report: its score in [0, 1] and its weight in (0, 1]."""

    name: str
    score: Figure
    weight: Figure


@dataclass(frozen=True)
class QualityAdjustment:
    """δ = Σ wᵢ sᵢ over the quality report's dimensions; the weights sum to exactly one."""

    dimensions: Sequence[QualityDimension]
    report_ref: str | None = None


@dataclass(frozen=True)
class EconomicLifeAdjustment:
    """δ = remaining / (used + remaining) years (剩余经济寿命法); used ≥ 0, remaining > 0."""

    used_years: Figure
    remaining_years: Figure


Adjustment = DirectAdjustment | QualityAdjustment | EconomicLifeAdjustment


@dataclass(frozen=True)
class CostInput:
    """Cost method, P = C × δ. Each component of the replacement cost C is integer fen ≥ 0 with its
    evidence; a component not incurred is left ``None`` (it is then neither summed nor listed).
    C must be above zero."""

    adjustment: Adjustment
    planning: Figure | None = None
    collection: Figure | None = None
    cleaning: Figure | None = None
    labelling: Figure | None = None
    storage: Figure | None = None
    development: Figure | None = None
    operation: Figure | None = None
    indirect: Figure | None = None
    opportunity: Figure | None = None
    taxes: Figure | None = None


@dataclass(frozen=True)
class DirectIncome:
    """Fₜ = the asset's own net income of year t (fen; may be negative in a year)."""

    net_income: Sequence[Figure]


@dataclass(frozen=True)
class ShareIncome:
    """Fₜ = Rₜ × K: the enterprise's total income of year t (fen ≥ 0) times the share rate K ∈ (0, 1]."""

    total_income: Sequence[Figure]
    share: Figure


@dataclass(frozen=True)
class Contribution:
    """The return of one other contributing asset (fixed assets, working capital, other intangibles),
    per year, in fen ≥ 0."""

    name: str
    returns: Sequence[Figure]


@dataclass(frozen=True)
class ExcessIncome:
    """Fₜ = Rₜ − Σ (returns of the other contributing assets in year t)."""

    total_income: Sequence[Figure]
    contributions: Sequence[Contribution]


@dataclass(frozen=True)
class IncrementalIncome:
    """Fₜ = income with the asset − income without it (or the cost it saves), year t, in fen."""

    with_asset: Sequence[Figure]
    without_asset: Sequence[Figure]


IncomeBasis = DirectIncome | ShareIncome | ExcessIncome | IncrementalIncome


@dataclass(frozen=True)
class IncomeInput:
    """Income method, P = Σₜ₌₁ⁿ Fₜ / (1 + i)ᵗ. ``years`` is n (a whole number ≥ 1); the limits are in
    years (decimals allowed, > 0) and n may not exceed the shortest one given."""

    basis: IncomeBasis
    discount_rate: Figure
    years: Figure
    contract_term_years: Figure | None = None
    update_cycle_years: Figure | None = None
    timeliness_years: Figure | None = None


@dataclass(frozen=True)
class Comparable:
    """One comparable transaction: its price Qᵢ in fen (> 0) and the five correction factors (> 0):
    X1 quality, X2 supply–demand, X3 date, X4 capacity/scale, X5 other. ``transaction_ref`` names the
    platform's settled transaction it came from, when it did."""

    name: str
    price: Figure
    quality: Figure
    supply_demand: Figure
    date: Figure
    capacity: Figure
    other: Figure
    transaction_ref: str | None = None


@dataclass(frozen=True)
class MarketInput:
    """Market method: Pᵢ = Qᵢ × X1 × X2 × X3 × X4 × X5 per comparable, reconciled by the simple mean or
    by ``weights`` (one per comparable, each > 0, summing to exactly one)."""

    comparables: Sequence[Comparable]
    weights: Sequence[Figure] | None = None


# ------------------------------------------------------------------------------------------------
# Results

Method = Literal["cost", "income", "market"]
METHOD_TITLES: dict[str, str] = {"cost": "成本法", "income": "收益法", "market": "市场法"}


@dataclass(frozen=True)
class EvidencedInput:
    """One input as used: ``key`` its field path, ``label`` its Chinese name, ``value`` as taken
    (int fen or Decimal), ``display`` formatted, and its ``evidence``."""

    key: str
    label: str
    value: int | Decimal
    display: str
    evidence: str


@dataclass(frozen=True, kw_only=True)
class MethodResult:
    """What one method found. ``value_fen`` is the exact value rounded half-up to the fen."""

    method: Method
    title: str
    value_fen: int
    exact_value_fen: Fraction
    inputs: tuple[EvidencedInput, ...]
    trace: tuple[str, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CostResult(MethodResult):
    replacement_cost_fen: int
    delta: Fraction
    delta_source: Literal["direct", "quality", "economic_life"]


@dataclass(frozen=True, kw_only=True)
class IncomeResult(MethodResult):
    yearly_income_fen: tuple[Fraction, ...]  # Fₜ, exact (K × Rₜ may hold a fraction of a fen)
    present_values_fen: tuple[Fraction, ...]
    discount_rate: Decimal
    years: int


@dataclass(frozen=True, kw_only=True)
class MarketResult(MethodResult):
    adjusted_prices_fen: tuple[Fraction, ...]
    weights: tuple[Fraction, ...]


@dataclass(frozen=True)
class Reconciliation:
    """The appraised value from the methods' values. ``spread_ratio`` is max/min of the method values;
    ``spread_note`` is set when it exceeds 1.3 (the methods differ by more than 30 %)."""

    value_fen: int
    exact_value_fen: Fraction
    results: tuple[MethodResult, ...]
    weights: tuple[Fraction, ...]
    conclusion_method: Method | None
    spread_ratio: Fraction
    spread_note: str | None
    inputs: tuple[EvidencedInput, ...]
    trace: tuple[str, ...]


# ------------------------------------------------------------------------------------------------
# Formatting and exact arithmetic


def _round_half_up(x: Fraction) -> int:
    """Round to the nearest integer, halves away from zero (ROUND_HALF_UP)."""
    n = int(abs(x) + Fraction(1, 2))  # int() floors a non-negative Fraction
    return n if x >= 0 else -n


def _terminates(x: Fraction) -> bool:
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _to_decimal(x: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return Decimal(x.numerator) / Decimal(x.denominator)


def _num(x: Fraction) -> str:
    """A coefficient for the trace: exact when it terminates, else ≈ to 6 places."""
    if _terminates(x):
        text = format(_to_decimal(x).normalize(), "f")
        return text
    return "≈" + format(_to_decimal(x).quantize(Decimal("0.000001")), "f")


def fen_text(fen: int) -> str:
    """Integer fen as yuan, e.g. 1200000 → ``12,000.00 元``."""
    sign = "-" if fen < 0 else ""
    a = abs(fen)
    return f"{sign}{a // 100:,}.{a % 100:02d} 元"


def _yuan(x: Fraction) -> str:
    """An exact amount of fen as yuan: exact when it is a terminating decimal, else ≈ to 6 places."""
    if x.denominator == 1:
        return fen_text(x.numerator)
    yuan = _to_decimal(x / 100)
    if _terminates(x):
        return format(yuan.normalize(), ",f") + " 元"
    return "≈" + format(yuan.quantize(Decimal("0.000001")), ",f") + " 元"


def _dec_text(d: Decimal) -> str:
    return format(d, "f")


# ------------------------------------------------------------------------------------------------
# Validation: every problem is collected, then refused at once


def _pad(label: str) -> str:
    """A label followed by Chinese text: a space after one ending in a Latin symbol (``折现率 i``, ``X2``)."""
    return label + " " if label[-1:].isascii() and label[-1:].isalnum() or label.endswith("δ") else label


class _Check:
    def __init__(self) -> None:
        self.problems: list[dict[str, str]] = []
        self.inputs: list[EvidencedInput] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append({"field": key, "message": message})

    def refuse(self) -> None:
        if self.problems:
            raise InvalidAppraisal(
                "；".join(p["message"] for p in self.problems),
                details=list(self.problems),
            )

    def _figure(self, fig: object, key: str, label: str) -> Figure | None:
        if not isinstance(fig, Figure):
            self.problem(key, f"{_pad(label)}必须以 Figure（数值与依据）给出，不能是 {type(fig).__name__}")
            return None
        if not isinstance(fig.evidence, str) or not fig.evidence.strip():
            self.problem(key, f"{_pad(label)}缺少依据（evidence：来源文件或计算说明），每个数值都必须注明依据")
            return None
        return fig

    def fen(self, fig: object, key: str, label: str, *, minimum: int | None = 0) -> int | None:
        """An amount in integer fen ≥ ``minimum`` (no lower bound when ``None``)."""
        f = self._figure(fig, key, label)
        if f is None:
            return None
        v = f.value
        if isinstance(v, bool) or not isinstance(v, int):
            self.problem(key, f"{_pad(label)}必须是整数分，不能是 {type(v).__name__}（{v!r}）")
            return None
        if minimum is not None and v < minimum:
            bound = "不能为负数" if minimum == 0 else f"必须大于 {minimum - 1} 分"
            self.problem(key, f"{_pad(label)}{bound}：{v} 分")
            return None
        self.inputs.append(EvidencedInput(key, label, v, fen_text(v), f.evidence.strip()))
        return v

    def number(self, fig: object, key: str, label: str) -> Decimal | None:
        """A rate, coefficient or number of years: int, Decimal or a decimal string."""
        f = self._figure(fig, key, label)
        if f is None:
            return None
        v = f.value
        d: Decimal | None = None
        if isinstance(v, bool):
            self.problem(key, f"{_pad(label)}不能是布尔值（{v!r}）")
        elif isinstance(v, float):
            self.problem(
                key,
                f'{_pad(label)}不能是浮点数（float {v!r}）：请用 Decimal 或字符串（如 "0.8"），以保证结果可精确复现',
            )
        elif isinstance(v, int):
            d = Decimal(v)
        elif isinstance(v, Decimal):
            d = v
        elif isinstance(v, str):
            try:
                d = Decimal(v.strip())
            except InvalidOperation:
                self.problem(key, f"{_pad(label)}不是有效的小数：{v!r}")
        else:
            self.problem(key, f"{_pad(label)}必须是整数、Decimal 或小数字符串，不能是 {type(v).__name__}")
        if d is None:
            return None
        if not d.is_finite():
            self.problem(key, f"{_pad(label)}必须是有限的数：{v!r}")
            return None
        self.inputs.append(EvidencedInput(key, label, d, _dec_text(d), f.evidence.strip()))
        return d

    def text(self, value: object, key: str, label: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.problem(key, f"{_pad(label)}必须是非空文本")
            return None
        return value.strip()

    def weights(
        self, figs: Sequence[object], keys: Sequence[str], labels: Sequence[str], what: str, *, allow_zero: bool = False
    ) -> list[Fraction] | None:
        """Weights in (0, 1] (or [0, 1]) summing to exactly one."""
        values: list[Fraction] = []
        ok = True
        for fig, key, label in zip(figs, keys, labels, strict=True):
            d = self.number(fig, key, label)
            if d is None:
                ok = False
                continue
            low_ok = d >= 0 if allow_zero else d > 0
            if not low_ok or d > 1:
                rng = "[0, 1]" if allow_zero else "(0, 1]"
                self.problem(key, f"{_pad(label)}必须在 {rng} 之内：{_dec_text(d)}")
                ok = False
                continue
            values.append(Fraction(d))
        if not ok:
            return None
        total = sum(values, Fraction(0))
        if total != 1:
            self.problem(f"{what}.weights", f"{_what_title(what)}的权重之和必须恰好为 1，实为 {_num(total)}")
            return None
        return values


def _what_title(what: str) -> str:
    return {
        "cost.adjustment": "质量评价",
        "market": "可比案例",
        "reconcile": "各评估方法",
    }.get(what, what)


# ------------------------------------------------------------------------------------------------
# Cost method


def cost_method(data: CostInput) -> CostResult:
    """P = C × δ, C the sum of the replacement-cost components, δ the value-adjustment coefficient
    (given, from the quality report, or from the remaining economic life)."""
    check = _Check()
    parts: list[tuple[str, int]] = []
    for attr, label in COST_COMPONENTS:
        fig = getattr(data, attr)
        if fig is None:
            continue
        amount = check.fen(fig, f"cost.{attr}", f"{label}成本" if not label.endswith(("成本", "税费")) else label)
        if amount is not None:
            parts.append((label, amount))
    if not parts and not check.problems:
        check.problem("cost", "重置成本没有任何组成部分：至少给出一项（规划、采集、清洗……）")
    c = sum(amount for _, amount in parts)
    if parts and not check.problems and c <= 0:
        check.problem("cost", "重置成本 C 必须大于零（各组成部分之和为 0 分）")

    delta, delta_lines, source = _delta(check, data.adjustment)
    check.refuse()
    assert delta is not None and source is not None

    exact = c * delta
    value = _round_half_up(exact)
    trace = [
        "重置成本 C = " + " + ".join(f"{label} {fen_text(a)}" for label, a in parts) + f" = {fen_text(c)}",
        *delta_lines,
        f"评估值 P = C × δ = {fen_text(c)} × {_num(delta)} = {_yuan(exact)}",
        f"四舍五入到分：P = {fen_text(value)}（{value:,} 分）",
    ]
    return CostResult(
        method="cost",
        title=METHOD_TITLES["cost"],
        value_fen=value,
        exact_value_fen=exact,
        inputs=tuple(check.inputs),
        trace=tuple(trace),
        replacement_cost_fen=c,
        delta=delta,
        delta_source=source,
    )


def _delta(
    check: _Check, adj: object
) -> tuple[Fraction | None, list[str], Literal["direct", "quality", "economic_life"] | None]:
    key = "cost.adjustment"
    if isinstance(adj, DirectAdjustment):
        d = check.number(adj.coefficient, f"{key}.coefficient", "价值调整系数 δ")
        if d is None:
            return None, [], None
        if not _delta_in_range(check, Fraction(d), f"{key}.coefficient"):
            return None, [], None
        return Fraction(d), [f"价值调整系数 δ = {_dec_text(d)}（直接给定）"], "direct"

    if isinstance(adj, QualityAdjustment):
        dims = list(adj.dimensions)
        if not dims:
            check.problem(key, "质量评价没有任何维度")
            return None, [], None
        names = [
            check.text(dim.name, f"{key}.dimensions[{n}].name", f"第 {n + 1} 个质量维度的名称")
            for n, dim in enumerate(dims)
        ]
        clean = [x for x in names if x is not None]
        if len(set(clean)) != len(clean):
            check.problem(key, "质量维度重复：" + "、".join(sorted({x for x in clean if clean.count(x) > 1})))
        labels = [x or f"第 {n + 1} 个质量维度" for n, x in enumerate(names)]
        scores: list[Fraction | None] = []
        for n, dim in enumerate(dims):
            s = check.number(dim.score, f"{key}.dimensions[{n}].score", f"质量维度「{labels[n]}」的得分")
            if s is not None and not (0 <= s <= 1):
                check.problem(
                    f"{key}.dimensions[{n}].score", f"质量维度「{labels[n]}」的得分必须在 [0, 1] 之内：{_dec_text(s)}"
                )
                s = None
            scores.append(Fraction(s) if s is not None else None)
        weights = check.weights(
            [dim.weight for dim in dims],
            [f"{key}.dimensions[{n}].weight" for n in range(len(dims))],
            [f"质量维度「{labels[n]}」的权重" for n in range(len(dims))],
            key,
        )
        if weights is None or any(s is None for s in scores):
            return None, [], None
        ss = [s for s in scores if s is not None]
        delta = sum((w * s for w, s in zip(weights, ss, strict=True)), Fraction(0))
        if not _delta_in_range(check, delta, key):
            return None, [], None
        ref = f"（质量评价报告 {adj.report_ref}）" if adj.report_ref else ""
        terms = " + ".join(
            f"{_num(w)} × {_num(s)}（{labels[n]}）" for n, (w, s) in enumerate(zip(weights, ss, strict=True))
        )
        return delta, [f"价值调整系数 δ = Σ wᵢ sᵢ = {terms} = {_num(delta)}{ref}"], "quality"

    if isinstance(adj, EconomicLifeAdjustment):
        used = check.number(adj.used_years, f"{key}.used_years", "已使用年限")
        remaining = check.number(adj.remaining_years, f"{key}.remaining_years", "剩余经济寿命")
        bad = False
        if used is not None and used < 0:
            check.problem(f"{key}.used_years", f"已使用年限不能为负数：{_dec_text(used)} 年")
            bad = True
        if remaining is not None and remaining <= 0:
            check.problem(
                f"{key}.remaining_years",
                f"剩余经济寿命必须大于零（为零时 δ = 0，资产已无价值）：{_dec_text(remaining)} 年",
            )
            bad = True
        if used is None or remaining is None or bad:
            return None, [], None
        delta = Fraction(remaining) / (Fraction(used) + Fraction(remaining))
        line = (
            f"价值调整系数 δ = 剩余经济寿命 / (已使用年限 + 剩余经济寿命) = {_dec_text(remaining)} / "
            f"({_dec_text(used)} + {_dec_text(remaining)}) = {_num(delta)}"
        )
        return delta, [line], "economic_life"

    check.problem(key, "价值调整系数 δ 必须直接给定、由质量评价得出或由剩余经济寿命得出")
    return None, [], None


def _delta_in_range(check: _Check, delta: Fraction, key: str) -> bool:
    if delta <= 0:
        check.problem(key, f"价值调整系数 δ 必须大于零：{_num(delta)}")
        return False
    if delta > Fraction(MAX_DELTA):
        check.problem(
            key,
            f"价值调整系数 δ 不能大于 {MAX_DELTA}：{_num(delta)}（高出重置成本一半以上的溢价应由收益法或市场法体现）",
        )
        return False
    return True


# ------------------------------------------------------------------------------------------------
# Income method

_LIMITS = (
    ("contract_term_years", "合同期限"),
    ("update_cycle_years", "更新周期"),
    ("timeliness_years", "时效性"),
)


def income_method(data: IncomeInput) -> IncomeResult:
    """P = Σₜ₌₁ⁿ Fₜ / (1 + i)ᵗ with Fₜ from the basis; n no longer than the shortest limit given."""
    check = _Check()
    i = check.number(data.discount_rate, "income.discount_rate", "折现率 i")
    if i is not None and i <= 0:
        check.problem("income.discount_rate", f"折现率 i 必须大于零：{_dec_text(i)}")
        i = None

    n = _years(check, data.years)
    limits: list[tuple[str, Decimal]] = []
    for attr, label in _LIMITS:
        fig = getattr(data, attr)
        if fig is None:
            continue
        d = check.number(fig, f"income.{attr}", label)
        if d is None:
            continue
        if d <= 0:
            check.problem(f"income.{attr}", f"{label}必须大于零：{_dec_text(d)} 年")
            continue
        limits.append((label, d))
    if n is not None and limits:
        shortest = min(d for _, d in limits)
        if n > shortest:
            which = "、".join(f"{label} {_dec_text(d)} 年" for label, d in limits if d == shortest)
            check.problem(
                "income.years",
                f"收益期 n = {n} 年超过了最短的期限：{which}（收益期不得长于合同期限、更新周期、时效性中最短者）",
            )
            n = None

    incomes, basis_lines = _incomes(check, data.basis, n)
    check.refuse()
    assert i is not None and n is not None and incomes is not None

    rate = 1 + Fraction(i)
    pvs = [f / rate**t for t, f in enumerate(incomes, start=1)]
    exact = sum(pvs, Fraction(0))
    if exact <= 0:
        check.problem("income", f"收益法结果不为正（{_yuan(exact)}）：各年收益的现值之和必须大于零，否则不适用收益法")
        check.refuse()
    value = _round_half_up(exact)
    limit_text = "；".join(f"{label} {_dec_text(d)} 年" for label, d in limits) or "未给出期限约束"
    trace = [
        f"收益期 n = {n} 年（{limit_text}）；折现率 i = {_dec_text(i)}",
        *basis_lines,
        *(
            f"第 {t} 年现值 = F{t} / (1 + {_dec_text(i)})^{t} = {_yuan(f)} / {_num(rate**t)} = {_yuan(pv)}"
            for t, (f, pv) in enumerate(zip(incomes, pvs, strict=True), start=1)
        ),
        f"评估值 P = Σ 各年现值 = {_yuan(exact)}",
        f"四舍五入到分：P = {fen_text(value)}（{value:,} 分）",
    ]
    return IncomeResult(
        method="income",
        title=METHOD_TITLES["income"],
        value_fen=value,
        exact_value_fen=exact,
        inputs=tuple(check.inputs),
        trace=tuple(trace),
        yearly_income_fen=tuple(incomes),
        present_values_fen=tuple(pvs),
        discount_rate=i,
        years=n,
    )


def _years(check: _Check, fig: object) -> int | None:
    d = check.number(fig, "income.years", "收益期 n")
    if d is None:
        return None
    if d <= 0:
        check.problem("income.years", f"收益期 n 必须至少为 1 年：{_dec_text(d)}")
        return None
    if d != d.to_integral_value():
        check.problem("income.years", f"收益期 n 必须是整年数：{_dec_text(d)}")
        return None
    return int(d)


def _year_list(
    check: _Check, figs: object, key: str, label: str, n: int | None, *, minimum: int | None
) -> list[int] | None:
    if isinstance(figs, (str, bytes)) or not isinstance(figs, Sequence):
        check.problem(key, f"{label}必须是按年排列的列表")
        return None
    if n is not None and len(figs) != n:
        check.problem(key, f"{label}的年数（{len(figs)} 年）与收益期 n = {n} 年不一致")
        return None
    values = [check.fen(fig, f"{key}[{t}]", f"第 {t + 1} 年{label}", minimum=minimum) for t, fig in enumerate(figs)]
    if any(v is None for v in values):
        return None
    return [v for v in values if v is not None]


def _incomes(check: _Check, basis: object, n: int | None) -> tuple[list[Fraction] | None, list[str]]:
    key = "income.basis"
    if isinstance(basis, DirectIncome):
        f = _year_list(check, basis.net_income, f"{key}.net_income", "直接收益", n, minimum=None)
        if f is None:
            return None, []
        return [Fraction(x) for x in f], [f"收益口径：直接收益，F{t} = {fen_text(x)}" for t, x in enumerate(f, start=1)]

    if isinstance(basis, ShareIncome):
        r = _year_list(check, basis.total_income, f"{key}.total_income", "企业总收益", n, minimum=0)
        k = check.number(basis.share, f"{key}.share", "分成率 K")
        if k is not None and not (0 < k <= 1):
            check.problem(f"{key}.share", f"分成率 K 必须在 (0, 1] 之内：{_dec_text(k)}")
            k = None
        if r is None or k is None:
            return None, []
        # Fₜ = Rₜ × K stays exact (a fraction of a fen is kept until the end of the method)
        shared = [Fraction(x) * Fraction(k) for x in r]
        return shared, [
            f"收益口径：收益分成，F{t} = R{t} × K = {fen_text(x)} × {_dec_text(k)} = {_yuan(e)}"
            for t, (x, e) in enumerate(zip(r, shared, strict=True), start=1)
        ]

    if isinstance(basis, ExcessIncome):
        r = _year_list(check, basis.total_income, f"{key}.total_income", "企业总收益", n, minimum=0)
        contribs = list(basis.contributions)
        if not contribs:
            check.problem(f"{key}.contributions", "超额收益法必须列出其他贡献资产的收益（至少一项）")
            return None, []
        rows: list[tuple[str, list[int]]] = []
        ok = r is not None
        for j, c in enumerate(contribs):
            name = check.text(c.name, f"{key}.contributions[{j}].name", f"第 {j + 1} 项贡献资产的名称")
            row = _year_list(
                check,
                c.returns,
                f"{key}.contributions[{j}].returns",
                f"贡献资产「{name or j + 1}」的收益",
                n,
                minimum=0,
            )
            if name is None or row is None:
                ok = False
            else:
                rows.append((name, row))
        if not ok or r is None:
            return None, []
        f = [r[t] - sum(row[t] for _, row in rows) for t in range(len(r))]
        lines = [
            f"收益口径：超额收益，F{t + 1} = {fen_text(r[t])} − "
            + " − ".join(f"{name} {fen_text(row[t])}" for name, row in rows)
            + f" = {fen_text(f[t])}"
            for t in range(len(r))
        ]
        return [Fraction(x) for x in f], lines

    if isinstance(basis, IncrementalIncome):
        w = _year_list(check, basis.with_asset, f"{key}.with_asset", "使用该数据资产时的收益", n, minimum=None)
        wo = _year_list(check, basis.without_asset, f"{key}.without_asset", "不使用该数据资产时的收益", n, minimum=None)
        if w is None or wo is None:
            return None, []
        f = [a - b for a, b in zip(w, wo, strict=True)]
        return [Fraction(x) for x in f], [
            f"收益口径：增量收益，F{t} = {fen_text(a)} − {fen_text(b)} = {fen_text(x)}"
            for t, (a, b, x) in enumerate(zip(w, wo, f, strict=True), start=1)
        ]

    check.problem(key, "收益口径必须是直接收益、收益分成、超额收益或增量收益之一")
    return None, []


# ------------------------------------------------------------------------------------------------
# Market method

_FACTORS = (
    ("quality", "X1", "质量调整系数"),
    ("supply_demand", "X2", "供求调整系数"),
    ("date", "X3", "期日调整系数"),
    ("capacity", "X4", "容量调整系数"),
    ("other", "X5", "其他调整系数"),
)


def market_method(data: MarketInput) -> MarketResult:
    """Pᵢ = Qᵢ × X1 × X2 × X3 × X4 × X5 per comparable; P = their mean, or their weighted sum."""
    check = _Check()
    comps = list(data.comparables)
    if not comps:
        check.problem("market.comparables", "市场法至少需要一个可比案例")
        check.refuse()
    names = [
        check.text(c.name, f"market.comparables[{j}].name", f"第 {j + 1} 个可比案例的名称") for j, c in enumerate(comps)
    ]
    clean = [x for x in names if x is not None]
    if len(set(clean)) != len(clean):
        check.problem(
            "market.comparables", "可比案例名称重复：" + "、".join(sorted({x for x in clean if clean.count(x) > 1}))
        )
    labels = [x or f"第 {j + 1} 个" for j, x in enumerate(names)]

    adjusted: list[Fraction] = []
    lines: list[str] = []
    for j, c in enumerate(comps):
        k = f"market.comparables[{j}]"
        ref = c.transaction_ref
        if ref is not None and (not isinstance(ref, str) or not ref.strip()):
            check.problem(f"{k}.transaction_ref", f"可比案例「{labels[j]}」的交易编号必须是非空文本或不填")
        q = check.fen(c.price, f"{k}.price", f"可比案例「{labels[j]}」的交易价格 Q", minimum=1)
        xs: list[tuple[str, Decimal]] = []
        ok = q is not None
        for attr, code, title in _FACTORS:
            x = check.number(getattr(c, attr), f"{k}.{code}", f"可比案例「{labels[j]}」的{title} {code}")
            if x is None:
                ok = False
                continue
            if x <= 0:
                check.problem(f"{k}.{code}", f"可比案例「{labels[j]}」的{title} {code} 必须大于零：{_dec_text(x)}")
                ok = False
                continue
            xs.append((code, x))
        if not ok or q is None:
            continue
        p = Fraction(q)
        for _, x in xs:
            p *= Fraction(x)
        adjusted.append(p)
        src = f"（交易 {ref.strip()}）" if isinstance(ref, str) and ref.strip() else ""
        lines.append(
            f"可比案例「{labels[j]}」{src}：P = Q × X1 × X2 × X3 × X4 × X5 = {fen_text(q)} × "
            + " × ".join(_dec_text(x) for _, x in xs)
            + f" = {_yuan(p)}"
        )

    weights: list[Fraction] | None
    if data.weights is None:
        weights = [Fraction(1, len(comps))] * len(comps)
    elif len(data.weights) != len(comps):
        check.problem("market.weights", f"权重个数（{len(data.weights)}）与可比案例个数（{len(comps)}）不一致")
        weights = None
    else:
        weights = check.weights(
            list(data.weights),
            [f"market.weights[{j}]" for j in range(len(comps))],
            [f"可比案例「{labels[j]}」的权重" for j in range(len(comps))],
            "market",
        )
    check.refuse()
    assert weights is not None

    exact = sum((w * p for w, p in zip(weights, adjusted, strict=True)), Fraction(0))
    value = _round_half_up(exact)
    if data.weights is None:
        lines.append(
            "评估值 P = 各可比案例调整后价格的算术平均 = "
            f"({' + '.join(_yuan(p) for p in adjusted)}) / {len(adjusted)} = {_yuan(exact)}"
        )
    else:
        lines.append(
            "评估值 P = Σ 权重 × 调整后价格 = "
            + " + ".join(f"{_num(w)} × {_yuan(p)}" for w, p in zip(weights, adjusted, strict=True))
            + f" = {_yuan(exact)}"
        )
    lines.append(f"四舍五入到分：P = {fen_text(value)}（{value:,} 分）")
    warnings: list[str] = []
    if len(comps) < MIN_COMPARABLES:
        warnings.append(
            f"可比案例只有 {len(comps)} 个：指导意见要求选取多个可比案例，"
            f"本平台建议至少 {MIN_COMPARABLES} 个，结论的可靠性有限"
        )
    return MarketResult(
        method="market",
        title=METHOD_TITLES["market"],
        value_fen=value,
        exact_value_fen=exact,
        inputs=tuple(check.inputs),
        trace=tuple(lines),
        warnings=tuple(warnings),
        adjusted_prices_fen=tuple(adjusted),
        weights=tuple(weights),
    )


# ------------------------------------------------------------------------------------------------
# Reconciliation


def reconcile(
    results: Sequence[MethodResult],
    weights: Sequence[Figure] | None,
    *,
    conclusion_method: Method | None = None,
    reason: str | None = None,
) -> Reconciliation:
    """The appraised value from the methods' values (their rounded ``value_fen``, as reported).

    Either ``weights`` (one per result, each in [0, 1] — a method may be shown but carry no weight —
    summing to exactly one, each with its evidence) give P = Σ wⱼ Pⱼ rounded half-up to the fen; or
    ``conclusion_method`` adopts one method's value, with the appraiser's ``reason`` (required).
    The spread max/min of the method values is reported, with a note above 1.3."""
    check = _Check()
    rs = list(results)
    if not rs:
        check.problem("reconcile.results", "没有任何评估方法的结果可供协调")
        check.refuse()
    if any(not isinstance(r, MethodResult) for r in rs):
        check.problem("reconcile.results", "评估结果必须是成本法、收益法或市场法的计算结果")
        check.refuse()
    methods = [r.method for r in rs]
    if len(set(methods)) != len(methods):
        dup = sorted({METHOD_TITLES[m] for m in methods if methods.count(m) > 1})
        check.problem("reconcile.results", "同一评估方法出现了多次：" + "、".join(dup))
    for r in rs:
        if r.value_fen <= 0:
            check.problem("reconcile.results", f"{r.title}的结果必须大于零：{fen_text(r.value_fen)}")

    ws: list[Fraction] | None = None
    if weights is not None and conclusion_method is not None:
        check.problem("reconcile", "权重与采用的单一评估方法只能二选一")
    elif weights is not None:
        if len(weights) != len(rs):
            check.problem("reconcile.weights", f"权重个数（{len(weights)}）与评估方法个数（{len(rs)}）不一致")
        else:
            ws = check.weights(
                list(weights),
                [f"reconcile.weights[{j}]" for j in range(len(rs))],
                [f"{r.title}的权重" for r in rs],
                "reconcile",
                allow_zero=True,
            )
    elif conclusion_method is not None:
        if conclusion_method not in methods:
            check.problem(
                "reconcile.conclusion_method",
                f"采用的评估方法 {METHOD_TITLES.get(conclusion_method, conclusion_method)} 不在已计算的结果之中",
            )
        if not isinstance(reason, str) or not reason.strip():
            check.problem("reconcile.reason", "采用单一评估方法的结果作为结论时，必须说明理由")
    else:
        check.problem("reconcile", "必须给出各评估方法的权重，或指明采用哪一种评估方法的结果")
    check.refuse()

    values = [r.value_fen for r in rs]
    lines = [f"{r.title}：{fen_text(r.value_fen)}" for r in rs]
    if ws is not None:
        exact = sum((w * v for w, v in zip(ws, values, strict=True)), Fraction(0))
        lines.append(
            "评估结论 P = Σ 权重 × 各方法结果 = "
            + " + ".join(f"{_num(w)} × {fen_text(v)}" for w, v in zip(ws, values, strict=True))
            + f" = {_yuan(exact)}"
        )
    else:
        chosen_result = next(r for r in rs if r.method == conclusion_method)
        exact = Fraction(chosen_result.value_fen)
        ws = [Fraction(1) if r is chosen_result else Fraction(0) for r in rs]
        assert reason is not None
        lines.append(f"评估结论采用{chosen_result.title}的结果 {fen_text(chosen_result.value_fen)}：{reason.strip()}")
    value = _round_half_up(exact)
    lines.append(f"四舍五入到分：评估值 = {fen_text(value)}（{value:,} 分）")

    spread = Fraction(max(values), min(values))
    note: str | None = None
    if spread > SPREAD_NOTE_ABOVE:
        note = (
            f"各评估方法的结果差异较大：最高 {fen_text(max(values))} 是最低 {fen_text(min(values))} "
            f"的 {_num(spread)} 倍"
            "（超过 30%），应在报告中分析差异原因并说明结论的选取理由"
        )
    lines.append(f"方法间差异：最高 / 最低 = {_num(spread)}")
    inputs = tuple(check.inputs)
    return Reconciliation(
        value_fen=value,
        exact_value_fen=exact,
        results=tuple(rs),
        weights=tuple(ws),
        conclusion_method=conclusion_method,
        spread_ratio=spread,
        spread_note=note,
        inputs=inputs,
        trace=tuple(lines),
    )


# ------------------------------------------------------------------------------------------------
# Accounting classification (财会〔2023〕11号)


class HoldingPurpose(StrEnum):
    OWN_USE = "own_use"  # 企业内部使用（用于生产经营、管理）
    SERVICES = "services"  # 利用数据资源对客户提供服务
    SALE = "sale"  # 日常活动中持有、最终目的用于出售


INTANGIBLE = "无形资产"
INVENTORY = "存货"
NOT_RECOGNISED = "不确认为资产（费用化）"


@dataclass(frozen=True)
class Classification:
    category: str  # INTANGIBLE, INVENTORY or NOT_RECOGNISED
    standard: str  # the accounting standard that governs it
    reason: str  # in Chinese, quoting the rule applied


def classify(
    holding_purpose: HoldingPurpose | str,
    expected_benefits_probable: bool,
    cost_reliably_measurable: bool,
    controlled: bool,
) -> Classification:
    """How the data resource is presented under 财会〔2023〕11号: 无形资产 when used by the enterprise
    (in its operations or to provide services to customers), 存货 when held for sale in its ordinary
    activities, and not recognised (costs expensed) when the enterprise does not control it, its
    economic benefits are not probable, or its cost cannot be measured reliably."""
    check = _Check()
    purpose: HoldingPurpose | None = None
    try:
        purpose = HoldingPurpose(holding_purpose)
    except ValueError:
        check.problem(
            "classify.holding_purpose",
            "持有目的必须是 own_use（企业内部使用）、services（对外提供服务）或 sale（日常活动中持有以备出售）"
            f"之一：{holding_purpose!r}",
        )
    for key, label, v in (
        ("expected_benefits_probable", "经济利益是否很可能流入", expected_benefits_probable),
        ("cost_reliably_measurable", "成本是否能够可靠计量", cost_reliably_measurable),
        ("controlled", "是否拥有或控制", controlled),
    ):
        if not isinstance(v, bool):
            check.problem(f"classify.{key}", f"{label}必须是是/否（bool），不能是 {v!r}")
    check.refuse()
    assert purpose is not None

    failed = []
    if not controlled:
        failed.append("企业并不合法拥有或控制该数据资源")
    if not expected_benefits_probable:
        failed.append("与该数据资源有关的经济利益并非很可能流入企业")
    if not cost_reliably_measurable:
        failed.append("该数据资源的成本不能够可靠地计量")
    if failed:
        return Classification(
            category=NOT_RECOGNISED,
            standard="财会〔2023〕11号",
            reason=(
                "；".join(failed) + "。不满足资产的定义或确认条件，相关支出计入当期损益（费用化）；"
                "财会〔2023〕11号 不改变现行准则的确认条件，也不将以前已经费用化的支出追溯资本化，"
                "企业可自愿披露该数据资源的有关信息。"
            ),
        )
    if purpose is HoldingPurpose.SALE:
        return Classification(
            category=INVENTORY,
            standard="《企业会计准则第1号——存货》",
            reason=(
                "企业日常活动中持有、最终目的用于出售的数据资源，符合存货的定义和确认条件"
                "（与该存货有关的经济利益很可能流入企业，该存货的成本能够可靠计量），应当确认为存货，"
                "在资产负债表“存货”项目下的“其中：数据资源”列示。"
            ),
        )
    use = "企业内部使用" if purpose is HoldingPurpose.OWN_USE else "企业利用其对客户提供服务"
    extra = "" if purpose is HoldingPurpose.OWN_USE else "提供服务取得的收入按《企业会计准则第14号——收入》处理；"
    return Classification(
        category=INTANGIBLE,
        standard="《企业会计准则第6号——无形资产》",
        reason=(
            f"{use}的数据资源，符合无形资产的定义和确认条件（企业拥有或者控制，与该无形资产有关的经济利益很可能流入企业，"
            f"该无形资产的成本能够可靠地计量），应当确认为无形资产；{extra}"
            "在资产负债表“无形资产”项目下的“其中：数据资源”列示（自行开发的，研究阶段支出费用化，"
            "开发阶段支出满足资本化条件的计入“开发支出”）。"
        ),
    )


__all__ = [
    "COST_COMPONENTS",
    "INTANGIBLE",
    "INVENTORY",
    "MAX_DELTA",
    "NOT_RECOGNISED",
    "QUALITY_DIMENSIONS",
    "Classification",
    "Comparable",
    "Contribution",
    "CostInput",
    "CostResult",
    "DirectAdjustment",
    "DirectIncome",
    "EconomicLifeAdjustment",
    "EvidencedInput",
    "ExcessIncome",
    "Figure",
    "HoldingPurpose",
    "IncomeInput",
    "IncomeResult",
    "IncrementalIncome",
    "InvalidAppraisal",
    "MarketInput",
    "MarketResult",
    "MethodResult",
    "QualityAdjustment",
    "QualityDimension",
    "Reconciliation",
    "ShareIncome",
    "classify",
    "cost_method",
    "fen_text",
    "income_method",
    "market_method",
    "reconcile",
]

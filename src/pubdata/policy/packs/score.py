"""Scored clauses: a clause whose rule is a points table (评价指标), as recognition standards such as
MIIT's 创新型中小企业评价标准 write them (docs/policy-packs.md, "Scored clauses").

A ``score`` block has groups of indicators; each indicator gives points by one of

- ``by`` + ``bands``: bands of a numeric expression, bounded with the tiers' words (``from`` ≥,
  ``above`` >, ``below`` <, ``through`` ≤) and covering every value exactly once (checked);
- ``cases``: conditions tried in order, the first that holds gives its points, ``otherwise`` last;
- ``points``: a numeric expression that *is* the points (a score another body supplies), kept
  within 0 … ``max``.

Groups may have a floor (创新能力不低于20分) and the block a pass mark. A clause's ``when`` reads the
result as the condition ``score_passes``: total ≥ pass mark and every floor met.

Unknown facts make an indicator unknown; its points are then anywhere between its lowest and its
highest band. The score is the interval [known + lows, known + highs]: ``score_passes`` is true
when the lower bounds already pass (total and floors), false when even the upper bounds fail, and
unknown otherwise — the facts that would decide it are listed. The Python evaluator (with a trace
in Chinese) and the SQL compilation (one expression per indicator, NULL for unknown, ``COALESCE``
to the bounds) give the same results; a pack's test cases check both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pubdata.policy.packs.explain import MARKS, Describer
from pubdata.rules import expr
from pubdata.rules.evaluate import evaluate
from pubdata.rules.sql import literal, quote, to_sql

SCORE_PASSES = "score_passes"  # the name a scored clause's ``when`` reads the score's verdict by


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("应为数字")
    if isinstance(value, str):
        try:
            return expr.number(value.strip())
        except Exception:
            raise ValueError(f"应为数字：{value}") from None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    raise ValueError(f"应为数字：{value!r}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class BandSpec(_Strict):
    """One band of an indicator's ``by`` value: bounds (as tiers write them) and the points."""

    from_: Decimal | None = Field(default=None, alias="from")
    above: Decimal | None = None
    below: Decimal | None = None
    through: Decimal | None = None
    points: Decimal
    label: str | None = None  # the text's own words for the band (A. 5%以上)

    @field_validator("from_", "above", "below", "through", "points", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        return None if v is None else _decimal(v)


class ChoiceSpec(_Strict):
    """One of an indicator's ``cases``: a condition and its points, or ``otherwise`` (last)."""

    when: str | None = None
    otherwise: bool = False
    points: Decimal
    label: str | None = None

    @field_validator("points", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        return _decimal(v)


class IndicatorSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    max: Decimal
    by: str | None = None
    bands: list[BandSpec] | None = None
    cases: list[ChoiceSpec] | None = None
    points: str | None = None
    note: str | None = None  # why a band reads as it does where the text is silent

    @field_validator("max", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        return _decimal(v)


class GroupSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    max: Decimal | None = None  # the text's 满分, checked against the indicators
    floor: Decimal | None = None  # 不低于: the group's points must reach it
    indicators: list[IndicatorSpec] = Field(min_length=1)

    @field_validator("max", "floor", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        return None if v is None else _decimal(v)


class ScoreSpec(_Strict):
    total: Decimal | None = None  # the text's 满分, checked against the groups
    pass_mark: Decimal  # 达到 … 分以上: total ≥ pass_mark
    groups: list[GroupSpec] = Field(min_length=1)

    @field_validator("total", "pass_mark", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        return None if v is None else _decimal(v)


# --- compiled ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    value: Decimal
    inclusive: bool


@dataclass(frozen=True)
class Band:
    lower: Edge | None
    upper: Edge | None
    points: Decimal
    label: str | None

    def holds(self, value: Decimal) -> bool:
        low = self.lower is None or (value >= self.lower.value if self.lower.inclusive else value > self.lower.value)
        high = self.upper is None or (value <= self.upper.value if self.upper.inclusive else value < self.upper.value)
        return low and high


@dataclass(frozen=True)
class Choice:
    when: expr.Node | None  # None: otherwise
    text: str | None
    points: Decimal
    label: str | None


@dataclass(frozen=True)
class Indicator:
    id: str
    title: str
    max: Decimal
    kind: Literal["bands", "cases", "points"]
    by: expr.Node | None = None
    by_text: str | None = None
    bands: tuple[Band, ...] = ()
    choices: tuple[Choice, ...] = ()
    points: expr.Node | None = None

    @property
    def min(self) -> Decimal:
        """The fewest points the indicator can give (what an unknown value counts for at least)."""
        if self.kind == "bands":
            return min(b.points for b in self.bands)
        if self.kind == "cases":
            return min(c.points for c in self.choices)
        return Decimal(0)

    def facts(self) -> list[str]:
        nodes = [self.by, self.points, *(c.when for c in self.choices)]
        return list(dict.fromkeys(n for node in nodes if node is not None for n in expr.facts_used(node)))


@dataclass(frozen=True)
class Group:
    id: str
    title: str
    floor: Decimal | None
    indicators: tuple[Indicator, ...]

    @property
    def max(self) -> Decimal:
        return sum((i.max for i in self.indicators), Decimal(0))

    @property
    def min(self) -> Decimal:
        return sum((i.min for i in self.indicators), Decimal(0))


@dataclass(frozen=True)
class Score:
    pass_mark: Decimal
    groups: tuple[Group, ...]

    @property
    def max(self) -> Decimal:
        return sum((g.max for g in self.groups), Decimal(0))

    @property
    def indicators(self) -> list[Indicator]:
        return [i for g in self.groups for i in g.indicators]

    def facts(self) -> list[str]:
        return list(dict.fromkeys(f for i in self.indicators for f in i.facts()))


def _figure(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _edge(band: BandSpec, low: bool) -> Edge | None:
    inclusive, exclusive = (band.from_, band.above) if low else (band.through, band.below)
    if inclusive is not None:
        return Edge(inclusive, True)
    return None if exclusive is None else Edge(exclusive, False)


def _lower_key(b: Band) -> tuple[int, Decimal, int]:
    if b.lower is None:
        return (0, Decimal(0), 0)
    return (1, b.lower.value, 0 if b.lower.inclusive else 1)


def _bands(specs: list[BandSpec], at: str, problems: list[str]) -> tuple[Band, ...]:
    bands = []
    for i, row in enumerate(specs, 1):
        where = f"{at}.bands[{i}]"
        if row.from_ is not None and row.above is not None:
            problems.append(f"{where}：from 与 above 只能写一个")
        if row.below is not None and row.through is not None:
            problems.append(f"{where}：below 与 through 只能写一个")
        band = Band(_edge(row, True), _edge(row, False), row.points, row.label)
        lo, hi = band.lower, band.upper
        if lo and hi and (lo.value > hi.value or (lo.value == hi.value and not (lo.inclusive and hi.inclusive))):
            problems.append(f"{where}：下限高于上限，这一档为空")
        bands.append(band)
    # every value, from -∞ to ∞, in exactly one band (whatever the order the text lists them in)
    ordered = sorted(bands, key=_lower_key)
    if ordered and ordered[0].lower is not None:
        problems.append(f"{at}.bands：低于 {_figure(ordered[0].lower.value)} 的取值没有档次（缺口）")
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        if prev.upper is None or nxt.lower is None:
            problems.append(f"{at}.bands：“{_words(prev)}”与“{_words(nxt)}”两档重叠")
            continue
        a, b = prev.upper, nxt.lower
        if b.value > a.value or (b.value == a.value and not a.inclusive and not b.inclusive):
            problems.append(f"{at}.bands：{_figure(a.value)} 至 {_figure(b.value)} 之间的取值没有档次（缺口）")
        elif b.value < a.value or (a.inclusive and b.inclusive):
            problems.append(f"{at}.bands：“{_words(prev)}”与“{_words(nxt)}”两档重叠（{_figure(b.value)}）")
    if ordered and ordered[-1].upper is not None:
        problems.append(f"{at}.bands：高于 {_figure(ordered[-1].upper.value)} 的取值没有档次（缺口）")
    return tuple(bands)


def _words(band: Band, say: Callable[[Decimal], str] = _figure) -> str:
    """A band's bounds in words: ``达到5、低于8``; 以上/以下 are not used here because the text's
    own labels are ambiguous exactly at the bounds."""
    parts = []
    if band.lower is not None:
        parts.append(f"{'达到' if band.lower.inclusive else '超过'}{say(band.lower.value)}")
    if band.upper is not None:
        parts.append(f"{'不超过' if band.upper.inclusive else '低于'}{say(band.upper.value)}")
    return "、".join(parts) or "任意取值"


def compile_score(spec: ScoreSpec, where: str, types: Mapping[str, expr.Type], problems: list[str]) -> Score:
    """The score block compiled against the pack's facts; problems are appended, not raised."""
    groups = []
    seen: set[str] = set()
    for gi, g in enumerate(spec.groups, 1):
        gat = f"{where}.groups[{gi}]（{g.id}）"
        indicators = []
        for ii, ind in enumerate(g.indicators, 1):
            at = f"{gat}.indicators[{ii}]（{ind.id}）"
            if ind.id in seen:
                problems.append(f"{at}：指标 id 重复")
            seen.add(ind.id)
            indicators.append(_indicator(ind, at, types, problems))
        group = Group(g.id, g.title, g.floor, tuple(indicators))
        if g.max is not None and g.max != group.max:
            problems.append(f"{gat}：满分写为 {_figure(g.max)}，各指标满分之和为 {_figure(group.max)}")
        if g.floor is not None and g.floor > group.max:
            problems.append(f"{gat}：最低分 {_figure(g.floor)} 高于满分 {_figure(group.max)}，永远达不到")
        groups.append(group)
    score = Score(spec.pass_mark, tuple(groups))
    if spec.total is not None and spec.total != score.max:
        problems.append(f"{where}：满分写为 {_figure(spec.total)}，各类指标满分之和为 {_figure(score.max)}")
    if spec.pass_mark > score.max:
        problems.append(f"{where}：及格线 {_figure(spec.pass_mark)} 高于满分 {_figure(score.max)}")
    return score


def _indicator(spec: IndicatorSpec, at: str, types: Mapping[str, expr.Type], problems: list[str]) -> Indicator:
    forms = [k for k in ("bands", "cases", "points") if getattr(spec, k) is not None]
    if len(forms) != 1:
        problems.append(f"{at}：bands（配合 by）、cases、points 必须且只能写一个")
        return Indicator(spec.id, spec.title, spec.max, "points", points=expr.Const(0, Decimal(0)))
    kind = forms[0]

    def number(text: str, name: str) -> expr.Node:
        try:
            return expr.compile_number(text, types)
        except expr.InvalidExpression as exc:
            problems.append(f"{at}.{name}：{exc.message}")
            return expr.Const(0, Decimal(0))

    if kind == "bands":
        if spec.by is None:
            problems.append(f"{at}：分档（bands）需要 by：按哪个数值分档")
        by = number(spec.by, "by") if spec.by is not None else expr.Const(0, Decimal(0))
        bands = _bands(spec.bands or [], at, problems)
        ind = Indicator(spec.id, spec.title, spec.max, "bands", by=by, by_text=spec.by, bands=bands)
        figures = [b.points for b in bands]
    elif kind == "cases":
        if spec.by is not None:
            problems.append(f"{at}：by 只用于 bands")
        choices = []
        rows = spec.cases or []
        for ci, c in enumerate(rows, 1):
            cat = f"{at}.cases[{ci}]"
            if c.otherwise != (c.when is None):
                problems.append(f"{cat}：when 与 otherwise: true 必须且只能写一个")
            if c.otherwise and ci != len(rows):
                problems.append(f"{cat}：otherwise 只能是最后一项")
            node = None
            if c.when is not None:
                try:
                    node = expr.compile_condition(c.when, types)
                except expr.InvalidExpression as exc:
                    problems.append(f"{cat}.when：{exc.message}")
                    node = expr.Const(0, False)
            choices.append(Choice(node, c.when, c.points, c.label))
        if not rows or not rows[-1].otherwise:
            problems.append(f"{at}.cases：最后一项应为 otherwise: true（其余情况的得分），否则有取值没有得分")
        ind = Indicator(spec.id, spec.title, spec.max, "cases", choices=tuple(choices))
        figures = [c.points for c in choices]
    else:
        if spec.by is not None:
            problems.append(f"{at}：by 只用于 bands")
        ind = Indicator(spec.id, spec.title, spec.max, "points", points=number(spec.points or "", "points"))
        figures = [spec.max]
    if any(p < 0 for p in figures):
        problems.append(f"{at}：得分不能为负数")
    if figures and max(figures) != spec.max:
        problems.append(f"{at}：满分写为 {_figure(spec.max)}，各档最高得分为 {_figure(max(figures))}")
    return ind


# --- one enterprise, in Python -------------------------------------------------------------------------


@dataclass
class IndicatorResult:
    indicator: Indicator
    points: Decimal | None  # None: unknown, somewhere in [indicator.min, indicator.max]
    band: str | None  # the band or case that gave the points
    value: str  # the values it was scored on, in words
    missing: frozenset[str] = frozenset()


@dataclass
class ScoreResult:
    score: Score
    indicators: list[IndicatorResult]
    passes: bool | None
    missing: frozenset[str]
    low: Decimal
    high: Decimal
    group_bounds: list[tuple[Decimal, Decimal]] = field(default_factory=list)

    @property
    def exact(self) -> Decimal | None:
        return self.low if all(r.points is not None for r in self.indicators) else None


def _clamp(value: Decimal, top: Decimal) -> Decimal:
    return min(max(value, Decimal(0)), top)


def _score_indicator(ind: Indicator, facts: Mapping[str, Any], say: Describer) -> IndicatorResult:
    if ind.kind == "bands":
        assert ind.by is not None
        unit_of = ind.by.name if isinstance(ind.by, expr.Fact) else None
        words = say.operand(ind.by, facts, unit_of)
        got = evaluate(ind.by, facts)
        if got.value is None:
            return IndicatorResult(ind, None, None, words, got.missing)
        value = Decimal(got.value)  # type: ignore[arg-type]
        band = next(b for b in ind.bands if b.holds(value))  # the bands cover every value (checked)
        exact = _words(band, lambda v: say.value(unit_of, v))
        label = f"“{band.label}”（{exact}）" if band.label else f"“{exact}”"
        return IndicatorResult(ind, band.points, label, words)
    if ind.kind == "cases":
        shown: list[str] = []
        for choice in ind.choices:
            if choice.when is None:
                return IndicatorResult(ind, choice.points, f"“{choice.label or '其他'}”", "，".join(shown) or "—")
            for name in expr.facts_used(choice.when):
                item = say.operand(expr.Fact(0, name), facts, name)
                if item not in shown:
                    shown.append(item)
            got = evaluate(choice.when, facts)
            if got.value is None:
                # undecided here: every later case may still be the one that holds, so the facts any
                # of them lacks are what would decide it (not only this case's)
                missing = set(got.missing)
                for later in ind.choices[ind.choices.index(choice) + 1 :]:
                    if later.when is not None:
                        missing |= evaluate(later.when, facts).missing
                return IndicatorResult(ind, None, None, "，".join(shown), frozenset(missing))
            if got.value:
                return IndicatorResult(ind, choice.points, f"“{choice.label or choice.text}”", "，".join(shown))
        raise AssertionError("cases end with otherwise (checked)")  # pragma: no cover
    assert ind.points is not None
    unit_of = ind.points.name if isinstance(ind.points, expr.Fact) else None
    words = say.operand(ind.points, facts, unit_of)
    got = evaluate(ind.points, facts)
    if got.value is None:
        return IndicatorResult(ind, None, None, words, got.missing)
    return IndicatorResult(ind, _clamp(Decimal(got.value), ind.max), "按所给分值（0 至满分）", words)  # type: ignore[arg-type]


def evaluate_score(score: Score, facts: Mapping[str, Any], say: Describer) -> ScoreResult:
    """Every indicator's points (or its bounds when unknown), the groups' subtotals and the verdict."""
    results = [_score_indicator(i, facts, say) for g in score.groups for i in g.indicators]
    by_id = {r.indicator.id: r for r in results}
    bounds = []
    for g in score.groups:
        rs = [by_id[i.id] for i in g.indicators]
        low = sum((r.points if r.points is not None else r.indicator.min for r in rs), Decimal(0))
        high = sum((r.points if r.points is not None else r.indicator.max for r in rs), Decimal(0))
        bounds.append((low, high))
    low = sum((b[0] for b in bounds), Decimal(0))
    high = sum((b[1] for b in bounds), Decimal(0))
    floors = [(g.floor, b) for g, b in zip(score.groups, bounds, strict=True) if g.floor is not None]
    passes: bool | None
    if low >= score.pass_mark and all(b[0] >= f for f, b in floors):
        passes = True
    elif high < score.pass_mark or any(b[1] < f for f, b in floors):
        passes = False
    else:
        passes = None
    missing: frozenset[str] = frozenset()
    for r in results:
        missing |= r.missing
    return ScoreResult(score, results, passes, missing, low, high, bounds)


def _span(low: Decimal, high: Decimal) -> str:
    return f"{_figure(low)}分" if low == high else f"{_figure(low)}～{_figure(high)}分"


def score_trace(result: ScoreResult, say: Describer) -> list[str]:
    """The score in words: every indicator with its value, band and points; each group's subtotal
    against its floor; the total against the pass mark."""
    score = result.score
    floors = "、".join(f"{g.title}不低于{_figure(g.floor)}分" for g in score.groups if g.floor is not None)
    lines = [
        f"评分：满分{_figure(score.max)}分，达到{_figure(score.pass_mark)}分以上为通过"
        + (f"（{floors}）" if floors else "")
    ]
    by_id = {r.indicator.id: r for r in result.indicators}
    for g, (low, high) in zip(score.groups, result.group_bounds, strict=True):
        lines.append(f"【{g.title}】（满分{_figure(g.max)}分）")
        for ind in g.indicators:
            r = by_id[ind.id]
            head = f"  · {ind.title}（满分{_figure(ind.max)}分）：{r.value}"
            if r.points is None:
                names = "、".join(say.title(n) for n in sorted(r.missing))
                lines.append(f"{head} → 缺少 {names}，计 {_span(ind.min, ind.max)}")
            else:
                lines.append(f"{head}，属于{r.band} → {_figure(r.points)}分")
        sub = f"  小计 {_span(low, high)}"
        if g.floor is not None:
            held = True if low >= g.floor else False if high < g.floor else None
            sub += f"，要求不低于{_figure(g.floor)}分 {MARKS[held]}"
        lines.append(sub)
    verdict = {True: "评分达标", False: "评分未达标", None: "评分暂无法判断"}[result.passes]
    reached = True if result.low >= score.pass_mark else False if result.high < score.pass_mark else None
    line = f"总分 {_span(result.low, result.high)}，要求达到{_figure(score.pass_mark)}分 {MARKS[reached]} → {verdict}"
    if result.passes is None:
        line += "（缺少：" + "、".join(say.title(n) for n in sorted(result.missing)) + "）"
    lines.append(line)
    return lines


def score_detail(result: ScoreResult) -> dict[str, Any]:
    """The score as data (API, portal): per group its bounds and floor, per indicator its points."""
    by_id = {r.indicator.id: r for r in result.indicators}
    return {
        "pass_mark": result.score.pass_mark,
        "max": result.score.max,
        "passes": result.passes,
        "groups": [
            {
                "id": g.id,
                "title": g.title,
                "floor": g.floor,
                "max": g.max,
                "min_points": low,
                "max_points": high,
                "indicators": [
                    {
                        "id": i.id,
                        "title": i.title,
                        "max": i.max,
                        "points": by_id[i.id].points,
                        "band": by_id[i.id].band,
                        "value": by_id[i.id].value,
                        "missing": sorted(by_id[i.id].missing),
                    }
                    for i in g.indicators
                ],
            }
            for g, (low, high) in zip(result.score.groups, result.group_bounds, strict=True)
        ],
    }


# --- every enterprise, in SQL --------------------------------------------------------------------------


def _num(value: Decimal) -> str:
    return literal(value.normalize() if value == value.to_integral_value() else value)


def indicator_sql(ind: Indicator, column: Callable[[str], str] = quote) -> str:
    """The indicator's points, NULL when the facts leave them unknown (as ``_score_indicator``)."""
    if ind.kind == "bands":
        assert ind.by is not None
        by = to_sql(ind.by, column)
        whens = []
        for b in ind.bands:
            edges = []
            if b.lower is not None:
                edges.append(f"{by} {'>=' if b.lower.inclusive else '>'} {_num(b.lower.value)}")
            if b.upper is not None:
                edges.append(f"{by} {'<=' if b.upper.inclusive else '<'} {_num(b.upper.value)}")
            whens.append(f"WHEN {' AND '.join(edges) or 'TRUE'} THEN {_num(b.points)}")
        return f"(CASE WHEN {by} IS NULL THEN NULL {' '.join(whens)} END)"
    if ind.kind == "cases":
        parts = []
        for c in ind.choices:
            if c.when is None:
                parts.append(f"ELSE {_num(c.points)}")
                break
            cond = to_sql(c.when, column)
            # SQL's CASE skips an unknown condition; the evaluator stops there: the points are unknown
            parts.append(f"WHEN {cond} IS NULL THEN NULL WHEN {cond} THEN {_num(c.points)}")
        return f"(CASE {' '.join(parts)} END)"
    assert ind.points is not None
    value = to_sql(ind.points, column)
    return f"(CASE WHEN {value} IS NULL THEN NULL ELSE LEAST(GREATEST({value}, 0), {_num(ind.max)}) END)"


def score_sql(score: Score, column: Callable[[str], str] = quote) -> dict[str, str]:
    """SQL expressions for ``score`` (NULL unless every indicator is known), ``score_min``,
    ``score_max`` and ``passes`` (NULL when undecided): the same results as ``evaluate_score``."""
    points = {i.id: indicator_sql(i, column) for i in score.indicators}

    def total(indicators: list[Indicator] | tuple[Indicator, ...], bound: str) -> str:
        terms = [f"COALESCE({points[i.id]}, {_num(getattr(i, bound))})" for i in indicators]
        return "(" + " + ".join(terms) + ")"

    low, high = total(score.indicators, "min"), total(score.indicators, "max")
    floored = [g for g in score.groups if g.floor is not None]
    lows = [f"{total(g.indicators, 'min')} >= {_num(g.floor)}" for g in floored if g.floor is not None]
    highs = [f"{total(g.indicators, 'max')} < {_num(g.floor)}" for g in floored if g.floor is not None]
    mark = _num(score.pass_mark)
    passes = (
        f"(CASE WHEN {' AND '.join([f'{low} >= {mark}', *lows])} THEN TRUE "
        f"WHEN {' OR '.join([f'{high} < {mark}', *highs])} THEN FALSE ELSE CAST(NULL AS BOOLEAN) END)"
    )
    exact = "(" + " + ".join(points[i.id] for i in score.indicators) + ")"
    return {"score": exact, "score_min": low, "score_max": high, "passes": passes}

"""Scorecard model files: a card written as data (YAML, ``docs/credit.md``), validated and compiled.

A card has a scale (base points, and the range the score is clipped to), the nine grades AAA…C by
score cut-offs, and dimensions (纳税信用, 合规记录 …) of features. A feature is one fact of the
enterprise facts table (``enterprise.facts.FACTS``) with bins and integer points:

* numeric facts (``integer``, ``money``, ``number``) — intervals ``[from, below)``: the first has no
  ``from``, the last no ``below``, each starts where the one before ends (no gap, no overlap);
* ``date`` facts — the same intervals over the fact's age in complete years at the end of the facts
  year (31 December), so ``founded`` becomes years in business;
* ``boolean`` facts — ``value: true`` and ``value: false``, each exactly once;
* ``string`` and ``district`` facts — ``values: [...]`` lists (each value at most once, every value the
  fact allows covered) and at most one ``other: true`` bin for the rest;
* and always a ``missing`` bin for an enterprise whose fact is unknown (null).

``parse_card`` checks all of it and reports every problem with its path (``dimensions[1].features[0]
.bins[2].points``), before anything scores with the card. ``score_values`` is the reference evaluation
in Python (one enterprise); ``sql.score_select`` is the same card compiled to one DuckDB statement.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from pubdata.enterprise.facts import FACTS, KEY
from pubdata.finance.errors import InvalidModelFile, ModelNotFound

CARDS_DIR = Path(__file__).parent  # the shipped model files (<id>-v<version>.yaml) live beside this module
GRADES: tuple[str, ...] = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
NUMERIC_TYPES = frozenset({"integer", "money", "number", "date"})
CATEGORICAL_TYPES = frozenset({"string", "district"})
KINDS = ("expert", "fitted")
_ID = re.compile(r"^[a-z][a-z0-9-]{0,47}$")
_NOT_FEATURES = frozenset({KEY, "name"})

Number = int | Decimal


@dataclass(frozen=True)
class Bin:
    """One bin of a feature. Numeric: ``[lower, upper)`` (None: unbounded). Categorical/boolean:
    ``values``; ``other``: every value no other bin lists. ``text``: the reason's wording (``{value}``
    is replaced by the enterprise's value)."""

    points: int
    lower: Number | None = None
    upper: Number | None = None
    values: tuple[Any, ...] = ()
    other: bool = False
    text: str | None = None

    def contains(self, value: Any) -> bool:
        if self.values or self.other:
            return value in self.values
        return (self.lower is None or value >= self.lower) and (self.upper is None or value < self.upper)


@dataclass(frozen=True)
class Feature:
    fact: str
    type: str  # the fact's type (enterprise.facts)
    label: str  # how reasons name it (default: the fact's title)
    unit: str
    dimension: str
    bins: tuple[Bin, ...]
    missing: Bin
    neutral: int  # the reference points reasons compare with (docs/credit.md)

    @property
    def other(self) -> Bin | None:
        return next((b for b in self.bins if b.other), None)

    def bin_of(self, value: Any) -> Bin:
        """The bin a (measured) value falls in; a categorical value outside every list and with no
        ``other`` bin counts as unknown (the missing bin), as in the SQL."""
        if value is None:
            return self.missing
        for b in self.bins:
            if not b.other and b.contains(value):
                return b
        return self.other or self.missing


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    features: tuple[Feature, ...]


@dataclass(frozen=True)
class GradeCut:
    grade: str
    min: int


@dataclass(frozen=True)
class Card:
    id: str
    version: int
    kind: str
    title: str
    description: str
    base: int
    min: int
    max: int
    grades: tuple[GradeCut, ...]  # highest first
    dimensions: tuple[Dimension, ...]
    reasons_top: int
    text: str  # the file as written (stored with the model version)
    extra: dict[str, Any] = field(default_factory=dict)  # fitted cards: training metadata

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def features(self) -> tuple[Feature, ...]:
        return tuple(f for d in self.dimensions for f in d.features)

    def grade_of(self, score: int) -> str:
        for cut in self.grades:
            if score >= cut.min:
                return cut.grade
        return self.grades[-1].grade


@dataclass
class _Problems:
    items: list[dict[str, str]] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})


# --- loading ---------------------------------------------------------------------------------------


def shipped_files() -> dict[str, list[Path]]:
    """Shipped model files by card id, oldest version first."""
    out: dict[str, list[tuple[int, Path]]] = {}
    for path in CARDS_DIR.glob("*-v*.yaml"):
        m = re.match(r"^(.+)-v(\d+)$", path.stem)
        if m:
            out.setdefault(m.group(1), []).append((int(m.group(2)), path))
    return {k: [p for _, p in sorted(v)] for k, v in out.items()}


def load_card(ref: str) -> Card:
    """A shipped card by id (its newest version: ``expert``), by id and version (``expert-v1``), or
    a model file's path."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ModelNotFound(f"找不到评分卡模型文件：{ref}")
        return parse_card(path.read_text(encoding="utf-8"), source=path.name)
    files = shipped_files()
    if ref in files:
        path = files[ref][-1]
    else:
        m = re.match(r"^(.+)-v(\d+)$", ref)
        match = [p for p in files.get(m.group(1), []) if p.stem == ref] if m else []
        if not match:
            raise ModelNotFound(f"没有这个评分卡：{ref}")
        path = match[0]
    return parse_card(path.read_text(encoding="utf-8"), source=path.name)


def parse_card(text: str, *, source: str = "模型文件") -> Card:
    """Parse and check a model file; ``InvalidModelFile`` naming every problem by its path."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"（第 {mark.line + 1} 行）" if mark is not None else ""
        raise InvalidModelFile(f"{source} 不是有效的 YAML{where}：{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise InvalidModelFile(f"{source} 应为 YAML 映射（id、version、scale、grades、dimensions ……）")
    return build_card(data, text, source=source)


def build_card(data: dict[str, Any], text: str, *, source: str = "模型文件") -> Card:
    p = _Problems()
    _unknown_keys(
        data, {"id", "version", "kind", "title", "description", "scale", "grades", "reasons", "dimensions", "fitted"},
        "", p,
    )  # fmt: skip
    card_id = data.get("id")
    if not isinstance(card_id, str) or not _ID.match(card_id):
        p.add("id", "应为小写字母开头的标识（字母、数字、连字符）")
        card_id = "?"
    version = _integer(data.get("version"), "version", p)
    if version is not None and version < 1:
        p.add("version", "版本号应为正整数")
    kind = data.get("kind", "expert")
    if kind not in KINDS:
        p.add("kind", f"应为 {' 或 '.join(KINDS)}")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        p.add("title", "必须提供评分卡名称")
        title = ""
    description = data.get("description", "")
    if not isinstance(description, str):
        p.add("description", "应为文本")
        description = ""

    scale = data.get("scale")
    base = low = high = None
    if not isinstance(scale, dict):
        p.add("scale", "必须提供 base、min、max（整数）")
    else:
        _unknown_keys(scale, {"base", "min", "max"}, "scale", p)
        base = _integer(scale.get("base"), "scale.base", p)
        low = _integer(scale.get("min"), "scale.min", p)
        high = _integer(scale.get("max"), "scale.max", p)
        if low is not None and high is not None and low >= high:
            p.add("scale", f"下限 min {low} 应低于上限 max {high}")

    grades = _grades(data.get("grades"), low, high, p)
    reasons = data.get("reasons", {}) or {}
    top = 3
    if not isinstance(reasons, dict):
        p.add("reasons", "应为映射（top）")
    else:
        _unknown_keys(reasons, {"top"}, "reasons", p)
        if "top" in reasons:
            got = _integer(reasons["top"], "reasons.top", p)
            if got is not None and not 1 <= got <= 10:
                p.add("reasons.top", "应在 1 至 10 之间")
            top = got if got is not None else top

    dimensions = _dimensions(data.get("dimensions"), p)
    fitted = data.get("fitted", {}) or {}
    if not isinstance(fitted, dict):
        p.add("fitted", "应为映射")
        fitted = {}
    if p.items:
        count = len(p.items)
        listed = "；".join(f"{i['field']}：{i['message']}" if i["field"] else i["message"] for i in p.items)
        raise InvalidModelFile(f"{source} 有 {count} 处错误：{listed}", details=p.items)
    assert version is not None and base is not None and low is not None and high is not None
    return Card(
        id=str(card_id), version=version, kind=str(kind), title=str(title), description=description,
        base=base, min=low, max=high, grades=grades, dimensions=dimensions, reasons_top=top, text=text,
        extra=fitted,
    )  # fmt: skip


def _unknown_keys(data: dict[str, Any], known: set[str], where: str, p: _Problems) -> None:
    for key in data:
        if key not in known:
            p.add(f"{where}.{key}" if where else str(key), f"未知的字段（可用：{'、'.join(sorted(known))}）")


def _integer(value: Any, where: str, p: _Problems) -> int | None:
    """An integer as YAML writes it (``60``, ``-40``; text such as ``"60"`` is accepted too)."""
    if isinstance(value, bool) or value is None:
        p.add(where, "应为整数" if value is not None else "必须提供（整数）")
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    p.add(where, f"应为整数：{value!r}")
    return None


def _threshold(value: Any, fact_type: str, where: str, p: _Problems) -> Number | None:
    if isinstance(value, bool):
        p.add(where, "应为数值")
        return None
    if fact_type == "number":
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            p.add(where, f"应为数值：{value!r}")
            return None
        if not number.is_finite():
            p.add(where, f"应为有限数值：{value!r}")
            return None
        return number
    if isinstance(value, int):
        return value
    unit = {"money": "金额（元）", "date": "年数"}.get(fact_type, "")
    p.add(where, f"应为整数{('（' + unit + '）') if unit else ''}：{value!r}")
    return None


def _grades(raw: Any, low: int | None, high: int | None, p: _Problems) -> tuple[GradeCut, ...]:
    if not isinstance(raw, list):
        p.add("grades", f"应为列表：{'、'.join(GRADES)} 各一档（从高到低，min 为该等级的最低分）")
        return ()
    cuts: list[GradeCut] = []
    for i, g in enumerate(raw):
        where = f"grades[{i}]"
        if not isinstance(g, dict):
            p.add(where, "应为映射（grade、min）")
            continue
        _unknown_keys(g, {"grade", "min"}, where, p)
        cut = _integer(g.get("min"), f"{where}.min", p)
        if cut is not None:
            cuts.append(GradeCut(str(g.get("grade")), cut))
    names = [str(g.get("grade")) if isinstance(g, dict) else "?" for g in raw]
    if names != list(GRADES):
        p.add("grades", f"等级应依次为 {'、'.join(GRADES)}（从高到低），实际为 {'、'.join(names) or '空'}")
        return tuple(cuts)
    for i in range(1, len(cuts)):
        if cuts[i].min >= cuts[i - 1].min:
            p.add(
                f"grades[{i}].min",
                f"{cuts[i].grade} 的最低分 {cuts[i].min} 应低于 {cuts[i - 1].grade} 的 {cuts[i - 1].min}",
            )
    if cuts and low is not None and cuts[-1].min > low:
        p.add(f"grades[{len(cuts) - 1}].min", f"最低一档应覆盖评分下限 {low}（最低分 {cuts[-1].min} 高于下限）")
    if cuts and high is not None and cuts[0].min > high:
        p.add("grades[0].min", f"最高一档的最低分 {cuts[0].min} 高于评分上限 {high}，永远达不到")
    return tuple(cuts)


def _dimensions(raw: Any, p: _Problems) -> tuple[Dimension, ...]:
    if not isinstance(raw, list) or not raw:
        p.add("dimensions", "应为非空列表（维度，每个维度含若干特征）")
        return ()
    seen_dims: set[str] = set()
    seen_facts: dict[str, str] = {}
    out = []
    for i, d in enumerate(raw):
        where = f"dimensions[{i}]"
        if not isinstance(d, dict):
            p.add(where, "应为映射（id、title、features）")
            continue
        _unknown_keys(d, {"id", "title", "features"}, where, p)
        dim_id = d.get("id")
        if not isinstance(dim_id, str) or not _ID.match(dim_id.replace("_", "-")):
            p.add(f"{where}.id", "应为小写字母开头的标识")
            dim_id = f"?{i}"
        elif dim_id in seen_dims:
            p.add(f"{where}.id", f"维度 id 重复：{dim_id}")
        seen_dims.add(dim_id)
        title = d.get("title")
        if not isinstance(title, str) or not title.strip():
            p.add(f"{where}.title", "必须提供维度名称")
            title = str(dim_id)
        features = d.get("features")
        if not isinstance(features, list) or not features:
            p.add(f"{where}.features", "应为非空列表")
            features = []
        compiled = []
        for j, f in enumerate(features):
            feature = _feature(f, f"{where}.features[{j}]", str(dim_id), p)
            if feature is None:
                continue
            if feature.fact in seen_facts:
                p.add(f"{where}.features[{j}].fact", f"事实 {feature.fact} 已在 {seen_facts[feature.fact]} 使用")
                continue
            seen_facts[feature.fact] = f"{where}.features[{j}]"
            compiled.append(feature)
        out.append(Dimension(str(dim_id), title, tuple(compiled)))
    return tuple(out)


def _feature(raw: Any, where: str, dimension: str, p: _Problems) -> Feature | None:
    if not isinstance(raw, dict):
        p.add(where, "应为映射（fact、bins、missing）")
        return None
    _unknown_keys(raw, {"fact", "label", "unit", "neutral", "bins", "missing"}, where, p)
    name = raw.get("fact")
    fact = FACTS.get(name) if isinstance(name, str) else None
    if fact is None or name in _NOT_FEATURES:
        p.add(f"{where}.fact", f"未知的事实：{name}（应为企业档案的事实，见 pubdata facts catalogue）")
        return None
    fact_type = str(fact.type)
    label = raw.get("label", fact.title)
    unit = raw.get("unit", "年" if fact_type == "date" else fact.unit)
    for key, value in (("label", label), ("unit", unit)):
        if not isinstance(value, str):
            p.add(f"{where}.{key}", "应为文本")
    neutral = 0
    if "neutral" in raw:
        neutral = _integer(raw["neutral"], f"{where}.neutral", p) or 0
    bins_raw = raw.get("bins")
    if not isinstance(bins_raw, list) or not bins_raw:
        p.add(f"{where}.bins", "应为非空列表")
        bins: tuple[Bin, ...] = ()
    elif fact_type in NUMERIC_TYPES:
        bins = _numeric_bins(bins_raw, fact_type, f"{where}.bins", p)
    elif fact_type == "boolean":
        bins = _boolean_bins(bins_raw, f"{where}.bins", p)
    elif fact_type in CATEGORICAL_TYPES:
        bins = _categorical_bins(bins_raw, fact.values, f"{where}.bins", p)
    else:  # pragma: no cover - a fact type this module does not know yet
        p.add(f"{where}.fact", f"事实 {name} 的类型 {fact_type} 不能分箱")
        bins = ()
    missing_raw = raw.get("missing")
    missing = Bin(points=0)
    if not isinstance(missing_raw, dict):
        p.add(f"{where}.missing", "必须提供缺失值（事实未知）的分箱：{points: 整数}")
    else:
        _unknown_keys(missing_raw, {"points", "text"}, f"{where}.missing", p)
        points = _integer(missing_raw.get("points"), f"{where}.missing.points", p)
        text = _text(missing_raw.get("text"), f"{where}.missing.text", p)
        missing = Bin(points=points or 0, text=text)
    return Feature(
        fact=str(name), type=fact_type, label=str(label), unit=str(unit), dimension=dimension, bins=bins,
        missing=missing, neutral=neutral,
    )  # fmt: skip


def _text(value: Any, where: str, p: _Problems) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        p.add(where, "应为文本")
        return None
    try:
        value.format(value="x")
    except (KeyError, IndexError, ValueError):
        p.add(where, "文本中只能用 {value} 占位")
        return None
    return value


def _bin_common(raw: Any, where: str, allowed: set[str], p: _Problems) -> tuple[int, str | None] | None:
    if not isinstance(raw, dict):
        p.add(where, "应为映射")
        return None
    _unknown_keys(raw, allowed | {"points", "text"}, where, p)
    points = _integer(raw.get("points"), f"{where}.points", p)
    text = _text(raw.get("text"), f"{where}.text", p)
    return (points if points is not None else 0, text)


def _numeric_bins(raw: list[Any], fact_type: str, where: str, p: _Problems) -> tuple[Bin, ...]:
    out: list[Bin] = []
    for i, b in enumerate(raw):
        at = f"{where}[{i}]"
        common = _bin_common(b, at, {"from", "below"}, p)
        if common is None:
            continue
        if "values" in b or "value" in b or "other" in b:
            p.add(at, f"数值事实按区间分箱（from、below），不能用 values/value/other（事实类型 {fact_type}）")
            continue
        lower = _threshold(b["from"], fact_type, f"{at}.from", p) if "from" in b else None
        upper = _threshold(b["below"], fact_type, f"{at}.below", p) if "below" in b else None
        if lower is not None and upper is not None and lower >= upper:
            p.add(at, f"区间为空：from {lower} 不低于 below {upper}")
        out.append(Bin(common[0], lower, upper, text=common[1]))
    if len(out) != len(raw):
        return tuple(out)
    for i, b in enumerate(out):
        at = f"{where}[{i}]"
        if i == 0 and b.lower is not None:
            p.add(f"{at}.from", f"第一箱应没有下限：低于 {b.lower} 的取值没有分箱（缺口）")
        if i == len(out) - 1 and b.upper is not None:
            p.add(f"{at}.below", f"最后一箱应没有上限：{b.upper} 及以上的取值没有分箱（缺口）")
        if i > 0:
            prev = out[i - 1]
            if prev.upper is None or b.lower is None:
                p.add(at, f"与第 {i} 箱重叠（相邻两箱应以同一个界值相接：前一箱的 below 等于后一箱的 from）")
            elif b.lower > prev.upper:
                p.add(at, f"与前一箱之间有缺口（{prev.upper} 至 {b.lower}）")
            elif b.lower < prev.upper:
                p.add(at, f"与前一箱重叠（{b.lower} 至 {prev.upper}）")
    return tuple(out)


def _boolean_bins(raw: list[Any], where: str, p: _Problems) -> tuple[Bin, ...]:
    out: list[Bin] = []
    for i, b in enumerate(raw):
        at = f"{where}[{i}]"
        common = _bin_common(b, at, {"value"}, p)
        if common is None:
            continue
        value = b.get("value")
        if not isinstance(value, bool):
            p.add(f"{at}.value", "是/否事实按 value: true / value: false 分箱")
            continue
        if any(value in o.values for o in out):
            p.add(f"{at}.value", f"取值 {str(value).lower()} 已在前面的分箱中（重叠）")
            continue
        out.append(Bin(common[0], values=(value,), text=common[1]))
    covered = {v for o in out for v in o.values}
    for value in (True, False):
        if value not in covered and len(out) == len(raw):
            p.add(where, f"缺少 value: {str(value).lower()} 的分箱（缺口）")
    return tuple(out)


def _categorical_bins(raw: list[Any], allowed: tuple[str, ...] | None, where: str, p: _Problems) -> tuple[Bin, ...]:
    out: list[Bin] = []
    seen: dict[str, int] = {}
    for i, b in enumerate(raw):
        at = f"{where}[{i}]"
        common = _bin_common(b, at, {"values", "other"}, p)
        if common is None:
            continue
        if b.get("other") is True:
            if "values" in b:
                p.add(at, "other 分箱不能再列 values")
            elif any(o.other for o in out):
                p.add(f"{at}.other", "只能有一个 other 分箱")
            else:
                out.append(Bin(common[0], other=True, text=common[1]))
            continue
        values = b.get("values")
        if "from" in b or "below" in b:
            p.add(at, "文本事实按取值列表分箱（values），不能用区间 from/below")
            continue
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            p.add(f"{at}.values", "应为非空的文本列表（或写 other: true）")
            continue
        for v in values:
            if allowed is not None and v not in allowed:
                p.add(f"{at}.values", f"事实不取这个值：{v}（可取 {'、'.join(allowed)}）")
            elif v in seen:
                p.add(f"{at}.values", f"取值 {v} 已在第 {seen[v] + 1} 箱中（重叠）")
            seen.setdefault(v, i)
        out.append(Bin(common[0], values=tuple(values), text=common[1]))
    has_other = any(o.other for o in out)
    if not has_other:
        if allowed is None:
            p.add(where, "这个文本事实没有固定取值，需要一个 other: true 分箱兜底")
        else:
            uncovered = [v for v in allowed if v not in seen]
            if uncovered:
                p.add(where, f"取值 {'、'.join(uncovered)} 没有分箱（缺口）：列入某一箱或加 other: true")
    return tuple(out)


# --- the reference evaluation (Python) ---------------------------------------------------------------


def reference_date(facts_year: int) -> date:
    """The day date facts are measured at: the last day of the facts year."""
    return date(facts_year, 12, 31)


def complete_years(start: date, end: date) -> int:
    """Whole years from ``start`` to ``end`` (DuckDB ``date_sub('year', start, end)``)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def measure(feature: Feature, value: Any, facts_year: int) -> Any:
    """The value a feature bins: the fact's value, or a date's age in complete years."""
    if value is None:
        return None
    if feature.type == "date":
        return complete_years(value, reference_date(facts_year))
    if feature.type == "number":
        return Decimal(str(value))
    return value


@dataclass(frozen=True)
class Scored:
    points: dict[str, int]
    values: dict[str, Any]
    raw: int
    score: int
    grade: str


def score_values(card: Card, facts: dict[str, Any], facts_year: int) -> Scored:
    """One enterprise's score computed in Python from its facts (the reference the SQL is tested
    against)."""
    points: dict[str, int] = {}
    values: dict[str, Any] = {}
    for f in card.features:
        values[f.fact] = measure(f, facts.get(f.fact), facts_year)
        points[f.fact] = f.bin_of(values[f.fact]).points
    raw = card.base + sum(points.values())
    score = min(max(raw, card.min), card.max)
    return Scored(points, values, raw, score, card.grade_of(score))

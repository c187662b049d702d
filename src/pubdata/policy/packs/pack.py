"""Policy packs: a policy written as YAML (docs/policy-packs.md), validated and compiled.

A pack declares its inputs (facts, with types), named conditions (``definitions``), an applicability
condition common to all clauses, and clauses, each with provenance (article and quoted text), a
condition in the rules language, an amount rule (support packs) or none (recognition packs), an
optional points table (``score``, ``policy.packs.score``) and the application materials; then
table-driven test cases. Packs of one ``family`` are versions chosen by their ``effective`` dates.
``load_pack`` reads and checks everything — syntax of every expression, facts that no input
declares, types, tiers and score bands that overlap or leave a gap, caps below the base reward, test
cases naming unknown clauses — and reports every problem with where it is, before anything uses
the pack.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pubdata.errors import Invalid, NotFound
from pubdata.policy.packs.explain import money
from pubdata.policy.packs.score import SCORE_PASSES, Score, ScoreSpec, compile_score
from pubdata.rules import expr

PACKS_DIR = Path(__file__).parent  # the shipped packs (YAML) live beside this module
InputType = Literal["money", "integer", "number", "boolean", "district", "string"]
RULE_TYPES: dict[str, expr.Type] = {
    "money": "number",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "district": "string",
    "string": "string",
}


class InvalidPack(Invalid):
    code = "policy.invalid_pack"


class PackNotFound(NotFound):
    code = "policy.pack_not_found"


def _amount(value: Any) -> int:
    """A money figure as packs write it: an integer of yuan, or text such as ``10万`` / ``2亿``."""
    if isinstance(value, bool):
        raise ValueError("金额应为数字")
    number = expr.number(str(value)) if isinstance(value, str) else Decimal(value)
    if number != number.to_integral_value() or number < 0:
        raise ValueError(f"金额应为非负整数（元）：{value}")
    return int(number)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InputSpec(_Strict):
    type: InputType
    title: str
    unit: str | None = None
    description: str | None = None
    values: list[str] | None = None  # a string fact's allowed values (others are refused)


class TierSpec(_Strict):
    """One row of a tier table: bounds on the ``by`` value and what the row gives. ``from`` is
    "at least" (达到), ``above`` "more than" (超过), ``below`` "less than", ``through`` "at most"."""

    from_: int | None = Field(default=None, alias="from")
    above: int | None = None
    below: int | None = None
    through: int | None = None
    amount: int | None = None  # a fixed figure
    up_to: int | None = None  # 最高不超过: the figure is a cap, the reviewer sets the amount
    assessed: bool = False  # the text sets no figure

    @field_validator("from_", "above", "below", "through", "amount", "up_to", mode="before")
    @classmethod
    def _money(cls, v: Any) -> Any:
        return None if v is None else _amount(v)


class TiersSpec(_Strict):
    by: str
    rows: list[TierSpec] = Field(min_length=1)


class AmountSpec(_Strict):
    fixed: int | None = None
    formula: str | None = None
    tiers: TiersSpec | None = None
    assessed: bool = False
    base: int | None = None  # a base reward included in every figure (扶持金额均包含基础奖励)
    cap: int | None = None  # 最高不超过, including the base

    @field_validator("fixed", "base", "cap", mode="before")
    @classmethod
    def _money(cls, v: Any) -> Any:
        return None if v is None else _amount(v)


class ClauseSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    article: str
    text: str
    when: str
    amount: AmountSpec | None = None  # required in support packs, absent in recognition packs
    score: ScoreSpec | None = None  # a points table; ``when`` reads its verdict as ``score_passes``
    materials: list[str] = Field(default_factory=list)


class DefinitionSpec(_Strict):
    """A named condition (e.g. the base conditions every tier shares), usable in any ``when``."""

    title: str
    when: str


class SourceSpec(_Strict):
    document: str
    issued_by: list[str]
    published: date
    reference: str | None = None


class PeriodSpec(_Strict):
    from_: date = Field(alias="from")
    to: date | None = None


# whose department reviews applications (a pack's reviewer.department → its name); the operator
# routes each duty and district to an organisation (applications.reviewers)
DUTY_NAMES: dict[str, str] = {
    "commerce": "商务主管部门",
    "industry": "工业和信息化主管部门",
    "tech": "科技主管部门",
    "sme": "民营经济（中小企业）主管部门",
}


class ReviewerSpec(_Strict):
    department: Literal["commerce", "industry", "tech", "sme"]  # the keys of DUTY_NAMES
    of: Literal["registered_district"]  # … of which place


class CaseSpec(_Strict):
    name: str
    facts: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, dict[str, Any]]
    total: int | None = None


class PackSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    # support: a policy that pays (amounts, applications, proactive notices); recognition: a
    # standard an enterprise meets or not (认定/评价标准: eligibility and scores, no amounts)
    kind: Literal["support", "recognition"] = "support"
    # packs that are versions of one rule set (miit-tiers-2022, miit-tiers-2026 → miit-tiers): the
    # one in force on a date is chosen by ``effective`` (``service.pack_in_force``)
    family: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    summary: str | None = None
    source: SourceSpec
    effective: PeriodSpec
    reviewer: ReviewerSpec
    applies_when: str | None = None
    inputs: dict[str, InputSpec]
    definitions: dict[str, DefinitionSpec] = Field(default_factory=dict)
    clauses: list[ClauseSpec] = Field(min_length=1)
    test_defaults: dict[str, Any] = Field(default_factory=dict)
    tests: list[CaseSpec] = Field(default_factory=list)


# --- compiled ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    value: int
    inclusive: bool


@dataclass(frozen=True)
class Tier:
    lower: Bound | None
    upper: Bound | None
    amount: int | None
    kind: str  # fixed | up_to | assessed


@dataclass(frozen=True)
class Amount:
    kind: str  # fixed | formula | tiers | assessed | none (a recognition clause: no amount at all)
    fixed: int | None = None
    formula: expr.Node | None = None
    formula_text: str | None = None
    tiers_by: str | None = None
    tiers: tuple[Tier, ...] = ()
    base: int | None = None
    cap: int | None = None

    def facts(self) -> list[str]:
        used = expr.facts_used(self.formula) if self.formula is not None else []
        return used + ([self.tiers_by] if self.tiers_by else [])


@dataclass(frozen=True)
class Definition:
    name: str
    title: str
    text: str
    source: expr.Node  # as written (may name earlier definitions)
    when: expr.Node  # with every definition inlined


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    article: str
    text: str
    when_text: str
    when: expr.Node  # definitions inlined; may read ``score_passes`` when the clause scores
    amount: Amount  # kind ``none`` for a recognition clause
    materials: tuple[str, ...]
    when_source: expr.Node | None = None  # as written, naming definitions (for explanations)
    score: Score | None = None

    def facts(self) -> list[str]:
        """Every fact the clause reads: its condition, its score and its amount."""
        used = [n for n in expr.facts_used(self.when) if n != SCORE_PASSES]
        return list(dict.fromkeys(used + (self.score.facts() if self.score else []) + self.amount.facts()))


@dataclass(frozen=True)
class Pack:
    spec: PackSpec
    clauses: tuple[Clause, ...]
    applies_when: expr.Node | None
    digest: str  # of the pack's text: a changed pack is a new version even if ``version`` wasn't bumped
    path: Path | None = None
    definitions: dict[str, Definition] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def inputs(self) -> dict[str, InputSpec]:
        return self.spec.inputs

    def clause(self, clause_id: str) -> Clause:
        for c in self.clauses:
            if c.id == clause_id:
                return c
        raise NotFound(f"政策 {self.id} 没有条款：{clause_id}", code="policy.clause_not_found")

    @property
    def family(self) -> str:
        return self.spec.family or self.spec.id

    @property
    def reviewing_office(self) -> str:
        """Who receives applications, in the words of the texts: 注册地所在区（市）商务主管部门."""
        return f"注册地所在区（市）{DUTY_NAMES[self.spec.reviewer.department]}"

    @property
    def notifies(self) -> bool:
        """Whether bulk matching pushes notices and takes applications for it (support packs)."""
        return self.spec.kind == "support"

    def active_on(self, day: date) -> bool:
        period = self.spec.effective
        return period.from_ <= day and (period.to is None or day <= period.to)


def _bound(row: TierSpec, low: bool) -> Bound | None:
    inclusive, exclusive = (row.from_, row.above) if low else (row.through, row.below)
    if inclusive is not None:
        return Bound(inclusive, True)
    return None if exclusive is None else Bound(exclusive, False)


def _yuan(value: int) -> str:
    return money(value)


def _tiers(spec: TiersSpec, where: str, problems: list[str], amount: AmountSpec) -> tuple[Tier, ...]:
    tiers = []
    for i, row in enumerate(spec.rows, 1):
        at = f"{where}.tiers.rows[{i}]"
        if row.from_ is not None and row.above is not None:
            problems.append(f"{at}：from 与 above 只能写一个")
        if row.below is not None and row.through is not None:
            problems.append(f"{at}：below 与 through 只能写一个")
        given = [k for k in ("amount", "up_to") if getattr(row, k) is not None] + (["assessed"] if row.assessed else [])
        if len(given) != 1:
            problems.append(f"{at}：amount、up_to、assessed 必须且只能写一个")
            continue
        kind = {"amount": "fixed", "up_to": "up_to", "assessed": "assessed"}[given[0]]
        figure = row.amount if row.amount is not None else row.up_to
        tier = Tier(_bound(row, True), _bound(row, False), figure, kind)
        if (
            tier.lower
            and tier.upper
            and (
                tier.lower.value > tier.upper.value
                or (tier.lower.value == tier.upper.value and not (tier.lower.inclusive and tier.upper.inclusive))
            )
        ):
            problems.append(f"{at}：下限高于上限，这一档为空")
        if figure is not None and amount.cap is not None and figure > amount.cap:
            problems.append(f"{at}：金额 {_yuan(figure)} 超过上限 cap {_yuan(amount.cap)}")
        if figure is not None and amount.base is not None and figure < amount.base:
            problems.append(f"{at}：金额 {_yuan(figure)} 低于基础奖励 base {_yuan(amount.base)}（基础奖励包含在内）")
        tiers.append(tier)
    # the rows, in order, must cover [0, ∞) exactly: no gap, no overlap
    if tiers and tiers[0].lower is not None and not (tiers[0].lower.value == 0 and tiers[0].lower.inclusive):
        problems.append(f"{where}.tiers：第 1 档从 {_yuan(tiers[0].lower.value)} 开始，低于它的取值没有档次（缺口）")
    for i, (prev, nxt) in enumerate(zip(tiers, tiers[1:], strict=False), 1):
        if prev.upper is None:
            problems.append(f"{where}.tiers：第 {i} 档没有上限，第 {i + 1} 档与它重叠")
            continue
        if nxt.lower is None:
            problems.append(f"{where}.tiers：第 {i + 1} 档没有下限，与第 {i} 档重叠")
            continue
        a, b = prev.upper, nxt.lower
        if b.value > a.value or (b.value == a.value and not a.inclusive and not b.inclusive):
            gap = f"{_yuan(a.value)} 至 {_yuan(b.value)}"
            problems.append(f"{where}.tiers：第 {i} 档与第 {i + 1} 档之间有缺口（{gap}）")
        elif b.value < a.value or (a.inclusive and b.inclusive):
            problems.append(f"{where}.tiers：第 {i} 档与第 {i + 1} 档重叠（{_yuan(b.value)} 至 {_yuan(a.value)}）")
    if tiers and tiers[-1].upper is not None:
        problems.append(f"{where}.tiers：最后一档有上限 {_yuan(tiers[-1].upper.value)}，高于它的取值没有档次（缺口）")
    return tuple(tiers)


def _compile_amount(spec: AmountSpec, where: str, types: dict[str, expr.Type], problems: list[str]) -> Amount:
    kinds = [k for k in ("fixed", "formula", "tiers") if getattr(spec, k) is not None] + (
        ["assessed"] if spec.assessed else []
    )
    if len(kinds) != 1:
        problems.append(f"{where}：fixed、formula、tiers、assessed 必须且只能写一个")
        return Amount(kind="assessed")
    if spec.cap is not None and spec.base is not None and spec.cap < spec.base:
        problems.append(f"{where}：上限 cap {_yuan(spec.cap)} 低于基础奖励 base {_yuan(spec.base)}")
    if spec.fixed is not None and spec.cap is not None and spec.fixed > spec.cap:
        problems.append(f"{where}：固定金额 {_yuan(spec.fixed)} 超过上限 cap {_yuan(spec.cap)}")
    kind = kinds[0]
    formula = None
    if spec.formula is not None:
        try:
            formula = expr.compile_number(spec.formula, types)
        except expr.InvalidExpression as exc:
            problems.append(f"{where}.formula：{exc.message}")
    tiers: tuple[Tier, ...] = ()
    if spec.tiers is not None:
        if spec.tiers.by not in types:
            problems.append(f"{where}.tiers.by：未知的事实：{spec.tiers.by}")
        elif types[spec.tiers.by] != "number":
            problems.append(f"{where}.tiers.by：分档依据应为数值事实：{spec.tiers.by}")
        tiers = _tiers(spec.tiers, where, problems, spec)
    return Amount(
        kind=kind,
        fixed=spec.fixed,
        formula=formula,
        formula_text=spec.formula,
        tiers_by=spec.tiers.by if spec.tiers else None,
        tiers=tiers,
        base=spec.base,
        cap=spec.cap,
    )


def compile_pack(text: str, *, path: Path | None = None) -> Pack:
    """The pack in ``text`` (YAML), compiled; every problem found is reported at once."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        raise InvalidPack(f"政策包不是有效的 YAML{where}：{getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise InvalidPack("政策包应为 YAML 映射（id、title、inputs、clauses ……）")
    try:
        spec = PackSpec.model_validate(raw)
    except ValidationError as exc:
        shape = [f"{'.'.join(str(p) for p in e['loc'])}：{e['msg']}" for e in exc.errors()]
        raise InvalidPack("政策包格式错误：" + "；".join(shape), details=shape) from None
    problems: list[str] = []
    types: dict[str, expr.Type] = {name: RULE_TYPES[i.type] for name, i in spec.inputs.items()}

    def condition(source: str, where: str, known: dict[str, expr.Type]) -> expr.Node:
        try:
            return expr.compile_condition(source, known)
        except expr.InvalidExpression as exc:
            problems.append(f"{where}：{exc.message}")
            return expr.Const(0, True)

    for name, declared in spec.inputs.items():
        if declared.values is not None and declared.type != "string":
            problems.append(f"inputs.{name}：values 只用于 string 类型的事实")
    if SCORE_PASSES in spec.inputs:
        problems.append(f"inputs.{SCORE_PASSES}：这个名称留给评分结果，不能用作事实")
    definitions: dict[str, Definition] = {}
    named = dict(types)  # facts, then each definition once it is defined (earlier ones only: no cycles)
    for name, d in spec.definitions.items():
        if name in types or name == SCORE_PASSES or not name.isidentifier():
            problems.append(f"definitions.{name}：名称无效或与事实重名")
            continue
        source = condition(d.when, f"definitions.{name}", named)
        inlined = expr.substitute(source, {n: x.when for n, x in definitions.items()})
        definitions[name] = Definition(name, d.title, d.when, source, inlined)
        named[name] = "boolean"
    inline = {n: d.when for n, d in definitions.items()}
    scope = None
    if spec.applies_when:
        scope = expr.substitute(condition(spec.applies_when, "applies_when", named), inline)
    clauses = []
    seen: set[str] = set()
    for i, c in enumerate(spec.clauses, 1):
        where = f"clauses[{i}]（{c.id}）"
        if c.id in seen:
            problems.append(f"{where}：条款 id 重复")
        seen.add(c.id)
        score = compile_score(c.score, f"{where}.score", types, problems) if c.score is not None else None
        source = condition(c.when, f"{where}.when", {**named, SCORE_PASSES: "boolean"} if score else named)
        if score is not None and SCORE_PASSES not in expr.facts_used(source):
            problems.append(f"{where}.when：条款有评分（score），条件中应使用 {SCORE_PASSES}")
        if spec.kind == "support" and c.amount is None:
            problems.append(f"{where}：扶持政策（kind: support）的条款需要 amount")
        if spec.kind == "recognition" and c.amount is not None:
            problems.append(f"{where}：认定标准（kind: recognition）的条款没有金额，不写 amount")
        amount = _compile_amount(c.amount, f"{where}.amount", types, problems) if c.amount else Amount(kind="none")
        clauses.append(
            Clause(
                c.id,
                c.title,
                c.article,
                c.text,
                c.when,
                expr.substitute(source, inline),
                amount,
                tuple(c.materials),
                when_source=source,
                score=score,
            )  # fmt: skip
        )
    for i, case in enumerate(spec.tests, 1):
        for clause_id in case.expect:
            if clause_id not in seen:
                problems.append(f"tests[{i}]（{case.name}）：没有这个条款：{clause_id}")
        for name in {**spec.test_defaults, **case.facts}:
            if name not in spec.inputs:
                problems.append(f"tests[{i}]（{case.name}）：未知的事实：{name}")
    if spec.effective.to is not None and spec.effective.to < spec.effective.from_:
        problems.append("effective：结束日期早于开始日期")
    if problems:
        raise InvalidPack(f"政策包 {spec.id} 有 {len(problems)} 处错误：" + "；".join(problems), details=problems)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Pack(
        spec=spec, clauses=tuple(clauses), applies_when=scope, digest=digest, path=path, definitions=definitions
    )


def load_pack(ref: str | Path) -> Pack:
    """A pack by id (one of the packs shipped in ``policy/packs``) or by a file's path."""
    path = Path(ref)
    if not path.suffix:
        path = PACKS_DIR / f"{ref}.yaml"
    if not path.is_file():
        raise PackNotFound(f"找不到政策包：{ref}", code="policy.pack_not_found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidPack(f"政策包应为 UTF-8 文本：{path.name}") from None
    return compile_pack(text, path=path)


def shipped_packs() -> list[str]:
    """The ids of the packs shipped with pubdata."""
    return sorted(p.stem for p in PACKS_DIR.glob("*.yaml"))

"""Evaluating a pack: for one enterprise in Python, with an explanation, and for every enterprise at
once as one SQL statement. The two back ends share the compiled pack (``policy.packs.pack``) and the
rules language's semantics; the pack's test cases run on both (``run_cases``).

Per clause the result is: ``eligible`` (true, false, or None when facts needed to decide are
missing — listed in ``missing``), ``amount`` (integer yuan, or None when the enterprise isn't
eligible, the text sets no figure, or a fact the amount needs is missing) with its ``amount_kind``
(``fixed``: the amount itself; ``up_to``: 最高不超过, the reviewer approves at most this;
``formula``: computed from the facts and capped; ``assessed``: no figure in the text; ``none``: a
recognition clause, no money at all). A scored clause (``policy.packs.score``) also gives ``score``
(the total when every indicator is known), ``score_min``/``score_max`` (the interval unknown
indicators leave) and ``score_detail``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from pubdata.catalog.vocab import DISTRICT_NAMES
from pubdata.errors import Invalid
from pubdata.policy.packs.explain import MARKS, Describer, money
from pubdata.policy.packs.pack import Amount, Clause, Pack, Tier
from pubdata.policy.packs.score import SCORE_PASSES, evaluate_score, score_detail, score_sql, score_trace
from pubdata.rules import expr
from pubdata.rules.evaluate import Outcome, conditions, evaluate, normalise
from pubdata.rules.sql import quote, to_sql


class InvalidFacts(Invalid):
    code = "policy.invalid_facts"


@dataclass
class ClauseResult:
    id: str
    title: str
    article: str
    eligible: bool | None
    amount: int | None
    amount_kind: str
    cap: int | None
    trace: list[str]
    missing: list[str]
    # scored clauses only (None otherwise): the total when every indicator is known, and the
    # interval it lies in (equal bounds when known); the per-indicator detail
    score: Decimal | None = None
    score_min: Decimal | None = None
    score_max: Decimal | None = None
    score_detail: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: plain(v) for k, v in self.__dict__.items()}


def plain(value: Any) -> Any:
    """Decimals (scores) as JSON numbers: an int when whole, else a float; recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# --- facts ---------------------------------------------------------------------------------------------


def check_facts(pack: Pack, facts: Mapping[str, Any], *, strict: bool = True) -> dict[str, Any]:
    """The facts as the engine takes them, each checked against the pack's declared type: booleans
    true/false, money a non-negative integer of yuan, districts one of Qingdao's ten. Unknown names
    are an error when ``strict`` (a caller's JSON), skipped otherwise (an enterprise's whole row)."""
    problems = []
    out: dict[str, Any] = {}
    for name, value in facts.items():
        spec = pack.inputs.get(name)
        if spec is None:
            if strict:
                problems.append(f"未知的事实：{name}（本政策使用：{'、'.join(pack.inputs)}）")
            continue
        if value is None:
            out[name] = None
            continue
        kind = spec.type
        if kind == "boolean":
            ok = isinstance(value, bool)
            message = "应为 true 或 false"
        elif kind in ("money", "integer", "number"):
            ok = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
            message = "应为数字"
            if ok and kind != "number":
                ok = Decimal(str(value)) == Decimal(str(value)).to_integral_value()
                message = "应为整数" + ("（元）" if kind == "money" else "")
            if ok and kind in ("money", "integer") and value < 0:
                ok, message = False, "不能为负数"
        elif kind == "district":
            ok = value in DISTRICT_NAMES
            message = f"应为青岛市的区（市）之一：{'、'.join(DISTRICT_NAMES)}"
        elif spec.values is not None:
            ok = value in spec.values
            message = f"应为以下之一：{'、'.join(spec.values)}"
        else:
            ok = isinstance(value, str)
            message = "应为文本"
        if not ok:
            problems.append(f"{name}（{spec.title}）{message}：{value!r}")
            continue
        out[name] = normalise(value) if kind in ("money", "integer", "number") else value
    if problems:
        raise InvalidFacts("事实数据有误：" + "；".join(problems), details=problems)
    return out


# --- one enterprise, in Python -------------------------------------------------------------------------


def _tier_for(tiers: tuple[Tier, ...], value: Decimal) -> Tier | None:
    for t in tiers:
        low_ok = t.lower is None or (value >= t.lower.value if t.lower.inclusive else value > t.lower.value)
        high_ok = t.upper is None or (value <= t.upper.value if t.upper.inclusive else value < t.upper.value)
        if low_ok and high_ok:
            return t
    return None


def _tier_words(t: Tier) -> str:
    parts = []
    if t.lower is not None:
        parts.append(f"{'达到' if t.lower.inclusive else '超过'}{money(t.lower.value)}")
    if t.upper is not None:
        parts.append(f"{'不超过' if t.upper.inclusive else '低于'}{money(t.upper.value)}")
    return "、".join(parts) or "任意"


def _formula_words(amount: Amount, facts: Mapping[str, Any], say: Describer) -> str:
    """The formula with each fact named by its title and value: ``资金投入（30万元） × 50 ÷ 100``."""
    assert amount.formula is not None and amount.formula_text is not None
    words = amount.formula_text.replace("*", "×").replace("/", "÷")
    for name in sorted(expr.facts_used(amount.formula), key=len, reverse=True):
        words = re.sub(rf"\b{name}\b", f"{say.title(name)}（{say.value(name, normalise(facts.get(name)))}）", words)
    return words


def _amount(amount: Amount, facts: Mapping[str, Any], say: Describer) -> tuple[int | None, str, list[str], set[str]]:
    """(amount, kind, trace lines, missing facts) for an eligible enterprise."""
    included = f"（含基础奖励{money(amount.base)}）" if amount.base else ""
    if amount.kind == "none":
        return None, "none", [], set()
    if amount.kind == "fixed":
        return amount.fixed, "fixed", [f"金额：{money(amount.fixed or 0)}{included}"], set()
    if amount.kind == "assessed":
        return None, "assessed", ["金额：政策原文未规定具体数额，由审核部门核定"], set()
    if amount.kind == "formula":
        assert amount.formula is not None
        result = evaluate(amount.formula, facts)
        if result.value is None:
            names = "、".join(say.title(n) for n in sorted(result.missing))
            return None, "formula", [f"金额：缺少 {names}，无法计算"], set(result.missing)
        value = int(Decimal(result.value).to_integral_value(rounding=ROUND_FLOOR))  # type: ignore[arg-type]
        line = f"金额：按 {_formula_words(amount, facts, say)} 计算为 {money(value)}"
        if amount.cap is not None and value > amount.cap:
            line += f"，最高不超过{money(amount.cap)}，按{money(amount.cap)}"
            value = amount.cap
        return max(value, 0), "formula", [line], set()
    # tiers
    assert amount.tiers_by is not None
    by = normalise(facts.get(amount.tiers_by))
    if by is None:
        return None, "up_to", [f"金额：缺少 {say.title(amount.tiers_by)}，无法确定档次"], {amount.tiers_by}
    tier = _tier_for(amount.tiers, Decimal(by))  # type: ignore[arg-type]
    assert tier is not None  # the pack's tiers cover [0, ∞) and facts are non-negative
    where = f"{say.title(amount.tiers_by)} {say.value(amount.tiers_by, by)}，属于“{_tier_words(tier)}”一档"
    if tier.kind == "assessed":
        return None, "assessed", [f"金额：{where}，政策原文未规定具体数额，由审核部门核定"], set()
    if tier.kind == "up_to":
        return tier.amount, "up_to", [f"金额：{where}，最高不超过{money(tier.amount or 0)}{included}"], set()
    return tier.amount, "fixed", [f"金额：{where}，{money(tier.amount or 0)}{included}"], set()


def _condition_lines(pack: Pack, node: expr.Node, facts: Mapping[str, Any], say: Describer, indent: str) -> list[str]:
    """One line per simple condition; a named condition (definition) is a heading with its own
    conditions under it; ``score_passes`` points to the score's lines."""
    lines = []
    for leaf in conditions(node):
        if isinstance(leaf, expr.Fact) and leaf.name in pack.definitions:
            d = pack.definitions[leaf.name]
            held = evaluate(d.when, facts).value
            lines.append(f"{indent}条件 {MARKS[held if held is None else bool(held)]} {d.title}：")
            lines += _condition_lines(pack, d.source, facts, say, indent + "  ")
        elif isinstance(leaf, expr.Fact) and leaf.name == SCORE_PASSES:
            held = facts.get(SCORE_PASSES)
            lines.append(f"{indent}条件 {MARKS[held]} 评价得分达标（评分见下）")
        else:
            line, _ = say.condition(leaf, facts)
            lines.append(f"{indent}条件 {line}")
    return lines


def evaluate_clause(pack: Pack, clause: Clause, facts: Mapping[str, Any]) -> ClauseResult:
    say = Describer(pack.inputs)
    trace = [f"依据《{pack.spec.title}》{clause.article}（{clause.title}）：“{clause.text}”"]
    scored = evaluate_score(clause.score, facts, say) if clause.score is not None else None
    if scored is not None:
        facts = {**facts, SCORE_PASSES: scored.passes}
    sources = ([pack.applies_when] if pack.applies_when is not None else []) + [clause.when_source or clause.when]
    parts = ([pack.applies_when] if pack.applies_when is not None else []) + [clause.when]
    outcomes: list[Outcome] = []
    for source, part in zip(sources, parts, strict=True):
        trace += _condition_lines(pack, source, facts, say, "")
        outcomes.append(evaluate(part, facts))
    if scored is not None:
        trace += score_trace(scored, say)
    if any(o.value is False for o in outcomes):
        eligible: bool | None = False
    elif any(o.value is None for o in outcomes):
        eligible = None
    else:
        eligible = True
    missing: set[str] = set()
    for o in outcomes:
        missing |= o.missing
    if SCORE_PASSES in missing:  # the score is undecided: name the facts that would decide it
        missing = (missing - {SCORE_PASSES}) | set(scored.missing if scored else ())
    amount, kind = None, static_kind(clause.amount)
    if eligible is True and clause.amount.kind == "none":
        trace.append("结论：符合条件")
    elif eligible is True:
        amount, kind, lines, more = _amount(clause.amount, facts, say)
        trace += lines
        missing |= more
        prefix = "最高不超过 " if kind == "up_to" else "金额 "
        figure = "金额待定" if amount is None else prefix + money(amount)
        trace.append(f"结论：符合条件，{figure}")
    elif eligible is False:
        missing = set()
        trace.append("结论：不符合条件")
    else:
        trace.append("结论：缺少事实，暂无法判断：" + "、".join(say.title(n) for n in sorted(missing)))
    return ClauseResult(
        id=clause.id,
        title=clause.title,
        article=clause.article,
        eligible=eligible,
        amount=amount,
        amount_kind=kind,
        cap=clause_cap(clause.amount),
        trace=trace,
        missing=sorted(missing),
        score=scored.exact if scored else None,
        score_min=scored.low if scored else None,
        score_max=scored.high if scored else None,
        score_detail=score_detail(scored) if scored else None,
    )


def static_kind(amount: Amount) -> str:
    """The kind of amount a clause gives before knowing which tier applies."""
    return "up_to" if amount.kind == "tiers" else amount.kind


def clause_cap(amount: Amount) -> int | None:
    if amount.cap is not None:
        return amount.cap
    figures = [t.amount for t in amount.tiers if t.amount is not None]
    return max(figures) if figures else amount.fixed


def evaluate_pack(pack: Pack, facts: Mapping[str, Any]) -> dict[str, Any]:
    """``{"policy", "version", "title", "clauses": [...], "total"}`` for one enterprise's facts."""
    results = [evaluate_clause(pack, c, facts) for c in pack.clauses]
    return {
        "policy": pack.id,
        "version": pack.spec.version,
        "title": pack.spec.title,
        "clauses": [r.as_dict() for r in results],
        "total": sum(r.amount for r in results if r.eligible and r.amount is not None),
    }


# --- every enterprise, in SQL --------------------------------------------------------------------------


def _edge(column: str, bound: Any, low: bool) -> str:
    op = (">=" if bound.inclusive else ">") if low else ("<=" if bound.inclusive else "<")
    return f"{column} {op} {bound.value}"


def amount_sql(amount: Amount, column: Any = quote) -> tuple[str, str]:
    """(amount, kind) SQL expressions for an eligible row, matching ``_amount``."""
    if amount.kind == "fixed":
        return str(amount.fixed), "'fixed'"
    if amount.kind == "none":
        return "CAST(NULL AS BIGINT)", "'none'"
    if amount.kind == "assessed":
        return "CAST(NULL AS BIGINT)", "'assessed'"
    if amount.kind == "formula":
        assert amount.formula is not None
        raw = f"CAST(FLOOR({to_sql(amount.formula, column)}) AS BIGINT)"
        capped = raw if amount.cap is None else f"LEAST({raw}, {amount.cap})"
        # LEAST/GREATEST skip NULLs: an unknown amount must stay unknown, not become the cap
        return f"CASE WHEN {raw} IS NULL THEN NULL ELSE GREATEST({capped}, 0) END", "'formula'"
    assert amount.tiers_by is not None
    by = column(amount.tiers_by)
    figures, kinds = [], []
    for t in amount.tiers:
        edges = [_edge(by, b, low) for b, low in ((t.lower, True), (t.upper, False)) if b is not None]
        when = " AND ".join(edges) or "TRUE"
        figures.append(f"WHEN {when} THEN {t.amount if t.amount is not None else 'NULL'}")
        kinds.append(f"WHEN {when} THEN '{t.kind}'")
    return (
        f"CAST(CASE {' '.join(figures)} END AS BIGINT)",
        f"CASE WHEN {by} IS NULL THEN 'up_to' {' '.join(kinds)} END",
    )


SCORE_TYPE = "DECIMAL(18, 4)"


def clause_sql(pack: Pack, clause: Clause, column: Any = quote) -> dict[str, str]:
    """SQL expressions over a facts table for the clause's ``eligible``, ``amount``,
    ``amount_kind``, ``score``, ``score_min`` and ``score_max``: the same results as
    ``evaluate_clause`` (the scores NULL for a clause that doesn't score)."""
    scores = score_sql(clause.score, column) if clause.score is not None else None

    def reads(name: str) -> str:
        return f"({scores['passes']})" if scores is not None and name == SCORE_PASSES else str(column(name))

    parts = ([pack.applies_when] if pack.applies_when is not None else []) + [clause.when]
    eligible = "(" + " AND ".join(to_sql(p, reads) for p in parts) + ")"
    amount, kind = amount_sql(clause.amount, column)
    out = {
        "eligible": eligible,
        "amount": f"CASE WHEN {eligible} THEN {amount} END",
        "amount_kind": f"CASE WHEN {eligible} THEN {kind} ELSE '{static_kind(clause.amount)}' END",
    }
    for key in ("score", "score_min", "score_max"):
        out[key] = f"CAST({scores[key] if scores else 'NULL'} AS {SCORE_TYPE})"
    return out


def pack_select(pack: Pack, source: str, key: str = "uscc") -> str:
    """One statement that evaluates every clause for every row of ``source`` (a table or relation
    with one column per fact): one row per enterprise and clause."""
    selects = []
    for c in pack.clauses:
        sql = clause_sql(pack, c)
        selects.append(
            f"SELECT {quote(key)} AS enterprise, '{c.id}' AS clause, {sql['eligible']} AS eligible, "
            f"{sql['amount']} AS amount, {sql['amount_kind']} AS amount_kind, {sql['score']} AS score, "
            f"{sql['score_min']} AS score_min, {sql['score_max']} AS score_max FROM {source}"
        )
    return "\nUNION ALL\n".join(selects)

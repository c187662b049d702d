"""Explanations a reviewer at the commerce bureau can read: each condition of a clause with the
enterprise's value, the comparison in the policy's own words (超过, 达到 …) and whether it held;
amounts in 万元/亿元 as the policy text writes them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from pubdata.rules.evaluate import Outcome, evaluate, normalise
from pubdata.rules.expr import BoolOp, Compare, Const, Fact, Member, Node, Not

OP_WORDS = {">": "超过", ">=": "达到", "<": "低于", "<=": "不超过", "==": "为", "!=": "不为"}
MARKS = {True: "✓", False: "✗", None: "？"}


def money(value: Any) -> str:
    """``25000000`` → ``2,500万元``; ``150000`` → ``15万元``; ``2000000000`` → ``20亿元``."""
    d = Decimal(value)
    for unit, size in (("亿", Decimal(100_000_000)), ("万", Decimal(10_000))):
        if abs(d) >= size and (d / size) == (d / size).quantize(Decimal("0.01")):
            return f"{(d / size).normalize():,f}{unit}元"
    return f"{d.quantize(Decimal(1), rounding=ROUND_FLOOR):,}元"


class Describer:
    """Renders facts and values with the pack's titles and units."""

    def __init__(self, inputs: Mapping[str, Any]) -> None:
        self.inputs = inputs

    def title(self, name: str) -> str:
        spec = self.inputs.get(name)
        return spec.title if spec is not None else name

    def value(self, name: str | None, value: Any) -> str:
        spec = self.inputs.get(name) if name else None
        if value is None:
            return "未知"
        if isinstance(value, bool):
            return "是" if value else "否"
        if spec is not None and spec.type == "money":
            return money(value)
        if isinstance(value, Decimal | int):
            text = f"{Decimal(value).normalize():,f}"
            return text + (spec.unit if spec is not None and spec.unit else "")
        return str(value)

    def operand(self, node: Node, facts: Mapping[str, Any], unit_of: str | None) -> str:
        if isinstance(node, Fact):
            return f"{self.title(node.name)}（{self.value(node.name, normalise(facts.get(node.name)))}）"
        if isinstance(node, Const):
            return self.value(unit_of, node.value)
        result = evaluate(node, facts).value
        return f"计算值 {self.value(unit_of, result)}"

    def condition(self, node: Node, facts: Mapping[str, Any]) -> tuple[str, Outcome]:
        """One line for a simple condition and its outcome."""
        outcome = evaluate(node, facts)
        if isinstance(node, Fact):
            text = f"{self.title(node.name)}：{self.value(node.name, outcome.value)}"
        elif isinstance(node, Not) and isinstance(node.operand, Fact):
            name = node.operand.name
            text = f"{self.title(name)}：{self.value(name, normalise(facts.get(name)))}（要求为否）"
        elif isinstance(node, Compare):
            unit_of = next((n.name for n in (node.left, node.right) if isinstance(n, Fact)), None)
            left = self.operand(node.left, facts, unit_of)
            right = self.operand(node.right, facts, unit_of)
            text = f"{left} {OP_WORDS[node.op]} {right}"
        elif isinstance(node, Member):
            unit_of = node.item.name if isinstance(node.item, Fact) else None
            options = "、".join(self.value(unit_of, o.value) for o in node.options)
            text = f"{self.operand(node.item, facts, unit_of)} {'不' if node.negated else ''}属于：{options}"
        elif isinstance(node, BoolOp | Not):
            text = "组合条件（" + "；".join(self.condition(c, facts)[0] for c in node.children()) + "）"
        else:
            text = f"条件值：{self.value(None, outcome.value)}"
        return f"{MARKS[outcome.value if outcome.value is None else bool(outcome.value)]} {text}", outcome

"""Evaluating a rules-language tree in Python over one set of facts.

A fact that is absent or None is *unknown*, and unknown propagates as in SQL (Kleene's three-valued
logic): ``false and unknown`` is false, ``true or unknown`` is true, any comparison or arithmetic
with an unknown operand is unknown, and so is a division by zero. The result carries the facts
whose absence left it unknown, so a caller can say what is missing. ``rules.sql`` compiles the same
tree to SQL with the same semantics; the policy packs' test cases check that the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pubdata.rules.expr import Arith, BoolOp, Call, Compare, Const, Fact, Member, Neg, Node, Not

Value = Decimal | str | bool | None


@dataclass(frozen=True)
class Outcome:
    value: Value
    missing: frozenset[str] = field(default_factory=frozenset)  # only when value is None


def normalise(value: Any) -> Value:
    """A fact's value in the evaluator's terms: numbers exact (``Decimal``), never floats."""
    if value is None or isinstance(value, bool | str | Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    raise TypeError(f"unsupported fact value: {value!r}")


def _unknown(*outcomes: Outcome) -> Outcome:
    missing: frozenset[str] = frozenset()
    for o in outcomes:
        if o.value is None:
            missing |= o.missing
    return Outcome(None, missing)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    if op == "<":
        return bool(left < right)
    return bool(left <= right)


def _arith(op: str, left: Decimal, right: Decimal) -> Decimal | None:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return None if right == 0 else left / right


def evaluate(node: Node, facts: Mapping[str, Any]) -> Outcome:
    """The value of ``node`` over ``facts`` (names to values; absent or None means unknown)."""
    if isinstance(node, Const):
        return Outcome(node.value)
    if isinstance(node, Fact):
        value = normalise(facts.get(node.name))
        return Outcome(value) if value is not None else Outcome(None, frozenset({node.name}))
    if isinstance(node, Not):
        inner = evaluate(node.operand, facts)
        return inner if inner.value is None else Outcome(not inner.value)
    if isinstance(node, BoolOp):
        outcomes = [evaluate(o, facts) for o in node.operands]
        decisive = node.op == "or"  # the value that settles the whole: true for or, false for and
        if any(o.value is decisive for o in outcomes):
            return Outcome(decisive)
        if any(o.value is None for o in outcomes):
            return _unknown(*outcomes)
        return Outcome(not decisive)
    if isinstance(node, Compare):
        left, right = evaluate(node.left, facts), evaluate(node.right, facts)
        if left.value is None or right.value is None:
            return _unknown(left, right)
        return Outcome(_compare(node.op, left.value, right.value))
    if isinstance(node, Member):
        item = evaluate(node.item, facts)
        if item.value is None:
            return item
        found = any(item.value == o.value for o in node.options)
        return Outcome(found != node.negated)
    if isinstance(node, Neg):
        inner = evaluate(node.operand, facts)
        if inner.value is None:
            return inner
        assert isinstance(inner.value, Decimal)
        return Outcome(-inner.value)
    if isinstance(node, Arith | Call):
        args = [evaluate(a, facts) for a in node.children()]
        if any(a.value is None for a in args):
            return _unknown(*args)
        a, b = (x.value for x in args)
        assert isinstance(a, Decimal) and isinstance(b, Decimal)
        if isinstance(node, Call):
            return Outcome(min(a, b) if node.function == "min" else max(a, b))
        return Outcome(_arith(node.op, a, b))
    raise TypeError(f"cannot evaluate {node!r}")  # pragma: no cover


def conditions(node: Node) -> list[Node]:
    """The simple conditions a condition is built of (the operands of its and/or/not), in order:
    what an explanation lists one line each."""
    if isinstance(node, BoolOp):
        return [leaf for operand in node.operands for leaf in conditions(operand)]
    if isinstance(node, Not) and isinstance(node.operand, BoolOp):
        return conditions(node.operand)
    return [node]

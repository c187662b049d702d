"""Reasons in readable Chinese: which features raise an enterprise's score and which lower it.

The reference is each feature's **neutral points** (``neutral`` in the model file; 0 by default:
the expert card's points are written relative to a neutral enterprise; a fitted card's neutral is the
training population's average points of the feature). A feature's contribution is its points minus
its neutral points; the reasons raising the score are the largest positive contributions, those
lowering it the most negative ones (``reasons.top`` of each, ties in the card's order). A feature
whose contribution is 0 is never a reason.

Wording: the bin's ``text`` when the model file gives one (``{value}`` replaced by the enterprise's
value), otherwise ``<label>为 <value>`` (text facts; no space before Chinese), ``<label> <value><unit>`` (numbers),
``<label>：是/否`` (yes/no facts), ``<label>未知`` (missing); then the contribution in points:
``纳税信用等级为 A（+80 分）``, ``近三年行政处罚 3 次（−40 分）``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pubdata.finance.scorecards.card import Card, Feature

MINUS = "\u2212"  # the minus sign, not a hyphen


def points_text(points: int) -> str:
    return f"+{points} 分" if points > 0 else (f"{MINUS}{-points} 分" if points < 0 else "0 分")


def value_text(feature: Feature, value: Any) -> str:
    """A measured value as a person reads it (money in 万元 from 1万 up)."""
    if value is None:
        return "未知"
    if isinstance(value, bool):
        return "是" if value else "否"
    if feature.type == "money" and isinstance(value, int | Decimal):
        amount = Decimal(value)
        if abs(amount) >= 10_000:
            wan = amount / 10_000
            text = f"{wan:,.2f}".rstrip("0").rstrip(".")
            return f"{text} 万元"
        return f"{value:,} 元"
    if isinstance(value, int | Decimal | float):
        number = f"{value:,}" if isinstance(value, int) else format(Decimal(str(value)).normalize(), "f")
        return f"{number} {feature.unit}".rstrip() if feature.unit else number
    return str(value)


def describe(feature: Feature, value: Any) -> str:
    """What the enterprise's value of this feature is, in words (without the points)."""
    b = feature.bin_of(value)
    shown = value_text(feature, value)
    if b.text:
        return b.text.format(value=shown)
    if value is None:
        return f"{feature.label}未知"
    if feature.type == "boolean":
        return f"{feature.label}：{shown}"
    if feature.type in ("string", "district"):
        # a space sets off Latin letters and digits (纳税信用等级为 A), not Chinese (登记状态为存续)
        return f"{feature.label}为 {shown}" if shown[:1].isascii() else f"{feature.label}为{shown}"
    return f"{feature.label} {shown}"


@dataclass(frozen=True)
class Reason:
    fact: str
    dimension: str
    points: int  # the contribution: points minus the feature's neutral points
    text: str


def reasons(card: Card, values: dict[str, Any], points: dict[str, int]) -> tuple[list[Reason], list[Reason]]:
    """(raising, lowering): the top reasons each way for one enterprise's measured values and points."""
    items = []
    for order, f in enumerate(card.features):
        contribution = points[f.fact] - f.neutral
        if contribution == 0:
            continue
        text = f"{describe(f, values.get(f.fact))}（{points_text(contribution)}）"
        items.append((order, Reason(f.fact, f.dimension, contribution, text)))
    up = [r for _, r in sorted((i for i in items if i[1].points > 0), key=lambda i: (-i[1].points, i[0]))]
    down = [r for _, r in sorted((i for i in items if i[1].points < 0), key=lambda i: (i[1].points, i[0]))]
    return up[: card.reasons_top], down[: card.reasons_top]

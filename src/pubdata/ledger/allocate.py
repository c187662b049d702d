"""Splitting an amount of fen among parties by exact shares, with the rounding remainder going to
one named party. Pure functions: no database.

Each party gets the floor of its exact entitlement (``total × share``, computed with ``Fraction``,
never a float); what flooring leaves — fewer fen than there are parties — goes to ``remainder_to``.
So the parts always add up to the total exactly and no party gets less than its floor.

``progressive`` is the 累进 rule: the part of the total up to a threshold is split by one set of
shares, the part above it by another. A party's exact entitlement is the sum over both bands and is
floored once (not once per band), so the remainder is rounded once too."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction

from pubdata.ledger.errors import InvalidAllocation

Shares = Sequence[tuple[str, Fraction]]


def _is_fen(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _share_problems(shares: Shares, label: str) -> list[str]:
    problems: list[str] = []
    if not shares:
        return [f"{label}没有任何参与方"]
    parties = [party for party, _ in shares]
    if any(not isinstance(p, str) or not p.strip() for p in parties):
        problems.append(f"{label}的参与方名称必须是非空文本")
    if len(set(parties)) != len(parties):
        problems.append(f"{label}的参与方重复")
    bad = [p for p, s in shares if not isinstance(s, Fraction)]
    if bad:
        problems.append(f"{label}的份额必须是精确分数（Fraction），不能是小数或其他类型：{'、'.join(map(str, bad))}")
        return problems
    not_positive = [p for p, s in shares if s <= 0]
    if not_positive:
        problems.append(f"{label}的份额必须大于零：{'、'.join(map(str, not_positive))}")
    total = sum((s for _, s in shares), Fraction(0))
    if total != 1:
        problems.append(f"{label}的份额之和必须恰好为 1，实为 {total}")
    return problems


def _amount_problems(value: object, label: str) -> list[str]:
    if not _is_fen(value):
        return [f"{label}必须是整数分，不能是 {type(value).__name__}"]
    assert isinstance(value, int)
    return [f"{label}不能为负数：{value}"] if value < 0 else []


def _refuse(problems: list[str]) -> None:
    if problems:
        raise InvalidAllocation("；".join(problems), details=[{"message": p} for p in problems])


def _round(entitled: Mapping[str, Fraction], total_fen: int, remainder_to: str) -> dict[str, int]:
    parts = {party: amount.numerator // amount.denominator for party, amount in entitled.items()}
    parts[remainder_to] += total_fen - sum(parts.values())
    return parts


def split(total_fen: int, shares: Shares, remainder_to: str) -> dict[str, int]:
    """``total_fen`` split by ``shares`` (positive ``Fraction``s summing to exactly 1): each party
    gets ``floor(total × share)``, and ``remainder_to`` (one of the parties) also gets what flooring
    left. The parts sum to ``total_fen``; every part is non-negative. Refuses (``InvalidAllocation``,
    naming every problem) a total that is not a non-negative int and shares that are not such."""
    problems = _amount_problems(total_fen, "金额") + _share_problems(shares, "分配比例")
    if remainder_to not in {p for p, _ in shares}:
        problems.append(f"尾差归属方必须是参与方之一：{remainder_to}")
    _refuse(problems)
    return _round({party: total_fen * share for party, share in shares}, total_fen, remainder_to)


def progressive(total_fen: int, threshold_fen: int, below: Shares, above: Shares, remainder_to: str) -> dict[str, int]:
    """The 累进 rule: the part of ``total_fen`` up to ``threshold_fen`` is split by ``below``, the
    part above it by ``above``; each party's exact entitlement is summed over both bands and floored
    once, and the remainder goes to ``remainder_to`` (a party of either band). Parties in the order
    they first appear in ``below`` then ``above``; the parts sum to ``total_fen``."""
    problems = (
        _amount_problems(total_fen, "金额")
        + _amount_problems(threshold_fen, "累进起点")
        + _share_problems(below, "起点以下的分配比例")
        + _share_problems(above, "起点以上的分配比例")
    )
    if remainder_to not in {p for p, _ in below} | {p for p, _ in above}:
        problems.append(f"尾差归属方必须是参与方之一：{remainder_to}")
    _refuse(problems)
    lower = min(total_fen, threshold_fen)
    upper = total_fen - lower
    entitled: dict[str, Fraction] = {}
    for band, shares in ((lower, below), (upper, above)):
        for party, share in shares:
            entitled[party] = entitled.get(party, Fraction(0)) + band * share
    return _round(entitled, total_fen, remainder_to)


def progressive_many(
    totals: Sequence[int], threshold_fen: int | None, below: Shares, above: Shares | None, remainder_to: str
) -> list[dict[str, int]]:
    """``progressive`` of each of ``totals`` (``split`` by ``below`` when ``threshold_fen`` is None):
    the same parts, checked once and computed in integers over the shares' common denominator — for
    a settlement's thousands of bills under one rule."""
    bands = [below] if threshold_fen is None else [below, above or ()]
    problems = [p for i, t in enumerate(totals) for p in _amount_problems(t, f"第 {i + 1} 笔金额")][:5]
    if threshold_fen is not None:
        problems += _amount_problems(threshold_fen, "累进起点") + _share_problems(above or (), "起点以上的分配比例")
    problems += _share_problems(below, "起点以下的分配比例" if threshold_fen is not None else "分配比例")
    parties = list(dict.fromkeys(p for band in bands for p, _ in band))
    if remainder_to not in parties:
        problems.append(f"尾差归属方必须是参与方之一：{remainder_to}")
    _refuse(problems)
    common = math.lcm(*(s.denominator for band in bands for _, s in band))
    weights = {party: [0, 0] for party in parties}  # numerators over ``common``, below and above
    for i, band in enumerate(bands):
        for party, share in band:
            weights[party][i] = share.numerator * (common // share.denominator)
    out = []
    for total in totals:
        lower = total if threshold_fen is None else min(total, threshold_fen)
        upper = total - lower
        parts = {party: (lower * w[0] + upper * w[1]) // common for party, w in weights.items()}
        parts[remainder_to] += total - sum(parts.values())
        out.append(parts)
    return out

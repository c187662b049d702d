"""How a data product's settled revenue is split among the parties (收益分配): pure, no database.

A rule (JSON, on the product or the city's default ``Settings.market_distribution``)::

    {"threshold_fen": 1000000,                       # optional: the 累进 threshold per bill
     "below": {"department": "3/10", "operator": "1/5", "provider": "1/2"},
     "above": {"department": "1/2", "operator": "1/10", "provider": "2/5"},   # with a threshold
     "remainder_to": "operator"}

Parties: ``department`` (the organisation publishing the product's data), ``operator`` (the
platform: the market's revenue account), ``provider`` (the product's provider), ``trust:<code>`` (a
data trust: its share goes to the trust's clearing account and out to its beneficiaries). Shares are
exact fractions written ``"a/b"`` (or the integer 1), summing to one in each band; a float is
refused. Each bill is split on its own (单笔收入累进: the part of one bill above the threshold is
split by ``above``), with ``ledger.allocate``: every party gets the floor of its exact share and the
remainder goes to ``remainder_to``, so the parts always add up to the bill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pubdata.ledger import allocate
from pubdata.ledger.errors import InvalidAllocation
from pubdata.market.errors import InvalidProduct

PARTY_LABELS = {"department": "数据提供部门", "operator": "运营方", "provider": "产品提供方"}
TRUST_PREFIX = "trust:"
KEYS = ("threshold_fen", "below", "above", "remainder_to")


@dataclass(frozen=True)
class Rule:
    below: tuple[tuple[str, Fraction], ...]
    above: tuple[tuple[str, Fraction], ...] | None = None
    threshold_fen: int | None = None
    remainder_to: str = "operator"

    @property
    def parties(self) -> list[str]:
        out = [p for p, _ in self.below]
        return out + [p for p, _ in self.above or () if p not in out]

    @property
    def trusts(self) -> list[str]:
        """The codes of the trusts the rule pays into."""
        return [p.removeprefix(TRUST_PREFIX) for p in self.parties if p.startswith(TRUST_PREFIX)]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"below": {p: str(s) for p, s in self.below}, "remainder_to": self.remainder_to}
        if self.threshold_fen is not None:
            out["threshold_fen"] = self.threshold_fen
            out["above"] = {p: str(s) for p, s in self.above or ()}
        return out


def party_label(party: str) -> str:
    if party.startswith(TRUST_PREFIX):
        return f"数据信托 {party.removeprefix(TRUST_PREFIX)}"
    return PARTY_LABELS.get(party, party)


def _refuse(message: str) -> InvalidProduct:
    return InvalidProduct(f"收益分配规则有误：{message}", field="distribution")


def _share(value: Any, party: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _refuse(f'{party_label(party)}的份额须写成分数文本（如 "3/10"），不能是 {value!r}')
    try:
        share = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise _refuse(f"{party_label(party)}的份额不是分数：{value!r}") from None
    if isinstance(value, str) and "." in value:
        raise _refuse(f'{party_label(party)}的份额须写成分数（如 "3/10"），不能是小数：{value!r}')
    return share


def _band(raw: Any, name: str) -> tuple[tuple[str, Fraction], ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise _refuse(f"{name} 须是“参与方: 份额”的非空对象")
    out = []
    for party, value in raw.items():
        if not isinstance(party, str) or not (
            party in PARTY_LABELS or (party.startswith(TRUST_PREFIX) and len(party) > len(TRUST_PREFIX))
        ):
            raise _refuse(f"未知的参与方：{party!r}（可用：department、operator、provider、trust:<信托编号>）")
        out.append((party, _share(value, party)))
    return tuple(out)


def parse(raw: Any) -> Rule:
    """The rule, checked whole (shares sum to one per band, the remainder party takes part, the
    threshold whole fen ≥ 1); ``InvalidProduct`` naming the problem otherwise."""
    if not isinstance(raw, Mapping):
        raise _refuse("须是一个对象")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise _refuse(f"未知的键：{'、'.join(map(str, unknown))}")
    below = _band(raw.get("below"), "below")
    threshold = raw.get("threshold_fen")
    above = None
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise _refuse(f"累进起点 threshold_fen 须是不小于 1 的整数分：{threshold!r}")
        above = _band(raw.get("above"), "above")
    elif raw.get("above") is not None:
        raise _refuse("设了 above 却没有累进起点 threshold_fen")
    remainder_to = raw.get("remainder_to", "operator")
    rule = Rule(below=below, above=above, threshold_fen=threshold, remainder_to=str(remainder_to))
    if rule.remainder_to not in rule.parties:
        raise _refuse(f"尾差归属方 {rule.remainder_to!r} 不在分配参与方之中")
    try:
        split(rule, 0)
    except InvalidAllocation as exc:
        raise _refuse(exc.message) from None
    return rule


def split_many(rule: Rule, amounts: Sequence[int]) -> list[dict[str, int]]:
    """``split`` of each amount (checked once, in integers: a month's bills under one rule)."""
    parts = allocate.progressive_many(amounts, rule.threshold_fen, rule.below, rule.above, rule.remainder_to)
    return [{p: one.get(p, 0) for p in rule.parties} for one in parts]


def split(rule: Rule, amount_fen: int) -> dict[str, int]:
    """One bill's amount split among the rule's parties (every party present, possibly 0 fen)."""
    if rule.threshold_fen is None:
        parts = allocate.split(amount_fen, rule.below, rule.remainder_to)
    else:
        assert rule.above is not None
        parts = allocate.progressive(amount_fen, rule.threshold_fen, rule.below, rule.above, rule.remainder_to)
    return {p: parts.get(p, 0) for p in rule.parties}

"""Price plans: their validation and their arithmetic, pure (no database).

``check_plan`` turns a ``PlanIn`` into ``PlanTerms`` or refuses it whole, naming every problem in
Chinese. ``charge`` bills one period of a plan as lines with Snowflake-style charge types; their sum
is what the buyer owes, in integer fen. ``ceiling`` is the most a buyer can pay per order, term or
month — the figure the public price list discloses.

Charge types (``CHARGE_TYPES``):
- ``trial``: a free (public-interest) plan's usage, 0 fen;
- ``fixed``: the price of a one-off order or of one subscription term (billed once per order or
  term by the caller, whatever the calls);
- ``free_quota``: calls within the month's free quota (or in a zero-priced tier), 0 fen;
- ``variable``: calls beyond it at the unit price, or a tier's calls at that tier's price;
- ``cap_reached``: a negative line taking off what the monthly cap cuts, so the lines still sum
  to what is owed and the bill shows what the cap saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pubdata.ledger.schemas import MAX_LINE_FEN
from pubdata.ledger.service import is_fen
from pubdata.market.errors import InvalidPlan, InvalidUsage, PlanNotAllowed
from pubdata.market.schemas import KINDS, PLAN_KINDS, PLAN_KINDS_BY_PRODUCT, PlanIn

CHARGE_TYPES = {
    "trial": "公益免费",
    "fixed": "固定费用",
    "free_quota": "免费额度",
    "variable": "按量计费",
    "cap_reached": "月度封顶减免",
}
MAX_FEN = MAX_LINE_FEN  # no price may exceed what one ledger line can carry
MAX_CALLS = 10**12
MAX_TERM_MONTHS = 36
MAX_TIERS = 20
# the priced fields each kind takes (every other priced field must be left out)
FIELDS_OF_KIND: dict[str, tuple[str, ...]] = {
    "free": (),
    "one_off": ("price_fen",),
    "subscription": ("price_fen", "term_months"),
    "per_call": ("unit_price_fen", "free_quota", "monthly_cap_fen"),
    "tiered": ("tiers", "monthly_cap_fen"),
}
PRICED_FIELDS = ("price_fen", "term_months", "unit_price_fen", "free_quota", "monthly_cap_fen", "tiers")
FIELD_LABELS = {
    "price_fen": "价格（分）",
    "term_months": "订阅期（月）",
    "unit_price_fen": "单价（分/次）",
    "free_quota": "每月免费次数",
    "monthly_cap_fen": "月度封顶（分）",
    "tiers": "阶梯",
}


class PlanLike(Protocol):
    """What ``charge`` and ``ceiling`` read of a plan (a ``PlanTerms``, the ORM row, a ``PlanRead``)."""

    @property
    def kind(self) -> str: ...
    @property
    def price_fen(self) -> int | None: ...
    @property
    def unit_price_fen(self) -> int | None: ...
    @property
    def free_quota(self) -> int | None: ...
    @property
    def monthly_cap_fen(self) -> int | None: ...
    @property
    def tiers(self) -> Any: ...  # [{"up_to", "unit_price_fen"}] or objects with those attributes


@dataclass(frozen=True)
class PlanTerms:
    """A checked plan: only its kind's fields set, every amount whole non-negative fen."""

    kind: str
    price_fen: int | None = None
    term_months: int | None = None
    unit_price_fen: int | None = None
    free_quota: int | None = None
    monthly_cap_fen: int | None = None
    tiers: list[dict[str, int | None]] | None = None
    public_interest_only: bool = False


@dataclass(frozen=True)
class BillingLine:
    charge_type: str  # one of CHARGE_TYPES
    quantity: int  # calls (1 for a fixed charge)
    unit_price_fen: int
    amount_fen: int  # negative only for cap_reached
    description: str = ""
    tier: int | None = field(default=None)  # tiered plans: the tier's position, from 1


def _whole(value: Any, name: str, problems: list[dict[str, str]], *, low: int, high: int) -> int | None:
    label = FIELD_LABELS.get(name.split("[")[0].split(".")[-1], name)
    if not is_fen(value):
        what = "布尔值" if isinstance(value, bool) else type(value).__name__
        problems.append({"field": name, "message": f"{label}必须是整数（不能是小数、字符串或{what}）：{value!r}"})
        return None
    if value < low:
        problems.append({"field": name, "message": f"{label}不能小于 {low}：{value}"})
        return None
    if value > high:
        problems.append({"field": name, "message": f"{label}不能大于 {high}：{value}"})
        return None
    return int(value)


def _tier_value(tier: Any, key: str) -> Any:
    return tier.get(key) if isinstance(tier, dict) else getattr(tier, key)


def _check_tiers(raw: Any, problems: list[dict[str, str]]) -> list[dict[str, int | None]]:
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or not raw:
        problems.append({"field": "tiers", "message": "阶梯计价须至少设一档"})
        return []
    if len(raw) > MAX_TIERS:
        problems.append({"field": "tiers", "message": f"阶梯最多 {MAX_TIERS} 档"})
        return []
    out: list[dict[str, int | None]] = []
    previous = 0
    for n, tier in enumerate(raw, 1):
        up_to_raw, price_raw = _tier_value(tier, "up_to"), _tier_value(tier, "unit_price_fen")
        price = _whole(price_raw, f"tiers[{n}].unit_price_fen", problems, low=0, high=MAX_FEN)
        up_to: int | None = None
        if up_to_raw is None:
            if n != len(raw):
                problems.append(
                    {"field": f"tiers[{n}].up_to", "message": f"只有最后一档可以不封顶（第 {n} 档不是最后一档）"}
                )
        else:
            up_to = _whole(up_to_raw, f"tiers[{n}].up_to", problems, low=1, high=MAX_CALLS)
            if up_to is not None and up_to <= previous:
                problems.append(
                    {
                        "field": f"tiers[{n}].up_to",
                        "message": f"阶梯须递增：第 {n} 档截至 {up_to} 次，不大于上一档的 {previous} 次",
                    }
                )
            previous = up_to if up_to is not None else previous
        out.append({"up_to": up_to, "unit_price_fen": price})
    if _tier_value(raw[-1], "up_to") is not None:
        problems.append({"field": f"tiers[{len(raw)}].up_to", "message": "最后一档须不封顶（up_to 为 null）"})
    if out and all(t["unit_price_fen"] == 0 for t in out):
        problems.append({"field": "tiers", "message": "各档单价都为 0：免费请用公益免费计划"})
    return out


def check_plan(data: PlanIn, product_kind: str) -> PlanTerms:
    """The plan's terms, if its kind fits ``product_kind`` and its fields its kind; otherwise
    ``PlanNotAllowed`` or ``InvalidPlan`` with every problem in ``details``."""
    allowed = PLAN_KINDS_BY_PRODUCT[product_kind]
    if data.kind not in allowed:
        names = "、".join(PLAN_KINDS[k] for k in allowed)
        raise PlanNotAllowed(
            f"{KINDS[product_kind]}产品不能使用“{PLAN_KINDS[data.kind]}”计划（可用：{names}）", field="kind"
        )
    problems: list[dict[str, str]] = []
    wanted = FIELDS_OF_KIND[data.kind]
    for name in PRICED_FIELDS:
        if name not in wanted and getattr(data, name) is not None:
            problems.append(
                {
                    "field": name,
                    "message": f"“{PLAN_KINDS[data.kind]}”计划不设{FIELD_LABELS[name]}：{getattr(data, name)!r}",
                }
            )
    if data.kind == "free" and not data.public_interest_only:
        problems.append(
            {
                "field": "public_interest_only",
                "message": "公益免费计划只能用于公益用途（public_interest_only 须为 true）",
            }
        )
    if data.kind != "free" and data.public_interest_only:
        problems.append({"field": "public_interest_only", "message": "只有公益免费计划限于公益用途"})
    terms: dict[str, Any] = {}
    if data.kind in ("one_off", "subscription"):
        terms["price_fen"] = _required(data.price_fen, "price_fen", problems, low=1)
    if data.kind == "subscription":
        terms["term_months"] = _required(data.term_months, "term_months", problems, low=1, high=MAX_TERM_MONTHS)
    if data.kind == "per_call":
        terms["unit_price_fen"] = _required(data.unit_price_fen, "unit_price_fen", problems, low=1)
        quota = 0 if data.free_quota is None else data.free_quota
        terms["free_quota"] = _whole(quota, "free_quota", problems, low=0, high=MAX_CALLS)
    if data.kind == "tiered":
        terms["tiers"] = _check_tiers(data.tiers, problems)
    if data.kind in ("per_call", "tiered") and data.monthly_cap_fen is not None:
        cap = _whole(data.monthly_cap_fen, "monthly_cap_fen", problems, low=1, high=MAX_FEN)
        one_call = _one_call_price(terms)
        if cap is not None and one_call is not None and cap < one_call:
            problems.append(
                {"field": "monthly_cap_fen", "message": f"月度封顶 {cap} 分低于一次调用的价格 {one_call} 分"}
            )
        terms["monthly_cap_fen"] = cap
    if problems:
        raise InvalidPlan("；".join(p["message"] for p in problems), details=problems)
    return PlanTerms(kind=data.kind, public_interest_only=data.public_interest_only, **terms)


def _required(value: Any, name: str, problems: list[dict[str, str]], *, low: int, high: int = MAX_FEN) -> int | None:
    if value is None:
        problems.append({"field": name, "message": f"须填写{FIELD_LABELS[name]}"})
        return None
    return _whole(value, name, problems, low=low, high=high)


def _one_call_price(terms: dict[str, Any]) -> int | None:
    """The price of the first paid call: the unit price, or the first tier priced above zero."""
    if terms.get("unit_price_fen") is not None:
        return int(terms["unit_price_fen"])
    for tier in terms.get("tiers") or []:
        if tier["unit_price_fen"]:
            return int(tier["unit_price_fen"])
    return None


# --- arithmetic -----------------------------------------------------------------------------------


def _check_calls(calls: Any) -> int:
    if not is_fen(calls) or calls < 0 or calls > MAX_CALLS:
        raise InvalidUsage(f"本月调用次数必须是 0 至 {MAX_CALLS} 之间的整数：{calls!r}", field="calls")
    return int(calls)


def _capped(lines: list[BillingLine], cap: int | None) -> list[BillingLine]:
    variable = sum(line.amount_fen for line in lines)
    if cap is not None and variable > cap:
        lines.append(BillingLine("cap_reached", 0, 0, cap - variable, f"已达月度封顶 {cap} 分"))
    return lines


def charge(plan: PlanLike, calls_this_month: int) -> list[BillingLine]:
    """The lines of one billing period: for per-call and tiered plans a month of ``calls_this_month``
    calls; for one-off and subscription plans the order or the term (calls are included); for a
    free plan a ``trial`` line of 0 fen. ``owed(lines)`` is what the buyer pays."""
    calls = _check_calls(calls_this_month)
    if plan.kind == "free":
        return [BillingLine("trial", calls, 0, 0, "公益免费使用")]
    if plan.kind in ("one_off", "subscription"):
        price = int(plan.price_fen or 0)
        return [BillingLine("fixed", 1, price, price, PLAN_KINDS[plan.kind])]
    if plan.kind == "per_call":
        unit = int(plan.unit_price_fen or 0)
        quota = int(plan.free_quota or 0)
        lines = []
        free = min(calls, quota)
        if free:
            lines.append(BillingLine("free_quota", free, 0, 0, f"每月免费 {quota} 次"))
        if calls > quota:
            lines.append(BillingLine("variable", calls - quota, unit, (calls - quota) * unit, "超出免费额度"))
        return _capped(lines, plan.monthly_cap_fen)
    if plan.kind == "tiered":
        lines = []
        below = 0
        for n, tier in enumerate(plan.tiers or [], 1):
            up_to, unit = _tier_value(tier, "up_to"), int(_tier_value(tier, "unit_price_fen"))
            top = calls if up_to is None else min(calls, int(up_to))
            if top <= below:
                break
            quantity = top - below
            span = f"第 {below + 1}–{top} 次"
            if unit == 0:
                lines.append(BillingLine("free_quota", quantity, 0, 0, span, tier=n))
            else:
                lines.append(BillingLine("variable", quantity, unit, quantity * unit, span, tier=n))
            below = top
        return _capped(lines, plan.monthly_cap_fen)
    raise InvalidPlan(f"未知的计划类型：{plan.kind}", field="kind")


def owed(lines: Sequence[BillingLine]) -> int:
    """What a bill's lines add up to: what the buyer owes, in fen."""
    return sum(line.amount_fen for line in lines)


def ceiling(plan: PlanLike) -> int | None:
    """The most a buyer pays per order (free, one-off), per term (subscription) or per month (per
    call, tiered: the monthly cap); None when usage is uncapped."""
    if plan.kind == "free":
        return 0
    if plan.kind in ("one_off", "subscription"):
        return plan.price_fen
    return plan.monthly_cap_fen

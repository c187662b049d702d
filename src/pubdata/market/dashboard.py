"""The data market's trading dashboard (oversight): orders placed, money paid and money settled, by
month, by application scenario and by party.

Three measures, each from its own record so that none is estimated:

- **orders** — orders placed (``market_order``), counted in the Beijing month they were placed;
- **paid** — what buyers paid, net of refunds: the paid bills (order and usage bills) counted in the
  Beijing month their payment was confirmed;
- **settled** — what the monthly settlement distributed (``market_settlement_share``), in the
  settlement's month, split by party (publishing department, provider, operator, trusts).

Money is integer fen throughout. Only the oversight roles (``MARKET_ORDER_READ_ANY``) see it."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission, require
from pubdata.catalog.vocab import SCENARIOS
from pubdata.market import distribution
from pubdata.market.models import (
    MarketBill,
    MarketOrder,
    MarketProduct,
    MarketSettlementRun,
    MarketSettlementShare,
)

BEIJING = ZoneInfo("Asia/Shanghai")


class DashboardRow(BaseModel):
    """One group (a month ``YYYY-MM`` or a scenario code) with its three measures."""

    key: str
    label: str
    orders: int = 0
    paid_fen: int = 0
    settled_fen: int = 0


class PartyRow(BaseModel):
    party: str
    label: str
    amount_fen: int


class ShareCell(BaseModel):
    """What one party received for one scenario in one settled month."""

    month: str
    scenario: str
    scenario_label: str
    party: str
    party_label: str
    amount_fen: int


class MarketDashboard(BaseModel):
    orders: int
    paid_fen: int
    refunded_fen: int
    settled_fen: int
    runs: int
    by_month: list[DashboardRow]  # oldest first
    by_scenario: list[DashboardRow]  # largest paid first
    by_party: list[PartyRow]  # largest first
    shares: list[ShareCell]  # by month, scenario, party


def _month(at: datetime) -> str:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return aware.astimezone(BEIJING).strftime("%Y-%m")


def scenario_label(code: str) -> str:
    return SCENARIOS.get(code, code)


def market_dashboard(session: Session, actor: Actor) -> MarketDashboard:
    """Orders, payments (net of refunds) and settled shares by month, scenario and party."""
    require(actor, Permission.MARKET_ORDER_READ_ANY)
    months: dict[str, DashboardRow] = {}
    scenarios: dict[str, DashboardRow] = {}

    def row(table: dict[str, DashboardRow], key: str, label: str) -> DashboardRow:
        if key not in table:
            table[key] = DashboardRow(key=key, label=label)
        return table[key]

    placed = session.execute(
        select(MarketOrder.created_at, MarketProduct.scenario).join(
            MarketProduct, MarketProduct.id == MarketOrder.product_id
        )
    ).all()
    for created_at, scenario in placed:
        row(months, _month(created_at), _month(created_at)).orders += 1
        row(scenarios, scenario, scenario_label(scenario)).orders += 1

    paid = session.execute(
        select(MarketBill.paid_at, MarketBill.amount_fen, MarketBill.refunded_fen, MarketProduct.scenario)
        .join(MarketProduct, MarketProduct.id == MarketBill.product_id)
        .where(MarketBill.state == "paid", MarketBill.paid_at.is_not(None), MarketBill.amount_fen > 0)
    ).all()
    paid_total = refunded_total = 0
    for paid_at, amount, refunded, scenario in paid:
        assert paid_at is not None  # selected so
        net = int(amount) - int(refunded)
        paid_total += net
        refunded_total += int(refunded)
        row(months, _month(paid_at), _month(paid_at)).paid_fen += net
        row(scenarios, scenario, scenario_label(scenario)).paid_fen += net

    settled = session.execute(
        select(
            MarketSettlementRun.month,
            MarketProduct.scenario,
            MarketSettlementShare.party,
            func.sum(MarketSettlementShare.amount_fen),
        )
        .join(MarketSettlementRun, MarketSettlementRun.id == MarketSettlementShare.run_id)
        .join(MarketProduct, MarketProduct.id == MarketSettlementShare.product_id)
        .group_by(MarketSettlementRun.month, MarketProduct.scenario, MarketSettlementShare.party)
        .order_by(MarketSettlementRun.month, MarketProduct.scenario, MarketSettlementShare.party)
    ).all()
    parties: dict[str, int] = defaultdict(int)
    shares = []
    for month, scenario, party, amount in settled:
        amount = int(amount or 0)
        row(months, month, month).settled_fen += amount
        row(scenarios, scenario, scenario_label(scenario)).settled_fen += amount
        parties[party] += amount
        shares.append(ShareCell(
            month=month, scenario=scenario, scenario_label=scenario_label(scenario), party=party,
            party_label=distribution.party_label(party), amount_fen=amount,
        ))  # fmt: skip
    runs = int(session.scalar(select(func.count()).select_from(MarketSettlementRun)) or 0)
    return MarketDashboard(
        orders=len(placed),
        paid_fen=paid_total,
        refunded_fen=refunded_total,
        settled_fen=sum(parties.values()),
        runs=runs,
        by_month=[months[k] for k in sorted(months)],
        by_scenario=sorted(scenarios.values(), key=lambda r: (-r.paid_fen, -r.settled_fen, -r.orders, r.key)),
        by_party=sorted(
            (PartyRow(party=p, label=distribution.party_label(p), amount_fen=a) for p, a in parties.items()),
            key=lambda r: (-r.amount_fen, r.party),
        ),
        shares=shares,
    )

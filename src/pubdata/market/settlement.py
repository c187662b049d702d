"""Metering and the monthly settlement (issue 13 §4).

``settle_month(month)`` (the operator's finance staff, once per month, after it is over):

1. **Metering.** Every metered entitlement (per-call, tiered and free plans) that was in force during
   the month gets a usage bill: its calls and rows are counted from the audit trail
   (``audit.grant_usage``: the allowed reads carrying its grant — the same records the regulator
   sees) and priced by ``plans.charge`` into lines with charge types (trial, free quota, variable,
   cap reached). A bill above zero is a sale: the buyer's ``receivable`` is debited, the market's
   ``clearing`` credited; the buyer pays it like an order's bill.
2. **Distribution.** Every bill not yet settled — this month's usage bills and the order bills paid
   before the month's end, net of refunds — is split by its product's distribution rule
   (``distribution``; the product's own or the city's default), bill by bill (单笔收入累进), and
   posted per product as one entry ``settlement:<month>:<product>``: ``clearing`` debited, each
   party's account credited — the publishing department's and the provider's ``payable``, the
   market's ``revenue`` for the operator (and for a product the operator provides), a trust's
   clearing account for a ``trust:<code>`` party, which is then paid out at once through
   ``trusts.distribute`` (gross → the trustee's fee → the beneficiaries pro rata).
3. The run is recorded with each party's share per product; a month is settled once
   (``market.already_settled``), never before it is over, and everything above is one transaction:
   refused whole or done whole."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.assets.trusts import service as trusts
from pubdata.audit import service as audit
from pubdata.authz import SYSTEM, Actor, Permission, require
from pubdata.catalog import service as catalog
from pubdata.db import utcnow
from pubdata.ledger import service as ledger
from pubdata.ledger.schemas import Posting
from pubdata.market import distribution, orders, plans
from pubdata.market.errors import AlreadySettled, InvalidSettlement, SettlementNotFound
from pubdata.market.models import (
    MarketBill,
    MarketEntitlement,
    MarketPricePlan,
    MarketProduct,
    MarketSettlementRun,
    MarketSettlementShare,
)
from pubdata.market.order_schemas import SettlementRead, ShareRead
from pubdata.market.orders import month_bounds, today
from pubdata.settings import get_settings

METERED = ("per_call", "tiered", "free")
SALE_CHUNK = 999  # buyers per usage sale entry (an entry has at most 1000 lines)
MONTH = re.compile(r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$")  # 1900–2999
ACTIONS = ("market.settle",)


def rule_of(product: MarketProduct) -> distribution.Rule:
    return distribution.parse(product.distribution or get_settings().market_distribution)


def _check_month(month: str) -> tuple[date, date]:
    if not isinstance(month, str) or not MONTH.match(month):
        raise InvalidSettlement(f"结算月份须写成 YYYY-MM：{month!r}", field="month")
    first = date(int(month[:4]), int(month[5:7]), 1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    if nxt > today():
        raise InvalidSettlement(f"{month} 尚未结束，不能结算（最早可于 {nxt} 结算）", field="month")
    return first, nxt - timedelta(days=1)


def _meter(session: Session, actor: Actor, run: MarketSettlementRun, first: date, last: date) -> list[dict[str, Any]]:
    """This month's usage bills of the metered entitlements in force during it (inserted together,
    settled by this run), and their sales posted: one entry per thousand buyers, each buyer's
    ``receivable`` debited with the sum of its bills, the market's ``clearing`` credited."""
    month = run.month
    rows = session.execute(
        select(MarketEntitlement.id, MarketEntitlement.grant_id, MarketEntitlement.product_id,
               MarketEntitlement.buyer_org_id, MarketEntitlement.order_id, MarketPricePlan)
        .join(MarketPricePlan, MarketPricePlan.id == MarketEntitlement.plan_id)
        .where(
            MarketPricePlan.kind.in_(METERED),
            MarketEntitlement.grant_id.is_not(None),
            MarketEntitlement.starts_on <= last,
            MarketEntitlement.ends_on >= first,
        )
        .order_by(MarketEntitlement.id)
    ).all()  # fmt: skip
    start, end = month_bounds(month)
    used = audit.grant_usage(session, [r.grant_id for r in rows], start, end)
    bills: list[dict[str, Any]] = []
    for ent_id, grant_id, product_id, buyer, order_id, plan in rows:
        calls, read_rows = used.get(grant_id or 0, (0, 0))
        charges = plans.charge(plan, calls)
        amount = plans.owed(charges)
        bills.append({
            "code": f"ZD{month.replace('-', '')}U{ent_id:08d}", "kind": "usage", "order_id": order_id,
            "entitlement_id": ent_id, "month": month, "product_id": product_id, "buyer_org_id": buyer,
            "amount_fen": amount, "refunded_fen": 0, "calls": calls, "rows": read_rows,
            "lines": [{"charge_type": ln.charge_type, "quantity": ln.quantity, "unit_price_fen": ln.unit_price_fen,
                       "amount_fen": ln.amount_fen, "description": ln.description, "tier": ln.tier} for ln in charges],
            "state": "unpaid" if amount > 0 else "paid", "issued_at": utcnow(), "settlement_run_id": run.id,
        })  # fmt: skip
    if bills:
        session.execute(insert(MarketBill), bills)
    owed: dict[int, int] = defaultdict(int)
    for bill in bills:
        if bill["amount_fen"] > 0:
            owed[bill["buyer_org_id"]] += bill["amount_fen"]
    receivable = ledger.accounts_for(session, actor, owed, "receivable")
    clearing = ledger.account_for(session, actor, None, "clearing").code
    buyers = sorted(owed)
    for n, i in enumerate(range(0, len(buyers), SALE_CHUNK), 1):
        chunk = buyers[i : i + SALE_CHUNK]
        sale: list[Any] = [(receivable[b], owed[b]) for b in chunk]
        sale.append((clearing, -sum(owed[b] for b in chunk)))
        ledger.post(session, actor, Posting(f"usage:{month}:{n}", "sale", sale, memo=f"{month} 用量计费（第 {n} 批）"))
    return bills


def _order_bills(session: Session, run: MarketSettlementRun) -> list[tuple[int, int]]:
    """The order bills paid before the month's end and not yet settled, marked settled by this run:
    (product, net of refunds) each."""
    _, end = month_bounds(run.month)
    due = (
        (MarketBill.settlement_run_id.is_(None)) & (MarketBill.kind == "order") & (MarketBill.state == "paid")
        & (MarketBill.paid_at < end)
    )  # fmt: skip
    found = session.execute(select(MarketBill.product_id, MarketBill.amount_fen - MarketBill.refunded_fen).where(due))
    out = [(int(p), int(net)) for p, net in found]
    session.execute(update(MarketBill).where(due).values(settlement_run_id=run.id))
    return out


def _accounts(
    session: Session, actor: Actor, product: MarketProduct, department_org: int, parties: Sequence[str]
) -> dict[str, tuple[str, int | None]]:
    """Each party's account code (and organisation) for one product."""
    out: dict[str, tuple[str, int | None]] = {}
    for party in parties:
        if party == "operator" or (party == "provider" and product.basis == "operator"):
            out[party] = (ledger.account_for(session, actor, None, "revenue").code, None)
        elif party == "provider":
            out[party] = (ledger.account_for(session, actor, product.provider_org_id, "payable").code,
                          product.provider_org_id)  # fmt: skip
        elif party == "department":
            out[party] = (ledger.account_for(session, actor, department_org, "payable").code, department_org)
        else:
            code = party.removeprefix(distribution.TRUST_PREFIX)
            trust_id = trusts.active_by_code(session, code)
            if trust_id is None:
                raise InvalidSettlement(
                    f"产品 {product.code} 的收益分配规则指向的数据信托 {code} 不存在或不在存续期，请先修正规则再结算"
                )
            out[party] = (trusts.clearing_code(trust_id), None)
    return out


def settle_month(session: Session, actor: Actor, month: str) -> SettlementRead:
    """Meter, bill and distribute one month (see the module's docstring). ``AlreadySettled`` for a
    month settled before; ``InvalidSettlement`` for a month not over or a rule that cannot be paid."""
    return _settle(session, actor, month)


@audit.refusals_audited("market.settle", "month")
def _settle_audited(session: Session, actor: Actor, month: str) -> MarketSettlementRun:
    require(actor, Permission.MARKET_SETTLE)
    first, last = _check_month(month)
    if session.scalar(select(MarketSettlementRun.id).where(MarketSettlementRun.month == month)) is not None:
        raise AlreadySettled(f"{month} 已结算，不能重复结算")
    run = MarketSettlementRun(month=month, run_by=actor.user_id)
    session.add(run)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise AlreadySettled(f"{month} 已结算，不能重复结算") from None
    orders.end_expired(session, actor)  # entitlements whose term is over are marked ended (their grants lapsed)
    usage = _meter(session, actor, run, first, last)
    settled = [(b["product_id"], b["amount_fen"]) for b in usage] + _order_bills(session, run)
    products = orders.rows_by_id(session, MarketProduct, {p for p, _ in settled})
    rules = {pid: rule_of(p) for pid, p in products.items()}
    per_product: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    amounts: dict[int, list[int]] = defaultdict(list)
    for product_id, net in settled:
        if net > 0:
            amounts[product_id].append(net)
    for product_id, nets in amounts.items():  # each bill split by its product's rule
        for parts in distribution.split_many(rules[product_id], nets):
            for party, amount in parts.items():
                per_product[product_id][party] += amount
    gross = 0
    for product_id, parts in sorted(per_product.items()):
        product = products[product_id]
        total = sum(parts.values())
        gross += total
        department = catalog.get_entry(session, SYSTEM, product.entry_id).organisation_id
        accounts = _accounts(session, actor, product, department, list(parts))
        credit: dict[str, int] = defaultdict(int)
        for party, amount in parts.items():
            credit[accounts[party][0]] += amount
            if amount:
                session.add(MarketSettlementShare(
                    run_id=run.id, product_id=product.id, party=party, organisation_id=accounts[party][1],
                    account_code=accounts[party][0], amount_fen=amount,
                ))  # fmt: skip
        lines: list[Any] = [(ledger.account_for(session, actor, None, "clearing").code, total)]
        lines += [(code, -amount) for code, amount in credit.items() if amount]
        reference = f"settlement:{month}:{product.code}"
        ledger.post(session, actor, Posting(reference, "settlement", lines, memo=f"{month} 结算 {product.title}"))
        for party, amount in parts.items():
            if party.startswith(distribution.TRUST_PREFIX) and amount > 0:
                trust_id = trusts.active_by_code(session, party.removeprefix(distribution.TRUST_PREFIX))
                assert trust_id is not None
                trusts.distribute(session, actor, trust_id, amount, f"{reference}:{party}")
    run.gross_fen, run.usage_bills = gross, len(usage)
    session.flush()
    audit.record(session, actor, audit.Event("market.settle", details={
        "month": month, "run": run.id, "gross_fen": gross, "usage_bills": len(usage), "bills": len(settled),
    }))  # fmt: skip
    return run


def _settle(session: Session, actor: Actor, month: str) -> SettlementRead:
    return _run_read(session, _settle_audited(session, actor, month))


def _run_read(session: Session, run: MarketSettlementRun) -> SettlementRead:
    shares = list(session.scalars(select(MarketSettlementShare).where(MarketSettlementShare.run_id == run.id)
                                  .order_by(MarketSettlementShare.product_id, MarketSettlementShare.id)))  # fmt: skip
    products = orders.rows_by_id(session, MarketProduct, {s.product_id for s in shares})
    return SettlementRead(
        id=run.id, month=run.month, gross_fen=run.gross_fen, usage_bills=run.usage_bills, run_at=run.run_at,
        shares=[ShareRead(
            product_id=s.product_id, product_title=products[s.product_id].title,
            scenario=products[s.product_id].scenario, party=s.party, party_label=distribution.party_label(s.party),
            organisation_id=s.organisation_id, account_code=s.account_code, amount_fen=s.amount_fen,
        ) for s in shares],
    )  # fmt: skip


def list_runs(session: Session, actor: Actor) -> list[SettlementRead]:
    """Every settlement run, newest first (the finance staff and oversight)."""
    require(actor, Permission.MARKET_ORDER_READ_ANY)
    runs = session.scalars(select(MarketSettlementRun).order_by(MarketSettlementRun.month.desc()).limit(120))
    return [_run_read(session, r) for r in runs]


def get_run(session: Session, actor: Actor, month: str) -> SettlementRead:
    require(actor, Permission.MARKET_ORDER_READ_ANY)
    run = session.scalar(select(MarketSettlementRun).where(MarketSettlementRun.month == month))
    if run is None:
        raise SettlementNotFound(f"{month} 尚未结算")
    return _run_read(session, run)

"""The monthly settlement: a month of N metered calls (10 million by default) over E entitlements
(10,000) metered from the audit trail, billed per plan, split by the city's distribution rule and
posted to the ledger by pubdata (``market.settlement.settle_month``), next to the same totals computed
by hand-written DuckDB SQL reading the same tables of the same database (DuckDB's sqlite_scanner or
postgres_scanner extension, from the ``duckdb-extension-*`` wheels: nothing is downloaded), in the
same run; the totals must be identical.

    python benchmarks/settlement.py [--calls 10000000] [--entitlements 10000] [--repeat 2] [--database-url URL]

``ratio`` = baseline seconds ÷ pubdata seconds (higher is better; target ≥ 0.67, i.e. pubdata within
1.5× of the hand-written SQL), best of ``--repeat`` alternating runs, both warm (each source table is
read once, untimed, before the first timed run). pubdata's run writes everything a real settlement
writes (usage bills with their charge lines, the buyers' accounts, the sales and settlement entries,
the parties' shares, the run and its audit records) and is rolled back after each timed run so that
the month can be settled again; the baseline only computes the totals.

The world: 4 products of the operator over one conditionally open table — three per-call plans (unit
price, monthly free quota, monthly cap) and one tiered plan (1–1,000 calls at 10 分, 1,001–5,000 at
8 分, beyond at 5 分, capped) — E entitlements held by E ÷ 5 buyer organisations, bought through
the services for the first few and inserted in bulk for the rest; then N audit records of reads in
the month (skewed: a tenth of the entitlements make half of the calls, so caps are reached), plus
noise the metering must ignore: 2 % refused reads, 1 % reads the month before, grant-issue records.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import tempfile
import time
from datetime import date, timedelta

import duckdb
from common import fresh_platform

BENCH_SCHEMA = "pubdata_bench_settlement"
MONTH = "2026-10"  # a month that is over (the benchmark runs later; the clock is not moved)
PLANS = (  # (code, kind, unit price, free quota, monthly cap)
    ("per-call-a", "per_call", 50, 100, 200_000),
    ("per-call-b", "per_call", 20, 1_000, 50_000),
    ("per-call-c", "per_call", 5, 0, None),
)
TIERS = [
    {"up_to": 1000, "unit_price_fen": 10},
    {"up_to": 5000, "unit_price_fen": 8},
    {"up_to": None, "unit_price_fen": 5},
]
TIER_CAP = 100_000


def extension(name: str) -> str:
    """The path of a DuckDB extension shipped in its PyPI wheel (``duckdb-extension-<name>``)."""
    module = __import__(f"duckdb_extension_{name}")
    return str(next(pathlib.Path(module.__file__).parent.rglob(f"{name}.duckdb_extension")))


def attach(
    con: duckdb.DuckDBPyConnection, database_url: str | None, home: pathlib.Path, *, writing: bool = False
) -> None:
    """The platform's database as ``db`` in DuckDB. ``writing``: SQLite columns are taken as text,
    so that an instant is stored exactly as the platform writes it ('YYYY-MM-DD HH:MM:SS.ffffff');
    DuckDB's own timestamp text drops a zero fraction, and SQLite compares instants as text."""
    if database_url and database_url.startswith("postgres"):
        con.execute(f"LOAD '{extension('postgres_scanner')}'")
        dsn = database_url.split("?")[0].replace("postgresql+psycopg://", "postgresql://")
        con.execute(f"ATTACH '{dsn}' AS db (TYPE postgres, SCHEMA '{BENCH_SCHEMA}')")
    else:
        con.execute(f"LOAD '{extension('sqlite_scanner')}'")
        con.execute(f"SET sqlite_all_varchar = {str(writing).lower()}")
        con.execute(f"ATTACH '{home / 'pubdata.sqlite3'}' AS db (TYPE sqlite)")


def month_bounds() -> tuple[str, str, date, date]:
    """The month's bounds as the platform stores instants (UTC text on SQLite) and as Beijing dates."""
    first = date(int(MONTH[:4]), int(MONTH[5:]), 1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    # Beijing midnight is 16:00 UTC the day before
    start = f"{first - timedelta(days=1)} 16:00:00.000000"
    end = f"{nxt - timedelta(days=1)} 16:00:00.000000"
    return start, end, first, nxt - timedelta(days=1)


def build(entitlements: int) -> dict[str, object]:
    """Organisations, the table, the products and their plans through the services; the buyers,
    orders, grants and entitlements in bulk. Returns what the audit generator needs."""
    from sqlalchemy import func, insert, select

    from pubdata.access.models import AccessGrant, AccessRequest
    from pubdata.authz import SYSTEM
    from pubdata.catalog import service as catalog
    from pubdata.catalog.schemas import EntryCreate
    from pubdata.db import session_scope
    from pubdata.identity import service as identity
    from pubdata.identity.models import Organisation
    from pubdata.identity.schemas import OrganisationCreate, UserCreate
    from pubdata.market import service as market
    from pubdata.market.models import MarketEntitlement, MarketOrder, MarketPricePlan, MarketProduct
    from pubdata.market.schemas import ContractIn, PlanIn, ProductIn, ReviewIn
    from pubdata.store import service as store
    from pubdata.store.schemas import TableCreate

    _, _, first, last = month_bounds()
    with session_scope() as s:

        def org(code: str, kind: str) -> int:
            return identity.create_organisation(
                s, SYSTEM, OrganisationCreate(code=code, name=f"基准{code}", kind=kind)
            ).id

        def user(name: str, org_code: str, role: str):  # noqa: ANN202
            data = UserCreate(username=name, display_name=name, password="Bench-pass-2026!",
                              organisation_code=org_code, roles=[role])  # fmt: skip
            made = identity.create_user(s, SYSTEM, data)
            return identity.actor_for(made, via="cli")

        org("bench-dept", "department")
        org("bench-op", "operator")
        org("bench-op2", "operator")
        dept, operator, reviewer = user("bdept", "bench-dept", "department"), user("bop", "bench-op", "operator"), user(
            "brev", "bench-op2", "operator")  # fmt: skip
        entry = catalog.create_entry(s, dept, EntryCreate(
            code="BENCH-TAX", title="企业纳税信用等级", description="基准", category="business",
            open_type="conditional", tags=["基准"],
            fields=[{"name": "uscc", "label": "代码", "type": "string"}]))  # fmt: skip
        table = store.create_table(s, dept, entry.code, TableCreate(name="纳税信用", schema={"fields": [
            {"name": "uscc", "type": "string"}, {"name": "tax_credit_grade", "type": "string"}]}))  # fmt: skip
        products = []
        for i, (code, kind, unit, quota, cap) in enumerate(PLANS + (("tiered", "tiered", None, None, TIER_CAP),)):
            p = market.create_product(
                s,
                operator,
                ProductIn(
                    code=f"bench-{code}",
                    kind="verification",
                    title=f"纳税信用核验 {i}",
                    scenario="commerce",
                    resource_id=table.resource_id,
                    contract=ContractIn(key_field="uscc", predicate="tax_credit_grade = 'A'"),
                ),
            )
            if kind == "tiered":
                market.add_plan(
                    s, operator, p.id, PlanIn(code=code, title=code, kind="tiered", tiers=TIERS, monthly_cap_fen=cap)
                )
            else:
                market.add_plan(
                    s,
                    operator,
                    p.id,
                    PlanIn(
                        code=code,
                        title=code,
                        kind="per_call",
                        unit_price_fen=unit,
                        free_quota=quota,
                        monthly_cap_fen=cap,
                    ),
                )
            market.submit(s, operator, p.id)
            market.review(s, reviewer, p.id, ReviewIn(action="approve"))
            s.get(MarketProduct, p.id).notice_until = first - timedelta(days=30)
            market.list_product(s, reviewer, p.id)
            products.append(p.id)  # fmt: skip
        plan_of = {
            pid: s.scalar(select(MarketPricePlan.id).where(MarketPricePlan.product_id == pid)) for pid in products
        }
        buyers = max(1, entitlements // len(products))
        base = s.scalar(select(func.max(Organisation.id))) or 0
        s.execute(insert(Organisation), [{"code": f"bench-buyer-{i}", "name": f"基准买方{i}", "kind": "enterprise"}
                                         for i in range(buyers)])  # fmt: skip
        buyer_ids = [base + 1 + i for i in range(buyers)]
        assert s.scalar(select(func.count()).where(Organisation.id.in_(buyer_ids[:1] + buyer_ids[-1:]))) == min(
            2, buyers
        )
        rows = [(buyer_ids[i % buyers], products[i // buyers % len(products)]) for i in range(entitlements)]
        period = {"period_start": first - timedelta(days=40), "period_end": last + timedelta(days=300)}
        s.execute(insert(AccessRequest), [{
            "entry_id": entry.id, "resource_id": table.resource_id, "publisher_org_id": entry.organisation_id,
            "consumer_org_id": b, "requested_by": operator.user_id, "scenario": "基准", "purpose": "基准",
            "fields": ["uscc"], "masks": {}, "mode": "verify", "state": "granted", **period}
            for b, _ in rows])  # fmt: skip
        request_ids = list(s.scalars(select(AccessRequest.id).order_by(AccessRequest.id)))[-entitlements:]
        s.execute(insert(AccessGrant), [{
            "request_id": r, "entry_id": entry.id, "resource_id": table.resource_id,
            "publisher_org_id": entry.organisation_id, "consumer_org_id": b, "fields": ["uscc"], "masks": {},
            "purpose": "基准", "valid_from": period["period_start"], "valid_to": period["period_end"],
            "daily_call_quota": 10**9, "rate_per_minute": 10**6, "mode": "verify", "origin": "market",
            "privacy_spent": 0.0, "state": "active"} for r, (b, _) in zip(request_ids, rows, strict=True)])  # fmt: skip
        grant_ids = list(s.scalars(select(AccessGrant.id).order_by(AccessGrant.id)))[-entitlements:]
        s.execute(insert(MarketOrder), [{
            "code": f"BENCH{i:08d}", "product_id": p, "plan_id": plan_of[p], "product_version": 2, "buyer_org_id": b,
            "buyer_name": f"基准买方{b}", "declared_use": "基准", "state": "active", "amount_fen": 0, "months": 12}
            for i, (b, p) in enumerate(rows)])  # fmt: skip
        order_ids = list(s.scalars(select(MarketOrder.id).order_by(MarketOrder.id)))[-entitlements:]
        s.execute(insert(MarketEntitlement), [{
            "order_id": o, "product_id": p, "plan_id": plan_of[p], "buyer_org_id": b, "grant_id": g,
            "starts_on": period["period_start"], "ends_on": period["period_end"], "state": "active"}
            for o, g, (b, p) in zip(order_ids, grant_ids, rows, strict=True)])  # fmt: skip
        finance_org = org("bench-fin", "operator")
        finance = user("bfin", "bench-fin", "finance")
        assert finance_org
    return {"grants": grant_ids, "finance_user": finance.user_id}


def generate_audit(con: duckdb.DuckDBPyConnection, calls: int, grants: list[int]) -> None:
    """N reads in the month under the grants (a tenth of them making half the calls) and the noise."""
    start, _, first, last = month_bounds()
    seconds = ((last - first).days + 1) * 86400 - 1
    con.execute("CREATE TEMP TABLE g AS SELECT unnest(?) AS grant_id, generate_subscripts(?, 1) - 1 AS k",
                [grants, grants])  # fmt: skip
    n = len(grants)
    heavy = max(1, n // 10)
    base = con.execute("SELECT coalesce(max(CAST(seq AS BIGINT)), 0) FROM db.audit_record").fetchone()[0]
    con.execute(f"""
        INSERT INTO db.audit_record
            (seq, "at", action, result, reason, actor_name, via, grant_id, rows, prev_hash, hash)
        SELECT {base} + i + 1,
               strftime(TIMESTAMP '{start[:19]}' + to_seconds(CASE WHEN i % 100 = 7 THEN -86400
                                                                   WHEN i % 997 = 1 THEN 0  -- on the boundary
                                                                   ELSE CAST(hash(i, 't') % {seconds} AS BIGINT) END),
                        '%Y-%m-%d %H:%M:%S.000000'),
               CASE WHEN i % 211 = 5 THEN 'access.market_grant' ELSE 'market.verify' END,
               CASE WHEN i % 50 = 3 THEN 'refused' ELSE 'allowed' END,
               '', 'bench', 'token', g.grant_id, 0, '', md5(CAST({base} + i + 1 AS VARCHAR))
        FROM range({calls}) t(i)
        JOIN g ON g.k = CASE WHEN i % 2 = 0 THEN hash(i, 'h') % {heavy} ELSE hash(i, 'a') % {n} END
    """)  # fmt: skip


def baseline_sql(entitled: str) -> str:
    """The month's totals by hand: calls per grant, the plan's price, the default rule's split."""
    start, end, first, last = month_bounds()
    return f"""
    WITH used AS (
        SELECT grant_id, count(*) AS calls FROM db.audit_record
        WHERE result = 'allowed' AND "at" >= '{start}' AND "at" < '{end}' AND grant_id IS NOT NULL
          AND action NOT LIKE 'access.%'
        GROUP BY grant_id),
    bill AS (
        SELECT e.id, p.kind, coalesce(u.calls, 0) AS calls, p.unit_price_fen AS unit, p.free_quota AS quota,
               p.monthly_cap_fen AS cap
        FROM {entitled} e JOIN db.market_price_plan p ON p.id = e.plan_id
        LEFT JOIN used u ON u.grant_id = e.grant_id
        WHERE e.starts_on <= DATE '{last}' AND e.ends_on >= DATE '{first}'),
    priced AS (
        SELECT id, calls, CASE kind
            WHEN 'per_call' THEN greatest(calls - quota, 0) * unit
            ELSE least(calls, 1000) * 10 + greatest(least(calls, 5000) - 1000, 0) * 8 + greatest(calls - 5000, 0) * 5
        END AS variable, cap FROM bill),
    owed AS (
        SELECT id, calls, CASE WHEN cap IS NOT NULL AND variable > cap THEN cap ELSE variable END AS a
        FROM priced),
    split AS (
        SELECT a, least(a, 1000000) AS lo, a - least(a, 1000000) AS hi FROM owed WHERE a > 0),
    parts AS (
        SELECT a, (lo * 3 + hi * 5) // 10 AS dept FROM split)
    SELECT (SELECT count(*) FROM owed), (SELECT sum(calls) FROM owed), sum(a), sum(dept), sum(a - dept)
    FROM parts
    """


def ours(session_scope, finance_user: int) -> tuple[float, tuple[int, ...]]:  # noqa: ANN001
    from sqlalchemy import func, select

    from pubdata.identity import service as identity
    from pubdata.identity.models import User
    from pubdata.market import settlement
    from pubdata.market.models import MarketBill

    with session_scope() as s:
        actor = identity.actor_for(s.get(User, finance_user), via="cli")
        t0 = time.perf_counter()
        run = settlement.settle_month(s, actor, MONTH)
        s.flush()
        elapsed = time.perf_counter() - t0
        bills, calls = s.execute(
            select(func.count(), func.sum(MarketBill.calls)).where(MarketBill.month == MONTH)
        ).one()
        dept = sum(x.amount_fen for x in run.shares if x.party == "department")
        result = (int(bills), int(calls or 0), run.gross_fen, dept, run.gross_fen - dept)
        s.rollback()  # the month can be settled again in the next round
    return elapsed, result


def explain(con: duckdb.DuckDBPyConnection, session_scope) -> None:  # noqa: ANN001
    """Where the two meterings differ, grant by grant (printed before the run fails)."""
    from pubdata.audit import service as audit
    from pubdata.market.orders import month_bounds as bounds

    start, end, _, _ = month_bounds()
    peer = dict(con.execute(f"""
        SELECT grant_id, count(*) FROM db.audit_record
        WHERE result = 'allowed' AND "at" >= '{start}' AND "at" < '{end}' AND grant_id IS NOT NULL
          AND action NOT LIKE 'access.%' GROUP BY grant_id""").fetchall())  # fmt: skip
    with session_scope() as s:
        ours_used = audit.grant_usage(s, list(peer), *bounds(MONTH))
    diff = {g: (ours_used.get(g, (0, 0))[0], n) for g, n in peer.items() if ours_used.get(g, (0, 0))[0] != n}
    print(f"grants metered differently (pubdata, SQL): {dict(list(diff.items())[:10])}")
    for g in list(diff)[:3]:
        rows = con.execute(f'SELECT seq, "at", action, result FROM db.audit_record WHERE grant_id = {g} '
                           'ORDER BY "at" LIMIT 3').fetchall()  # fmt: skip
        print(g, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--entitlements", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("PUBDATA_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_platform(pathlib.Path(tmp), args.database_url, BENCH_SCHEMA) as home,
    ):
        from pubdata.db import get_engine, session_scope

        t0 = time.perf_counter()
        world = build(args.entitlements)
        get_engine().dispose()  # DuckDB writes the audit records through its own connection
        con = duckdb.connect()
        attach(con, args.database_url, home, writing=True)
        generate_audit(con, args.calls, world["grants"])  # type: ignore[arg-type]
        con.execute("UPDATE db.audit_head SET length = (SELECT max(CAST(seq AS BIGINT)) FROM db.audit_record)")
        con.execute("DETACH db")
        if args.database_url:  # statistics, as autovacuum keeps them over a month of appends: a table
            # filled by one statement has none yet, and PostgreSQL would plan the metering for 26 rows
            with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE audit_record")
        built = time.perf_counter() - t0
        print(f"world built: {args.entitlements:,} entitlements, {args.calls:,} audit records in {built:.1f} s")

        attach(con, args.database_url, home)
        entitled = "db.market_entitlement"
        con.execute("SELECT count(*) FROM db.audit_record").fetchone()  # warm: both read the same files
        con.execute(baseline_sql(entitled)).fetchone()
        best_ours = best_base = float("inf")
        expected = None
        for _ in range(args.repeat):
            t = time.perf_counter()
            base = tuple(int(x or 0) for x in con.execute(baseline_sql(entitled)).fetchone())
            best_base = min(best_base, time.perf_counter() - t)
            elapsed, result = ours(session_scope, world["finance_user"])  # type: ignore[arg-type]
            best_ours = min(best_ours, elapsed)
            if result != base:
                explain(con, session_scope)
            assert result == base, f"totals differ: pubdata {result} vs hand-written SQL {base}"
            expected = base
        con.close()
    assert expected is not None
    bills, calls, gross, dept, operator = expected
    print(f"identical totals: {bills:,} usage bills, {calls:,} calls metered, {gross:,} 分 billed "
          f"(department {dept:,}, operator {operator:,})")  # fmt: skip
    print(f"hand-written DuckDB SQL: {best_base:.3f} s   pubdata settle_month: {best_ours:.3f} s   "
          f"ratio {best_base / best_ours:.3f}")  # fmt: skip
    print(json.dumps({
        "benchmark": "settlement", "calls": args.calls, "entitlements": args.entitlements,
        "database": "postgresql" if (args.database_url or "").startswith("postgres") else "sqlite",
        "pubdata_s": round(best_ours, 3), "baseline_s": round(best_base, 3), "ratio": round(best_base / best_ours, 3),
        "usage_bills": bills, "calls_metered": calls, "gross_fen": gross, "identical": True,
    }, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()

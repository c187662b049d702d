"""A server killed (SIGKILL) in the middle of a month's settlement (SQLite, or PostgreSQL when
PUBDATA_TEST_DATABASE_URL is set): the month stays unsettled — no run, no bill, no ledger entry of
it — the ledger still balances; settling again through a new server settles it exactly once, with
every metered call billed once, and a third request is refused as already settled.

The world is benchmarks/settlement.py's (4 metered products, entitlements in bulk, a month of reads
in the audit trail), large enough that metering takes a while; the kill is sent once the server's SQL
log shows the settlement run's row written (uncommitted), i.e. while the settlement is running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from pubdata.audit import service as audit
from pubdata.db import make_engine, session_scope
from pubdata.identity.models import User
from pubdata.ledger import service as ledger
from pubdata.ledger.models import LedgerEntry
from pubdata.market.models import MarketBill, MarketSettlementRun, MarketSettlementShare
from pubdata.market.orders import month_bounds
from tests.conftest import database_url
from tests.reliability.processes import serve, token_for, wait_for

WORLD = Path(__file__).with_name("settlement_world.py")
STARTED = "INSERT INTO market_settlement_run"


def _world(
    tmp_path: Path, name: str = "settle_kill", *, entitlements: int = 200, calls: int = 100_000
) -> tuple[Path, str, dict[str, Any]]:
    """settlement_world.py's world in a home under ``tmp_path`` and a database of the configured kind
    (``name``: its PostgreSQL schema): the home, the database URL and the world. On SQLite the
    database is the home's ``pubdata.sqlite3``, where the builder's DuckDB attaches it."""
    home = tmp_path / "home"
    home.mkdir()
    if os.environ.get("PUBDATA_TEST_DATABASE_URL"):
        url = database_url(tmp_path, name)
        schema = [url.split("csearch_path%3D")[1]]
    else:
        url, schema = f"sqlite:///{home / 'pubdata.sqlite3'}", []
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBDATA_")}
    env.update(PUBDATA_HOME=str(home), PUBDATA_DATABASE_URL=url)
    made = subprocess.run([sys.executable, str(WORLD), str(entitlements), str(calls), *schema], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    return home, url, json.loads(made.stdout.strip().splitlines()[-1])


def _settle(base: str, token: str, month: str, out: list[Any]) -> None:
    try:
        r = httpx.post(f"{base}/api/v1/market/settlements", json={"month": month},
                       headers={"Authorization": f"Bearer {token}"}, timeout=300)  # fmt: skip
        out.append(r.status_code)
    except httpx.HTTPError as exc:
        out.append(exc)


def test_a_settlement_killed_midway_leaves_the_month_unsettled_and_settles_once_after(tmp_path: Path) -> None:
    home, url, world = _world(tmp_path)
    month = world["month"]
    engine = make_engine(url)
    with session_scope(engine) as s:
        finance = s.get(User, world["finance_user"])
        assert finance is not None
        username = finance.username
        lines_before = s.scalar(select(func.count()).select_from(LedgerEntry))

    token = token_for(engine, username)
    log = tmp_path / "server.log"
    with serve(home, url, log, sql_echo="true") as server:
        answer: list[Any] = []
        request = threading.Thread(target=_settle, args=(server.url, token, month, answer))
        request.start()
        wait_for(lambda: STARTED in server.said() or answer, 120, "the settlement to start")
        server.kill()
        request.join(60)
    assert answer and isinstance(answer[0], httpx.HTTPError), f"the settlement ended before the kill: {answer}"

    with session_scope(engine) as s:  # nothing of the month was kept
        assert s.scalar(select(func.count()).select_from(MarketSettlementRun)) == 0
        assert s.scalar(select(func.count()).select_from(MarketBill).where(MarketBill.month == month)) == 0
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == lines_before
        assert ledger.check_balanced(s) == 0 and ledger.unbalanced_entries(s) == []

    with serve(home, url, tmp_path / "server2.log") as server:
        headers = {"Authorization": f"Bearer {token}"}
        first = httpx.post(f"{server.url}/api/v1/market/settlements", json={"month": month}, headers=headers,
                           timeout=300)  # fmt: skip
        again = httpx.post(f"{server.url}/api/v1/market/settlements", json={"month": month}, headers=headers,
                           timeout=300)  # fmt: skip
    assert first.status_code == 201, first.text
    assert again.status_code == 409 and again.json()["error"]["code"] == "market.already_settled", again.text

    with session_scope(engine) as s:  # settled exactly once
        assert s.scalar(select(func.count()).select_from(MarketSettlementRun)) == 1
        bills = s.execute(select(MarketBill.entitlement_id, MarketBill.calls).where(MarketBill.month == month)).all()
        assert len(bills) == len({b.entitlement_id for b in bills}) == len(world["grants"])  # one per entitlement
        used = audit.grant_usage(s, world["grants"], *month_bounds(month))
        assert sum(b.calls for b in bills) == sum(calls for calls, _ in used.values()) > 0
        run = s.scalar(select(MarketSettlementRun))
        assert run is not None
        shares = s.scalar(
            select(func.sum(MarketSettlementShare.amount_fen)).where(MarketSettlementShare.run_id == run.id)
        )
        assert shares == run.gross_fen > 0
        references = list(
            s.scalars(select(LedgerEntry.reference).where(LedgerEntry.reference.like(f"settlement:{month}:%")))
        )
        assert references and len(references) == len(set(references))
        assert ledger.check_balanced(s) == 0 and ledger.unbalanced_entries(s) == []
    engine.dispose()

"""Fuzzing under load: two ``pubdata serve --no-workers`` replicas of a demo city on PostgreSQL; while
benchmarks/load.py's locust clients run the mixed workload (every endpoint in turn, clients alternating
between the replicas) and 8 threads spend a grant's daily call quota through both replicas at once,
schemathesis (``st run``, its CLI) fuzzes every /api/v1 operation of one replica with an administrator's
token carrying every scope. Then it checks:

- no 5xx: schemathesis' ``not_a_server_error`` check, the load's failures (any answer but 200 is
  one), and no ``Traceback`` or `` 500 `` in either server's log;
- no deadlocks: PostgreSQL's ``pg_stat_database.deadlocks`` for the database did not grow, and no
  "deadlock" in the server logs;
- the quota exact: the grant (the demo bank's on tax credit grades) gets a daily quota of
  today's calls + Q (and no per-minute limit) first; of 3·Q calls exactly Q answer 200, the rest 429,
  and exactly Q allowed audit records carry the grant since the start.

It writes to the database it is given (the fuzzer creates, updates and deletes with an
administrator's token; the grant's quota is changed): run it on a disposable demo.

    pubdata demo --records 200000 --no-serve     # with PUBDATA_HOME and PUBDATA_DATABASE_URL set
    python tests/reliability/fuzz_under_load.py --home H --database-url postgresql://… \
        [--seconds 180] [--users 8] [--max-examples 10] [--quota 150]

Prints what it found and one JSON line; exits 1 when a check fails."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import load  # noqa: E402  (benchmarks/load.py)


def deadlocks(database_url: str) -> int:
    from sqlalchemy import text

    from pubdata.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = conn.scalar(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))
    engine.dispose()
    return int(found or 0)


def quota_grant(quota: int) -> tuple[int, str, str, int]:
    """The demo bank's grant on tax credit grades, its daily quota set to today's calls + ``quota`` and
    its per-minute rate lifted; (grant id, resource id, a bank token, the new daily quota)."""
    from sqlalchemy import select

    from pubdata.access.models import AccessGrant
    from pubdata.access.usage import usage_today
    from pubdata.authz import SYSTEM, Role, scopes_available_to
    from pubdata.catalog import service as catalog
    from pubdata.db import session_scope
    from pubdata.demo import records
    from pubdata.demo.catalogue import ANCHOR_CODES
    from pubdata.identity import service as identity

    with session_scope() as s:
        rid, _, _ = records.table_of(s, SYSTEM, catalog.get_entry(s, SYSTEM, ANCHOR_CODES["tax_credit"]).code)
        bank = identity.get_user(s, "bank")
        grant = s.scalars(
            select(AccessGrant).where(
                AccessGrant.resource_id == rid,
                AccessGrant.consumer_org_id == bank.organisation_id,
                AccessGrant.state == "active",
            )
        ).first()
        if grant is None:
            raise SystemExit("the demo bank has no active grant on tax credit grades: a demo with records is needed")
        grant.daily_call_quota = usage_today(s, grant.id)[0] + quota
        grant.rate_per_minute = None
        scopes = sorted(scopes_available_to(frozenset(Role(r) for r in bank.role_list)) - {"admin"})
        _, token = identity.create_token(s, SYSTEM, name="fuzz-quota", scopes=scopes, days=1, username="bank")
        return grant.id, rid, token, grant.daily_call_quota


def allowed_since(grant_id: int, since: datetime) -> int:
    from sqlalchemy import func, select

    from pubdata.audit.models import AuditRecord
    from pubdata.db import session_scope

    with session_scope() as s:
        return int(
            s.scalar(
                select(func.count()).where(
                    AuditRecord.grant_id == grant_id, AuditRecord.result == "allowed", AuditRecord.at >= since
                )
            )
            or 0
        )


def admin_token() -> str:
    from pubdata.authz import SYSTEM, Role, scopes_available_to
    from pubdata.db import session_scope
    from pubdata.identity import service as identity

    with session_scope() as s:
        admin = identity.get_user(s, "admin")
        scopes = sorted(scopes_available_to(frozenset(Role(r) for r in admin.role_list)))
        _, token = identity.create_token(s, SYSTEM, name="fuzz", scopes=scopes, days=1, username="admin")
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--database-url", default=os.environ.get("PUBDATA_DATABASE_URL"))
    parser.add_argument("--seconds", type=int, default=180, help="the load's duration (the fuzzer's time budget)")
    parser.add_argument("--users", type=int, default=8, help="locust clients of the load")
    parser.add_argument("--max-examples", type=int, default=10, help="schemathesis examples per operation")
    parser.add_argument("--quota", type=int, default=150, help="calls the grant may still make today")
    args = parser.parse_args()
    if not (args.database_url or "").startswith("postgres"):
        raise SystemExit("two replicas need PostgreSQL: --database-url postgresql://…")
    home = args.home.resolve()
    os.environ["PUBDATA_HOME"] = str(home)
    os.environ["PUBDATA_DATABASE_URL"] = args.database_url

    ids = load.prepare(home, [args.users])
    requests = load.requests_for(ids)
    grant_id, quota_rid, bank_token, quota = quota_grant(args.quota)
    fuzz_token = admin_token()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    deadlocks_before = deadlocks(args.database_url)
    report: dict[str, Any] = {"benchmark": "fuzz_under_load", "seconds": args.seconds, "users": args.users}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pubdata-fuzz-") as tmp:
        work = Path(tmp)
        try:
            with load.servers(home, args.database_url, 2, work) as urls:
                load.warm(urls, requests, ids["tokens"])
                document = work / "openapi.json"  # fetched before the load: generating it takes a while
                document.write_bytes(httpx.get(f"{urls[0]}/api/v1/openapi.json", timeout=300).content)
                plan = {"hosts": urls, "endpoint": "mix", "tokens": ids["tokens"], "requests": requests}
                locust_result: dict[str, Any] = {}
                loader = threading.Thread(
                    target=lambda: locust_result.update(load.run_locust(plan, args.users, args.seconds, work))
                )
                loader.start()

                def spend(n: int) -> int:
                    url = f"{urls[n % 2]}/api/v1/resources/{quota_rid}/rows"
                    headers = {"Authorization": f"Bearer {bank_token}"}
                    return httpx.get(url, params={"limit": "1"}, headers=headers, timeout=60).status_code

                with ThreadPoolExecutor(8) as pool:
                    codes = Counter(pool.map(spend, range(3 * args.quota)))
                fuzz = subprocess.run(
                    [str(Path(sys.executable).parent / "st"), "run", str(document), "--url", urls[0],
                     "--checks", "not_a_server_error", "--max-examples", str(args.max_examples),
                     "--max-time", str(max(30, args.seconds - 20)), "--include-path-regex", "^/api/v1/",
                     "--header", f"Authorization: Bearer {fuzz_token}", "--request-timeout", "60",
                     "--continue-on-failure", "--seed", "14", "--report", "ndjson",
                     "--report-dir", str(work / "st")],
                    capture_output=True, text=True, timeout=args.seconds + 600,
                )  # fmt: skip
                loader.join()
                logs = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in work.glob("server-*.log")}
        finally:
            load.revoke(ids["token_ids"])
        tail = fuzz.stdout[-6000:]
        print(tail)
        report["schemathesis_exit"] = fuzz.returncode
        cases = re.search(r"(\d+) generated, ([^\n]*)", fuzz.stdout)
        report["schemathesis"] = f"{cases.group(1)} generated, {cases.group(2)}" if cases else "no summary"
        server_errors = re.findall(r'"(?:GET|POST|PUT|PATCH|DELETE) ([^ ]+) HTTP/1\.1" 5\d\d', "\n".join(logs.values()))
        report["server_5xx"] = len(server_errors)
        report["server_5xx_paths"] = sorted(set(server_errors))[:20]
        report["tracebacks"] = sum(text.count("Traceback") for text in logs.values())
        report["deadlock_lines"] = sum(text.lower().count("deadlock") for text in logs.values())
        report["deadlocks"] = deadlocks(args.database_url) - deadlocks_before
        report["load"] = locust_result
        report["load_failures"] = sum(f["failures"] for f in locust_result.values())
        allowed = allowed_since(grant_id, started_at)
        report["quota"] = {"daily_quota": quota, "asked": 3 * args.quota, "answers": dict(codes),
                           "allowed_audit_records": allowed}  # fmt: skip
        if fuzz.returncode != 0:
            problems.append("schemathesis found failures (above)")
        if server_errors or report["tracebacks"]:
            problems.append(f"{len(server_errors)} 5xx answers and {report['tracebacks']} tracebacks in the logs")
            for name, text in logs.items():
                for block in re.findall(r"Traceback.*?(?=\nINFO|\Z)", text, flags=re.S)[:5]:
                    print(f"--- {name}\n{block[-3000:]}")
        if report["deadlocks"] or report["deadlock_lines"]:
            problems.append(f"deadlocks: {report['deadlocks']} in PostgreSQL, {report['deadlock_lines']} in the logs")
        if report["load_failures"]:
            problems.append(f"{report['load_failures']} load requests failed")
        if codes.get(200, 0) != args.quota or codes.get(429, 0) != 2 * args.quota or allowed != args.quota:
            problems.append(f"quota not exact: {dict(codes)}, {allowed} allowed audit records, quota left {args.quota}")
    report["problems"] = problems
    print("\n".join(problems) or "no 5xx, no deadlock, quota exact")
    print(json.dumps(report, ensure_ascii=False))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

"""Load test of a demo city over HTTP on loopback: locust (headless, its own process, bounded in time)
drives N concurrent clients against one ``pubdata serve --no-workers`` process, then against two
replicas of it sharing one database (clients alternate between the replicas: client i keeps to
replica i mod 2), for each endpoint alone at each level:

- ``search``  catalogue search, ``GET /api/v1/entries?q=…`` with Chinese terms (as the ``bank`` user)
- ``rows``    row pages, ``GET /api/v1/resources/{id}/rows`` of the enterprise registry, first page,
              a district, a capital range (as ``scjgj``, its publisher)
- ``sql``     ``POST /api/v1/sql``, a GROUP BY over the registry (as ``scjgj``)
- ``policy``  ``POST /api/v1/policies/qingdao-cbec-2023/evaluate`` for the demo enterprise from its
              facts-table row (as ``enterprise``, its own row)
- ``sandbox`` ``POST /api/v1/resources/{id}/sandbox``, average cost by hospital over outpatient
              visits (as ``operator``: exact answers, small groups suppressed)

Every client has its own API token per endpoint (created for the run, revoked after), as distinct
callers do; the servers run with ``PUBDATA_TOKEN_RATE_PER_MINUTE`` raised (the per-token rate limit
is still counted on every call, it just never refuses), everything else as configured. The peer: the
same registry rows copied into SQLite and served by Datasette, the same three row queries at the
same concurrency; ``ratio`` = pubdata's rows requests/s (one process) ÷ Datasette's at the highest
level (higher is better), per level in ``rows_ratio_by_level``.

    pubdata demo --records 120000000 --no-serve --home H       # the full city (~14 min on 2 cores)
    python benchmarks/load.py --home H [--database-url postgresql://…] [--levels 1,8,32]
                              [--seconds 20] [--replicas 1,2] [--endpoints search,rows,sql,policy,sandbox]
                              [--json out.json] [--no-datasette] [--build-demo N]

``--build-demo N`` first builds (or completes) a demo of N records in the home, through ``pubdata demo``
stopped once it serves: the anchor entries' records, grants, facts and matches (smoke tests).
Two replicas need a shared server database: PostgreSQL (``--database-url``); on SQLite only the
one-process mode runs unless ``--replicas 1,2`` is asked for explicitly. Prints a table endpoint ×
level × mode (requests/s, p50, p99, failures) and, last, one JSON line (also written to ``--json``); exits
1 after it when any request failed (any answer but 200) or an endpoint finished no request.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import httpx

BENCH = Path(__file__).resolve().parent
REGISTRY = "QD-SCJGJ-GS-00001"
OUTPATIENT = "QD-WJW-YL-00002"
PACK = "qingdao-cbec-2023"
TERMS = ["企业", "纳税信用", "医疗机构", "公交线路", "跨境电商", "崂山区", "社会保险", "专利", "行政处罚", "学校"]
CALLERS = {"search": "bank", "rows": "scjgj", "sql": "scjgj", "policy": "enterprise", "sandbox": "operator"}
ROW_QUERIES: list[dict[str, str]] = [{}, {"district": "崂山区"}, {"reg_capital__gte": "100", "reg_capital__lt": "5000"}]
DATASETTE_OPS = {"": "exact", "gte": "gte", "lt": "lt"}
RATE = str(10**9)
STARTUP_S = 4  # added to locust's run-time limit, which counts from its own start-up
# what a run that finished no request of an endpoint within its time reports
NONE = {"rps": 0.0, "p50_ms": float("nan"), "p99_ms": float("nan"), "requests": 0, "failures": 0}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{what} at {url} did not start")


def prepare(home: Path, levels: list[int]) -> dict[str, Any]:
    """Resource ids, the demo enterprise's code, the registry's current file, and one token per client
    per endpoint (through the identity service, as ``pubdata token create`` makes them)."""
    from pubdata.authz import SYSTEM, Role, scopes_available_to
    from pubdata.catalog import service as catalog
    from pubdata.db import migrate, session_scope
    from pubdata.demo import records
    from pubdata.identity import service as identity
    from pubdata.identity.models import Organisation
    from pubdata.store import files
    from pubdata.store.models import StoreTable

    migrate()
    out: dict[str, Any] = {"tokens": {}, "token_ids": []}
    with session_scope() as s:
        for key, code in (("registry", REGISTRY), ("outpatient", OUTPATIENT)):
            rid, has_table, _ = records.table_of(s, SYSTEM, catalog.get_entry(s, SYSTEM, code).code)
            if not has_table:
                raise SystemExit(f"{code} has no records: build the demo with --records > 0")
            out[key] = rid
        table = s.get(StoreTable, out["registry"])
        assert table is not None and table.current_version
        out["registry_file"] = str(files.version_dir(home, out["registry"], table.current_version) / files.DATA_FILE)
        user = identity.get_user(s, "enterprise")
        org = s.get(Organisation, user.organisation_id)
        assert org is not None and org.uscc
        out["enterprise_uscc"] = org.uscc
        for endpoint, username in CALLERS.items():
            user = identity.get_user(s, username)
            scopes = sorted(scopes_available_to(frozenset(Role(r) for r in user.role_list)) - {"admin"})
            made = []
            for _ in range(max(levels)):
                token, secret = identity.create_token(
                    s, SYSTEM, name="load-test", scopes=scopes, days=1, username=username
                )
                made.append(secret)
                out["token_ids"].append(token.id)
            out["tokens"][endpoint] = made
    return out


def revoke(token_ids: list[int]) -> None:
    from pubdata.authz import SYSTEM
    from pubdata.db import session_scope
    from pubdata.identity import service as identity

    with session_scope() as s:
        for token_id in token_ids:
            identity.revoke_token(s, SYSTEM, token_id)


def requests_for(ids: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    rows = f"/api/v1/resources/{ids['registry']}/rows"
    sql = (
        f'SELECT district, count(*) AS n, avg(reg_capital) AS capital FROM "{ids["registry"]}" '
        "GROUP BY district ORDER BY district"
    )
    sandbox = {"measures": [{"fn": "avg", "field": "total_cost"}, {"fn": "count"}], "group_by": ["hospital_name"]}
    return {
        "search": [{"path": "/api/v1/entries", "params": {"q": t, "limit": "20"}} for t in TERMS],
        "rows": [{"path": rows, "params": {**q, "limit": "100"}} for q in ROW_QUERIES],
        "sql": [{"method": "POST", "path": "/api/v1/sql", "json": {"sql": sql}}],
        "policy": [
            {
                "method": "POST",
                "path": f"/api/v1/policies/{PACK}/evaluate",
                "json": {"enterprise": ids["enterprise_uscc"]},
            }
        ],  # fmt: skip
        "sandbox": [{"method": "POST", "path": f"/api/v1/resources/{ids['outpatient']}/sandbox", "json": sandbox}],
    }


@contextmanager
def servers(home: Path, database_url: str | None, count: int, work: Path) -> Iterator[list[str]]:
    """``count`` ``pubdata serve --no-workers`` processes over the same home and database."""
    env = {**os.environ, "PUBDATA_HOME": str(home), "PUBDATA_TOKEN_RATE_PER_MINUTE": RATE}
    if database_url:
        env["PUBDATA_DATABASE_URL"] = database_url
    ports = [free_port() for _ in range(count)]
    procs = []
    for port in ports:
        log = (work / f"server-{port}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "pubdata.cli", "serve", "--no-workers", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
    try:
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url in urls:
            wait_for(url + "/api/v1/", "pubdata")
        yield urls
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def warm(urls: list[str], requests: dict[str, list[dict[str, Any]]], tokens: dict[str, list[str]]) -> None:
    """Each request once per server, untimed; any answer but 200 stops the run (a wrong setup)."""
    for url in urls:
        with httpx.Client(base_url=url, timeout=120) as client:
            for name, specs in requests.items():
                for spec in specs:
                    auth = {"Authorization": f"Bearer {tokens[name][0]}"}
                    r = client.request(spec.get("method", "GET"), spec["path"], params=spec.get("params"),
                                       json=spec.get("json"), headers=auth)  # fmt: skip
                    if r.status_code != 200:
                        raise SystemExit(f"{name}: {r.status_code} {r.text[:300]}")


def _percentile(histogram: dict[str, int], p: float) -> float:
    """The p-th percentile of locust's response-time histogram (ms, rounded as locust rounds them)."""
    total = sum(histogram.values())
    if not total:
        return float("nan")
    rank, seen = p / 100 * total, 0
    for ms, count in sorted(((float(k), v) for k, v in histogram.items())):
        seen += count
        if seen >= rank:
            return ms
    return max(float(k) for k in histogram)


def run_locust(plan: dict[str, Any], users: int, seconds: int, work: Path) -> dict[str, dict[str, float]]:
    """One headless locust run; per request name: requests/s (over the span from its first request
    to its last), p50, p99 (ms), requests, failures. Locust's run-time limit counts from its own
    start-up, so the limit is ``seconds`` plus the few seconds a loaded machine takes to start it."""
    plan_file = work / "plan.json"
    plan_file.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    locust = Path(sys.executable).parent / "locust"
    cmd = [str(locust), "-f", str(BENCH / "load_locust.py"), "--headless", "-u", str(users), "-r", str(users),
           "-t", f"{seconds + STARTUP_S}s", "--json", "--only-summary", "--stop-timeout", "10",
           "--loglevel", "WARNING"]  # fmt: skip
    proc = subprocess.run(cmd, env={**os.environ, "PUBDATA_LOAD_PLAN": str(plan_file)}, capture_output=True,
                          text=True, timeout=seconds + STARTUP_S + 120)  # fmt: skip
    try:
        stats = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"locust failed ({proc.returncode}):\n{proc.stderr[-3000:]}") from None
    out: dict[str, dict[str, float]] = {}
    for entry in stats:
        span = (entry["last_request_timestamp"] or 0) - (entry["start_time"] or 0)
        n = int(entry["num_requests"])
        out[entry["name"]] = {
            "rps": round(n / span, 2) if span > 0 else 0.0,
            "p50_ms": _percentile(entry["response_times"], 50),
            "p99_ms": _percentile(entry["response_times"], 99),
            "requests": n,
            "failures": int(entry["num_failures"]),
        }
    if not out:
        print(f"  locust finished no request:\n{proc.stderr[-1500:]}", file=sys.stderr)
    if any(f["failures"] for f in out.values()):
        print(f"  failures: {proc.stderr[-1500:]}", file=sys.stderr)
    return out


def parquet_to_sqlite(parquet: Path, db: Path, table: str) -> None:
    """The rows of a Parquet file in a SQLite table (numbers as INTEGER/REAL, the rest as text),
    no index beyond the rowid (pubdata builds none for these filters either)."""
    con = duckdb.connect()
    columns = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{parquet}')").fetchall()
    decl, select = [], []
    for name, kind, *_ in columns:
        if kind.startswith(("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER")):
            decl.append(f'"{name}" INTEGER')
            select.append(f'"{name}"')
        elif kind.startswith(("DOUBLE", "FLOAT", "DECIMAL", "REAL")):
            decl.append(f'"{name}" REAL')
            select.append(f'CAST("{name}" AS DOUBLE)')
        else:
            decl.append(f'"{name}" TEXT')
            select.append(f'CAST("{name}" AS VARCHAR)')
    out = sqlite3.connect(db)
    out.execute("PRAGMA journal_mode=OFF")
    out.execute(f"CREATE TABLE {table} ({', '.join(decl)})")
    marks = ",".join("?" * len(columns))
    reader = con.execute(f"SELECT {', '.join(select)} FROM read_parquet('{parquet}')").to_arrow_reader(200_000)
    for batch in reader:
        out.executemany(f"INSERT INTO {table} VALUES ({marks})", zip(*batch.to_pydict().values(), strict=True))
        out.commit()
    out.close()
    con.close()


@contextmanager
def datasette(db: Path) -> Iterator[str]:
    port = free_port()
    peer = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", "-i", str(db), "--port", str(port),
         "--setting", "sql_time_limit_ms", "60000", "--setting", "facet_time_limit_ms", "1",
         "--setting", "suggest_facets", "off", "--setting", "num_sql_threads", "3"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(url + "/-/versions.json", "Datasette")
        yield url
    finally:
        peer.terminate()
        peer.wait(10)


def datasette_requests(db: Path, table: str) -> list[dict[str, Any]]:
    out = []
    for q in ROW_QUERIES:
        params = {"_size": "100", "_shape": "objects", "_nocount": "1", "_nofacet": "1"}
        for key, value in q.items():
            name, _, op = key.partition("__")
            params[f"{name}__{DATASETTE_OPS[op]}"] = value
        out.append({"path": f"/{db.stem}/{table}.json", "params": params})
    return out


def build_demo(home: Path, records: int, database_url: str | None) -> None:
    """``pubdata demo --records N`` in its serving mode, stopped once it serves: by then the catalogue,
    the anchor entries' records (everything this load reads), the grants, the facts and the matches
    are built; the other entries' records (filled in the background) are left for a later run."""
    env = {**os.environ, "PUBDATA_HOME": str(home)}
    if database_url:
        env["PUBDATA_DATABASE_URL"] = database_url
    port = free_port()
    t0 = time.perf_counter()
    demo = subprocess.Popen([sys.executable, "-m", "pubdata.cli", "demo", "--records", str(records), "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/", "pubdata demo", timeout=3600)
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(60)
    print(f"demo of {records:,} records (anchor entries) built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help="a demo city's home")
    parser.add_argument("--database-url", default=os.environ.get("PUBDATA_DATABASE_URL"))
    parser.add_argument("--levels", default="1,8,32", help="concurrent clients, comma-separated")
    parser.add_argument("--seconds", type=int, default=20, help="duration of each locust run")
    parser.add_argument("--replicas", default=None, help="server counts to run, e.g. 1,2 (default: 1,2 on "
                        "PostgreSQL, 1 on SQLite)")  # fmt: skip
    parser.add_argument("--endpoints", default=",".join(CALLERS), help="endpoints, comma-separated (or mix)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--no-datasette", action="store_true", help="skip the Datasette peer")
    parser.add_argument("--build-demo", type=int, default=None, metavar="N", help="build a demo of N records first")
    args = parser.parse_args()

    postgres = bool(args.database_url and args.database_url.startswith("postgres"))
    levels = [int(x) for x in args.levels.split(",")]
    modes = [int(x) for x in (args.replicas or ("1,2" if postgres else "1")).split(",")]
    endpoints = args.endpoints.split(",")
    home = args.home.resolve()
    os.environ["PUBDATA_HOME"] = str(home)
    if args.database_url:
        os.environ["PUBDATA_DATABASE_URL"] = args.database_url
    if args.build_demo is not None:
        build_demo(home, args.build_demo, args.database_url)
    ids = prepare(home, levels)
    from pubdata.db import get_engine

    get_engine().dispose()
    requests = {name: specs for name, specs in requests_for(ids).items() if name in endpoints or "mix" in endpoints}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pubdata-load-") as tmp:
        work = Path(tmp)
        try:
            for count in modes:
                mode = f"{count} process" if count == 1 else f"{count} replicas"
                with servers(home, args.database_url, count, work) as urls:
                    warm(urls, requests, ids["tokens"])
                    for endpoint in endpoints:
                        for users in levels:
                            plan = {"hosts": urls, "endpoint": endpoint, "tokens": ids["tokens"], "requests": requests}
                            got = run_locust(plan, users, args.seconds, work)
                            for name in [endpoint] if endpoint != "mix" else list(requests):
                                figures = got.get(name, NONE)
                                results.setdefault(mode, {}).setdefault(name, {})[str(users)] = figures
                                print(f"{mode:>11} {name:>8} {users:>3} clients  {figures['rps']:8.1f} req/s  "
                                      f"p50 {figures['p50_ms']:7.0f} ms  p99 {figures['p99_ms']:7.0f} ms  "
                                      f"failures {figures['failures']}/{figures['requests']}", flush=True)  # fmt: skip
            if not args.no_datasette and "rows" in endpoints:
                db = work / "peer.db"
                parquet_to_sqlite(Path(ids["registry_file"]), db, "registry")
                with datasette(db) as url:
                    peer_requests = {"rows": datasette_requests(db, "registry")}
                    warm([url], peer_requests, {"rows": ["-"]})
                    for users in levels:
                        plan = {
                            "hosts": [url],
                            "endpoint": "rows",
                            "tokens": {"rows": ["-"]},
                            "requests": peer_requests,
                        }
                        figures = run_locust(plan, users, args.seconds, work).get("rows", NONE)
                        results.setdefault("datasette", {}).setdefault("rows", {})[str(users)] = figures
                        print(f"{'Datasette':>11} {'rows':>8} {users:>3} clients  {figures['rps']:8.1f} req/s  "
                              f"p50 {figures['p50_ms']:7.0f} ms  p99 {figures['p99_ms']:7.0f} ms  "
                              f"failures {figures['failures']}/{figures['requests']}", flush=True)  # fmt: skip
        finally:
            revoke(ids["token_ids"])
            get_engine().dispose()

    out: dict[str, Any] = {"benchmark": "load", "levels": levels, "seconds": args.seconds,
                           "database": "postgresql" if postgres else "sqlite", "results": results}  # fmt: skip
    one = results.get("1 process", {}).get("rows", {})
    peer = results.get("datasette", {}).get("rows", {})
    by_level = {lv: round(one[lv]["rps"] / peer[lv]["rps"], 3) for lv in one if lv in peer and peer[lv]["rps"]}
    out["rows_ratio_by_level"] = by_level
    # ratio: pubdata's row pages/s (one process) ÷ Datasette's at the highest level both ran; 0 without a peer
    out["ratio"] = by_level[max(by_level, key=int)] if by_level else 0.0
    out["failures"] = sum(f["failures"] for m in results.values() for e in m.values() for f in e.values())
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False))
    idle = [f"{m}/{e}/{lv}" for m, es in results.items() for e, lvs in es.items() for lv, f in lvs.items()
            if not f["requests"]]  # fmt: skip
    if out["failures"] or idle:  # a smoke run fails on any answer but 200, or an endpoint never answering
        sys.exit(f"{out['failures']} failed requests; no request finished: {', '.join(idle) or 'none'}")


if __name__ == "__main__":
    main()

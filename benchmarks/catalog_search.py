"""Catalogue search latency: a fixed list of Chinese queries against the demo city's 5,099 entries,
through the HTTP API (a real uvicorn server in a subprocess) and directly in-process (the service
function the API calls). Prints p50/p99 for both and the ratio, then one JSON line (DESIGN.md §6).

    python benchmarks/catalog_search.py [--rounds 20] [--home DIR] [--database-url URL]

``ratio`` = in-process p99 / HTTP p99 (pubdata's HTTP speed relative to the in-process baseline;
higher is better, 1.0 would mean HTTP adds nothing). Target: HTTP p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

QUERIES = [
    "医疗",
    "企业信用",
    "市场主体登记",
    "纳税信用",
    "社会保险",
    "跨境电商",
    "海洋",
    "交通 公交",
    "学校",
    "专精特新",
    "行政处罚",
    "不动产",
    "环境 监测",
    "崂山区",
    "文化 旅游",
    "公积金",
    "失信被执行人",
    "养老",
    "用电",
    "专利",
]
FILTERED = [
    {"q": "医疗", "open_type": "有条件开放"},
    {"q": "企业", "category": "工商", "sort": "modified_desc"},
    {"q": "", "district": "黄岛区"},
    {"q": "信用", "limit": "50", "offset": "50"},
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="times each query runs (size argument)")
    parser.add_argument("--home", type=Path, default=None, help="demo home to use (built when missing)")
    parser.add_argument("--database-url", default=None, help="metadata DB URL (default: SQLite under home)")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="pubdata-bench-"))
    os.environ["PUBDATA_HOME"] = str(home)
    if args.database_url:
        os.environ["PUBDATA_DATABASE_URL"] = args.database_url

    from pubdata.authz import ANONYMOUS
    from pubdata.catalog import service
    from pubdata.db import migrate, new_session, session_scope
    from pubdata.demo import city

    migrate()
    with session_scope() as session:
        summary = city.build(session, progress=lambda _m: None)
    entries = summary["entries"]

    params_list: list[dict[str, str]] = [{"q": q} for q in QUERIES] + FILTERED

    # --- in-process baseline: the same service call the API makes -------------------------------
    def to_query(params: dict[str, str]) -> service.SearchQuery:
        filters = {k: [v] for k, v in params.items() if k in service.repo.FACETS}
        return service.SearchQuery(
            load_entries=False,  # what the API asks for: the summaries the index serves
            q=params.get("q", ""),
            filters=filters,
            sort=params.get("sort", ""),
            offset=int(params.get("offset", 0)),
            limit=int(params.get("limit", 20)),
        )

    inproc: list[float] = []
    counts: dict[str, int] = {}

    def run_in_process(params: dict[str, str]) -> int:
        # like an API request: its own session and transaction, results rendered as the API does
        with new_session() as session:
            result = service.search_entries(session, ANONYMOUS, to_query(params))
            session.commit()
        return result.count

    for params in params_list:  # warm-up
        run_in_process(params)
    for _ in range(args.rounds):
        for params in params_list:
            t0 = time.perf_counter()
            count = run_in_process(params)
            inproc.append((time.perf_counter() - t0) * 1000)
            counts[json.dumps(params, ensure_ascii=False)] = count

    # --- HTTP: a real server in its own process -------------------------------------------------
    port = free_port()
    env = {**os.environ, "PUBDATA_HOME": str(home)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "pubdata.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    http: list[float] = []
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(200):
                try:
                    client.get("/api/v1/vocabularies")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            for params in params_list:
                client.get("/api/v1/entries", params=params).raise_for_status()
            for _ in range(args.rounds):
                for params in params_list:
                    t0 = time.perf_counter()
                    r = client.get("/api/v1/entries", params=params)
                    http.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
                    assert r.json()["count"] == counts[json.dumps(params, ensure_ascii=False)]
    finally:
        server.terminate()
        server.wait(10)

    out = {
        "benchmark": "catalog_search",
        "entries": entries,
        "queries": len(params_list),
        "rounds": args.rounds,
        "http_p50_ms": round(statistics.median(http), 2),
        "http_p99_ms": round(percentile(http, 99), 2),
        "inprocess_p50_ms": round(statistics.median(inproc), 2),
        "inprocess_p99_ms": round(percentile(inproc, 99), 2),
    }
    out["ratio"] = round(out["inprocess_p99_ms"] / out["http_p99_ms"], 3)
    print(f"entries={entries} queries={len(params_list)} rounds={args.rounds}")
    print(f"HTTP        p50 {out['http_p50_ms']:.2f} ms   p99 {out['http_p99_ms']:.2f} ms   (target p99 < 20 ms)")
    print(f"in-process  p50 {out['inprocess_p50_ms']:.2f} ms   p99 {out['inprocess_p99_ms']:.2f} ms")
    print(f"ratio (in-process p99 / HTTP p99): {out['ratio']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

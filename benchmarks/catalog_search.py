"""Catalogue search latency: a fixed list of Chinese queries against the demo city's 5,099 entries,
through the HTTP API (a real uvicorn server in a subprocess) and directly in-process (the service
function the API calls). Prints p50/p99 for both and the ratio, then one JSON line (DESIGN.md §6).

    python benchmarks/catalog_search.py [--rounds 20] [--home DIR] [--database-url URL]

``ratio`` = in-process p99 / HTTP p99 (pubdata's HTTP speed relative to the in-process baseline;
higher is better, 1.0 would mean HTTP adds nothing). Target: HTTP p99 under 20 ms.

The peer: SQLite FTS5 over the same entries. Each entry's text (the parts pubdata indexes: title,
tags, category, publisher, district, code, description, field labels and names) is segmented with
the same jieba tokenizer (full mode, as pubdata indexes) into an FTS5 table in a temporary SQLite
database (``unicode61`` then splits on the spaces only). Each word query is segmented as pubdata
segments it (``query_terms``), its terms ANDed, and answered with the match count and the first 20
rowids by ``bm25`` with pubdata's field weights. FTS5 and pubdata's in-process search are timed on
the same word queries (the filtered ones have no FTS5 counterpart): ``ratio`` = FTS5 p50 /
pubdata in-process p50 on those queries (higher is better for pubdata). The match counts of both must
be equal (the script fails otherwise). pubdata does more per query than FTS5 here: all seven facets,
the page of summaries rendered, a session and transaction; FTS5 returns the count and 20 rowids.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
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


def fts5_peer(
    rounds: int, counts: dict[str, int], inproc: list[float], per_round: int
) -> tuple[list[float], dict[str, int], list[float]]:
    """The word queries against SQLite FTS5 over the same entries (see the module docstring).
    Returns FTS5 timings, FTS5 match counts per query, and pubdata's in-process timings of the
    same word queries (picked out of ``inproc``, which holds ``per_round`` timings per round)."""
    from sqlalchemy import select

    from pubdata.catalog import text, vocab
    from pubdata.catalog.models import CatalogEntry
    from pubdata.db import new_session

    def segmented(value: str, with_chars: bool) -> str:
        return " ".join(text.index_terms(value, with_chars=with_chars).elements())

    tmp = tempfile.mkdtemp(prefix="pubdata-fts5-")
    db = sqlite3.connect(Path(tmp) / "fts.db")
    db.execute(
        "CREATE VIRTUAL TABLE entry_fts USING fts5(title, tags, facets, description, fields, tokenize = 'unicode61')"
    )
    with new_session() as session:
        for entry in session.scalars(select(CatalogEntry)):
            category = vocab.CATEGORY_BY_CODE.get(entry.category)
            facets = " ".join(
                [
                    category.label if category else "",
                    entry.organisation.name if entry.organisation else "",
                    entry.district or "",
                    entry.code,
                ]
            )
            db.execute(
                "INSERT INTO entry_fts (rowid, title, tags, facets, description, fields) VALUES (?,?,?,?,?,?)",
                (
                    entry.id,
                    segmented(entry.title, True),
                    segmented(" ".join(entry.tag_names), True),
                    segmented(facets, False),
                    segmented(entry.description or "", False),
                    segmented(" ".join(f"{f.label} {f.name}" for f in entry.fields), False),
                ),
            )
    db.commit()

    def run(q: str) -> int:
        match = " AND ".join('"' + t.replace('"', '""') + '"' for t in text.query_terms(q))
        count = db.execute("SELECT count(*) FROM entry_fts WHERE entry_fts MATCH ?", (match,)).fetchone()[0]
        db.execute(
            "SELECT rowid FROM entry_fts WHERE entry_fts MATCH ? ORDER BY bm25(entry_fts, 8, 4, 2, 2, 1) LIMIT 20",
            (match,),
        ).fetchall()
        return int(count)

    fts_counts = {q: run(q) for q in QUERIES}  # warm-up
    times: list[float] = []
    for _ in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            run(q)
            times.append((time.perf_counter() - t0) * 1000)
    db.close()
    word_inproc = [t for i, t in enumerate(inproc) if i % per_round < len(QUERIES)]
    return times, fts_counts, word_inproc


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

    # --- peer: SQLite FTS5 over the same entries, jieba-segmented -------------------------------
    fts_times, fts_counts, word_inproc = fts5_peer(args.rounds, counts, inproc, len(params_list))

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
    out["fts5_p50_ms"] = round(statistics.median(fts_times), 2)
    out["fts5_p99_ms"] = round(percentile(fts_times, 99), 2)
    out["inprocess_words_p50_ms"] = round(statistics.median(word_inproc), 2)
    out["inprocess_words_p99_ms"] = round(percentile(word_inproc, 99), 2)
    # the peer is SQLite FTS5 (DESIGN.md §6: never pubdata against itself); the HTTP share is kept apart
    out["ratio"] = round(out["fts5_p50_ms"] / out["inprocess_words_p50_ms"], 3)
    out["ratio_http"] = round(out["inprocess_p99_ms"] / out["http_p99_ms"], 3)
    print(f"entries={entries} queries={len(params_list)} rounds={args.rounds}")
    print(f"HTTP        p50 {out['http_p50_ms']:.2f} ms   p99 {out['http_p99_ms']:.2f} ms   (target p99 < 20 ms)")
    print(f"in-process  p50 {out['inprocess_p50_ms']:.2f} ms   p99 {out['inprocess_p99_ms']:.2f} ms")
    print(f"in-process p99 / HTTP p99: {out['ratio_http']}")
    print(f"word queries only: pubdata in-process p50 {out['inprocess_words_p50_ms']:.2f} ms   "
          f"p99 {out['inprocess_words_p99_ms']:.2f} ms")  # fmt: skip
    print(f"SQLite FTS5 p50 {out['fts5_p50_ms']:.2f} ms   p99 {out['fts5_p99_ms']:.2f} ms   "
          f"ratio (FTS5 p50 / pubdata in-process p50): {out['ratio']}")  # fmt: skip
    for q in QUERIES:
        print(f"  matches {q}: pubdata {counts[json.dumps({'q': q}, ensure_ascii=False)]}, FTS5 {fts_counts[q]}")
    differ = [q for q in QUERIES if fts_counts[q] != counts[json.dumps({"q": q}, ensure_ascii=False)]]
    if differ:
        raise SystemExit(f"FTS5 and pubdata match different entries for: {', '.join(differ)}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

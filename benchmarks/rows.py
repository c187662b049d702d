"""Row-query latency over a large table: paged, filtered queries through pubdata's HTTP rows API (a
real uvicorn server in a subprocess), next to the same queries run by raw DuckDB in-process on the
same Parquet file (the baseline), and by Datasette serving the same rows from SQLite (a peer).

    python benchmarks/rows.py [--rows 100000000] [--rounds 20] [--work DIR] [--no-datasette]
                              [--no-nocache] [--no-warm]

The table (enterprise-registry-like: code, name, district, industry, capital, staff, founding date)
is generated once by DuckDB and cached under --work. It is registered as a published version of a
store table directly (the load path has its own benchmark, benchmarks/ingest.py); every query then
goes through pubdata's real read path. Every system runs the same eight filtered page queries (the
headline p50/p99); pubdata's ``next`` cursor pages, cold pages, totals and a sort are reported apart.

pubdata runs twice: with its decoded-row-group cache (the default) and in a second server with
``PUBDATA_PAGE_CACHE_MB=0`` (pages then read their rows from the version's rows file, which ingest
writes for a version of this size and this script writes as ingest does). DuckDB runs twice too:
``read_parquet`` per query (the per-file baseline) and over the rows loaded into an in-memory table
(the warm baseline), both with the same WHERE clauses, ``ORDER BY file_row_number LIMIT 100``.
Prints p50/p99 per system and one JSON line (DESIGN.md §6): ``ratio`` = per-file DuckDB p50 /
pubdata p50 (cache on), ``ratio_nocache`` = per-file DuckDB p50 / pubdata p50 (cache off),
``ratio_warm`` = warm DuckDB p50 / pubdata p50 (cache on), ``ratio_nocache_warm`` = warm DuckDB p50 /
pubdata p50 (cache off); higher is better. Targets: pubdata p50 ≤ 15 ms, p99 ≤ 100 ms; with the cache
off, within 2x of the warm table (``ratio_nocache_warm`` ≥ 0.5).
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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import httpx

DISTRICTS = ["市南区", "市北区", "李沧区", "崂山区", "城阳区", "黄岛区", "即墨区", "胶州市", "平度市", "莱西市"]
SCHEMA = {
    "fields": [
        {"name": "code", "type": "string", "title": "统一社会信用代码"},
        {"name": "name", "type": "string", "title": "企业名称"},
        {"name": "district", "type": "string", "title": "所属区市"},
        {"name": "industry", "type": "string", "title": "行业代码"},
        {"name": "capital", "type": "number", "semanticType": "amount", "title": "注册资本（万元）"},
        {"name": "staff", "type": "integer", "title": "参保人数"},
        {"name": "founded", "type": "date", "title": "成立日期"},
    ]
}

# (label, pubdata/Datasette filter params, raw DuckDB WHERE clause) — each asked for a page of 100 rows.
QUERIES: list[tuple[str, dict[str, str], str]] = [
    ("first page", {}, "TRUE"),
    ("equality", {"district": "崂山区"}, "district = '崂山区'"),
    (
        "in + range",
        {"district__in": "市南区,市北区", "staff__gte": "200"},
        "district IN ('市南区','市北区') AND staff >= 200",
    ),
    ("amount range", {"capital__gte": "5000", "capital__lt": "5010"}, "capital >= 5000 AND capital < 5010"),
    ("prefix", {"name__prefix": "青岛海"}, "starts_with(name, '青岛海')"),
    ("deep keyset", {"_id__gt": "{deep}"}, "file_row_number >= {deep}"),
    (
        "filter + deep keyset",
        {"industry": "I65", "_id__gt": "{deep}"},
        "industry = 'I65' AND file_row_number >= {deep}",
    ),
    (
        "date range",
        {"founded__gte": "2015-01-01", "founded__lt": "2015-02-01"},
        "founded >= DATE '2015-01-01' AND founded < DATE '2015-02-01'",
    ),
]
ROW_GROUP = 122_880
DATASETTE_OPS = {"": "exact", "in": "in", "gte": "gte", "lt": "lt", "prefix": "startswith", "gt": "gt"}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def generate(path: Path, rows: int) -> None:
    """The table as Parquet, deterministic, written by DuckDB in one statement."""
    con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB", "preserve_insertion_order": True})
    districts = "[" + ",".join(f"'{d}'" for d in DISTRICTS) + "]"
    con.execute(
        f"""COPY (SELECT
            '91370200' || lpad(upper(to_hex(hash(i) % 68719476736)), 9, '0') || '0' AS code,
            '青岛' || (['海','港','山','城','蓝','金','新','东'])[1 + (hash(i * 3) % 8)::INT]
                   || (['晨','达','润','程','远','川','瑞','德'])[1 + (hash(i * 5) % 8)::INT]
                   || (['科技','贸易','物流','食品','海洋','电子','建设','医药'])[1 + (hash(i * 7) % 8)::INT]
                   || '有限公司' || i AS name,
            ({districts})[1 + (hash(i * 11) % 10)::INT] AS district,
            (['C13','C36','F51','G54','I65','M73','L72','K70','E48','H62'])[1 + (hash(i * 13) % 10)::INT] AS industry,
            CAST((hash(i * 17) % 1000000) / 100.0 AS DECIMAL(18,2)) AS capital,
            CAST(hash(i * 19) % 500 AS BIGINT) AS staff,
            DATE '1990-01-01' + CAST(hash(i * 23) % 12400 AS INTEGER) AS founded
          FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP})"""
    )
    con.close()


def register(home: Path, parquet: Path, rows: int) -> str:
    """A department, an open entry, a table, and the Parquet file published as its version 1."""
    os.environ["PUBDATA_HOME"] = str(home)
    from pubdata.authz import SYSTEM
    from pubdata.catalog import service as catalog
    from pubdata.catalog.schemas import EntryCreate
    from pubdata.db import migrate, session_scope, utcnow
    from pubdata.identity import service as identity
    from pubdata.identity.schemas import OrganisationCreate
    from pubdata.store import files, service
    from pubdata.store.models import StoreTable, StoreVersion
    from pubdata.store.schemas import TableCreate

    migrate()
    with session_scope() as session:
        identity.create_organisation(
            session, SYSTEM, OrganisationCreate(code="bench-dept", name="基准测试部门", kind="department")
        )
        entry = catalog.create_entry(
            session,
            SYSTEM,
            EntryCreate(
                code="BENCH-ROWS-1",
                title="基准测试：市场主体",
                category="business",
                open_type="unconditional",
                organisation="bench-dept",
                fields=[{"name": "code", "label": "代码", "type": "string"}],
            ),
        )
        table = service.create_table(session, SYSTEM, entry.code, TableCreate(name="登记信息", schema=SCHEMA))
        target = files.version_dir(home, table.resource_id, 1)
        target.mkdir(parents=True)
        os.link(parquet, target / files.DATA_FILE)
        session.add(
            StoreVersion(
                resource_id=table.resource_id,
                number=1,
                state="published",
                source_name=parquet.name,
                source_format="parquet",
                rows_loaded=rows,
                published_at=utcnow(),
            )
        )
        stored = session.get(StoreTable, table.resource_id)
        assert stored is not None
        stored.current_version = 1
        return table.resource_id


def with_rows_file(home: Path, rid: str) -> None:
    """The version's rows file, as ingest writes it for a version of this size (the text index's
    ``text_rows.arrow``, ``text_index.write_rows_file``): pages read their rows from it when the page
    cache is off. The index's dictionaries and codes serve ``q`` only and are not built here."""
    os.environ["PUBDATA_HOME"] = str(home)
    from pubdata.store import files
    from pubdata.store.ingest import text_index

    version = files.version_dir(home, rid, 1)
    target = version / files.TEXT_ROWS_FILE
    if target.exists():
        return
    t0 = time.perf_counter()
    staged = target.with_suffix(".tmp")
    text_index.write_rows_file(version / files.DATA_FILE, staged)
    staged.rename(target)
    print(f"rows file written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


def to_sqlite(parquet: Path, db: Path) -> None:
    """The same rows in SQLite for Datasette, copied in batches (no index beyond the rowid, as
    pubdata has none either)."""
    tmp = db.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    out = sqlite3.connect(tmp)
    out.execute("PRAGMA journal_mode=OFF")
    out.execute("PRAGMA synchronous=OFF")
    out.execute(
        "CREATE TABLE registry (code TEXT, name TEXT, district TEXT, industry TEXT, capital REAL, "
        "staff INTEGER, founded TEXT)"
    )
    con = duckdb.connect()
    reader = con.execute(
        f"SELECT code, name, district, industry, CAST(capital AS DOUBLE), staff, CAST(founded AS VARCHAR) "
        f"FROM read_parquet('{parquet}')"
    ).to_arrow_reader(500_000)
    for batch in reader:
        out.executemany("INSERT INTO registry VALUES (?,?,?,?,?,?,?)", zip(*batch.to_pydict().values(), strict=True))
        out.commit()
    out.close()
    tmp.rename(db)


def timed(fn: Callable[[], Any], rounds: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def wait_for(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def measure_pubdata(
    home: Path,
    rid: str,
    rows: int,
    queries: list[tuple[str, dict[str, str], str]],
    rounds: int,
    cache_mb: str | None,
    extras: bool,
) -> dict[str, Any]:
    """The filtered page queries (the headline sample) and ``next`` cursor pages (reported apart)
    through a fresh uvicorn server; ``cache_mb`` sets PUBDATA_PAGE_CACHE_MB (None: the default).
    With ``extras``, also cold pages, exact totals and an unindexed sort."""
    port = free_port()
    env = {**os.environ, "PUBDATA_HOME": str(home)}
    if cache_mb is not None:
        env["PUBDATA_PAGE_CACHE_MB"] = cache_mb
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pubdata.app:create_app", "--factory", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    pub: list[float] = []
    per_query: dict[str, float] = {}
    out: dict[str, Any] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/api/v1/vocabularies")
        with httpx.Client(base_url=base, timeout=60) as client:
            url = f"/api/v1/resources/{rid}/rows"
            for label, params, _ in queries:

                def call(params: dict[str, str] = params) -> None:
                    r = client.get(url, params={**params, "limit": "100"})
                    r.raise_for_status()
                    assert len(r.json()["records"]) == 100, r.text[:300]

                times = timed(call, rounds)
                per_query[label] = round(statistics.median(times), 2)
                pub += times
            cursor_pages = []
            page = client.get(url, params={"district": "黄岛区", "limit": "100"}).json()
            for _ in range(rounds):
                t0 = time.perf_counter()
                page = client.get(page["_links"]["next"]).json()
                cursor_pages.append((time.perf_counter() - t0) * 1000)
            per_query["next_cursor pages"] = round(statistics.median(cursor_pages), 2)
            out.update(pages=pub, next=cursor_pages, per_query=per_query)
            if not extras:
                return out
            # Pages in row groups no query has touched yet (not in the page cache): a deep page and
            # a filtered deep page each round, each in a group of its own. Reported apart.
            cold: list[float] = []
            groups = max(1, rows // ROW_GROUP)
            for i in range(rounds):
                for j, extra in enumerate(({}, {"industry": "C36"})):
                    row = ((7 + 2 * i + j) * 9973 % groups) * ROW_GROUP + 1000
                    t0 = time.perf_counter()
                    client.get(url, params={**extra, "_id__gt": str(row), "limit": "100"}).raise_for_status()
                    cold.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            total = client.get(url, params={"district": "崂山区", "total": "true", "limit": "1"}).json()["total"]
            total_first_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            client.get(url, params={"district": "崂山区", "total": "true", "limit": "1"}).raise_for_status()
            total_cached_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            sorted_page = client.get(url, params={"sort": "-capital", "limit": "100"})
            sort_ms = (time.perf_counter() - t0) * 1000
            if sorted_page.status_code != 200:  # a full sort may exceed PUBDATA_QUERY_TIMEOUT_S
                print(f"sort by capital: {sorted_page.json()['error']['message']}", file=sys.stderr)
                sort_ms = float("nan")
            out.update(cold=cold, total=total, total_first_ms=total_first_ms, total_cached_ms=total_cached_ms)
            out["sort_ms"] = sort_ms
            return out
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000_000, help="rows in the table (size argument)")
    parser.add_argument("--rounds", type=int, default=20, help="times each query runs")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pubdata-bench-rows"), help="cache directory")
    parser.add_argument("--no-datasette", action="store_true", help="skip the Datasette peer")
    parser.add_argument("--no-nocache", action="store_true", help="skip the run with PUBDATA_PAGE_CACHE_MB=0")
    parser.add_argument("--no-warm", action="store_true", help="skip the in-memory DuckDB table baseline")
    args = parser.parse_args()

    work = args.work / str(args.rows)
    work.mkdir(parents=True, exist_ok=True)
    parquet = work / "registry.parquet"
    if not parquet.exists():
        t0 = time.perf_counter()
        generate(parquet, args.rows)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    home = work / "home"
    rid_file = work / "resource_id"
    if not rid_file.exists():
        rid_file.write_text(register(home, parquet, args.rows))
    rid = rid_file.read_text()
    with_rows_file(home, rid)
    deep = str(args.rows // 2)
    queries = [
        (label, {k: v.replace("{deep}", deep) for k, v in params.items()}, where.replace("{deep}", deep))
        for label, params, where in QUERIES
    ]

    # --- baselines: DuckDB in-process, hand-written SQL, the same WHERE clauses in row order ---------
    # per-file: read_parquet every time (decodes the row groups per query, as a cold reader would);
    # warm: the rows loaded once into an in-memory DuckDB table (nothing left to decode).
    con = duckdb.connect(config={"threads": 2})
    con.execute("SET parquet_metadata_cache = true")
    source = f"read_parquet('{parquet}', file_row_number = true)"
    duck: list[float] = []
    for _, _, where in queries:
        sql = f"SELECT * FROM {source} WHERE {where} ORDER BY file_row_number LIMIT 100"
        duck += timed(lambda sql=sql: con.execute(sql).fetchall(), args.rounds)
    warm: list[float] = []
    if not args.no_warm:
        con.execute(f"CREATE TABLE registry AS SELECT * FROM {source} ORDER BY file_row_number")
        for _, _, where in queries:
            sql = f"SELECT * FROM registry WHERE {where} ORDER BY file_row_number LIMIT 100"
            warm += timed(lambda sql=sql: con.execute(sql).fetchall(), args.rounds)
        con.execute("DROP TABLE registry")
    con.close()

    # --- pubdata over HTTP: decoded-row-group cache on (the default), then off --------------------
    on = measure_pubdata(home, rid, args.rows, queries, args.rounds, cache_mb=None, extras=True)
    off = None
    if not args.no_nocache:
        off = measure_pubdata(home, rid, args.rows, queries, args.rounds, cache_mb="0", extras=False)
    pub, cursor_pages, per_query = on["pages"], on["next"], on["per_query"]
    cold, total = on["cold"], on["total"]
    total_first_ms, total_cached_ms, sort_ms = on["total_first_ms"], on["total_cached_ms"], on["sort_ms"]

    # --- Datasette (peer) over SQLite ---------------------------------------------------------------
    ds: list[float] = []
    if not args.no_datasette:
        db = work / "bench.db"
        if not db.exists():
            t0 = time.perf_counter()
            to_sqlite(parquet, db)
            print(f"SQLite copy in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        port = free_port()
        peer = subprocess.Popen(
            [sys.executable, "-m", "datasette", "serve", "-i", str(db), "--port", str(port),
             "--setting", "sql_time_limit_ms", "60000", "--setting", "facet_time_limit_ms", "1",
             "--setting", "suggest_facets", "off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(base + "/-/versions.json")
            with httpx.Client(base_url=base, timeout=120) as client:
                for _, params, _ in queries:
                    ds_params = {"_size": "100", "_shape": "objects", "_nocount": "1", "_nofacet": "1"}
                    for key, value in params.items():
                        name, _, op = key.partition("__")
                        name = "rowid" if name == "_id" else name
                        ds_params[f"{name}__{DATASETTE_OPS[op]}"] = value

                    def ds_call(p: dict[str, str] = ds_params) -> None:  # parsed and checked, as pubdata's are
                        r = client.get("/bench/registry.json", params=p)
                        r.raise_for_status()
                        assert len(r.json()["rows"]) == 100, r.text[:300]

                    ds += timed(ds_call, args.rounds)
        finally:
            peer.terminate()
            peer.wait(10)

    out: dict[str, Any] = {
        "benchmark": "rows",
        "rows": args.rows,
        "queries": len(queries),
        "rounds": args.rounds,
        # headline: the filtered page queries only (the same mix every system runs), page cache on
        "pubdata_p50_ms": round(statistics.median(pub), 2),
        "pubdata_p99_ms": round(percentile(pub, 99), 2),
        "pubdata_next_p50_ms": round(statistics.median(cursor_pages), 2),
        "pubdata_next_p99_ms": round(percentile(cursor_pages, 99), 2),
        "baseline_p50_ms": round(statistics.median(duck), 2),
        "baseline_p99_ms": round(percentile(duck, 99), 2),
    }
    if off is not None:
        out["pubdata_nocache_p50_ms"] = round(statistics.median(off["pages"]), 2)
        out["pubdata_nocache_p99_ms"] = round(percentile(off["pages"], 99), 2)
        out["pubdata_nocache_next_p50_ms"] = round(statistics.median(off["next"]), 2)
        out["pubdata_nocache_next_p99_ms"] = round(percentile(off["next"], 99), 2)
    if warm:
        out["baseline_warm_p50_ms"] = round(statistics.median(warm), 2)
        out["baseline_warm_p99_ms"] = round(percentile(warm, 99), 2)
    if ds:
        out["datasette_p50_ms"] = round(statistics.median(ds), 2)
        out["datasette_p99_ms"] = round(percentile(ds, 99), 2)
    out["cold_page_p50_ms"] = round(statistics.median(cold), 2)
    out["cold_page_p99_ms"] = round(percentile(cold, 99), 2)
    out["total_first_ms"] = round(total_first_ms, 1)
    out["total_cached_ms"] = round(total_cached_ms, 1)
    out["unindexed_sort_ms"] = None if sort_ms != sort_ms else round(sort_ms, 1)
    # ratio = per-file DuckDB p50 / pubdata p50 (cache on); ratio_nocache = per-file DuckDB p50 /
    # pubdata p50 (cache off); ratio_warm and ratio_nocache_warm = in-memory DuckDB p50 / pubdata p50
    # (cache on, off). Higher is better.
    out["ratio"] = round(out["baseline_p50_ms"] / out["pubdata_p50_ms"], 3)
    if off is not None:
        out["ratio_nocache"] = round(out["baseline_p50_ms"] / out["pubdata_nocache_p50_ms"], 3)
    if warm:
        out["ratio_warm"] = round(out["baseline_warm_p50_ms"] / out["pubdata_p50_ms"], 3)
        if off is not None:
            out["ratio_nocache_warm"] = round(out["baseline_warm_p50_ms"] / out["pubdata_nocache_p50_ms"], 3)
    print(f"rows={args.rows:,} (district 崂山区: {total:,})")
    for label, ms in per_query.items():
        nc = f"   cache off {off['per_query'][label]:8.2f} ms" if off is not None else ""
        print(f"  pubdata p50 {ms:8.2f} ms{nc}  {label}")
    print(
        f"pubdata HTTP   p50 {out['pubdata_p50_ms']:.2f} ms  p99 {out['pubdata_p99_ms']:.2f} ms  (target ≤ 15 / ≤ 100)"
    )
    print(f"  next pages: p50 {out['pubdata_next_p50_ms']:.2f} ms  p99 {out['pubdata_next_p99_ms']:.2f} ms")
    if off is not None:
        print(f"pubdata, page cache off  p50 {out['pubdata_nocache_p50_ms']:.2f} ms  "
              f"p99 {out['pubdata_nocache_p99_ms']:.2f} ms  "
              f"(next pages p50 {out['pubdata_nocache_next_p50_ms']:.2f} ms)")  # fmt: skip
    print(f"  cold pages (row group not yet in memory): p50 {out['cold_page_p50_ms']:.2f} ms  "
          f"p99 {out['cold_page_p99_ms']:.2f} ms")  # fmt: skip
    print(f"raw DuckDB     p50 {out['baseline_p50_ms']:.2f} ms  p99 {out['baseline_p99_ms']:.2f} ms  "
          "(read_parquet per query)")  # fmt: skip
    if warm:
        print(f"warm DuckDB    p50 {out['baseline_warm_p50_ms']:.2f} ms  "
              f"p99 {out['baseline_warm_p99_ms']:.2f} ms  (in-memory table)")  # fmt: skip
    if ds:
        print(f"Datasette      p50 {out['datasette_p50_ms']:.2f} ms  p99 {out['datasette_p99_ms']:.2f} ms")
    print(
        f"exact total: first {total_first_ms:.0f} ms, cached {total_cached_ms:.1f} ms; sort by capital {sort_ms:.0f} ms"
    )
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

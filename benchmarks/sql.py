"""User SQL latency: statements through pubdata's SQL path (the allow-list, scoped name resolution,
the read plan, the confined DuckDB connection, the audit and the row limit) next to the same
statements run by raw DuckDB in-process on the same Parquet file (the baseline), both warm.

    python benchmarks/sql.py [--rows 10000000] [--rounds 20] [--work DIR]

The table is the rows benchmark's (benchmarks/rows.py: generated once by DuckDB, cached under --work,
registered as a published open table). pubdata runs each statement in a session of its own, as a
request does (without HTTP); the results are checked equal. Also prints what the first statement
over a table costs when its confined connection is not open yet (cold). Prints p50/p99 per system
and query and one JSON line (DESIGN.md §6), ``ratio`` = DuckDB p50 / pubdata p50 over all queries
(higher is better).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from rows import generate, percentile, register, timed  # noqa: E402

# (label, statement over the table named {t}): {t} is "<resource id>" for pubdata, the file for DuckDB
QUERIES = [
    (
        "group by",
        "SELECT district, count(*) AS n, avg(capital) AS capital FROM {t} GROUP BY district ORDER BY district",
    ),
    (
        "filter + top 100",
        "SELECT code, name, capital FROM {t} WHERE industry = 'I65' AND staff >= 400 "
        "ORDER BY capital DESC, code LIMIT 100",
    ),
    (
        "cte + join",
        "WITH big AS (SELECT district, max(capital) AS top FROM {t} WHERE founded >= DATE '2020-01-01' "
        "GROUP BY district) SELECT b.district, b.top, count(*) AS n FROM big b JOIN {t} r "
        "ON r.district = b.district AND r.capital = b.top GROUP BY b.district, b.top ORDER BY b.district",
    ),
    ("count distinct", "SELECT count(DISTINCT industry) AS industries, count(*) AS n FROM {t} WHERE staff < 10"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the table (size argument)")
    parser.add_argument("--rounds", type=int, default=20, help="times each query runs")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pubdata-bench-rows"), help="cache directory")
    args = parser.parse_args()

    work = args.work / str(args.rows)
    work.mkdir(parents=True, exist_ok=True)
    parquet = work / "registry.parquet"
    if not parquet.exists():
        generate(parquet, args.rows)
    home = work / "home"
    rid_file = work / "resource_id"
    if not rid_file.exists():
        rid_file.write_text(register(home, parquet, args.rows))
    rid = rid_file.read_text().strip()

    os.environ["PUBDATA_HOME"] = str(home)
    from pubdata.authz import ANONYMOUS
    from pubdata.db import session_scope
    from pubdata.store.query import sql as store_sql

    baseline = duckdb.connect(config={"threads": 2, "memory_limit": "4GB", "preserve_insertion_order": True})
    baseline.execute("SET parquet_metadata_cache = true")

    def pubdata(statement: str) -> list[tuple[object, ...]]:
        with session_scope() as session:
            result = store_sql.run_sql(session, ANONYMOUS, statement, home=home)
        return [tuple(r.values()) for r in result.table.to_pylist()]

    def raw(statement: str) -> list[tuple[object, ...]]:
        cur = baseline.cursor()
        try:
            return [tuple(r) for r in cur.execute(statement).fetchall()]
        finally:
            cur.close()

    first = QUERIES[0][1].format(t=f'"{rid}"')
    t0 = time.perf_counter()
    pubdata(first)
    cold = (time.perf_counter() - t0) * 1000
    results = {}
    for label, template in QUERIES:
        ours, theirs = template.format(t=f'"{rid}"'), template.format(t=f"read_parquet('{parquet}')")
        assert pubdata(ours) == raw(theirs), label
        p = timed(lambda s=ours: pubdata(s), args.rounds)
        d = timed(lambda s=theirs: raw(s), args.rounds)
        results[label] = (p, d)
        print(
            f"{label:18} pubdata p50 {statistics.median(p):7.1f} ms p99 {percentile(p, 99):7.1f} ms | "
            f"DuckDB p50 {statistics.median(d):7.1f} ms p99 {percentile(d, 99):7.1f} ms",
            file=sys.stderr,
        )
    ours_all = [v for p, _ in results.values() for v in p]
    theirs_all = [v for _, d in results.values() for v in d]
    print(
        json.dumps(
            {
                "benchmark": "sql",
                "rows": args.rows,
                "pubdata_p50_ms": round(statistics.median(ours_all), 2),
                "pubdata_p99_ms": round(percentile(ours_all, 99), 2),
                "baseline_p50_ms": round(statistics.median(theirs_all), 2),
                "baseline_p99_ms": round(percentile(theirs_all, 99), 2),
                "pubdata_first_statement_cold_ms": round(cold, 1),
                "ratio": round(statistics.median(theirs_all) / statistics.median(ours_all), 3),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Ingestion speed: one generated CSV (enterprise registry rows with credit codes, ID numbers,
phones, amounts, dates) loaded by raw DuckDB (``read_csv`` into a table) and by pubdata's full
pipeline (encoding check, header check, normalisation, every semantic and constraint check,
primary-key duplicates, rejects file, typed Parquet, quality report) in the same run.

    python benchmarks/ingest.py --rows 1000000

``ratio`` = pubdata rows/s ÷ raw DuckDB rows/s (higher is better; target ≥ 0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb

SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "semanticType": "uscc", "constraints": {"required": True}},
        {"name": "name", "type": "string"},
        {"name": "legal_id", "type": "string", "semanticType": "resident_id", "personalKind": "id_number"},
        {"name": "phone", "type": "string", "semanticType": "mobile", "personalKind": "phone"},
        {"name": "capital", "type": "number", "semanticType": "amount"},
        {"name": "founded", "type": "date"},
        {"name": "status", "type": "string", "constraints": {"enum": ["存续", "注销", "吊销"]}},
    ],
    "primaryKey": "uscc",
}


def generate(path: Path, rows: int) -> None:
    """Valid codes are computed in SQL with the same check-character rules (so generation is fast)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    uscc_weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    ric_weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    uscc_sum = " + ".join(f"(instr('{alphabet}', substr(b, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(uscc_weights))
    ric_sum = " + ".join(f"CAST(substr(r, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(ric_weights))
    duckdb.sql(
        f"""
        COPY (
          SELECT b || substr('{alphabet}', ((31 - (({uscc_sum}) % 31)) % 31) + 1, 1) AS uscc,
                 '青岛市' || i || '号贸易有限公司' AS name,
                 r || substr('10X98765432', (({ric_sum}) % 11) + 1, 1) AS legal_id,
                 '13' || lpad(CAST(i % 1000000000 AS VARCHAR), 9, '0') AS phone,
                 CAST((i % 100000) * 10 + 0.5 AS VARCHAR) AS capital,
                 strftime(DATE '2000-01-01' + CAST(i % 8000 AS INTEGER), '%Y-%m-%d') AS founded,
                 CASE i % 3 WHEN 0 THEN '存续' WHEN 1 THEN '注销' ELSE '吊销' END AS status
          FROM (SELECT i,
                       '91370200' || lpad(CAST(i AS VARCHAR), 9, '0') AS b,
                       '370202' || strftime(DATE '1960-01-01' + CAST(i % 15000 AS INTEGER), '%Y%m%d')
                         || lpad(CAST(i % 1000 AS VARCHAR), 3, '0') AS r
                FROM range({rows}) t(i))
        ) TO '{path}' (HEADER)
        """
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated CSV")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pubdata-ingest-"))
    os.environ["PUBDATA_HOME"] = str(work / "home")
    csv = work / "registry.csv"
    generate(csv, args.rows)

    t0 = time.perf_counter()
    con = duckdb.connect(str(work / "raw.duckdb"))
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}', header = true)")
    raw_rows = con.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[index]
    con.close()
    raw_s = time.perf_counter() - t0

    from pubdata.authz import SYSTEM
    from pubdata.catalog import service as catalog
    from pubdata.catalog.schemas import EntryCreate
    from pubdata.db import migrate, session_scope
    from pubdata.identity import service as identity
    from pubdata.identity.schemas import OrganisationCreate
    from pubdata.store import ingest, service
    from pubdata.store.schemas import TableCreate

    migrate()
    with session_scope() as s:
        identity.create_organisation(
            s, SYSTEM, OrganisationCreate(code="qd-scjgj", name="市场监管局", kind="department")
        )
        catalog.create_entry(
            s,
            SYSTEM,
            EntryCreate(
                code="BENCH-1",
                title="市场主体登记信息",
                category="business",
                open_type="conditional",
                organisation="qd-scjgj",
            ),
        )
        rid = service.create_table(s, SYSTEM, "BENCH-1", TableCreate(name="登记", schema=SCHEMA)).resource_id
    t0 = time.perf_counter()
    with session_scope() as s:
        result = ingest.ingest(s, SYSTEM, rid, csv, home=work / "home")
    ours_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    out = {
        "benchmark": "ingest",
        "rows": args.rows,
        "pubdata_rows_per_s": round(args.rows / ours_s),
        "baseline_rows_per_s": round(raw_rows / raw_s),
        "ratio": round((args.rows / ours_s) / (raw_rows / raw_s), 3),
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "peak_rss_mb": round(peak_mb),
    }
    print(
        f"raw DuckDB read_csv: {raw_s:.2f} s   pubdata ingest (all checks): {ours_s:.2f} s   "
        f"peak RSS {out['peak_rss_mb']} MB"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()

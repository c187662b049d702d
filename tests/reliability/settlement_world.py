"""Builds benchmarks/settlement.py's world (products, plans, entitlements in bulk, a month of metered
reads in the audit trail) into the home and database named by PUBDATA_HOME and PUBDATA_DATABASE_URL,
for the settlement fault test. Run as a process of its own (the builder uses the process's default
engine): ``python tests/reliability/settlement_world.py ENTITLEMENTS CALLS [SCHEMA]``; prints the
world as JSON (the grants and the finance user's id)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import settlement as bench  # noqa: E402  (benchmarks/settlement.py)

from pubdata.db import get_engine, migrate  # noqa: E402


def main() -> None:
    entitlements, calls = int(sys.argv[1]), int(sys.argv[2])
    if len(sys.argv) > 3:
        bench.BENCH_SCHEMA = sys.argv[3]  # the schema the test's database URL searches
    url = os.environ.get("PUBDATA_DATABASE_URL")
    home = Path(os.environ["PUBDATA_HOME"])
    migrate()
    world = bench.build(entitlements)
    get_engine().dispose()  # DuckDB writes the audit records through its own connection
    con = duckdb.connect()
    bench.attach(con, url, home, writing=True)
    bench.generate_audit(con, calls, world["grants"])  # type: ignore[arg-type]
    con.execute("UPDATE db.audit_head SET length = (SELECT max(CAST(seq AS BIGINT)) FROM db.audit_record)")
    con.execute("DETACH db")
    con.close()
    if url and url.startswith("postgres"):
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE audit_record")
    get_engine().dispose()
    print(json.dumps({**world, "month": bench.MONTH}))


if __name__ == "__main__":
    main()

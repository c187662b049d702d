"""Bulk policy matching: N synthetic enterprises' facts × the five clauses of qingdao-cbec-2023,
evaluated by pubdata's vectorised pass (``engine.pack_select`` compiled from the pack's rules, as
``policy.match`` runs it: one statement over the facts Parquet, every result written to Parquet,
then counted) and by a hand-written DuckDB query for the same five rules, in the same run, the same
DuckDB settings and the same output; the two results must be identical row for row.

    python benchmarks/policy_match.py --enterprises 1000000 [--repeat 3] [--no-full] [--database-url URL]

``ratio`` = baseline seconds ÷ pubdata seconds (higher is better; target ≥ 0.67, i.e. pubdata
within 1.5× of the hand-written SQL, and pubdata under 5 s for a million enterprises), best of
``--repeat`` alternating runs; ``cpu_ratio`` compares the CPU seconds the two spent (all threads), the
steadier figure on a shared machine. With ``--full`` (the default) it then times ``match_pack`` end to end
on a fresh metadata database (SQLite under a temporary home unless ``--database-url``; on PostgreSQL a schema
of its own, dropped afterwards): the pass,
the results file, ``policy_match`` written from empty, notices, the commit; and a second forced run
that finds nothing changed.

The facts are generated deterministically in DuckDB SQL: 15% of enterprises trade across borders
(exports log-uniform from 1万 to 5亿元), 30% of those run an independent site, a few in a thousand
are provincial key platforms, parks or overseas warehouses or run a public warehouse, 1% have no
known district, and fixed strides put enterprises exactly on the rules' edges (2000万, 3000万,
5000万, 2亿, 5亿, 20亿, 40亿元; 11 and 12 months), so every clause has eligible, ineligible and
undecided enterprises. As in the real facts table, public-warehouse facts are null for enterprises
without one, so that clause is undecided for them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
from common import differences, platform_with_facts
from common import uniform as _u  # short: it is used in long SQL strings

PACK = "qingdao-cbec-2023"
BENCH_SCHEMA = "pubdata_bench_policy_match"
DISTRICTS = ("市南区", "市北区", "李沧区", "崂山区", "黄岛区", "城阳区", "即墨区", "胶州市", "平度市", "莱西市")
IN_QINGDAO = "registered_district IN (" + ", ".join(f"'{d}'" for d in DISTRICTS) + ")"


def _log_amount(tag: str, low: int, high: int) -> str:
    return f"CAST(round(exp(ln({low}) + {_u(tag)} * ln({high} / {low}))) AS BIGINT)"


def generate(path: Path, enterprises: int) -> None:
    """The facts Parquet file: ``uscc``, ``name`` and the pack's eleven inputs."""
    districts = "[" + ", ".join(f"'{d}'" for d in DISTRICTS) + "]"
    duckdb.sql(
        f"""
        COPY (
          SELECT '91370200' || lpad(CAST(i AS VARCHAR), 10, '0') AS uscc,
                 '青岛' || i || '号贸易有限公司' AS name,
                 CASE WHEN {_u("dn")} < 0.01 THEN NULL
                      ELSE {districts}[1 + CAST(floor({_u("d")} * 10) AS INTEGER)] END AS registered_district,
                 CASE WHEN NOT trader THEN 0
                      WHEN i % 997 = 1 THEN 20000000 WHEN i % 997 = 2 THEN 30000000
                      WHEN i % 997 = 3 THEN 200000000 ELSE export END AS cbec_export_amount,
                 CASE WHEN NOT trader THEN 0
                      WHEN i % 991 = 1 THEN 30000000 WHEN i % 991 = 2 THEN 50000000
                      ELSE export + {_log_amount("m", 1000, 100000000)} END AS cbec_import_export_amount,
                 CASE WHEN NOT trader OR {_u("sn")} < 0.02 THEN NULL ELSE {_u("s")} < 0.3 END AS has_independent_site,
                 CASE WHEN NOT trader THEN NULL WHEN {_u("s")} >= 0.3 THEN 0 WHEN {_u("in")} < 0.05 THEN NULL
                      ELSE {_log_amount("inv", 10000, 1000000)} END AS independent_site_investment,
                 {_u("kp")} < 0.003 AS provincial_key_platform_2022,
                 park AS provincial_key_park_2022,
                 CASE WHEN park THEN (CASE i % 7 WHEN 0 THEN 200000000 WHEN 1 THEN 500000000
                      ELSE {_log_amount("pa", 50000000, 1000000000)} END) END AS park_import_export_amount,
                 {_u("ow")} < 0.002 AS provincial_key_overseas_warehouse_2022,
                 CASE WHEN warehouse THEN (CASE i % 9 WHEN 0 THEN 11 WHEN 1 THEN 12
                      ELSE CAST(floor({_u("pm")} * 60) AS BIGINT) END) END AS public_warehouse_operating_months,
                 CASE WHEN warehouse THEN (CASE i % 5 WHEN 0 THEN 2000000000 WHEN 1 THEN 4000000000
                      ELSE {_log_amount("pt", 100000000, 8000000000)} END) END AS public_warehouse_trade_amount
          FROM (SELECT i, {_u("t")} < 0.15 AS trader, {_u("pk")} < 0.001 AS park, {_u("pw")} < 0.002 AS warehouse,
                       {_log_amount("x", 10000, 500000000)} AS export
                FROM range({enterprises}) t(i))
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)
        """
    )


def _tiers(by: str, rows: list[tuple[str, int | None, str]]) -> tuple[str, str]:
    """(amount, kind) CASE expressions for a tier table written by hand: (condition, figure, kind)."""
    amount = " ".join(f"WHEN {cond} THEN {'NULL' if fig is None else fig}" for cond, fig, _ in rows)
    kind = " ".join(f"WHEN {cond} THEN '{k}'" for cond, _, k in rows)
    return f"CAST(CASE {amount} END AS BIGINT)", f"CASE WHEN {by} IS NULL THEN 'up_to' {kind} END"


def baseline_sql(facts: Path) -> str:
    """The five rules written directly in SQL: 超过 as >, 达到 as >=, caps including the base."""
    site = f"({IN_QINGDAO} AND has_independent_site AND cbec_export_amount > 20000000)"
    # LEAST skips NULLs in DuckDB: an unknown investment must stay unknown, not become the cap
    site_amount = (
        "CASE WHEN independent_site_investment IS NULL THEN NULL "
        "ELSE GREATEST(LEAST(independent_site_investment // 2, 100000), 0) END"
    )
    platform = f"({IN_QINGDAO} AND provincial_key_platform_2022)"
    p_amount, p_kind = _tiers(
        "cbec_import_export_amount",
        [
            ("cbec_import_export_amount < 30000000", 100000, "fixed"),
            ("cbec_import_export_amount >= 30000000 AND cbec_import_export_amount < 50000000", 200000, "up_to"),
            ("cbec_import_export_amount >= 50000000", 500000, "up_to"),
        ],
    )
    park = f"({IN_QINGDAO} AND provincial_key_park_2022)"
    k_amount, k_kind = _tiers(
        "park_import_export_amount",
        [
            ("park_import_export_amount < 200000000", 100000, "fixed"),
            ("park_import_export_amount >= 200000000 AND park_import_export_amount < 500000000", 200000, "up_to"),
            ("park_import_export_amount >= 500000000", 500000, "up_to"),
        ],
    )
    overseas = f"({IN_QINGDAO} AND provincial_key_overseas_warehouse_2022)"
    o_amount, o_kind = _tiers(
        "cbec_export_amount",
        [
            ("cbec_export_amount < 30000000", 100000, "fixed"),
            ("cbec_export_amount >= 30000000 AND cbec_export_amount < 200000000", 500000, "up_to"),
            ("cbec_export_amount >= 200000000", 1000000, "up_to"),
        ],
    )
    public = f"({IN_QINGDAO} AND public_warehouse_operating_months >= 12)"
    w_amount, w_kind = _tiers(
        "public_warehouse_trade_amount",
        [
            ("public_warehouse_trade_amount <= 2000000000", None, "assessed"),
            (
                "public_warehouse_trade_amount > 2000000000 AND public_warehouse_trade_amount <= 4000000000",
                1000000,
                "up_to",
            ),  # fmt: skip
            ("public_warehouse_trade_amount > 4000000000", 2000000, "up_to"),
        ],
    )
    clauses = [
        ("independent_site", site, site_amount, "'formula'", "formula"),
        ("key_platform", platform, p_amount, p_kind, "up_to"),
        ("key_park", park, k_amount, k_kind, "up_to"),
        ("overseas_warehouse", overseas, o_amount, o_kind, "up_to"),
        ("public_warehouse", public, w_amount, w_kind, "up_to"),
    ]
    return "\nUNION ALL\n".join(
        f"SELECT uscc AS enterprise, '{cid}' AS clause, {when} AS eligible, "
        f"CASE WHEN {when} THEN {amount} END AS amount, "
        f"CASE WHEN {when} THEN {kind} ELSE '{other}' END AS amount_kind, "
        # the pack scores nothing: its result rows carry empty score columns, as pubdata's do
        "NULL::DECIMAL(18, 4) AS score, NULL::DECIMAL(18, 4) AS score_min, NULL::DECIMAL(18, 4) AS score_max "
        f"FROM read_parquet('{facts}')"
        for cid, when, amount, kind, other in clauses
    )


SUMMARY = (
    "SELECT count(*), count(*) FILTER (WHERE eligible), count(*) FILTER (WHERE eligible IS NULL), "
    "coalesce(sum(amount) FILTER (WHERE eligible), 0) FROM read_parquet('{path}')"
)


def baseline_pass(con: duckdb.DuckDBPyConnection, facts: Path, target: Path) -> tuple[int, ...]:
    """The hand-written query doing what pubdata's pass does: write every result, then count."""
    con.execute(f"COPY ({baseline_sql(facts)}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)")
    row = con.execute(SUMMARY.format(path=target)).fetchone()
    con.execute(f"SELECT count(*) FROM read_parquet('{facts}')").fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


def full_match(work: Path, facts: Path, enterprises: int, database_url: str | None) -> dict[str, float | int]:
    """``match_pack`` end to end on a fresh metadata database: first run, then a forced rerun."""
    out: dict[str, float | int] = {}
    with platform_with_facts(work, facts, enterprises, 2022, database_url, BENCH_SCHEMA) as home:
        from pubdata.authz import SYSTEM
        from pubdata.db import session_scope
        from pubdata.policy.matching import match

        for label, force in (("first", False), ("rerun", True)):
            t0 = time.perf_counter()
            with session_scope() as s:
                run = match.match_pack(s, SYSTEM, PACK, home=home, force=force)
            out[f"match_pack_{label}_s"] = round(time.perf_counter() - t0, 3)
            out[f"match_pack_{label}_notices"] = run.newly_eligible
        with session_scope() as s:
            out["policy_match_rows"] = sum(match.match_counts(s, PACK).values())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=1_000_000, help="synthetic enterprises in the facts")
    parser.add_argument("--repeat", type=int, default=3, help="passes each way, alternating; best of each")
    parser.add_argument("--full", action=argparse.BooleanOptionalAction, default=True, help="also time match_pack")
    parser.add_argument("--database-url", default=None, help="metadata database for --full (default: SQLite)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pubdata-policy-match-"))
    try:
        run(args.enterprises, args.repeat, args.full, args.database_url, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(enterprises: int, repeat: int, full: bool, database_url: str | None, work: Path) -> None:
    os.environ["PUBDATA_HOME"] = str(work / "home")
    from pubdata import duck
    from pubdata.policy.matching import match
    from pubdata.policy.packs.pack import load_pack

    facts = work / "facts.parquet"
    t0 = time.perf_counter()
    generate(facts, enterprises)
    generated_s = time.perf_counter() - t0
    pack = load_pack(PACK)
    ours_file, base_file = work / "pubdata.parquet", work / "baseline.parquet"
    con = duck.batch_connection(work / "spill")  # the connection match_pack uses: same memory limit and threads
    ours_best = base_best = ours_cpu = base_cpu = float("inf")
    summary = None
    base_counts: tuple[int, ...] = ()
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        base_counts = baseline_pass(con, facts, base_file)
        base_best = min(base_best, time.perf_counter() - t0)
        base_cpu = min(base_cpu, time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        summary = match.run_pass(con, pack, facts, ours_file)
        ours_best = min(ours_best, time.perf_counter() - t0)
        ours_cpu = min(ours_cpu, time.process_time() - c0)
    assert summary is not None
    ours_counts = (summary.pairs, summary.eligible, summary.undecided, summary.total_amount)
    diff = differences(con, ours_file, base_file)
    assert diff == 0 and ours_counts == base_counts, f"results differ: {diff} rows; {ours_counts} vs {base_counts}"
    per_clause = con.execute(
        f"SELECT clause, count(*) FILTER (WHERE eligible), count(*) FILTER (WHERE NOT eligible), "
        f"count(*) FILTER (WHERE eligible IS NULL) FROM read_parquet('{ours_file}') GROUP BY clause ORDER BY clause"
    ).fetchall()
    con.close()
    for clause, yes, no, unknown in per_clause:
        assert yes and no, f"{clause}: every clause needs eligible and ineligible enterprises"
        print(f"  {clause:<20} eligible {yes:>9,}  not {no:>9,}  undecided {unknown:>9,}")
    print(
        f"facts generated: {enterprises:,} enterprises in {generated_s:.2f} s; results identical "
        f"({summary.pairs:,} pairs, {summary.eligible:,} eligible, {summary.undecided:,} undecided, "
        f"{summary.total_amount:,} yuan)"
    )
    print(
        f"hand-written DuckDB SQL: {base_best:.3f} s ({base_cpu:.2f} s CPU)   "
        f"pubdata pack_select pass: {ours_best:.3f} s ({ours_cpu:.2f} s CPU)   ratio {base_best / ours_best:.3f}"
    )
    out: dict[str, object] = {
        "benchmark": "policy_match",
        "enterprises": enterprises,
        "pubdata_s": round(ours_best, 3),
        "baseline_s": round(base_best, 3),
        "ratio": round(base_best / ours_best, 3),
        "pubdata_cpu_s": round(ours_cpu, 2),
        "baseline_cpu_s": round(base_cpu, 2),
        "cpu_ratio": round(base_cpu / ours_cpu, 3),
        "pairs": summary.pairs,
        "eligible": summary.eligible,
        "undecided": summary.undecided,
        "identical": True,
    }
    if full:
        figures = full_match(work, facts, enterprises, database_url)
        print(
            f"match_pack end to end: first run {figures['match_pack_first_s']} s "
            f"({figures['policy_match_rows']:,} rows kept, {figures['match_pack_first_notices']:,} notices), "
            f"forced rerun {figures['match_pack_rerun_s']} s ({figures['match_pack_rerun_notices']} notices)"
        )
        out.update(figures)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

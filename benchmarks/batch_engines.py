"""Batch engines: one batch job run by pubdata on DuckDB and on Apache Spark (local mode) over the
same synthetic facts, in the same run; the two result files must be identical row for row.

    python benchmarks/batch_engines.py --enterprises 1000000 [--job score|match] [--repeat 3]
        [--master local[2]]

``score``: every enterprise scored with the shipped expert card (``finance.service.score_pass``, the
facts of ``benchmarks/credit.py``); ``match``: the cross-border e-commerce pack's clauses for every
enterprise (``policy.matching.match.run_pass``, the facts of ``benchmarks/policy_match.py``). Both
engines run the same ``batch.Query`` through the same DuckDB writer (see docs/spark.md).

Spark's costs are reported apart: ``spark_start_s`` (the JVM and the SparkSession) and
``spark_first_s`` (the first pass: planning and JIT warm-up). ``ratio`` = DuckDB seconds ÷ Spark
seconds, both warm (best of ``--repeat`` alternating passes after one untimed pass each): above 1.0
Spark is faster. On one machine DuckDB is expected to win; the figure says by how much.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=1_000_000, help="synthetic enterprises in the facts")
    parser.add_argument("--job", choices=("score", "match"), default="score", help="which batch job")
    parser.add_argument("--repeat", type=int, default=3, help="warm passes each way, alternating; best of each")
    parser.add_argument("--master", default="local[2]", help="Spark master (PUBDATA_SPARK_MASTER)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pubdata-batch-engines-"))
    try:
        run(args.enterprises, args.job, args.repeat, args.master, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(enterprises: int, job: str, repeat: int, master: str, work: Path) -> None:
    os.environ["PUBDATA_HOME"] = str(work / "home")
    os.environ["PUBDATA_SPARK_MASTER"] = master
    (work / "home").mkdir()
    from pubdata import duck
    from pubdata.batch import spark

    facts = work / "facts.parquet"
    t0 = time.perf_counter()
    passes: Callable[[str, Path], object]
    if job == "score":
        import credit

        from pubdata.finance import service
        from pubdata.finance.scorecards.card import load_card

        credit.generate(facts, enterprises)
        card = load_card("expert")

        def passes(engine: str, target: Path) -> object:
            s = service.score_pass(con, card, facts, credit.FACTS_YEAR, target, engine=engine)
            return (s.enterprises, s.grades, s.mean_score, s.distribution)
    else:
        import policy_match

        from pubdata.policy.matching import match
        from pubdata.policy.packs.pack import load_pack

        policy_match.generate(facts, enterprises)
        pack = load_pack(policy_match.PACK)

        def passes(engine: str, target: Path) -> object:
            return match.run_pass(con, pack, facts, target, engine=engine)

    generated_s = time.perf_counter() - t0
    con = duck.batch_connection(work / "spill")  # the connection the jobs use: same memory limit and threads
    t0 = time.perf_counter()
    spark.session()
    start_s = time.perf_counter() - t0
    files = {e: work / f"{e}.parquet" for e in ("duckdb", "spark")}
    t0 = time.perf_counter()
    spark_summary = passes("spark", files["spark"])
    first_s = time.perf_counter() - t0
    duck_summary = passes("duckdb", files["duckdb"])
    best = {"duckdb": float("inf"), "spark": float("inf")}
    for _ in range(repeat):
        for engine in ("duckdb", "spark"):
            shutil.rmtree(work / "engine", ignore_errors=True)
            t0 = time.perf_counter()
            passes(engine, files[engine])
            best[engine] = min(best[engine], time.perf_counter() - t0)
    diff = differences(con, files["duckdb"], files["spark"])
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{files['duckdb']}')").fetchone()
    con.close()
    assert diff == 0 and duck_summary == spark_summary, f"results differ: {diff} rows"
    assert rows and rows[0] > 0
    spark.stop()
    ratio = best["duckdb"] / best["spark"]
    print(
        f"{job}: {enterprises:,} enterprises (facts generated in {generated_s:.2f} s), {rows[0]:,} result rows, "
        f"identical on both engines"
    )
    print(f"Spark ({master}): session start {start_s:.2f} s, first pass {first_s:.2f} s (cold)")
    print(
        f"warm, best of {repeat}: DuckDB {best['duckdb']:.3f} s   Spark {best['spark']:.3f} s   "
        f"ratio {ratio:.3f} (DuckDB ÷ Spark; above 1.0 Spark is faster)"
    )
    out = {
        "benchmark": "batch_engines",
        "job": job,
        "enterprises": enterprises,
        "master": master,
        "duckdb_s": round(best["duckdb"], 3),
        "spark_s": round(best["spark"], 3),
        "spark_start_s": round(start_s, 2),
        "spark_first_s": round(first_s, 2),
        "ratio": round(ratio, 3),
        "identical": True,
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

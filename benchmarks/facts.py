"""Building the enterprise facts table (一企一档) for a city of N enterprises: pubdata's
``enterprise.build_facts`` (the read path's relations, the build's own bounded DuckDB, staging and
atomic publish, the version row, audit) next to the same facts query run by raw DuckDB in-process
over the same Parquet files (the baseline).

    python benchmarks/facts.py [--enterprises 1000000] [--work DIR] [--memory-limit 4GB] [--rounds 2]

The source tables are the demo city's generators (``demo.record_anchors``) sized for N
enterprises as a city of 250 × N records would have them (monthly social insurance for 36 months,
five tax years, three trade years, patents, lists…), typed as the ingest would store them and
registered as published versions directly (the load path has its own benchmark); they are generated
once, in a child process, and cached under --work, so this process's peak memory is the builds'.
Checks that both produce the same facts row for row (not only as many) and prints the timings and
one JSON line (DESIGN.md §6) where ``ratio`` = baseline seconds / pubdata
seconds (higher is better; 1.0 means no overhead over raw DuckDB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
from common import differences

SEED = 20230306
RECORDS_PER_ENTERPRISE = 250
BASELINE_YEAR = 2022  # both runs build the facts of this year (pubdata's default may differ)


def _sizes(enterprises: int) -> Any:
    from pubdata.demo.record_anchors import Sizes

    return Sizes(records=enterprises * RECORDS_PER_ENTERPRISE, enterprises=enterprises, persons=1000)


def _datasets(enterprises: int) -> list[Any]:
    from pubdata.demo import entries
    from pubdata.demo.record_anchors import BY_CODE
    from pubdata.enterprise.facts import SOURCES

    codes = {c for s in SOURCES.values() for c in s.entry_codes}
    items, _ = entries.compose(SEED)
    return [BY_CODE[e.code](e, _sizes(enterprises), SEED) for e in items if e.code in codes]


def generate(work: Path, enterprises: int) -> None:
    """The enterprise key table and each source table as typed Parquet, written by DuckDB."""
    from pubdata.demo import records
    from pubdata.demo.record_sql import Gen
    from pubdata.store import table_schema

    work.mkdir(parents=True, exist_ok=True)
    key_table = work / "enterprises.parquet"
    records.enterprise_table(key_table, _sizes(enterprises), SEED)
    con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB", "temp_directory": str(work / "spill")})
    for ds in _datasets(enterprises):
        schema = table_schema.parse_schema(ds.schema)
        typed = ", ".join(f'TRY_CAST("{f.name}" AS {table_schema.duckdb_type(f)}) AS "{f.name}"' for f in schema.fields)
        sql = ds.sql(SEED, str(key_table), Gen(SEED, "persons", row="_pi"))
        target = work / f"{ds.code}.parquet"
        con.execute(f"COPY (SELECT {typed} FROM ({sql})) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        (work / f"{ds.code}.schema.json").write_text(json.dumps(ds.schema, ensure_ascii=False))
    con.close()
    (work / "done").write_text(str(enterprises))


def register(home: Path, work: Path) -> dict[str, Path]:
    """The source entries, each with a table whose version 1 is the generated file (by entry code)."""
    os.environ["PUBDATA_HOME"] = str(home)
    from pubdata.authz import SYSTEM
    from pubdata.catalog import service as catalog
    from pubdata.catalog.schemas import EntryCreate
    from pubdata.db import migrate, session_scope, utcnow
    from pubdata.enterprise.facts import SOURCES
    from pubdata.identity import service as identity
    from pubdata.identity.schemas import OrganisationCreate
    from pubdata.store import files, service
    from pubdata.store.models import StoreTable, StoreVersion
    from pubdata.store.schemas import TableCreate

    migrate()
    paths = {}
    with session_scope() as session:
        identity.create_organisation(
            session, SYSTEM, OrganisationCreate(code="bench-dept", name="基准测试部门", kind="department")
        )
        for code, source in ((c, s) for s in SOURCES.values() for c in s.entry_codes):
            parquet = work / f"{code}.parquet"
            schema = json.loads((work / f"{code}.schema.json").read_text())
            entry = catalog.create_entry(
                session,
                SYSTEM,
                EntryCreate(
                    code=code,
                    title=source.title,
                    category="business",
                    open_type="conditional",
                    organisation="bench-dept",
                    fields=[{"name": "uscc", "label": "统一社会信用代码", "type": "string"}],
                ),
            )
            table = service.create_table(session, SYSTEM, entry.code, TableCreate(name="数据明细", schema=schema))
            target = files.version_dir(home, table.resource_id, 1)
            target.mkdir(parents=True)
            os.link(parquet, target / files.DATA_FILE)
            rows = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone()
            session.add(
                StoreVersion(
                    resource_id=table.resource_id,
                    number=1,
                    state="published",
                    source_name=parquet.name,
                    source_format="parquet",
                    rows_loaded=rows[0] if rows else 0,
                    published_at=utcnow(),
                )
            )
            stored = session.get(StoreTable, table.resource_id)
            assert stored is not None
            stored.current_version = 1
            paths[code] = parquet
    return paths


def baseline(paths: dict[str, Path], work: Path, memory_limit: str, threads: int) -> tuple[float, int]:
    """The facts query over the files themselves, written to Parquet the same way."""
    from pubdata.enterprise import build
    from pubdata.enterprise import facts as catalogue
    from pubdata.enterprise.service import PARQUET_OPTIONS

    sources_file = catalogue.refresh()
    sources: dict[str, build.Source | None] = {}
    for spec in sources_file.table_sources:
        members = []
        unique = False
        for code in spec.entries:
            path = paths[code]
            schema = json.loads((path.parent / f"{path.stem}.schema.json").read_text())
            units = {f["name"]: f.get("unit") for f in schema["fields"]}
            relation = f"(SELECT file_row_number AS _rn, * FROM read_parquet('{path}', file_row_number = true))"
            members.append(build.Member(relation, units))
            unique = schema.get("primaryKey") == [spec.key_column]
        sources[spec.key] = build.Source(tuple(members), unique_key=unique)
    sql = build.facts_sql(sources_file, sources, BASELINE_YEAR)
    out = work / "baseline-facts.parquet"
    spill = Path(tempfile.mkdtemp(dir=work))
    config = {"memory_limit": memory_limit, "threads": threads, "temp_directory": str(spill)}
    con = duckdb.connect(config={**config, "preserve_insertion_order": False})  # as the build runs
    started = time.perf_counter()
    con.execute(f"COPY ({sql}) TO '{out}' {PARQUET_OPTIONS}")
    seconds = time.perf_counter() - started
    row = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()
    con.close()
    return seconds, int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None, help="Cache of the generated tables (default: a temp dir)")
    parser.add_argument("--memory-limit", default="4GB", help="PUBDATA_DUCKDB_MEMORY_LIMIT for both runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="Runs of each; the best counts")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = (args.work or Path(tempfile.gettempdir()) / f"pubdata-bench-facts-{args.enterprises}").resolve()
    if args.generate_only:
        generate(work, args.enterprises)
        return
    if not (work / "done").exists():
        print(f"generating sources for {args.enterprises:,} enterprises in {work} …", file=sys.stderr)
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--generate-only", "--enterprises", str(args.enterprises),
                        "--work", str(work)], check=True)  # fmt: skip
        print(f"  generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    source_rows = sum(
        duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{p}')").fetchone()[0]  # type: ignore[index]
        for p in work.glob("QD-*.parquet")
    )
    os.environ["PUBDATA_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
    os.environ["PUBDATA_DUCKDB_THREADS"] = str(args.threads)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        home = Path(tmp) / "home"
        paths = register(home, work)
        from pubdata.authz import SYSTEM
        from pubdata.db import session_scope
        from pubdata.enterprise import service

        # alternate the two, best of --rounds each, so neither profits from a cache the other warmed
        base_times, times = [], []
        for _ in range(args.rounds):
            base_seconds, base_rows = baseline(paths, work, args.memory_limit, args.threads)
            base_times.append(base_seconds)
            started = time.perf_counter()
            with session_scope() as session:
                result = service.build_facts(
                    session, SYSTEM, home=home, year=BASELINE_YEAR, force=True, via="benchmark"
                )
            times.append(time.perf_counter() - started)
        base_seconds, seconds = min(base_times), min(times)
        assert result.version.enterprises == base_rows, (result.version.enterprises, base_rows)
        # the same facts, row for row, not only as many (the last build of each)
        from pubdata.enterprise import files as facts_files

        ours = facts_files.facts_file(home, result.version.number)
        diff = differences(duckdb.connect(), ours, work / "baseline-facts.parquet")
        assert diff == 0, f"pubdata's facts differ from the baseline's in {diff} rows"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"source rows {source_rows:,}; enterprises {base_rows:,}", file=sys.stderr)
    print(f"pubdata build_facts  {seconds:8.2f} s  (DuckDB pass {result.version.seconds:.2f} s)", file=sys.stderr)
    print(f"raw DuckDB baseline  {base_seconds:8.2f} s", file=sys.stderr)
    print(f"peak RSS of the builds {peak_mb:,.0f} MB (memory limit {args.memory_limit})", file=sys.stderr)
    print(
        json.dumps(
            {
                "benchmark": "facts_build",
                "enterprises": base_rows,
                "source_rows": source_rows,
                "pubdata_seconds": round(seconds, 2),
                "baseline_seconds": round(base_seconds, 2),
                "pubdata_enterprises_per_s": round(base_rows / seconds),
                "baseline_enterprises_per_s": round(base_rows / base_seconds),
                "ratio": round(base_seconds / seconds, 3),
                "peak_rss_mb": round(peak_mb),
                "memory_limit": args.memory_limit,
                "rounds": args.rounds,
                "identical": True,
            }
        )
    )


if __name__ == "__main__":
    main()

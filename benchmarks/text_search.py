"""Full-text ``q`` over a large table: CKAN ``datastore_search`` with ``q`` through pubdata's HTTP API (a
real uvicorn server in a subprocess, answering from the version's text index), next to SQLite FTS5
(trigram tokenizer: substring matching, as ``q`` means) answering the same words over the same rows.

    python benchmarks/text_search.py [--rows 2000000] [--work DIR] [--no-scan]

The table is outpatient-visit-like (patient name and ID number, hospital, diagnosis and its code,
date, cost), generated once by DuckDB and cached under --work. It is registered as a published version
directly (the load path has its own benchmark) and its text index is built by the same function
ingest calls (timed: ``index_build_s``, next to FTS5's ``fts_build_s``). Every query asks for the
first 100 matching rows in row order and the exact total, on both sides; the rows' ids and the totals
are checked equal.

Cold: each word set is asked once, the first time in the server process (no cached total), and
SQLite opens a fresh connection for it (no page cache); the OS file cache is warm for both (both
sides' files are read through once before the queries). Warm: the
same queries again. With --no-scan skipped, the same queries also run against a copy of the version
without its index (pubdata's scan, the figure before the index: not a peer, reported for reference).
Prints p50/max per system and one JSON line (DESIGN.md §6): ``ratio`` = FTS5 cold p50 / pubdata cold
p50, ``ratio_warm`` = FTS5 warm p50 / pubdata warm p50 (higher is better). Target: pubdata cold ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
from rows import free_port, wait_for

SCHEMA = {
    "fields": [
        {"name": "patient_name", "type": "string", "title": "患者姓名"},
        {"name": "patient_id", "type": "string", "title": "身份证号"},
        {"name": "hospital_name", "type": "string", "title": "医疗机构"},
        {"name": "visit_date", "type": "date", "title": "就诊日期"},
        {"name": "diagnosis", "type": "string", "title": "诊断"},
        {"name": "diagnosis_code", "type": "string", "title": "诊断编码"},
        {"name": "total_cost", "type": "number", "semanticType": "amount", "title": "费用（元）"},
    ]
}
TEXT = ["patient_name", "patient_id", "hospital_name", "diagnosis", "diagnosis_code"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞平刚桂兰华红玉建国志文海燕鹏飞宇浩然晨阳"
PLACES = ["市南区", "市北区", "李沧区", "崂山区", "黄岛区", "城阳区", "即墨区", "胶州市", "平度市", "莱西市"]
KINDS = ["人民医院", "中医医院", "妇幼保健院", "社区卫生服务中心", "卫生院", "口腔医院"]
DIAGNOSES = [("高血压", "I10"), ("2型糖尿病", "E11"), ("急性上呼吸道感染", "J06"), ("慢性胃炎", "K29"),
             ("冠心病", "I25"), ("急性支气管炎", "J20"), ("腰椎间盘突出症", "M51"), ("过敏性鼻炎", "J30"),
             ("龋齿", "K02"), ("失眠", "G47"), ("高脂血症", "E78"), ("骨质疏松症", "M81"), ("脑梗死", "I63"),
             ("慢性阻塞性肺疾病", "J44"), ("痛风", "M10"), ("甲状腺功能亢进症", "E05")]  # fmt: skip
# Each at least three characters (FTS5's trigram tokenizer matches substrings of three or more).
QUERIES = ["高血压", "崂山区人民医院", "糖尿病 黄岛区", "脑梗死 中医医院 即墨区", "370212", "张秀英",
           "慢性阻塞性肺疾病 莱西市", "370285196", "口腔医院 过敏性鼻炎 370203", "没有这个词"]  # fmt: skip


def generate(path: Path, rows: int) -> None:
    """The visits as Parquet: about one person per 15 visits, each with a fixed name and ID number."""
    con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB", "preserve_insertion_order": True})
    persons = max(1000, rows // 15)

    def pick(items: list[str], h: str) -> str:
        return f"({json.dumps(items, ensure_ascii=False)})[1 + ({h} % {len(items)})::INT]".replace('"', "'")

    surname = pick(list(SURNAMES), "hash(p * 7 + 1)")
    given1 = pick(list(GIVEN), "hash(p * 7 + 2)")
    given2 = pick(["", *GIVEN], "hash(p * 7 + 3)")
    hospital = f"{pick(PLACES, 'hash(i * 5 + 4) % 97')} || {pick(KINDS, 'hash(i * 5 + 5)')}"
    codes = [370202, 370203, 370211, 370212, 370213, 370214, 370215, 370281, 370283, 370285]
    diag = "hash(i * 5 + 6)"
    con.execute(
        f"""COPY (SELECT
            {surname} || {given1} || {given2} AS patient_name,
            CAST(({codes})[1 + (hash(p * 7 + 4) % 10)::INT] AS VARCHAR)
              || strftime(DATE '1940-01-01' + CAST(hash(p * 7 + 5) % 29000 AS INTEGER), '%Y%m%d')
              || lpad(CAST(hash(p * 7 + 6) % 10000 AS VARCHAR), 4, '0') AS patient_id,
            {hospital} AS hospital_name,
            DATE '2020-01-01' + CAST(hash(i * 5 + 7) % 1000 AS INTEGER) AS visit_date,
            {pick([d for d, _ in DIAGNOSES], diag)} AS diagnosis,
            {pick([c for _, c in DIAGNOSES], diag)} AS diagnosis_code,
            CAST((hash(i * 5 + 8) % 200000) / 100.0 AS DECIMAL(18,2)) AS total_cost
          FROM (SELECT i, hash(i * 5 + 9) % {persons} AS p FROM range({rows}) t(i)))
          TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"""
    )
    con.close()


def register(home: Path, parquet: Path, rows: int, scan: bool) -> tuple[str, str | None, float]:
    """A department and an open entry whose table's version 1 is ``parquet``, its text index built by
    ingest's own function; with ``scan``, a second such entry without the index. Returns the resource
    ids and the index build time (s)."""
    os.environ["PUBDATA_HOME"] = str(home)
    from pubdata.authz import SYSTEM
    from pubdata.catalog import service as catalog
    from pubdata.catalog.schemas import EntryCreate
    from pubdata.db import migrate, session_scope, utcnow
    from pubdata.identity import service as identity
    from pubdata.identity.schemas import OrganisationCreate
    from pubdata.store import files, service, table_schema
    from pubdata.store.ingest import text_index
    from pubdata.store.models import StoreTable, StoreVersion
    from pubdata.store.schemas import TableCreate

    migrate()

    def one(session: Any, code: str, indexed: bool) -> tuple[str, float]:
        entry = catalog.create_entry(
            session,
            SYSTEM,
            EntryCreate(code=code, title=f"基准测试：门诊就诊记录 {code}", category="medical",
                        open_type="unconditional", organisation="bench-dept",
                        fields=[{"name": "diagnosis", "label": "诊断", "type": "string"}]),
        )  # fmt: skip
        table = service.create_table(session, SYSTEM, entry.code, TableCreate(name="就诊记录", schema=SCHEMA))
        target = files.version_dir(home, table.resource_id, 1)
        target.mkdir(parents=True)
        os.link(parquet, target / files.DATA_FILE)
        took = 0.0
        if indexed:
            con = duckdb.connect(config={"threads": 2, "memory_limit": "2GB", "preserve_insertion_order": True})
            t0 = time.perf_counter()
            text_index.build(con, table_schema.parse_schema(SCHEMA), target)
            took = time.perf_counter() - t0
            con.close()
        session.add(StoreVersion(resource_id=table.resource_id, number=1, state="published", source_name=parquet.name,
                                 source_format="parquet", rows_loaded=rows, published_at=utcnow()))  # fmt: skip
        stored = session.get(StoreTable, table.resource_id)
        assert stored is not None
        stored.current_version = 1
        return table.resource_id, took

    with session_scope() as session:
        identity.create_organisation(
            session, SYSTEM, OrganisationCreate(code="bench-dept", name="基准测试部门", kind="department")
        )
        rid, took = one(session, "BENCH-TEXT-1", True)
        plain = one(session, "BENCH-TEXT-2", False)[0] if scan else None
        return rid, plain, took


def to_fts(parquet: Path, db: Path) -> float:
    """The same rows in SQLite: a plain table (rowid = _id) and an FTS5 trigram index over the text
    columns (external content). Returns the FTS build time (s)."""
    tmp = db.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    out = sqlite3.connect(tmp)
    out.execute("PRAGMA journal_mode=OFF")
    out.execute("PRAGMA synchronous=OFF")
    out.execute(f"CREATE TABLE visits (_id INTEGER PRIMARY KEY, {', '.join(TEXT)}, visit_date, total_cost)")
    con = duckdb.connect()
    reader = con.execute(
        f"SELECT file_row_number + 1, {', '.join(TEXT)}, CAST(visit_date AS VARCHAR), CAST(total_cost AS DOUBLE) "
        f"FROM read_parquet('{parquet}', file_row_number = true)"
    ).to_arrow_reader(500_000)
    for batch in reader:
        out.executemany(f"INSERT INTO visits VALUES ({', '.join('?' * (len(TEXT) + 3))})",
                        zip(*batch.to_pydict().values(), strict=True))  # fmt: skip
        out.commit()
    t0 = time.perf_counter()
    out.execute(
        f"CREATE VIRTUAL TABLE visits_fts USING fts5({', '.join(TEXT)}, content='visits', content_rowid='_id', "
        "tokenize='trigram')"
    )
    out.execute("INSERT INTO visits_fts(visits_fts) VALUES ('rebuild')")
    out.commit()
    took = time.perf_counter() - t0
    out.close()
    tmp.rename(db)
    return took


def fts_query(con: sqlite3.Connection, words: str) -> tuple[list[int], int]:
    match = " AND ".join('"' + w.replace('"', '""') + '"' for w in words.split())
    ids = [r[0] for r in con.execute("SELECT rowid FROM visits_fts WHERE visits_fts MATCH ? ORDER BY rowid LIMIT 100",
                                     [match])]  # fmt: skip
    rows = con.execute(f"SELECT * FROM visits WHERE _id IN ({','.join('?' * len(ids))})", ids).fetchall()
    assert len(rows) == len(ids)
    total = con.execute("SELECT count(*) FROM visits_fts WHERE visits_fts MATCH ?", [match]).fetchone()[0]
    return ids, int(total)


def into_os_cache(*paths: Path) -> None:
    """Read files through once, so that "cold" means the same on both sides: nothing read yet by the
    server or by SQLite, every file in the OS cache (a large SQLite file written long ago may have been
    evicted, while pubdata's version files were just written)."""
    for path in paths:
        for one in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            with one.open("rb") as f:
                while f.read(1 << 24):
                    pass


def serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PUBDATA_HOME": str(home), "PUBDATA_QUERY_TIMEOUT_S": "600"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pubdata.app:create_app", "--factory", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/api/v1/vocabularies")
    return server, base


def pubdata_query(client: httpx.Client, rid: str, words: str) -> tuple[list[int], int]:
    r = client.post("/api/3/action/datastore_search", json={"resource_id": rid, "q": words, "limit": 100})
    r.raise_for_status()
    result = r.json()["result"]
    return [rec["_id"] for rec in result["records"]], int(result["total"])


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows in the table (size argument)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pubdata-bench-text"))
    parser.add_argument("--no-scan", action="store_true", help="skip the same queries over a version without index")
    args = parser.parse_args()
    work = args.work / str(args.rows)
    work.mkdir(parents=True, exist_ok=True)
    parquet = work / "visits.parquet"
    if not parquet.exists():
        generate(parquet, args.rows)
    fts_db = work / "visits.sqlite3"
    fts_build = None  # cached from an earlier run
    if not fts_db.exists():
        fts_build = to_fts(parquet, fts_db)
    home = work / f"home-{os.getpid()}"
    rid, plain, index_build = register(home, parquet, args.rows, scan=not args.no_scan)

    results: dict[str, dict[str, list[float]]] = {"pubdata": {"cold": [], "warm": []}, "fts5": {"cold": [], "warm": []},
                                                  "scan": {"cold": []}}  # fmt: skip
    answers: dict[str, tuple[list[int], int]] = {}
    into_os_cache(fts_db, home / "store")
    server, base = serve(home)
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            pubdata_query(client, rid, "预热")  # a running server: it has answered a q before (another word)
            for state in ("cold", "warm"):
                for words in QUERIES:
                    ms, answers[words] = timed(lambda w=words: pubdata_query(client, rid, w))
                    results["pubdata"][state].append(ms)
            if plain:
                pubdata_query(client, plain, "预热")
                for words in QUERIES:
                    ms, got = timed(lambda w=words: pubdata_query(client, plain, w))
                    assert got == answers[words], words
                    results["scan"]["cold"].append(ms)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(home)  # this run's version and index (the generated rows and FTS5 stay cached)
    warm_con = sqlite3.connect(fts_db)
    for words in QUERIES:
        con = sqlite3.connect(fts_db)
        ms, got = timed(lambda w=words, c=con: fts_query(c, w))
        con.close()
        assert got == answers[words], (words, got[1], answers[words][1])
        results["fts5"]["cold"].append(ms)
        fts_query(warm_con, words)
        ms, _ = timed(lambda w=words: fts_query(warm_con, w))
        results["fts5"]["warm"].append(ms)

    def p50(system: str, state: str) -> float:
        return round(statistics.median(results[system][state]), 1)

    for system, states in results.items():
        for state, times in states.items():
            if times:
                print(
                    f"{system:8} {state}: p50 {p50(system, state):8.1f} ms, max {max(times):8.1f} ms", file=sys.stderr
                )
    for k, words in enumerate(QUERIES):
        cold = results["pubdata"]["cold"][k], results["fts5"]["cold"][k]
        print(f"  {words}: total {answers[words][1]}, cold {cold[0]:.1f} ms (FTS5 {cold[1]:.1f} ms)", file=sys.stderr)
    figures = {
        "benchmark": "text_search",
        "rows": args.rows,
        "queries": len(QUERIES),
        "pubdata_cold_p50_ms": p50("pubdata", "cold"),
        "pubdata_cold_max_ms": round(max(results["pubdata"]["cold"]), 1),
        "pubdata_warm_p50_ms": p50("pubdata", "warm"),
        "fts5_cold_p50_ms": p50("fts5", "cold"),
        "fts5_cold_max_ms": round(max(results["fts5"]["cold"]), 1),
        "fts5_warm_p50_ms": p50("fts5", "warm"),
        "scan_cold_p50_ms": p50("scan", "cold") if results["scan"]["cold"] else None,
        "index_build_s": round(index_build, 2),
        "fts_build_s": None if fts_build is None else round(fts_build, 2),
        "ratio": round(p50("fts5", "cold") / p50("pubdata", "cold"), 2),
        "ratio_warm": round(p50("fts5", "warm") / p50("pubdata", "warm"), 2),
    }
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Semantic-type validation as ingestion runs it, against a per-row python-stdnum loop.

Generates N rows in DuckDB, one column per semantic kind (about 3% of values corrupted), and checks
every value of every column with the store's ingest check (``pubdata.store.ingest.load._check``: the
one streamed query from the text as written to normalised values and per-row problems, the
NumPy check-character pass, the problem rows) — what ``ingest`` runs between reading the file and
writing Parquet. The per-row Python baseline runs over a sample of the same rows: python-stdnum for
the unified social credit code (its check-character routine, via ``pubdata.standards.uscc_problem``,
since ``uscc.validate`` rejects letter-first codes) and the resident ID number (``stdnum.cn.ric``),
and the equivalent ``re`` / ``datetime`` / ``Decimal`` checks for the other kinds. Prints rows/s
for both, the ratio, whether the two agree on the invalid counts of the identifier columns, then
one JSON line (DESIGN.md §6).

    python benchmarks/validation.py [--rows 1000000] [--sample 100000] [--threads N]

``ratio`` = pubdata rows/s ÷ baseline rows/s (higher is better).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import time
import unicodedata
from decimal import Decimal, InvalidOperation

import duckdb
from stdnum.cn import ric

from pubdata.standards import uscc_problem
from pubdata.store import table_schema
from pubdata.store.ingest import load as ingest
from pubdata.store.ingest.semantic import USCC_ALPHABET, resident_id_check_sql, uscc_check_sql

COLUMNS = {
    "uscc": "uscc",
    "resident_id": "resident_id",
    "mobile": "mobile",
    "phone": "phone",
    "postcode": "postcode",
    "email": "email",
    "division_code": "division_code",
    "person_name": "person_name",
    "address": "address",
    "amount": "amount",
    "founded": "date",
}


# The fields as a table schema would declare them (the type each semantic kind allows).
_TYPES = {"amount": "number", "date": "date"}
SCHEMA = table_schema.parse_schema(
    {
        "fields": [
            {"name": name, "type": _TYPES.get(kind, "string")} | ({} if kind == "date" else {"semanticType": kind})
            for name, kind in COLUMNS.items()
        ]
    }
)


def invalid_counts(con: duckdb.DuckDBPyConnection, below: int | None = None) -> dict[str, int]:
    """Invalid values per column among the ingest check's problem rows (rows numbered from 0)."""
    where = "" if below is None else f"WHERE rid < {int(below)}"
    found = dict(
        con.execute(
            f"SELECT p.col, count(*) FROM (SELECT unnest(problems) AS p FROM problem_rows {where}) GROUP BY 1"
        ).fetchall()
    )
    return {name: int(found.get(name, 0)) for name in COLUMNS}


def generate(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    a = f"'{USCC_ALPHABET}'"
    body_chars = " || ".join(f"substr({a}, CAST(floor(random() * 31) AS INTEGER) + 1, 1)" for _ in range(9))
    con.execute("SELECT setseed(0.32100)")
    con.execute(
        f"""
        CREATE TABLE raw AS SELECT
          i,
          substr('91915NY', CAST(floor(random() * 7) AS INTEGER) + 1, 1) || '1'
            || '3702' || lpad(CAST(CAST(floor(random() * 100) AS INTEGER) AS VARCHAR), 2, '0') || {body_chars}
            AS uscc_body,
          -- Districts and birth years python-stdnum's county table accepts (it checks the county
          -- existed in the birth year; pubdata checks the province), so both verdicts compare.
          ['370202', '370203', '370211', '370212', '370213', '370214', '370281', '370283'][
            CAST(floor(random() * 8) AS INTEGER) + 1]
            || strftime(DATE '1995-01-01' + CAST(floor(random() * 7900) AS INTEGER), '%Y%m%d')
            || lpad(CAST(CAST(floor(random() * 1000) AS INTEGER) AS VARCHAR), 3, '0') AS rid_body,
          random() AS r
        FROM range({rows}) t(i)
        """
    )
    con.execute(
        f"""
        CREATE TABLE sample_rows AS SELECT
          i,
          CASE WHEN r < 0.03 THEN uscc_body || '0' ELSE uscc_body || {uscc_check_sql("uscc_body")} END AS uscc,
          CASE WHEN r > 0.97 THEN rid_body || '0' ELSE rid_body || {resident_id_check_sql("rid_body")} END
            AS resident_id,
          CASE WHEN r < 0.5 THEN '1' || CAST(3 + i % 7 AS VARCHAR) || lpad(CAST(i % 1000000000 AS VARCHAR), 9, '0')
               ELSE '+86 13' || lpad(CAST(i % 1000000000 AS VARCHAR), 9, '0') END AS mobile,
          '0532-8' || lpad(CAST(i % 10000000 AS VARCHAR), 7, '0') AS phone,
          '2660' || lpad(CAST(i % 100 AS VARCHAR), 2, '0') AS postcode,
          'user' || CAST(i AS VARCHAR) || '@example.com' AS email,
          '3702' || lpad(CAST(i % 100 AS VARCHAR), 2, '0') AS division_code,
          ['张', '王', '李', '赵', '刘'][i % 5 + 1] || ['伟', '芳', '娜', '敏', '静', '强'][i % 6 + 1] AS person_name,
          '山东省青岛市市南区香港中路' || CAST(i % 300 AS VARCHAR) || '号' AS address,
          CASE WHEN r BETWEEN 0.40 AND 0.42 THEN '1.234'
               ELSE format('{{:,}}', CAST(i % 10000000 AS BIGINT)) || '.50' END AS amount,
          strftime(DATE '1990-01-01' + CAST(i % 12000 AS INTEGER), '%Y-%m-%d') AS founded
        FROM raw
        """
    )
    con.execute("DROP TABLE raw")


_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE = re.compile(r"(1[3-9]\d{9}|(010|02\d|0[3-9]\d{2})?[2-9]\d{6,7}|[48]00\d{7})(转\d{1,6})?")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[a-z]{2,63}")
_NAME = re.compile(r"[\u4e00-\u9fff]+(·[\u4e00-\u9fff]+)*|[A-Za-z]+([ '.-][A-Za-z]+)*")
_AMOUNT = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?")
_PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
_PROVINCES |= {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}
_PROVINCES |= {"71", "81", "82", "83"}


def python_row_problems(row: tuple[str, ...]) -> list[bool]:
    """The per-row baseline: one verdict (True = invalid) per column, in COLUMNS order."""
    uscc, rid, mobile, phone, postcode, email, division, name, address, amount, founded = (
        unicodedata.normalize("NFKC", v).strip() for v in row
    )
    mobile_digits = re.sub(r"[\s().-]", "", mobile)
    mobile_digits = re.sub(r"^(\+86|0086|86)(1\d{10})$", r"\2", mobile_digits)
    try:
        money_ok = _AMOUNT.fullmatch(amount) is not None and abs(Decimal(amount.replace(",", ""))) <= 10**15
    except InvalidOperation:
        money_ok = False
    try:
        dt.date.fromisoformat(founded)
        date_ok = True
    except ValueError:
        date_ok = False
    return [
        uscc_problem(uscc) is not None,
        not ric.is_valid(rid),
        _MOBILE.fullmatch(mobile_digits) is None,
        _PHONE.fullmatch(re.sub(r"[\s()-]", "", phone)) is None,
        re.fullmatch(r"[0-8]\d{5}", postcode) is None,
        _EMAIL.fullmatch(email) is None,
        re.fullmatch(r"\d{6}|\d{9}|\d{12}", division) is None or division[:2] not in _PROVINCES,
        not 2 <= len(name) <= 20 or _NAME.fullmatch(name) is None,
        len(address) > 200 or re.search(r"[\u4e00-\u9fff0-9]", address) is None,
        not money_ok,
        not date_ok,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000, help="rows checked by the per-row Python baseline")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (0 = DuckDB's default)")
    args = parser.parse_args()

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    started = time.perf_counter()
    generate(con, args.rows)
    print(f"generated {args.rows:,} rows × {len(COLUMNS)} columns in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    # the rows in file order, as a CSV source gives them: ingest's own check, all columns at once
    ingest._check(con, SCHEMA, f"(SELECT {', '.join(COLUMNS)} FROM sample_rows ORDER BY i)")
    pubdata_seconds = time.perf_counter() - started
    pubdata_rate = args.rows / pubdata_seconds
    print(f"pubdata (ingest check, all {len(COLUMNS)} columns): {pubdata_seconds:.2f} s, {pubdata_rate:,.0f} rows/s")
    print("  invalid per column:", invalid_counts(con))

    sample_size = min(args.sample, args.rows)
    sample = con.execute(f"SELECT {', '.join(COLUMNS)} FROM sample_rows ORDER BY i LIMIT {sample_size}").fetchall()
    started = time.perf_counter()
    invalid = [0] * len(COLUMNS)
    for row in sample:
        for k, bad in enumerate(python_row_problems(row)):
            invalid[k] += bad
    baseline_seconds = time.perf_counter() - started
    baseline_rate = sample_size / baseline_seconds
    print(
        f"baseline (per-row python-stdnum loop, {sample_size:,} rows): {baseline_seconds:.2f} s, "
        f"{baseline_rate:,.0f} rows/s"
    )

    # Same verdicts on the sample for the two standards python-stdnum implements.
    ours = invalid_counts(con, below=sample_size)
    sample_invalid = {"uscc": ours["uscc"], "resident_id": ours["resident_id"]}
    agree = sample_invalid == {"uscc": invalid[0], "resident_id": invalid[1]}
    print(
        f"  sample invalid counts, pubdata {sample_invalid} vs stdnum "
        f"{{'uscc': {invalid[0]}, 'resident_id': {invalid[1]}}}: {'agree' if agree else 'DISAGREE'}"
    )
    ratio = pubdata_rate / baseline_rate
    print(f"ratio (pubdata / baseline): {ratio:.1f}×")
    print(
        json.dumps(
            {
                "benchmark": "validation",
                "rows": args.rows,
                "pubdata_rows_per_s": round(pubdata_rate),
                "baseline_rows_per_s": round(baseline_rate),
                "ratio": round(ratio, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Credit scoring: N synthetic enterprises' facts scored with the shipped expert card
(``finance/scorecards/expert-v2.yaml``) by pubdata's pass (``finance.service.score_pass``: the card
compiled to one DuckDB statement by ``scorecards.sql``, every enterprise's score, grade, measured
values and points written to Parquet, then the run's summaries — grade counts, mean, the score
distribution) and by the same computation written by hand in DuckDB SQL, in the same run, on the same
connection settings; the two result files must be identical row for row.

    python benchmarks/credit.py --enterprises 1000000 [--repeat 3] [--no-full] [--database-url URL]

``ratio`` = baseline seconds ÷ pubdata seconds (higher is better; target ≥ 0.67, i.e. pubdata within
1.5× of the hand-written SQL), best of ``--repeat`` alternating runs; ``cpu_ratio`` compares the CPU
seconds. With ``--full`` (the default) it then times ``run_scoring`` end to end on a fresh metadata
database (SQLite under a temporary home unless ``--database-url``): the card's version row, the facts
read, the pass, the atomic publish of the file, the run row and the audit record.

The hand-written SQL encodes the expert card v2 as shipped (``expert-v2.yaml``, what ``expert`` resolves
to): when the card changes, change ``baseline_sql`` with it (the results check fails loudly until then).

The facts are generated deterministically in DuckDB SQL: every column of the facts catalogue the
cards v1 and v2 use, with realistic shares — tax grades A 25 % / B 45 % / M 15 % / C 8 % / D 2 % /
unknown 5 %, 3 % revoked or cancelled, 2 % dishonest debtors, 5 % abnormal operation, 10 % high-tech,
5 % 专精特新 (国家级 / 省级 / 市级 1 : 3 : 6), log-uniform capital and headcounts, a few percent of
unknowns per fact — and the credit-profile facts consistent with them as the facts build derives them
(the tax history holds the current grade and repeats it 70 % of the time; months insured and the
headcount change are unknown where the headcount is; fines only with penalties; dishonest debtors
have enforcement cases; the abnormal-listing count includes the current listing; 85 % insured all
year, 90 % with 12 months of utility bills, half paying every bill on time, 20 % with arrears).
Fixed strides put enterprises exactly on bin edges (3 penalties, 10 insured, 100万 and 2000万
capital, founded exactly 5 years before the facts year's end, a headcount change of −30 %, 0 % and
30 %, 80 % and 95 % of utility bills on time, fines of 1万 and 10万).
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

FACTS_YEAR = 2025
BENCH_SCHEMA = "pubdata_bench_credit"
DISTRICTS = ("市南区", "市北区", "李沧区", "崂山区", "黄岛区", "城阳区", "即墨区", "胶州市", "平度市", "莱西市")


def _unknown(tag: str, share: float, expr: str) -> str:
    return f"CASE WHEN {_u(tag + '?')} < {share} THEN NULL ELSE {expr} END"


def _log_int(tag: str, low: int, high: int) -> str:
    return f"CAST(floor(exp(ln({low}) + {_u(tag)} * ln({high} / {low}))) AS BIGINT)"


def _history(current: str, previous: str, third: str, condition: str) -> str:
    """Years (of the last three) whose grade meets ``condition``; null when never graded."""
    years = " + ".join(f"CAST(coalesce(({g}) {condition}, FALSE) AS BIGINT)" for g in (current, previous, third))
    return f"CASE WHEN ({current}) IS NULL THEN NULL ELSE {years} END"


def generate(path: Path, enterprises: int) -> None:
    """The facts Parquet file: the catalogue's columns the card uses, typed as the facts build writes them."""
    districts = "[" + ", ".join(f"'{d}'" for d in DISTRICTS) + "]"
    tax = (
        f"CASE WHEN {_u('tx')} < 0.05 THEN NULL WHEN {_u('tx')} < 0.30 THEN 'A' WHEN {_u('tx')} < 0.75 THEN 'B' "
        f"WHEN {_u('tx')} < 0.90 THEN 'M' WHEN {_u('tx')} < 0.98 THEN 'C' ELSE 'D' END"
    )
    status = (
        f"CASE WHEN {_u('st')} < 0.005 THEN NULL WHEN {_u('st')} < 0.02 THEN '吊销' WHEN {_u('st')} < 0.03 THEN '注销' "
        f"WHEN {_u('st')} < 0.035 THEN '迁出' WHEN {_u('st')} < 0.60 THEN '存续' ELSE '在业' END"
    )
    founded = (
        f"CASE WHEN i % 1009 = 1 THEN DATE '{FACTS_YEAR - 5}-12-31' "
        f"WHEN i % 1009 = 2 THEN DATE '{FACTS_YEAR - 4}-01-01' "
        f"ELSE DATE '{FACTS_YEAR}-12-31' - CAST(floor({_u('fd')} * 30 * 365) AS INTEGER) END"
    )
    capital = (
        f"CASE WHEN i % 1013 = 1 THEN 1000000 WHEN i % 1013 = 2 THEN 20000000 "
        f"ELSE {_log_int('cap', 10000, 500000000)} END"
    )
    insured = f"CASE WHEN i % 1019 = 1 THEN 10 WHEN {_u('in0')} < 0.08 THEN 0 ELSE {_log_int('ins', 1, 3000)} END"
    penalties = (
        f"CASE WHEN i % 1021 = 1 THEN 3 WHEN {_u('pn')} < 0.85 THEN 0 "
        f"ELSE CAST(floor(exp({_u('pn2')} * ln(20))) AS BIGINT) END"
    )
    # the grades of the two evaluations before the current one: mostly the same grade again
    tax2, tax3 = tax.replace("'tx'", "'tx2'"), tax.replace("'tx'", "'tx3'")
    previous = (
        f"CASE WHEN ({tax}) IS NULL OR {_u('tp?')} < 0.05 THEN NULL WHEN {_u('tp')} < 0.7 THEN ({tax}) ELSE {tax2} END"
    )
    third = f"CASE WHEN ({previous}) IS NULL THEN NULL WHEN {_u('t3')} < 0.7 THEN ({previous}) ELSE {tax3} END"
    penalties_known = _unknown("pn", 0.01, penalties)
    trade = f"CASE WHEN {_u('tr')} < 0.85 THEN 0 ELSE {_log_int('trv', 10000, 500000000)} END"
    patents = f"CASE WHEN {_u('pt')} < 0.7 THEN 0 ELSE {_log_int('ptn', 1, 200)} END"
    columns = {
        "uscc": "'91370200' || lpad(CAST(i AS VARCHAR), 10, '0')",
        "name": "'青岛' || i || '号有限公司'",
        "registered_district": f"{districts}[1 + CAST(floor({_u('d')} * 10) AS INTEGER)]",
        "industry_code": "lpad(CAST(i % 9000 + 1000 AS VARCHAR), 4, '0')",
        "registered_capital": _unknown("cap", 0.01, capital),
        "founded": _unknown("fd", 0.01, founded),
        "status": status,
        "cbec_import_export_amount": _unknown("tr", 0.02, trade),
        "tax_credit_grade": tax,
        "insured_headcount": _unknown("ins", 0.06, insured),
        "is_high_tech": _unknown("ht", 0.01, f"{_u('ht')} < 0.10"),
        "is_specialised": _unknown("sp", 0.01, f"{_u('sp')} < 0.05"),
        "patent_count": _unknown("pt", 0.01, patents),
        "penalty_count": _unknown("pn", 0.01, penalties),
        "is_dishonest_debtor": _unknown("dd", 0.01, f"{_u('dd')} < 0.02"),
        "is_abnormal_operation": _unknown("ab", 0.01, f"{_u('ab')} < 0.05"),
        # the credit-profile facts of issue 12 §2 (the card v2 uses them), consistent with the facts
        # above as the facts build derives them: the tax history holds the current grade, the counts
        # are null where the source has no record, fines only with penalties, listings include the
        # current one
        "age_years": f"date_sub('year', {founded}, DATE '{FACTS_YEAR}-12-31')",
        "tax_credit_grade_previous": previous,
        "tax_grade_a_years_3": _history(tax, previous, third, "IN ('A')"),
        "tax_grade_cd_years_3": _history(tax, previous, third, "IN ('C', 'D')"),
        "insured_months_12": (
            f"CASE WHEN ({insured}) IS NULL OR {_u('ins?')} < 0.06 THEN NULL "
            f"WHEN ({insured}) = 0 THEN CAST(floor({_u('im0')} * 6) AS BIGINT) "
            f"WHEN {_u('im')} < 0.85 THEN 12 ELSE CAST(1 + floor({_u('imb')} * 11) AS BIGINT) END"
        ),
        "insured_headcount_change_pct": (
            f"CASE WHEN ({insured}) IS NULL OR {_u('ins?')} < 0.06 OR ({insured}) = 0 OR {_u('ic?')} < 0.05 "
            f"THEN NULL WHEN i % 1031 = 1 THEN -30.0 WHEN i % 1031 = 2 THEN 0.0 WHEN i % 1031 = 3 THEN 30.0 "
            f"ELSE round(power(({_u('ic')} - 0.45) * 2, 3) * 60, 1) END"
        ),
        "utility_bill_months_12": (
            f"CASE WHEN {_u('ub?')} < 0.08 THEN NULL WHEN {_u('ub')} < 0.9 THEN 12 "
            f"ELSE CAST(floor({_u('ubn')} * 12) AS BIGINT) END"
        ),
        "utility_on_time_ratio_pct": (
            f"CASE WHEN {_u('ub?')} < 0.08 OR ({_u('ub')} >= 0.9 AND floor({_u('ubn')} * 12) = 0) THEN NULL "
            f"WHEN i % 1033 = 1 THEN 80.0 WHEN i % 1033 = 2 THEN 95.0 WHEN {_u('ut')} < 0.5 THEN 100.0 "
            f"WHEN {_u('ut')} < 0.8 THEN round(90 + {_u('utv')} * 10, 1) "
            f"ELSE round(50 + {_u('utv')} * 40, 1) END"
        ),
        "utility_arrears_months_12": (
            f"CASE WHEN {_u('ub?')} < 0.08 THEN NULL WHEN {_u('ua')} < 0.8 THEN 0 "
            f"WHEN {_u('ua')} < 0.95 THEN CAST(1 + floor({_u('uab')} * 2) AS BIGINT) "
            f"ELSE CAST(3 + floor({_u('uab')} * 4) AS BIGINT) END"
        ),
        "ip_class1_count": f"CASE WHEN {_u('i1')} < 0.8 THEN 0 ELSE {_log_int('i1n', 1, 50)} END",
        "ip_class2_count": f"CASE WHEN {_u('i2')} < 0.6 THEN 0 ELSE {_log_int('i2n', 1, 100)} END",
        "specialised_level": (
            f"CASE WHEN {_u('sp?')} < 0.01 THEN NULL WHEN {_u('sp')} >= 0.05 THEN '无' "
            f"WHEN {_u('spl')} < 0.1 THEN '国家级' WHEN {_u('spl')} < 0.4 THEN '省级' ELSE '市级' END"
        ),
        "penalty_fine_amount_3y": (
            f"CASE WHEN ({penalties_known}) IS NULL THEN NULL WHEN ({penalties_known}) = 0 OR {_u('pf')} < 0.4 THEN 0 "
            f"WHEN i % 1039 = 1 THEN 10000 WHEN i % 1039 = 2 THEN 100000 ELSE {_log_int('pfa', 100, 1000000)} END"
        ),
        "enforcement_count": (
            f"CASE WHEN {_u('dd')} < 0.02 THEN CAST(1 + floor({_u('enb')} * 4) AS BIGINT) "
            f"WHEN {_u('en')} < 0.95 THEN 0 ELSE CAST(1 + floor({_u('enb')} * 3) AS BIGINT) END"
        ),
        "abnormal_listings_3y": (
            f"CASE WHEN {_u('ab')} < 0.05 THEN CAST(1 + floor({_u('alb')} * 2) AS BIGINT) "
            f"WHEN {_u('al')} < 0.93 THEN 0 ELSE CAST(1 + floor({_u('alb')} * 2) AS BIGINT) END"
        ),
        "listed_abnormal_or_seriously_dishonest": f"{_u('dd')} < 0.02 OR {_u('ab')} < 0.05",
        "high_tech_enterprise_valid": _unknown("ht", 0.01, f"{_u('ht')} < 0.10"),
    }
    select = ", ".join(f"{expr} AS {name}" for name, expr in columns.items())
    duckdb.sql(
        f"COPY (SELECT {select} FROM range({enterprises}) t(i)) TO '{path}' "
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)"
    )


def baseline_sql(facts: Path) -> str:
    """The expert card v2 written by hand: the same columns, values and points as pubdata's statement."""
    return f"""
    SELECT uscc, name, score,
      CASE WHEN score >= 820 THEN 'AAA' WHEN score >= 770 THEN 'AA' WHEN score >= 720 THEN 'A'
           WHEN score >= 670 THEN 'BBB' WHEN score >= 620 THEN 'BB' WHEN score >= 570 THEN 'B'
           WHEN score >= 520 THEN 'CCC' WHEN score >= 450 THEN 'CC' ELSE 'C' END AS grade,
      raw_score,
      v__status, p__status, v__age_years, p__age_years, v__registered_capital, p__registered_capital,
      v__tax_credit_grade, p__tax_credit_grade, v__tax_credit_grade_previous, p__tax_credit_grade_previous,
      v__tax_grade_a_years_3, p__tax_grade_a_years_3, v__tax_grade_cd_years_3, p__tax_grade_cd_years_3,
      v__insured_headcount, p__insured_headcount, v__insured_months_12, p__insured_months_12,
      v__insured_headcount_change_pct, p__insured_headcount_change_pct,
      v__cbec_import_export_amount, p__cbec_import_export_amount,
      v__utility_bill_months_12, p__utility_bill_months_12, v__utility_on_time_ratio_pct, p__utility_on_time_ratio_pct,
      v__utility_arrears_months_12, p__utility_arrears_months_12,
      v__high_tech_enterprise_valid, p__high_tech_enterprise_valid, v__specialised_level, p__specialised_level,
      v__ip_class1_count, p__ip_class1_count, v__ip_class2_count, p__ip_class2_count,
      v__penalty_count, p__penalty_count, v__penalty_fine_amount_3y, p__penalty_fine_amount_3y,
      v__enforcement_count, p__enforcement_count, v__is_dishonest_debtor, p__is_dishonest_debtor,
      v__is_abnormal_operation, p__is_abnormal_operation, v__abnormal_listings_3y, p__abnormal_listings_3y
    FROM (
      SELECT *, CAST(least(greatest(raw_score, 300), 900) AS INTEGER) AS score FROM (
        SELECT *, CAST(600 + p__status + p__age_years + p__registered_capital
               + p__tax_credit_grade + p__tax_credit_grade_previous + p__tax_grade_a_years_3 + p__tax_grade_cd_years_3
               + p__insured_headcount + p__insured_months_12 + p__insured_headcount_change_pct
               + p__cbec_import_export_amount + p__utility_bill_months_12 + p__utility_on_time_ratio_pct
               + p__utility_arrears_months_12 + p__high_tech_enterprise_valid + p__specialised_level
               + p__ip_class1_count + p__ip_class2_count + p__penalty_count + p__penalty_fine_amount_3y
               + p__enforcement_count + p__is_dishonest_debtor + p__is_abnormal_operation + p__abnormal_listings_3y
               AS INTEGER) AS raw_score
        FROM (
          SELECT uscc, name,
            status AS v__status,
            CAST(CASE WHEN status IS NULL THEN -30 WHEN status IN ('存续', '在业') THEN 0
                      WHEN status IN ('吊销', '注销', '迁出') THEN -250 ELSE -30 END AS INTEGER) AS p__status,
            age_years AS v__age_years,
            CAST(CASE WHEN age_years IS NULL THEN -20 WHEN age_years < 1 THEN -40 WHEN age_years < 3 THEN -15
                      WHEN age_years < 5 THEN 0 WHEN age_years < 10 THEN 25 ELSE 45 END AS INTEGER) AS p__age_years,
            registered_capital AS v__registered_capital,
            CAST(CASE WHEN registered_capital IS NULL THEN 0 WHEN registered_capital < 1000000 THEN -10
                      WHEN registered_capital < 5000000 THEN 0 WHEN registered_capital < 20000000 THEN 10
                      ELSE 20 END AS INTEGER) AS p__registered_capital,
            tax_credit_grade AS v__tax_credit_grade,
            CAST(CASE tax_credit_grade WHEN 'A' THEN 60 WHEN 'B' THEN 30 WHEN 'M' THEN 0 WHEN 'C' THEN -60
                      WHEN 'D' THEN -120 ELSE -20 END AS INTEGER) AS p__tax_credit_grade,
            tax_credit_grade_previous AS v__tax_credit_grade_previous,
            CAST(CASE tax_credit_grade_previous WHEN 'A' THEN 15 WHEN 'B' THEN 5 WHEN 'M' THEN 0 WHEN 'C' THEN -20
                      WHEN 'D' THEN -40 ELSE 0 END AS INTEGER) AS p__tax_credit_grade_previous,
            tax_grade_a_years_3 AS v__tax_grade_a_years_3,
            CAST(CASE WHEN tax_grade_a_years_3 IS NULL THEN 0 WHEN tax_grade_a_years_3 < 1 THEN 0
                      WHEN tax_grade_a_years_3 < 3 THEN 5 ELSE 20 END AS INTEGER) AS p__tax_grade_a_years_3,
            tax_grade_cd_years_3 AS v__tax_grade_cd_years_3,
            CAST(CASE WHEN tax_grade_cd_years_3 IS NULL THEN 0 WHEN tax_grade_cd_years_3 < 1 THEN 0
                      WHEN tax_grade_cd_years_3 < 2 THEN -30 ELSE -60 END AS INTEGER) AS p__tax_grade_cd_years_3,
            insured_headcount AS v__insured_headcount,
            CAST(CASE WHEN insured_headcount IS NULL THEN -20 WHEN insured_headcount < 1 THEN -40
                      WHEN insured_headcount < 10 THEN 0 WHEN insured_headcount < 50 THEN 20
                      WHEN insured_headcount < 300 THEN 35 ELSE 50 END AS INTEGER) AS p__insured_headcount,
            insured_months_12 AS v__insured_months_12,
            CAST(CASE WHEN insured_months_12 IS NULL THEN 0 WHEN insured_months_12 < 6 THEN -20
                      WHEN insured_months_12 < 12 THEN -10 ELSE 5 END AS INTEGER) AS p__insured_months_12,
            insured_headcount_change_pct AS v__insured_headcount_change_pct,
            CAST(CASE WHEN insured_headcount_change_pct IS NULL THEN 0 WHEN insured_headcount_change_pct < -30 THEN -20
                      WHEN insured_headcount_change_pct < 0 THEN 0 WHEN insured_headcount_change_pct < 30 THEN 5
                      ELSE 10 END AS INTEGER) AS p__insured_headcount_change_pct,
            cbec_import_export_amount AS v__cbec_import_export_amount,
            CAST(CASE WHEN cbec_import_export_amount IS NULL THEN 0 WHEN cbec_import_export_amount < 1 THEN 0
                      WHEN cbec_import_export_amount < 10000000 THEN 10 ELSE 20 END AS INTEGER)
              AS p__cbec_import_export_amount,
            utility_bill_months_12 AS v__utility_bill_months_12,
            CAST(CASE WHEN utility_bill_months_12 IS NULL THEN 0 WHEN utility_bill_months_12 < 1 THEN -20
                      WHEN utility_bill_months_12 < 6 THEN -10 ELSE 0 END AS INTEGER) AS p__utility_bill_months_12,
            utility_on_time_ratio_pct AS v__utility_on_time_ratio_pct,
            CAST(CASE WHEN utility_on_time_ratio_pct IS NULL THEN 0 WHEN utility_on_time_ratio_pct < 80 THEN -20
                      WHEN utility_on_time_ratio_pct < 95 THEN 0 ELSE 10 END AS INTEGER)
              AS p__utility_on_time_ratio_pct,
            utility_arrears_months_12 AS v__utility_arrears_months_12,
            CAST(CASE WHEN utility_arrears_months_12 IS NULL THEN 0 WHEN utility_arrears_months_12 < 1 THEN 0
                      WHEN utility_arrears_months_12 < 3 THEN -10 ELSE -30 END AS INTEGER)
              AS p__utility_arrears_months_12,
            high_tech_enterprise_valid AS v__high_tech_enterprise_valid,
            CAST(CASE WHEN high_tech_enterprise_valid THEN 40 ELSE 0 END AS INTEGER) AS p__high_tech_enterprise_valid,
            specialised_level AS v__specialised_level,
            CAST(CASE specialised_level WHEN '国家级' THEN 60 WHEN '省级' THEN 40 WHEN '市级' THEN 25 ELSE 0 END
                 AS INTEGER) AS p__specialised_level,
            ip_class1_count AS v__ip_class1_count,
            CAST(CASE WHEN ip_class1_count IS NULL THEN 0 WHEN ip_class1_count < 1 THEN 0
                      WHEN ip_class1_count < 4 THEN 15 ELSE 30 END AS INTEGER) AS p__ip_class1_count,
            ip_class2_count AS v__ip_class2_count,
            CAST(CASE WHEN ip_class2_count IS NULL THEN 0 WHEN ip_class2_count < 1 THEN 0
                      WHEN ip_class2_count < 10 THEN 5 ELSE 10 END AS INTEGER) AS p__ip_class2_count,
            penalty_count AS v__penalty_count,
            CAST(CASE WHEN penalty_count IS NULL THEN 0 WHEN penalty_count < 1 THEN 20 WHEN penalty_count < 3 THEN -15
                      WHEN penalty_count < 10 THEN -30 ELSE -60 END AS INTEGER) AS p__penalty_count,
            penalty_fine_amount_3y AS v__penalty_fine_amount_3y,
            CAST(CASE WHEN penalty_fine_amount_3y IS NULL THEN 0 WHEN penalty_fine_amount_3y < 10000 THEN 0
                      WHEN penalty_fine_amount_3y < 100000 THEN -20 ELSE -40 END AS INTEGER)
              AS p__penalty_fine_amount_3y,
            enforcement_count AS v__enforcement_count,
            CAST(CASE WHEN enforcement_count IS NULL THEN 0 WHEN enforcement_count < 1 THEN 0
                      WHEN enforcement_count < 2 THEN -40 ELSE -80 END AS INTEGER) AS p__enforcement_count,
            is_dishonest_debtor AS v__is_dishonest_debtor,
            CAST(CASE WHEN is_dishonest_debtor THEN -200 ELSE 0 END AS INTEGER) AS p__is_dishonest_debtor,
            is_abnormal_operation AS v__is_abnormal_operation,
            CAST(CASE WHEN is_abnormal_operation THEN -80 ELSE 0 END AS INTEGER) AS p__is_abnormal_operation,
            abnormal_listings_3y AS v__abnormal_listings_3y,
            CAST(CASE WHEN abnormal_listings_3y IS NULL THEN 0 WHEN abnormal_listings_3y < 1 THEN 0
                      WHEN abnormal_listings_3y < 2 THEN -20 ELSE -40 END AS INTEGER) AS p__abnormal_listings_3y
          FROM read_parquet('{facts}'))))
    """


def baseline_pass(con: duckdb.DuckDBPyConnection, facts: Path, target: Path) -> tuple[object, ...]:
    """The hand-written query doing what pubdata's pass does: write every score, then the same summaries."""
    con.execute(f"COPY ({baseline_sql(facts)}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)")
    result = f"read_parquet('{target}')"
    grades = dict(con.execute(f"SELECT grade, count(*) FROM {result} GROUP BY grade").fetchall())
    row = con.execute(f"SELECT avg(score) FROM {result}").fetchone()
    buckets = con.execute(
        f"SELECT 300 + 20 * ((score - 300) // 20) AS b, count(*) FROM {result} GROUP BY b ORDER BY b"
    ).fetchall()
    assert row is not None
    return (sum(grades.values()), round(float(row[0]), 2), len(buckets))


def same_columns(con: duckdb.DuckDBPyConnection, a: Path, b: Path) -> bool:
    describe = "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{}'))"
    return con.execute(describe.format(a)).fetchall() == con.execute(describe.format(b)).fetchall()


def full_run(work: Path, facts: Path, enterprises: int, database_url: str | None) -> dict[str, float | int]:
    """``run_scoring`` end to end on a fresh metadata database: first run, then a forced rerun."""
    out: dict[str, float | int] = {}
    with platform_with_facts(work, facts, enterprises, FACTS_YEAR, database_url, BENCH_SCHEMA) as home:
        from pubdata.authz import SYSTEM
        from pubdata.db import session_scope
        from pubdata.finance import service

        for label, force in (("first", False), ("rerun", True)):
            t0 = time.perf_counter()
            with session_scope() as s:
                run = service.run_scoring(s, SYSTEM, home=home, force=force)
            out[f"run_scoring_{label}_s"] = round(time.perf_counter() - t0, 3)
            assert run.enterprises == enterprises
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=1_000_000, help="synthetic enterprises in the facts")
    parser.add_argument("--repeat", type=int, default=3, help="passes each way, alternating; best of each")
    parser.add_argument("--full", action=argparse.BooleanOptionalAction, default=True, help="also time run_scoring")
    parser.add_argument("--database-url", default=None, help="metadata database for --full (default: SQLite)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pubdata-credit-"))
    try:
        run(args.enterprises, args.repeat, args.full, args.database_url, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(enterprises: int, repeat: int, full: bool, database_url: str | None, work: Path) -> None:
    os.environ["PUBDATA_HOME"] = str(work / "home")
    from pubdata import duck
    from pubdata.finance import service
    from pubdata.finance.scorecards.card import load_card

    facts = work / "facts.parquet"
    t0 = time.perf_counter()
    generate(facts, enterprises)
    generated_s = time.perf_counter() - t0
    card = load_card("expert")
    ours_file, base_file = work / "pubdata.parquet", work / "baseline.parquet"
    con = duck.batch_connection(work / "spill")  # the connection run_scoring uses: same memory limit and threads
    ours_best = base_best = ours_cpu = base_cpu = float("inf")
    summary = None
    base_summary: tuple[object, ...] = ()
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        base_summary = baseline_pass(con, facts, base_file)
        base_best = min(base_best, time.perf_counter() - t0)
        base_cpu = min(base_cpu, time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        summary = service.score_pass(con, card, facts, FACTS_YEAR, ours_file)
        ours_best = min(ours_best, time.perf_counter() - t0)
        ours_cpu = min(ours_cpu, time.process_time() - c0)
    assert summary is not None
    ours_summary = (summary.enterprises, summary.mean_score, len(summary.distribution))
    assert same_columns(con, ours_file, base_file), "the two results have different columns or types"
    diff = differences(con, ours_file, base_file)
    assert diff == 0 and ours_summary == base_summary, f"results differ: {diff} rows; {ours_summary} vs {base_summary}"
    con.close()
    present = [g for g, n in summary.grades.items() if n]
    assert len(present) >= 5, f"the synthetic city should spread over the grades: {summary.grades}"
    print("  grades: " + "  ".join(f"{g} {n:,}" for g, n in summary.grades.items()))
    print(
        f"facts generated: {enterprises:,} enterprises in {generated_s:.2f} s; results identical "
        f"({summary.enterprises:,} enterprises, mean score {summary.mean_score})"
    )
    print(
        f"hand-written DuckDB SQL: {base_best:.3f} s ({base_cpu:.2f} s CPU)   "
        f"pubdata score_pass: {ours_best:.3f} s ({ours_cpu:.2f} s CPU)   ratio {base_best / ours_best:.3f}"
    )
    out: dict[str, object] = {
        "benchmark": "credit",
        "enterprises": enterprises,
        "pubdata_s": round(ours_best, 3),
        "baseline_s": round(base_best, 3),
        "ratio": round(base_best / ours_best, 3),
        "pubdata_cpu_s": round(ours_cpu, 2),
        "baseline_cpu_s": round(base_cpu, 2),
        "cpu_ratio": round(base_cpu / ours_cpu, 3) if ours_cpu else None,
        "grades": summary.grades,
        "identical": True,
    }
    if full:
        figures = full_run(work, facts, enterprises, database_url)
        print(
            f"run_scoring end to end: first run {figures['run_scoring_first_s']} s, "
            f"forced rerun {figures['run_scoring_rerun_s']} s"
        )
        out.update(figures)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Facts tables for credit-scoring tests: rows of the facts catalogue's columns (every fact, typed as
the facts build writes it; facts a row does not give are null), registered as a new facts version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.enterprise import files
from pubdata.enterprise.facts import FACTS
from pubdata.enterprise.models import EnterpriseFactsVersion
from pubdata.standards import uscc_with_check

ARROW = {
    "string": pa.string(),
    "district": pa.string(),
    "integer": pa.int64(),
    "money": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}


def code(n: int, district: str = "370212") -> str:
    """A valid credit code for test enterprise ``n``."""
    return uscc_with_check(f"91{district}MC{n:07d}")


def facts_table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([(name, ARROW[str(f.type)]) for name, f in FACTS.items()])
    return pa.Table.from_pylist([{name: r.get(name) for name in FACTS} for r in rows], schema=schema)


def publish_facts(session: Session, home: Path, rows: list[dict[str, Any]], *, year: int = 2025) -> int:
    """Write ``rows`` as a new facts version under ``home``; returns its number."""
    number = (session.scalar(select(func.max(EnterpriseFactsVersion.number))) or 0) + 1
    target = files.facts_file(home, number)
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(facts_table(rows), target)
    session.add(EnterpriseFactsVersion(number=number, year=year, enterprises=len(rows), sources={}, built_via="test"))
    session.flush()
    return number


def _u(tag: str) -> str:
    return f"((hash(i, '{tag}') % 1000000) / 1000000.0)"


SYNTHETIC = {
    "uscc": "'91370200' || lpad(CAST(i AS VARCHAR), 10, '0')",
    "name": "'青岛' || i || '号有限公司'",
    "status": f"CASE WHEN {_u('st')} < 0.03 THEN '吊销' WHEN {_u('st')} < 0.6 THEN '存续' ELSE '在业' END",
    "founded": f"DATE '2025-12-31' - CAST(floor({_u('fd')} * 25 * 365) AS INTEGER)",
    "registered_capital": f"CAST(floor(exp(ln(10000) + {_u('cap')} * ln(50000))) AS BIGINT)",
    "tax_credit_grade": (
        f"CASE WHEN {_u('tx')} < 0.05 THEN NULL WHEN {_u('tx')} < 0.30 THEN 'A' WHEN {_u('tx')} < 0.75 THEN 'B' "
        f"WHEN {_u('tx')} < 0.90 THEN 'M' WHEN {_u('tx')} < 0.98 THEN 'C' ELSE 'D' END"
    ),
    "insured_headcount": (
        f"CASE WHEN {_u('in?')} < 0.06 THEN NULL WHEN {_u('in0')} < 0.08 THEN 0 "
        f"ELSE CAST(floor(exp({_u('ins')} * ln(3000))) AS BIGINT) END"
    ),
    "cbec_import_export_amount": (
        f"CASE WHEN {_u('tr')} < 0.85 THEN 0 ELSE CAST(floor({_u('trv')} * 1e8) AS BIGINT) END"
    ),
    "is_high_tech": f"{_u('ht')} < 0.10",
    "is_specialised": f"{_u('sp')} < 0.05",
    "patent_count": f"CASE WHEN {_u('pt')} < 0.7 THEN 0 ELSE CAST(floor(exp({_u('ptn')} * ln(200))) AS BIGINT) END",
    "penalty_count": f"CASE WHEN {_u('pn')} < 0.8 THEN 0 ELSE CAST(floor(exp({_u('pn2')} * ln(12))) AS BIGINT) END",
    "is_dishonest_debtor": f"{_u('dd')} < 0.03",
    "is_abnormal_operation": f"{_u('ab')} < 0.06",
}
_TAX = SYNTHETIC["tax_credit_grade"]
# the earlier tax grades: the same grade again 70 % of the time, otherwise an independent draw
_TAX2, _TAX3 = _TAX.replace("'tx'", "'tx2'"), _TAX.replace("'tx'", "'tx3'")
_TAX_PREVIOUS = f"CASE WHEN {_u('tp')} < 0.7 THEN {_TAX} ELSE {_TAX2} END"
_TAX_THIRD = f"CASE WHEN {_u('t3')} < 0.7 THEN {_TAX_PREVIOUS} ELSE {_TAX3} END"


def _tax_years(condition: str) -> str:
    years = " + ".join(f"CAST(coalesce(({g}) {condition}, FALSE) AS BIGINT)" for g in (_TAX, _TAX_PREVIOUS, _TAX_THIRD))
    return f"CASE WHEN ({_TAX}) IS NULL THEN NULL ELSE {years} END"


_INSURED = SYNTHETIC["insured_headcount"]
# the credit-profile facts (issue 12 §2) the expert card v2 uses, consistent with the facts above as the
# facts build derives them (the same shapes as benchmarks/credit.py)
SYNTHETIC |= {
    "age_years": f"date_sub('year', {SYNTHETIC['founded']}, DATE '2025-12-31')",
    "tax_credit_grade_previous": f"CASE WHEN ({_TAX}) IS NULL THEN NULL ELSE {_TAX_PREVIOUS} END",
    "tax_grade_a_years_3": _tax_years("= 'A'"),
    "tax_grade_cd_years_3": _tax_years("IN ('C', 'D')"),
    "insured_months_12": (
        f"CASE WHEN ({_INSURED}) IS NULL THEN NULL WHEN ({_INSURED}) = 0 THEN CAST(floor({_u('im0')} * 6) AS BIGINT) "
        f"WHEN {_u('im')} < 0.85 THEN 12 ELSE CAST(1 + floor({_u('imb')} * 11) AS BIGINT) END"
    ),
    "insured_headcount_change_pct": (
        f"CASE WHEN ({_INSURED}) IS NULL OR ({_INSURED}) = 0 THEN NULL "
        f"ELSE round(power(({_u('ic')} - 0.45) * 2, 3) * 60, 1) END"
    ),
    "utility_bill_months_12": (
        f"CASE WHEN {_u('ub?')} < 0.08 THEN NULL WHEN {_u('ub')} < 0.9 THEN 12 "
        f"ELSE CAST(floor({_u('ubn')} * 12) AS BIGINT) END"
    ),
    "utility_on_time_ratio_pct": (
        f"CASE WHEN {_u('ub?')} < 0.08 OR ({_u('ub')} >= 0.9 AND floor({_u('ubn')} * 12) = 0) THEN NULL "
        f"WHEN {_u('ut')} < 0.5 THEN 100.0 WHEN {_u('ut')} < 0.8 THEN round(90 + {_u('utv')} * 10, 1) "
        f"ELSE round(50 + {_u('utv')} * 40, 1) END"
    ),
    "utility_arrears_months_12": (
        f"CASE WHEN {_u('ub?')} < 0.08 THEN NULL WHEN {_u('ua')} < 0.8 THEN 0 "
        f"WHEN {_u('ua')} < 0.95 THEN CAST(1 + floor({_u('uab')} * 2) AS BIGINT) "
        f"ELSE CAST(3 + floor({_u('uab')} * 4) AS BIGINT) END"
    ),
    "ip_class1_count": f"CASE WHEN {_u('i1')} < 0.8 THEN 0 ELSE CAST(floor(exp({_u('i1n')} * ln(50))) AS BIGINT) END",
    "ip_class2_count": f"CASE WHEN {_u('i2')} < 0.6 THEN 0 ELSE CAST(floor(exp({_u('i2n')} * ln(100))) AS BIGINT) END",
    "specialised_level": (
        f"CASE WHEN {_u('sp')} >= 0.05 THEN '无' WHEN {_u('spl')} < 0.1 THEN '国家级' "
        f"WHEN {_u('spl')} < 0.4 THEN '省级' ELSE '市级' END"
    ),
    "high_tech_enterprise_valid": SYNTHETIC["is_high_tech"],
    "penalty_fine_amount_3y": (
        f"CASE WHEN ({SYNTHETIC['penalty_count']}) = 0 OR {_u('pf')} < 0.4 THEN 0 "
        f"ELSE CAST(floor(exp(ln(100) + {_u('pfa')} * ln(10000))) AS BIGINT) END"
    ),
    "enforcement_count": (
        f"CASE WHEN {_u('dd')} < 0.03 THEN CAST(1 + floor({_u('enb')} * 4) AS BIGINT) "
        f"WHEN {_u('en')} < 0.95 THEN 0 ELSE CAST(1 + floor({_u('enb')} * 3) AS BIGINT) END"
    ),
    "abnormal_listings_3y": (
        f"CASE WHEN {_u('ab')} < 0.06 THEN CAST(1 + floor({_u('alb')} * 2) AS BIGINT) "
        f"WHEN {_u('al')} < 0.93 THEN 0 ELSE CAST(1 + floor({_u('alb')} * 2) AS BIGINT) END"
    ),
    "listed_abnormal_or_seriously_dishonest": f"{_u('dd')} < 0.03 OR {_u('ab')} < 0.06",
}


def publish_synthetic_facts(session: Session, home: Path, enterprises: int, *, year: int = 2025) -> int:
    """A facts version of ``enterprises`` synthetic enterprises (deterministic; realistic shares of
    tax grades, penalties, listings, headcounts, and the credit-profile facts consistent with them);
    facts not generated here are null."""
    import duckdb

    select_list = ", ".join(f"{expr} AS {name}" for name, expr in SYNTHETIC.items())
    table = duckdb.sql(f"SELECT {select_list} FROM range({enterprises}) t(i)").arrow()
    if hasattr(table, "read_all"):
        table = table.read_all()
    rows = table.to_pylist()
    return publish_facts(session, home, rows, year=year)

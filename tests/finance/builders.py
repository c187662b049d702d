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


def publish_synthetic_facts(session: Session, home: Path, enterprises: int, *, year: int = 2025) -> int:
    """A facts version of ``enterprises`` synthetic enterprises (deterministic; realistic shares of
    tax grades, penalties, listings, headcounts); facts not generated here are null."""
    import duckdb

    select_list = ", ".join(f"{expr} AS {name}" for name, expr in SYNTHETIC.items())
    table = duckdb.sql(f"SELECT {select_list} FROM range({enterprises}) t(i)").arrow()
    if hasattr(table, "read_all"):
        table = table.read_all()
    rows = table.to_pylist()
    return publish_facts(session, home, rows, year=year)

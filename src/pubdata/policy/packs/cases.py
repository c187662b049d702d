"""A pack's table-driven test cases, run on both back ends: the Python evaluator (one enterprise at
a time, as the API explains it) and the SQL compilation (every enterprise at once, as bulk
matching runs it). A case passes when both give exactly what it expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from pubdata.policy.packs.engine import check_facts, evaluate_pack, pack_select
from pubdata.policy.packs.pack import Pack

ARROW_TYPES = {
    "money": pa.int64(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "district": pa.string(),
    "string": pa.string(),
}


@dataclass
class CaseResult:
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def facts_table(pack: Pack, rows: list[dict[str, Any]]) -> pa.Table:
    """Facts rows as an Arrow table with one typed column per input (and ``uscc``)."""
    columns: dict[str, pa.Array] = {"uscc": pa.array([str(r.get("uscc", i)) for i, r in enumerate(rows)])}
    for name, spec in pack.inputs.items():
        values = [r.get(name) for r in rows]
        if spec.type in ("money", "integer"):
            values = [None if v is None else int(v) for v in values]
        elif spec.type == "number":  # the facts table keeps numbers as DOUBLE
            values = [None if v is None else float(v) for v in values]
        columns[name] = pa.array(values, type=ARROW_TYPES[spec.type])
    return pa.table(columns)


def sql_results(pack: Pack, table: pa.Table) -> dict[tuple[str, str], dict[str, Any]]:
    """Every clause for every row of ``table``, evaluated by the SQL back end in DuckDB."""
    con = duckdb.connect()
    con.register("facts", table)
    rows = con.execute(pack_select(pack, "facts")).fetchall()
    return {
        (r[0], r[1]): {
            "eligible": r[2],
            "amount": r[3],
            "amount_kind": r[4],
            "score": r[5],
            "score_min": r[6],
            "score_max": r[7],
        }
        for r in rows
    }


COMPARED = ("eligible", "amount", "amount_kind", "score", "score_min", "score_max")


def _same(a: Any, b: Any) -> bool:
    """Equal, comparing numbers exactly as decimals (a score of 12.5 from YAML, Python or SQL)."""
    if isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal):
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        return Decimal(str(a)) == Decimal(str(b))
    return bool(a == b)


def run_cases(pack: Pack) -> list[CaseResult]:
    """Each case's failures on either back end (empty when it passes)."""
    cases = pack.spec.tests
    facts = [check_facts(pack, {**pack.spec.test_defaults, **c.facts}) for c in cases]
    by_sql = sql_results(pack, facts_table(pack, [{**f, "uscc": str(i)} for i, f in enumerate(facts)]))
    results = []
    for i, (case, case_facts) in enumerate(zip(cases, facts, strict=True)):
        result = CaseResult(case.name)
        python = evaluate_pack(pack, case_facts)
        clauses = {c["id"]: c for c in python["clauses"]}
        for clause_id, expected in case.expect.items():
            got_py = clauses[clause_id]
            got_sql = by_sql[(str(i), clause_id)]
            for key, want in expected.items():
                if key not in got_py:
                    result.failures.append(f"{clause_id}：未知的期望项 {key}")
                    continue
                if key == "missing":
                    want = sorted(want)
                if not _same(got_py[key], want):
                    result.failures.append(f"{clause_id}.{key}：期望 {want!r}，Python 求值得到 {got_py[key]!r}")
                if key in got_sql and not _same(got_sql[key], want):
                    result.failures.append(f"{clause_id}.{key}：期望 {want!r}，SQL 求值得到 {got_sql[key]!r}")
            # the two back ends agree on every clause, expected or not
            for key in COMPARED:
                if not _same(got_py[key], got_sql[key]):
                    result.failures.append(
                        f"{clause_id}.{key}：Python 得到 {got_py[key]!r}，SQL 得到 {got_sql[key]!r}（两种求值不一致）"
                    )
        if case.total is not None and python["total"] != case.total:
            result.failures.append(f"合计：期望 {case.total}，得到 {python['total']}")
        results.append(result)
    return results

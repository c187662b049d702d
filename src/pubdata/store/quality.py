"""The quality report of one version, computed during its load.

``measure`` runs inside the load's DuckDB connection over the checked relation (normalised values
plus the ``_problems`` list of every row) and returns the report stored on the version:
``{"score", "dimensions": {name: {"score", "evidence"}}, "rows", "rejected_rows"}``. Every score is
0–100; the evidence holds the counts it was computed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from pubdata.store import semantic, table_schema

DUPLICATE_REASONS = ("主键重复", "值重复")


@dataclass(frozen=True)
class LoadFacts:
    """What the load already counted: rows read, rows rejected, and problem reasons → count."""

    total: int
    rejected: int
    reasons: dict[str, int]


def measure(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    schema: table_schema.TableSchema,
    facts: LoadFacts,
    *,
    update_frequency: str | None = None,
    loaded_at: datetime | None = None,
) -> dict[str, Any]:
    """The dimensions this load can measure: completeness (filled cells), validity (cells passing
    their type, semantic type and constraints) and uniqueness (primary-key duplicates), each 0–100
    with its evidence; the overall score is their mean."""
    total, rejected, reasons = facts.total, facts.rejected, facts.reasons
    n_fields = len(schema.fields)
    cells = total * n_fields
    filled = 0
    if cells:
        filled_sql = " + ".join(f"count({semantic.quote_identifier(f.name)})" for f in schema.fields)
        filled = con.execute(f"SELECT {filled_sql} FROM {relation}").fetchone()[0]  # type: ignore[index]
    invalid_cells = sum(n for reason, n in reasons.items() if reason not in DUPLICATE_REASONS)
    duplicates = sum(reasons.get(r, 0) for r in DUPLICATE_REASONS)

    dims: dict[str, dict[str, Any]] = {
        "completeness": {"score": pct(filled, cells), "evidence": {"cells": cells, "filled": filled}},
        "validity": {
            "score": pct(cells - invalid_cells, cells),
            "evidence": {"cells": cells, "invalid": invalid_cells},
        },
        "uniqueness": {"score": pct(total - duplicates, total), "evidence": {"rows": total, "duplicates": duplicates}},
    }
    return {
        "score": round(sum(d["score"] for d in dims.values()) / len(dims), 2),
        "dimensions": dims,
        "rows": total,
        "rejected_rows": rejected,
    }


def pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0

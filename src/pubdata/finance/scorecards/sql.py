"""A scorecard compiled to one DuckDB statement over the facts relation: every enterprise's measured
value and points per feature, the score and the grade, in one pass.

Output columns, in this order: ``uscc``, ``name``, ``score`` (clipped to the card's range), ``grade``,
``raw_score`` (base + points, unclipped), then per feature ``v__<fact>`` (the value binned: the fact,
or a date's age in complete years at the end of the facts year) and ``p__<fact>`` (its points).
Each feature is a ``CASE``: null first (the missing bin), then the bins in order — for intervals
only the upper bounds need testing, since the bins are contiguous and sorted (``card.py`` checks)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pubdata.enterprise.facts import KEY
from pubdata.finance.scorecards.card import Card, Feature, reference_date


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return "'" + str(value).replace("'", "''") + "'"


def value_sql(feature: Feature, facts_year: int) -> str:
    """The measured value of a feature (what its bins apply to)."""
    column = quote(feature.fact)
    if feature.type == "date":
        return f"date_sub('year', {column}, DATE '{reference_date(facts_year).isoformat()}')"
    return column


def points_sql(feature: Feature, facts_year: int) -> str:
    value = value_sql(feature, facts_year)
    parts = [f"WHEN {value} IS NULL THEN {feature.missing.points}"]
    other = feature.missing.points
    for b in feature.bins:
        if b.other:
            other = b.points
        elif b.values:
            if feature.type == "boolean":
                parts.append(f"WHEN {value} = {literal(b.values[0])} THEN {b.points}")
            else:
                listed = ", ".join(literal(v) for v in b.values)
                parts.append(f"WHEN {value} IN ({listed}) THEN {b.points}")
        elif b.upper is not None:
            parts.append(f"WHEN {value} < {literal(b.upper)} THEN {b.points}")
        else:
            other = b.points  # the last interval: everything from its lower bound up
    return f"CAST(CASE {' '.join(parts)} ELSE {other} END AS INTEGER)"


def grade_sql(card: Card, score: str = "score") -> str:
    whens = " ".join(f"WHEN {score} >= {cut.min} THEN '{cut.grade}'" for cut in card.grades[:-1])
    return f"CASE {whens} ELSE '{card.grades[-1].grade}' END"


def score_select(card: Card, relation: str, facts_year: int) -> str:
    """The statement scoring every row of ``relation`` (a facts relation: ``read_parquet(...)``)."""
    features = card.features
    inner = ", ".join(
        f"{value_sql(f, facts_year)} AS {quote('v__' + f.fact)}, {points_sql(f, facts_year)} AS {quote('p__' + f.fact)}"
        for f in features
    )
    total = " + ".join([str(card.base)] + [quote("p__" + f.fact) for f in features])
    per_feature = ", ".join(f"{quote('v__' + f.fact)}, {quote('p__' + f.fact)}" for f in features)
    return (
        f"SELECT {quote(KEY)}, name, score, {grade_sql(card)} AS grade, raw_score, {per_feature} FROM ("
        f"SELECT *, CAST(least(greatest(raw_score, {card.min}), {card.max}) AS INTEGER) AS score FROM ("
        f"SELECT *, CAST({total} AS INTEGER) AS raw_score FROM ("
        f"SELECT {quote(KEY)}, name, {inner} FROM {relation})))"
    )


def facts_needed(card: Card) -> list[str]:
    """The facts-table columns the statement reads."""
    return [KEY, "name"] + [f.fact for f in card.features]

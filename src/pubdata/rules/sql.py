"""Compiling a rules-language tree to SQL (DuckDB's dialect) with the Python evaluator's semantics:
SQL's NULL is the evaluator's unknown, and SQL's AND/OR/NOT already follow the same three-valued
logic. Where SQL differs it is bridged here: ``LEAST``/``GREATEST`` skip NULLs (the evaluator
doesn't), and a division by zero is NULL on both sides. Facts become quoted columns; string
constants are escaped, so no fact value or pack text can change the statement's shape. Spark SQL
is the DuckDB expression translated by ``rules.dialect`` (same values, NULLs included).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from pubdata.rules.expr import Arith, BoolOp, Call, Compare, Const, Fact, Member, Neg, Node, Not


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Decimal | str | bool) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        text = format(value, "f")
        # a whole number stays an integer; a fraction becomes an exact DECIMAL, not a DOUBLE
        return text if "." not in text else f"CAST('{text}' AS DECIMAL(38, {len(text.split('.')[1])}))"
    return "'" + value.replace("'", "''") + "'"


def to_sql(node: Node, column: Callable[[str], str] = quote, dialect: str = "duckdb") -> str:
    """The SQL expression for ``node``; ``column`` maps a fact's name to its column expression.
    ``dialect``: ``duckdb`` (the default: what the batch statements embed) or ``spark`` (the same
    expression in Spark SQL, via ``rules.dialect``; same results, NULLs included)."""
    if dialect != "duckdb":
        from pubdata.rules.dialect import DIALECTS, to_spark_sql  # sqlglot: loaded only when translating

        if dialect not in DIALECTS:
            raise ValueError(f"unknown SQL dialect: {dialect}")
        return to_spark_sql(to_sql(node, column))

    def walk(n: Node) -> str:
        if isinstance(n, Const):
            return literal(n.value)
        if isinstance(n, Fact):
            return column(n.name)
        if isinstance(n, Not):
            return f"(NOT {walk(n.operand)})"
        if isinstance(n, BoolOp):
            return "(" + f" {n.op.upper()} ".join(walk(o) for o in n.operands) + ")"
        if isinstance(n, Compare):
            op = "=" if n.op == "==" else "<>" if n.op == "!=" else n.op
            return f"({walk(n.left)} {op} {walk(n.right)})"
        if isinstance(n, Member):
            options = ", ".join(literal(o.value) for o in n.options)
            return f"({walk(n.item)} {'NOT IN' if n.negated else 'IN'} ({options}))"
        if isinstance(n, Neg):
            return f"(-{walk(n.operand)})"
        if isinstance(n, Arith):
            left, right = walk(n.left), walk(n.right)
            if n.op == "/":
                return f"(CAST({left} AS DOUBLE) / NULLIF({right}, 0))"
            return f"({left} {n.op} {right})"
        if isinstance(n, Call):
            a, b = (walk(x) for x in n.args)
            fn = "LEAST" if n.function == "min" else "GREATEST"
            return f"(CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL ELSE {fn}({a}, {b}) END)"
        raise TypeError(f"cannot compile {n!r}")  # pragma: no cover

    return walk(node)

"""SQL dialects: pubdata's generated SQL is written in DuckDB's dialect, and this module translates
it to Spark SQL with the same results — sqlglot's DuckDB → Spark transpiler plus the rewrites it
lacks or gets subtly wrong for our statements:

* ``date_sub('year'|'month', a, b)`` (complete years or months from ``a`` to ``b``) → an explicit
  month count (Spark's ``months_between`` works in fractions of 31 days; DuckDB counts calendar
  parts, and a day-of-month that does not exist in ``b``'s month counts as its last day);
* ``list[i]`` (1-based, NULL out of range) → ``try_element_at(list, i)``: sqlglot shifts only
  literal indexes to Spark's 0-based ``[]``, and ANSI Spark raises out of range;
* ``arg_max(v, t, n)`` (the ``n`` values of the largest ``t``) → sorted ``collect_list`` of
  ``(t, v)`` structs, largest first, sliced to ``n``;
* ``HUGEINT`` → ``DECIMAL(38, 0)`` (Spark has no 128-bit integer);
* ``sign(x)`` → an integer (Spark's ``signum`` is a DOUBLE);
* a top-level ``ORDER BY`` is dropped when asked (the writer sorts; Spark would sort globally).

Anything else that sqlglot cannot express in Spark raises ``UnsupportedDialect`` rather than
producing a statement that means something else.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

DIALECTS = ("duckdb", "spark")


class UnsupportedDialect(ValueError):
    """The statement uses something the Spark dialect cannot express with the same meaning."""


def _spark(node: exp.Expr) -> str:
    return node.sql(dialect="spark")


def _complete_parts(unit: str, start: exp.Expr, end: exp.Expr) -> exp.Expr:
    """DuckDB's ``date_sub(unit, start, end)`` for dates: whole months (or years) from start to end,
    truncated toward zero; a month ends early when ``end`` is its month's last day."""
    a, b = _spark(start), _spark(end)
    # DuckDB compares the day of month, treating the end's last day of month as reaching any later day
    months = (
        f"((year({b}) * 12 + month({b})) - (year({a}) * 12 + month({a})) "
        f"- CASE WHEN {b} >= {a} AND day({b}) < day({a}) AND {b} <> last_day({b}) THEN 1 "
        f"WHEN {b} < {a} AND day({b}) > day({a}) AND {a} <> last_day({a}) THEN -1 ELSE 0 END)"
    )
    if unit == "year":
        months = f"CAST(CAST({months} AS BIGINT) DIV 12 AS BIGINT)"
    return sqlglot.parse_one(f"CAST({months} AS BIGINT)", read="spark")


def _rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "DATE_SUB" and len(node.expressions) == 3:
        unit, start, end = node.expressions
        part = unit.name.lower() if isinstance(unit, exp.Literal) and unit.is_string else ""
        if part not in ("year", "month"):
            raise UnsupportedDialect(f"date_sub('{part}', …) has no Spark rewrite")
        return _complete_parts(part, start, end)
    if isinstance(node, exp.Bracket):
        if len(node.expressions) != 1:
            raise UnsupportedDialect("a slice or multi-index has no Spark rewrite")
        (index,) = node.expressions
        # sqlglot stores a literal DuckDB index 0-based (shifted at parse time), any other as written
        if isinstance(index, exp.Literal) and not index.is_string:
            index = exp.Literal.number(int(index.this) + 1)
        return exp.Anonymous(this="TRY_ELEMENT_AT", expressions=[node.this, index])
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArgMax) and node.this.args.get("count"):
        arg = node.this
        count = arg.args["count"]
        pairs = exp.Filter(
            this=exp.Anonymous(
                this="COLLECT_LIST",
                expressions=[
                    exp.Anonymous(
                        this="NAMED_STRUCT",
                        expressions=[exp.Literal.string("k"), arg.expression, exp.Literal.string("v"), arg.this],
                    )
                ],
            ),
            expression=node.expression,
        )
        text = f"SLICE(TRANSFORM(SORT_ARRAY({_spark(pairs)}, FALSE), p -> p.v), 1, {_spark(count)})"
        return sqlglot.parse_one(text, read="spark")
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        return exp.DataType.build("DECIMAL(38, 0)")
    if isinstance(node, exp.Sign):
        return exp.Cast(this=node.copy(), to=exp.DataType.build("INT"))
    return node


def to_spark_sql(sql: str, *, strip_order: bool = False) -> str:
    """``sql`` (one DuckDB statement or expression) in Spark SQL with the same meaning."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError as exc:
        raise UnsupportedDialect(f"cannot parse the statement: {exc}") from None
    if strip_order and tree.args.get("order") is not None:
        tree.set("order", None)
    for union in tree.find_all(exp.Union):
        if union.args.get("by_name"):
            raise UnsupportedDialect("UNION … BY NAME has no Spark SQL form")
    # children first: a rewritten node is built from its already rewritten children
    for node in reversed(list(tree.dfs())):
        new = _rewrite(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    if any(a.args.get("count") for a in tree.find_all(exp.ArgMax)):
        raise UnsupportedDialect("arg_max(v, t, n) outside a FILTER clause has no Spark rewrite")
    try:
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise UnsupportedDialect(f"not expressible in Spark SQL: {exc}") from None

"""A contract's row filter: a boolean expression over the table's fields, e.g.
``district = '崂山区' AND founded >= '2020-01-01'``.

Parsed by sqlglot into a tree and accepted only if built of columns of the table, literals, and the
comparison, ``IN``, ``BETWEEN``, ``LIKE``, ``IS [NOT] NULL``, ``AND``, ``OR``, ``NOT`` operators — no
functions, no subqueries. ``compile_filter`` returns the DuckDB SQL the read path puts inside the
relation, over the raw (unmasked) columns, so a consumer never sees rows outside it.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from pubdata.errors import Invalid

_ALLOWED: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Tuple, exp.Neg,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between, exp.Like, exp.ILike, exp.Is,
    exp.And, exp.Or, exp.Not,
)  # fmt: skip
_BOOLEAN = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between, exp.Like, exp.ILike, exp.Is,
            exp.And, exp.Or, exp.Not, exp.Paren, exp.Boolean)  # fmt: skip
MAX_LENGTH = 2000
_ALLOWED_WORDS = "只能用字段、常量和比较、IN、BETWEEN、LIKE、IS NULL、AND、OR、NOT"


class InvalidRowFilter(Invalid):
    code = "access.invalid_row_filter"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="row_filter")


def parse_filter(text: str, field_names: list[str]) -> exp.Expression:
    """The filter's tree, if it is a valid expression over ``field_names``."""
    if len(text) > MAX_LENGTH:
        raise InvalidRowFilter(f"行过滤条件过长：最多 {MAX_LENGTH} 个字符")
    try:
        tree = sqlglot.parse_one(text, read="postgres")
    except SqlglotError as exc:
        raise InvalidRowFilter(f"行过滤条件不是合法的表达式：{str(exc).splitlines()[0]}") from None
    if tree is None or not isinstance(tree, _BOOLEAN):
        raise InvalidRowFilter(f"行过滤条件应为真假判断（如 district = '崂山区'）：{text}")
    known = set(field_names)
    for node in tree.walk():
        if not isinstance(node, _ALLOWED):
            what = node.sql_name() if isinstance(node, exp.Func) else node.key.upper()
            raise InvalidRowFilter(
                f"行过滤条件中不允许使用 {what}：只能用字段、常量和比较、IN、BETWEEN、LIKE、AND、OR、NOT"
            )
        if isinstance(node, exp.Column) and (node.table or node.name not in known):
            raise InvalidRowFilter(f"行过滤条件中的字段不存在：{node.sql()}（可用字段：{'、'.join(field_names)}）")
    return tree


def compile_filter(text: str, field_names: list[str]) -> str:
    """DuckDB SQL of a valid filter, columns quoted."""
    tree = parse_filter(text, field_names)
    for column in tree.find_all(exp.Column):
        column.set("this", exp.to_identifier(column.name, quoted=True))
    return tree.sql(dialect="duckdb")

"""Read-only SQL over the store (``datastore_search_sql`` and ``/api/v1/sql``).

The query is parsed by sqlglot (PostgreSQL syntax, as CKAN's) and checked against an allow-list:
one statement, a ``SELECT`` (or a set operation of them), built only of the expression kinds and
functions listed below. Every table it names must be a resource id (``FROM "<uuid>"``) the caller may
read, or a name of its own ``WITH``; each is replaced by that resource's read-path relation, so the
query sees exactly the columns the read plan allows and nothing else — no files, no catalogue, no
settings, no other process state. It runs under the query time limit and returns at most
``sql_max_rows`` rows (the result says when it was cut).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import sqlglot
from sqlalchemy.orm import Session
from sqlglot import exp
from sqlglot.errors import ParseError

from pubdata.authz import Actor
from pubdata.errors import Invalid
from pubdata.settings import get_settings
from pubdata.store import engine
from pubdata.store.read import ROW_ID, ROW_NUMBER, ReadPlan, plan_read, record_read
from pubdata.store.semantic import quote_identifier

MAX_SQL_LENGTH = 20_000

# Expression kinds a query may contain (structure, operators, literals).
_STRUCTURE: tuple[type[exp.Expression], ...] = (
    exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.From, exp.Join, exp.Where,
    exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit, exp.Offset, exp.Distinct, exp.With, exp.CTE,
    exp.TableAlias, exp.Alias, exp.Column, exp.Identifier, exp.Star, exp.Literal, exp.Null, exp.Boolean,
    exp.Table, exp.Paren, exp.Tuple, exp.Values, exp.Window, exp.WindowSpec, exp.Var, exp.Interval,
    exp.DataType, exp.DataTypeParam, exp.Cast, exp.TryCast, exp.Case, exp.If, exp.Filter, exp.WithinGroup,
    exp.Exists, exp.Any, exp.All, exp.Qualify, exp.Dot, exp.IntervalSpan,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.And, exp.Or,
    exp.Not, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.Add, exp.Sub, exp.Mul, exp.Div,
    exp.IntDiv, exp.Mod, exp.Neg, exp.DPipe, exp.Escape,
)  # fmt: skip
# Functions a query may call: aggregates, window functions, scalar text, number and date functions.
_FUNCTIONS: tuple[type[exp.Expression], ...] = (
    exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Stddev, exp.StddevPop, exp.StddevSamp,
    exp.Variance, exp.VariancePop, exp.Median, exp.PercentileCont, exp.PercentileDisc, exp.Quantile,
    exp.ApproxDistinct, exp.CountIf, exp.GroupConcat, exp.ArrayAgg, exp.LogicalAnd, exp.LogicalOr,
    exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile, exp.Lag, exp.Lead,
    exp.FirstValue, exp.LastValue, exp.NthValue,
    exp.Abs, exp.Round, exp.Floor, exp.Ceil, exp.Sqrt, exp.Pow, exp.Ln, exp.Log, exp.Exp, exp.Sign,
    exp.Greatest, exp.Least, exp.Coalesce, exp.Nullif,
    exp.Lower, exp.Upper, exp.Length, exp.Substring, exp.Trim, exp.Concat, exp.ConcatWs, exp.StrPosition,
    exp.Left, exp.Right, exp.Initcap, exp.Pad, exp.Reverse, exp.StartsWith, exp.SplitPart,
    exp.RegexpLike, exp.RegexpExtract, exp.RegexpReplace,
    exp.Extract, exp.TimestampTrunc, exp.DateTrunc, exp.Year, exp.Month, exp.Day, exp.Quarter, exp.Week,
    exp.DayOfWeek, exp.DayOfMonth, exp.DayOfYear, exp.DateDiff, exp.DateAdd, exp.DateSub, exp.CurrentDate,
    exp.CurrentTimestamp, exp.StrToDate, exp.StrToTime, exp.TimeToStr, exp.ToChar, exp.Date,
)  # fmt: skip
_ANONYMOUS = frozenset({"strpos", "replace", "translate", "md5", "date_part", "age", "to_date", "nullif"})
_ALLOWED = _STRUCTURE + _FUNCTIONS + (exp.Anonymous,)


class InvalidSql(Invalid):
    code = "store.invalid_sql"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="sql")


@dataclass
class SqlResult:
    sql: str
    table: pa.Table
    truncated: bool
    resources: list[ReadPlan]


def check(sql: str) -> exp.Query:
    """The parsed query, if it passes the allow-list; else ``InvalidSql`` naming what is not allowed."""
    if not sql or not sql.strip():
        raise InvalidSql("SQL 不能为空")
    if len(sql) > MAX_SQL_LENGTH:
        raise InvalidSql(f"SQL 过长：最多 {MAX_SQL_LENGTH} 个字符")
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    except ParseError as exc:
        first = exc.errors[0]["description"] if exc.errors else str(exc)
        raise InvalidSql(f"SQL 语法错误：{first}") from None
    except sqlglot.errors.SqlglotError as exc:
        raise InvalidSql(f"SQL 无法解析：{str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise InvalidSql("只能提交一条 SQL 语句")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise InvalidSql(f"只允许只读的 SELECT 查询，不允许 {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in _ANONYMOUS:
                raise InvalidSql(f"SQL 中不允许使用函数 {node.name}")
        elif not isinstance(node, _ALLOWED):
            what = node.sql_name() if isinstance(node, exp.Func) else node.key.upper()
            raise InvalidSql(f"SQL 中不允许使用 {what}")
        elif isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            raise InvalidSql('SQL 中不允许使用表函数，只能查询数据资源（FROM "资源ID"）')
        elif isinstance(node, exp.Table) and (node.args.get("db") or node.args.get("catalog")):
            raise InvalidSql(f'不允许访问 {node.sql("postgres")}：只能查询数据资源（FROM "资源ID"）')
    return tree


def run_sql(session: Session, actor: Actor, sql: str, *, home: Path, max_rows: int | None = None) -> SqlResult:
    """Run a checked query over the resources the actor may read."""
    tree = check(sql)
    own_names = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    plans: dict[str, ReadPlan] = {}
    for table in list(tree.find_all(exp.Table)):
        name = table.name
        if name in own_names:
            continue
        if name not in plans:
            plans[name] = plan_read(session, actor, name, home=home)
        alias = table.alias or name
        table.replace(
            exp.Table(
                this=exp.to_identifier(f"__r{list(plans).index(name)}", quoted=True),
                alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)),
            )
        )
    if not plans:
        raise InvalidSql('SQL 必须查询至少一个数据资源：FROM "资源ID"')
    limit = get_settings().sql_max_rows if max_rows is None else max_rows
    ctes = ", ".join(f'"__r{i}" AS ({_relation(plan)})' for i, plan in enumerate(plans.values()))
    final = f"WITH {ctes} SELECT * FROM ({tree.sql(dialect='duckdb')}) AS q LIMIT {int(limit) + 1}"
    cur = engine.cursor()
    try:
        table = engine.run(cur, final).to_arrow_table()
    finally:
        cur.close()
    truncated = table.num_rows > limit
    for plan in plans.values():
        record_read(session, actor, plan, "sql.read", rows=min(table.num_rows, limit), query_text=sql)
    return SqlResult(sql=sql, table=table.slice(0, limit), truncated=truncated, resources=list(plans.values()))


def _relation(plan: ReadPlan) -> str:
    cols = ", ".join(quote_identifier(n) for n in plan.field_names)
    return f"SELECT {ROW_NUMBER} + 1 AS {ROW_ID}, {cols} FROM {plan.relation} AS t"

"""Read-only SQL over the store (``datastore_search_sql`` and ``/api/v1/sql``).

Three walls, each enough on its own to keep a statement to the data its caller may read:

1. The allow-list. The query is parsed by sqlglot (PostgreSQL syntax, as CKAN's): one statement, a
   ``SELECT`` (or a set operation of them), built only of the expression kinds and functions listed
   below; no table functions, no qualified names, no ``WITH RECURSIVE``.
2. Name resolution with proper scoping (sqlglot's scope module). Every table reference is resolved
   where it stands: a name of a ``WITH`` visible at that point is that CTE; anything else must be a
   resource id (``FROM "<uuid>"``) that ``plan_read`` authorises for the caller. Then every table name in
   the statement is replaced by a generated one — ``__r<i>`` for the read plans' relations, ``__c<i>``
   for the statement's own CTEs — so no name the caller wrote reaches DuckDB as a table, and a
   reference sqlglot and DuckDB might resolve differently cannot name a file.
3. The connection. The statement runs on ``engine.confined``: a connection that can open only the
   plans' Parquet files (external access off, ``allowed_paths``, configuration locked).

Every statement is audited with the resources it read (``sql.read`` per resource, open data
included), and so is every refusal: by the checks (``sql.query``), by the read plan, or by DuckDB
(``result = failed``, with the error's category; its text, which may hold row values, only goes to
the server log). It runs under the query time limit and returns at most ``sql_max_rows`` rows (the
result says when it was cut).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import sqlglot
from sqlalchemy.orm import Session
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.optimizer.scope import Scope, traverse_scope

from pubdata.audit import service as audit
from pubdata.authz import Actor
from pubdata.errors import Invalid, PubdataError
from pubdata.settings import get_settings
from pubdata.store import engine
from pubdata.store.ingest.semantic import quote_identifier
from pubdata.store.read import ROW_ID, ROW_NUMBER, ReadPlan, RowsTaken, plan_read, rows_allowed, take_rows

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
    quota: RowsTaken | None = None  # where the grants' daily row quotas stand (cut: truncated_by_quota)


def check(sql: str) -> exp.Query:
    """The parsed query, if it passes the allow-list; else ``InvalidSql`` naming what is not allowed."""
    if not sql or not sql.strip():
        raise InvalidSql("SQL 不能为空")
    if len(sql) > MAX_SQL_LENGTH:
        raise InvalidSql(f"SQL 过长：最多 {MAX_SQL_LENGTH} 个字符")
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f"（第 {first['line']} 行第 {first['col']} 列）" if first.get("line") else ""
        raise InvalidSql(f"SQL 语法错误{where}：{first.get('description') or str(exc).splitlines()[0]}") from None
    except sqlglot.errors.SqlglotError as exc:
        raise InvalidSql(f"SQL 无法解析：{str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise InvalidSql("只能提交一条 SQL 语句")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise InvalidSql(f"只允许只读的 SELECT 查询，不允许 {tree.key.upper()}")
    if any(w.args.get("recursive") for w in tree.find_all(exp.With)):
        raise InvalidSql("SQL 中不允许使用 WITH RECURSIVE")
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


@dataclass
class Resolved:
    """A checked statement whose table names are all generated: ``__r<i>`` stands for the i-th
    resource id in ``resource_ids``, ``__c<i>`` for one of the statement's own CTEs."""

    tree: exp.Query
    resource_ids: list[str]


def resolve(tree: exp.Query) -> Resolved:
    """Resolve every table reference of a checked statement with proper scoping and replace it by a
    generated name (the statement is changed in place). ``InvalidSql`` when a reference cannot be
    resolved, or when the statement names no resource."""
    try:
        scopes = traverse_scope(tree)
    except sqlglot.errors.SqlglotError as exc:
        raise InvalidSql(f"SQL 中的表引用无法解析：{str(exc).splitlines()[0]}") from None
    resource_ids: list[str] = []
    cte_names: dict[int, str] = {}
    seen: set[int] = set()
    renames: list[tuple[exp.Table, str]] = []
    for scope in scopes:
        names = [t.alias_or_name for t in scope.tables]
        twice = {n for n in names if names.count(n) > 1}
        if twice:
            raise InvalidSql(f"SQL 中同一层级的表名或别名重复：{sorted(twice)[0]}（请用 AS 起不同的别名）")
        for table in scope.tables:
            seen.add(id(table))
            source = scope.sources.get(table.alias_or_name)
            if isinstance(source, Scope):  # a CTE visible here
                cte = source.expression.parent
                if not isinstance(cte, exp.CTE):
                    raise InvalidSql(f"SQL 中的表引用无法解析：{table.name}")
                generated = cte_names.setdefault(id(cte), f"__c{len(cte_names)}")
            elif source is table:  # not a CTE: it must be a resource the read plan authorises
                if table.name not in resource_ids:
                    resource_ids.append(table.name)
                generated = f"__r{resource_ids.index(table.name)}"
            else:
                raise InvalidSql(f"SQL 中的表引用无法解析：{table.name}")
            renames.append((table, generated))
    if any(id(t) not in seen for t in tree.find_all(exp.Table)):
        raise InvalidSql("SQL 中有无法解析的表引用")  # fail closed: every table must have been resolved
    if not resource_ids:
        raise InvalidSql('SQL 必须查询至少一个数据资源：FROM "资源ID"')
    for cte in tree.find_all(exp.CTE):
        if id(cte) not in cte_names:
            cte_names[id(cte)] = f"__c{len(cte_names)}"  # defined but never used: renamed all the same
        alias = cte.args.get("alias")
        assert isinstance(alias, exp.TableAlias)
        alias.set("this", exp.to_identifier(cte_names[id(cte)], quoted=True))
    for table, generated in renames:
        alias = table.args.get("alias")
        if not isinstance(alias, exp.TableAlias):  # the caller's name stays the alias its columns refer to
            alias = exp.TableAlias(this=exp.to_identifier(table.name, quoted=True))
        table.replace(exp.Table(this=exp.to_identifier(generated, quoted=True), alias=alias.copy()))
    for table in tree.find_all(exp.Table):  # what DuckDB will see: generated names only
        name = table.name
        if not (name.startswith(("__r", "__c")) and name[3:].isdigit()):
            raise InvalidSql(f"SQL 中有无法解析的表引用：{name}")
    return Resolved(tree, resource_ids)


def run_sql(session: Session, actor: Actor, sql: str, *, home: Path, max_rows: int | None = None) -> SqlResult:
    """Run a checked query over the resources the actor may read; audited, refusals included."""
    digest = audit.digest_of(sql)
    try:
        resolved = resolve(check(sql))
    except InvalidSql as exc:
        _refused(session, actor, digest, exc.message)
        raise
    plans: list[ReadPlan] = []
    try:
        for rid in resolved.resource_ids:
            plans.append(plan_read(session, actor, rid, home=home))  # refusals are audited there too
    except PubdataError as exc:
        _refused(session, actor, digest, exc.message, resources=resolved.resource_ids)
        raise
    limit = get_settings().sql_max_rows if max_rows is None else max_rows
    allowed = rows_allowed(plans)  # a grant's daily row quota: never compute more rows than may leave
    cap = limit if allowed is None else min(limit, allowed)
    ctes = ", ".join(f'"__r{i}" AS ({_relation(plan)})' for i, plan in enumerate(plans))
    final = f"WITH {ctes} SELECT * FROM ({resolved.tree.sql(dialect='duckdb')}) AS q LIMIT {int(cap) + 1}"
    try:
        missing = [plan for plan in plans if not plan.path.is_file()]
        if missing:  # a published version without its file: the server's fault (the confined connection
            # would report it as a refused path, i.e. as the caller's)
            raise engine.server_fault(f"published version file missing: {missing[0].path}")
        with engine.confined(plan.path for plan in plans) as con:
            table = engine.run(con, final).to_arrow_table()
    except (engine.QueryFailed, engine.QueryTimeout, engine.StoreFault) as exc:
        for plan in plans:
            _failed(session, actor, plan, sql, exc)
        raise
    more = table.num_rows > cap
    taken = take_rows(
        session, actor, plans, "sql.read", rows=min(table.num_rows, cap), query_text=sql, always=True
    )  # audits each resource and reserves the rows before any leaves
    by_quota = taken.truncated or (more and cap < limit)
    return SqlResult(
        sql=sql,
        table=table.slice(0, taken.rows),
        truncated=more or taken.truncated,
        resources=plans,
        quota=replace(taken, truncated=by_quota),
    )


def _refused(session: Session, actor: Actor, digest: str, why: str, resources: list[str] | None = None) -> None:
    details = {"resources": resources} if resources else None
    audit.refuse(session, actor, audit.Event("sql.query", reason=why[:500], query_digest=digest, details=details))


def _failed(session: Session, actor: Actor, plan: ReadPlan, sql: str, exc: PubdataError) -> None:
    """A statement DuckDB refused or could not finish: audited per resource like a read (the call was
    charged when the plan was made), with the error's category, never its text."""
    category = exc.details[0].get("category") if isinstance(exc.details, list) and exc.details else "timeout"
    event = plan.audit_event("sql.read", result="failed", reason=f"{exc.code}:{category}", rows=0, query_text=sql)
    audit.record_later(session, actor, event)


def _relation(plan: ReadPlan) -> str:
    cols = ", ".join(quote_identifier(n) for n in plan.field_names)
    return f"SELECT {ROW_NUMBER} + 1 AS {ROW_ID}, {cols} FROM {plan.relation} AS t"

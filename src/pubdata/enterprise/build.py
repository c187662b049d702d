"""The SQL of a facts build: one DuckDB query over the source tables' read-path relations that
yields one row per registered enterprise and one typed column per fact of the fact-sources file
(``config.SourcesConfig``), written to Parquet sorted by ``uscc``.

Each table source is first projected to the columns the file declares — money columns converted to
yuan (exact DECIMAL) by the unit their Table Schema field declares, several entries of one source
stacked — then reduced to at most one row per enterprise by one grouped aggregate holding every
fact of that source (``FILTER`` clauses for each fact's year rule and conditions; hash aggregates
spill to disk beyond the connection's memory limit), and left-joined to the registry. A fact whose
source has no data is a typed NULL for everyone. Enterprise-supplied facts come from one more
relation (``supplied``: the current values enterprises supplied, one row per enterprise and fact,
canonical text), pivoted to one column per fact and left-joined the same way; without it they are
NULL for everyone.

Nothing here runs per row in Python: the caller runs ``facts_sql`` as one ``COPY``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pubdata.enterprise.config import Aggregate, Condition, FactSpec, SourcesConfig
from pubdata.enterprise.facts import DUCKDB_TYPES

# What one unit of a money column is worth in yuan (Table Schema ``unit``).
YUAN_PER_UNIT: dict[str, Decimal] = {
    "fen": Decimal("0.01"),
    "yuan": Decimal(1),
    "wan_yuan": Decimal(10_000),
    "yi_yuan": Decimal(100_000_000),
}
# Row values are read as exact decimals with four places; 18 digits keep DuckDB's arithmetic in
# 64-bit integers (a value of 10¹⁴ or more in its column's unit reads as unknown). Sums widen to 38.
EXACT = "DECIMAL(18,4)"


@dataclass(frozen=True)
class Member:
    """One table of a source as the build reads it: the read path's relation, and the declared
    unit of each of its columns (None: none declared)."""

    relation: str
    units: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """A source as the build reads it: its tables' relations (one per entry with data), whether
    the key column alone is the primary key (the registry: no duplicates to drop)."""

    members: tuple[Member, ...]
    unique_key: bool = False


def _lit(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _money(expr: str) -> str:
    return f"CAST(round({expr}) AS BIGINT)"


def _typed(expr: str, ftype: str) -> str:
    """A column value as the fact's type (money and number still exact here; ``_final`` rounds)."""
    if ftype in ("string", "district"):
        return f"CAST({expr} AS VARCHAR)"
    if ftype == "date":
        return f"TRY_CAST({expr} AS DATE)"
    if ftype == "boolean":
        return f"TRY_CAST({expr} AS BOOLEAN)"
    if ftype == "integer":
        return f"TRY_CAST({expr} AS BIGINT)"
    return f"TRY_CAST({expr} AS {EXACT})"


def _rounded(expr: str, ftype: str) -> str:
    if ftype == "money":
        return _money(expr)
    if ftype == "integer":
        return f"CAST(round({expr}) AS BIGINT)"
    if ftype == "number":
        return f"round({expr}, 2)"
    return expr


def _pct(num: str, den: str) -> str:
    """``num / den`` as a percentage with two decimals, exact (DuckDB divides decimals in DOUBLE):
    integer arithmetic in units of 0.0001, rounded half away from zero. ``den`` must not be 0."""
    n = f"CAST(CAST({num} AS {EXACT}) * 10000 AS HUGEINT)"
    d = f"CAST(CAST({den} AS {EXACT}) * 10000 AS HUGEINT)"
    q = f"((abs({n}) * 20000 + abs({d})) // (2 * abs({d})))"
    return f"CAST(CAST(sign({n}) * sign({d}) * {q} AS DECIMAL(38,0)) * 0.01 AS DECIMAL(18,2))"


def _canonical(expr: str, values: tuple[str, ...] | None) -> str:
    """A string value as one of the fact's allowed values (compared trimmed, case-insensitively)."""
    if not values:
        return f"trim(CAST({expr} AS VARCHAR))"
    cases = " ".join(f"WHEN {_lit(v.upper())} THEN {_lit(v)}" for v in values)
    return f"CASE upper(trim(CAST({expr} AS VARCHAR))) {cases} END"


# --- time and conditions --------------------------------------------------------------------------


def _time(column: str, how: str) -> str:
    if how == "year":
        return f"TRY_CAST({_q(column)} AS INTEGER)"
    if how == "month":
        return f"left(CAST({_q(column)} AS VARCHAR), 7)"
    return f"TRY_CAST({_q(column)} AS DATE)"


def _bounds(how: str, first: int, last: int) -> tuple[str, str]:
    if how == "year":
        return str(first), str(last)
    if how == "month":
        return f"'{first:04d}-01'", f"'{last:04d}-12'"
    return f"DATE '{first:04d}-01-01'", f"DATE '{last:04d}-12-31'"


def _window(a: Aggregate, year: int) -> str | None:
    """The aggregate's year rule as a condition on its time column (None: every row)."""
    if a.at is None or a.year in (None, "any"):
        return None
    t = _time(a.at, a.at_as)
    if a.year == "as_of_year_end":
        cond = f"{t} <= {_bounds(a.at_as, year, year)[1]}"
    else:
        if a.year == "in_year":
            first = last = year
        elif a.year == "last_n_years":
            first, last = year - int(a.year_n or 1) + 1, year
        else:  # fixed_year
            first = last = int(a.year_n or year)
        lo, hi = _bounds(a.at_as, first, last)
        cond = f"{t} BETWEEN {lo} AND {hi}"
    return f"({t} IS NULL OR {cond})" if a.at_null_counts else cond


def _condition(c: Condition) -> str:
    col = _q(c.column)
    if c.op in ("in", "not_in"):
        items = ", ".join(_lit(str(v).upper()) for v in c.value)
        test = f"upper(trim(CAST({col} AS VARCHAR))) IN ({items})"
        return test if c.op == "in" else f"coalesce(NOT ({test}), true)"
    if c.op == "is":
        return f"TRY_CAST({col} AS BOOLEAN) = {_lit(bool(c.value))}"
    if c.op == "is_null":
        return f"{col} IS NULL" if c.value else f"{col} IS NOT NULL"
    sign = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[c.op]
    return f"TRY_CAST({col} AS {EXACT}) {sign} {_lit(c.value)}"


class _Exprs:
    """Row expressions of one source, each computed once per row in its projection (``_e0``, …)
    however many facts' conditions use it: DuckDB evaluates every ``FILTER`` clause on its own."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def __call__(self, expr: str) -> str:
        if expr not in self.names:
            self.names[expr] = f"_e{len(self.names)}"
        return self.names[expr]

    def select(self) -> str:
        return "".join(f", {expr} AS {name}" for expr, name in self.names.items())


def _cond(a: Aggregate, year: int, x: _Exprs) -> str:
    parts: list[str | None] = [_window(a, year), *(_condition(c) for c in a.filters)]
    if a.until is not None:
        end = f"DATE '{year:04d}-12-31'"
        u = f"TRY_CAST({_q(a.until)} AS DATE)"
        parts.append(f"{u} IS NULL OR {u} {'>=' if a.until_inclusive else '>'} {end}")
    kept = [x(f"coalesce({p}, false)") for p in parts if p]
    return " AND ".join(kept) if kept else "true"


# --- one fact's aggregate -------------------------------------------------------------------------


@dataclass
class _Agg:
    """What a fact adds to its source's grouped aggregate: the value column and the number of
    matching rows (``n``), and the kind's value when rows exist but none match."""

    value: str
    n: str | None
    natural: str | None = None  # the empty value for absent.scope ``source``


def _aggregate(f: FactSpec, year: int, x: _Exprs) -> _Agg:
    a = f.aggregate
    assert a is not None
    cond = _cond(a, year, x)
    n = f"count(*) FILTER (WHERE {cond})"
    kind = a.kind
    if kind == "count":
        what = "*"
        if a.distinct is not None:
            what = "DISTINCT " + x(
                _time(a.distinct, a.at_as) if a.distinct == a.at else f"CAST({_q(a.distinct)} AS VARCHAR)"
            )
        return _Agg(f"count({what}) FILTER (WHERE {cond})", n, "0")
    if kind == "sum":
        terms = []
        for c in a.columns:
            term = f"TRY_CAST({_q(c)} AS {EXACT})"
            if a.zero_when:
                zero = " AND ".join(x(f"coalesce({_condition(z)}, false)") for z in a.zero_when)
                term = f"CASE WHEN {zero} THEN 0 ELSE {term} END"
            terms.append(term)
        if a.strict:
            t = x(" + ".join(terms))
            value = f"CASE WHEN count({t}) FILTER (WHERE {cond}) = {n} THEN sum({t}) FILTER (WHERE {cond}) END"
            return _Agg(value, n)
        t = x(" + ".join(f"coalesce({term}, 0)" for term in terms))
        return _Agg(f"sum({t}) FILTER (WHERE {cond})", n, "0")
    if kind == "exists":
        return _Agg(f"{n} > 0", n, "false")
    if kind == "any_true":
        flag = x(f"TRY_CAST({_q(a.column or '')} AS BOOLEAN)")
        return _Agg(f"bool_or({flag}) FILTER (WHERE {cond})", n)
    if kind == "latest":
        t = x(_time(a.at or "", a.at_as))
        v = _q(a.column or "")
        known = x(f"{v} IS NOT NULL AND {_time(a.at or '', a.at_as)} IS NOT NULL")
        where = f"{cond} AND {known}"
        if a.rank == 1:
            return _Agg(f"arg_max({v}, {t}) FILTER (WHERE {where})", n)
        return _Agg(f"(arg_max({v}, {t}, {a.rank}) FILTER (WHERE {where}))[{a.rank}]", n)
    if kind == "highest":
        col = f"upper(trim(CAST({_q(a.column or '')} AS VARCHAR)))"
        ranks = " ".join(f"WHEN {_lit(v.upper())} THEN {i}" for i, v in enumerate(a.order, 1))
        rank = x(f"CASE {col} {ranks} END")
        best = f"min({rank}) FILTER (WHERE {cond})"
        listed = "[" + ", ".join(_lit(v) for v in a.order) + "]"
        return _Agg(f"{listed}[{best}]", n)
    if kind == "elapsed":
        part = "year" if a.unit == "years" else "month"
        end = f"DATE '{year:04d}-12-31'"
        return _Agg(f"max(greatest(0, date_sub('{part}', TRY_CAST({_q(a.column or '')} AS DATE), {end})))", n)
    if kind == "change_pct":
        t = _time(a.at or "", a.at_as)
        now, before = (_bounds(a.at_as, y, y)[1] for y in (year, year - 1))
        filters = " AND ".join([x(f"coalesce({_condition(c)}, false)") for c in a.filters] or ["true"])
        v = x(f"TRY_CAST({_q(a.column or '')} AS {EXACT})")
        at_now, at_before = x(f"coalesce({t} = {now}, false)"), x(f"coalesce({t} = {before}, false)")
        cur = f"max({v}) FILTER (WHERE {at_now} AND {filters})"
        prev = f"max({v}) FILTER (WHERE {at_before} AND {filters})"
        value = f"CASE WHEN {prev} > 0 AND {cur} IS NOT NULL THEN {_pct(f'({cur} - {prev})', prev)} END"
        return _Agg(value, None)
    if kind == "on_time_share_pct":
        inyear = Aggregate(kind="count", at=a.at, at_as=a.at_as, year="in_year", filters=a.filters)
        bills = _cond(inyear, year, x)
        month = (
            f"TRY_CAST(left(CAST({_q(a.at or '')} AS VARCHAR), 7) || '-01' AS DATE)"
            if a.at_as == "month"
            else f"date_trunc('month', TRY_CAST({_q(a.at or '')} AS DATE))"
        )
        due = f"last_day({month} + INTERVAL {int(a.due_months)} MONTH)"
        on_time = f"TRY_CAST({_q(a.paid_column or '')} AS DATE) <= {due}"
        if a.arrears_column:
            on_time += f" AND coalesce(TRY_CAST({_q(a.arrears_column)} AS BOOLEAN), false) = false"
        total = f"count(*) FILTER (WHERE {bills})"
        paid = x(f"coalesce({on_time}, false)")
        good = f"count(*) FILTER (WHERE {bills} AND {paid})"
        return _Agg(f"CASE WHEN {total} > 0 THEN {_pct(good, total)} END", None)
    raise ValueError(f"not an aggregate over a table: {kind}")


# --- the registry ---------------------------------------------------------------------------------


def _district_sql(config: SourcesConfig, a: Aggregate) -> str:
    """The registered district: the registry's name if it is (or contains) one of the districts or
    a former name, else the district of its division code, else of the credit code's characters
    3–8 (the registering authority's division)."""
    by_name: dict[str, str] = {}
    by_code: dict[str, str] = {}
    for d in config.districts:
        by_name[d.name] = d.name
        by_name.update({alias: d.name for alias in d.aliases})
        by_code.update({code: d.name for code in d.codes})
    name = f"trim(CAST(r.{_q(a.name_column or '')} AS VARCHAR))"
    named = " ".join(f"WHEN contains({name}, {_lit(k)}) THEN {_lit(v)}" for k, v in by_name.items())
    coded = "CASE {code} " + " ".join(f"WHEN {_lit(c)} THEN {_lit(n)}" for c, n in by_code.items()) + " END"
    parts = [f"CASE {named} END"]
    if a.code_column:
        parts.append(coded.format(code=f"left(CAST(r.{_q(a.code_column)} AS VARCHAR), 6)"))
    if a.credit_code_column:
        parts.append(coded.format(code=f"substr(CAST(r.{_q(a.credit_code_column)} AS VARCHAR), 3, 6)"))
    return f"coalesce({', '.join(parts)})"


def _registry_value(config: SourcesConfig, f: FactSpec, year: int) -> str:
    a = f.aggregate
    assert a is not None
    if a.kind == "district":
        return _district_sql(config, a)
    if a.kind == "elapsed":
        part = "year" if a.unit == "years" else "month"
        return f"greatest(0, date_sub('{part}', TRY_CAST(r.{_q(a.column or '')} AS DATE), DATE '{year:04d}-12-31'))"
    if a.kind == "value":
        return _rounded(_typed(f"r.{_q(a.column or '')}", f.type), f.type)
    raise ValueError(f"{a.kind} over the registry")


# --- the query ------------------------------------------------------------------------------------


def _projection(spec_columns: tuple[str, ...], key: str, member: Member, keep_row_number: bool) -> str:
    cols = [f"CAST({_q(key)} AS VARCHAR) AS _key"]
    for c in spec_columns:
        factor = YUAN_PER_UNIT.get(member.units.get(c) or "")
        if factor is not None and factor != 1:
            cols.append(f"(TRY_CAST({_q(c)} AS {EXACT}) * {factor}) AS {_q(c)}")
        elif factor == 1:
            cols.append(f"TRY_CAST({_q(c)} AS {EXACT}) AS {_q(c)}")
        else:
            cols.append(_q(c))
    if keep_row_number:
        cols.append("_rn")
    return f"SELECT {', '.join(cols)} FROM {member.relation}"


def _final(f: FactSpec, agg: _Agg, alias: str) -> str:
    value = _rounded(agg.value, f.type) if f.type in ("money", "integer", "number") else agg.value
    if f.type == "string" and f.aggregate is not None and f.aggregate.kind in ("latest", "highest"):
        value = _canonical(value, f.values)
    absent = _lit(f.absent.value)
    if f.absent.scope == "source":
        natural = f"coalesce({value}, {agg.natural})" if agg.natural else value
        return f"CASE WHEN {alias}._key IS NULL THEN {absent} ELSE {natural} END"
    if agg.n is None:
        present = f"CASE WHEN {alias}._key IS NOT NULL THEN {value} END"
    else:
        present = f"CASE WHEN coalesce({alias}.n_{f.name}, 0) > 0 THEN {value} END"
    return present if f.absent.value is None else f"coalesce({present}, {absent})"


def _supplied_cte(config: SourcesConfig, relation: str) -> tuple[str, dict[str, str]]:
    """The supplied values (``uscc, name, value``) as one row per enterprise, a column per
    enterprise-supplied fact; and each fact's typed value over it."""
    names = [f for f in config.facts.values() if config.sources[f.source].kind == "enterprise_supplied"]
    pivots = ", ".join(f"max(value) FILTER (WHERE name = {_lit(f.name)}) AS {_q('v_' + f.name)}" for f in names)
    cte = f"sup AS (SELECT CAST(uscc AS VARCHAR) AS _key, {pivots} FROM {relation} GROUP BY 1)"
    values = {f.name: f"TRY_CAST(sup.{_q('v_' + f.name)} AS {DUCKDB_TYPES[f.type]})" for f in names}
    return cte, values


def facts_sql(
    config: SourcesConfig, sources: dict[str, Source | None], year: int, *, supplied: str | None = None
) -> str:
    """The query of the facts table for ``year`` over the given sources (None: no data) and the
    relation of enterprise-supplied values (None: none supplied)."""
    registry = sources.get(config.registry)
    if registry is None:
        raise ValueError("the registry is required")
    reg_spec = config.sources[config.registry]
    ctes: list[str] = []
    joins: list[str] = []
    value: dict[str, str] = {}

    # the registry: the population, one row per credit code (the last row wins when not unique)
    (member,) = registry.members[:1]
    keep = not registry.unique_key
    dedupe = "" if registry.unique_key else " QUALIFY row_number() OVER (PARTITION BY _key ORDER BY _rn DESC) = 1"
    ctes.append(f"r AS (SELECT * FROM ({_projection(reg_spec.columns, reg_spec.key_column, member, keep)}) "
                f"WHERE _key IS NOT NULL{dedupe})")  # fmt: skip

    by_source: dict[str, list[FactSpec]] = {}
    for f in config.facts.values():
        by_source.setdefault(f.source, []).append(f)

    for i, (key, facts) in enumerate(by_source.items()):
        spec = config.sources[key]
        if key == config.registry:
            for f in facts:
                value[f.name] = _registry_value(config, f, year)
            continue
        if spec.kind != "table" or sources.get(key) is None:
            continue
        src = sources[key]
        assert src is not None
        # every member is projected to the same columns in the same order: a plain UNION ALL (which
        # Spark SQL has too) stacks them by name
        union = " UNION ALL ".join(f"({_projection(spec.columns, spec.key_column, m, False)})" for m in src.members)
        alias = f"s{i}"
        x = _Exprs()
        columns: list[str] = []
        for f in facts:
            agg = _aggregate(f, year, x)
            columns.append(f"{agg.value} AS f_{f.name}")
            if agg.n is not None:
                columns.append(f"{agg.n} AS n_{f.name}")
            expr = _final(f, _Agg(f"{alias}.f_{f.name}", agg.n, agg.natural), alias)
            if f.null_unless_year_covered and f.aggregate is not None:
                window = _window(f.aggregate, year) or "true"
                expr = f"CASE WHEN (SELECT count(*) > 0 FROM p{i} WHERE {window}) THEN {expr} END"
            value[f.name] = expr
        ctes.append(f"p{i} AS (SELECT *{x.select()} FROM ({union}))")
        ctes.append(f"{alias} AS (SELECT _key, {', '.join(columns)} FROM p{i} GROUP BY _key)")
        joins.append(f"LEFT JOIN {alias} ON {alias}._key = r._key")

    if supplied is not None and any(s.kind == "enterprise_supplied" for s in config.sources.values()):
        cte, supplied_values = _supplied_cte(config, supplied)
        if supplied_values:
            ctes.append(cte)
            joins.append("LEFT JOIN sup ON sup._key = r._key")
            value.update(supplied_values)

    for f in config.facts.values():  # derived facts, over the others' values
        if f.aggregate is not None and f.aggregate.kind == "any_fact":
            parts = [f"({value[n]})" for n in f.aggregate.facts if n in value]
            if parts:
                value[f.name] = " OR ".join(parts)

    out = []
    for name, f in config.facts.items():
        kind = DUCKDB_TYPES[f.type]
        out.append(f"CAST({value.get(name, 'NULL')} AS {kind}) AS {_q(name)}")
    columns_sql = ",\n  ".join(out)
    return "WITH " + ",\n".join(ctes) + f"\nSELECT\n  {columns_sql}\nFROM r\n" + "\n".join(joins) + "\nORDER BY r._key"


def named_inputs(sources: dict[str, Source | None]) -> tuple[dict[str, Source | None], dict[str, str]]:
    """The sources with each table's relation replaced by a view name (``src_0``, …), and the views'
    relations: the facts query over named inputs, which either batch engine can run."""
    inputs: dict[str, str] = {}
    named: dict[str, Source | None] = {}
    for key, source in sources.items():
        if source is None:
            named[key] = None
            continue
        members = []
        for m in source.members:
            name = f"src_{len(inputs)}"
            inputs[name] = m.relation
            members.append(Member(name, m.units))
        named[key] = Source(tuple(members), unique_key=source.unique_key)
    return named, inputs


def default_year_sql(config: SourcesConfig, source: Source, current_year: int) -> str:
    """The latest full year in the default-year source's column (before the current Beijing year)."""
    column = _q(config.default_year_column or "")
    union = " UNION ALL ".join(f"SELECT TRY_CAST({column} AS INTEGER) AS y FROM {m.relation}" for m in source.members)
    return f"SELECT max(y) FROM ({union}) WHERE y < {current_year}"

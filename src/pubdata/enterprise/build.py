"""The SQL of a facts build: one DuckDB query over the source tables' read-path relations that
yields one row per registered enterprise and one typed column per fact (``facts.FACTS``), written
to Parquet sorted by ``uscc``.

Each source is reduced to at most one row per enterprise by a grouped aggregate (hash aggregates
spill to disk beyond the connection's memory limit), then left-joined to the registry. A fact
whose source has no data is a typed NULL for everyone. Amounts are converted to integer yuan with
the factor their column title states (万元 × 10,000; 亿元 × 100,000,000; otherwise yuan).

Nothing here runs per row in Python: the caller runs ``facts_sql`` as one ``COPY``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pubdata.catalog import vocab
from pubdata.enterprise.facts import FACTS, TAX_GRADES

# Former Qingdao division codes and how they map to today's districts.
_HISTORICAL = {"370205": "市北区", "370282": "即墨区", "370284": "黄岛区"}
_ALIASES = {"西海岸新区": "黄岛区", "四方区": "市北区", "即墨市": "即墨区", "胶南市": "黄岛区"}


@dataclass(frozen=True)
class Source:
    """A source table as the build reads it: the read path's relation, and per amount column the
    factor that turns its values into yuan."""

    relation: str
    scale: dict[str, int]
    unique_key: bool = False  # the table's primary key is ``uscc`` alone (the registry)

    def yuan(self, column: str, expr: str | None = None) -> str:
        """``column`` (or ``expr`` over it) in yuan, still exact (DECIMAL) until the final cast."""
        factor = self.scale.get(column, 1)
        value = expr or f"TRY_CAST({column} AS DECIMAL(38, 4))"
        return value if factor == 1 else f"({value} * {factor})"


def yuan_factor(title: str | None, description: str | None) -> int:
    """The factor from an amount column's stated unit to yuan: 亿元, 万元, else yuan."""
    text = f"{title or ''} {description or ''}"
    if "亿元" in text:
        return 100_000_000
    if "万元" in text:
        return 10_000
    return 1


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _district_sql() -> str:
    """The registered district: the registry's name if it is (or contains) one of the ten or a
    former name, else the district of its division code, else of the credit code's characters 3–8
    (the registering authority's division)."""
    name = "trim(CAST(r.district AS VARCHAR))"
    by_code = {d.code: d.label for d in vocab.DISTRICTS} | _HISTORICAL
    by_name = {n: n for n in vocab.DISTRICT_NAMES} | _ALIASES
    named = " ".join(f"WHEN contains({name}, {_lit(a)}) THEN {_lit(n)}" for a, n in by_name.items())
    coded = "CASE {code} " + " ".join(f"WHEN {_lit(c)} THEN {_lit(n)}" for c, n in by_code.items()) + " END"
    return (
        f"coalesce(CASE {named} END, "
        + coded.format(code="left(CAST(r.division_code AS VARCHAR), 6)")
        + ", "
        + coded.format(code="substr(r.uscc, 3, 6)")
        + ")"
    )


def _money(expr: str) -> str:
    return f"CAST(round({expr}) AS BIGINT)"


def facts_sql(sources: dict[str, Source | None], year: int) -> str:
    """The query of the facts table for ``year`` over the given sources (None: no data)."""
    registry = sources.get("enterprise_registry")
    if registry is None:
        raise ValueError("the registry is required")
    year_end = f"DATE '{year}-12-31'"
    ctes: list[str] = []
    joins: list[str] = []
    value: dict[str, str] = {}

    def src(key: str) -> Source | None:
        return sources.get(key)

    # the registry: the population, one row per credit code (the last row wins when not unique)
    dedupe = "" if registry.unique_key else " QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY _rn DESC) = 1"
    ctes.append(f"r AS (SELECT * FROM {registry.relation} WHERE uscc IS NOT NULL{dedupe})")
    value.update(
        uscc="CAST(r.uscc AS VARCHAR)",
        name="CAST(r.ent_name AS VARCHAR)",
        registered_district=_district_sql(),
        industry_code="CAST(r.industry_code AS VARCHAR)",
        registered_capital=_money(registry.yuan("reg_capital")),
        founded="TRY_CAST(r.found_date AS DATE)",
        status="CAST(r.status AS VARCHAR)",
    )

    if (s := src("tax_credit")) is not None:
        ctes.append(
            f"tax AS (SELECT uscc, arg_max(g, y) AS grade FROM (SELECT uscc, TRY_CAST(eval_year AS INTEGER) AS y, "
            f"upper(trim(CAST(credit_grade AS VARCHAR))) AS g FROM {s.relation}) "
            f"WHERE y <= {year} AND g IN ({', '.join(_lit(g) for g in TAX_GRADES)}) GROUP BY uscc)"
        )
        joins.append("LEFT JOIN tax ON tax.uscc = r.uscc")
        value["tax_credit_grade"] = "tax.grade"

    if (s := src("social_insurance")) is not None:
        ctes.append(
            f"si AS (SELECT uscc, arg_max(n, p) AS headcount FROM (SELECT uscc, "
            f"TRY_CAST(insured_total AS BIGINT) AS n, left(CAST(period AS VARCHAR), 7) AS p FROM {s.relation}) "
            f"WHERE p <= '{year}-12' AND n IS NOT NULL GROUP BY uscc)"
        )
        joins.append("LEFT JOIN si ON si.uscc = r.uscc")
        value["insured_headcount"] = "si.headcount"

    if (s := src("patents")) is not None:
        ctes.append(
            f"pat AS (SELECT uscc, count(*) AS n FROM {s.relation} WHERE TRY_CAST(grant_date AS DATE) <= {year_end} "
            f"AND trim(CAST(legal_status AS VARCHAR)) = '有效' GROUP BY uscc)"
        )
        joins.append("LEFT JOIN pat ON pat.uscc = r.uscc")
        value["patent_count"] = "coalesce(pat.n, 0)"

    if (s := src("penalties")) is not None:
        ctes.append(
            f"pen AS (SELECT uscc, count(*) AS n FROM {s.relation} WHERE TRY_CAST(decision_date AS DATE) "
            f"BETWEEN DATE '{year - 2}-01-01' AND {year_end} GROUP BY uscc)"
        )
        joins.append("LEFT JOIN pen ON pen.uscc = r.uscc")
        value["penalty_count"] = "coalesce(pen.n, 0)"

    def listed(name: str, key: str, where: str, fact: str) -> None:
        if (s := src(key)) is not None:
            ctes.append(f"{name} AS (SELECT DISTINCT uscc FROM {s.relation} WHERE {where})")
            joins.append(f"LEFT JOIN {name} ON {name}.uscc = r.uscc")
            value[fact] = f"{name}.uscc IS NOT NULL"

    listed(
        "dd", "dishonest_debtors",
        f"TRY_CAST(publish_date AS DATE) IS NULL OR TRY_CAST(publish_date AS DATE) <= {year_end}",
        "is_dishonest_debtor",
    )  # fmt: skip
    listed(
        "ab", "abnormal_operations",
        f"TRY_CAST(listed_date AS DATE) <= {year_end} AND "
        f"(TRY_CAST(removed_date AS DATE) IS NULL OR TRY_CAST(removed_date AS DATE) > {year_end})",
        "is_abnormal_operation",
    )  # fmt: skip
    listed(
        "ht", "high_tech",
        f"TRY_CAST(recognised_year AS INTEGER) <= {year} AND "
        f"(TRY_CAST(valid_to AS DATE) IS NULL OR TRY_CAST(valid_to AS DATE) >= {year_end})",
        "is_high_tech",
    )  # fmt: skip
    listed("sp", "specialised", f"TRY_CAST(recognised_year AS INTEGER) <= {year}", "is_specialised")
    listed(
        "ow", "cbec_overseas_warehouses",
        "trim(CAST(honour_level AS VARCHAR)) = '省级' AND TRY_CAST(recognised_year AS INTEGER) = 2022",
        "provincial_key_overseas_warehouse_2022",
    )  # fmt: skip

    if (s := src("cbec_trade")) is not None:
        export, imports = s.yuan("export_amount"), s.yuan("import_amount")
        investment = s.yuan("site_investment")
        site = "TRY_CAST(independent_site AS BOOLEAN)"
        ctes.append(
            f"tr AS (SELECT uscc, sum(e) AS export, sum(coalesce(e, 0) + coalesce(i, 0)) AS trade, "
            f"bool_or(site) AS site, CASE WHEN count(inv) = count(*) THEN sum(inv) END AS investment "
            f"FROM (SELECT uscc, {export} AS e, {imports} AS i, {site} AS site, "
            f"CASE WHEN {site} = false THEN 0 ELSE {investment} END AS inv "
            f"FROM {s.relation} WHERE TRY_CAST(stat_year AS INTEGER) = {year}) GROUP BY uscc)"
        )
        ctes.append(
            f"tr_year AS (SELECT count(*) > 0 AS covered FROM {s.relation} "
            f"WHERE TRY_CAST(stat_year AS INTEGER) = {year})"
        )
        joins.append("LEFT JOIN tr ON tr.uscc = r.uscc CROSS JOIN tr_year")
        value.update(
            cbec_export_amount=f"CASE WHEN tr_year.covered THEN {_money('coalesce(tr.export, 0)')} END",
            cbec_import_export_amount=f"CASE WHEN tr_year.covered THEN {_money('coalesce(tr.trade, 0)')} END",
            has_independent_site="tr.site",
            independent_site_investment=_money("tr.investment"),
        )

    if (s := src("cbec_key_platforms")) is not None:
        key_2022 = "trim(CAST(honour_level AS VARCHAR)) = '省级' AND TRY_CAST(recognised_year AS INTEGER) = 2022"
        kind = "trim(CAST(category_name AS VARCHAR))"
        io = f"coalesce({s.yuan('import_amount')}, 0) + coalesce({s.yuan('export_amount')}, 0)"
        ctes.append(
            f"kp AS (SELECT uscc, bool_or({kind} = '跨境电商平台' AND {key_2022}) AS platform, "
            f"bool_or({kind} = '跨境电商产业园' AND {key_2022}) AS park, "
            f"sum({io}) FILTER ({kind} = '跨境电商产业园') AS park_trade FROM {s.relation} GROUP BY uscc)"
        )
        joins.append("LEFT JOIN kp ON kp.uscc = r.uscc")
        value.update(
            provincial_key_platform_2022="coalesce(kp.platform, false)",
            provincial_key_park_2022="coalesce(kp.park, false)",
            park_import_export_amount=_money("kp.park_trade"),
        )

    if (s := src("cbec_public_warehouses")) is not None:
        io = f"coalesce({s.yuan('import_amount')}, 0) + coalesce({s.yuan('export_amount')}, 0)"
        ctes.append(
            f"pw AS (SELECT uscc, max(greatest(0, date_sub('month', TRY_CAST(found_date AS DATE), {year_end}))) "
            f"AS months, sum({io}) AS trade FROM {s.relation} GROUP BY uscc)"
        )
        joins.append("LEFT JOIN pw ON pw.uscc = r.uscc")
        # the list holds every public warehouse: an enterprise not on it runs none (0, not unknown)
        value.update(
            public_warehouse_operating_months="coalesce(pw.months, 0)",
            public_warehouse_trade_amount=_money("coalesce(pw.trade, 0)"),
        )

    for name, fact in FACTS.items():
        if name in value:
            value[name] = f"CAST({value[name]} AS {fact.duckdb_type}) AS {name}"
        else:
            value[name] = f"CAST(NULL AS {fact.duckdb_type}) AS {name}"
    columns = ",\n  ".join(value[name] for name in FACTS)
    return "WITH " + ",\n".join(ctes) + f"\nSELECT\n  {columns}\nFROM r\n" + "\n".join(joins) + "\nORDER BY uscc"


def default_year_sql(trade: Source, current_year: int) -> str:
    """The latest full statistical year of the trade data (before the current Beijing year)."""
    return (
        f"SELECT max(y) FROM (SELECT TRY_CAST(stat_year AS INTEGER) AS y FROM {trade.relation}) "
        f"WHERE y < {current_year}"
    )

"""The quality report of one version, computed during its load, and how readers get it.

``measure`` runs inside the load's DuckDB connection over the checked relation (the normalised text
value of every schema field, one column each, plus the ``_problems`` list of every row read, valid or
rejected) and returns the report stored on the version::

    {"score", "weights", "rows", "rejected_rows", "measured_at",
     "dimensions": {name: {"label", "weight", "score", "evidence"}}}

Six dimensions, each 0–100 with the counts it was computed from, or ``score: null`` when nothing in
the table lets it be measured (an unscoreable dimension is left out of the overall score, never
counted as 100):

* completeness (完整性) — filled cells / cells;
* validity (规范性) — cells passing their type, semantic type (data standard) and constraints;
* accuracy (准确性, proxies) — values that are not implausible (future dates, dates before 1900,
  negative amounts and counts, ages outside 0–120, ID holders over 120) and not numeric outliers by
  Tukey's far-out fences (k = 3 × IQR; on ln(1 + x) for money amounts and right-skewed
  non-negative fields, whose distributions are log-normal-like);
* consistency (一致性) — value pairs that agree across fields, by the schema's declared
  ``consistency`` rules or, when it declares none, rules inferred from semantic types and names;
* uniqueness (唯一性) — rows without primary-key / unique-field duplicates (whole-row duplicates when
  the schema declares no key);
* timeliness (时效性) — the age of the data (its newest date, datetime or year; else the load time)
  against the entry's update frequency: 100 within one period, then falling linearly to 0 at four
  periods. It changes with time, so readers get it recomputed as of now (:func:`refresh`).

The overall score is the mean of the scoreable dimensions weighted by ``WEIGHTS``. Everything is one
or two vectorised aggregate queries: no Python runs per row. How readers get the reports (in
words, with the trend, the rejects file) is in ``quality_report.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from pubdata.catalog import vocab
from pubdata.db import utcnow
from pubdata.store import table_schema
from pubdata.store.ingest import semantic

DUPLICATE_REASONS = ("主键重复", "值重复")
DIMENSIONS = ("completeness", "validity", "accuracy", "consistency", "uniqueness", "timeliness")
LABELS = {
    "completeness": "完整性", "validity": "规范性", "accuracy": "准确性",
    "consistency": "一致性", "uniqueness": "唯一性", "timeliness": "时效性",
}  # fmt: skip
# Exactly measured dimensions weigh more than proxies; timeliness depends on a declared frequency.
WEIGHTS = {"validity": 25, "completeness": 20, "uniqueness": 15, "consistency": 15, "accuracy": 15, "timeliness": 10}
# The nominal period of each update frequency, in days (不定期 has none: timeliness is not scored).
PERIOD_DAYS: dict[str, float] = {
    "realtime": 1 / 24, "daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92, "yearly": 366,
}  # fmt: skip
STALE_PERIODS = 3  # after the first period, the score reaches 0 this many periods later
OUTLIER_K = 3.0
OUTLIER_MIN_VALUES = 30
SKEWED = 0.2  # Kelly (decile) skewness above which a non-negative field is measured on a log scale
MAX_AGE = 120
EARLIEST = date(1900, 1, 1)
SHANGHAI = ZoneInfo("Asia/Shanghai")

CHECK_LABELS = {
    "future": "晚于载入时间", "too_old": "早于1900年", "negative": "为负数",
    "age_range": "年龄超出0–120岁", "outlier": "离群值",
}  # fmt: skip

# Field-name hints (English/pinyin names, Chinese titles).
_FORWARD = (
    r"(^|_)end(_|$|date|time)|expir|valid_?to|until|(^|_)due(_|$|date)|deadline|plan|schedul|forecast|"
    r"(^|_)next(_|$)|截止|到期|有效期|计划|预计|预期|终止|结束|届满"
)
_SIGNED = r"balance|profit|(^|_)net($|_)|change|diff|delta|growth|variance|余额|利润|差额|增减|变动|净|盈亏|损益|增长"
_AGE = r"(^|_)age($|_)|^nl$|年龄"
_COUNT = r"count|(^|_)num($|_)|qty|quantity|headcount|人数|数量|次数|件数|个数|户数|人次"
_CODE_LIKE = r"(^|_)(id|code|no|seq|year|month)$|编码|代码|编号|序号|年份|月份"
_BIRTH = r"birth|csrq|(^|_)dob($|_)|born|出生"
_GENDER = r"gender|(^|_)sex($|_)|^xb$|性别"
_DISTRICT = r"district|county|(^|_)qx($|_)|region_name|area_name|区县|区（市）|区\(市\)|所属区|行政区(?!划)|区市"
# (start, end) spellings of a range's two ends, in names and in Chinese titles.
_RANGE_NAMES = (
    ("start", "end"), ("begin", "end"), ("from", "to"), ("since", "until"), ("admission", "discharge"),
    ("admit", "discharge"), ("issue", "expire"), ("issue", "expiry"), ("open", "close"), ("login", "logout"),
    ("check_in", "check_out"), ("kssj", "jssj"), ("ksrq", "jsrq"), ("min", "max"),
)  # fmt: skip
_RANGE_TITLES = (
    ("开始", "结束"), ("起始", "截止"), ("起始", "终止"), ("起始", "结束"), ("起", "止"), ("生效", "失效"),
    ("入院", "出院"), ("入住", "离店"), ("最低", "最高"), ("最小", "最大"),
)  # fmt: skip
_MALE = ("男", "男性", "m", "male", "1")
_FEMALE = ("女", "女性", "f", "female", "2")
_CITY_CODE = "370200"
_HISTORICAL = {"370205": "四方区", "370282": "即墨市", "370284": "胶南市"}
_ZONES = {"370211": ("西海岸新区", "青岛西海岸新区")}


@dataclass(frozen=True)
class LoadFacts:
    """What the load already counted: rows read, rows rejected, and problem reasons → count."""

    total: int
    rejected: int
    reasons: dict[str, int]


@dataclass(frozen=True)
class Rule:
    """A consistency rule applied to a table: its kind, its two fields, and whether it was declared."""

    rule: str
    fields: tuple[str, str]
    declared: bool

    @property
    def label(self) -> str:
        return table_schema.CONSISTENCY_RULES[self.rule].label


def _hint(pattern: str, f: table_schema.SchemaField) -> bool:
    return bool(re.search(pattern, f.name.lower()) or (f.title and re.search(pattern, f.title)))


def consistency_rules(schema: table_schema.TableSchema) -> list[Rule]:
    """The schema's declared ``consistency`` rules; when it declares none (the property absent),
    rules inferred from semantic types and field names: a single resident ID column against birth
    date, gender and age columns; a division code column against district-name columns; and ranges
    whose ends are spelled start/end, begin/end, from/to, 开始/结束, 起/止… (same type)."""
    if schema.consistency is not None:
        return [Rule(r.rule, (r.fields[0], r.fields[1]), True) for r in schema.consistency]
    fields = schema.fields
    rules: list[Rule] = []
    ids = [f for f in fields if f.semantic_type == "resident_id"]
    if len(ids) == 1:
        spec = table_schema.CONSISTENCY_RULES
        for rule, pattern in (("id_birth_date", _BIRTH), ("id_gender", _GENDER), ("id_age", _AGE)):
            for f in fields:
                if f is not ids[0] and _hint(pattern, f) and spec[rule].accepts[1](f):
                    rules.append(Rule(rule, (ids[0].name, f.name), False))
    codes = [f for f in fields if f.semantic_type == "division_code"]
    if codes:
        for f in fields:
            if f.type == "string" and f.semantic_type is None and _hint(_DISTRICT, f) and not _hint(_CODE_LIKE, f):
                rules.append(Rule("division_name", (codes[0].name, f.name), False))
    comparable = [f for f in fields if f.type in ("date", "datetime", "year")]
    for a in comparable:
        for b in comparable:
            if a is not b and a.type == b.type and _is_range(a, b):
                rules.append(Rule("date_order", (a.name, b.name), False))
    return rules


def _is_range(a: table_schema.SchemaField, b: table_schema.SchemaField) -> bool:
    name_a, name_b = a.name.lower(), b.name.lower()
    for start, end in _RANGE_NAMES:
        if start in name_a and name_a.replace(start, end, 1) == name_b:
            return True
    if a.title and b.title:
        for start, end in _RANGE_TITLES:
            if start in a.title and a.title.replace(start, end, 1) == b.title:
                return True
    return False


# --- SQL pieces ----------------------------------------------------------------------------------

_q = semantic.quote_identifier
_lit = semantic.sql_literal


def _typed(f: table_schema.SchemaField) -> str:
    return f"TRY_CAST({_q(f.name)} AS {table_schema.duckdb_type(f)})"


def _valid(name: str) -> str:
    """The field's value is present and the load found no problem with it."""
    return f"({_q(name)} IS NOT NULL AND NOT list_contains([p.col FOR p IN _problems], {_lit(name)}))"


def _names_by_code() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    terms = [(t.code, t.label) for t in vocab.DISTRICTS] + list(_HISTORICAL.items())
    for code, name in terms:
        names = [name, f"青岛市{name}", f"山东省青岛市{name}", *_ZONES.get(code, ())]
        if len(name) > 2:
            names.append(name[:-1])  # 市南区 → 市南, 胶州市 → 胶州
        out[code] = names
    out[_CITY_CODE] = ["青岛市", "青岛", "全市", "山东省青岛市"]
    return out


def _rule_sql(rule: Rule, schema: table_schema.TableSchema, ref: datetime) -> tuple[str, str]:
    """(applies, consistent) conditions of a rule over one row."""
    a, b = (schema.field(n) for n in rule.fields)
    qa, qb = _q(a.name), _q(b.name)
    if rule.rule == "id_birth_date":
        return (
            f"{_valid(a.name)} AND TRY_CAST(left({qb}, 10) AS DATE) IS NOT NULL",
            f"replace(left({qb}, 10), '-', '') = substr({qa}, 7, 8)",
        )
    if rule.rule == "id_gender":
        males = ", ".join(_lit(v) for v in _MALE)
        females = ", ".join(_lit(v) for v in _FEMALE)
        sex = f"(CASE WHEN lower({qb}) IN ({males}) THEN 1 WHEN lower({qb}) IN ({females}) THEN 0 END)"
        return f"{_valid(a.name)} AND {sex} IS NOT NULL", f"TRY_CAST(substr({qa}, 17, 1) AS INTEGER) % 2 = {sex}"
    if rule.rule == "id_age":
        birth = f"CAST(try_strptime(substr({qa}, 7, 8), '%Y%m%d') AS DATE)"
        age = f"date_sub('year', {birth}, DATE {_lit(ref.date().isoformat())})"
        value = f"TRY_CAST({qb} AS DOUBLE)"
        return f"{_valid(a.name)} AND {value} IS NOT NULL", f"abs({value} - {age}) <= 1"
    if rule.rule == "division_name":
        names = _names_by_code()
        cases = " ".join(f"WHEN {_lit(code)} THEN [{', '.join(_lit(n) for n in ns)}]" for code, ns in names.items())
        expected = f"(CASE left({qa}, 6) {cases} END)"
        known = ", ".join(_lit(n) for ns in names.values() for n in ns)
        value = f"replace({qb}, ' ', '')"
        return (
            f"{_valid(a.name)} AND {qb} IS NOT NULL AND ({expected} IS NOT NULL OR {value} IN ({known}))",
            f"coalesce(list_contains({expected}, {value}), false)",
        )
    # date_order
    return f"{_typed(a)} IS NOT NULL AND {_typed(b)} IS NOT NULL", f"{_typed(a)} <= {_typed(b)}"


@dataclass
class _FieldChecks:
    name: str
    present: str
    checks: dict[str, str] = field(default_factory=dict)  # kind → condition


def _accuracy_checks(schema: table_schema.TableSchema, ref: datetime) -> list[_FieldChecks]:
    """Plausibility conditions per field (outliers are added once their fences are known)."""
    out: list[_FieldChecks] = []
    ref_date = ref.date()
    oldest_birth = (
        ref_date.replace(year=ref_date.year - MAX_AGE)
        if not (ref_date.month == 2 and ref_date.day == 29)
        else date(ref_date.year - MAX_AGE, 2, 28)
    )
    for f in schema.fields:
        t = _typed(f)
        item = _FieldChecks(f.name, f"{t} IS NOT NULL")
        forward = _hint(_FORWARD, f)
        if f.type == "date":
            if not forward:
                item.checks["future"] = f"{t} > DATE {_lit(ref_date.isoformat())}"
            item.checks["too_old"] = f"{t} < DATE {_lit(EARLIEST.isoformat())}"
            if _hint(_BIRTH, f):
                item.checks["age_range"] = f"{t} < DATE {_lit(oldest_birth.isoformat())}"
        elif f.type == "datetime":
            if not forward:
                limit = (ref + timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S")
                item.checks["future"] = f"{t} > TIMESTAMP {_lit(limit)}"
            item.checks["too_old"] = f"{t} < TIMESTAMP '1900-01-01 00:00:00'"
        elif f.type == "year":
            if not forward:
                item.checks["future"] = f"{t} > {ref_date.year}"
            item.checks["too_old"] = f"{t} < {EARLIEST.year}"
        elif f.type in ("integer", "number"):
            if _hint(_AGE, f):
                item.checks["age_range"] = f"({t} < 0 OR {t} > {MAX_AGE})"
            elif (f.semantic_type == "amount" and not _hint(_SIGNED, f)) or _hint(_COUNT, f):
                item.checks["negative"] = f"{t} < 0"
        elif f.semantic_type == "resident_id":
            item.present = _valid(f.name)
            item.checks["age_range"] = f"substr({_q(f.name)}, 7, 8) < {_lit(oldest_birth.strftime('%Y%m%d'))}"
        elif f.semantic_type == "amount" and not _hint(_SIGNED, f):  # a text column holding amounts
            amount = f"TRY_CAST({_q(f.name)} AS DECIMAL(18,2))"
            item.present = f"{amount} IS NOT NULL"
            item.checks["negative"] = f"{amount} < 0"
        if item.checks:
            out.append(item)
    return out


def _outlier_fields(schema: table_schema.TableSchema) -> list[table_schema.SchemaField]:
    """Numeric fields measured for outliers: not keys, unique fields, codes or ids."""
    keys = set(schema.primary_key_fields)
    return [
        f
        for f in schema.fields
        if f.type in ("integer", "number")
        and f.name not in keys
        and not f.constraints.unique
        and f.semantic_type != "division_code"
        and not _hint(_CODE_LIKE, f)
    ]


def _fences(
    con: duckdb.DuckDBPyConnection, relation: str, fields: list[table_schema.SchemaField]
) -> dict[str, tuple[str, str, float, float]]:
    """Per field: (scale, expression measured, lower fence, upper fence). Money amounts, and
    non-negative fields whose deciles are right-skewed (Kelly skewness (P90 + P10 − 2·P50) / (P90 − P10)
    > SKEWED), are measured as
    ln(1 + x): sizes, counts and prices are log-normal-like, and raw-scale fences would call their
    large values outliers. Fields with fewer than OUTLIER_MIN_VALUES values or IQR 0 are left out."""
    exprs = []
    for f in fields:
        raw = f"CAST({_typed(f)} AS DOUBLE)"
        exprs.append((raw, f"CASE WHEN {raw} >= 0 THEN ln(1 + {raw}) END"))
    parts = ", ".join(
        f"approx_quantile({raw}, [0.1, 0.25, 0.5, 0.75, 0.9]), min({raw}), count({raw}), "
        f"approx_quantile({log}, [0.25, 0.75])"
        for raw, log in exprs
    )
    row = con.execute(f"SELECT {parts} FROM {relation}").fetchone()
    assert row is not None
    out: dict[str, tuple[str, str, float, float]] = {}
    for i, f in enumerate(fields):
        quartiles, low, n, log_quartiles = row[4 * i : 4 * i + 4]
        if n < OUTLIER_MIN_VALUES or not quartiles or quartiles[0] is None:
            continue
        p10, q1, median, q3, p90 = (float(v) for v in quartiles)
        skewed = p90 > p10 and (p90 + p10 - 2 * median) / (p90 - p10) > SKEWED
        if (f.semantic_type == "amount" or (low >= 0 and skewed)) and log_quartiles and log_quartiles[0] is not None:
            scale, x, (q1, q3) = "log", exprs[i][1], (float(v) for v in log_quartiles)
        else:
            scale, x = "raw", exprs[i][0]
        if q3 > q1:
            out[f.name] = (scale, x, q1 - OUTLIER_K * (q3 - q1), q3 + OUTLIER_K * (q3 - q1))
    return out


# --- measuring -----------------------------------------------------------------------------------


def measure(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    schema: table_schema.TableSchema,
    facts: LoadFacts,
    *,
    update_frequency: str | None = None,
    loaded_at: datetime | None = None,
) -> dict[str, Any]:
    """The six dimensions of the rows in ``relation`` (every row read, valid or rejected), each 0–100
    with its evidence or null when unscoreable, and the weighted overall score."""
    loaded = _aware(loaded_at or utcnow())
    ref = loaded.astimezone(SHANGHAI).replace(tzinfo=None)  # values are stored as Beijing time
    total = facts.total
    rules = consistency_rules(schema)
    accuracy = _accuracy_checks(schema, ref)

    fences: dict[str, tuple[str, str, float, float]] = {}
    outliers = _outlier_fields(schema)
    if outliers and total >= OUTLIER_MIN_VALUES:
        fences = _fences(con, relation, outliers)
        for name, (_scale, x, lo, hi) in fences.items():
            checks = next((c for c in accuracy if c.name == name), None)
            if checks is None:
                checks = _FieldChecks(name, f"{_typed(schema.field(name))} IS NOT NULL")
                accuracy.append(checks)
            checks.checks["outlier"] = f"({x} < {lo!r} OR {x} > {hi!r})"

    temporal = [
        f
        for f in schema.fields
        if f.type in ("date", "datetime", "year") and not _hint(_FORWARD, f) and not _hint(_BIRTH, f)
    ]
    aggregates: dict[str, str] = {}
    for f in schema.fields:
        aggregates[f"filled:{f.name}"] = f"count({_q(f.name)})"
    duplicates = ", ".join(_lit(r) for r in DUPLICATE_REASONS)
    # Every problem rejects its row: without rejected rows there is no problem to look for.
    clean = facts.rejected == 0
    aggregates["invalid"] = (
        "0"
        if clean
        else f"coalesce(sum(len(list_distinct([p.col FOR p IN _problems IF p.reason NOT IN ({duplicates})]))), 0)"
    )
    aggregates["duplicate_rows"] = (
        "0" if clean else f"count(*) FILTER (WHERE list_has_any([p.reason FOR p IN _problems], [{duplicates}]))"
    )
    flags: dict[str, str] = {}  # condition → alias: each evaluated once per row, then counted

    def count_if(condition: str) -> str:
        alias = flags.setdefault(condition, f'"#f{len(flags)}"')
        return f"count_if({alias})"

    for i, rule in enumerate(rules):
        applies, ok = _rule_sql(rule, schema, ref)
        aggregates[f"rule:{i}"] = count_if(f"coalesce({applies}, false)")
        aggregates[f"rule_bad:{i}"] = count_if(f"coalesce({applies} AND NOT coalesce({ok}, false), false)")
    for item in accuracy:
        aggregates[f"acc:{item.name}"] = count_if(f"coalesce({item.present}, false)")
        per_kind = {kind: count_if(f"coalesce({item.present} AND {cond}, false)") for kind, cond in item.checks.items()}
        suspect = " OR ".join(flags[f"coalesce({item.present} AND {cond}, false)"] for cond in item.checks.values())
        aggregates[f"acc_bad:{item.name}"] = f"count_if({suspect})"
        for kind, counted in per_kind.items():
            aggregates[f"acc_{kind}:{item.name}"] = counted
    for f in temporal:
        t = _typed(f)
        if f.type == "date":
            limit = f"DATE {_lit(ref.date().isoformat())}"
        elif f.type == "datetime":
            limit = f"TIMESTAMP {_lit((ref + timedelta(minutes=10)).strftime('%Y-%m-%d %H:%M:%S'))}"
        else:
            limit = str(ref.year)
        aggregates[f"newest:{f.name}"] = f"max({t}) FILTER (WHERE {t} <= {limit})"
    if not (schema.primary_key_fields or any(f.constraints.unique for f in schema.fields)):
        # Whole-row duplicates by distinct 64-bit row hashes, in the same scan: far cheaper than
        # distinct rows, and a collision among even 10^8 distinct rows has a probability of about 3
        # in 10^4.
        aggregates["distinct_rows"] = f"count(DISTINCT hash({', '.join(_q(n) for n in schema.field_names)}))"

    keys = list(aggregates)
    row = con.execute(_shared_sql(schema, list(aggregates.values()), flags, relation, clean=clean)).fetchone()
    assert row is not None
    got = dict(zip(keys, row, strict=True))

    dims: dict[str, dict[str, Any]] = {
        "completeness": _completeness(schema, got, total),
        "validity": _validity(schema, got, total, facts.reasons),
        "accuracy": _accuracy(accuracy, got, fences),
        "consistency": _consistency(rules, got, declared=schema.consistency is not None),
        "uniqueness": _uniqueness(schema, got, total),
        "timeliness": _timeliness_evidence(temporal, got, loaded, update_frequency),
    }
    report = {
        "score": None,
        "weights": dict(WEIGHTS),
        "dimensions": {name: {"label": LABELS[name], "weight": WEIGHTS[name], **dims[name]} for name in DIMENSIONS},
        "rows": total,
        "rejected_rows": facts.rejected,
        "measured_at": loaded.isoformat(),
    }
    return refresh(report, update_frequency, loaded) or report


def _shared_sql(
    schema: table_schema.TableSchema, aggregates: list[str], flags: dict[str, str], relation: str, *, clean: bool
) -> str:
    """The aggregates over ``relation`` in three levels, so that each row-level expression is computed
    once (DuckDB does not share them across aggregates): each typed value and validity flag used, then
    each condition in ``flags`` (condition → alias) over them, then the aggregates.
    ``clean``: no row has a problem, so a value is valid when it is present."""
    shared: list[tuple[str, str, str]] = []  # (expression as written, alias, what the alias computes)
    for f in schema.fields:
        present = f"{_q(f.name)} IS NOT NULL"
        shared += [
            (_typed(f), f'"#t{len(shared)}"', _typed(f)),
            (_valid(f.name), f'"#v{len(shared) + 1}"', present if clean else _valid(f.name)),
        ]
    conditions = [f"{condition} AS {alias}" for condition, alias in flags.items()]
    text, middle = ", ".join(aggregates), ", ".join(["*", *conditions])
    used = [item for item in shared if item[0] in text or item[0] in middle]
    for expr, alias, _ in used:
        text, middle = text.replace(expr, alias), middle.replace(expr, alias)
    inner = ", ".join(["*", *(f"{computed} AS {alias}" for _, alias, computed in used)])
    return f"SELECT {text} FROM (SELECT {middle} FROM (SELECT {inner} FROM {relation}))"


def _completeness(schema: table_schema.TableSchema, got: dict[str, Any], total: int) -> dict[str, Any]:
    cells = total * len(schema.fields)
    empty = {f.name: total - int(got[f"filled:{f.name}"]) for f in schema.fields}
    filled = cells - sum(empty.values())
    evidence = {
        "cells": cells,
        "filled": filled,
        "empty": cells - filled,
        "empty_by_field": {k: v for k, v in empty.items() if v},
    }
    return {"score": pct(filled, cells), "evidence": evidence}


def _validity(
    schema: table_schema.TableSchema, got: dict[str, Any], total: int, reasons: dict[str, int]
) -> dict[str, Any]:
    cells = total * len(schema.fields)
    invalid = int(got["invalid"])
    shown = dict(sorted(((r, n) for r, n in reasons.items() if r not in DUPLICATE_REASONS), key=lambda x: -x[1]))
    return {"score": pct(cells - invalid, cells), "evidence": {"cells": cells, "invalid": invalid, "reasons": shown}}


def _accuracy(accuracy: list[_FieldChecks], got: dict[str, Any], fences: dict[str, Any]) -> dict[str, Any]:
    checked = suspect = outliers = implausible = 0
    per_field: list[dict[str, Any]] = []
    for item in accuracy:
        n, bad = int(got[f"acc:{item.name}"]), int(got[f"acc_bad:{item.name}"])
        counts = {kind: int(got[f"acc_{kind}:{item.name}"]) for kind in item.checks}
        checked += n
        suspect += bad
        outliers += counts.get("outlier", 0)
        implausible += sum(c for k, c in counts.items() if k != "outlier")
        per_field.append({"field": item.name, "checked": n, "suspect": bad, "checks": counts})
    evidence: dict[str, Any] = {
        "checked": checked,
        "suspect": suspect,
        "outliers": outliers,
        "implausible": implausible,
        "fields": per_field,
        "outlier_rule": f"Tukey k={OUTLIER_K:g}（四分位距），至少 {OUTLIER_MIN_VALUES} 个值",
        "outlier_fields": {name: fence[0] for name, fence in sorted(fences.items())},
    }
    if not checked:
        evidence["unscored"] = "没有可做合理性检查的值" if accuracy else "没有可做合理性检查的字段"
    return {"score": pct(checked - suspect, checked), "evidence": evidence}


def _consistency(rules: list[Rule], got: dict[str, Any], *, declared: bool) -> dict[str, Any]:
    per_rule: list[dict[str, Any]] = [
        {
            "rule": r.rule,
            "label": r.label,
            "fields": list(r.fields),
            "declared": r.declared,
            "checked": int(got[f"rule:{i}"]),
            "inconsistent": int(got[f"rule_bad:{i}"]),
        }
        for i, r in enumerate(rules)
    ]
    checked = sum(int(r["checked"]) for r in per_rule)
    bad = sum(int(r["inconsistent"]) for r in per_rule)
    evidence: dict[str, Any] = {"checked": checked, "inconsistent": bad, "rules": per_rule, "declared": declared}
    if not rules:
        evidence["unscored"] = "表结构声明不检查一致性" if declared else "未声明且未能推断出跨字段一致性规则"
    elif not checked:
        evidence["unscored"] = "一致性规则涉及的字段没有可比对的取值"
    return {"score": pct(checked - bad, checked), "evidence": evidence}


def _uniqueness(schema: table_schema.TableSchema, got: dict[str, Any], total: int) -> dict[str, Any]:
    key = schema.primary_key_fields
    unique = [f.name for f in schema.fields if f.constraints.unique]
    if key or unique:
        duplicates = int(got["duplicate_rows"])
        basis = "primary_key" if key else "unique_fields"
    else:
        duplicates = total - int(got["distinct_rows"])
        basis = "whole_row"
    evidence = {"rows": total, "duplicates": duplicates, "basis": basis, "key": key or unique}
    return {"score": pct(total - duplicates, total), "evidence": evidence}


def _end_of(value: Any, kind: str) -> datetime:
    """The instant (UTC) up to which a newest value shows the data is current."""
    if kind == "year":
        local = datetime(int(value) + 1, 1, 1)
    elif kind == "date":
        local = datetime.combine(value, datetime.min.time()) + timedelta(days=1)
    else:
        local = value
    return local.replace(tzinfo=SHANGHAI).astimezone(UTC)


def _timeliness_evidence(
    temporal: list[table_schema.SchemaField], got: dict[str, Any], loaded: datetime, update_frequency: str | None
) -> dict[str, Any]:
    best: tuple[datetime, table_schema.SchemaField, Any] | None = None
    for f in temporal:
        value = got[f"newest:{f.name}"]
        if value is None:
            continue
        end = min(_end_of(value, f.type), loaded)
        if best is None or end > best[0]:
            best = (end, f, value)
    evidence: dict[str, Any] = {"loaded_at": loaded.isoformat()}
    if best is None:
        evidence.update(basis="loaded_at", data_until=loaded.isoformat())
    else:
        end, f, value = best
        shown = (
            str(value) if f.type == "year" else value.isoformat(sep=" ") if f.type == "datetime" else value.isoformat()
        )
        evidence.update(basis="field", field=f.name, newest=shown, data_until=end.isoformat())
    return {"score": None, "evidence": evidence}


def timeliness_score(age_days: float, period_days: float) -> float:
    """100 while the data is at most one period old, then linearly down to 0 at 1 + STALE_PERIODS periods."""
    if age_days <= period_days:
        return 100.0
    return round(max(0.0, 100 * (1 - (age_days - period_days) / (STALE_PERIODS * period_days))), 2)


def refresh(
    report: dict[str, Any] | None, update_frequency: str | None, now: datetime | None = None
) -> dict[str, Any] | None:
    """The report with timeliness (and so the overall score) as of ``now`` under the entry's current
    update frequency; the other dimensions are as measured at load. Reports from before timeliness
    was measured are returned with their scores as stored."""
    if not report:
        return report
    out = {**report, "dimensions": {k: dict(v) for k, v in report.get("dimensions", {}).items()}}
    t = out["dimensions"].get("timeliness")
    if t is not None and "data_until" in t.get("evidence", {}):
        as_of = _aware(now or utcnow())
        evidence = dict(t["evidence"])
        age = max(0.0, (as_of - datetime.fromisoformat(evidence["data_until"])).total_seconds() / 86400)
        period = PERIOD_DAYS.get(update_frequency or "")
        term = vocab.FREQUENCY_BY_CODE.get(update_frequency or "")
        evidence.update(
            as_of=as_of.isoformat(),
            age_days=round(age, 2),
            update_frequency=update_frequency,
            update_frequency_label=term.label if term else None,
            period_days=period,
        )
        evidence.pop("unscored", None)
        if not out.get("rows"):
            evidence["unscored"] = "没有数据行，无法评价时效性"
        elif period is None:
            evidence["unscored"] = f"更新频率为{term.label if term else '未声明'}，无法评价时效性"
        scored = period is not None and "unscored" not in evidence
        t.update(score=timeliness_score(age, period) if scored and period else None, evidence=evidence)
    out["score"] = overall(out["dimensions"])
    return out


def overall(dimensions: dict[str, dict[str, Any]]) -> float | None:
    """Weighted mean of the scoreable dimensions (weights renormalised over those present)."""
    scored = [(WEIGHTS.get(k, 0), d["score"]) for k, d in dimensions.items() if d.get("score") is not None]
    weight = sum(w for w, _ in scored)
    if not weight:
        return None
    return round(sum(w * s for w, s in scored) / weight, 2)


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def without_values(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report as shown to those who may not read the whole table (the public for governed data,
    grant holders, whose contract may hide columns and rows): counts, reasons and scores, no value of
    any cell. Timeliness is the only dimension whose evidence holds one (the newest date of the
    table): it loses that value and keeps the instant the data is current to rounded up to the end of
    its day (Beijing), from which its age and score are computed; so what the report says about time
    is at most the day of the newest date, as a catalogue's temporal coverage would. Age and scores are
    recomputed as of the report's own time, so a stored report stays as of its load."""
    if not report:
        return report
    out = {**report, "dimensions": {k: dict(v) for k, v in report.get("dimensions", {}).items()}}
    t = out["dimensions"].get("timeliness")
    if t is not None and "evidence" in t:
        evidence = dict(t["evidence"])
        evidence.pop("newest", None)
        if evidence.get("basis") == "field" and evidence.get("data_until"):
            until = _aware(datetime.fromisoformat(evidence["data_until"])).astimezone(SHANGHAI)
            midnight = until.replace(hour=0, minute=0, second=0, microsecond=0)
            day_end = midnight if midnight == until else midnight + timedelta(days=1)
            evidence["data_until"] = day_end.astimezone(UTC).isoformat()
        t["evidence"] = evidence
        if "as_of" in evidence:  # the age and score stored with it came from the exact value
            as_of = datetime.fromisoformat(evidence["as_of"])
            return refresh(out, evidence.get("update_frequency"), as_of)
    return out

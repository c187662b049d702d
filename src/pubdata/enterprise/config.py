"""The fact-sources file: which catalogue entries the enterprise facts (一企一档) are built from and
how each fact is computed — configuration a city edits, not code (docs/enterprise.md, "The
fact-sources file").

``load_sources(path)`` reads and checks a file and returns a ``SourcesConfig``; a bad file is
refused with one ``InvalidFactSources`` naming **every** problem by its path
(``facts.registered_capital.source: 未知的数据来源 'foo'``). ``configured()`` is the file the
deployment points to (``PUBDATA_FACTS_SOURCES_FILE``; the demo city's ``sources/qingdao.yaml`` by
default), re-read when it changes.

Aggregation kinds (``AGGREGATES``) form a closed set; each turns a source's rows into one value per
enterprise for the facts year (``build.py`` writes their SQL).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from pubdata.enterprise.errors import InvalidFactSources

SHIPPED = Path(__file__).parent / "sources" / "qingdao.yaml"
MAX_FILE_BYTES = 1024 * 1024
NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

FACT_TYPES = ("string", "district", "integer", "number", "money", "boolean", "date")
SOURCE_KINDS = ("table", "enterprise_supplied", "derived")
TIME_AS = ("date", "year", "month")  # how a time column is read: a date, a year number, a YYYY-MM period
YEAR_RULES = ("as_of_year_end", "in_year", "any")  # plus {last_n_years: N} and {fixed_year: N}
SCOPES = ("matching", "source")
OPERATORS = ("in", "not_in", "is", "gt", "ge", "lt", "le", "is_null")

# kind → (fact types it may produce, parameters it requires, parameters it accepts)
AGGREGATES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # a registry column as is (money converted to yuan)
    "value": (("string", "integer", "number", "money", "boolean", "date"), ("column",), ()),
    # the district of a registry row: its name (or a former name), else division code, else credit code
    "district": (("district",), ("name_column",), ("code_column", "credit_code_column")),
    # whole years/months from a date column to 31 December (0 if later); the largest over the rows
    "elapsed": (("integer",), ("column", "unit"), ()),
    # the value at the latest time within the year rule (rank 2: the one before it)
    "latest": (("string", "integer", "number", "money", "date"), ("column", "at", "year"), ("rank", "filters")),
    # how many rows (or distinct values of ``distinct``) match
    "count": (("integer",), ("year",), ("at", "filters", "distinct", "until")),
    # the sum of one or more columns over matching rows (nulls as 0; ``strict``: null if any is null)
    "sum": (("money", "integer", "number"), ("columns", "year"), ("at", "filters", "strict", "zero_when")),
    # whether a matching row exists (``until``: still in force on 31 December)
    "exists": (("boolean",), ("year",), ("at", "filters", "until")),
    # whether a boolean column is true in any matching row (null without matching rows)
    "any_true": (("boolean",), ("column", "year"), ("at", "filters")),
    # the first value of ``order`` found among matching rows
    "highest": (("string",), ("column", "order", "year"), ("at", "filters", "until")),
    # percent change of a column from the year's last period to the same period a year before
    "change_pct": (("number",), ("column", "at"), ("filters",)),
    # percent of the year's bills paid on time (by the end of the month after the period, no arrears)
    "on_time_share_pct": (("number",), ("at", "paid_column"), ("arrears_column", "due_months", "filters")),
    # true when any of the named facts is true (three-valued OR)
    "any_fact": (("boolean",), ("facts",), ()),
}
TIMED = ("latest", "count", "sum", "exists", "any_true", "highest")


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class Aggregate:
    kind: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    at: str | None = None
    at_as: str = "date"
    at_null_counts: bool = False  # a row whose time column is empty counts as in the window
    year: str | int | None = None  # one of YEAR_RULES, or ("last_n_years", N) / ("fixed_year", N)
    year_n: int | None = None
    filters: tuple[Condition, ...] = ()
    distinct: str | None = None
    until: str | None = None
    until_inclusive: bool = False
    rank: int = 1
    strict: bool = False
    zero_when: tuple[Condition, ...] = ()
    order: tuple[str, ...] = ()
    unit: str | None = None
    name_column: str | None = None
    code_column: str | None = None
    credit_code_column: str | None = None
    paid_column: str | None = None
    arrears_column: str | None = None
    due_months: int = 1
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    key: str
    kind: str
    title: str
    covers: str
    entries: tuple[str, ...] = ()
    resource: str | None = None
    key_column: str = "uscc"
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Absent:
    value: Any
    why: str
    scope: str = "matching"


@dataclass(frozen=True)
class FactSpec:
    name: str
    title: str
    meaning: str
    type: str
    source: str
    absent: Absent
    unit: str = ""
    values: tuple[str, ...] | None = None
    aggregate: Aggregate | None = None
    null_unless_year_covered: bool = False


@dataclass(frozen=True)
class District:
    name: str
    codes: tuple[str, ...]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourcesConfig:
    """A checked fact-sources file."""

    version: str
    city: str
    registry: str
    districts: tuple[District, ...]
    sources: dict[str, SourceSpec]
    facts: dict[str, FactSpec]
    default_year_source: str | None = None
    default_year_column: str | None = None
    path: str = ""
    digest: str = ""

    @property
    def table_sources(self) -> list[SourceSpec]:
        return [s for s in self.sources.values() if s.kind == "table"]


# --- reading --------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML without duplicate keys (a second ``registered_capital:`` would silently win)."""


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"重复的键 '{key}'", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})


def _fail(problems: list[dict[str, str]], where: str) -> InvalidFactSources:
    lines = [f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems]
    head = (
        f"企业档案事实来源配置{where}有 {len(problems)} 处错误："
        if len(problems) > 1
        else f"企业档案事实来源配置{where}有误："
    )
    return InvalidFactSources(head + "\n" + "\n".join(lines), details=problems)


def load_sources(path: Path | str) -> SourcesConfig:
    """Read and check a fact-sources file; ``InvalidFactSources`` lists every problem by path."""
    p = Path(path)
    where = f"（{p.name}）"
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise _fail([{"field": "", "message": f"无法读取文件 {p}：{exc.strerror or exc}"}], where) from exc
    if len(raw) > MAX_FILE_BYTES:
        raise _fail([{"field": "", "message": f"文件超过 {MAX_FILE_BYTES // 1024} KB"}], where)
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _fail([{"field": "", "message": f"不是有效的 YAML：{exc}"}], where) from exc
    config = parse_sources(data, where=where)
    return _with(config, path=str(p), digest=hashlib.sha256(raw).hexdigest()[:16])


def _with(config: SourcesConfig, **changes: Any) -> SourcesConfig:
    return replace(config, **changes)


def parse_sources(data: Any, *, where: str = "") -> SourcesConfig:
    """Check a parsed file (a mapping) and build the configuration, or raise listing every problem."""
    out = _Problems()
    config = _parse(data, out)
    if out.items or config is None:
        raise _fail(out.items or [{"field": "", "message": "配置为空"}], where)
    return config


# --- checking -------------------------------------------------------------------------------------


def _text(d: dict[str, Any], key: str, path: str, out: _Problems, *, required: bool = True) -> str:
    value = d.get(key)
    if value is None:
        if required:
            out.add(f"{path}.{key}" if path else key, "缺失")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        out.add(f"{path}.{key}" if path else key, "应为文本")
        return ""
    text = str(value).strip()
    if required and not text:
        out.add(f"{path}.{key}" if path else key, "不能为空")
    return text


def _str_list(value: Any, path: str, out: _Problems, *, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        out.add(path, "应为非空的列表")
        return ()
    items = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
            out.add(f"{path}[{i}]", "应为非空文本")
            continue
        text = str(item).strip()
        if pattern is not None and not pattern.match(text):
            out.add(f"{path}[{i}]", f"'{text}' 不是有效的名称（字母、数字、下划线，字母开头）")
            continue
        items.append(text)
    return tuple(items)


def _mapping_at(data: Any, path: str, out: _Problems) -> dict[str, Any]:
    """``data`` when it is a mapping (perhaps empty: its missing properties are reported by the
    caller), else ``{}`` with the problem reported."""
    if not isinstance(data, dict):
        out.add(path, "应为映射（键: 值）" if data is not None else "缺失")
        return {}
    return data


def _unknown_keys(d: dict[str, Any], allowed: tuple[str, ...], path: str, out: _Problems) -> None:
    for key in d:
        if key not in allowed:
            prefix = f"{path}." if path else ""
            out.add(f"{prefix}{key}", f"是不支持的属性（可用：{'、'.join(allowed)}）")


def _parse(data: Any, out: _Problems) -> SourcesConfig | None:
    if not isinstance(data, dict):
        out.add("", "配置应为 YAML 映射，含 version、registry、districts、sources、facts")
        return None
    _unknown_keys(data, ("version", "city", "registry", "default_year", "districts", "sources", "facts"), "", out)
    version = _text(data, "version", "", out)
    city = _text(data, "city", "", out, required=False)
    districts = _districts(data.get("districts"), out)
    sources = _sources(data.get("sources"), out)
    registry = _text(data, "registry", "", out)
    if registry and registry not in sources:
        out.add("registry", f"未知的数据来源 '{registry}'")
    elif registry and sources[registry].kind != "table":
        out.add("registry", f"数据来源 '{registry}' 不是数据表（kind: table）")
    elif registry and len(sources[registry].entries) > 1:
        out.add(f"sources.{registry}.entries", "登记信息（registry）只能来自一个目录：用 entry")
    year_source = year_column = None
    if data.get("default_year") is not None:
        dy = _mapping_at(data["default_year"], "default_year", out)
        _unknown_keys(dy, ("source", "column"), "default_year", out)
        year_source = _text(dy, "source", "default_year", out)
        year_column = _text(dy, "column", "default_year", out)
        if year_source and year_source not in sources:
            out.add("default_year.source", f"未知的数据来源 '{year_source}'")
        elif year_source and year_column and year_column not in sources[year_source].columns:
            out.add("default_year.column", f"数据来源 {year_source} 没有声明字段 '{year_column}'")
    facts = _facts(data.get("facts"), sources, districts, out)
    if facts and registry in sources:
        key = next(iter(facts.values()))
        reg = sources[registry]
        if key.name != "uscc" or key.source != registry or key.aggregate is None or key.aggregate.kind != "value":
            out.add("facts", "第一个事实应为 uscc：登记信息（registry）中的统一社会信用代码（aggregate: value）")
        elif key.aggregate.column != reg.key_column:
            out.add("facts.uscc.aggregate.column", f"应为登记信息的主键字段 '{reg.key_column}'")
    for f in facts.values():
        if f.aggregate is not None and f.aggregate.kind in ("value", "district") and f.source != registry:
            out.add(f"facts.{f.name}.aggregate.kind", f"{f.aggregate.kind} 只能用于登记信息来源（{registry}）")
    if out.items:
        return None
    return SourcesConfig(
        version=version,
        city=city,
        registry=registry,
        districts=districts,
        sources=sources,
        facts=facts,
        default_year_source=year_source,
        default_year_column=year_column,
    )


def _districts(value: Any, out: _Problems) -> tuple[District, ...]:
    if not isinstance(value, list) or not value:
        out.add("districts", "应为非空的列表（每项 name、codes，可选 aliases）")
        return ()
    result: list[District] = []
    names: set[str] = set()
    codes: dict[str, str] = {}
    for i, item in enumerate(value):
        path = f"districts[{i}]"
        d = _mapping_at(item, path, out)
        if not isinstance(item, dict):
            continue
        _unknown_keys(d, ("name", "codes", "aliases"), path, out)
        name = _text(d, "name", path, out)
        if name in names:
            out.add(f"{path}.name", f"区（市）'{name}' 重复")
        names.add(name)
        dcodes = _str_list(d.get("codes"), f"{path}.codes", out)
        for j, code in enumerate(dcodes):
            if not re.fullmatch(r"\d{6}", code):
                out.add(f"{path}.codes[{j}]", f"'{code}' 不是六位行政区划代码")
            elif code in codes:
                out.add(f"{path}.codes[{j}]", f"行政区划代码 {code} 已属于 {codes[code]}")
            codes[code] = name
        aliases = _str_list(d["aliases"], f"{path}.aliases", out) if d.get("aliases") is not None else ()
        result.append(District(name, dcodes, aliases))
    return tuple(result)


def _sources(value: Any, out: _Problems) -> dict[str, SourceSpec]:
    if not isinstance(value, dict) or not value:
        out.add("sources", "应为非空的映射（来源键: 定义）")
        return {}
    result: dict[str, SourceSpec] = {}
    allowed = ("kind", "title", "entries", "entry", "resource", "key", "columns", "covers")
    for key, item in value.items():
        path = f"sources.{key}"
        if not isinstance(key, str) or not NAME.match(key):
            out.add(path, "来源键应为小写字母开头的字母、数字、下划线")
            continue
        d = _mapping_at(item, path, out)
        _unknown_keys(d, allowed, path, out)
        kind = d.get("kind", "table")
        if kind not in SOURCE_KINDS:
            out.add(f"{path}.kind", f"应为以下之一：{'、'.join(SOURCE_KINDS)}")
            kind = "table"
        title = _text(d, "title", path, out)
        covers = _text(d, "covers", path, out)
        if kind != "table":
            for prop in ("entries", "entry", "resource", "key", "columns"):
                if prop in d:
                    out.add(f"{path}.{prop}", f"{kind} 来源不读数据表，不能有此属性")
            result[key] = SourceSpec(key, kind, title, covers)
            continue
        if ("entry" in d) == ("entries" in d):
            out.add(f"{path}.entries", "应给出 entry（一个目录编码）或 entries（同结构的多个目录编码）之一")
            entries: tuple[str, ...] = ()
        else:
            prop = "entry" if "entry" in d else "entries"
            entries = _str_list(d[prop], f"{path}.{prop}", out)
        resource = _text(d, "resource", path, out, required=False) or None
        key_column = _text(d, "key", path, out, required=False) or "uscc"
        columns = _str_list(d.get("columns"), f"{path}.columns", out, pattern=COLUMN)
        if columns and key_column not in columns:
            out.add(f"{path}.columns", f"应包含企业的统一社会信用代码字段 '{key_column}'（key）")
        if len(set(columns)) != len(columns):
            out.add(f"{path}.columns", "字段重复")
        result[key] = SourceSpec(key, kind, title, covers, entries, resource, key_column, columns)
    return result


_FACT_KEYS = ("title", "meaning", "type", "unit", "values", "source", "aggregate", "absent", "null_unless_year_covered")
_AGG_KEYS = (
    "kind", "column", "columns", "at", "year", "filters", "distinct", "until", "rank", "strict", "zero_when",
    "order", "unit", "name_column", "code_column", "credit_code_column", "paid_column", "arrears_column",
    "due_months", "facts",
)  # fmt: skip


def _facts(
    value: Any, sources: dict[str, SourceSpec], districts: tuple[District, ...], out: _Problems
) -> dict[str, FactSpec]:
    if not isinstance(value, dict) or not value:
        out.add("facts", "应为非空的映射（事实名: 定义）")
        return {}
    result: dict[str, FactSpec] = {}
    for name, item in value.items():
        path = f"facts.{name}"
        if not isinstance(name, str) or not NAME.match(name):
            out.add(path, "事实名应为小写字母开头的字母、数字、下划线（不超过 80 个字符）")
            continue
        d = _mapping_at(item, path, out)
        if not isinstance(item, dict):
            continue
        _unknown_keys(d, _FACT_KEYS, path, out)
        title = _text(d, "title", path, out)
        meaning = _text(d, "meaning", path, out)
        unit = _text(d, "unit", path, out, required=False)
        ftype = d.get("type")
        if ftype not in FACT_TYPES:
            out.add(f"{path}.type", f"应为以下之一：{'、'.join(FACT_TYPES)}")
            ftype = None
        values: tuple[str, ...] | None = None
        if ftype == "district":
            values = tuple(x.name for x in districts)
            if "values" in d:
                out.add(f"{path}.values", "district 类型的取值即 districts 中的区（市），不能另列")
        elif d.get("values") is not None:
            if ftype != "string":
                out.add(f"{path}.values", "只适用于 string 类型")
            values = _str_list(d["values"], f"{path}.values", out)
        source_key = _text(d, "source", path, out)
        source = sources.get(source_key)
        if source_key and source is None:
            out.add(f"{path}.source", f"未知的数据来源 '{source_key}'")
        absent = _absent(d.get("absent"), f"{path}.absent", ftype, values, out)
        covered = d.get("null_unless_year_covered", False)
        if not isinstance(covered, bool):
            out.add(f"{path}.null_unless_year_covered", "应为 true 或 false")
            covered = False
        agg: Aggregate | None = None
        if source is not None and source.kind == "enterprise_supplied":
            if "aggregate" in d:
                out.add(f"{path}.aggregate", "企业填报的事实不从公共数据计算，不能有 aggregate")
            if absent is not None and absent.value is not None:
                out.add(f"{path}.absent.value", "企业填报的事实在填报前为空（null）")
        elif source is not None:
            if "aggregate" not in d:
                out.add(f"{path}.aggregate", "缺失")
            else:
                agg = _aggregate(d["aggregate"], f"{path}.aggregate", ftype, values, source, result, out)
        if covered and (agg is None or agg.at is None or agg.year not in ("in_year", "last_n_years", "fixed_year")):
            out.add(f"{path}.null_unless_year_covered", "只适用于按年度统计（year: in_year 等）的聚合")
        if name in result:  # unreachable with the duplicate-key loader, kept for parsed dicts
            out.add(path, "事实重复")
        if ftype is None or absent is None:
            continue
        result[name] = FactSpec(
            name=name, title=title, meaning=meaning, type=ftype, source=source_key, absent=absent, unit=unit,
            values=values, aggregate=agg, null_unless_year_covered=covered,
        )  # fmt: skip
    return result


def _absent(value: Any, path: str, ftype: str | None, values: tuple[str, ...] | None, out: _Problems) -> Absent | None:
    d = _mapping_at(value, path, out)
    if not isinstance(value, dict):
        return None
    _unknown_keys(d, ("value", "why", "scope"), path, out)
    why = _text(d, "why", path, out)
    scope = d.get("scope", "matching")
    if scope not in SCOPES:
        out.add(f"{path}.scope", f"应为以下之一：{'、'.join(SCOPES)}")
    v = d.get("value")
    if "value" not in d:
        out.add(f"{path}.value", "缺失（可为 null）")
    elif v is not None and ftype is not None:
        ok = {
            "boolean": isinstance(v, bool),
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "money": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, int | float) and not isinstance(v, bool),
            "string": isinstance(v, str) and (values is None or v in values),
        }.get(ftype, False)
        if not ok:
            out.add(f"{path}.value", f"不是 {ftype} 类型的取值" + (f"（可选：{'、'.join(values)}）" if values else ""))
    return Absent(v, why, scope if scope in SCOPES else "matching")


def _condition(value: Any, path: str, source: SourceSpec, out: _Problems) -> Condition | None:
    d = _mapping_at(value, path, out)
    if not isinstance(value, dict):
        return None
    ops = [k for k in d if k != "column"]
    column = _column(d.get("column"), f"{path}.column", source, out)
    if len(ops) != 1 or ops[0] not in OPERATORS:
        out.add(path, f"应为 column 加一个条件：{'、'.join(OPERATORS)}")
        return None
    op, v = ops[0], d[ops[0]]
    if op in ("in", "not_in"):
        items = _str_list(v, f"{path}.{op}", out)
        v = items
    elif op in ("is", "is_null"):
        if not isinstance(v, bool):
            out.add(f"{path}.{op}", "应为 true 或 false")
    elif isinstance(v, bool) or not isinstance(v, int | float):
        out.add(f"{path}.{op}", "应为数字")
    return Condition(column, op, v) if column else None


def _conditions(value: Any, path: str, source: SourceSpec, out: _Problems) -> tuple[Condition, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        out.add(path, "应为条件列表")
        return ()
    found = [_condition(item, f"{path}[{i}]", source, out) for i, item in enumerate(value)]
    return tuple(c for c in found if c is not None)


def _column(value: Any, path: str, source: SourceSpec, out: _Problems) -> str:
    if not isinstance(value, str) or not value.strip():
        out.add(path, "应为字段名")
        return ""
    if value not in source.columns:
        out.add(path, f"数据来源 {source.key} 没有声明字段 '{value}'（columns 中列出才能读取）")
        return ""
    return value


def _aggregate(
    value: Any,
    path: str,
    ftype: str | None,
    values: tuple[str, ...] | None,
    source: SourceSpec,
    earlier: dict[str, FactSpec],
    out: _Problems,
) -> Aggregate | None:
    d = _mapping_at(value, path, out)
    if not isinstance(value, dict):
        return None
    _unknown_keys(d, _AGG_KEYS, path, out)
    kind = d.get("kind")
    if kind not in AGGREGATES:
        what = "缺失" if kind is None else f"未知的聚合方式 '{kind}'"
        out.add(f"{path}.kind", f"{what}（可用：{'、'.join(AGGREGATES)}）")
        return None
    types, required, optional = AGGREGATES[kind]
    if ftype is not None and ftype not in types:
        out.add(f"{path}.kind", f"{kind} 不能得出 {ftype} 类型的事实（可得出：{'、'.join(types)}）")
    for prop in required:
        if prop not in d:
            out.add(f"{path}.{prop}", f"{kind} 聚合需要此属性")
    for prop in d:
        if prop != "kind" and prop in _AGG_KEYS and prop not in required and prop not in optional:
            out.add(f"{path}.{prop}", f"{kind} 聚合不使用此属性")
    if source.kind == "derived" and kind != "any_fact":
        out.add(f"{path}.kind", "derived 来源的事实只能用 any_fact")
    if kind == "any_fact" and source.kind != "derived":
        out.add(f"{path}.kind", "any_fact 只用于 derived 来源的事实")
    a: dict[str, Any] = {"kind": kind}
    col = lambda p: _column(d.get(p), f"{path}.{p}", source, out)  # noqa: E731
    for prop in ("column", "distinct", "name_column", "code_column", "credit_code_column", "paid_column",
                 "arrears_column"):  # fmt: skip
        if prop in d:
            a[prop] = col(prop)
    if "columns" in d:
        a["columns"] = tuple(
            _column(c, f"{path}.columns[{i}]", source, out)
            for i, c in enumerate(_str_list(d["columns"], f"{path}.columns", out))
        )
    if "at" in d:
        at = d["at"]
        if isinstance(at, str):
            at = {"column": at}
        at_map = _mapping_at(at, f"{path}.at", out)
        _unknown_keys(at_map, ("column", "as", "null_counts"), f"{path}.at", out)
        a["at"] = _column(at_map.get("column"), f"{path}.at.column", source, out)
        a["at_as"] = at_map.get("as", "date")
        if a["at_as"] not in TIME_AS:
            out.add(f"{path}.at.as", f"应为以下之一：{'、'.join(TIME_AS)}")
        nc = at_map.get("null_counts", False)
        if not isinstance(nc, bool):
            out.add(f"{path}.at.null_counts", "应为 true 或 false")
        a["at_null_counts"] = nc is True
    periodic = {"change_pct": ("month", "year"), "on_time_share_pct": ("month", "date")}.get(kind)
    if periodic and "at" in a and a.get("at_as") not in periodic:
        out.add(f"{path}.at.as", f"{kind} 的时间字段应为 {' 或 '.join(periodic)}")
    if "year" in d:
        rule = d["year"]
        if isinstance(rule, str) and rule in YEAR_RULES:
            a["year"] = rule
        elif isinstance(rule, dict) and len(rule) == 1 and next(iter(rule)) in ("last_n_years", "fixed_year"):
            ((k, n),) = rule.items()
            if isinstance(n, bool) or not isinstance(n, int) or n < (1 if k == "last_n_years" else 1900) or n > 9999:
                out.add(f"{path}.year.{k}", "应为正整数" if k == "last_n_years" else "应为年份")
            a["year"], a["year_n"] = k, n
        else:
            out.add(f"{path}.year", "应为 as_of_year_end、in_year、any、{last_n_years: N} 或 {fixed_year: YYYY}")
        if a.get("year") not in (None, "any") and "at" not in d:
            out.add(f"{path}.at", f"年度规则 {a['year']} 需要时间字段 at")
    if "filters" in d:
        a["filters"] = _conditions(d["filters"], f"{path}.filters", source, out)
    if "zero_when" in d:
        a["zero_when"] = _conditions(d["zero_when"], f"{path}.zero_when", source, out)
    if "until" in d:
        u = d["until"]
        if isinstance(u, str):
            u = {"column": u}
        um = _mapping_at(u, f"{path}.until", out)
        _unknown_keys(um, ("column", "inclusive"), f"{path}.until", out)
        a["until"] = _column(um.get("column"), f"{path}.until.column", source, out)
        inc = um.get("inclusive", False)
        if not isinstance(inc, bool):
            out.add(f"{path}.until.inclusive", "应为 true 或 false")
        a["until_inclusive"] = inc is True
    for prop, lo in (("rank", 1), ("due_months", 0)):
        if prop in d:
            v = d[prop]
            if isinstance(v, bool) or not isinstance(v, int) or v < lo or v > 12:
                out.add(f"{path}.{prop}", f"应为 {lo} 至 12 的整数")
            else:
                a[prop] = v
    if "strict" in d:
        if not isinstance(d["strict"], bool):
            out.add(f"{path}.strict", "应为 true 或 false")
        a["strict"] = d["strict"] is True
    if "unit" in d:
        if d["unit"] not in ("years", "months"):
            out.add(f"{path}.unit", "应为 years 或 months")
        a["unit"] = d["unit"]
    if "order" in d:
        a["order"] = _str_list(d["order"], f"{path}.order", out)
        if values is not None:
            for i, v in enumerate(a["order"]):
                if v not in values:
                    out.add(f"{path}.order[{i}]", f"'{v}' 不在事实的取值（values）中")
    if "facts" in d:
        names = _str_list(d["facts"], f"{path}.facts", out)
        for i, n in enumerate(names):
            other = earlier.get(n)
            if other is None:
                out.add(f"{path}.facts[{i}]", f"未知的事实 '{n}'（只能引用在它之前定义的事实）")
            elif other.type != "boolean" or other.aggregate is None or other.aggregate.kind == "any_fact":
                out.add(f"{path}.facts[{i}]", f"'{n}' 应为从数据表计算的 boolean 事实")
        a["facts"] = names
    return Aggregate(**a)


# --- the configured file --------------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[str, tuple[int, SourcesConfig]] = {}


def configured_path() -> Path:
    """The deployment's fact-sources file (``PUBDATA_FACTS_SOURCES_FILE``), else the demo city's."""
    from pubdata.settings import get_settings

    setting = get_settings().facts_sources_file
    return Path(setting).expanduser() if setting else SHIPPED


def configured() -> SourcesConfig:
    """The configured file, checked; re-read when its modification time changes."""
    path = configured_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1
    key = str(path)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == mtime:
            return hit[1]
    config = load_sources(path)
    with _lock:
        _cache[key] = (mtime, config)
    return config

"""Resource schemas: a Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/)
extended with three field properties, ``semanticType`` (the data standard a value must meet: unified
social credit code, resident ID number, ...), ``personalKind`` (which kind of personal information
the column holds) and ``unit`` (the unit of a numeric column's values, one of ``UNIT_LABELS``: money
in ``yuan``/``wan_yuan``/``yi_yuan``/``fen``, ``percent``, counts and physical quantities).
``parse_schema`` is the one way in; every problem it finds is reported at once as
``Invalid(code="store.invalid_schema")`` with ``details`` naming the field and the property."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator

from pubdata.catalog import vocab
from pubdata.errors import Invalid

ERROR_CODE = "store.invalid_schema"
MAX_FIELDS = 1000
MAX_NAME_LENGTH = 64
MAX_PATTERN_LENGTH = 500
MAX_SCHEMA_BYTES = 4 * 1024 * 1024
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "year", "any"]
SemanticType = Literal[
    "uscc", "resident_id", "mobile", "phone", "postcode", "email", "division_code", "person_name", "address", "amount"
]

# The closed list of units a numeric field may declare (``unit``): code → Chinese label.
Unit = Literal[
    "fen", "yuan", "wan_yuan", "yi_yuan", "percent", "person", "person_time", "piece", "month", "day",
    "year", "kwh", "cubic_metre", "square_metre", "mu", "hectare", "tonne", "wan_tonne", "kilowatt",
    "wan_teu", "metre", "celsius",
]  # fmt: skip
UNIT_LABELS: dict[str, str] = {
    "fen": "分", "yuan": "元", "wan_yuan": "万元", "yi_yuan": "亿元", "percent": "%", "person": "人",
    "person_time": "人次", "piece": "件", "month": "月", "day": "天", "year": "年", "kwh": "千瓦时",
    "cubic_metre": "立方米", "square_metre": "平方米", "mu": "亩", "hectare": "公顷", "tonne": "吨",
    "wan_tonne": "万吨", "kilowatt": "千瓦", "wan_teu": "万标箱", "metre": "米", "celsius": "℃",
}  # fmt: skip
MONEY_UNITS: tuple[str, ...] = ("fen", "yuan", "wan_yuan", "yi_yuan")
_UNIT_FIELD_TYPES = ("integer", "number")

TYPE_LABELS: dict[str, str] = {
    "string": "文本", "integer": "整数", "number": "数值", "boolean": "布尔",
    "date": "日期", "datetime": "日期时间", "year": "年份", "any": "任意",
}  # fmt: skip
_EXPECTED = {**TYPE_LABELS, "string": "字符串", "boolean": "布尔值", "any": "字符串、数值或布尔值"}
SEMANTIC_LABELS: dict[str, str] = {
    "uscc": "统一社会信用代码", "resident_id": "居民身份证号码", "mobile": "手机号码", "phone": "电话号码",
    "postcode": "邮政编码", "email": "电子邮箱", "division_code": "行政区划代码", "person_name": "姓名",
    "address": "地址", "amount": "金额",
}  # fmt: skip
# Which field types each semantic type can be checked on.
SEMANTIC_FIELD_TYPES: dict[str, tuple[str, ...]] = {
    **{s: ("string",) for s in SEMANTIC_LABELS},
    "division_code": ("string", "integer"),
    "amount": ("number", "integer", "string"),
}
_FORMATS: dict[str, tuple[str, ...]] = {"string": ("default", "email", "uri", "uuid", "binary")}
_TRUE_VALUES = ("true", "True", "TRUE", "1")
_FALSE_VALUES = ("false", "False", "FALSE", "0")
_ANY_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
_ANY_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y-%m-%d %H:%M")
_STORAGE = {"integer": "BIGINT", "boolean": "BOOLEAN", "date": "DATE", "datetime": "TIMESTAMP", "year": "INTEGER"}
_RANGED = ("integer", "number", "date", "datetime", "year")
_LEXICAL = ("string", "any")


class Constraints(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    required: StrictBool | None = None
    unique: StrictBool | None = None
    enum: list[Any] | None = Field(default=None, min_length=1)
    pattern: StrictStr | None = None
    # Typed per the field's type (a date field's minimum is a date string); checked by parse_schema.
    minimum: Any = None
    maximum: Any = None
    min_length: StrictInt | None = Field(default=None, alias="minLength", ge=0)
    max_length: StrictInt | None = Field(default=None, alias="maxLength", ge=0)


class SchemaField(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: StrictStr
    type: FieldType = "string"
    format: StrictStr | None = None
    title: StrictStr | None = None
    description: StrictStr | None = None
    example: Any = None
    rdf_type: StrictStr | None = Field(default=None, alias="rdfType")
    constraints: Constraints = Field(default_factory=Constraints)
    true_values: list[StrictStr] | None = Field(default=None, alias="trueValues")
    false_values: list[StrictStr] | None = Field(default=None, alias="falseValues")
    semantic_type: SemanticType | None = Field(default=None, alias="semanticType")
    personal_kind: StrictStr | None = Field(default=None, alias="personalKind")
    unit: Unit | None = None

    @field_validator("personal_kind")
    @classmethod
    def _personal_kind(cls, v: str | None) -> str | None:
        if v is None:
            return None
        code = vocab.resolve(vocab.PERSONAL_KINDS, v)
        if code is None:
            raise ValueError(f"应为以下之一：{'、'.join(t.code for t in vocab.PERSONAL_KINDS)}")
        return code

    @property
    def label(self) -> str:
        return self.title or self.name


class ForeignKeyReference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resource: StrictStr = ""  # "" is this resource itself
    fields: StrictStr | list[StrictStr]


class ForeignKey(BaseModel):
    """Accepted and stored; not enforced on load."""

    model_config = ConfigDict(extra="forbid")
    fields: StrictStr | list[StrictStr]
    reference: ForeignKeyReference


ConsistencyRuleName = Literal["id_birth_date", "id_gender", "id_age", "division_name", "date_order"]
_COMPARABLE = ("date", "datetime", "year", "integer", "number")


@dataclass(frozen=True)
class RuleSpec:
    """A kind of cross-field consistency rule: its Chinese label, and what each of its two fields must be."""

    label: str
    needs: tuple[str, str]  # in words, for error messages
    accepts: tuple[Callable[[SchemaField], bool], Callable[[SchemaField], bool]]


def _is_resident_id(f: SchemaField) -> bool:
    return f.semantic_type == "resident_id"


CONSISTENCY_RULES: dict[str, RuleSpec] = {
    "id_birth_date": RuleSpec(
        "身份证号码与出生日期",
        ("居民身份证号码（semanticType resident_id）", "日期（date）或日期时间（datetime）字段"),
        (_is_resident_id, lambda f: f.type in ("date", "datetime")),
    ),
    "id_gender": RuleSpec(
        "身份证号码与性别",
        ("居民身份证号码（semanticType resident_id）", "文本（string）或整数（integer）字段"),
        (_is_resident_id, lambda f: f.type in ("string", "integer")),
    ),
    "id_age": RuleSpec(
        "身份证号码与年龄",
        ("居民身份证号码（semanticType resident_id）", "整数（integer）或数值（number）字段"),
        (_is_resident_id, lambda f: f.type in ("integer", "number")),
    ),
    "division_name": RuleSpec(
        "行政区划代码与区（市）名称",
        ("行政区划代码（semanticType division_code）", "文本（string）字段"),
        (lambda f: f.semantic_type == "division_code", lambda f: f.type == "string"),
    ),
    "date_order": RuleSpec(
        "起止顺序（起始值不晚于结束值）",
        ("日期、日期时间、年份、整数或数值字段", "与第一个字段同类型的字段"),
        (lambda f: f.type in _COMPARABLE, lambda f: f.type in _COMPARABLE),
    ),
}


class ConsistencyRule(BaseModel):
    """A schema-level ``consistency`` item: ``{"rule": "id_birth_date", "fields": ["id_no", "birth"]}``.
    An extension of Table Schema; the quality report checks the rule on every row (see store/quality/checks.py)."""

    model_config = ConfigDict(extra="forbid")

    rule: ConsistencyRuleName
    fields: list[StrictStr]
    title: StrictStr | None = None


class TableSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    fields: list[SchemaField]
    primary_key: StrictStr | list[StrictStr] | None = Field(default=None, alias="primaryKey")
    foreign_keys: list[ForeignKey] | None = Field(default=None, alias="foreignKeys")
    missing_values: list[StrictStr] = Field(default_factory=lambda: [""], alias="missingValues")
    # None: rules are inferred from semantic types and field names; [] declares that none apply.
    consistency: list[ConsistencyRule] | None = None

    @property
    def primary_key_fields(self) -> list[str]:
        return _names(self.primary_key)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> SchemaField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _names(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# --- typed values -------------------------------------------------------------------------------


def _parse_temporal(field: SchemaField, value: Any, kind: type[date] | type[datetime]) -> date | datetime:
    if not isinstance(value, str):
        raise ValueError
    fmt = field.format or "default"
    candidates: tuple[str, ...] = ()
    if fmt == "any":
        candidates = _ANY_DATE_FORMATS if kind is date else _ANY_DATETIME_FORMATS + _ANY_DATE_FORMATS
    elif fmt != "default":
        candidates = (fmt,)
    for pattern in candidates:
        try:
            parsed = datetime.strptime(value, pattern)
        except ValueError:
            continue
        return parsed.date() if kind is date else parsed
    # Constraint values may always be written in ISO 8601, whatever the field's format.
    return date.fromisoformat(value) if kind is date else datetime.fromisoformat(value)


def typed_value(field: SchemaField, value: Any) -> Any:
    """A JSON value (from a constraint or an enum) as the Python value of the field's type; raises
    ValueError when it is not one."""
    t = field.type
    if t in ("integer", "year"):
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,19}", value.strip())):
            return int(value)
        raise ValueError
    if t == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError from exc
        if not number.is_finite():
            raise ValueError
        return number
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in (field.true_values or _TRUE_VALUES):
            return True
        if isinstance(value, str) and value in (field.false_values or _FALSE_VALUES):
            return False
        raise ValueError
    if t == "date":
        return _parse_temporal(field, value, date)
    if t == "datetime":
        return _parse_temporal(field, value, datetime)
    if t == "string" and not isinstance(value, str):
        raise ValueError
    if t == "any" and not isinstance(value, str | int | float | bool):
        raise ValueError
    return value


def duckdb_type(field: SchemaField) -> str:
    """The DuckDB column type a field's values are stored as."""
    if field.type == "number":
        return "DECIMAL(18,2)" if field.semantic_type == "amount" else "DOUBLE"
    return _STORAGE.get(field.type, "VARCHAR")


# --- checks -------------------------------------------------------------------------------------

_re2_lock = threading.Lock()
_re2_conn: duckdb.DuckDBPyConnection | None = None


def _re2_error(pattern: str) -> str | None:
    """Patterns are applied by DuckDB (RE2) on the hot path, so they must compile there too: RE2 has
    no look-around and no back-references, which Python's ``re`` accepts."""
    global _re2_conn
    with _re2_lock:
        if _re2_conn is None:
            _re2_conn = duckdb.connect(":memory:")
        try:
            _re2_conn.execute("SELECT regexp_full_match('', $1)", [pattern]).fetchone()
        except duckdb.Error as exc:
            return str(exc).split("Error: ", 1)[-1]
    return None


def _check_format(f: SchemaField, add: Any) -> None:
    fmt = f.format
    if fmt is None or fmt == "default":
        return
    if f.type in ("date", "datetime"):
        if fmt == "any":
            return
        directives = re.findall(r"%(.)", fmt)
        if not directives or any(d not in "aAwdbBmyYHIpMSfzjUWGuVcxX%" for d in directives):
            add("format", "应为 default、any 或 strptime 格式（如 %Y-%m-%d）")
        return
    allowed = _FORMATS.get(f.type, ("default",))
    if fmt not in allowed:
        add("format", f"应为以下之一：{'、'.join(allowed)}")


def _check_field(f: SchemaField, add: Any) -> None:
    if len(f.name) > MAX_NAME_LENGTH or not NAME_PATTERN.match(f.name):
        add("name", f"应以字母或下划线开头、只含字母数字下划线，且不超过 {MAX_NAME_LENGTH} 个字符")
    _check_format(f, add)
    if f.semantic_type and f.type not in SEMANTIC_FIELD_TYPES[f.semantic_type]:
        need = "、".join(TYPE_LABELS[t] + f"（{t}）" for t in SEMANTIC_FIELD_TYPES[f.semantic_type])
        add("semanticType", f"{f.semantic_type}（{SEMANTIC_LABELS[f.semantic_type]}）要求字段类型为 {need}")
    if f.unit is not None and f.type not in _UNIT_FIELD_TYPES:
        add("unit", "只适用于整数（integer）或数值（number）字段")
    if (f.true_values is not None or f.false_values is not None) and f.type != "boolean":
        add("trueValues" if f.true_values is not None else "falseValues", "只适用于布尔（boolean）字段")
    c = f.constraints
    expected = _EXPECTED[f.type]
    bounds: dict[str, Any] = {}
    for prop in ("minimum", "maximum"):
        raw = getattr(c, prop)
        if raw is None:
            continue
        if f.type not in _RANGED:
            add(f"constraints.{prop}", f"不适用于{TYPE_LABELS[f.type]}（{f.type}）字段")
            continue
        try:
            bounds[prop] = typed_value(f, raw)
        except (ValueError, TypeError):
            add(f"constraints.{prop}", f"应为{expected}")
    try:
        if len(bounds) == 2 and bounds["minimum"] > bounds["maximum"]:
            add("constraints.minimum", f"大于 constraints.maximum（{c.minimum} > {c.maximum}）")
    except TypeError:  # one bound with a time zone, one without
        add("constraints.minimum", "与 constraints.maximum 应同时带或同时不带时区")
    for prop in ("min_length", "max_length", "pattern"):
        if getattr(c, prop) is not None and f.type not in _LEXICAL:
            alias = Constraints.model_fields[prop].alias or prop
            add(f"constraints.{alias}", "只适用于文本（string）字段")
    if c.min_length is not None and c.max_length is not None and c.min_length > c.max_length:
        add("constraints.minLength", f"大于 constraints.maxLength（{c.min_length} > {c.max_length}）")
    if c.pattern is not None:
        if len(c.pattern) > MAX_PATTERN_LENGTH:
            add("constraints.pattern", f"长度超过 {MAX_PATTERN_LENGTH} 个字符")
        else:
            try:
                re.compile(c.pattern)
            except re.error as exc:
                add("constraints.pattern", f"不是有效的正则表达式：{exc}")
            else:
                problem = _re2_error(c.pattern)
                if problem:
                    add("constraints.pattern", f"不受支持（不能使用前后查找或反向引用）：{problem}")
    for i, value in enumerate(c.enum or []):
        try:
            typed_value(f, value)
        except (ValueError, TypeError):
            add(f"constraints.enum[{i}]", f"应为{expected}，实为 {json.dumps(value, ensure_ascii=False)}")


def _check(schema: TableSchema) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []

    def adder(path: str, who: str) -> Any:
        def add(prop: str, message: str) -> None:
            problems.append({"field": f"{path}.{prop}" if path else prop, "message": f"{who}的 {prop} {message}"})

        return add

    seen: dict[str, int] = {}
    for i, f in enumerate(schema.fields):
        add = adder(f"fields[{i}]", f"字段 {f.name} ")
        _check_field(f, add)
        # DuckDB column names are case-insensitive, so "Name" and "name" collide.
        key = f.name.lower()
        if key in seen:
            add("name", f"与第 {seen[key] + 1} 个字段重名")
        else:
            seen[key] = i
    names = set(schema.field_names)
    top = adder("", "表结构")
    pk = schema.primary_key_fields
    if schema.primary_key is not None and not pk:
        top("primaryKey", "不能为空")
    for j, name in enumerate(pk):
        if name not in names:
            path = "primaryKey" if isinstance(schema.primary_key, str) else f"primaryKey[{j}]"
            problems.append({"field": path, "message": f"表结构的 primaryKey 引用了不存在的字段 {name}"})
        elif pk.index(name) != j:
            problems.append({"field": f"primaryKey[{j}]", "message": f"表结构的 primaryKey 重复列出字段 {name}"})
    for k, fk in enumerate(schema.foreign_keys or []):
        local, remote = _names(fk.fields), _names(fk.reference.fields)
        add = adder(f"foreignKeys[{k}]", f"表结构第 {k + 1} 个外键")
        for name in local:
            if name not in names:
                add("fields", f"引用了不存在的字段 {name}")
        if not local or len(local) != len(remote):
            add("reference.fields", "应与 fields 列出同样多的字段（至少一个）")
    problems.extend(_check_consistency(schema))
    return problems


def _check_consistency(schema: TableSchema) -> list[dict[str, str]]:
    """Each consistency rule names two existing fields of the kinds its rule needs, once."""
    problems: list[dict[str, str]] = []
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    by_name = {f.name: f for f in schema.fields}
    for k, item in enumerate(schema.consistency or []):
        spec = CONSISTENCY_RULES[item.rule]

        def add(prop: str, message: str, k: int = k, rule: str = item.rule) -> None:
            problems.append(
                {
                    "field": f"consistency[{k}].{prop}",
                    "message": f"表结构第 {k + 1} 条一致性规则（{rule}）的 {prop} {message}",
                }
            )

        if len(item.fields) != 2:
            add("fields", f"应列出 2 个字段：{spec.needs[0]}，{spec.needs[1]}")
            continue
        known = True
        for j, name in enumerate(item.fields):
            f = by_name.get(name)
            if f is None:
                add(f"fields[{j}]", f"引用了不存在的字段 {name}")
                known = False
            elif not spec.accepts[j](f):
                add(f"fields[{j}]", f"字段 {name} 应为{spec.needs[j]}")
                known = False
        if not known:
            continue
        first, second = (by_name[n] for n in item.fields)
        if first.name == second.name:
            add("fields", "两个字段不能相同")
        elif item.rule == "date_order" and first.type != second.type:
            add("fields[1]", f"字段 {second.name} 应与字段 {first.name} 同类型（{TYPE_LABELS[first.type]}）")
        key = (item.rule, tuple(item.fields))
        if key in seen:
            add("fields", f"与第 {seen[key] + 1} 条规则重复")
        else:
            seen[key] = k
    return problems


# --- parsing ------------------------------------------------------------------------------------

_PYDANTIC_MESSAGES = {
    "missing": "缺失", "extra_forbidden": "是不支持的属性", "string_type": "应为字符串", "int_type": "应为整数",
    "bool_type": "应为布尔值（true 或 false）", "list_type": "应为列表", "model_type": "应为对象",
    "model_attributes_type": "应为对象", "dict_type": "应为对象",
}  # fmt: skip


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _translate(exc: ValidationError, data: dict[str, Any]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    seen: set[str] = set()
    raw_fields: list[Any] = data["fields"]  # parse_schema checked it is a list
    for err in exc.errors():
        loc = err["loc"]
        # Union members ("str", "list[str]") show up in the location; the user never wrote them.
        union = any(isinstance(p, str) and ("[" in p or p == "str") for p in loc)
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p == "str")))
        path = _path(loc)
        if path in seen:
            continue
        seen.add(path)
        kind = err["type"]
        if union:
            message = "应为字符串或字符串列表"
        elif kind == "literal_error":
            message = "应为以下之一：" + "、".join(re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected"))))
        elif kind == "value_error":
            message = str(err.get("ctx", {}).get("error", err["msg"]))
        elif kind in ("greater_than_equal", "too_short", "too_long"):
            message = f"超出允许范围（{err['msg']}）"
        else:
            message = _PYDANTIC_MESSAGES.get(kind, f"取值无效（{err['msg']}）")
        if len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
            raw = raw_fields[loc[1]] if loc[1] < len(raw_fields) else None
            name = raw.get("name") if isinstance(raw, dict) else None
            who = f"字段 {name} " if isinstance(name, str) else f"第 {loc[1] + 1} 个字段"
            prop = _path(loc[2:]) or "定义"
        else:
            who, prop = "表结构", path
        problems.append({"field": path, "message": f"{who}的 {prop} {message}"})
    return problems


def _fail(problems: list[dict[str, str]]) -> Invalid:
    first = problems[0]["message"]
    message = first if len(problems) == 1 else f"表结构有 {len(problems)} 处错误，第一处：{first}"
    return Invalid(message, code=ERROR_CODE, details=problems)


def parse_schema(data: dict[str, Any] | str | bytes) -> TableSchema:
    """Parse and check a Table Schema given as JSON text or a dict. Raises ``Invalid`` listing every
    problem found (``details``: ``{"field": "fields[3].constraints.pattern", "message": …}``)."""
    if isinstance(data, str | bytes):
        if len(data) > MAX_SCHEMA_BYTES:
            raise _fail([{"field": "", "message": f"表结构超过 {MAX_SCHEMA_BYTES // 1024 // 1024} MB"}])
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _fail([{"field": "", "message": f"表结构不是有效的 JSON：{exc}"}]) from exc
    if not isinstance(data, dict):
        raise _fail([{"field": "", "message": "表结构应为 JSON 对象"}])
    fields = data.get("fields")
    if not isinstance(fields, list) or not fields:
        raise _fail([{"field": "fields", "message": "表结构的 fields 应为非空的字段列表"}])
    if len(fields) > MAX_FIELDS:
        raise _fail([{"field": "fields", "message": f"表结构最多 {MAX_FIELDS} 个字段，实有 {len(fields)} 个"}])
    try:
        schema = TableSchema.model_validate(data)
    except ValidationError as exc:
        raise _fail(_translate(exc, data)) from exc
    problems = _check(schema)
    if problems:
        raise _fail(problems)
    return schema


def to_json(schema: TableSchema) -> dict[str, Any]:
    """The schema as Frictionless Table Schema JSON, extension properties included."""
    out = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    for f in out["fields"]:
        if not f.get("constraints"):
            f.pop("constraints", None)
    return out


def _summary(c: Constraints, primary: bool) -> str:
    parts = ["主键"] if primary else []
    parts += [word for flag, word in ((c.required, "必填"), (c.unique, "唯一")) if flag]
    if c.enum:
        parts.append("取值：" + "、".join(str(v) for v in c.enum))
    if c.minimum is not None or c.maximum is not None:
        parts.append(f"范围：{'' if c.minimum is None else c.minimum}～{'' if c.maximum is None else c.maximum}")
    if c.min_length is not None or c.max_length is not None:
        parts.append(f"长度：{c.min_length or 0}～{'' if c.max_length is None else c.max_length}")
    if c.pattern:
        parts.append(f"格式：{c.pattern}")
    return "；".join(parts)


def describe(schema: TableSchema) -> list[dict[str, Any]]:
    """One row per field, in words a publisher reads: Chinese labels and a constraint summary."""
    pk = set(schema.primary_key_fields)
    kinds = vocab.PERSONAL_KIND_BY_CODE
    # fmt: off
    return [
        {
            "name": f.name, "title": f.label, "type": f.type, "type_label": TYPE_LABELS[f.type],
            "storage_type": duckdb_type(f), "semantic_type": f.semantic_type,
            "semantic_label": SEMANTIC_LABELS.get(f.semantic_type or "", ""), "personal_kind": f.personal_kind,
            "personal_label": kinds[f.personal_kind].label if f.personal_kind in kinds else "",
            "primary_key": f.name in pk, "constraints": _summary(f.constraints, f.name in pk),
        }
        for f in schema.fields
    ]
    # fmt: on


# --- default schema from the catalogue ----------------------------------------------------------

# (semantic type, name pattern, label pattern); first match wins, so e-mail precedes address
# ("电子邮件地址") and web addresses are ruled out before address.
_GUESSES: tuple[tuple[str | None, str, str], ...] = (
    ("uscc", r"uscc|credit_code|tyshxydm", r"统一社会信用代码|信用代码"),
    ("resident_id", r"id_?card|id_?number|idno|sfzh|resident_id", r"身份证|公民身份号码"),
    ("email", r"e_?mail", r"邮箱|电子邮件"),
    (None, r"url|website|homepage", r"网址|网站|链接"),
    ("mobile", r"mobile|cellphone|sjhm", r"手机"),
    ("phone", r"phone|tel(?:ephone)?(?:_|$)|lxdh", r"电话"),
    ("postcode", r"post_?code|zip_?code|yzbm", r"邮编|邮政编码"),
    ("division_code", r"division_code|adcode|region_code|xzqh", r"行政区划|区划代码"),
    ("person_name", r"person_name|patient_name|legal_rep\w*name", r"姓名"),
    ("address", r"address|^addr|_addr", r"地址|住址|住所"),
    # "元" alone, but not 单元 (a building's unit) or 公元
    ("amount", r"amount|capital|_amt$|fee$|_money$", r"金额|资本|资金|费用|[(（]?万?元[)）/]|(?<![单公纪])元$"),
)
_KIND_GUESSES = {"id_number": "resident_id", "name": "person_name", "phone": "phone", "address": "address"}


def guess_semantic_type(name: str, label: str, field_type: str, personal_kind: str | None = None) -> str | None:
    """A semantic type for a column named ``name``/``label``, if one is recognisable and fits its type."""
    guess: str | None = None
    for semantic, name_re, label_re in _GUESSES:
        if re.search(name_re, name.lower()) or re.search(label_re, label):
            guess = semantic
            break
    else:
        guess = _KIND_GUESSES.get(personal_kind or "")
    if guess and field_type in SEMANTIC_FIELD_TYPES[guess]:
        return guess
    return None


def schema_from_catalog_fields(fields: list[Any]) -> TableSchema:
    """A default schema from an entry's declared catalogue fields (objects with ``name``, ``label``,
    ``type``, ``description``, ``is_personal``, ``personal_kind``)."""
    return parse_schema({"fields": catalog_schema_fields(fields)})


def catalog_schema_fields(fields: list[Any]) -> list[dict[str, Any]]:
    """Table Schema fields for declared catalogue fields, unchecked (``schema_from_catalog_fields``
    checks them): the type (unknown ones as string), the label as title, the personal-information
    kind as ``personalKind`` and a recognisable data standard as ``semanticType``."""
    out = []
    for f in fields:
        ftype = f.type if f.type in vocab.FIELD_TYPES else "string"
        kind = f.personal_kind or ("other" if getattr(f, "is_personal", False) else None)
        item: dict[str, Any] = {"name": f.name, "type": ftype, "title": f.label or f.name}
        if getattr(f, "description", ""):
            item["description"] = f.description
        semantic = guess_semantic_type(f.name, f.label or "", ftype, kind)
        if semantic:
            item["semanticType"] = semantic
        if kind:
            item["personalKind"] = kind
        out.append(item)
    return out

"""Resource schemas: Frictionless Table Schema with our semanticType / personalKind extension."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from pubdata.errors import Invalid
from pubdata.store.table_schema import (
    MAX_FIELDS,
    MONEY_UNITS,
    UNIT_LABELS,
    describe,
    duckdb_type,
    parse_schema,
    schema_from_catalog_fields,
    to_json,
    typed_value,
)

ENTERPRISE: dict[str, Any] = {
    "fields": [
        {
            "name": "uscc",
            "type": "string",
            "title": "统一社会信用代码",
            "semanticType": "uscc",
            "constraints": {"required": True, "unique": True, "pattern": "[0-9A-HJ-NPQRTUWXY]{18}"},
        },
        {"name": "name", "title": "企业名称", "constraints": {"minLength": 2, "maxLength": 200}},
        {
            "name": "district",
            "type": "string",
            "title": "所属区",
            "constraints": {"enum": ["市南区", "市北区", "黄岛区"]},
        },
        {"name": "division", "type": "string", "semanticType": "division_code"},
        {
            "name": "capital",
            "type": "number",
            "title": "注册资本（万元）",
            "semanticType": "amount",
            "constraints": {"minimum": 0, "maximum": "1e12"},
        },
        {"name": "staff", "type": "integer", "constraints": {"minimum": 0, "maximum": 1000000}},
        {"name": "founded", "type": "date", "format": "%Y-%m-%d", "constraints": {"minimum": "1949-10-01"}},
        {"name": "updated_at", "type": "datetime", "constraints": {"maximum": "2100-01-01T00:00:00"}},
        {"name": "year", "type": "year", "constraints": {"minimum": 1990, "maximum": 2030}},
        {"name": "active", "type": "boolean", "trueValues": ["是"], "falseValues": ["否"]},
        {"name": "legal_rep", "title": "法定代表人", "semanticType": "person_name", "personalKind": "name"},
        {"name": "contact", "semanticType": "mobile", "personalKind": "phone"},
        {"name": "extra", "type": "any"},
    ],
    "primaryKey": "uscc",
    "foreignKeys": [{"fields": "division", "reference": {"resource": "divisions", "fields": "code"}}],
    "missingValues": ["", "NA", "无"],
}


def _fields(**overrides: Any) -> dict[str, Any]:
    """A one-field schema for the field ``overrides`` describes (name ``f`` unless given)."""
    return {"fields": [{"name": "f", **overrides}]}


def _problems(data: Any) -> list[dict[str, str]]:
    with pytest.raises(Invalid) as caught:
        parse_schema(data)
    assert caught.value.code == "store.invalid_schema"
    assert caught.value.status == 422
    details = caught.value.details
    assert isinstance(details, list) and details
    assert caught.value.message  # the first problem, in Chinese
    return details


def _paths(data: Any) -> set[str]:
    return {d["field"] for d in _problems(data)}


# --- valid schemas -------------------------------------------------------------------------------


def test_round_trip_keeps_every_property():
    schema = parse_schema(ENTERPRISE)
    out = to_json(schema)
    assert parse_schema(out) == schema
    assert parse_schema(json.dumps(out, ensure_ascii=False)) == schema
    assert parse_schema(json.dumps(out).encode()) == schema
    # Frictionless names and our extension properties survive verbatim
    assert out["primaryKey"] == "uscc"
    assert out["missingValues"] == ["", "NA", "无"]
    assert out["foreignKeys"] == ENTERPRISE["foreignKeys"]
    by_name = {f["name"]: f for f in out["fields"]}
    assert by_name["uscc"]["semanticType"] == "uscc"
    assert by_name["uscc"]["constraints"] == ENTERPRISE["fields"][0]["constraints"]
    assert by_name["legal_rep"]["personalKind"] == "name"
    assert by_name["founded"]["format"] == "%Y-%m-%d"
    assert by_name["active"]["trueValues"] == ["是"]
    assert "constraints" not in by_name["extra"]  # empty constraints are left out
    assert by_name["name"]["type"] == "string"  # Frictionless' default type made explicit


def test_defaults_follow_the_spec():
    schema = parse_schema({"fields": [{"name": "a"}]})
    assert schema.fields[0].type == "string"
    assert schema.missing_values == [""]
    assert schema.primary_key is None and schema.primary_key_fields == []


def test_primary_key_string_and_list_forms():
    one = parse_schema({"fields": [{"name": "a"}, {"name": "b"}], "primaryKey": "a"})
    assert one.primary_key_fields == ["a"]
    assert to_json(one)["primaryKey"] == "a"
    two = parse_schema({"fields": [{"name": "a"}, {"name": "b"}], "primaryKey": ["b", "a"]})
    assert two.primary_key_fields == ["b", "a"]
    assert to_json(two)["primaryKey"] == ["b", "a"]


def test_personal_kind_accepts_the_chinese_label():
    schema = parse_schema(_fields(personalKind="身份证号", semanticType="resident_id"))
    assert schema.fields[0].personal_kind == "id_number"


def test_constraint_values_are_typed_per_field():
    schema = parse_schema(ENTERPRISE)
    assert typed_value(schema.field("founded"), "1949-10-01") == date(1949, 10, 1)
    assert typed_value(schema.field("capital"), "1e12") == Decimal("1e12")
    assert typed_value(schema.field("active"), "是") is True
    assert typed_value(schema.field("staff"), "42") == 42
    with pytest.raises(ValueError):
        typed_value(schema.field("staff"), True)


def test_duckdb_types():
    schema = parse_schema(ENTERPRISE)
    types = {f.name: duckdb_type(f) for f in schema.fields}
    assert types == {
        "uscc": "VARCHAR",
        "name": "VARCHAR",
        "district": "VARCHAR",
        "division": "VARCHAR",
        "capital": "DECIMAL(18,2)",
        "staff": "BIGINT",
        "founded": "DATE",
        "updated_at": "TIMESTAMP",
        "year": "INTEGER",
        "active": "BOOLEAN",
        "legal_rep": "VARCHAR",
        "contact": "VARCHAR",
        "extra": "VARCHAR",
    }
    assert duckdb_type(parse_schema(_fields(type="number")).fields[0]) == "DOUBLE"


def test_describe_in_chinese():
    rows = {r["name"]: r for r in describe(parse_schema(ENTERPRISE))}
    assert rows["uscc"]["primary_key"] is True
    assert rows["uscc"]["semantic_label"] == "统一社会信用代码"
    assert "主键" in rows["uscc"]["constraints"] and "必填" in rows["uscc"]["constraints"]
    assert rows["district"]["constraints"] == "取值：市南区、市北区、黄岛区"
    assert rows["capital"]["storage_type"] == "DECIMAL(18,2)"
    assert rows["legal_rep"]["personal_label"] == "姓名"
    assert rows["staff"]["title"] == "staff" and rows["staff"]["type_label"] == "整数"


# --- bad input -----------------------------------------------------------------------------------


def test_not_json_or_not_an_object():
    assert _problems("{not json")[0]["message"].startswith("表结构不是有效的 JSON")
    assert _paths(b"[1, 2]") == {""}
    assert _paths({"fields": []}) == {"fields"}
    assert _paths({"primaryKey": "a"}) == {"fields"}


def test_field_names_unique_and_well_formed():
    details = _problems({"fields": [{"name": "a"}, {"name": "b"}, {"name": "A"}]})
    assert [d["field"] for d in details] == ["fields[2].name"]
    assert "字段 A" in details[0]["message"] and "重名" in details[0]["message"]
    assert _paths(_fields(name="1st")) == {"fields[0].name"}
    assert _paths(_fields(name="名称")) == {"fields[0].name"}
    assert _paths(_fields(name="a" * 65)) == {"fields[0].name"}
    parse_schema(_fields(name="a" * 64))
    assert _paths({"fields": [{"type": "string"}]}) == {"fields[0].name"}


def test_too_many_fields():
    parse_schema({"fields": [{"name": f"c{i}"} for i in range(MAX_FIELDS)]})
    details = _problems({"fields": [{"name": f"c{i}"} for i in range(MAX_FIELDS + 1)]})
    assert details[0]["field"] == "fields" and str(MAX_FIELDS) in details[0]["message"]


def test_unknown_types_and_properties():
    details = _problems(_fields(name="x", type="text"))
    assert details[0]["field"] == "fields[0].type"
    assert "字段 x 的 type" in details[0]["message"] and "string" in details[0]["message"]
    assert _paths(_fields(semanticType="iban")) == {"fields[0].semanticType"}
    assert _paths(_fields(personalKind="dna")) == {"fields[0].personalKind"}
    assert _paths(_fields(constraints={"requird": True})) == {"fields[0].constraints.requird"}
    assert _paths(_fields(constraints={"required": "yes"})) == {"fields[0].constraints.required"}
    assert _paths({"fields": [{"name": "a"}], "missingValues": "NA"}) == {"missingValues"}


def test_primary_key_fields_must_exist():
    base = [{"name": "a"}, {"name": "b"}]
    details = _problems({"fields": base, "primaryKey": "c"})
    assert details == [{"field": "primaryKey", "message": "表结构的 primaryKey 引用了不存在的字段 c"}]
    assert _paths({"fields": base, "primaryKey": ["a", "c"]}) == {"primaryKey[1]"}
    assert _paths({"fields": base, "primaryKey": ["a", "a"]}) == {"primaryKey[1]"}
    assert _paths({"fields": base, "primaryKey": []}) == {"primaryKey"}
    assert _paths({"fields": base, "primaryKey": 1}) == {"primaryKey"}


def test_foreign_keys_are_checked_for_shape_only():
    base = [{"name": "a"}]
    assert _paths({"fields": base, "foreignKeys": [{"fields": "z", "reference": {"fields": "id"}}]}) == {
        "foreignKeys[0].fields"
    }
    assert _paths({"fields": base, "foreignKeys": [{"fields": "a", "reference": {"fields": ["x", "y"]}}]}) == {
        "foreignKeys[0].reference.fields"
    }
    assert "foreignKeys[0].reference" in _paths({"fields": base, "foreignKeys": [{"fields": "a"}]})


@pytest.mark.parametrize(
    ("semantic", "good", "bad"),
    [
        ("uscc", "string", "integer"),
        ("resident_id", "string", "date"),
        ("mobile", "string", "integer"),
        ("phone", "string", "number"),
        ("postcode", "string", "integer"),
        ("email", "string", "boolean"),
        ("person_name", "string", "any"),
        ("address", "string", "integer"),
        ("division_code", "integer", "number"),
        ("amount", "number", "date"),
        ("amount", "string", "boolean"),
        ("amount", "integer", "year"),
    ],
)
def test_semantic_type_must_fit_the_field_type(semantic: str, good: str, bad: str):
    parse_schema(_fields(type=good, semanticType=semantic))
    details = _problems(_fields(name="col", type=bad, semanticType=semantic))
    assert [d["field"] for d in details] == ["fields[0].semanticType"]
    assert "字段 col 的 semanticType" in details[0]["message"]


def test_enum_values_must_have_the_field_type():
    parse_schema(_fields(type="integer", constraints={"enum": [1, 2, "3"]}))
    details = _problems(_fields(name="grade", type="integer", constraints={"enum": [1, "A", 2.5]}))
    assert [d["field"] for d in details] == ["fields[0].constraints.enum[1]", "fields[0].constraints.enum[2]"]
    assert "字段 grade 的 constraints.enum[1] 应为整数" in details[0]["message"]
    assert _paths(_fields(type="string", constraints={"enum": ["A", 1]})) == {"fields[0].constraints.enum[1]"}
    assert _paths(_fields(type="date", constraints={"enum": ["2024-02-30"]})) == {"fields[0].constraints.enum[0]"}
    assert _paths(_fields(constraints={"enum": []})) == {"fields[0].constraints.enum"}


def test_range_constraints_are_typed_per_field_type():
    details = _problems(_fields(name="birth_date", type="date", constraints={"minimum": 19900101}))
    assert details == [
        {"field": "fields[0].constraints.minimum", "message": "字段 birth_date 的 constraints.minimum 应为日期"}
    ]
    assert _paths(_fields(type="date", constraints={"maximum": "2024-13-01"})) == {"fields[0].constraints.maximum"}
    assert _paths(_fields(type="integer", constraints={"minimum": 1.5})) == {"fields[0].constraints.minimum"}
    assert _paths(_fields(type="number", constraints={"maximum": "lots"})) == {"fields[0].constraints.maximum"}
    assert _paths(_fields(type="number", constraints={"maximum": "NaN"})) == {"fields[0].constraints.maximum"}
    assert _paths(_fields(type="datetime", constraints={"minimum": "yesterday"})) == {"fields[0].constraints.minimum"}
    # a date field's bounds may be written in its own format or in ISO 8601
    parse_schema(_fields(type="date", format="%Y%m%d", constraints={"minimum": "19900101", "maximum": "2030-12-31"}))
    # ranges do not apply to text, and lengths and patterns only apply to text
    assert _paths(_fields(type="string", constraints={"minimum": "a"})) == {"fields[0].constraints.minimum"}
    assert _paths(_fields(type="integer", constraints={"maxLength": 3})) == {"fields[0].constraints.maxLength"}
    assert _paths(_fields(type="date", constraints={"pattern": r"\d+"})) == {"fields[0].constraints.pattern"}
    assert _paths(_fields(constraints={"minLength": -1})) == {"fields[0].constraints.minLength"}


def test_minimum_not_above_maximum():
    assert _paths(_fields(type="integer", constraints={"minimum": 10, "maximum": 9})) == {
        "fields[0].constraints.minimum"
    }
    assert _paths(_fields(type="date", constraints={"minimum": "2024-01-02", "maximum": "2024-01-01"})) == {
        "fields[0].constraints.minimum"
    }
    assert _paths(_fields(constraints={"minLength": 5, "maxLength": 4})) == {"fields[0].constraints.minLength"}
    parse_schema(_fields(type="number", constraints={"minimum": 1, "maximum": 1}))
    mixed = {"minimum": "2024-01-01T00:00:00+08:00", "maximum": "2024-02-01T00:00:00"}
    assert _paths(_fields(type="datetime", constraints=mixed)) == {"fields[0].constraints.minimum"}


def test_pattern_must_be_a_usable_regex():
    details = _problems(
        {"fields": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "code", "constraints": {"pattern": "[A-"}}]}
    )
    assert details[0]["field"] == "fields[3].constraints.pattern"
    assert "字段 code 的 constraints.pattern" in details[0]["message"]
    assert _paths(_fields(constraints={"pattern": "a" * 501})) == {"fields[0].constraints.pattern"}
    parse_schema(_fields(constraints={"pattern": "a" * 500}))
    # Python accepts these, DuckDB's RE2 (which applies patterns during ingestion) does not
    assert _paths(_fields(constraints={"pattern": r"(?=\d)\w+"})) == {"fields[0].constraints.pattern"}
    assert _paths(_fields(constraints={"pattern": r"(a)\1"})) == {"fields[0].constraints.pattern"}


def test_formats_per_type():
    parse_schema(_fields(type="date", format="any"))
    parse_schema(_fields(type="datetime", format="%Y/%m/%d %H:%M"))
    parse_schema(_fields(type="string", format="email"))
    assert _paths(_fields(type="date", format="YYYY-MM-DD")) == {"fields[0].format"}
    assert _paths(_fields(type="string", format="%Y")) == {"fields[0].format"}
    assert _paths(_fields(type="integer", trueValues=["是"])) == {"fields[0].trueValues"}


def test_every_problem_is_reported_at_once():
    details = _problems(
        {
            "fields": [
                {"name": "id", "type": "integer", "semanticType": "uscc"},
                {"name": "d", "type": "date", "constraints": {"minimum": "x"}},
                {"name": "ID"},
            ],
            "primaryKey": ["nope"],
        }
    )
    assert {d["field"] for d in details} == {
        "fields[0].semanticType",
        "fields[1].constraints.minimum",
        "fields[2].name",
        "primaryKey[0]",
    }
    with pytest.raises(Invalid) as caught:
        parse_schema({"fields": [{"name": "a", "type": "date", "constraints": {"minimum": 1}}], "primaryKey": "b"})
    assert caught.value.message.startswith("表结构有 2 处错误")


# --- default schema from the catalogue -----------------------------------------------------------


def _catalog_field(name: str, label: str, type: str = "string", personal_kind: str | None = None) -> Any:
    return SimpleNamespace(
        name=name,
        label=label,
        type=type,
        description=f"{label}说明",
        is_personal=personal_kind is not None,
        personal_kind=personal_kind,
    )


def test_schema_from_catalog_fields():
    schema = schema_from_catalog_fields(
        [
            _catalog_field("credit_code", "统一社会信用代码"),
            _catalog_field("company", "企业名称"),
            _catalog_field("legal_person", "法定代表人姓名", personal_kind="name"),
            _catalog_field("id_no", "身份证号", personal_kind="id_number"),
            _catalog_field("cell", "手机号码", personal_kind="phone"),
            _catalog_field("tel", "联系电话"),
            _catalog_field("zip", "邮编"),
            _catalog_field("email", "电子邮件地址"),
            _catalog_field("region", "行政区划代码"),
            _catalog_field("home", "住址", personal_kind="address"),
            _catalog_field("reg_capital", "注册资本（万元）", type="number"),
            _catalog_field("price", "单价（元）", type="number"),
            _catalog_field("unit", "单元"),
            _catalog_field("founded", "成立日期", type="date"),
            _catalog_field("medical", "诊断", personal_kind="health"),
            _catalog_field("homepage", "网站地址"),
            _catalog_field("capital_date", "注资日期", type="date"),
        ]
    )
    got = {f.name: f.semantic_type for f in schema.fields}
    assert got == {
        "credit_code": "uscc",
        "company": None,
        "legal_person": "person_name",
        "id_no": "resident_id",
        "cell": "mobile",
        "tel": "phone",
        "zip": "postcode",
        "email": "email",
        "region": "division_code",
        "home": "address",
        "reg_capital": "amount",
        "price": "amount",
        "unit": None,
        "founded": None,
        "medical": None,
        "homepage": None,
        "capital_date": None,  # "capital" in the name, but a date cannot hold an amount
    }
    first = schema.field("credit_code")
    assert first.title == "统一社会信用代码" and first.description == "统一社会信用代码说明"
    assert schema.field("founded").type == "date"
    assert {f.name: f.personal_kind for f in schema.fields if f.personal_kind} == {
        "legal_person": "name",
        "id_no": "id_number",
        "cell": "phone",
        "home": "address",
        "medical": "health",
    }
    assert duckdb_type(schema.field("reg_capital")) == "DECIMAL(18,2)"
    assert parse_schema(to_json(schema)) == schema


def test_personal_kind_alone_suggests_a_semantic_type():
    schema = schema_from_catalog_fields([_catalog_field("patient", "患者", personal_kind="name")])
    assert schema.fields[0].semantic_type == "person_name"
    schema = schema_from_catalog_fields(
        [SimpleNamespace(name="x", label="备注", type="string", description="", is_personal=True, personal_kind=None)]
    )
    assert schema.fields[0].personal_kind == "other" and schema.fields[0].semantic_type is None


# --- unit (issue 12): the unit of a numeric column's values -------------------------------------------


def test_unit_is_parsed_and_round_trips():
    schema = parse_schema(
        {
            "fields": [
                {"name": "reg_capital", "type": "number", "title": "注册资本", "unit": "wan_yuan"},
                {"name": "staff", "type": "integer", "unit": "person"},
                {"name": "ratio", "type": "number", "unit": "percent"},
                {"name": "plain", "type": "number"},
            ]
        }
    )
    assert [f.unit for f in schema.fields] == ["wan_yuan", "person", "percent", None]
    out = to_json(schema)
    assert out["fields"][0]["unit"] == "wan_yuan" and "unit" not in out["fields"][3]
    assert parse_schema(out) == schema
    assert set(MONEY_UNITS) <= set(UNIT_LABELS) and UNIT_LABELS["yi_yuan"] == "亿元"


def test_unit_must_be_known_and_on_a_numeric_field():
    details = _problems(_fields(name="amount", type="number", unit="wan"))
    assert details[0]["field"] == "fields[0].unit" and "wan_yuan" in details[0]["message"]
    details = _problems(_fields(name="label", type="string", unit="yuan"))
    assert (
        details[0]["field"] == "fields[0].unit"
        and "只适用于整数（integer）或数值（number）字段" in details[0]["message"]
    )
    assert _paths(_fields(name="d", type="date", unit="day")) == {"fields[0].unit"}

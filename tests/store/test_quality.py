"""The quality report of a load: six dimensions with their evidence, consistency rules (declared or
inferred), accuracy proxies, timeliness against the update frequency, unscoreable dimensions."""

import math
from datetime import UTC, date, datetime, timedelta
from statistics import NormalDist

import duckdb
import pytest

from pubdata.errors import Invalid
from pubdata.standards import uscc_with_check
from pubdata.store import service, table_schema
from pubdata.store.ingest import load as ingest
from pubdata.store.quality import checks as quality
from pubdata.store.quality import report as quality_report
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry

TODAY = date.today()


def resident_id(birth: str, serial: int = 1, male: bool = True, region: str = "370202") -> str:
    """A valid 18-digit resident ID number with the given birth date (YYYYMMDD)."""
    seq = f"{serial % 100:02d}{(1 if male else 2) + 2 * (serial % 4)}"
    body = region + birth + seq
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


PEOPLE = {
    "fields": [
        {"name": "id_no", "type": "string", "semanticType": "resident_id", "title": "身份证号"},
        {"name": "birth_date", "type": "date", "title": "出生日期"},
        {"name": "gender", "type": "string", "title": "性别"},
        {"name": "district_code", "type": "string", "semanticType": "division_code"},
        {"name": "district", "type": "string", "title": "所属区县"},
        {"name": "fee", "type": "number", "semanticType": "amount", "title": "费用"},
        {"name": "visit_date", "type": "date", "title": "就诊日期"},
    ],
    "primaryKey": "id_no",
}
HEADER = "id_no,birth_date,gender,district_code,district,fee,visit_date"


def person(i: int, *, birth="19800115", written_birth=None, gender=None, code="370202", district="市南区",
           fee=None, visit=None):  # fmt: skip
    male = i % 2 == 0
    pid = resident_id(birth, i, male)
    written = written_birth or f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    sex = gender or ("男" if male else "女")
    fee = fee if fee is not None else f"{100 + i % 37}.50"
    visit = visit or (TODAY - timedelta(days=3)).isoformat()
    return f"{pid},{written},{sex},{code},{district},{fee},{visit}"


@pytest.fixture
def people(session, as_actor):
    dept = as_actor("department")
    entry = make_entry(session, dept, title="门诊就诊记录", update_frequency="monthly")
    created = service.create_table(session, dept, entry.code, TableCreate(name="就诊", schema=PEOPLE))
    return dept, created.resource_id


def load(session, actor, rid, tmp_path, lines, header=HEADER, name="in.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return ingest.ingest(session, actor, rid, path, home=tmp_path / "home")


def dims(result):
    return result.quality["dimensions"]


# --- the dimensions ----------------------------------------------------------------------------


def test_consistency_counts_each_inferred_rule_over_the_rows_read(session, people, tmp_path):
    dept, rid = people
    lines = [person(i) for i in range(40)]
    lines[1] = person(1, written_birth="1980-01-16")  # birth date differs from the one in the ID
    lines[2] = person(2, gender="女")  # an even serial digit is a man
    lines[3] = person(3, district="崂山区")  # 370202 is 市南区
    lines[4] = person(4, code="370212", district="崂山")  # short names match
    lines[5] = person(5, gender="未知")  # not comparable: not counted
    result = load(session, dept, rid, tmp_path, lines)
    c = dims(result)["consistency"]
    by_rule = {r["rule"]: r for r in c["evidence"]["rules"]}
    assert {r: (v["checked"], v["inconsistent"]) for r, v in by_rule.items()} == {
        "id_birth_date": (40, 1),
        "id_gender": (39, 1),
        "division_name": (40, 1),
    }
    assert by_rule["id_gender"]["fields"] == ["id_no", "gender"] and not by_rule["id_gender"]["declared"]
    assert c["score"] == round(100 * (119 - 3) / 119, 2)


def test_a_district_name_with_a_code_of_another_place_is_inconsistent(session, people, tmp_path):
    dept, rid = people
    lines = [person(i) for i in range(10)]
    lines[0] = person(0, code="370102", district="市南区")  # 370102 is in Jinan
    lines[1] = person(1, code="370102", district="历下区")  # outside Qingdao: not checkable
    lines[2] = person(2, code="370211", district="西海岸新区")
    rules = {r["rule"]: r for r in dims(load(session, dept, rid, tmp_path, lines))["consistency"]["evidence"]["rules"]}
    assert (rules["division_name"]["checked"], rules["division_name"]["inconsistent"]) == (9, 1)


def test_accuracy_flags_implausible_values_and_far_outliers(session, people, tmp_path):
    dept, rid = people
    lines = [person(i) for i in range(60)]
    lines[0] = person(0, visit=(TODAY + timedelta(days=30)).isoformat())  # in the future
    lines[1] = person(1, fee="-20")  # a negative fee
    lines[2] = person(2, fee="9999999")  # far above the others
    lines[3] = person(3, birth="19030101")  # a valid ID, but over 120 years old
    result = load(session, dept, rid, tmp_path, lines)
    acc = dims(result)["accuracy"]
    fields = {f["field"]: f for f in acc["evidence"]["fields"]}
    assert fields["visit_date"]["checks"]["future"] == 1
    assert fields["fee"]["checks"] == {"negative": 1, "outlier": 1}
    assert fields["id_no"]["checks"]["age_range"] == 1 and fields["birth_date"]["checks"]["age_range"] == 1
    assert acc["evidence"]["suspect"] == 5 and acc["evidence"]["outliers"] == 1
    assert acc["score"] == round(100 * (acc["evidence"]["checked"] - 5) / acc["evidence"]["checked"], 2)


def test_log_normal_amounts_are_not_outliers(session, as_actor, tmp_path):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    schema = {"fields": [{"name": "capital", "type": "number", "semanticType": "amount"}]}
    rid = service.create_table(session, dept, entry.code, TableCreate(name="资本", schema=schema)).resource_id
    # registered capital spans orders of magnitude: a raw-scale fence would flag the large firms
    values = [f"{10 ** (i % 6) * (1 + i % 7)}" for i in range(120)]
    result = load(session, dept, rid, tmp_path, values, header="capital")
    assert dims(result)["accuracy"]["evidence"]["outliers"] == 0
    assert dims(result)["accuracy"]["score"] == 100.0


def test_completeness_validity_and_uniqueness_evidence(session, people, tmp_path):
    dept, rid = people
    lines = [person(i) for i in range(20)]
    lines[0] = lines[0].replace(",市南区,", ",,")  # one empty cell
    lines[1] = person(1, fee="12.345")  # invalid amount
    lines.append(lines[5])  # a primary-key duplicate
    result = load(session, dept, rid, tmp_path, lines)
    d = dims(result)
    cells = 21 * 7
    assert d["completeness"]["evidence"] == {"cells": cells, "filled": cells - 1, "empty": 1,
                                             "empty_by_field": {"district": 1}}  # fmt: skip
    assert d["validity"]["evidence"]["invalid"] == 1 and d["validity"]["evidence"]["reasons"] == {
        "金额最多保留两位小数": 1
    }
    assert d["uniqueness"]["evidence"] == {"rows": 21, "duplicates": 1, "basis": "primary_key", "key": ["id_no"]}
    assert d["uniqueness"]["score"] == round(100 * 20 / 21, 2)


def test_whole_row_duplicates_count_when_no_key_is_declared(session, as_actor, tmp_path):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    schema = {"fields": [{"name": "name", "type": "string"}, {"name": "n", "type": "integer"}]}
    rid = service.create_table(session, dept, entry.code, TableCreate(name="表", schema=schema)).resource_id
    result = load(session, dept, rid, tmp_path, ["甲,1", "甲,1", "甲,2", " 甲 ,1"], header="name,n")
    u = dims(result)["uniqueness"]
    assert (u["evidence"]["basis"], u["evidence"]["duplicates"], u["score"]) == ("whole_row", 2, 50.0)


# --- unscoreable dimensions and the overall score ---------------------------------------------------


def test_unscoreable_dimensions_are_null_and_left_out_of_the_overall_score(session, as_actor, tmp_path):
    dept = as_actor("department")
    entry = make_entry(session, dept, update_frequency="irregular")
    schema = {"fields": [{"name": "uscc", "type": "string", "semanticType": "uscc"}, {"name": "note"}],
              "primaryKey": "uscc"}  # fmt: skip
    rid = service.create_table(session, dept, entry.code, TableCreate(name="表", schema=schema)).resource_id
    codes = [uscc_with_check(f"91370200MA{i:07d}") for i in range(4)]
    result = load(session, dept, rid, tmp_path, [f"{c}," for c in codes], header="uscc,note")
    d = dims(result)
    for name in ("accuracy", "consistency", "timeliness"):
        assert d[name]["score"] is None, name
    assert d["consistency"]["evidence"]["unscored"] == "未声明且未能推断出跨字段一致性规则"
    assert "不定期" in d["timeliness"]["evidence"]["unscored"]
    # completeness 50 (weight 20), validity 100 (25), uniqueness 100 (15)
    assert d["completeness"]["score"] == 50.0
    assert result.quality["score"] == round((20 * 50 + 25 * 100 + 15 * 100) / 60, 2)


def test_an_empty_consistency_list_turns_inference_off(session, as_actor, tmp_path):
    schema = table_schema.parse_schema({**PEOPLE, "consistency": []})
    assert quality.consistency_rules(schema) == []
    inferred = quality.consistency_rules(table_schema.parse_schema(PEOPLE))
    assert {r.rule for r in inferred} == {"id_birth_date", "id_gender", "division_name"}


def test_declared_rules_replace_inference_and_are_checked(session, as_actor, tmp_path):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    schema = {
        "fields": [{"name": "a", "type": "date"}, {"name": "b", "type": "date"}, {"name": "lo", "type": "integer"},
                   {"name": "hi", "type": "integer"}],
        "consistency": [{"rule": "date_order", "fields": ["a", "b"]}, {"rule": "date_order", "fields": ["lo", "hi"]}],
    }  # fmt: skip
    rid = service.create_table(session, dept, entry.code, TableCreate(name="表", schema=schema)).resource_id
    rows = ["2024-01-01,2024-01-02,1,2", "2024-03-01,2024-01-02,5,2", "2024-01-01,,3,3"]
    c = dims(load(session, dept, rid, tmp_path, rows, header="a,b,lo,hi"))["consistency"]
    assert [(r["checked"], r["inconsistent"], r["declared"]) for r in c["evidence"]["rules"]] == [
        (2, 1, True),
        (3, 1, True),
    ]
    stored = service.get_table(session, dept, rid).table_schema
    assert stored["consistency"][0] == {"rule": "date_order", "fields": ["a", "b"]}


@pytest.mark.parametrize(
    ("rules", "path", "words"),
    [
        ([{"rule": "zodiac", "fields": ["id_no", "birth_date"]}], "consistency[0].rule", "id_birth_date"),
        ([{"rule": "id_birth_date", "fields": ["id_no", "nope"]}], "consistency[0].fields[1]", "不存在的字段 nope"),
        ([{"rule": "id_birth_date", "fields": ["gender", "birth_date"]}], "consistency[0].fields[0]", "居民身份证号码"),
        ([{"rule": "division_name", "fields": ["district_code"]}], "consistency[0].fields", "应列出 2 个字段"),
        ([{"rule": "date_order", "fields": ["birth_date", "fee"]}], "consistency[0].fields[1]", "同类型"),
        ([{"rule": "date_order", "fields": ["visit_date", "visit_date"]}], "consistency[0].fields", "不能相同"),
        ({"rule": "date_order"}, "consistency", "应为列表"),
        ([{"rule": "id_gender", "fields": ["id_no", "gender"], "strict": True}], "consistency[0].strict", "不支持"),
    ],
)
def test_bad_consistency_declarations_are_refused_naming_the_problem(rules, path, words):
    with pytest.raises(Invalid) as exc:
        table_schema.parse_schema({**PEOPLE, "consistency": rules})
    detail = exc.value.details[0]
    assert detail["field"] == path and words in detail["message"], detail


def test_rules_are_inferred_from_names_and_titles():
    schema = table_schema.parse_schema(
        {
            "fields": [
                {"name": "sfzh", "semanticType": "resident_id"},
                {"name": "csrq", "type": "date"},
                {"name": "nl", "type": "integer"},
                {"name": "xzqh", "semanticType": "division_code"},
                {"name": "qx", "title": "区县"},
                {"name": "admission_date", "type": "date"},
                {"name": "discharge_date", "type": "date"},
                {"name": "t1", "type": "datetime", "title": "开始时间"},
                {"name": "t2", "type": "datetime", "title": "结束时间"},
                {"name": "t3", "type": "date", "title": "结束日期"},  # no start of the same type
                {"name": "district_code", "title": "区县代码"},  # a code, not a district name
            ]
        }
    )
    got = {(r.rule, r.fields) for r in quality.consistency_rules(schema)}
    assert got == {
        ("id_birth_date", ("sfzh", "csrq")),
        ("id_age", ("sfzh", "nl")),
        ("division_name", ("xzqh", "qx")),
        ("date_order", ("admission_date", "discharge_date")),
        ("date_order", ("t1", "t2")),
    }


# --- timeliness ------------------------------------------------------------------------------------


def test_timeliness_curve():
    assert quality.timeliness_score(31, 31) == 100.0
    assert quality.timeliness_score(62, 31) == round(100 * 2 / 3, 2)
    assert quality.timeliness_score(124, 31) == 0.0 and quality.timeliness_score(1000, 31) == 0.0
    assert quality.timeliness_score(0.5, 1) == 100.0


def _measure_dates(newest: str, frequency: str, loaded_at: datetime, field_type: str = "date") -> dict:
    schema = table_schema.parse_schema({"fields": [{"name": "d", "type": field_type}]})
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE checked AS SELECT 1 AS _row, ? AS d, "
        "CAST([] AS STRUCT(col VARCHAR, val VARCHAR, reason VARCHAR)[]) AS _problems",
        [newest],
    )
    return quality.measure(con, "checked", schema, quality.LoadFacts(1, 0, {}), update_frequency=frequency,
                           loaded_at=loaded_at)  # fmt: skip


def test_timeliness_is_the_age_of_the_newest_value_against_the_update_frequency():
    loaded = datetime(2025, 6, 30, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
    fresh = _measure_dates("2025-06-29", "daily", loaded)["dimensions"]["timeliness"]
    assert fresh["score"] == 100.0 and fresh["evidence"]["newest"] == "2025-06-29"
    # a monthly table whose newest row is from 62 days (2 periods) before the end of the day it covers
    stale = _measure_dates("2025-04-29", "monthly", loaded)["dimensions"]["timeliness"]
    age = stale["evidence"]["age_days"]
    assert 61 < age < 62 and stale["score"] == quality.timeliness_score(age, 31)
    yearly = _measure_dates("2023", "yearly", loaded, "year")["dimensions"]["timeliness"]
    assert yearly["evidence"]["data_until"].startswith("2023-12-31T16:00")  # 2024-01-01 in Beijing


def test_timeliness_is_recomputed_as_of_now_for_readers():
    loaded = datetime(2025, 6, 30, 4, 0, tzinfo=UTC)
    report = _measure_dates("2025-06-29", "monthly", loaded)
    assert report["dimensions"]["timeliness"]["score"] == 100.0
    later = quality.refresh(report, "monthly", loaded + timedelta(days=93))
    assert later is not None and later["dimensions"]["timeliness"]["score"] < 50
    assert later["score"] < report["score"]
    assert quality.refresh(report, "irregular", loaded)["dimensions"]["timeliness"]["score"] is None  # type: ignore[index]


def test_without_dates_the_load_time_is_the_age():
    loaded = datetime(2025, 6, 30, tzinfo=UTC)
    schema = table_schema.parse_schema({"fields": [{"name": "name"}]})
    con = duckdb.connect()
    con.execute("CREATE TABLE checked AS SELECT 1 AS _row, 'x' AS name, "
                "CAST([] AS STRUCT(col VARCHAR, val VARCHAR, reason VARCHAR)[]) AS _problems")  # fmt: skip
    report = quality.measure(con, "checked", schema, quality.LoadFacts(1, 0, {}), update_frequency="weekly",
                             loaded_at=loaded)  # fmt: skip
    t = report["dimensions"]["timeliness"]["evidence"]
    assert t["basis"] == "loaded_at" and t["age_days"] == 0
    two_weeks = quality.refresh(report, "weekly", loaded + timedelta(days=14))
    assert two_weeks["dimensions"]["timeliness"]["score"] == round(100 * (1 - 7 / 21), 2)  # type: ignore[index]


# --- in words ------------------------------------------------------------------------------------


def test_the_report_reads_in_chinese_with_field_titles(session, people, tmp_path):
    dept, rid = people
    lines = [person(i) for i in range(30)]
    lines[1] = person(1, written_birth="1980-01-16")
    result = load(session, dept, rid, tmp_path, lines)
    words = {d["name"]: d for d in quality_report.describe(result.quality, table_schema.parse_schema(PEOPLE))}
    assert list(words) == list(quality.DIMENSIONS)
    assert "身份证号码与出生日期（身份证号—出生日期）30 组中 1 组不一致" in words["consistency"]["text"]
    assert words["uniqueness"]["text"] == "30 行中 0 行主键（身份证号）重复"
    assert "更新频率每月" in words["timeliness"]["text"]


def test_an_empty_load_has_no_score_at_all():
    schema = table_schema.parse_schema({"fields": [{"name": "name"}]})
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE checked (_row BIGINT, name VARCHAR, _problems STRUCT(col VARCHAR, val VARCHAR, reason VARCHAR)[])"
    )
    report = quality.measure(con, "checked", schema, quality.LoadFacts(0, 0, {}), update_frequency="daily")
    assert report["score"] is None
    assert all(d["score"] is None for d in report["dimensions"].values())


def test_amounts_written_in_a_text_column_are_checked_as_numbers(session, as_actor, tmp_path):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    schema = {"fields": [{"name": "fee", "type": "string", "semanticType": "amount"}]}
    rid = service.create_table(session, dept, entry.code, TableCreate(name="费用", schema=schema)).resource_id
    result = load(session, dept, rid, tmp_path, ["12.50", "-3", '"￥1,000"'], header="fee")
    fields = {f["field"]: f for f in dims(result)["accuracy"]["evidence"]["fields"]}
    assert fields["fee"]["checked"] == 3 and fields["fee"]["checks"] == {"negative": 1}


def _numbers(session, as_actor, tmp_path, name, values):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    schema = {"fields": [{"name": name, "type": "integer"}]}
    rid = service.create_table(session, dept, entry.code, TableCreate(name="表", schema=schema)).resource_id
    return dims(load(session, dept, rid, tmp_path, [str(v) for v in values], header=name))["accuracy"]


def test_right_skewed_counts_are_measured_on_a_log_scale(session, as_actor, tmp_path):
    # employees per firm are log-normal: most firms are small, a few large, none of them an error
    # (raw-scale fences would flag about 5% of these firms)
    staff = [round(math.exp(2 + 1.2 * NormalDist().inv_cdf((i + 0.5) / 200))) for i in range(200)]
    acc = _numbers(session, as_actor, tmp_path, "employees", staff)
    assert acc["evidence"]["outlier_fields"] == {"employees": "log"}
    assert acc["evidence"]["outliers"] == 0


def test_symmetric_values_are_measured_on_the_raw_scale(session, as_actor, tmp_path):
    beds = [100 + (i % 21) for i in range(60)] + [9000]
    acc = _numbers(session, as_actor, tmp_path, "beds", beds)
    assert acc["evidence"]["outlier_fields"] == {"beds": "raw"}
    assert acc["evidence"]["outliers"] == 1


def test_too_few_values_are_not_measured_for_outliers(session, as_actor, tmp_path):
    acc = _numbers(session, as_actor, tmp_path, "beds", [100, 101, 102, 9000])
    assert acc["evidence"]["outlier_fields"] == {}
    assert acc["score"] is None and acc["evidence"]["unscored"] == "没有可做合理性检查的字段"


def test_forward_looking_dates_are_not_future_dates_but_other_words_with_end_are():
    loaded = datetime(2025, 6, 30, tzinfo=UTC)
    fields = [{"name": n, "type": "date"} for n in ("end_date", "licence_expiry", "attendance_date", "enddate")]
    schema = table_schema.parse_schema({"fields": fields})
    checks = {c.name: set(c.checks) for c in quality._accuracy_checks(schema, loaded.replace(tzinfo=None))}
    assert "future" not in checks["end_date"] and "future" not in checks["licence_expiry"]
    assert "future" not in checks["enddate"] and "future" in checks["attendance_date"]

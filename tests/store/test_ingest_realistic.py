"""A realistic file — GBK-encoded, values written as real exports have them (phones with ``+86``,
spaces and hyphens, dates in three spellings, full-width digits, thousands separators, a lower-case
``x`` in ID numbers) and some values that must be rejected — loaded through the whole ingest: the
stored (normalised, typed) rows and the rejects file are compared with the expected ones, value by
value. It pins the normalisation ingestion applies, whatever way it is computed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest
from stdnum.cn import ric

from pubdata.standards import uscc_with_check
from pubdata.store import files, service
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry

SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "semanticType": "uscc", "constraints": {"required": True}},
        {"name": "name", "type": "string"},
        {"name": "legal_id", "type": "string", "semanticType": "resident_id", "personalKind": "id_number"},
        {"name": "phone", "type": "string", "semanticType": "mobile", "personalKind": "phone"},
        {"name": "capital", "type": "number", "semanticType": "amount"},
        {"name": "founded", "type": "date"},
        {"name": "status", "type": "string", "constraints": {"enum": ["存续", "注销", "吊销"]}},
    ],
    "primaryKey": "uscc",
}
HEADER = "uscc,name,legal_id,phone,capital,founded,status"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def code(i: int) -> str:
    return uscc_with_check(f"91370200MA{i:07d}")


def rid_number(i: int) -> str:
    body = f"3702021985{i % 9 + 1:02d}{i % 9 + 1:02d}12{i % 10}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


X_ID = rid_number(17)  # its check character is X
assert X_ID.endswith("X")

# (uscc, name, legal_id, phone, capital, founded, status) as written in the file, one row each
ROWS = [
    # 1-8: valid once normalised
    (code(1), "青岛一号贸易有限公司", rid_number(1), "13912345601", "1000.5", "2020-03-01", "存续"),
    (code(2), "青岛二号贸易有限公司", X_ID.lower(), "+86 139-1234-5602", '"1,234,567.5"', "2020/3/2", "注销"),
    (code(3).lower(), "青岛三号贸易有限公司", rid_number(3), "139 1234 5603", "１２３４.５", "2020年3月3日", "吊销"),
    (
        code(4),
        "\u3000青岛四号贸易有限公司 ",
        rid_number(4),
        "１３９１２３４５６０４",
        '"￥1,000"',
        "２０２０-０３-０４",
        "存续",
    ),
    (code(5).translate(FULL_WIDTH), "青岛五号", rid_number(5), "0086 13912345605", "100元", "20200305", "存续"),
    (code(7), "青岛七号", rid_number(7), "(139)1234-5607", "-0.5", "2020.3.6 00:00:00", "注销"),
    (code(8), "青岛八号", "", "8613912345608", '"1,000,000,000,000,000"', "２０２０年１２月３１日", "存续"),
    (code(9), "", rid_number(9), " 139-1234-5609 ", "0", "2020/02/29", " 存续 "),
    # 9-: each with one or more problems
    (code(10), "号段无效", rid_number(10), "12912345610", "12.345", "2020/02/30", "存续"),
    (code(11), "位数不对", rid_number(11), "１３９１２３４５６１", '"1,23"', "2021-02-29", "歇业"),
    (
        code(12)[:-1] + "0",
        "校验位错",
        rid_number(12)[:-1] + ("1" if rid_number(12)[-1] != "1" else "2"),
        "139-1234",
        "abc",
        "03/01/2020",
        "存续",
    ),
    (code(13), "旧号码", "370202850101121", "+1 555 0100", "1000000000000000.01", "2020年13月1日", "注销"),
    ("", "缺代码", rid_number(14), "13912345614", "", "", ""),
    (code(1).translate(FULL_WIDTH), "重复代码", rid_number(15), "13912345615", "1", "2020-01-01", "存续"),
    (code(16), "年份不对", "370202180001011234", "139 1234 561６", "￥ 12", "1999-1-1", "存续"),
]


def csv_text() -> str:
    return "\n".join([HEADER, *(",".join(row) for row in ROWS)]) + "\n"


EXPECTED_STORED = [
    (
        code(1),
        "青岛一号贸易有限公司",
        "37020219850202121X",
        "13912345601",
        Decimal("1000.50"),
        dt.date(2020, 3, 1),
        "存续",
    ),
    (code(2), "青岛二号贸易有限公司", X_ID, "13912345602", Decimal("1234567.50"), dt.date(2020, 3, 2), "注销"),
    (
        code(3),
        "青岛三号贸易有限公司",
        "370202198504041230",
        "13912345603",
        Decimal("1234.50"),
        dt.date(2020, 3, 3),
        "吊销",
    ),
    (
        code(4),
        "青岛四号贸易有限公司",
        "370202198505051246",
        "13912345604",
        Decimal("1000.00"),
        dt.date(2020, 3, 4),
        "存续",
    ),
    (code(5), "青岛五号", "370202198506061251", "13912345605", Decimal("100.00"), dt.date(2020, 3, 5), "存续"),
    (code(7), "青岛七号", "370202198508081272", "13912345607", Decimal("-0.50"), dt.date(2020, 3, 6), "注销"),
    (code(8), "青岛八号", None, "13912345608", Decimal("1000000000000000.00"), dt.date(2020, 12, 31), "存续"),
    (code(9), None, "370202198501011298", "13912345609", Decimal("0.00"), dt.date(2020, 2, 29), "存续"),
]
EXPECTED_REJECTS = [
    "row,column,value,reason",
    "9,phone,12912345610,手机号码号段无效",
    "9,capital,12.345,金额最多保留两位小数",
    "9,founded,2020/02/30,日期无效",
    "10,phone,１３９１２３４５６１,手机号码应为11位",
    '10,capital,"1,23",金额格式错误',
    "10,founded,2021-02-29,日期无效",
    "10,status,歇业,取值不在允许范围内",
    f"11,uscc,{code(12)[:-1]}0,统一社会信用代码校验位错误",
    "11,legal_id,370202198504041221,身份证号码校验位错误",
    "11,phone,139-1234,手机号码应为11位",
    "11,capital,abc,金额格式错误",
    "11,founded,03/01/2020,日期格式错误，应为 YYYY-MM-DD、YYYYMMDD 或 YYYY年M月D日",
    "12,legal_id,370202850101121,身份证号码为15位旧号码，应使用18位号码",
    "12,phone,+1 555 0100,手机号码格式错误",
    "12,capital,1000000000000000.01,金额超出范围",
    "12,founded,2020年13月1日,日期无效",
    "13,uscc,,必填字段为空",
    f"14,uscc,{code(1)},主键重复",
    "15,legal_id,370202180001011234,身份证号码出生日期无效",
]


@pytest.fixture
def loaded(session, as_actor, tmp_path):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    rid = service.create_table(
        session, dept, entry.code, TableCreate(name="登记", schema=SCHEMA, reject_threshold=0.9)
    ).resource_id
    path = tmp_path / "registry.csv"
    path.write_bytes(csv_text().encode("gbk"))
    result = ingest.ingest(session, dept, rid, path, home=tmp_path / "home")
    published = files.version_dir(tmp_path / "home", rid, 1) / files.DATA_FILE
    stored = duckdb.sql(f"SELECT * FROM read_parquet('{published}')").fetchall()
    with open(result.rejects_file, encoding="utf-8") as fh:
        rejects = fh.read().splitlines()
    return result, stored, rejects


def test_realistic_gbk_values_are_normalised_and_stored(loaded) -> None:
    result, stored, _ = loaded
    assert (result.state, result.rows_loaded, result.rows_rejected) == ("published", 8, 7)
    assert stored == EXPECTED_STORED


def test_realistic_invalid_values_are_rejected_with_their_reasons(loaded) -> None:
    _, _, rejects = loaded
    assert rejects == EXPECTED_REJECTS

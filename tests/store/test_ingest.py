"""Loading files into versions: encodings, formats, validation, rejects, refusal, atomicity."""

import json

import duckdb
import pytest

from pubdata.catalog.errors import NotEntryOwner
from pubdata.standards import uscc_with_check
from pubdata.store import files, service, table_schema
from pubdata.store.ingest import load as ingest
from pubdata.store.models import StoreVersion
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry

SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "semanticType": "uscc", "constraints": {"required": True}},
        {"name": "name", "type": "string", "title": "企业名称"},
        {"name": "capital", "type": "number", "semanticType": "amount"},
        {"name": "founded", "type": "date"},
        {"name": "status", "type": "string", "constraints": {"enum": ["存续", "注销"]}},
    ],
    "primaryKey": "uscc",
}
CODES = [uscc_with_check(f"91370200MA{i:07d}") for i in range(60)]
HEADER = "uscc,name,capital,founded,status"


def rows(n=60, extra=()):
    lines = [HEADER] + [
        f'{c},青岛海岸线企业{i},"1,000.50",2020年3月{1 + i % 28}日,存续' for i, c in enumerate(CODES[:n])
    ]
    return "\n".join([*lines, *extra]) + "\n"


@pytest.fixture
def table(session, as_actor):
    dept = as_actor("department")
    entry = make_entry(session, dept, title="市场主体登记信息")
    created = service.create_table(session, dept, entry.code, TableCreate(name="登记信息", schema=SCHEMA))
    return dept, created.resource_id


def load(session, actor, rid, tmp_path, text, name="in.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return ingest.ingest(session, actor, rid, path, home=tmp_path / "home")


def data(tmp_path, rid, number):
    path = files.version_dir(tmp_path / "home", rid, number) / files.DATA_FILE
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY uscc").fetchall()


def test_gbk_csv_is_loaded_typed_and_bad_rows_rejected_with_reasons(session, table, tmp_path):
    dept, rid = table
    bad = [
        f"{CODES[0]},重复企业,1,2020-01-01,存续",
        "91370200MA00000000,校验位错,1,2020-01-01,存续",
        f"{CODES[59][:-1]}X,状态错,1,2020-02-30,歇业",
    ]
    result = load(session, dept, rid, tmp_path, rows(57, bad), encoding="gbk")
    assert (result.state, result.rows_loaded, result.rows_rejected) == ("published", 57, 3)
    got = data(tmp_path, rid, 1)
    assert len(got) == 57 and str(got[0][2]) == "1000.50" and got[0][3].isoformat() == "2020-03-01"
    with open(result.rejects_file, encoding="utf-8") as fh:
        rejects = fh.read().splitlines()
    assert rejects[0] == "row,column,value,reason"
    reasons = {line.split(",")[-1] for line in rejects[1:]}
    assert "主键重复" in reasons and "统一社会信用代码校验位错误" in reasons and "取值不在允许范围内" in reasons
    version = session.query(StoreVersion).filter_by(resource_id=rid).one()
    assert version.source_encoding == "gb18030" and version.state == "published"
    assert service.get_table(session, dept, rid).current_version == 1
    assert result.quality["dimensions"]["uniqueness"]["evidence"]["duplicates"] == 1


def test_utf8_with_bom_jsonl_and_parquet_load_the_same_rows(session, table, tmp_path):
    dept, rid = table
    assert load(session, dept, rid, tmp_path, "\ufeff" + rows(10)).rows_loaded == 10
    records = [
        dict(uscc=c, name=f"企业{i}", capital="12.5", founded="2021-01-02", status="注销")
        for i, c in enumerate(CODES[:7])
    ]
    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    assert load(session, dept, rid, tmp_path, jsonl, name="in.jsonl").rows_loaded == 7
    parquet = tmp_path / "in.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{tmp_path / 'in.jsonl'}')) TO '{parquet}' (FORMAT parquet)")
    result = ingest.ingest(session, dept, rid, parquet, home=tmp_path / "home")
    assert (result.version, result.rows_loaded) == (3, 7)
    assert len(data(tmp_path, rid, 1)) == 10  # earlier versions stay as they were


def test_too_many_rejects_refuse_the_version_and_keep_the_current_one(session, table, tmp_path):
    dept, rid = table
    load(session, dept, rid, tmp_path, rows(20))
    bad = [f"9137020{i}MA0000000X,坏,1,2020-01-01,存续" for i in range(3)]
    result = load(session, dept, rid, tmp_path, rows(20, bad).replace(HEADER + "\n", HEADER + "\n", 1))
    assert result.state == "refused" and result.rows_loaded == 0 and result.rows_rejected >= 3
    assert not (files.version_dir(tmp_path / "home", rid, 2) / files.DATA_FILE).exists()
    assert service.get_table(session, dept, rid).current_version == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("uscc,name,capital,founded\n", "缺少字段 status"),
        (HEADER + ",extra\n", "多出字段 extra"),
    ],
)
def test_a_header_that_does_not_match_is_refused_naming_the_columns(session, table, tmp_path, content, expected):
    dept, rid = table
    with pytest.raises(ingest.InvalidSource) as exc:
        load(session, dept, rid, tmp_path, content)
    assert expected in exc.value.message
    assert session.query(StoreVersion).count() == 0
    assert not any(files.resource_dir(tmp_path / "home", rid).iterdir())


def test_undecodable_file_is_refused(session, table, tmp_path):
    dept, rid = table
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER.encode() + b"\n\x81\x30\xff\xff,x,1,2020-01-01,\xe4\n")
    with pytest.raises(ingest.InvalidSource) as exc:
        ingest.ingest(session, dept, rid, path, home=tmp_path / "home")
    assert "编码" in exc.value.message


def test_ragged_rows_are_refused(session, table, tmp_path):
    dept, rid = table
    with pytest.raises(ingest.InvalidSource):
        load(session, dept, rid, tmp_path, rows(3, [f"{CODES[10]},only-two"]))


def test_unsupported_format_is_refused(session, table, tmp_path):
    dept, rid = table
    with pytest.raises(ingest.InvalidSource) as exc:
        load(session, dept, rid, tmp_path, "x", name="in.docx")
    assert ".docx" in exc.value.message


def test_a_crash_mid_load_leaves_the_previous_version_and_no_files(session, table, tmp_path, monkeypatch):
    dept, rid = table
    load(session, dept, rid, tmp_path, rows(5))

    def boom(*_a, **_k):
        raise RuntimeError("killed")

    monkeypatch.setattr(ingest, "measure", boom)
    with pytest.raises(RuntimeError):
        load(session, dept, rid, tmp_path, rows(8))
    assert [p.name for p in files.resource_dir(tmp_path / "home", rid).iterdir()] == ["v1"]
    assert len(data(tmp_path, rid, 1)) == 5


def test_only_the_publishing_department_loads(session, table, tmp_path, as_actor):
    _, rid = table
    with pytest.raises(NotEntryOwner):
        load(session, as_actor("department"), rid, tmp_path, rows(3))


def test_versions_are_listed_and_the_publisher_can_roll_back(session, table, tmp_path, as_actor):
    from pubdata.store.errors import VersionNotPublished

    dept, rid = table
    load(session, dept, rid, tmp_path, rows(10))
    load(session, dept, rid, tmp_path, rows(12))
    bad = [f"9137020{i}MA0000000X,坏,1,2020-01-01,存续" for i in range(5)]
    assert load(session, dept, rid, tmp_path, rows(5, bad)).state == "refused"
    versions = service.list_versions(session, as_actor("anonymous"), rid)
    assert [(v.number, v.state, v.current) for v in versions] == [
        (3, "refused", False),
        (2, "published", True),
        (1, "published", False),
    ]
    assert versions[1].quality["score"] == 100.0 and versions[1].rows_loaded == 12
    assert service.roll_back(session, dept, rid, 1).current is True
    assert service.get_table(session, dept, rid).current_version == 1
    with pytest.raises(VersionNotPublished):
        service.roll_back(session, dept, rid, 3)
    with pytest.raises(NotEntryOwner):
        service.roll_back(session, as_actor("department"), rid, 2)
    assert service.get_table(session, dept, rid).current_version == 1


# --- bad input: a clear error naming the problem, no version, nothing left on disk -----------------


def assert_nothing_stored(session, tmp_path, rid):
    assert session.query(StoreVersion).filter_by(resource_id=rid).count() == 0
    folder = files.resource_dir(tmp_path / "home", rid)
    assert not folder.exists() or not any(folder.iterdir())


def refused_with(session, dept, rid, tmp_path, content: bytes, name="in.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ingest.InvalidSource) as exc:
        ingest.ingest(session, dept, rid, path, home=tmp_path / "home")
    assert_nothing_stored(session, tmp_path, rid)
    return exc.value.message


def test_ragged_rows_name_the_line_and_the_column_counts(session, table, tmp_path):
    dept, rid = table
    short = rows(3, [f"{CODES[10]},only-two"]).encode()
    assert "第 5 行的列数与表头不一致：应为 5 列，实为 2 列" in refused_with(session, dept, rid, tmp_path, short)
    long = rows(2, [f"{CODES[10]},a,1,2020-01-01,存续,extra"]).encode()
    assert "第 4 行的列数与表头不一致：应为 5 列，实为 6 列" in refused_with(session, dept, rid, tmp_path, long)


def test_an_unterminated_quote_names_its_line(session, table, tmp_path):
    dept, rid = table
    content = rows(2, [f'{CODES[10]},"未闭合,1,2020-01-01,存续']).encode()
    assert "第 4 行有未闭合的引号" in refused_with(session, dept, rid, tmp_path, content)


def test_a_line_over_10_mb_is_refused_naming_the_limit(session, table, tmp_path):
    dept, rid = table
    huge = rows(2, [f"{CODES[10]},{'长' * (4 * 1024 * 1024)},1,2020-01-01,存续"]).encode()
    message = refused_with(session, dept, rid, tmp_path, huge)
    assert "第 4 行超过单行大小上限 10 MB" in message


def test_an_empty_file_and_a_header_without_rows_are_refused(session, table, tmp_path):
    dept, rid = table
    assert "文件为空" in refused_with(session, dept, rid, tmp_path, b"")
    assert "没有数据行" in refused_with(session, dept, rid, tmp_path, (HEADER + "\n").encode())


def test_a_file_whose_content_is_not_its_format_is_refused(session, table, tmp_path):
    dept, rid = table
    message = refused_with(session, dept, rid, tmp_path, rows(3).encode(), name="in.parquet")
    assert "按 Parquet 载入，但内容是文本文件" in message
    zipped = b"PK\x03\x04" + b"\x00" * 100
    assert "按 CSV 载入，但内容是ZIP 压缩包" in refused_with(session, dept, rid, tmp_path, zipped)
    old_excel = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    assert "旧版 .xls" in refused_with(session, dept, rid, tmp_path, old_excel, name="in.xlsx")
    assert "二进制文件" in refused_with(session, dept, rid, tmp_path, b"uscc\x00\x01\x02", name="in.jsonl")


def test_wrong_encoding_stores_nothing(session, table, tmp_path):
    dept, rid = table
    content = HEADER.encode() + b"\n\x81\x30\xff\xff,x,1,2020-01-01,\xe4\n"
    assert "既不是 UTF-8 也不是 GBK/GB18030" in refused_with(session, dept, rid, tmp_path, content)


def test_a_repeated_or_blank_header_name_is_refused(session, table, tmp_path):
    dept, rid = table
    repeated = ("uscc,name,capital,founded,status,name\n" + rows(2).split("\n", 1)[1]).encode()
    assert "表头字段重复：name" in refused_with(session, dept, rid, tmp_path, repeated)


# --- the rejects file and the order of the published rows ------------------------------------------

UNIQUE_SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer"},
        {"name": "phone", "type": "string", "semanticType": "mobile", "constraints": {"unique": True}},
        {"name": "founded", "type": "date"},
    ],
    "primaryKey": "id",
}


def test_rejects_list_every_problem_in_row_order_and_valid_rows_keep_file_order(session, as_actor, tmp_path):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    rid = service.create_table(session, dept, entry.code, TableCreate(name="号码", schema=UNIQUE_SCHEMA)).resource_id
    lines = ["id,phone,founded"]
    lines += [f"{n},1380013{n:04d},2021-02-03" for n in range(9, 0, -1)]  # ids descending: file order ≠ key order
    lines += [
        "3,139 0000 0001,2021-1-5",  # row 10: duplicate id 3 (the number is fine, written with spaces)
        "10,138 0013 0005,2021-02-30",  # row 11: phone 13800130005 repeats row 5's; no such date
        "11,12345,2021-02-03",  # row 12: not a mobile number
    ]
    lines += [f"{n},1370000{n:04d},2021年3月{(n - 12) % 28 + 1}日" for n in range(12, 80)]
    path = tmp_path / "phones.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ingest.ingest(session, dept, rid, path, home=tmp_path / "home")
    assert (result.state, result.rows_loaded, result.rows_rejected) == ("published", 77, 3)
    with open(result.rejects_file, encoding="utf-8") as fh:
        assert fh.read().splitlines() == [
            "row,column,value,reason",
            "10,id,3,主键重复",
            "11,founded,2021-02-30,日期无效",
            "11,phone,138 0013 0005,值重复",
            "12,phone,12345,手机号码应为11位",
        ]
    published = files.version_dir(tmp_path / "home", rid, 1) / files.DATA_FILE
    got = duckdb.sql(f"SELECT id, phone, founded FROM read_parquet('{published}')").fetchall()
    assert [r[0] for r in got] == [*range(9, 0, -1), *range(12, 80)]
    assert got[0][1] == "13800130009" and got[-1][2].isoformat() == "2021-03-12"
    assert result.problems == {"主键重复": 1, "日期无效": 1, "值重复": 1, "手机号码应为11位": 1}


def test_a_line_that_is_not_json_is_named(session, table, tmp_path):
    dept, rid = table
    good = json.dumps(dict(uscc=CODES[0], name="企业", capital="1", founded="2021-01-02", status="存续"))
    content = f'{good}\n{{"uscc": , "name": "x"}}\n{good}\n'.encode()
    assert "第 2 行不是有效的 JSON" in refused_with(session, dept, rid, tmp_path, content, name="in.jsonl")
    first = f'{{"uscc": ,}}\n{good}\n'.encode()
    assert "第 1 行不是有效的 JSON" in refused_with(session, dept, rid, tmp_path, first, name="in.jsonl")


def _relation(codes):
    """A query giving the table's columns for ``codes`` (one bad status among them)."""
    values = ", ".join(
        f"('{c}', '企业{i}', '100', '2020-01-0{1 + i % 9}', '{'歇业' if i == 3 else '存续'}')"
        for i, c in enumerate(codes)
    )
    return f"SELECT * FROM (VALUES {values}) AS v(uscc, name, capital, founded, status)"


def test_loads_in_one_reused_connection_match_loads_in_their_own_and_leave_it_empty(session, table, tmp_path):
    dept, rid = table
    home = tmp_path / "home"
    con = ingest.load_connection(tmp_path / "spill", threads=1)
    try:
        first = ingest.load_relation(
            session, dept, rid, _relation(CODES[:40]), home=home, source_name="a", connection=con
        )
        columns = ["uscc", "name", "capital", "founded", "status"]
        second = ingest.load_relation(
            session, dept, rid, _relation(CODES[:50]), home=home, source_name="b", columns=columns, connection=con
        )
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE NOT internal").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone() == (0,)
        with pytest.raises(ingest.InvalidSource, match="缺少字段 status"):  # a failed load leaves it empty too
            ingest.load_relation(
                session,
                dept,
                rid,
                "SELECT uscc, name, capital, founded FROM (SELECT 1 AS uscc, 2 AS name, 3 AS capital, 4 AS founded)",
                home=home,
                source_name="c",
                connection=con,
            )
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE NOT internal").fetchone() == (0,)
    finally:
        con.close()
    alone = ingest.load_relation(session, dept, rid, _relation(CODES[:50]), home=home, source_name="d")
    assert (first.rows_loaded, first.rows_rejected) == (39, 1)
    assert (second.rows_loaded, second.rows_rejected, second.problems) == (49, 1, alone.problems)
    measured = [{k: v for k, v in r.quality["dimensions"].items() if k != "timeliness"} for r in (second, alone)]
    assert measured[0] == measured[1]
    assert data(tmp_path, rid, second.version) == data(tmp_path, rid, alone.version)


def test_problems_are_checked_again_only_in_the_fields_that_failed_and_come_out_the_same():
    schema = table_schema.parse_schema(SCHEMA)
    values = [
        (CODES[0], "甲", "1", "2020-01-01", "存续"),
        (CODES[1][:-1] + ("1" if CODES[1][-1] != "1" else "2"), "乙", "1", "2020-01-01", "存续"),  # check character
        (CODES[2], "丙", "1", "2020-02-30", "存续"),  # no such date
        (CODES[3], "丁", "1", "2020-01-01", "歇业"),  # not in the enum
        (CODES[4], "戊", "1", "2020-01-01", "注销"),
    ]
    listed = ", ".join("(" + ", ".join(f"'{v}'" for v in row) + ")" for row in values)
    con = duckdb.connect(config={"preserve_insertion_order": True})
    ingest._check(con, schema, f"(SELECT * FROM (VALUES {listed}) AS v(uscc, name, capital, founded, status))")
    got = con.execute("SELECT rid, problems FROM problem_rows ORDER BY rid").fetchall()
    every = con.execute(f"SELECT rid, problems FROM ({ingest._problems_sql(schema, 'rows')}) ORDER BY rid").fetchall()
    assert got == every and [rid for rid, _ in got] == [1, 2, 3]
    assert ingest._failed_fields(con, schema, set()) == [3, 4]  # founded, status; uscc's check is NumPy's
    assert [[p["col"] for p in problems] for _, problems in got] == [["uscc"], ["founded"], ["status"]]

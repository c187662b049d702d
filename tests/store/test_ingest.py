"""Loading files into versions: encodings, formats, validation, rejects, refusal, atomicity."""

import json

import duckdb
import pytest

from pubdata.catalog.errors import NotEntryOwner
from pubdata.standards import uscc_with_check
from pubdata.store import files, ingest, service
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

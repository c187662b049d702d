"""XLSX uploads: real workbooks (SpreadsheetML parts zipped by hand), their values as CSV text, and
the workbooks refused before they are read: truncated, ZIP bombs, formulas, not a workbook."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import pytest

from pubdata.standards import uscc_with_check
from pubdata.store import files, service
from pubdata.store.ingest import load as ingest
from pubdata.store.ingest import xlsx
from pubdata.store.models import StoreVersion
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry

SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "semanticType": "uscc", "constraints": {"required": True}},
        {"name": "name", "type": "string"},
        {"name": "phone", "type": "string", "semanticType": "mobile"},
        {"name": "capital", "type": "number", "semanticType": "amount"},
        {"name": "founded", "type": "date"},
        {"name": "checked_at", "type": "datetime"},
        {"name": "staff", "type": "integer"},
        {"name": "listed", "type": "boolean"},
    ],
    "primaryKey": "uscc",
}
HEADER = [f["name"] for f in SCHEMA["fields"]]
CODES = [uscc_with_check(f"91370200MA{i:07d}") for i in range(40)]
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
PACKAGE = "http://schemas.openxmlformats.org/package/2006"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEETML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
STYLES = (
    f'{XML}<styleSheet {NS}><fonts count="1"><font/></fonts><fills count="1"><fill/></fills>'
    '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>'
    '<xf numFmtId="22" applyNumberFormat="1"/></cellXfs></styleSheet>'
)


def relationships(*targets: tuple[str, str]) -> str:
    rels = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{OFFICE}/{kind}" Target="{target}"/>'
        for i, (kind, target) in enumerate(targets)
    )
    return f'{XML}<Relationships xmlns="{PACKAGE}/relationships">{rels}</Relationships>'


def column(j: int) -> str:
    return chr(65 + j)


def cell(ref: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.datetime):
        serial = (value - EXCEL_EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="2"><v>{serial}</v></c>'
    if isinstance(value, dt.date):
        serial = (dt.datetime.combine(value, dt.time()) - EXCEL_EPOCH).days
        return f'<c r="{ref}" s="1"><v>{serial}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, tuple):  # ("=", formula, cached value)
        return f'<c r="{ref}"><f>{escape(value[1])}</f><v>{value[2]}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def write_xlsx(path: Path, rows: list[list[object]], *, extra: dict[str, bytes] | None = None) -> Path:
    """A minimal but complete workbook: content types, relationships, one sheet, date styles."""
    sheet_rows = "".join(
        f'<row r="{i + 1}">' + "".join(cell(f"{column(j)}{i + 1}", v) for j, v in enumerate(row)) + "</row>"
        for i, row in enumerate(rows)
    )
    parts = {
        "[Content_Types].xml": (
            f'{XML}<Types xmlns="{PACKAGE}/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{SHEETML}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SHEETML}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{SHEETML}.styles+xml"/></Types>'
        ),
        "_rels/.rels": relationships(("officeDocument", "xl/workbook.xml")),
        "xl/workbook.xml": (
            f'{XML}<workbook {NS} {REL_NS}><sheets><sheet name="登记" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": relationships(("worksheet", "worksheets/sheet1.xml"), ("styles", "styles.xml")),
        "xl/styles.xml": STYLES,
        "xl/worksheets/sheet1.xml": f"{XML}<worksheet {NS}><sheetData>{sheet_rows}</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode("utf-8"))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def registry_rows(n: int) -> list[list[object]]:
    return [HEADER] + [
        [
            CODES[i],
            f"青岛海岸线企业{i}",
            13800138000 + i,  # a phone number typed as a number: no ".0"
            1000.5 + i,
            dt.date(2020, 3, 1 + i % 28),
            dt.datetime(2024, 5, 6, 8, 30),
            12 + i,
            i % 2 == 0,
        ]
        for i in range(n)
    ]


@pytest.fixture
def table(session, as_actor):
    dept = as_actor("department")
    entry = make_entry(session, dept, title="市场主体登记信息")
    created = service.create_table(session, dept, entry.code, TableCreate(name="登记信息", schema=SCHEMA))
    return dept, created.resource_id


def test_values_become_the_text_a_csv_export_holds(tmp_path):
    source = write_xlsx(tmp_path / "in.xlsx", registry_rows(2))
    target = tmp_path / "out.csv"
    assert xlsx.to_csv(source, target) == 2
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(HEADER)
    assert lines[1] == f"{CODES[0]},青岛海岸线企业0,13800138000,1000.5,2020-03-01,2024-05-06 08:30:00,12,true"
    assert lines[2].endswith(",13800138001,1001.5,2020-03-02,2024-05-06 08:30:00,13,false")


def test_an_xlsx_is_loaded_like_a_csv(session, table, tmp_path):
    dept, rid = table
    rows = registry_rows(30)
    rows[5][4] = "2020-02-30"  # text in a date column: rejected with its data row number
    source = write_xlsx(tmp_path / "登记.xlsx", rows)
    result = ingest.ingest(session, dept, rid, source, home=tmp_path / "home")
    assert (result.state, result.rows_loaded, result.rows_rejected) == ("published", 29, 1)
    with open(result.rejects_file, encoding="utf-8") as fh:
        assert fh.read().splitlines()[1] == "5,founded,2020-02-30,日期无效"
    data = files.version_dir(tmp_path / "home", rid, 1) / files.DATA_FILE
    first = duckdb.sql(f"SELECT * FROM read_parquet('{data}') LIMIT 1").fetchone()
    assert first is not None
    assert first[2] == "13800138000" and str(first[3]) == "1000.50" and first[4] == dt.date(2020, 3, 1)
    assert first[5] == dt.datetime(2024, 5, 6, 8, 30) and first[6] == 12 and first[7] is True
    version = session.query(StoreVersion).filter_by(resource_id=rid).one()
    assert version.source_format == "xlsx"


def refused_with(session, dept, rid, tmp_path, source: Path) -> str:
    with pytest.raises(ingest.InvalidSource) as exc:
        ingest.ingest(session, dept, rid, source, home=tmp_path / "home")
    assert session.query(StoreVersion).filter_by(resource_id=rid).count() == 0
    folder = files.resource_dir(tmp_path / "home", rid)
    assert not folder.exists() or not any(folder.iterdir())
    return exc.value.message


def test_a_formula_is_refused_naming_its_cell(session, table, tmp_path):
    dept, rid = table
    rows = registry_rows(8)
    rows[6][2] = ("=", "B7&C6", 13800138005)  # row 7 of the sheet, column C
    message = refused_with(session, dept, rid, tmp_path, write_xlsx(tmp_path / "f.xlsx", rows))
    assert message == "单元格 C7 含公式，请导出为数值后再上传"


def test_a_truncated_workbook_is_refused(session, table, tmp_path):
    dept, rid = table
    whole = write_xlsx(tmp_path / "whole.xlsx", registry_rows(20)).read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])
    assert "XLSX 文件已损坏或不完整" in refused_with(session, dept, rid, tmp_path, cut)


def test_a_zip_bomb_is_refused_before_it_is_extracted(session, table, tmp_path):
    dept, rid = table
    bomb = write_xlsx(tmp_path / "bomb.xlsx", registry_rows(3), extra={"xl/media/pad.bin": bytes(200 * 1024 * 1024)})
    assert bomb.stat().st_size < 2 * 1024 * 1024
    message = refused_with(session, dept, rid, tmp_path, bomb)
    assert "压缩炸弹" in message and "xl/media/pad.bin" in message and "超过上限 100:1" in message


def test_the_total_uncompressed_size_is_capped(session, table, tmp_path, monkeypatch):
    dept, rid = table
    monkeypatch.setattr(xlsx, "MAX_UNCOMPRESSED_BYTES", 4096)
    message = refused_with(session, dept, rid, tmp_path, write_xlsx(tmp_path / "big.xlsx", registry_rows(40)))
    assert "解压后共" in message and "超过上限" in message


def test_streaming_stops_at_the_caps_whatever_the_declared_sizes(tmp_path, monkeypatch):
    source = write_xlsx(tmp_path / "in.xlsx", registry_rows(40))
    monkeypatch.setattr(xlsx, "MAX_UNCOMPRESSED_BYTES", 1024)
    with zipfile.ZipFile(source) as archive, pytest.raises(xlsx.WorkbookRejected) as exc:
        xlsx._drain(archive, "xl/worksheets/sheet1.xml")
    assert "xl/worksheets/sheet1.xml" in exc.value.message


def test_not_a_workbook_is_refused(session, table, tmp_path):
    dept, rid = table
    text = tmp_path / "text.xlsx"
    text.write_text("uscc,name\n", encoding="utf-8")
    assert "按 XLSX 载入，但内容是文本文件" in refused_with(session, dept, rid, tmp_path, text)
    other = tmp_path / "other.xlsx"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert "不是有效的 XLSX 工作簿：缺少 xl/workbook.xml" in refused_with(session, dept, rid, tmp_path, other)


def test_an_empty_sheet_and_data_outside_the_header_are_refused(session, table, tmp_path):
    dept, rid = table
    empty = write_xlsx(tmp_path / "empty.xlsx", [])
    assert "没有表头" in refused_with(session, dept, rid, tmp_path, empty)
    rows = registry_rows(3)
    rows[2] = [*rows[2], "多余"]  # sheet row 3, column I, right of the last header
    assert "单元格 I3 有数据，但所在列没有表头" in refused_with(
        session, dept, rid, tmp_path, write_xlsx(tmp_path / "w.xlsx", rows)
    )

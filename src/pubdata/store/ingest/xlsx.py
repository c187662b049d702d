"""Reading an XLSX workbook: its first sheet, the first row as the header, into a UTF-8 CSV staging
file that ingestion then reads like any CSV.

An XLSX file is a ZIP archive of XML parts, so it is checked before any reader decompresses it:

* it must be a complete ZIP archive (a truncated upload loses the central directory at its end);
* ZIP-bomb limits, from the central directory before anything is extracted: at most
  ``MAX_ENTRIES`` entries, their declared uncompressed sizes summing to at most
  ``MAX_UNCOMPRESSED_BYTES``, and no entry over 1 MB expanding more than ``MAX_RATIO`` times;
  then, while the sheet and shared-strings parts are streamed, the bytes actually produced are
  counted against the same limits (a forged declared size cannot get past them);
* formulas are refused, naming the first cell that has one: the sheet XML is streamed from the
  archive and scanned for ``<f>`` elements (a formula's cached value may be stale, and the publisher
  should decide what the numbers are).

Values become text the way they arrive in a CSV export: integers without ``.0``, Excel dates as
``YYYY-MM-DD`` and date-times as ``YYYY-MM-DD HH:MM:SS``, booleans as ``true``/``false``. The
workbook is parsed by python-calamine (Rust), which holds the sheet's cells in memory while they are
written out; the uncompressed-size cap bounds that memory — larger exports belong in CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree

from python_calamine import CalamineError, CalamineWorkbook

MAX_UNCOMPRESSED_BYTES = 1 << 30  # 1 GiB of XML in all
MAX_RATIO = 100  # uncompressed : compressed, per entry
RATIO_EXEMPT_BYTES = 1 << 20  # small entries (styles, themes) may compress better than that
MAX_ENTRIES = 10_000
_CHUNK = 1 << 20
_TAIL = 4096  # bytes of the previous chunk kept to find the cell around a formula
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br=\"([A-Z]{1,3}[0-9]{1,7})\"")
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class WorkbookRejected(Exception):
    """Why the workbook cannot be loaded, in Chinese for the publisher (ingestion raises it as
    ``InvalidSource``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_DAMAGED = "XLSX 文件已损坏或不完整，请重新导出后上传"


def to_csv(path: Path, target: Path, *, progress: Callable[[int], None] | None = None) -> int:
    """Write the first sheet of the workbook at ``path`` to ``target`` as UTF-8 CSV; returns the
    number of data rows. Raises ``WorkbookRejected`` naming the problem: damaged or truncated archive,
    not a workbook, ZIP bomb, formulas (with the cell), cells outside the header's columns."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_sizes(archive, path.stat().st_size)
            sheet = _first_sheet(archive)
            _refuse_formulas(archive, sheet)
            if "xl/sharedStrings.xml" in archive.NameToInfo:
                _drain(archive, "xl/sharedStrings.xml")
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError, OSError):
        raise WorkbookRejected(_DAMAGED) from None
    return _write_csv(path, target, progress)


def _check_sizes(archive: zipfile.ZipFile, file_size: int) -> None:
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise WorkbookRejected(f"XLSX 文件包含 {len(entries)} 个条目，超过上限 {MAX_ENTRIES}（疑似压缩炸弹）")
    total = 0
    for info in entries:
        if info.header_offset + info.compress_size > file_size:
            raise WorkbookRejected(_DAMAGED)
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_EXEMPT_BYTES and ratio > MAX_RATIO:
            raise WorkbookRejected(
                f"XLSX 文件疑似压缩炸弹：条目 {info.filename} 解压后 {_mb(info.file_size)}，"
                f"压缩比 {ratio:.0f}:1 超过上限 {MAX_RATIO}:1"
            )
    if total > MAX_UNCOMPRESSED_BYTES:
        raise WorkbookRejected(
            f"XLSX 文件解压后共 {_mb(total)}，超过上限 {_mb(MAX_UNCOMPRESSED_BYTES)}（疑似压缩炸弹；"
            "大数据量请导出为 CSV 上传）"
        )


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MB"


def _read_part(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    if name not in archive.NameToInfo:
        raise WorkbookRejected(f"不是有效的 XLSX 工作簿：缺少 {name}")
    try:
        return ElementTree.fromstring(archive.read(name))
    except ElementTree.ParseError:
        raise WorkbookRejected(f"{_DAMAGED}（{name} 不是有效的 XML）") from None


def _first_sheet(archive: zipfile.ZipFile) -> str:
    """The archive path of the workbook's first sheet (workbook order, as python-calamine reads)."""
    workbook = _read_part(archive, "xl/workbook.xml")
    first = workbook.find(f"{_NS_MAIN}sheets/{_NS_MAIN}sheet")
    if first is None:
        raise WorkbookRejected("XLSX 工作簿中没有工作表")
    rel_id = first.get(f"{_NS_REL}id")
    rels = _read_part(archive, "xl/_rels/workbook.xml.rels")
    for rel in rels.iter(f"{_NS_PACKAGE_REL}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            if name not in archive.NameToInfo:
                raise WorkbookRejected(f"不是有效的 XLSX 工作簿：缺少工作表 {name}")
            return name
    raise WorkbookRejected("不是有效的 XLSX 工作簿：找不到第一个工作表")


def _stream(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """The entry's bytes in chunks, counted against the declared size and the caps while streamed."""
    info = archive.getinfo(name)
    produced = 0
    with archive.open(info) as fh:
        while chunk := fh.read(_CHUNK):
            produced += len(chunk)
            too_big = produced > MAX_UNCOMPRESSED_BYTES
            if too_big or (produced > RATIO_EXEMPT_BYTES and produced > MAX_RATIO * max(info.compress_size, 1)):
                raise WorkbookRejected(
                    f"XLSX 文件疑似压缩炸弹：条目 {name} 解压后超过 {_mb(produced)}，超出允许的大小或压缩比"
                )
            yield chunk


def _drain(archive: zipfile.ZipFile, name: str) -> None:
    for _ in _stream(archive, name):
        pass


def _refuse_formulas(archive: zipfile.ZipFile, sheet: str) -> None:
    tail = b""
    for chunk in _stream(archive, sheet):
        window = tail + chunk
        found = _FORMULA.search(window)
        if found:
            cells = list(_CELL.finditer(window, 0, found.start()))
            if cells:
                ref = cells[-1].group(1).decode()
                raise WorkbookRejected(f"单元格 {ref} 含公式，请导出为数值后再上传")
            raise WorkbookRejected("工作表中有单元格含公式，请导出为数值后再上传")
        tail = window[-_TAIL:]


def _text(value: object) -> str:
    """A cell value as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value)


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _write_csv(path: Path, target: Path, progress: Callable[[int], None] | None) -> int:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except CalamineError as exc:
        raise WorkbookRejected(f"{_DAMAGED}（{exc}）") from None
    rows = 0
    try:
        sheet = workbook.get_sheet_by_index(0)
        first_row, first_col = sheet.start or (0, 0)
        iterator = sheet.iter_rows()
        header = [_text(v).strip() for v in next(iterator, [])]
        while header and not header[-1]:
            header.pop()  # empty columns to the right of the header
        if not header:
            raise WorkbookRejected("XLSX 第一个工作表是空的，没有表头")
        width = len(header)
        with open(target, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            for values in iterator:
                cells = [_text(v) for v in values]
                for j in range(width, len(cells)):
                    if cells[j]:
                        ref = f"{_column_letters(first_col + j)}{first_row + rows + 2}"
                        raise WorkbookRejected(f"单元格 {ref} 有数据，但所在列没有表头")
                writer.writerow(cells[:width] + [""] * (width - len(cells)))
                rows += 1
                if progress is not None and rows % 100_000 == 0:
                    progress(rows)
    except CalamineError as exc:
        raise WorkbookRejected(f"{_DAMAGED}（{exc}）") from None
    finally:
        workbook.close()
    return rows

"""Streaming a multipart body's files into application materials (政策通), shared by the API and the
portal's forms.

The body is parsed as it arrives (python-multipart): small fields are collected, and each file part
is written straight into a ``policy.materials.MaterialUpload`` — refused as soon as it passes the size
limit or its first bytes are not a PDF, PNG or JPEG — so no file is ever held in memory or read
twice. ``before_file`` runs before the first byte of each file is written: the API checks the right to
upload there, the portal its CSRF token. An empty file input (a form's unused ``<input type=file>``)
is skipped. On any error the files staged so far are discarded and the rest of the body is read (up
to the limit) so that the client receives the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from pubdata.policy import materials

_CHUNK = 1 << 20  # hand the parser about 1 MB at a time
_FIELD_LIMIT = 1 << 16  # all non-file fields together
_SLACK = 1 << 16  # the multipart envelope and the small fields


@dataclass
class ReceivedMaterial:
    field: str  # the form field the file came in
    staged: materials.StagedMaterial


@dataclass
class ReceivedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedMaterial] = field(default_factory=list)

    def discard(self) -> None:
        for f in self.files:
            f.staged.discard()


BeforeFile = Callable[[dict[str, str], str], None]


class _Receiver:
    def __init__(
        self, home: Path, limit: int, max_files: int, before_file: BeforeFile | None, form: ReceivedForm
    ) -> None:
        self.home, self.limit, self.max_files, self.before_file = home, limit, max_files, before_file
        self.form = form
        self.upload: materials.MaterialUpload | None = None
        self.complete = False
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._name = ""
        self._skip = False
        self._value = bytearray()
        self._field_bytes = 0

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._add_header_field(d[s:e]),
            "on_header_value": lambda d, s, e: self._add_header_value(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _end(self) -> None:
        self.complete = True

    def _part_begin(self) -> None:
        self._headers, self._value, self._skip, self.upload = {}, bytearray(), False, None

    def _add_header_field(self, data: bytes) -> None:
        self._header_field += data

    def _add_header_value(self, data: bytes) -> None:
        self._header_value += data

    def _header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", errors="replace")
        filename = options.get(b"filename")
        if filename is None:
            return
        name = filename.decode("utf-8", errors="replace")
        if not name:
            self._skip = True  # a file input left empty
            return
        if len(self.form.files) >= self.max_files:
            raise materials.InvalidMaterial(f"一次最多上传 {self.max_files} 个文件", field="file")
        if self.before_file is not None:
            self.before_file(self.form.fields, self._name)
        self.upload = materials.MaterialUpload(self.home, name, self.limit)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.upload is not None:
            self.upload.write(data[start:end])
            return
        if self._skip:
            return
        self._field_bytes += end - start
        if self._field_bytes > _FIELD_LIMIT:
            raise materials.InvalidMaterial("表单字段过长", field=self._name or "form")
        self._value += data[start:end]

    def _part_end(self) -> None:
        if self.upload is not None:
            upload, self.upload = self.upload, None
            self.form.files.append(ReceivedMaterial(self._name, upload.finish()))
        elif not self._skip and self._name:
            self.form.fields[self._name] = self._value.decode("utf-8", errors="replace")


async def _drain(request: Request, limit: int) -> None:
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                return
    except Exception:  # the client went away
        return


async def receive_materials(
    request: Request,
    home: Path,
    *,
    limit: int,
    max_files: int = 1,
    before_file: BeforeFile | None = None,
    into: ReceivedForm | None = None,
) -> ReceivedForm:
    """The form's fields and its files, each staged and checked (``limit`` bytes per file). Fields
    are collected into ``into`` when given, so that a form refused half-way still has what was
    typed before the refused file (its files are discarded)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise materials.InvalidMaterial("请以 multipart/form-data 表单上传文件（字段 file）", field="file")
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise materials.InvalidMaterial("multipart/form-data 请求缺少 boundary", field="file")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit * max_files + _SLACK:
        raise materials.MaterialTooLarge(materials.limit_message(limit))
    receiver = _Receiver(home, limit, max_files, before_file, into if into is not None else ReceivedForm())
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    try:
        pending = bytearray()
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= _CHUNK:
                data, pending = bytes(pending), bytearray()
                await run_in_threadpool(parser.write, data)
        if pending:
            await run_in_threadpool(parser.write, bytes(pending))
        parser.finalize()
        if not receiver.complete:
            raise materials.InvalidMaterial("请求体不完整：缺少结束边界（上传被中断？）", field="file")
    except ClientDisconnect:
        _discard(receiver)
        raise materials.InvalidMaterial("上传被中断：客户端在文件传完之前断开了连接", field="file") from None
    except ValueError as exc:  # python-multipart reports malformed bodies as ValueError subclasses
        _discard(receiver)
        await _drain(request, limit * max_files)
        raise materials.InvalidMaterial(f"multipart/form-data 请求体格式错误：{exc}", field="file") from None
    except BaseException:
        _discard(receiver)
        await _drain(request, limit * max_files)
        raise
    return receiver.form


def _discard(receiver: _Receiver) -> None:
    if receiver.upload is not None:
        receiver.upload.discard()
    receiver.form.discard()

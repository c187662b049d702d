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

from fastapi import Request
from starlette.requests import ClientDisconnect

from pubdata.api import limits, multipart
from pubdata.policy.applications import files as materials


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


class _Receiver(multipart.PartReceiver):
    def __init__(
        self, home: Path, limit: int, max_files: int, before_file: BeforeFile | None, form: ReceivedForm
    ) -> None:
        super().__init__()
        self.home, self.limit, self.max_files, self.before_file = home, limit, max_files, before_file
        self.form = form
        self.fields = form.fields  # the small fields go straight into the form
        self.upload: materials.MaterialUpload | None = None

    def start_part(self, filename: str | None) -> None:
        if filename is None:
            return
        if not filename:
            self.skip = True  # a file input left empty
            return
        if len(self.form.files) >= self.max_files:
            raise materials.InvalidMaterial(f"一次最多上传 {self.max_files} 个文件", field="file")
        if self.before_file is not None:
            self.before_file(self.form.fields, self.part_name)
        self.upload = materials.MaterialUpload(self.home, filename, self.limit)
        self.in_file = True

    def file_data(self, data: bytes) -> None:
        assert self.upload is not None
        self.upload.write(data)

    def end_file(self) -> None:
        assert self.upload is not None
        upload, self.upload = self.upload, None
        self.form.files.append(ReceivedMaterial(self.part_name, upload.finish()))

    def field_too_long(self) -> Exception:
        return materials.InvalidMaterial("表单字段过长", field=self.part_name or "form")


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
    boundary = multipart.boundary_of(content_type)
    if not boundary:
        raise materials.InvalidMaterial("multipart/form-data 请求缺少 boundary", field="file")
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit * max_files + multipart.SLACK:
        raise materials.MaterialTooLarge(materials.limit_message(limit))
    limits.allow_body(request, limit * max_files + multipart.SLACK)  # streamed to disk under this limit
    receiver = _Receiver(home, limit, max_files, before_file, into if into is not None else ReceivedForm())
    try:
        await multipart.feed(request, boundary, receiver)
        if not receiver.complete:
            raise materials.InvalidMaterial("请求体不完整：缺少结束边界（上传被中断？）", field="file")
    except ClientDisconnect:
        _discard(receiver)
        raise materials.InvalidMaterial("上传被中断：客户端在文件传完之前断开了连接", field="file") from None
    except ValueError as exc:  # python-multipart reports malformed bodies as ValueError subclasses
        _discard(receiver)
        await multipart.drain(request, limit * max_files)
        raise materials.InvalidMaterial(f"multipart/form-data 请求体格式错误：{exc}", field="file") from None
    except BaseException:
        _discard(receiver)
        await multipart.drain(request, limit * max_files)
        raise
    return receiver.form


def _discard(receiver: _Receiver) -> None:
    if receiver.upload is not None:
        receiver.upload.discard()
    receiver.form.discard()

"""Streaming a multipart body's files into checked uploads (政策通's application materials, the
market's report files), shared by the API and the portal's forms.

The body is parsed as it arrives (python-multipart): small fields are collected, and each file part
is written straight into a ``pubdata.uploads.CheckedUpload`` — refused as soon as it passes the size
limit or its first bytes are not a type the upload accepts — so no file is ever held in memory or read
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

from pubdata import uploads
from pubdata.api import limits, multipart
from pubdata.policy.applications import files as materials


@dataclass
class ReceivedFile:
    field: str  # the form field the file came in
    staged: uploads.StagedFile


@dataclass
class ReceivedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)

    def discard(self) -> None:
        for f in self.files:
            f.staged.discard()


BeforeFile = Callable[[dict[str, str], str], None]
NewUpload = Callable[[str], uploads.CheckedUpload]  # a file name → its upload


class _Receiver(multipart.PartReceiver):
    def __init__(
        self, new_upload: NewUpload, accepts: uploads.Accepts, max_files: int, before_file: BeforeFile | None,
        form: ReceivedForm,
    ) -> None:  # fmt: skip
        super().__init__()
        self.new_upload, self.accepts, self.max_files, self.before_file = new_upload, accepts, max_files, before_file
        self.form = form
        self.fields = form.fields  # the small fields go straight into the form
        self.upload: uploads.CheckedUpload | None = None

    def start_part(self, filename: str | None) -> None:
        if filename is None:
            return
        if not filename:
            self.skip = True  # a file input left empty
            return
        if len(self.form.files) >= self.max_files:
            raise self.accepts.invalid(f"一次最多上传 {self.max_files} 个文件", field="file")
        if self.before_file is not None:
            self.before_file(self.form.fields, self.part_name)
        self.upload = self.new_upload(filename)
        self.in_file = True

    def file_data(self, data: bytes) -> None:
        assert self.upload is not None
        self.upload.write(data)

    def end_file(self) -> None:
        assert self.upload is not None
        upload, self.upload = self.upload, None
        self.form.files.append(ReceivedFile(self.part_name, upload.finish()))

    def field_too_long(self) -> Exception:
        return self.accepts.invalid("表单字段过长", field=self.part_name or "form")


async def receive_files(
    request: Request,
    new_upload: NewUpload,
    accepts: uploads.Accepts,
    *,
    limit: int,
    max_files: int = 1,
    before_file: BeforeFile | None = None,
    into: ReceivedForm | None = None,
) -> ReceivedForm:
    """The form's fields and its files, each staged by ``new_upload`` and checked (``limit`` bytes
    per file, the content ``accepts`` allows). Fields are collected into ``into`` when given, so that
    a form refused half-way still has what was typed before the refused file (its files are
    discarded)."""
    invalid = accepts.invalid
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise invalid("请以 multipart/form-data 表单上传文件（字段 file）", field="file")
    boundary = multipart.boundary_of(content_type)
    if not boundary:
        raise invalid("multipart/form-data 请求缺少 boundary", field="file")
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit * max_files + multipart.SLACK:
        raise accepts.too_large(accepts.limit_message(limit))
    limits.allow_body(request, limit * max_files + multipart.SLACK)  # streamed to disk under this limit
    receiver = _Receiver(new_upload, accepts, max_files, before_file, into if into is not None else ReceivedForm())
    try:
        await multipart.feed(request, boundary, receiver)
        if not receiver.complete:
            raise invalid("请求体不完整：缺少结束边界（上传被中断？）", field="file")
    except ClientDisconnect:
        _discard(receiver)
        raise invalid("上传被中断：客户端在文件传完之前断开了连接", field="file") from None
    except ValueError as exc:  # python-multipart reports malformed bodies as ValueError subclasses
        _discard(receiver)
        await multipart.drain(request, limit * max_files)
        raise invalid(f"multipart/form-data 请求体格式错误：{exc}", field="file") from None
    except BaseException:
        _discard(receiver)
        await multipart.drain(request, limit * max_files)
        raise
    return receiver.form


async def receive_materials(
    request: Request,
    home: Path,
    *,
    limit: int,
    max_files: int = 1,
    before_file: BeforeFile | None = None,
    into: ReceivedForm | None = None,
) -> ReceivedForm:
    """An application form with its materials (PDF, PNG or JPEG)."""
    return await receive_files(
        request, lambda name: materials.upload(home, name, limit), materials.MATERIALS,
        limit=limit, max_files=max_files, before_file=before_file, into=into,
    )  # fmt: skip


def _discard(receiver: _Receiver) -> None:
    if receiver.upload is not None:
        receiver.upload.discard()
    receiver.form.discard()

"""Native REST API for loading files: the streamed upload that queues an ingest job, and the jobs.

``POST /resources/{id}/versions`` takes the file either as the raw request body (name from
``?filename=`` or ``Content-Disposition``, else guessed from ``Content-Type``) or as
``multipart/form-data`` (field ``file``). Either way the body is written to disk as it arrives, in
chunks (never the whole file in memory), and refused with 413 once it passes
``settings.upload_max_bytes``. Who may load is checked before a byte of the body is read.
``receive_file`` is shared with the portal's upload form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from python_multipart.multipart import parse_options_header
from sqlalchemy import event
from starlette.requests import ClientDisconnect

from pubdata.api import limits, multipart
from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.jobs import service as job_service
from pubdata.settings import Settings
from pubdata.store.jobs import queue as jobs
from pubdata.store.schemas import JobRead

router = APIRouter(tags=["store"], responses=ERROR_RESPONSES)

_TYPE_SUFFIX = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/x-jsonlines": ".jsonl",
    "application/vnd.apache.parquet": ".parquet",
    "application/x-parquet": ".parquet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


@dataclass
class ReceivedFile:
    path: Path
    source_name: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def waker(request: Request) -> Callable[[], None] | None:
    """Wakes this process's job runner (after the queuing transaction commits)."""
    runner = getattr(request.app.state, "job_runner", None)
    return runner.wake if runner is not None else None


def disposition_filename(header: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*=UTF-8''…`` preferred)."""
    if not header:
        return None
    star = re.search(r"filename\*\s*=\s*([\w-]*)'[^']*'([^;]+)", header, re.I)
    if star:
        return unquote(star.group(2).strip().strip('"'), encoding=star.group(1) or "utf-8", errors="replace")
    _, options = parse_options_header(header)
    name = options.get(b"filename")
    return name.decode("utf-8", errors="replace") if name else None


def _check_declared_length(request: Request, limit: int, slack: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit + slack:
        raise jobs.UploadTooLarge(jobs.upload_limit_message(limit))


class _Sink:
    """Writes a file in ~1 MB pieces off the event loop, counting against the limit."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self._buffer = bytearray()
        self._fh = open(path, "wb")  # noqa: SIM115 - closed in close()

    def add(self, data: bytes) -> bool:
        """Buffer ``data``; True when the buffer should be flushed."""
        self.size += len(data)
        if self.size > self.limit:
            raise jobs.UploadTooLarge(jobs.upload_limit_message(self.limit))
        self._buffer += data
        return len(self._buffer) >= multipart.CHUNK

    def flush(self) -> None:
        if self._buffer:
            self._fh.write(self._buffer)
            self._buffer = bytearray()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._fh.close()


async def _receive_raw(request: Request, directory: Path, limit: int, filename: str | None) -> ReceivedFile:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    name = filename or disposition_filename(request.headers.get("content-disposition"))
    if not name and content_type in _TYPE_SUFFIX:
        name = "upload" + _TYPE_SUFFIX[content_type]
    source_name = jobs.clean_source_name(name or "")
    suffix = jobs.source_suffix(source_name)
    sink = _Sink(directory / f"source{suffix}", limit)
    try:
        async for chunk in request.stream():
            if sink.add(chunk):
                await run_in_threadpool(sink.flush)
    finally:
        await run_in_threadpool(sink.close)
    return ReceivedFile(sink.path, source_name, sink.size)


class _MultipartReceiver(multipart.PartReceiver):
    """Streams the ``file`` part of a multipart body to disk. Small fields before it are collected
    and handed to ``before_file`` (the portal checks its CSRF token there) before any file byte is
    written."""

    def __init__(self, directory: Path, limit: int, before_file: Callable[[dict[str, str]], None] | None) -> None:
        super().__init__()
        self.directory = directory
        self.limit = limit
        self.before_file = before_file
        self.file: ReceivedFile | None = None
        self.sink: _Sink | None = None

    def start_part(self, filename: str | None) -> None:
        if self.part_name != "file" or filename is None:
            return
        if self.file is not None:
            raise jobs.InvalidUpload("一次只能上传一个文件", field="file")
        if self.before_file is not None:
            self.before_file(self.fields)
        source_name = jobs.clean_source_name(filename)
        suffix = jobs.source_suffix(source_name)
        self.sink = _Sink(self.directory / f"source{suffix}", self.limit)
        self.file = ReceivedFile(self.sink.path, source_name, 0, self.fields)
        self.in_file = True

    def file_data(self, data: bytes) -> None:
        assert self.sink is not None
        if self.sink.add(data):
            self.sink.flush()

    def end_file(self) -> None:
        assert self.sink is not None and self.file is not None
        self.sink.close()
        self.file.size = self.sink.size

    def field_too_long(self) -> Exception:
        return jobs.InvalidUpload("表单字段过长", field=self.part_name or "form")


async def _receive_multipart(
    request: Request,
    directory: Path,
    limit: int,
    before_file: Callable[[dict[str, str]], None] | None,
) -> ReceivedFile:
    boundary = multipart.boundary_of(request.headers.get("content-type", ""))
    if not boundary:
        raise jobs.InvalidUpload("multipart/form-data 请求缺少 boundary", field="file")
    receiver = _MultipartReceiver(directory, limit, before_file)
    try:
        await multipart.feed(request, boundary, receiver)
    except ValueError as exc:  # python-multipart reports malformed bodies as ValueError subclasses
        raise jobs.InvalidUpload(f"multipart/form-data 请求体格式错误：{exc}", field="file") from None
    finally:
        if receiver.sink is not None:
            await run_in_threadpool(receiver.sink.close)
    if not receiver.complete:
        raise jobs.InvalidUpload("multipart/form-data 请求体不完整：缺少结束边界（上传被中断？）", field="file")
    if receiver.file is None:
        raise jobs.InvalidUpload("表单中没有文件（字段 file）", field="file")
    receiver.file.size = receiver.sink.size if receiver.sink is not None else 0
    receiver.file.fields = receiver.fields
    return receiver.file


async def receive_file(
    request: Request,
    directory: Path,
    *,
    limit: int,
    filename: str | None = None,
    before_file: Callable[[dict[str, str]], None] | None = None,
    multipart_only: bool = False,
) -> ReceivedFile:
    """Stream the request's file into ``directory`` (raw body or multipart ``file`` field) and
    return where it is. Raises ``UploadTooLarge`` past ``limit`` bytes and ``InvalidUpload`` for a
    missing name, an unsupported format, an empty file or a malformed body; a refused body is read
    to its end (up to the limit) so that the client receives the answer."""
    is_multipart = request.headers.get("content-type", "").lower().startswith("multipart/form-data")
    limits.allow_body(request, limit + multipart.SLACK)  # streamed to disk under this limit, not the JSON one
    try:
        if multipart_only and not is_multipart:
            raise jobs.InvalidUpload("请以 multipart/form-data 表单上传文件", field="file")
        if is_multipart:
            _check_declared_length(request, limit, multipart.SLACK)
            received = await _receive_multipart(request, directory, limit, before_file)
        else:
            _check_declared_length(request, limit, 0)
            received = await _receive_raw(request, directory, limit, filename)
        if received.size == 0:
            raise jobs.InvalidUpload("上传的文件为空", field="file")
        return received
    except jobs.UploadTooLarge:
        raise
    except ClientDisconnect:
        raise jobs.InvalidUpload("上传被中断：客户端在文件传完之前断开了连接", field="file") from None
    except Exception:
        await multipart.drain(request, limit)
        raise


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file: the raw body (name from ?filename= or Content-Disposition) or a multipart "
        "form with a `file` field. CSV (UTF-8 or GBK), JSON Lines, Parquet, XLSX.",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post(
    "/resources/{resource_id}/versions",
    status_code=202,
    response_model=JobRead,
    summary="Upload a file as the next version (streamed); answers 202 with the ingest job",
    openapi_extra=_UPLOAD_BODY,
    responses={
        202: {"description": "Queued; follow Location for progress"},
        413: {"description": "File larger than PUBDATA_UPLOAD_MAX_BYTES"},
    },
)
async def upload_version(
    resource_id: str,
    request: Request,
    session: DB,
    actor: ActorDep,
    filename: str | None = Query(default=None, description="The file's name (raw bodies), e.g. data.csv"),
) -> JSONResponse:
    settings = _settings(request)
    upload = await run_in_threadpool(jobs.begin_upload, session, actor, resource_id, settings.resolved_home)
    try:
        received = await receive_file(request, upload.directory, limit=settings.upload_max_bytes, filename=filename)
        job = await run_in_threadpool(
            lambda: jobs.queue_ingest(
                session,
                actor,
                upload,
                path=received.path,
                source_name=received.source_name,
                via="api",
                on_commit=waker(request),
            )
        )
    except BaseException:
        jobs.discard_upload(upload)
        raise
    return JSONResponse(job.model_dump(mode="json"), status_code=202, headers={"Location": f"/api/v1/jobs/{job.id}"})


class JobCreate(BaseModel):
    kind: str = Field(description="facts.build | credit.score | policy.match | market.settle | backup")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="facts.build: year, force; credit.score: model; policy.match: pack_id (default: the stale "
        "packs); market.settle: month (YYYY-MM); backup: none",
    )


@router.get(
    "/jobs",
    response_model=list[JobRead],
    summary="Every background job, newest first (the operator): ?state=dead lists the dead-letter jobs",
)
def list_all_jobs(
    session: DB,
    actor: ActorDep,
    state: str | None = Query(default=None, description="queued | running | succeeded | failed | dead"),
    kind: str | None = Query(default=None, max_length=32),
    limit: int = Query(default=100, ge=1, le=500),
) -> list[JobRead]:
    return job_service.list_jobs(session, actor, state=state, kind=kind, limit=limit)


@router.post(
    "/jobs",
    response_model=JobRead,
    status_code=202,
    summary="Queue a long job (the operator); an identical job already queued or running is returned instead",
)
def queue_job(body: JobCreate, request: Request, session: DB, actor: ActorDep) -> JSONResponse:
    job, new = job_service.enqueue(session, actor, body.kind, params=body.params)
    wake = waker(request)
    if new and wake is not None:
        event.listen(session, "after_commit", lambda _s: wake(), once=True)
    return JSONResponse(
        job.model_dump(mode="json"), status_code=202 if new else 200, headers={"Location": f"/api/v1/jobs/{job.id}"}
    )


@router.post(
    "/jobs/{job_id}/requeue",
    response_model=JobRead,
    summary="Put a dead (or failed) job back in the queue with a fresh count of attempts (the operator; audited)",
)
def requeue_job(job_id: str, request: Request, session: DB, actor: ActorDep) -> JobRead:
    job = job_service.requeue(session, actor, job_id, home=_settings(request).resolved_home)
    wake = waker(request)
    if wake is not None:
        event.listen(session, "after_commit", lambda _s: wake(), once=True)
    return job


@router.get("/jobs/{job_id}", response_model=JobRead, summary="A job's state and progress")
def get_job(job_id: str, session: DB, actor: ActorDep) -> JobRead:
    return jobs.get_job(session, actor, job_id)


@router.get("/resources/{resource_id}/jobs", response_model=list[JobRead], summary="A table's jobs, newest first")
def list_jobs(
    resource_id: str, session: DB, actor: ActorDep, limit: int = Query(default=50, ge=1, le=500)
) -> list[JobRead]:
    return jobs.list_jobs(session, actor, resource_id, limit=limit)

"""Streaming multipart/form-data bodies (python-multipart) as they arrive, shared by the ingest
upload (``api/v1/jobs.py``) and the policy materials upload (``api/v1/file_uploads.py``).

``PartReceiver`` collects each part's headers and the small non-file fields (together at most
``FIELD_LIMIT`` bytes); a subclass decides in ``start_part`` whether a part is a file it takes
(then gets its bytes in ``file_data`` and the end in ``end_file``). ``feed`` hands the parser the
body in ~1 MB pieces off the event loop; ``drain`` reads what is left of a refused body so that the
client receives the answer."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from python_multipart.multipart import MultipartParser, parse_options_header

CHUNK = 1 << 20  # hand the parser (and the disk) about 1 MB at a time
FIELD_LIMIT = 1 << 16  # all non-file form fields together
SLACK = 1 << 16  # room for the multipart envelope and the small fields


def boundary_of(content_type: str) -> bytes | None:
    _, options = parse_options_header(content_type)
    return options.get(b"boundary") or None


class PartReceiver:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.complete = False
        self.part_name = ""
        self.in_file = False  # the current part is a file the subclass takes
        self.skip = False  # the current part is ignored
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._value = bytearray()
        self._field_bytes = 0

    # --- what subclasses decide ------------------------------------------------------------------

    def start_part(self, filename: str | None) -> None:
        """A part begins (``filename`` None: a plain field); set ``in_file`` or ``skip`` to take or
        ignore it."""

    def file_data(self, data: bytes) -> None:
        raise NotImplementedError

    def end_file(self) -> None:
        raise NotImplementedError

    def field_too_long(self) -> Exception:
        raise NotImplementedError

    # --- python-multipart callbacks ---------------------------------------------------------------

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
        self._headers, self._value, self.in_file, self.skip = {}, bytearray(), False, False

    def _add_header_field(self, data: bytes) -> None:
        self._header_field += data

    def _add_header_value(self, data: bytes) -> None:
        self._header_value += data

    def _header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self.part_name = options.get(b"name", b"").decode("utf-8", errors="replace")
        filename = options.get(b"filename")
        self.start_part(None if filename is None else filename.decode("utf-8", errors="replace"))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.file_data(data[start:end])
            return
        if self.skip:
            return
        self._field_bytes += end - start
        if self._field_bytes > FIELD_LIMIT:
            raise self.field_too_long()
        self._value += data[start:end]

    def _part_end(self) -> None:
        if self.in_file:
            self.in_file = False
            self.end_file()
        elif not self.skip and self.part_name:
            self.fields[self.part_name] = self._value.decode("utf-8", errors="replace")


async def feed(request: Request, boundary: bytes, receiver: PartReceiver) -> None:
    """Parse the request's body into ``receiver``; python-multipart's ValueErrors for a malformed
    body propagate."""
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    pending = bytearray()
    async for chunk in request.stream():
        pending += chunk
        if len(pending) >= CHUNK:
            data, pending = bytes(pending), bytearray()
            await run_in_threadpool(parser.write, data)
    if pending:
        await run_in_threadpool(parser.write, bytes(pending))
    parser.finalize()


async def drain(request: Request, limit: int) -> None:
    """Read (and drop) what is left of a refused body, up to ``limit`` bytes."""
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                return
    except Exception:  # the client went away: nothing to answer
        return

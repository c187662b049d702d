"""The HTTP/1.1 protocol ``pubdata serve`` runs under uvicorn.

uvicorn's parsers (h11, and httptools when installed) answer 400 to a request line holding raw
non-ASCII bytes, as RFC 9112 allows. Browsers percent-encode such URLs, but curl, shell scripts and
many CKAN clients send ``?q=医疗`` as raw UTF-8. ``Utf8TargetH11Protocol`` percent-encodes the bytes
0x80-0xFF of the request line before h11 parses it, so the application sees the same URL a browser
would have sent (``?q=%E5%8C%BB%E7%96%97``). Headers and bodies are passed on untouched.

Limit: a pipelined request (sent before the previous response was written) is passed on as it is.
"""

from __future__ import annotations

import re

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _percent_encode_high(line: bytes) -> bytes:
    return _HIGH_BYTE.sub(lambda m: b"%%%02X" % m[0][0], line)


class Utf8TargetH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, accepting raw UTF-8 in the request target."""

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            data = self._escape_request_line(data)
        super().data_received(data)

    def _escape_request_line(self, data: bytes) -> bytes:
        pending = self.conn.trailing_data[0].lstrip(b"\r\n")
        if b"\n" in pending:  # the request line has been received already
            return data
        start = 0 if pending else len(data) - len(data.lstrip(b"\r\n"))
        end = data.find(b"\n", start)
        if end < 0:
            end = len(data)
        line = data[start:end]
        if line.isascii():
            return data
        return data[:start] + _percent_encode_high(line) + data[end:]

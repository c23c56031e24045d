"""A small, streaming multipart/form-data parser (the stdlib `cgi` module is gone in 3.13).

A file part is written to a sink as it arrives, a piece at a time; other fields are kept in
memory up to `FIELD_LIMIT`. What the parser holds at once is one piece of the body and the tail
that could begin a delimiter."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import BinaryIO

from reconciler_sandbox.errors import bad_request

PIECE = 1 << 20
FIELD_LIMIT = 64 * 1024   # a non-file field (purpose, expires_after[seconds])
HEADER_LIMIT = 16 * 1024  # a part's headers, and the preamble before the first delimiter


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes                   # a field's value; b"" for a file part streamed to `sink`
    size: int = 0
    sink: BinaryIO | None = None  # where a file part's bytes went


class _Collector:
    """One part's bytes: to its sink (a file part), or kept (a field, up to FIELD_LIMIT)."""

    def __init__(self, name: object, out: BinaryIO | None) -> None:
        self.name = name
        self.out = out
        self.value = bytearray()
        self.size = 0

    def write(self, data: bytes | bytearray) -> None:
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)
            return
        self.value.extend(data)
        if len(self.value) > FIELD_LIMIT:
            raise bad_request(f"Invalid multipart body: the field {self.name!r} is longer than {FIELD_LIMIT} bytes.")


def _boundary(content_type: str) -> bytes:
    msg = Message()
    msg["content-type"] = content_type
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise bad_request("Invalid multipart body: no boundary in Content-Type.")
    return boundary.encode("latin-1")


def _headers(raw: bytes) -> Message:
    msg = Message()
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        if ":" in line:
            key, value = line.split(":", 1)
            msg[key.strip()] = value.strip()
    return msg


def stream_multipart(content_type: str, read: Callable[[int], bytes],
                     sink: Callable[[], BinaryIO]) -> dict[str, Part]:
    """Parts by field name (the last one wins for a repeated name). `read(n)` gives the body's
    next bytes (b"" at its end); `sink()` opens where the next file part goes."""
    first = b"--" + _boundary(content_type)
    delimiter = b"\r\n" + first
    buf = bytearray()
    ended = False

    def fill() -> bool:
        nonlocal ended
        if ended:
            return False
        data = read(PIECE)
        if not data:
            ended = True
            return False
        buf.extend(data)
        return True

    while (start := buf.find(first)) < 0:
        if len(buf) > HEADER_LIMIT + len(first) or not fill():
            raise bad_request("Invalid multipart body: boundary not found.")
    del buf[:start + len(first)]
    parts: dict[str, Part] = {}
    while True:
        while len(buf) < 2 and fill():
            pass
        if buf[:2] == b"--" or not buf:
            break  # the closing delimiter (or a body that ends at a delimiter)
        if buf[:2] == b"\r\n":
            del buf[:2]
        while (end := buf.find(b"\r\n\r\n")) < 0:
            if len(buf) > HEADER_LIMIT or not fill():
                raise bad_request("Invalid multipart body: part without headers.")
        msg = _headers(bytes(buf[:end]))
        del buf[:end + 4]
        name = msg.get_param("name", header="content-disposition")
        filename = msg.get_param("filename", header="content-disposition")
        is_file = isinstance(filename, str)
        collector = _Collector(name, sink() if is_file else None)
        while (at := buf.find(delimiter)) < 0:
            keep = len(delimiter) - 1   # the tail may be the start of the delimiter
            if len(buf) > keep:
                collector.write(buf[:len(buf) - keep])
                del buf[:len(buf) - keep]
            if not fill():
                raise bad_request("Invalid multipart body: unterminated part.")
        collector.write(buf[:at])
        del buf[:at + len(delimiter)]
        if isinstance(name, str):
            parts[name] = Part(name=name, filename=filename if isinstance(filename, str) else None,
                               content_type=msg.get("content-type"), data=bytes(collector.value),
                               size=collector.size, sink=collector.out)
    return parts


def parse_multipart(content_type: str, body: bytes) -> dict[str, Part]:
    """`stream_multipart` over a body in memory; file parts' bytes in `data`."""
    parts = stream_multipart(content_type, io.BytesIO(body).read, io.BytesIO)
    for part in parts.values():
        if isinstance(part.sink, io.BytesIO):
            part.data = part.sink.getvalue()
    return parts

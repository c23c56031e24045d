"""A small multipart/form-data parser (the stdlib `cgi` module is gone in 3.13)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from reconciler.sandbox.errors import bad_request


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _boundary(content_type: str) -> bytes:
    msg = Message()
    msg["content-type"] = content_type
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise bad_request("Invalid multipart body: no boundary in Content-Type.")
    return boundary.encode("latin-1")


def parse_multipart(content_type: str, body: bytes) -> dict[str, Part]:
    """Parts by field name (the last one wins for a repeated name)."""
    delimiter = b"--" + _boundary(content_type)
    parts: dict[str, Part] = {}
    pos = body.find(delimiter)
    if pos < 0:
        raise bad_request("Invalid multipart body: boundary not found.")
    pos += len(delimiter)
    while True:
        if body.startswith(b"--", pos):
            break  # closing delimiter
        if body.startswith(b"\r\n", pos):
            pos += 2
        end_headers = body.find(b"\r\n\r\n", pos)
        if end_headers < 0:
            raise bad_request("Invalid multipart body: part without headers.")
        msg = Message()
        for line in body[pos:end_headers].decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                key, value = line.split(":", 1)
                msg[key.strip()] = value.strip()
        start = end_headers + 4
        nxt = body.find(b"\r\n" + delimiter, start)
        if nxt < 0:
            raise bad_request("Invalid multipart body: unterminated part.")
        name = msg.get_param("name", header="content-disposition")
        filename = msg.get_param("filename", header="content-disposition")
        if isinstance(name, str):
            parts[name] = Part(name=name, filename=filename if isinstance(filename, str) else None,
                               content_type=msg.get("content-type"), data=body[start:nxt])
        pos = nxt + 2 + len(delimiter)
        if pos >= len(body):
            break
    return parts

"""A request body read in bounded pieces: by Content-Length or chunked, never more than `limit`
bytes in all, never more than one piece in memory. What a declared length says is never reserved
up front (a `Content-Length: 450000000` costs nothing until the bytes arrive)."""

from __future__ import annotations

import io
from email.message import Message

from reconciler_sandbox.errors import ApiError

PIECE = 1 << 20  # the most read from the socket at once


class BodyTooLarge(Exception):
    """The body is (or declares itself) larger than the route's limit. `close`: the connection
    cannot be reused (the rest of the body was not read)."""

    def __init__(self, limit: int, *, close: bool) -> None:
        super().__init__(limit)
        self.limit = limit
        self.close = close


class BodyReader:
    """`read(n)` gives up to `n` bytes of the body, b"" at its end."""

    def __init__(self, rfile: io.BufferedIOBase, *, length: int | None, chunked: bool, limit: int) -> None:
        self.rfile = rfile
        self.chunked = chunked
        self.limit = limit
        self.length = length or 0     # what Content-Length declared
        self.total = 0                # body bytes read so far
        self._chunk_left = 0          # chunked: bytes left in the current chunk
        self._done = not chunked and self.length == 0
        if not chunked and self.length > limit:
            raise BodyTooLarge(limit, close=True)

    @classmethod
    def from_headers(cls, rfile: io.BufferedIOBase, headers: Message, limit: int) -> BodyReader:
        get = headers.get
        chunked = (get("Transfer-Encoding") or "").lower() == "chunked"
        length = None
        if not chunked:
            try:
                length = int(get("Content-Length") or 0)
            except ValueError:
                raise ApiError(400, "Invalid Content-Length header.") from None
            if length < 0:
                raise ApiError(400, "Invalid Content-Length header.")
        return cls(rfile, length=length, chunked=chunked, limit=limit)

    @property
    def done(self) -> bool:
        return self._done

    def read(self, n: int = PIECE) -> bytes:
        if self._done or n <= 0:
            return b""
        n = min(n, PIECE)
        if not self.chunked:
            data = self.rfile.read(min(n, self.length - self.total))
            if not data:
                raise ConnectionError("the client closed the connection before the end of the body")
            self.total += len(data)
            self._done = self.total >= self.length
            return data
        if self._chunk_left == 0:
            self._next_chunk()
            if self._done:
                return b""
        data = self.rfile.read(min(n, self._chunk_left))
        if not data:
            raise ConnectionError("the client closed the connection before the end of the body")
        self._chunk_left -= len(data)
        self.total += len(data)
        if self._chunk_left == 0:
            self.rfile.readline(1024)  # the CRLF after the chunk
        return data

    def _next_chunk(self) -> None:
        line = self.rfile.readline(1024)
        try:
            size = int(line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            raise ApiError(400, "Invalid chunked request body.") from None
        if size < 0:
            raise ApiError(400, "Invalid chunked request body.")
        if size == 0:
            while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            self._done = True
            return
        if self.total + size > self.limit:
            raise BodyTooLarge(self.limit, close=True)
        self._chunk_left = size

    def read_all(self) -> bytes:
        """The whole body (for the small, JSON routes: bounded by their limit)."""
        pieces = []
        while not self._done:
            pieces.append(self.read())
        return b"".join(pieces)

    def discard(self, most: int) -> bool:
        """Read and drop the rest of the body, up to `most` bytes; whether it all was."""
        while not self._done:
            if self.total >= most:
                return False
            self.read()
        return True

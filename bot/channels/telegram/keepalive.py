"""A lean HTTP/1.1 client for the Bot API's JSON calls: one POST written in one piece on a kept-alive connection,
the answer read back as status and bytes. aiohttp's client cost about 125 µs of CPU a call (its request and response
objects, headers as multidicts, a task writing the body), this about 45 µs: with a reply or a notice on every
update, that was a twentieth of the update's CPU. Multipart uploads and the long poll stay on aiohttp."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024  # a status line and headers longer than this are not the Bot API's


class HttpError(Exception):
    """The connection failed or the server's answer was not HTTP/1.1 as expected."""


class _Connection(asyncio.Protocol):
    """One kept-alive connection: one request at a time, its answer parsed as the bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = True
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._status = 0
        self._body_at = -1  # where the body begins in the buffer, once the head is in
        self._length: int | None = None  # the body's length; None: chunked or until the connection closes
        self._chunked = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        answer = self._answer
        if answer is None or answer.done():
            return
        if self._body_at >= 0 and self._length is None and not self._chunked:  # the body ran until the close
            answer.set_result((self._status, bytes(self._buffer[self._body_at:])))
        else:
            answer.set_exception(HttpError(f"connection closed before the answer was complete ({exc or 'EOF'})"))

    def exchange(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        """Writes the request; the future holds the status and the body."""
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._buffer.clear()
        self._body_at, self._length, self._chunked = -1, None, False
        self.transport.write(request)
        return self._answer

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        answer = self._answer
        if answer is None or answer.done():
            self.reusable = False  # bytes nobody asked for: this connection's framing cannot be trusted
            return
        try:
            if self._body_at < 0 and not self._read_head():
                return
            body = self._read_body()
        except (ValueError, HttpError) as exc:
            self.reusable = False
            answer.set_exception(HttpError(f"malformed HTTP answer: {exc}"))
            return
        if body is not None:
            answer.set_result((self._status, body))

    def _read_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                raise HttpError("head too long")
            return False
        lines = bytes(self._buffer[:end]).split(b"\r\n")
        version, status, _ = (lines[0] + b" ").split(b" ", 2)
        if not version.startswith(b"HTTP/1."):
            raise HttpError(f"status line {lines[0][:80]!r}")
        self._status = int(status)
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                self._length = int(value)
            elif name == b"transfer-encoding" and value != b"identity":
                self._chunked = True
            elif name == b"connection" and value == b"close":
                self.reusable = False
        if version == b"HTTP/1.0":
            self.reusable = False
        if self._status in (204, 304) or 100 <= self._status < 200:
            self._length = 0
        if self._chunked:
            self._length = None
        elif self._length is None:
            self.reusable = False  # the body runs until the server closes the connection
        self._body_at = end + 4
        return True

    def _read_body(self) -> bytes | None:
        """The body once it is all in, else None."""
        if self._length is not None:
            if len(self._buffer) - self._body_at < self._length:
                return None
            body = bytes(self._buffer[self._body_at:self._body_at + self._length])
            if len(self._buffer) > self._body_at + self._length:
                self.reusable = False
            return body
        if not self._chunked:
            return None
        chunks, at = [], self._body_at
        while True:
            line_end = self._buffer.find(b"\r\n", at)
            if line_end < 0:
                return None
            size = int(bytes(self._buffer[at:line_end]).split(b";", 1)[0], 16)
            if size == 0:
                if self._buffer.find(b"\r\n\r\n", line_end) < 0:
                    return None  # the (empty) trailer is not all in yet
                return b"".join(chunks)
            if len(self._buffer) < line_end + 2 + size + 2:
                return None
            chunks.append(bytes(self._buffer[line_end + 2:line_end + 2 + size]))
            at = line_end + 2 + size + 2


class KeepAlivePool:
    """POSTs JSON bodies to one server over at most `size` kept-alive connections."""

    def __init__(self, base_url: str, *, size: int, user_agent: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = ssl.create_default_context() if parts.scheme == "https" else None
        default_port = self.port == (443 if parts.scheme == "https" else 80)
        host_header = parts.hostname if default_port else f"{parts.hostname}:{self.port}"
        if ":" in parts.hostname and default_port:  # an IPv6 literal keeps its brackets
            host_header = f"[{parts.hostname}]"
        elif ":" in parts.hostname:
            host_header = f"[{parts.hostname}]:{self.port}"
        self._head = (f"Host: {host_header}\r\nUser-Agent: {user_agent}\r\n"
                      "Content-Type: application/json\r\nAccept: */*\r\n").encode()
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(size)
        self._busy: set[_Connection] = set()

    async def post(self, path: str, body: bytes, *, connect_timeout: float | None,
                   read_timeout: float | None) -> tuple[int, bytes]:
        """The status and body of the server's answer to POST `path` (raw bytes of the URL's path and query).
        TimeoutError when a timeout runs out; HttpError or OSError when the connection fails."""
        if self._slots.locked():  # every connection busy: waiting for one counts against the connect timeout
            async with asyncio.timeout(connect_timeout):
                await self._slots.acquire()
        else:
            await self._slots.acquire()  # returns at once
        try:
            connection = None
            while self._idle:
                candidate = self._idle.pop()
                if candidate.reusable and candidate.transport is not None and not candidate.transport.is_closing():
                    connection = candidate
                    break
            if connection is None:
                async with asyncio.timeout(connect_timeout):
                    _, connection = await asyncio.get_running_loop().create_connection(
                        _Connection, self.host, self.port, ssl=self._ssl,
                        server_hostname=self.host if self._ssl else None)
            request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
                path.encode(), self._head, len(body), body)
            self._busy.add(connection)
            try:
                async with asyncio.timeout(read_timeout):
                    answer = await connection.exchange(request)
            except BaseException:
                connection.reusable = False
                if connection.transport is not None:
                    connection.transport.abort()
                raise
            finally:
                self._busy.discard(connection)
            if connection.reusable:
                self._idle.append(connection)
            elif connection.transport is not None:
                connection.transport.close()
            return answer
        finally:
            self._slots.release()

    def close(self) -> None:
        """Closes every connection; a call in flight fails."""
        for connection in [*self._idle, *self._busy]:
            if connection.transport is not None:
                connection.transport.abort()
        self._idle.clear()

"""A lean HTTP/1.1 client for the Bot API's JSON calls: one POST written in one piece on a kept-alive connection,
the answer read back as status and bytes. aiohttp's client cost about 125 µs of CPU a call (its request and response
objects, headers as multidicts, a task writing the body), this about 45 µs: with a reply or a notice on every
update, that was a twentieth of the update's CPU. The answer's framing (Content-Length, chunked, until the close,
keep-alive) is httptools' (llhttp, the parser uvicorn uses), not ours. Multipart uploads and the long poll stay on
aiohttp."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

import httptools

MAX_HEAD = 64 * 1024  # a status line and headers longer than this are not the Bot API's


class HttpError(Exception):
    """The connection failed or the server's answer was not HTTP/1.1 as expected."""


class _Connection(asyncio.Protocol):
    """One kept-alive connection: one request at a time, its answer parsed as the bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = True
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._body: list[bytes] = []
        self._head_bytes = 0
        self._framed = False  # the answer says where its body ends (a length or chunks), not the close
        self._headers_done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        answer = self._answer
        if answer is None or answer.done():
            return
        if self._headers_done and not self._framed and self._parser is not None:  # the body ran until the close
            answer.set_result((self._parser.get_status_code(), b"".join(self._body)))
        else:
            answer.set_exception(HttpError(f"connection closed before the answer was complete ({exc or 'EOF'})"))

    def exchange(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        """Writes the request; the future holds the status and the body."""
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        if self._parser is None:  # one per connection: llhttp reads a kept-alive connection's answers in turn
            self._parser = httptools.HttpResponseParser(self)
        self._body, self._head_bytes, self._framed, self._headers_done = [], 0, False, False
        self.transport.write(request)
        return self._answer

    def data_received(self, data: bytes) -> None:
        answer, parser = self._answer, self._parser
        if answer is None or answer.done() or parser is None:
            self.reusable = False  # bytes nobody asked for: this connection's framing cannot be trusted
            return
        try:
            parser.feed_data(data)
        except (httptools.HttpParserError, HttpError) as exc:
            self.reusable = False
            if not answer.done():
                answer.set_exception(HttpError(f"malformed HTTP answer: {exc}"))
            return
        if not answer.done() and not self._headers_done:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self.reusable = False
                answer.set_exception(HttpError("head too long"))

    # httptools' callbacks
    def on_message_begin(self) -> None:
        if self._answer is None or self._answer.done():
            self.reusable = False  # a second answer to one request: this connection's framing cannot be trusted

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True
        status = self._parser.get_status_code() if self._parser is not None else 0
        if status in (204, 304) or 100 <= status < 200:
            self._framed = True  # no body at all

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer, parser = self._answer, self._parser
        if answer is None or answer.done() or parser is None:
            return
        if not parser.should_keep_alive() or parser.get_http_version() != "1.1":
            self.reusable = False
        answer.set_result((parser.get_status_code(), b"".join(self._body)))


def _too_late(answer: asyncio.Future[tuple[int, bytes]]) -> None:
    if not answer.done():
        answer.set_exception(TimeoutError())


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
            answer_future = connection.exchange(request)
            # The read timeout as one timer on the answer, not asyncio.timeout's context around the await: this
            # runs for every send and getUpdates, and the timer is all the context did.
            timer = (asyncio.get_running_loop().call_later(read_timeout, _too_late, answer_future)
                     if read_timeout is not None else None)
            try:
                answer = await answer_future
            except BaseException:
                connection.reusable = False
                if connection.transport is not None:
                    connection.transport.abort()
                raise
            finally:
                if timer is not None:
                    timer.cancel()
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

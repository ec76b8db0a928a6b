"""How the Telegram channel talks to the Bot API: PTB on aiohttp, its rate limiter, its timeouts."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, FormData, TCPConnector
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter, Application
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

# Above the Bot API's slowest answers: a send that timed out on our side but went through is a send repeated.
READ_TIMEOUT = 35.0


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Telegram's flood limits; sends are spaced evenly so no window of that length ever holds more."""

    overall: tuple[int, float] = (30, 1.0)  # messages, seconds
    group: tuple[int, float] = (20, 60.0)  # per group chat

    def limiter(self) -> AIORateLimiter:
        """A PTB rate limiter that never retries by itself unless a call asks for it."""
        # Bucket of one, refilled every period/count: any window of `period` holds at most `count` sends,
        # where a full bucket of `count` would allow almost twice as many across a window boundary.
        return AIORateLimiter(overall_max_rate=1, overall_time_period=self.overall[1] / self.overall[0],
                              group_max_rate=1, group_time_period=self.group[1] / self.group[0], max_retries=0)


def file_base_url(api_base: str) -> str:
    """The file download base that goes with an API base: .../bot → .../file/bot."""
    root, _, tail = api_base.rstrip("/").rpartition("/")
    return f"{root}/file/{tail}" if root else api_base


class AiohttpRequest(BaseRequest):
    """PTB's networking backend on aiohttp, the service's own HTTP stack, in place of httpx: the same requests
    (form-encoded parameters, multipart with files) for a fraction of the CPU each."""

    def __init__(self, *, pool_size: int, timeout: float) -> None:
        self._pool_size = pool_size
        self._timeout = timeout
        self._session: ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = ClientSession(connector=TCPConnector(limit=self._pool_size),
                                          headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE, write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE, pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Sends one Bot API request; timeouts become TimedOut and connection failures NetworkError, as PTB expects."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")

        def chosen(value: Any) -> float | None:  # a number or None (no limit) as given, else PTB's "not set"
            return value if value is None or isinstance(value, int | float) else self._timeout

        # aiohttp has no write timeout of its own: the read timeout bounds the exchange after the connection.
        timeout = ClientTimeout(total=None, connect=chosen(pool_timeout), sock_connect=chosen(connect_timeout),
                                sock_read=chosen(read_timeout))
        body: FormData | dict[str, str] | None = None
        if request_data is not None:
            body = request_data.json_parameters
            if request_data.contains_files:
                form = FormData(body)
                for name, (filename, content, mime) in request_data.multipart_data.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                body = form
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err


def build_application(
    token: str, api_base: str, *, limits: RateLimits | None, polling: bool, read_timeout: float = READ_TIMEOUT,
) -> Application:
    """A PTB Application whose bot sends through the rate limiter; no updater in webhook mode."""
    builder = (Application.builder().token(token).base_url(api_base).base_file_url(file_base_url(api_base))
               .concurrent_updates(256).request(AiohttpRequest(pool_size=64, timeout=read_timeout))
               .get_updates_request(AiohttpRequest(pool_size=1, timeout=read_timeout)))
    if limits is not None:
        builder = builder.rate_limiter(limits.limiter())
    if not polling:
        builder = builder.updater(None)
    return builder.build()


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form becomes a timedelta; both are handled
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)

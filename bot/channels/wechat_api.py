"""WeChat and WeCom HTTP APIs without blocking: shared tokens, error classes, the passive reply window."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.delivery.outbox import ChannelSender, ReplyPlan, SendResult, plain_plan
from bot.delivery.runner import Marks, deliver_claimed
from bot.pipeline.dispatcher import Answer, Dispatcher
from bot.pipeline.messages import Inbound, Reply
from models import PlatformToken
from models.db import dialect_insert

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

EXPIRED_TOKEN_CODES = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired
BUSY_CODES = frozenset({-1, 45009, 45033, 45035})  # system busy, call frequency limits: worth retrying later
REFRESH_MARGIN = timedelta(minutes=5)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TokenFetch = Callable[[aiohttp.ClientSession], Awaitable[tuple[str, int]]]


class FileTooLarge(Exception):
    """A file the platform offers is larger than the caller takes; the argument is its size in bytes."""


class ApiUnavailable(Exception):
    """The platform did not answer usefully (timeout, connection error, 5xx, busy): retrying may help."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    """A JSON answer from the platform; errcode 0 is success."""

    errcode: int
    errmsg: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.errcode == 0


class TokenStore:
    """One platform access token, cached in platform_token and shared by every instance of the service."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, key: str, fetch: TokenFetch) -> None:
        self.sessions = sessions
        self.clock = clock
        self.key = key
        self.fetch = fetch
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def get(self, http: aiohttp.ClientSession) -> str:
        """The cached token while it has more than the margin left, else a fresh one fetched once under a lock."""
        async with self.sessions() as session:
            row = await session.get(PlatformToken, self.key)
            if row is not None and row.value and row.expires_at - REFRESH_MARGIN > self.clock.now():
                return row.value
        return await self.refresh(http, stale=None)

    async def refresh(self, http: aiohttp.ClientSession, *, stale: str | None) -> str:
        """Fetches a new token unless another task or instance already replaced the stale one (or a fresh one
        exists). The HTTP call runs outside any transaction; the new token is stored with a compare-and-set on the
        value it replaces, and when another instance stored one first, theirs is used."""
        async with self._lock:
            async with self.sessions.begin() as session:
                row = await self._row(session)
                now = self.clock.now()
                if row.value and row.expires_at - REFRESH_MARGIN > now and (stale is None or row.value != stale):
                    return row.value
                seen = row.value
            token, expires_in = await self.fetch(http)
            self.fetches += 1
            now = self.clock.now()
            async with self.sessions.begin() as session:
                stored = await session.execute(
                    update(PlatformToken).where(PlatformToken.key == self.key, PlatformToken.value == seen)
                    .values(value=token, expires_at=now + timedelta(seconds=expires_in), updated_at=now))
                if stored.rowcount == 1:
                    return token
                return (await self._row(session)).value

    async def _row(self, session: AsyncSession) -> PlatformToken:
        now = self.clock.now()
        await session.execute(dialect_insert(session)(PlatformToken).values(
            key=self.key, value="", expires_at=EPOCH, updated_at=now).on_conflict_do_nothing(index_elements=["key"]))
        query = select(PlatformToken).where(PlatformToken.key == self.key).execution_options(populate_existing=True)
        return (await session.scalars(query)).one()


class PlatformApi:
    """Calls one platform's JSON endpoints with aiohttp and a shared token; retries once on an expired token."""

    def __init__(self, base: str, tokens: TokenStore | None, *, timeout: float = 10.0) -> None:
        self.base = base.rstrip("/")
        self.tokens = tokens
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def get_json(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        """GETs a JSON document; timeouts, connection errors and 5xx raise ApiUnavailable."""
        return await self._request("GET", url, params=params)

    async def post(self, path: str, payload: dict[str, Any]) -> ApiAnswer:
        """POSTs to a token-authenticated endpoint; an expired-token answer refreshes the token and tries again."""
        assert self.tokens is not None
        token = await self._token()
        answer = await self._post_with(path, payload, token)
        if answer.errcode in EXPIRED_TOKEN_CODES:
            token = await self._refresh(token)
            answer = await self._post_with(path, payload, token)
        return answer

    async def upload(self, path: str, params: dict[str, str], filename: str, content: bytes, mime: str) -> ApiAnswer:
        """Uploads one file as multipart "media" to a token-authenticated endpoint (temporary media)."""
        token = await self._token()
        answer = await self._upload_with(path, params, filename, content, mime, token)
        if answer.errcode in EXPIRED_TOKEN_CODES:
            token = await self._refresh(token)
            answer = await self._upload_with(path, params, filename, content, mime, token)
        return answer

    async def _upload_with(self, path: str, params: dict[str, str], filename: str, content: bytes, mime: str,
                           token: str) -> ApiAnswer:
        form = aiohttp.FormData()
        form.add_field("media", content, filename=filename, content_type=mime)
        body = await self._request("POST", f"{self.base}{path}", params={**params, "access_token": token}, data=form)
        return _answer(body)

    async def get_file(self, path: str, params: dict[str, str], *, max_bytes: int) -> bytes | ApiAnswer:
        """GETs a token-authenticated file (media/get): its bytes, or the platform's errcode answer; a file over
        `max_bytes` raises FileTooLarge before more than that is read."""
        token = await self._token()
        got = await self._file_with(path, params, token, max_bytes)
        if isinstance(got, ApiAnswer) and got.errcode in EXPIRED_TOKEN_CODES:
            got = await self._file_with(path, params, await self._refresh(token), max_bytes)
        return got

    async def _file_with(self, path: str, params: dict[str, str], token: str, max_bytes: int) -> bytes | ApiAnswer:
        try:
            async with self.http.get(f"{self.base}{path}", params={**params, "access_token": token}) as response:
                if response.status >= 500 or response.status == 429:
                    raise ApiUnavailable(f"HTTP {response.status}")
                if response.status >= 400:
                    return ApiAnswer(response.status, f"HTTP {response.status}")
                if response.content_type in ("application/json", "text/plain"):  # errors come as JSON
                    return _answer(await response.json(content_type=None))
                if (response.content_length or 0) > max_bytes:
                    raise FileTooLarge(response.content_length or 0)
                data = await response.content.read(max_bytes + 1)
                if len(data) > max_bytes:
                    raise FileTooLarge(len(data))
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiUnavailable(f"{type(exc).__name__}: {exc}"[:200]) from exc

    async def post_url(self, url: str, payload: dict[str, Any]) -> ApiAnswer:
        """POSTs to a full URL that needs no token (group webhooks, response_url)."""
        body = await self._request("POST", url, json=payload)
        return _answer(body)

    async def _token(self) -> str:
        assert self.tokens is not None
        try:
            return await self.tokens.get(self.http)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApiUnavailable(f"token: {type(exc).__name__}") from exc

    async def _refresh(self, stale: str) -> str:
        assert self.tokens is not None
        try:
            return await self.tokens.refresh(self.http, stale=stale)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApiUnavailable(f"token: {type(exc).__name__}") from exc

    async def _post_with(self, path: str, payload: dict[str, Any], token: str) -> ApiAnswer:
        return _answer(await self._request("POST", f"{self.base}{path}", params={"access_token": token}, json=payload))

    async def _request(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.http.request(method, url, **kwargs) as response:
                if response.status >= 500 or response.status == 429:
                    retry_after = response.headers.get("Retry-After")
                    raise ApiUnavailable(f"HTTP {response.status}", float(retry_after) if retry_after else None)
                if response.status >= 400:
                    return {"errcode": response.status, "errmsg": f"HTTP {response.status}"}
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiUnavailable(f"{type(exc).__name__}: {exc}"[:200]) from exc
        if not isinstance(body, dict):
            raise ApiUnavailable("answer is not a JSON object")
        return body


def _answer(body: dict[str, Any]) -> ApiAnswer:
    return ApiAnswer(int(body.get("errcode", 0) or 0), str(body.get("errmsg", "")), body)


def oa_tokens(services: Services) -> TokenStore:
    """The Official Account's access token, one row shared by its channel and the photo download."""
    settings = services.settings

    async def fetch(http: aiohttp.ClientSession) -> tuple[str, int]:
        return await fetch_token(http, f"{settings.wechat_api_base.rstrip('/')}/cgi-bin/token", {
            "grant_type": "client_credential", "appid": settings.wechat_appid or "",
            "secret": settings.wechat_secret or ""})

    return TokenStore(services.sessions, services.clock, f"wechat:{settings.wechat_appid}", fetch)


def wecom_tokens(services: Services) -> TokenStore:
    """The WeCom app's access token, one row shared by its channel and the photo download."""
    settings = services.settings

    async def fetch(http: aiohttp.ClientSession) -> tuple[str, int]:
        return await fetch_token(http, f"{settings.wecom_api_base.rstrip('/')}/cgi-bin/gettoken",
                                 {"corpid": settings.wecom_corp_id or "", "corpsecret": settings.wecom_secret or ""})

    return TokenStore(services.sessions, services.clock, f"wecom:{settings.wecom_corp_id}:{settings.wecom_agent_id}",
                      fetch)


async def fetch_token(http: aiohttp.ClientSession, url: str, params: dict[str, str]) -> tuple[str, int]:
    """Asks a token endpoint for a token; an errcode answer raises (the sender records it and retries later)."""
    async with http.get(url, params=params) as response:
        if response.status >= 400:
            raise aiohttp.ClientResponseError(response.request_info, (), status=response.status,
                                              message="token endpoint")
        body = await response.json(content_type=None)
    if body.get("errcode") or "access_token" not in body:
        raise aiohttp.ClientPayloadError(f"token refused: {body.get('errcode')} {body.get('errmsg')}")
    return str(body["access_token"]), int(body.get("expires_in", 7200))


def result_of(answer: ApiAnswer, *, permanent_codes: frozenset[int] = frozenset()) -> SendResult:
    """Maps an API answer to a send result: busy codes retry, everything else that failed is permanent."""
    if answer.ok:
        message_id = answer.body.get("msgid")
        return SendResult(ok=True, platform_message_id=str(message_id) if message_id is not None else None)
    error = f"{answer.errcode} {answer.errmsg}"[:300]
    if answer.errcode in BUSY_CODES or (answer.errcode in EXPIRED_TOKEN_CODES and answer.errcode not in permanent_codes):
        return SendResult(ok=False, error=error, retry_after=60.0 if answer.errcode != -1 else None)
    return SendResult(ok=False, permanent=True, error=error)


def unavailable(exc: ApiUnavailable) -> SendResult:
    """A transient failure as a send result the outbox retries with backoff."""
    return SendResult(ok=False, error=str(exc)[:300], retry_after=exc.retry_after)


class ReplyWindow:
    """Runs the dispatcher for a callback, its replies written as claimed outbox rows, and waits at most `seconds`:
    in time, they are the passive answer (their rows marked sent); late, or for a platform's retry of a message
    whose answer was lost, the rows go out through the channel's sender. Nothing is lost either way: a row whose
    send failed is retried by the delivery runner, one whose writer died is sent once its claim runs out."""

    def __init__(self, dispatcher: Dispatcher, seconds: float, sender: ChannelSender, *,
                 plan: ReplyPlan = plain_plan) -> None:
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        self.seconds = seconds
        self.sender = sender
        self.plan = plan
        self.marks = Marks(self.services.sessions, self.services.clock)
        self.pending: set[asyncio.Task[Any]] = set()

    async def replies(self, inbound: Inbound, *, passive: bool = True) -> list[Reply] | None:
        """The replies to answer with now, or None (the caller answers "success" at once; the rows follow up)."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        task = asyncio.create_task(self.dispatcher.answer(inbound, self.plan))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.seconds)
        except asyncio.CancelledError:  # the platform hung up: the work goes on and its replies follow up
            self._follow_up(task)
            raise
        # Late also when it took longer without ever waiting (SQLite's inline driver never does): the timer that
        # ends the window only runs once the work gives the loop a turn.
        if task not in done or loop.time() - began > self.seconds:
            self._follow_up(task)
            return None
        answer = task.result()
        if answer.redelivered or not passive:
            self._follow_up(task)
            return None
        if answer.rows:  # the passive answer carries them: the platform gets it with this response
            # marked in a transaction shared with the other callbacks answering now (a commit each was a third of
            # the commits of a WeCom callback); each waits for the transaction that holds its rows
            await self.marks.mark([(row, SendResult(ok=True)) for row in answer.rows])
        return answer.replies

    def _follow_up(self, task: asyncio.Task[Answer]) -> None:
        async def deliver() -> None:
            answer = await task
            await deliver_claimed(self.services.sessions, self.sender, answer.rows, self.services.clock,
                                  send_timeout=self.services.settings.send_timeout_seconds)

        follow = asyncio.create_task(deliver())
        self.pending.add(follow)
        follow.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("follow-up failed", exc_info=task.exception())

    async def settle(self) -> None:
        """Waits for every follow-up still running (shutdown, tests)."""
        while self.pending:
            await asyncio.gather(*list(self.pending), return_exceptions=True)


def button_hints(reply: Reply) -> str:
    """The reply's text with its buttons spelled out as words to send, for surfaces without buttons."""
    if not reply.buttons:
        return reply.text
    return reply.text + "\n可回复：" + " / ".join(f"「{b.payload}」" for b in reply.buttons)


def refuses_xml(body: bytes) -> bool:
    """True when XML carries a document type or entity declaration (entity expansion, external entities)."""
    upper = body[:1_100_000].upper()
    return b"<!DOCTYPE" in upper or b"<!ENTITY" in upper

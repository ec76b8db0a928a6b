"""The Telegram channel's wire: PTB on aiohttp with its rate limiter and timeouts; a webhook body's shape checked
before anything is written; per-chat locks that keep one chat's updates in order."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from aiohttp import ClientError, ClientSession, ClientTimeout, FormData, TCPConnector, web
from telegram import Bot, Chat, Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter, Application, ExtBot
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram.keepalive import HttpError, KeepAlivePool
from config.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "telegram"
GROUP_CHATS = (Chat.GROUP, Chat.SUPERGROUP)

# Above the Bot API's slowest answers: a send that timed out on our side but went through is a send repeated.
READ_TIMEOUT = 35.0
JSON_BODY = {"Content-Type": "application/json"}
CONCURRENT_UPDATES = 256  # updates handled at once (PTB's update processor; polled messages: UpdateQueue)


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


class JsonBody:
    """Bot API parameters already encoded as one JSON body (UpdatesBot.post_json), in place of PTB's RequestData."""

    __slots__ = ("body",)
    contains_files = False

    def __init__(self, body: bytes) -> None:
        self.body = body


class AiohttpRequest(BaseRequest):
    """PTB's networking backend on aiohttp, the service's own HTTP stack, in place of httpx: the parameters as one
    JSON body (the Bot API takes JSON as well as forms; URL-encoding Chinese text byte by byte cost more than the
    whole JSON encoding), multipart with files, for a fraction of the CPU each; JSON by orjson both ways."""

    def __init__(self, *, pool_size: int, timeout: float) -> None:
        self._pool_size = pool_size
        self._timeout = timeout
        self._session: ClientSession | None = None
        self._pools: dict[str, KeepAlivePool] = {}  # per origin: the JSON calls' connections
        # aiohttp has no write timeout of its own: the read timeout bounds the exchange after the connection.
        self._default_timeout = ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)

    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    @staticmethod
    def parse_json_payload(payload: bytes) -> Any:
        """Telegram's answer, read by orjson (PTB's documented hook for another JSON library); what orjson refuses
        goes to PTB's own reading, which raises the error PTB expects."""
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            return BaseRequest.parse_json_payload(payload)

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = ClientSession(connector=TCPConnector(limit=self._pool_size),
                                          headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    async def _post_json(self, url: str, body: bytes, *, connect_timeout: float | None,
                         read_timeout: float | None) -> tuple[int, bytes]:
        origin, slash, path = url.partition("://")[2].partition("/")
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = KeepAlivePool(url[:len(url) - len(path) - len(slash)],
                                                       size=self._pool_size, user_agent=self.USER_AGENT)
        try:
            return await pool.post(slash + path, body, connect_timeout=connect_timeout, read_timeout=read_timeout)
        except TimeoutError as err:
            raise TimedOut from err
        except (HttpError, OSError) as err:
            raise NetworkError(f"{type(err).__name__}: {err}") from err

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

        if isinstance(request_data, JsonBody):
            return await self._post_json(url, request_data.body, connect_timeout=chosen(connect_timeout),
                                         read_timeout=chosen(read_timeout))
        timeout = self._default_timeout
        if not (pool_timeout is connect_timeout is read_timeout is BaseRequest.DEFAULT_NONE):
            timeout = ClientTimeout(total=None, connect=chosen(pool_timeout), sock_connect=chosen(connect_timeout),
                                    sock_read=chosen(read_timeout))
        body: FormData | bytes | None = None
        headers = None
        if request_data is not None and request_data.contains_files:
            body = FormData(request_data.json_parameters)
            for name, (filename, content, mime) in request_data.multipart_data.items():
                body.add_field(name, content, filename=filename, content_type=mime)
        elif request_data is not None:
            body, headers = orjson.dumps(request_data.parameters), JSON_BODY
        try:
            async with self._session.request(method, url, data=body, headers=headers, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err


@dataclass(frozen=True, slots=True)
class MessageUpdate:
    """An update carrying a message, kept as the Bot API's JSON: messages are most updates, and building PTB's
    objects for one (Update, Message, User, Chat, entities) cost a sixth of the update's CPU where the channel reads
    a dozen fields. Button presses still become PTB's Update (answering one needs its CallbackQuery)."""

    update_id: int
    message: dict[str, Any]


def message_update(payload: dict[str, Any]) -> MessageUpdate | None:
    """The update as a MessageUpdate when it carries a message (quotes cut to one level by `shallow`), else None;
    `payload` has passed update_problem."""
    if payload.get("callback_query") is not None or not isinstance(payload.get("message"), dict):
        return None
    return MessageUpdate(payload["update_id"], shallow(payload)["message"])


class UpdatesBot(ExtBot[None]):
    """PTB's bot, with getUpdates handing message updates to the updater as MessageUpdate (the updater reads only
    update_id) and the rest as PTB's Update."""

    __slots__ = ("_updates_read_timeout",)

    def __init__(self, *args: Any, updates_read_timeout: float, **kwargs: Any) -> None:
        self._updates_read_timeout = updates_read_timeout
        super().__init__(*args, **kwargs)

    async def post_json(self, endpoint: str, parameters: dict[str, Any], *,
                        rate_limit_args: int | None = None) -> Any:
        """Calls the Bot API with `parameters` (plain JSON values) as one orjson body and returns its raw result:
        no PTB objects built for the call or from the answer. PTB still maps every failure to its errors (the same
        _request_wrapper as its own calls), and the rate limiter, when there is one, paces the call as it would
        Bot.send_message."""
        if self.rate_limiter is None:
            return await self._post_json(endpoint, parameters)
        return await self.rate_limiter.process_request(
            callback=self._post_json, args=(endpoint, parameters), kwargs={}, endpoint=endpoint, data=parameters,
            rate_limit_args=rate_limit_args)

    async def _post_json(self, endpoint: str, parameters: dict[str, Any], *, request: BaseRequest | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE) -> Any:
        request = request or self.request
        # PTB's own status and error mapping, kept whole.
        payload = await request._request_wrapper(
            f"{self.base_url}/{endpoint}", "POST", JsonBody(orjson.dumps(parameters)),  # type: ignore[arg-type]
            read_timeout=read_timeout)
        return request.parse_json_payload(payload)["result"]

    async def get_updates(  # type: ignore[override]
        self, offset: int | None = None, limit: int | None = None,
        timeout: int | timedelta | None = None,  # noqa: ASYNC109 (PTB's signature: how long the poll may wait)
        allowed_updates: Sequence[str] | None = None, **_: Any,
    ) -> tuple[MessageUpdate | Update, ...]:
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout or 0
        # As Bot.get_updates: the long poll's own timeout on top of the request's read timeout.
        parameters = {"offset": offset, "limit": limit, "timeout": seconds, "allowed_updates": allowed_updates}
        payloads = await self._post_json(
            "getUpdates", {name: value for name, value in parameters.items() if value is not None},
            request=self._request[0], read_timeout=self._updates_read_timeout + seconds)
        updates: list[MessageUpdate | Update] = []
        for payload in payloads:
            if problem := update_problem(payload):  # Telegram's own updates: never seen, but not to be parsed blind
                log.warning("update %s from getUpdates ignored: %s", payload.get("update_id"), problem)
                continue
            updates.append(message_update(payload) or Update.de_json(payload, self))
        return tuple(updates)


class UpdateQueue(asyncio.Queue):  # type: ignore[type-arg]
    """PTB's update queue (ApplicationBuilder.update_queue), where its updater puts what it polled: a message update
    goes to `take` (the channel's) at once instead of through PTB's fetcher, task wrapper, update processor and
    handler lookup, eight coroutine frames resumed at every wait of the update's handling; anything else (button
    presses) is queued for PTB as before."""

    def __init__(self) -> None:
        super().__init__()
        self.take: Callable[[MessageUpdate], Awaitable[None]] | None = None

    async def put(self, item: Any) -> None:
        if self.take is not None and type(item) is MessageUpdate:
            await self.take(item)
        else:
            await super().put(item)


def build_application(
    token: str, api_base: str, *, limits: RateLimits | None, polling: bool, read_timeout: float = READ_TIMEOUT,
) -> Application:
    """A PTB Application whose bot sends through the rate limiter; no updater in webhook mode."""
    bot = UpdatesBot(token, base_url=api_base, base_file_url=file_base_url(api_base),
                     request=AiohttpRequest(pool_size=64, timeout=read_timeout),
                     get_updates_request=AiohttpRequest(pool_size=1, timeout=read_timeout),
                     rate_limiter=limits.limiter() if limits is not None else None,
                     updates_read_timeout=read_timeout)
    builder = Application.builder().bot(bot).concurrent_updates(CONCURRENT_UPDATES)
    if polling:
        builder = builder.update_queue(UpdateQueue())
    else:
        builder = builder.updater(None)
    return builder.build()


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form becomes a timedelta; both are handled
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class KeyedLocks:
    """One lock per chat, so one chat's updates are handled in order while chats run concurrently."""

    def __init__(self) -> None:
        self._locks: dict[str, list[Any]] = {}  # key → [lock, holders and waiters]

    def hold(self, key: str) -> _Held:
        return _Held(self._locks, key)


class _Held:
    """KeyedLocks.hold's context: a class, not an asynccontextmanager, as it runs once per update."""

    __slots__ = ("_entry", "_key", "_locks")

    def __init__(self, locks: dict[str, list[Any]], key: str) -> None:
        self._locks, self._key = locks, key

    async def __aenter__(self) -> None:
        entry = self._locks.get(self._key)
        if entry is None:
            entry = self._locks[self._key] = [asyncio.Lock(), 0]
        entry[1] += 1
        self._entry = entry
        try:
            await entry[0].acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._entry[0].release()
        self._leave()

    def _leave(self) -> None:
        self._entry[1] -= 1
        if not self._entry[1]:
            del self._locks[self._key]


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None past `limit` bytes (the app-wide 1 MiB cap would refuse a long update)."""
    length = request.content_length
    if length is not None:  # the usual case: one read of the announced length, refused before reading when too long
        if length > limit:
            return None
        return await request.content.readexactly(length) if length else b""  # readexactly(0) raises
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# JSON decodes integers as int itself: `type(x) is int` is isinstance's check without bool (True is not an id).

def _user_ok(value: Any) -> bool:
    return (isinstance(value, dict) and type(value.get("id")) is int and isinstance(value.get("is_bot", False), bool)
            and isinstance(value.get("first_name", ""), str))


def _entity_ok(value: dict[str, Any]) -> bool:
    return (isinstance(value.get("type"), str) and type(value.get("offset")) is int
            and type(value.get("length")) is int and ("user" not in value or _user_ok(value["user"])))


def _photo_ok(value: dict[str, Any]) -> bool:
    return (isinstance(value.get("file_id"), str) and isinstance(value.get("file_unique_id"), str)
            and type(value.get("width")) is int and type(value.get("height")) is int
            and (value.get("file_size") is None or type(value["file_size"]) is int))


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "message is not an object"
    chat = message.get("chat")
    if not (type(message.get("message_id")) is int and type(message.get("date")) is int):
        return "message_id and date must be integers"
    if not (isinstance(chat, dict) and type(chat.get("id")) is int and isinstance(chat.get("type"), str)):
        return "chat must carry an integer id and a type"
    if "from" in message and not _user_ok(message["from"]):
        return "from must be a user with an integer id"
    for name in ("text", "caption"):
        if name in message and not isinstance(message[name], str):
            return f"{name} must be a string"
    for name in ("entities", "caption_entities", "photo"):
        if name in message and not (isinstance(message[name], list) and all(isinstance(x, dict) for x in message[name])):
            return f"{name} must be a list of objects"
    for name in ("entities", "caption_entities"):
        if name in message and not all(_entity_ok(entity) for entity in message[name]):
            return f"{name} must carry a type, an integer offset and length"
    if "photo" in message and not all(_photo_ok(size) for size in message["photo"]):
        return "photo sizes must carry file ids and integer sizes"
    return None


def update_problem(payload: Any) -> str | None:
    """Why a decoded webhook body is not an update gridbot can take, or None: checked before anything is written."""
    if not isinstance(payload, dict) or type(payload.get("update_id")) is not int:
        return "not an update"
    if "message" in payload:
        if problem := _message_problem(payload["message"]):
            return problem
        reply_to = payload["message"].get("reply_to_message")
        if reply_to is not None and (problem := _message_problem(reply_to)):
            return f"reply_to_message: {problem}"
    if "callback_query" in payload:
        query = payload["callback_query"]
        if not (isinstance(query, dict) and isinstance(query.get("id"), str) and _user_ok(query.get("from"))):
            return "callback_query must carry a string id and a user"
        if not isinstance(query.get("data", ""), str):
            return "callback data must be a string"
        if query.get("message") is not None and (problem := _message_problem(query["message"])):
            return f"callback message: {problem}"
    return None


def shallow(payload: dict[str, Any]) -> dict[str, Any]:
    """The update with quoted messages kept one level deep: gridbot reads only whether a reply quotes the bot, and
    a long chain of quotes must not recurse through PTB's parser."""
    for key in ("message", "callback_query"):
        message = payload.get(key)
        if key == "callback_query" and isinstance(message, dict):
            message = message.get("message")
        if isinstance(message, dict) and isinstance(message.get("reply_to_message"), dict):
            quoted = dict(message["reply_to_message"])
            quoted.pop("reply_to_message", None)
            quoted.pop("pinned_message", None)
            message["reply_to_message"] = quoted
    return payload


async def invite_link(settings: Settings, token: str) -> str:
    """The t.me deep link that redeems a staff invite; asks the Bot API for the bot's username."""
    assert settings.telegram_token
    bot = Bot(settings.telegram_token, base_url=settings.telegram_api_base,
              base_file_url=file_base_url(settings.telegram_api_base))
    async with bot:
        return f"https://t.me/{bot.username}?start={token}"

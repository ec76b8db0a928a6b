"""A fake Telegram Bot API server (aiohttp on 127.0.0.1) for driving the real python-telegram-bot in tests.

It answers what PTB calls, records every call, keeps the messages the bot sent, serves getUpdates from a queue
of updates the test pushes, can fail the next calls with 429/5xx or stall them past the client's timeout (or
follow a seeded FaultPlan from fakes/faults.py, with dropped connections and late answers besides), and
checks flood limits (overall per second, per group per window), recording every violation. Files the bot
uploads (multipart/form-data, as PTB posts an InputFile) are kept with their call: name, type and bytes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from fakes.faults import Fault as Planned
from fakes.faults import FaultPlan

BOT_ID = 777000
BOT_USERNAME = "weibin_grid_bot"
TOKEN = "777000:TEST-fake-token"
MESSAGE_METHODS = {"sendMessage", "sendPhoto"}
CAPTION_LIMIT = 1024  # characters of a photo's caption (UTF-16 code units, as Telegram counts them)
PHOTO_LIMIT = 10 * 1024 * 1024  # bytes of an uploaded photo
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # what Telegram can process as a photo: PNG, JPEG


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart call."""

    filename: str | None
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    files: dict[str, Upload] = field(default_factory=dict)  # form field → the uploaded file


DROPPED = -1  # the status recorded for a call whose connection was closed without an answer


@dataclass
class Fault:
    status: int  # 429, 5xx, 0 for a stall (no answer until the client gives up) or DROPPED
    retry_after: int | None = None
    late: bool = False  # delivered first, then stalled: the client cannot know the message went through


def planned_fault(plan: FaultPlan, call: str) -> Fault | None:
    """The plan's fault for a call, in the Bot API's words."""
    kind = plan.draw(call)
    return None if kind is None else {
        Planned.SERVER_ERROR: Fault(502), Planned.RATE_LIMITED: Fault(429, plan.retry_after), Planned.SLOW: Fault(0),
        Planned.DROPPED: Fault(DROPPED), Planned.LATE: Fault(200, late=True)}[kind]


@dataclass
class FloodLimits:
    overall: tuple[int, float] = (30, 1.0)
    group: tuple[int, float] = (20, 60.0)
    slack: float = 0.02  # windows are checked 2% shorter, for scheduling jitter between client and server


@dataclass
class FakeBotApi:
    """The server; `base_url`/`base_file_url` go to PTB, `push_*` feed getUpdates, `calls` is the record."""

    limits: FloodLimits = field(default_factory=FloodLimits)
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)  # users who blocked the bot: 403
    gone: set[int] = field(default_factory=set)  # deleted chats: 400 chat not found
    started: set[int] = field(default_factory=set)  # users who opened a private chat with the bot
    plan: FaultPlan | None = None  # faults dealt to the calls of `planned` methods
    planned: frozenset[str] = frozenset(MESSAGE_METHODS)
    late: list[dict[str, Any]] = field(default_factory=list)  # messages delivered whose answer came too late

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(5000)
        self._upload_ids = itertools.count(1)
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._sent_at: dict[int | None, deque[float]] = defaultdict(deque)
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.by_chat: dict[int, list[dict[str, Any]]] = defaultdict(list)  # messages delivered, per chat, in order
        self._chat_waiters: dict[int, list[tuple[int, asyncio.Future[None]]]] = defaultdict(list)
        self.port = 0

    # --- lifecycle ---
    async def start(self) -> FakeBotApi:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self._closing.set()
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- what the test controls ---
    def fail(self, method: str, status: int, *, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` calls of `method` answer `status` (429 with retry_after, or 5xx)."""
        self._faults[method].extend(Fault(status, retry_after) for _ in range(times))

    def stall(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` get no answer: the client times out, nothing is delivered."""
        self._faults[method].extend(Fault(0) for _ in range(times))

    async def push(self, update: dict[str, Any]) -> int:
        """Queues an update for getUpdates, numbering it unless it carries an update_id; returns the id."""
        update.setdefault("update_id", next(self._update_ids))
        message = update.get("message") or {}
        if message.get("chat", {}).get("type") == "private":
            self.started.add(message["chat"]["id"])
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return update["update_id"]

    async def wait_for(self, condition: Callable[[FakeBotApi], Any]) -> Any:
        """Waits until `condition(self)` is truthy (re-checked after every call); bound it with a timeout."""
        async with self._changed:
            while not (result := condition(self)):
                await self._changed.wait()
            return result

    async def wait_messages(self, chat_id: int, count: int) -> list[dict[str, Any]]:
        """Waits until `count` messages have reached the chat (cheaper than wait_for with many waiters)."""
        if len(self.by_chat[chat_id]) < count:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._chat_waiters[chat_id].append((count, future))
            await future
        return self.by_chat[chat_id]

    # --- what the test reads ---
    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def uploads(self, method: str = "sendPhoto") -> list[Upload]:
        """Files that successful calls of `method` uploaded, in order."""
        return [upload for call in self.called(method) for upload in call.files.values()]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot delivered to one chat, in order."""
        return list(self.by_chat.get(chat_id, []))

    def pending_updates(self) -> int:
        return len(self._updates)

    # --- the server ---
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await _params(request)
        call = Call(method, params, time.monotonic(), files=files)
        fault = self._faults[method].popleft() if self._faults.get(method) else None
        if fault is None and self.plan is not None and method in self.planned:
            fault = planned_fault(self.plan, f"{method}:{params.get('chat_id')}:"
                                             f"{params.get('text') or params.get('caption') or params.get('photo')}")
        if fault is not None and fault.status == DROPPED:
            call.status = DROPPED
            await self._record(call)
            request.transport.abort()  # type: ignore[union-attr]
            return _error(502, "Bad Gateway")
        if fault is not None and fault.status == 0:
            call.status = 0
            await self._record(call)
            with _suppress_timeout():
                await asyncio.wait_for(self._closing.wait(), 30)
            return _error(504, "Gateway Timeout")
        if fault is not None and not fault.late:
            call.status = fault.status
            await self._record(call)
            if fault.status == 429:
                return _error(429, f"Too Many Requests: retry after {fault.retry_after or 1}",
                              {"retry_after": fault.retry_after or 1})
            return _error(fault.status, "Internal Server Error" if fault.status == 500 else "Bad Gateway")
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            call.status = 404
            await self._record(call)
            return _error(404, "Not Found: method not found")
        if method == "getUpdates":
            return await handler(call)
        outcome = handler(call) if method in CALL_HANDLERS else handler(params)
        if isinstance(outcome, web.Response):
            call.status = outcome.status
        await self._record(call)
        if fault is not None and not isinstance(outcome, web.Response):  # a late answer to a delivered message
            self.late.append(outcome)
            with _suppress_timeout():
                await asyncio.wait_for(self._closing.wait(), 30)
            return _error(504, "Gateway Timeout")
        return outcome if isinstance(outcome, web.Response) else web.json_response({"ok": True, "result": outcome})

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\xff\xd8\xff\xe0fake-jpeg", content_type="image/jpeg")

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _flood_check(self, chat_id: int) -> None:
        now = time.monotonic()
        self._check_window(None, now, *self.limits.overall, "overall")
        if chat_id < 0:
            self._check_window(chat_id, now, *self.limits.group, f"group {chat_id}")

    def _check_window(self, key: int | None, now: float, count: int, period: float, label: str) -> None:
        window = self._sent_at[key]
        while window and window[0] <= now - period * (1 - self.limits.slack):
            window.popleft()
        if len(window) >= count:
            self.violations.append(f"{label}: {len(window) + 1} messages within {period:g}s")
        window.append(now)

    def _deliverable(self, chat_id: int) -> web.Response | None:
        if chat_id in self.gone:
            return _error(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat_id > 0 and chat_id not in self.started:
            return _error(403, "Forbidden: bot can't initiate conversation with a user")
        return None

    def _new_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any] | web.Response:
        chat_id = int(params["chat_id"])
        refusal = self._deliverable(chat_id)
        if refusal is not None:
            return refusal
        self._flood_check(chat_id)
        message = {
            "message_id": next(self._message_ids), "date": int(time.time()), "from": _bot_user(),
            "chat": {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private",
                     **({"title": "群"} if chat_id < 0 else {"first_name": "用户"})},
            **content,
        }
        for key in ("parse_mode", "reply_parameters"):
            if params.get(key) is not None:
                message[key] = params[key]
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            # Only inline keyboards come back on a Message; a ForceReply is kept aside for tests to read.
            message["reply_markup" if "inline_keyboard" in markup else "requested_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        self.by_chat[chat_id].append(message)
        waiting = self._chat_waiters.get(chat_id)
        if waiting:
            ready = [(n, future) for n, future in waiting if n <= len(self.by_chat[chat_id])]
            for entry in ready:
                waiting.remove(entry)
                if not entry[1].done():
                    entry[1].set_result(None)
        return message

    # --- Bot API methods ---
    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return _bot_user() | {"can_join_groups": True, "can_read_all_group_messages": False,
                              "supports_inline_queries": False}

    async def _api_getUpdates(self, call: Call) -> web.Response:
        offset = int(call.params.get("offset") or 0)
        timeout = float(call.params.get("timeout") or 0)
        limit = int(call.params.get("limit") or 100)
        async with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            # Long polling as Telegram does it: answer when there are updates or the timeout is over, not
            # whenever anything else was recorded.
            with _suppress_timeout():
                async with asyncio.timeout(timeout):
                    while not self._updates and timeout > 0 and not self._closing.is_set():
                        await self._changed.wait()
            batch = [u for u in self._updates if u["update_id"] >= offset][:limit]
            self.calls.append(call)
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": batch})

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = dict(params)
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any] | web.Response:
        return self._new_message(params, text=str(params["text"]))

    def _api_sendPhoto(self, call: Call) -> dict[str, Any] | web.Response:
        """A photo by file_id (one Telegram already has) or uploaded as the multipart part `photo`."""
        params = call.params
        caption = str(params.get("caption") or "")
        if len(caption.encode("utf-16-le")) // 2 > CAPTION_LIMIT:
            return _error(400, "Bad Request: message caption is too long")
        upload = call.files.get("photo")
        if upload is not None:
            if upload.size > PHOTO_LIMIT:
                return _error(400, "Bad Request: file is too big")
            if not upload.data.startswith(IMAGE_SIGNATURES):
                return _error(400, "Bad Request: IMAGE_PROCESS_FAILED")
            file_id = f"AgACupload{next(self._upload_ids)}"
            size: dict[str, Any] = {"file_size": upload.size}
        elif params.get("photo") is not None:
            file_id, size = str(params["photo"]), {}
        else:
            return _error(400, "Bad Request: there is no photo in the request")
        sizes = [{"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 1280, "height": 960, **size}]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._new_message(params, **content)

    def _edit(self, params: dict[str, Any], **changes: Any) -> dict[str, Any] | web.Response:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        message.update(changes)
        if "reply_markup" in params and params["reply_markup"] is not None:
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        message.setdefault("edits", 0)
        message["edits"] += 1
        return message

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | web.Response:
        return self._edit(params, text=str(params["text"]))

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | web.Response:
        return self._edit(params)

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": 12,
                "file_path": f"photos/{file_id}.jpg"}


class _suppress_timeout:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> bool:
        return kind is TimeoutError


def _bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "网格助手", "username": BOT_USERNAME}


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


CALL_HANDLERS = {"sendPhoto"}  # methods whose handler reads the whole call (its uploaded files too)


async def _params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """PTB posts form fields whose values are JSON-encoded where they are not plain strings, and files as
    multipart/form-data parts; a file's field is given its filename in the params and its bytes in the files."""
    if request.content_type == "application/json":
        return dict(await request.json()), {}
    form = await request.post()
    params: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = Upload(value.filename, value.content_type, value.file.read())
            params[key] = value.filename
            continue
        if not isinstance(value, str):
            params[key] = str(value)
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params, files


# --- updates as Telegram sends them ---
_message_ids = itertools.count(1)


def user(user_id: int, name: str) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name}


def group_chat(chat_id: int, title: str = "铁塔厂家属院居民群") -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": title}


def private_chat(user_id: int, name: str) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": name}


def message_update(
    chat: dict[str, Any], sender: dict[str, Any], text: str = "", *, photo: str | None = None,
    entities: list[dict[str, Any]] | None = None, reply_to: dict[str, Any] | None = None,
    message_id: int | None = None, update_id: int | None = None,
) -> dict[str, Any]:
    """A message update; with `photo`, three sizes whose largest has file_id `photo` and the text as caption."""
    message: dict[str, Any] = {"message_id": message_id or next(_message_ids), "date": int(time.time()),
                               "chat": chat, "from": sender}
    if photo is not None:
        message["photo"] = [
            {"file_id": f"{photo}-s", "file_unique_id": f"{photo}-us", "width": 90, "height": 67, "file_size": 1200},
            {"file_id": photo, "file_unique_id": f"{photo}-ul", "width": 1280, "height": 960, "file_size": 98000},
            {"file_id": f"{photo}-m", "file_unique_id": f"{photo}-um", "width": 320, "height": 240, "file_size": 9000},
        ]
        if text:
            message["caption"] = text
            if entities:
                message["caption_entities"] = entities
    else:
        message["text"] = text
        if entities:
            message["entities"] = entities
    if text.startswith("/"):
        command = text.split(" ", 1)[0]
        message.setdefault("entities", []).insert(0, {"type": "bot_command", "offset": 0, "length": len(command)})
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    update: dict[str, Any] = {"message": message}
    if update_id is not None:
        update["update_id"] = update_id
    return update


def mention_entity(text: str, mention: str) -> dict[str, Any]:
    """The entity Telegram attaches to an @mention inside `text` (offsets in UTF-16 code units)."""
    start = text.index(mention)
    return {"type": "mention", "offset": len(text[:start].encode("utf-16-le")) // 2,
            "length": len(mention.encode("utf-16-le")) // 2}


def callback_update(sender: dict[str, Any], sent: dict[str, Any], payload: str,
                    query_id: str | None = None) -> dict[str, Any]:
    """A button press on a message the bot sent (as the fake recorded it)."""
    return {"callback_query": {"id": query_id or f"q{next(_message_ids)}", "from": sender,
                               "chat_instance": "ci", "message": sent, "data": payload}}

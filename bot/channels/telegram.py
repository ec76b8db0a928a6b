"""The Telegram channel: python-telegram-bot receives updates (polling or webhook) and sends replies and notices."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import json
import logging
import re
import warnings
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, FormData, TCPConnector, web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
    User,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, Application, ContextTypes, TypeHandler
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.outbox import Picture, SendResult, note_extras
from bot.pipeline.binding import bind_group
from bot.pipeline.dispatcher import Dispatcher
from bot.pipeline.invites import redeem_invite
from bot.pipeline.messages import Button, Inbound, Media, Reply
from config.settings import Settings, SettingsError
from models import Outbox, StaffInvite

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")
ALLOWED_UPDATES = ["message", "callback_query"]
GROUP_CHATS = (Chat.GROUP, Chat.SUPERGROUP)
WORKER_VERBS = ("接单", "办结", "转派", "退回")
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024  # a photo's caption, counted after entity parsing in UTF-16 code units
IMAGE_SENT = "telegram_message_id"  # set in extras["image"] once the chart went out on its own (see _deliver)
PHOTOS_SENT = "photos_sent"  # in extras: how many of a notice's case photos are out, so a retry skips them
ANSWER_LIMIT = 200
CALLBACK_DATA_LIMIT = 64
WEBHOOK_BODY_LIMIT = 4 * 1024 * 1024
REPLY_RETRIES = 2  # a reply is sent at once, not through the outbox: let the rate limiter retry a 429 itself
PRIVATE_START = "go"  # the deep-link payload that only opens the private chat
FORCE_REPLY_HINT = "（请直接回复本条消息继续）"
BUTTON_HINT = "（请点下方按钮选择）"


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
    token: str, api_base: str, *, limits: RateLimits | None, polling: bool, read_timeout: float = 10.0,
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


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form becomes a timedelta; both are handled
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def keyboard(buttons: Sequence[Button] | Sequence[Sequence[str]]) -> InlineKeyboardMarkup | None:
    """Inline keyboard rows of at most three buttons; payloads longer than Telegram allows are left out."""
    pairs = [(b.label, b.payload) if isinstance(b, Button) else (str(b[0]), str(b[1])) for b in buttons]
    pairs = [(label, payload) for label, payload in pairs if len(payload.encode()) <= CALLBACK_DATA_LIMIT]
    if not pairs:
        return None
    width = 2 if len(pairs) == 4 else 3
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=payload)
                                  for label, payload in pairs[i:i + width]] for i in range(0, len(pairs), width)])


def cut(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class Chart:
    """A notice's picture (the weekly report's chart), and whether an earlier attempt already sent it."""

    picture: Picture
    sent_as: int | None  # the message id of an earlier attempt's photo, when only the text is still owed

    @classmethod
    def of(cls, extras: dict[str, Any]) -> Chart | None:
        picture = Picture.of(extras)
        if picture is None:
            return None
        sent = extras["image"].get(IMAGE_SENT)
        return cls(picture, int(sent) if sent is not None else None)

    @property
    def filename(self) -> str:
        return self.picture.filename

    def upload(self) -> InputFile:
        return InputFile(self.picture.data, filename=self.picture.filename)


class TelegramSender:
    """Sends outbox rows: case photos first, then the text with its inline keyboard and any mention; a chart
    (extras["image"]) goes as an uploaded photo carrying the text as its caption when it fits."""

    channel = CHANNEL

    def __init__(self, bot: Bot, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.bot = bot
        self.sessions = sessions  # where a chart sent ahead of its text is noted; see _deliver

    async def send(self, row: Outbox) -> SendResult:
        """Sends one row and maps Telegram's answer to retry-after, transient or permanent."""
        try:
            message = await self._deliver(row)
        except RetryAfter as exc:
            return SendResult(ok=False, retry_after=_retry_seconds(exc), error=str(exc)[:500])
        except (Forbidden, BadRequest, ChatMigrated) as exc:  # blocked, deleted chat, bad request: retrying cannot help
            return SendResult(ok=False, permanent=True, error=f"{type(exc).__name__}: {exc}"[:500])
        except TelegramError as exc:  # 5xx, timeouts, network: retried by the outbox with backoff
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        return SendResult(ok=True, platform_message_id=str(message.message_id))

    async def _deliver(self, row: Outbox) -> Message:
        """Sends the row's parts and returns the message that bears its text (the sent ledger's id).

        Case photos go first, each noted in the row (extras[PHOTOS_SENT]) as it goes, so a retry sends only
        those not yet out. A chart goes out at most once per row, as far as we can know. When the text fits a
        caption, photo and text are one sendPhoto: it delivered everything or nothing, and a retry repeats that
        one call. When the text is too long, the chart goes first with the text's heading as its caption, and
        its message id is written into the row's extras["image"][IMAGE_SENT] (under the same claim, before the
        text is sent); an attempt that finds it there sends only the text. What is left is the window every
        send has: the platform accepted a part but we died, or timed out, before hearing or noting it."""
        try:
            chat_id = int(row.chat_id)
        except ValueError:
            raise BadRequest(f"chat id {row.chat_id!r} is not a Telegram chat") from None
        extras = row.extras or {}
        photos = [m for m in extras.get("media", []) if m.get("kind") == "photo" and m.get("channel") == CHANNEL]
        for number, photo in enumerate(photos, 1):
            if number <= extras.get(PHOTOS_SENT, 0):
                continue  # out in an earlier attempt
            await self.bot.send_photo(chat_id, photo=photo["ref"], caption=f"现场照片 {number}/{len(photos)}")
            row.extras = extras = {**extras, PHOTOS_SENT: number}
            await note_extras(self.sessions, row)
        text, visible, parse_mode = cut(row.text), cut(row.text), None
        if mention := extras.get("mention"):
            name, body = str(mention["name"]), cut(row.text, TEXT_LIMIT - 200)
            link = f'<a href="tg://user?id={int(mention["user_id"])}">{html.escape(name)}</a>'
            text, visible, parse_mode = f"{link} {html.escape(body)}", f"{name} {body}", "HTML"
        markup = keyboard(extras.get("buttons", []))
        chart = Chart.of(extras)
        try:
            if chart is not None and chart.sent_as is None and utf16_length(visible) <= CAPTION_LIMIT:
                return await self.bot.send_photo(chat_id, photo=chart.upload(), caption=text,
                                                 parse_mode=parse_mode, reply_markup=markup)
            if chart is not None and chart.sent_as is None:
                heading = cut(row.text.split("\n", 1)[0], CAPTION_LIMIT)
                sent = await self.bot.send_photo(chat_id, photo=chart.upload(), caption=heading)
                await self._note_chart_sent(row, sent.message_id)
        except BadRequest as exc:  # a picture Telegram refuses must not cost the text; a bad chat fails again below
            log.warning("chart %s refused for outbox row %s (%s); sending the text alone", chart and chart.filename,
                        row.id, exc)
        return await self.bot.send_message(chat_id, text, parse_mode=parse_mode, reply_markup=markup)

    async def _note_chart_sent(self, row: Outbox, message_id: int) -> None:
        """Records in the row that its chart is out, so a retry sends only the text."""
        row.extras = {**row.extras, "image": {**row.extras["image"], IMAGE_SENT: message_id}}
        await note_extras(self.sessions, row)


class KeyedLocks:
    """One lock per chat, so one chat's updates are handled in order while chats run concurrently."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def split_command(text: str, username: str) -> tuple[str, bool]:
    """'/report@thisbot x' → ('/report x', True); a command addressed to another bot → (text, False)."""
    if not text.startswith("/"):
        return text, True
    head, _, rest = text.partition(" ")
    command, _, target = head.partition("@")
    if target and target.lower() != username.lower():
        return text, False
    return f"{command} {rest}".strip() if rest else command, True


def strip_mentions(message: Message, text: str, bot_user: User) -> tuple[str, bool]:
    """Removes @mentions of this bot from the text and says whether there was one."""
    entities = message.parse_entities() if message.text else message.parse_caption_entities()
    mentioned = False
    for entity, value in entities.items():
        if entity.type == MessageEntity.MENTION and value[1:].lower() == (bot_user.username or "").lower():
            mentioned = True
            text = text.replace(value, " ", 1)
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_user.id:
            mentioned = True
    return re.sub(r" {2,}", " ", text).strip() if mentioned else text, mentioned


def to_inbound(message: Message, bot_user: User) -> Inbound | None:
    """The channel-neutral form of a message; None for bots, service messages and other bots' commands."""
    sender = message.from_user
    if sender is None or sender.is_bot:
        return None
    text = message.text or message.caption or ""
    text, mentioned = strip_mentions(message, text, bot_user)
    text, ours = split_command(text, bot_user.username or "")
    if not ours:
        return None
    media: tuple[Media, ...] = ()
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        media = (Media("photo", largest.file_id, {"channel": CHANNEL, "file_unique_id": largest.file_unique_id,
                                                 "width": largest.width, "height": largest.height}),)
    if not text and not media:
        return None
    reply_to = message.reply_to_message
    return Inbound(
        channel=CHANNEL, chat_id=str(message.chat.id), is_group=message.chat.type in GROUP_CHATS,
        sender_id=str(sender.id), sender_name=sender.full_name or str(sender.id), text=text,
        # Telegram message ids are unique per chat; with the chat they survive a restart and a redelivery.
        message_id=f"{message.chat.id}:{message.message_id}", sent_at=message.date, media=media,
        mentions_bot=mentioned,
        reply_to_bot=bool(reply_to and reply_to.from_user and reply_to.from_user.id == bot_user.id),
    )


def button_inbound(query: CallbackQuery, now: datetime) -> Inbound:
    """A button press as the words its payload stands for."""
    message = query.message
    chat = message.chat if message is not None else None
    return Inbound(
        channel=CHANNEL, chat_id=str(chat.id if chat else query.from_user.id),
        is_group=bool(chat and chat.type in GROUP_CHATS), sender_id=str(query.from_user.id),
        sender_name=query.from_user.full_name or str(query.from_user.id), text=query.data or "",
        message_id=f"cb:{query.id}", sent_at=now, callback=query.data or "",
    )


class TelegramChannel:
    """Telegram groups and private chats, for residents and staff, in polling or webhook mode."""

    name = CHANNEL

    def __init__(
        self, dispatcher: Dispatcher, application: Application, *, mode: str, public_url: str | None = None,
        webhook_secret: str | None = None, poll_timeout: float = 10.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.application = application
        self.mode = mode
        self.public_url = public_url
        self.webhook_secret = webhook_secret
        self.poll_timeout = poll_timeout
        self.sender = TelegramSender(application.bot, dispatcher.services.sessions)
        self._locks = KeyedLocks()
        self.processed = 0  # updates handled so far, for health figures, benchmarks and tests
        self._progress = asyncio.Condition()
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)

    @property
    def bot(self) -> Bot:
        return self.application.bot

    def setup(self, app: web.Application) -> None:
        """Adds the webhook route (webhook mode) and starts/stops PTB with the web app."""
        if self.mode == "webhook":
            app.router.add_post(WEBHOOK_PATH, self.webhook)
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)

    async def start(self) -> None:
        """Initializes PTB, then polls or registers the webhook with its secret."""
        await self.application.initialize()
        await self.application.start()
        if self.mode == "polling":
            assert self.application.updater is not None
            await self.application.updater.start_polling(timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES)
        else:
            await self.bot.set_webhook(f"{(self.public_url or '').rstrip('/')}{WEBHOOK_PATH}",
                                       secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES)

    async def stop(self) -> None:
        """Stops polling and PTB's application."""
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def _startup(self, app: web.Application) -> None:
        await self.start()

    async def _cleanup(self, app: web.Application) -> None:
        await self.stop()

    def deep_link(self, payload: str = PRIVATE_START) -> str:
        return f"https://t.me/{self.bot.username}?start={payload}"

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: 403 without the secret, 400 for a malformed body, else handled then 200."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not self.webhook_secret or not hmac.compare_digest(given, self.webhook_secret.encode()):
            return web.Response(status=403, text="forbidden")
        body = await _read_body(request, WEBHOOK_BODY_LIMIT)
        if body is None:
            return web.Response(status=413, text="too large")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="malformed JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            update = Update.de_json(payload, self.bot)
        except (TypeError, ValueError, KeyError, AttributeError):
            return web.Response(status=400, text="malformed update")
        await self.application.process_update(update)
        return web.Response(status=200)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed: %r", context.error, exc_info=context.error)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            if update.callback_query is not None:
                query = update.callback_query
                chat = query.message.chat.id if query.message is not None else query.from_user.id
                async with self._locks.hold(str(chat)):
                    await self.on_button(query)
            elif update.message is not None:
                async with self._locks.hold(str(update.message.chat.id)):
                    await self.on_message(update.message)
        finally:
            async with self._progress:
                self.processed += 1
                self._progress.notify_all()

    async def wait_processed(self, count: int) -> None:
        """Waits until `count` updates (of any kind) have been handled; callers bound it with a timeout."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.processed >= count)

    async def on_message(self, message: Message) -> None:
        """Handles one message: invites and /bind here, everything else through the dispatcher."""
        inbound = to_inbound(message, self.bot.bot)
        if inbound is None:
            return
        if inbound.text.startswith("/start ") and not inbound.is_group:
            token = inbound.text.removeprefix("/start ").strip()
            if token != PRIVATE_START:
                await self._say(message.chat.id, Reply(await self._redeem(inbound, token)))
                return
            inbound = replace(inbound, text="/start")
        if inbound.text.split(" ", 1)[0] == "/bind":
            await self._say(message.chat.id, Reply(await self._bind(inbound, message)),
                            reply_to=message.message_id if inbound.is_group else None)
            return
        replies = await self.dispatcher.handle(inbound)
        await self._answer_message(inbound, message, replies)

    async def _redeem(self, inbound: Inbound, token: str) -> str:
        services = self.dispatcher.services
        async with services.sessions.begin() as session:
            staff = await redeem_invite(session, token, channel=CHANNEL, user_id=inbound.sender_id,
                                        display_name=inbound.sender_name, private_chat_id=inbound.chat_id,
                                        now=services.clock.now())
            if staff is None:
                # A redelivered /start finds its own redemption: answer the same, change nothing.
                used_by = await session.scalar(select(StaffInvite.used_by).where(StaffInvite.token == token[:64]))
                if used_by == f"{CHANNEL}:{inbound.sender_id}":
                    return "您已完成工作人员身份绑定，派单和提醒会发到这里。"
                return "邀请链接无效、已使用或已过期，请联系社区重新生成。"
            return f"绑定成功：{staff.name}（{staff.code}）。今后派给您的工单会发到这里，可直接点按钮处理。"

    async def _bind(self, inbound: Inbound, message: Message) -> str:
        if not inbound.is_group:
            return "请在要绑定的居民群里发送 /bind 网格编号。"
        services = self.dispatcher.services
        async with services.sessions.begin() as session:
            return await bind_group(session, services.directory, channel=CHANNEL, chat_id=inbound.chat_id,
                                    title=message.chat.title or "", user_id=inbound.sender_id,
                                    unit_ref=inbound.text.removeprefix("/bind"), now=services.clock.now())

    async def _answer_message(
        self, inbound: Inbound, message: Message, replies: list[Reply], *, mention: User | None = None,
    ) -> None:
        """Sends the replies: in a group as replies to the message, private ones privately, follow-ups forced.

        `mention` is set for a button press: the pressed message is the bot's own, so a group answer names the
        presser instead of replying to them (a selective ForceReply then still targets them)."""
        if not replies:
            return
        follow_up = inbound.is_group and any(reply.awaits_answer for reply in replies)
        public = [r for r in replies if not (r.private and inbound.is_group)]
        for reply in replies:
            if reply.private and inbound.is_group:
                await self._say_privately(inbound, message, reply)
                continue
            in_group = inbound.is_group and mention is None
            await self._say(message.chat.id, reply, reply_to=message.message_id if in_group else None,
                            force_reply=follow_up and reply is public[-1],
                            mention=mention if inbound.is_group else None)

    async def _say_privately(self, inbound: Inbound, message: Message, reply: Reply) -> None:
        """Sends to the sender's private chat; when they never opened one, a deep link in the group instead."""
        if await self._say(int(inbound.sender_id), reply, quiet=(Forbidden,)):
            return
        await self._say(message.chat.id, Reply(
            f"这条回复含个人信息，请点 {self.deep_link()} 打开与我的私聊后再发一次。"),
            mention=User(int(inbound.sender_id), inbound.sender_name, is_bot=False))

    async def _say(
        self, chat_id: int, reply: Reply, *, reply_to: int | None = None, force_reply: bool = False,
        mention: User | None = None, quiet: tuple[type[TelegramError], ...] = (),
    ) -> Message | None:
        """Sends one reply now; a failure is logged, the message itself is already safe in the ledger."""
        markup: InlineKeyboardMarkup | ForceReply | None = keyboard(reply.buttons)
        text = cut(reply.text, TEXT_LIMIT - 200)
        if markup is not None and chat_id < 0:
            text += "\n" + BUTTON_HINT
        elif force_reply:
            # Privacy mode hides plain group messages from the bot; a reply to this one always reaches it.
            markup = ForceReply(selective=True, input_field_placeholder="直接回复本条消息")
            text += "\n" + FORCE_REPLY_HINT
        parse_mode = None
        if mention is not None:
            text, parse_mode = f"{mention.mention_html()} {html.escape(text)}", "HTML"
        try:
            return await self.bot.send_message(
                chat_id, text, reply_markup=markup, parse_mode=parse_mode,
                rate_limit_args=REPLY_RETRIES if self.bot.rate_limiter is not None else None,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None)
        except quiet:
            return None
        except TelegramError as exc:
            log.warning("telegram reply to %s failed: %s", chat_id, exc)
            return None

    async def on_button(self, query: CallbackQuery) -> None:
        """Handles a button press: refusals as alerts, else the pressed message is edited to show the result."""
        services = self.dispatcher.services
        inbound = button_inbound(query, services.clock.now())
        replies = await self.dispatcher.handle(inbound)
        refusal = next((r for r in replies if r.alert), None)
        if refusal is not None or not replies:
            text = refusal.text if refusal else "这个按钮已失效，或不是给您的。"
            await self._answer(query, text, alert=True)
            return
        await self._answer(query, cut(replies[0].text, ANSWER_LIMIT), alert=False)
        message = query.message
        if isinstance(message, Message) and message.text:
            verb = (query.data or "").split(" ", 1)[0]
            keep = message.reply_markup if verb in WORKER_VERBS else None
            with contextlib.suppress(TelegramError):
                await message.edit_text(cut(f"{message.text}\n——\n{replies[0].text}"), reply_markup=keep)
        if isinstance(message, Message) and (len(replies) > 1 or replies[0].awaits_answer):
            # The next question must be seen (an edit does not notify) and, in a group, be answerable.
            await self._answer_message(inbound, message, replies, mention=query.from_user)

    async def _answer(self, query: CallbackQuery, text: str, *, alert: bool) -> None:
        with contextlib.suppress(TelegramError):  # a redelivered or stale query can no longer be answered
            await query.answer(cut(text, ANSWER_LIMIT), show_alert=alert)



async def _read_body(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None past `limit` bytes (the app-wide 1 MiB cap would refuse a long update)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def telegram_channel(dispatcher: Dispatcher, settings: Settings, **overrides: Any) -> TelegramChannel:
    """Builds the channel from settings; webhook mode without a secret or a public URL refuses to start."""
    if not settings.telegram_token:
        raise SettingsError("invalid setting GRIDBOT_TELEGRAM_TOKEN: the Telegram channel needs a bot token")
    webhook = settings.telegram_mode == "webhook"
    if webhook and not settings.telegram_webhook_secret:
        raise SettingsError("invalid setting GRIDBOT_TELEGRAM_WEBHOOK_SECRET: webhook mode needs a secret")
    if webhook and not SECRET_FORMAT.fullmatch(settings.telegram_webhook_secret or ""):
        raise SettingsError("invalid setting GRIDBOT_TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z a-z 0-9 _ -")
    if webhook and not settings.public_url:
        raise SettingsError("invalid setting GRIDBOT_PUBLIC_URL: webhook mode needs the service's public URL")
    limits = overrides.pop("limits", RateLimits())
    application = build_application(settings.telegram_token, settings.telegram_api_base, limits=limits,
                                    polling=not webhook, read_timeout=overrides.pop("read_timeout", 10.0))
    return TelegramChannel(dispatcher, application, mode=settings.telegram_mode, public_url=settings.public_url,
                           webhook_secret=settings.telegram_webhook_secret, **overrides)


async def invite_link(settings: Settings, token: str) -> str:
    """The t.me deep link that redeems a staff invite; asks the Bot API for the bot's username."""
    assert settings.telegram_token
    bot = Bot(settings.telegram_token, base_url=settings.telegram_api_base,
              base_file_url=file_base_url(settings.telegram_api_base))
    async with bot:
        return f"https://t.me/{bot.username}?start={token}"

"""The Telegram channel: python-telegram-bot receives updates (polling or webhook); replies go out as durable rows."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from telegram import Bot, CallbackQuery, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.telegram.replies import plan_button, plan_message
from bot.channels.telegram.sender import TelegramSender, cut
from bot.channels.telegram.transport import RateLimits, build_application, file_base_url
from bot.channels.telegram.updates import CHANNEL, button_inbound, shallow, to_inbound, update_problem
from bot.delivery.fastpath import ReplySends
from bot.delivery.replies import plain_plan, reclaim, write_claimed
from bot.delivery.runner import Marks, deliver_claimed
from bot.pipeline.binding import bind_group
from bot.pipeline.dispatcher import Answer, Dispatcher
from bot.pipeline.invites import redeem_invite
from bot.pipeline.messages import Inbound, Reply
from config.settings import Settings, SettingsError
from models import Outbox, StaffInvite

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")
ALLOWED_UPDATES = ["message", "callback_query"]
ANSWER_LIMIT = 200
WEBHOOK_BODY_LIMIT = 4 * 1024 * 1024
PRIVATE_START = "go"  # the deep-link payload that only opens the private chat
SEND_GRACE = 10.0  # seconds a stopping channel waits for the replies it is sending


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


class TelegramChannel:
    """Telegram groups and private chats, for residents and staff, in polling or webhook mode."""

    name = CHANNEL

    def __init__(
        self, dispatcher: Dispatcher, application: Application, *, mode: str, public_url: str | None = None,
        webhook_secret: str | None = None, poll_timeout: float = 10.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        self.application = application
        self.mode = mode
        self.public_url = public_url
        self.webhook_secret = webhook_secret
        self.poll_timeout = poll_timeout
        self.sender = TelegramSender(application.bot, dispatcher.services.sessions)
        self._locks = KeyedLocks()
        self.marks = Marks(dispatcher.services.sessions, dispatcher.services.clock)
        self.replies = ReplySends(self._deliver)
        self.accepting = True  # False once shutdown began: the webhook answers 503 so Telegram keeps the update
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
        app.on_shutdown.append(self._stop_taking)
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

    async def stop_taking(self) -> None:
        """Shutdown's first step: no new updates (polling stops asking, the webhook answers 503)."""
        self.accepting = False
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()

    async def stop(self) -> None:
        """Stops polling and PTB's application (waiting for the updates in hand and, for a bounded time, the
        replies being sent)."""
        await self.stop_taking()
        if self.application.running:
            await self.application.stop()
        if not await self.replies.settled(SEND_GRACE):
            await self.replies.cancel()
        await self.application.shutdown()

    async def _startup(self, app: web.Application) -> None:
        await self.start()

    async def _stop_taking(self, app: web.Application) -> None:
        await self.stop_taking()

    async def _cleanup(self, app: web.Application) -> None:
        await self.stop()

    def deep_link(self, payload: str = PRIVATE_START) -> str:
        return f"https://t.me/{self.bot.username}?start={payload}"

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: 403 without the secret, 400 for a body that is not an update, else handled, 200."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not self.webhook_secret or not hmac.compare_digest(given, self.webhook_secret.encode()):
            return web.Response(status=403, text="forbidden")
        if not self.accepting:
            return web.Response(status=503, text="shutting down", headers={"Retry-After": "5"})
        if request.content_type not in ("application/json", "application/octet-stream", ""):
            return web.Response(status=415, text="JSON expected")
        body = await _read_body(request, WEBHOOK_BODY_LIMIT)
        if body is None:
            return web.Response(status=413, text="too large")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return web.Response(status=400, text="malformed JSON")
        if problem := update_problem(payload):
            return web.Response(status=400, text=problem)
        try:
            update = Update.de_json(shallow(payload), self.bot)
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError):
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
        """Waits until `count` updates (of any kind) have been handled and their replies sent; callers bound it
        with a timeout."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.processed >= count)
        await self.replies.settled()

    async def on_message(self, message: Message) -> None:
        """Handles one message: invites and /bind here, everything else through the dispatcher."""
        inbound = to_inbound(message, self.bot.bot)
        if inbound is None:
            return
        if inbound.text.startswith("/start ") and not inbound.is_group:
            token = inbound.text.removeprefix("/start ").strip()
            if token != PRIVATE_START:
                await self._say(inbound, await self._redeem(inbound, token))
                return
            inbound = replace(inbound, text="/start")
        if inbound.text.split(" ", 1)[0] == "/bind":
            await self._say(inbound, await self._bind(inbound, message),
                            reply_to=message.message_id if inbound.is_group else None)
            return
        answer = await self.dispatcher.answer(inbound, lambda i, replies: plan_message(
            i, replies, reply_to=message.message_id, deep_link=self.deep_link()))
        await self._send(answer.rows)

    async def _send(self, rows: list[Outbox]) -> None:
        """The fast path: the claimed reply rows, committed and so durable, go out now in the background (in each
        chat's order); the update does not wait for the send or its mark. What fails is retried by the runner."""
        self.replies.start(rows)

    async def _deliver(self, rows: list[Outbox]) -> None:
        await deliver_claimed(self.services.sessions, self.sender, rows, self.services.clock,
                              send_timeout=self.services.settings.send_timeout_seconds, marks=self.marks)

    async def _say(self, inbound: Inbound, text: str, *, reply_to: int | None = None) -> None:
        """A reply outside the dispatcher (invites, /bind), durable all the same; a redelivery takes over what is
        still owed."""
        reply = {"to": reply_to} if reply_to else {"plain": True}
        notices = [replace(n, extras={**n.extras, "reply": reply}) for n in plain_plan(inbound, [Reply(text)])]
        services = self.services
        now, lease = services.clock.now(), timedelta(seconds=services.settings.reply_lease_seconds)
        async with services.sessions.begin() as session:
            rows = await write_claimed(session, notices, now=now, lease=lease)
        await self._send(rows or await reclaim(services.sessions, inbound, now=now, lease=lease))

    async def _redeem(self, inbound: Inbound, token: str) -> str:
        services = self.services
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
        services = self.services
        async with services.sessions.begin() as session:
            return await bind_group(session, services.directory, channel=CHANNEL, chat_id=inbound.chat_id,
                                    title=message.chat.title or "", user_id=inbound.sender_id,
                                    unit_ref=inbound.text.removeprefix("/bind"), now=services.clock.now())

    async def on_button(self, query: CallbackQuery) -> None:
        """Handles a button press: refusals as alerts, else the pressed message is edited to show the result."""
        inbound = button_inbound(query, self.services.clock.now())
        answer: Answer = await self.dispatcher.answer(inbound, lambda i, replies: plan_button(
            query, i, replies, deep_link=self.deep_link()))
        refusal = next((r for r in answer.replies if r.alert), None)
        if refusal is not None or not answer.replies:
            text = refusal.text if refusal else "这个按钮已失效，或不是给您的。"
            await self._answer(query, text, alert=True)
        else:
            await self._answer(query, cut(answer.replies[0].text, ANSWER_LIMIT), alert=False)
        await self._send(answer.rows)

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
    read_timeout = overrides.pop("read_timeout", max(1.0, settings.send_timeout_seconds - 5.0))
    application = build_application(settings.telegram_token, settings.telegram_api_base, limits=limits,
                                    polling=not webhook, read_timeout=read_timeout)
    return TelegramChannel(dispatcher, application, mode=settings.telegram_mode, public_url=settings.public_url,
                           webhook_secret=settings.telegram_webhook_secret, **overrides)


async def invite_link(settings: Settings, token: str) -> str:
    """The t.me deep link that redeems a staff invite; asks the Bot API for the bot's username."""
    assert settings.telegram_token
    bot = Bot(settings.telegram_token, base_url=settings.telegram_api_base,
              base_file_url=file_base_url(settings.telegram_api_base))
    async with bot:
        return f"https://t.me/{bot.username}?start={token}"

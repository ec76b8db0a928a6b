"""The Telegram channel: python-telegram-bot receives updates (polling or webhook), each message turned into a
channel-neutral Inbound for the dispatcher; its replies planned as outbox rows (written in the message's transaction,
sent at once), addressed as a person in the chat would expect."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy import select
from telegram import CallbackQuery, Message, MessageEntity, Update, User
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.telegram.sender import TEXT_LIMIT, TelegramSender, cut, keyboard_json
from bot.channels.telegram.transport import (
    CHANNEL,
    CONCURRENT_UPDATES,
    GROUP_CHATS,
    KeyedLocks,
    MessageUpdate,
    UpdateQueue,
    UpdatesBot,
    message_update,
    read_body,
    shallow,
    update_problem,
)
from bot.delivery.outbox import Notice, plain_plan, reclaim, reply_key, write_claimed
from bot.delivery.runner import Marks, ReplySends, deliver_claimed
from bot.pipeline.binding import bind_group
from bot.pipeline.dispatcher import Answer, Dispatcher
from bot.pipeline.invites import redeem_invite
from bot.pipeline.messages import Inbound, Media, Reply
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


WORKER_VERBS = ("接单", "办结", "转派", "退回")
FORCE_REPLY_HINT = "（请直接回复本条消息继续）"
BUTTON_HINT = "（请点下方按钮选择）"
PRIVATE_HINT = "这条回复含个人信息，请点 {link} 打开与我的私聊后再发一次。"


def split_command(text: str, username: str) -> tuple[str, bool]:
    """'/report@thisbot x' → ('/report x', True); a command addressed to another bot → (text, False)."""
    if not text.startswith("/"):
        return text, True
    head, _, rest = text.partition(" ")
    command, _, target = head.partition("@")
    if target and target.lower() != username.lower():
        return text, False
    return f"{command} {rest}".strip() if rest else command, True


def _entities(message: dict[str, Any], text: str) -> list[tuple[dict[str, Any], str]]:
    """The message's entities with their text (offsets in UTF-16 units, as the Bot API counts); an entity whose
    offsets cut a character in two is left out."""
    entities = message.get("entities" if message.get("text") else "caption_entities")
    if not entities or not text:
        return []
    encoded = text.encode("utf-16-le")
    found = []
    for entity in entities:
        try:
            found.append((entity, encoded[entity["offset"] * 2:(entity["offset"] + entity["length"]) * 2]
                          .decode("utf-16-le")))
        except UnicodeDecodeError:  # the offsets are the sender's
            continue
    return found


def strip_mentions(message: dict[str, Any], text: str, bot_user: User) -> tuple[str, bool]:
    """Removes @mentions of this bot from the text and says whether there was one."""
    mentioned = False
    for entity, value in _entities(message, text):
        if entity["type"] == MessageEntity.MENTION and value[1:].lower() == (bot_user.username or "").lower():
            mentioned = True
            text = text.replace(value, " ", 1)
        elif (entity["type"] == MessageEntity.TEXT_MENTION and isinstance(entity.get("user"), dict)
              and entity["user"].get("id") == bot_user.id):
            mentioned = True
    return re.sub(r" {2,}", " ", text).strip() if mentioned else text, mentioned


def full_name(person: dict[str, Any]) -> str:
    """A Telegram user's name as PTB's User.full_name gives it: first name, and last name when there is one."""
    first, last = person.get("first_name") or "", person.get("last_name")
    return f"{first} {last}" if last else first


def to_inbound(message: dict[str, Any], bot_user: User) -> Inbound | None:
    """The channel-neutral form of a message (the Bot API's JSON, checked by update_problem); None for bots, service
    messages and other bots' commands."""
    sender = message.get("from")
    if sender is None or sender.get("is_bot"):
        return None
    text = message.get("text") or message.get("caption") or ""
    text, mentioned = strip_mentions(message, text, bot_user)
    text, ours = split_command(text, bot_user.username or "")
    if not ours:
        return None
    media: tuple[Media, ...] = ()
    if photo := message.get("photo"):
        largest = max(photo, key=lambda size: (size["width"] * size["height"], size.get("file_size") or 0))
        media = (Media("photo", largest["file_id"], {"channel": CHANNEL, "file_unique_id": largest["file_unique_id"],
                                                    "width": largest["width"], "height": largest["height"]}),)
    if not text and not media:
        return None
    chat = message["chat"]
    reply_to = message.get("reply_to_message")
    quoted = (reply_to or {}).get("from")
    quotes_bot = bool(quoted and quoted.get("id") == bot_user.id)
    return Inbound(
        channel=CHANNEL, chat_id=str(chat["id"]), is_group=chat["type"] in GROUP_CHATS,
        sender_id=str(sender["id"]), sender_name=full_name(sender) or str(sender["id"]), text=text,
        # Telegram message ids are unique per chat; with the chat they survive a restart and a redelivery.
        message_id=f"{chat['id']}:{message['message_id']}", sent_at=datetime.fromtimestamp(message["date"], UTC),
        media=media,
        mentions_bot=mentioned,
        reply_to_bot=quotes_bot,
        # The outbox's sent ledger knows which case the quoted notice was about (platform_message_id).
        extras={"reply_to": str(reply_to["message_id"])} if quotes_bot and reply_to else {},
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


def _notice(inbound: Inbound, index: int, chat_id: int | str, text: str, extras: dict[str, Any]) -> Notice:
    return Notice(dedupe_key=reply_key(inbound, index), channel=inbound.channel, chat_id=str(chat_id),
                  recipient=f"{inbound.channel}:{inbound.sender_id}", text=text, extras=extras)


def plan_message(inbound: Inbound, replies: Sequence[Reply], *, reply_to: int | None, deep_link: str,
                 mention: dict[str, Any] | None = None, first_index: int = 0) -> list[Notice]:
    """In a group: replies to the message (or naming `mention`, a button's presser), the last public one asking for
    an answer when the dialogue goes on; private replies in the sender's private chat, with a deep link in the
    group when they never opened one. In a private chat: plain replies."""
    notices: list[Notice] = []
    follow_up = inbound.is_group and any(reply.awaits_answer for reply in replies)
    public = [r for r in replies if not (r.private and inbound.is_group)]
    for index, reply in enumerate(replies, first_index):
        buttons = [[b.label, b.payload] for b in reply.buttons]
        text = cut(reply.text, TEXT_LIMIT - 200)
        if reply.private and inbound.is_group:
            presser = {"name": inbound.sender_name, "user_id": int(inbound.sender_id)}
            notices.append(_notice(inbound, index, inbound.sender_id, text, {
                "buttons": buttons, "reply": {"private": True},
                "fallback": {"chat_id": inbound.chat_id, "text": PRIVATE_HINT.format(link=deep_link),
                             "mention": presser}}))
            continue
        answer: dict[str, Any] = {}
        if inbound.is_group and mention is None and reply_to is not None:
            answer["to"] = reply_to
        if keyboard_json(reply.buttons) is not None and inbound.is_group:
            text += "\n" + BUTTON_HINT
        elif follow_up and reply is public[-1] and not buttons:
            # Privacy mode hides plain group messages from the bot; a reply to this one always reaches it.
            answer["force"] = True
            text += "\n" + FORCE_REPLY_HINT
        extras: dict[str, Any] = {"buttons": buttons, "reply": answer or {"plain": True}}
        if mention is not None and inbound.is_group:
            extras["mention"] = mention
        notices.append(_notice(inbound, index, inbound.chat_id, text, extras))
    return notices


def plan_button(query: CallbackQuery, inbound: Inbound, replies: Sequence[Reply], *, deep_link: str) -> list[Notice]:
    """A button's outcome: the pressed message edited to show it, and the next question sent (an edit does not
    notify) when there is more to say or the dialogue goes on. A refusal is an alert only, nothing durable."""
    if not replies or any(r.alert for r in replies):
        return []
    notices: list[Notice] = []
    message = query.message
    if isinstance(message, Message) and message.text:
        verb = (query.data or "").split(" ", 1)[0]
        keep = message.reply_markup.to_dict() if verb in WORKER_VERBS and message.reply_markup else None
        notices.append(_notice(inbound, 0, message.chat.id, cut(f"{message.text}\n——\n{replies[0].text}"),
                               {"edit": {"message_id": message.message_id, "keep": keep}}))
    if isinstance(message, Message) and (len(replies) > 1 or replies[0].awaits_answer):
        presser = {"name": query.from_user.full_name or str(query.from_user.id), "user_id": query.from_user.id}
        notices += plan_message(inbound, replies, reply_to=None, deep_link=deep_link, mention=presser, first_index=1)
    return notices


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
        self._progressed: asyncio.Event | None = None  # set at the next handled update, for wait_processed
        self._polled: set[asyncio.Task[None]] = set()  # polled message updates being handled (see _take_polled)
        self._room: asyncio.Future[None] | None = None  # set when one of CONCURRENT_UPDATES polled ones is done
        if isinstance(application.update_queue, UpdateQueue):
            application.update_queue.take = self._take_polled
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_handler(TypeHandler(MessageUpdate, self._on_update))  # polled messages (UpdatesBot)
        application.add_error_handler(self._on_error)

    @property
    def bot(self) -> UpdatesBot:
        return self.application.bot  # type: ignore[return-value]  (build_application's bot)

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
        if self._polled:
            await asyncio.gather(*self._polled, return_exceptions=True)
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
        body = await read_body(request, WEBHOOK_BODY_LIMIT)
        if body is None:
            return web.Response(status=413, text="too large")
        try:
            payload = orjson.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # orjson's errors are ValueErrors
            return web.Response(status=400, text="malformed JSON")
        if problem := update_problem(payload):
            return web.Response(status=400, text=problem)
        if (message := message_update(payload)) is not None:
            try:  # as PTB's Application would for an update it processed: a failure is logged, the answer is 200
                await self.handle(message)
            except Exception as error:
                log.error("telegram update failed: %r", error, exc_info=error)
            return web.Response(status=200)
        try:
            update = Update.de_json(shallow(payload), self.bot)
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError):
            return web.Response(status=400, text="malformed update")
        await self.application.process_update(update)
        return web.Response(status=200)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed: %r", context.error, exc_info=context.error)

    async def _on_update(self, update: MessageUpdate | Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.handle(update)

    async def _take_polled(self, update: MessageUpdate) -> None:
        """A polled message update, handled in a task of its own as PTB would (at most CONCURRENT_UPDATES at once:
        past that, the updater waits before it polls again); a failure is logged as PTB's error handler does."""
        while len(self._polled) >= CONCURRENT_UPDATES:
            if self._room is None or self._room.done():
                self._room = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._room)
        task = asyncio.create_task(self._handle_polled(update))
        self._polled.add(task)
        task.add_done_callback(self._polled_done)

    async def _handle_polled(self, update: MessageUpdate) -> None:
        try:
            await self.handle(update)
        except Exception as error:
            log.error("telegram update failed: %r", error, exc_info=error)

    def _polled_done(self, task: asyncio.Task[None]) -> None:
        self._polled.discard(task)
        if self._room is not None and not self._room.done():
            self._room.set_result(None)

    async def handle(self, update: MessageUpdate | Update) -> None:
        """One update, after the earlier ones of its chat: a message, or a button press."""
        try:
            if isinstance(update, MessageUpdate):
                async with self._locks.hold(str(update.message["chat"]["id"])):
                    await self.on_message(update.message)
            elif update.callback_query is not None:
                query = update.callback_query
                chat = query.message.chat.id if query.message is not None else query.from_user.id
                async with self._locks.hold(str(chat)):
                    await self.on_button(query)
        finally:
            self.processed += 1
            if self._progressed is not None:
                self._progressed.set()
                self._progressed = None

    async def wait_processed(self, count: int) -> None:
        """Waits until `count` updates (of any kind) have been handled and their replies sent; callers bound it
        with a timeout."""
        while self.processed < count:
            if self._progressed is None:
                self._progressed = asyncio.Event()
            await self._progressed.wait()
        await self.replies.settled()

    async def on_message(self, message: dict[str, Any]) -> None:
        """Handles one message (the Bot API's JSON): invites and /bind here, everything else through the dispatcher."""
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
                            reply_to=message["message_id"] if inbound.is_group else None)
            return
        answer = await self.dispatcher.answer(inbound, lambda i, replies: plan_message(
            i, replies, reply_to=message["message_id"], deep_link=self.deep_link()))
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

    async def _bind(self, inbound: Inbound, message: dict[str, Any]) -> str:
        if not inbound.is_group:
            return "请在要绑定的居民群里发送 /bind 网格编号。"
        services = self.services
        async with services.sessions.begin() as session:
            return await bind_group(session, services.directory, channel=CHANNEL, chat_id=inbound.chat_id,
                                    title=message["chat"].get("title") or "", user_id=inbound.sender_id,
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
            await self.bot.post_json("answerCallbackQuery", {"callback_query_id": query.id,
                                                             "text": cut(text, ANSWER_LIMIT), "show_alert": alert})

"""The dispatcher: stores each inbound once, decides whether it is addressed to the bot, and routes it to its handler.

Two names, two jobs: the dispatcher takes every inbound message, records it and decides whether and to which
handler it goes; a handler (handlers/, one router per feature, composed in handlers/__init__.py) answers one
message of its feature with the Context below."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import ReplyPlan, reclaim, write_claimed
from bot.metrics import MESSAGES_IN
from bot.pipeline.dialogue import DialogueState, save_state
from bot.pipeline.identities import Actor, SenderAndInsert, find_sender, identify
from bot.pipeline.limits import TOO_FAST, SenderLimit
from bot.pipeline.messages import Button, Inbound, Reply, clean_text, storable
from bot.pipeline.retry import first_retry, payload_of
from bot.understanding.classifier import Classification, Classifier, Intent
from bot.understanding.emergencies import emergency_in
from bot.understanding.offers import offer_kind
from bot.understanding.triggers import fold_triggers
from models import InboundMessage, InboundStatus, Outbox
from models.db import Prepared

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

LEDGER_TEXT_LIMIT = 100_000
FAILURE_REPLY = "抱歉，系统暂时出错。您的消息已记录，工作人员会尽快跟进。"
STILL_WAITING = "（刚才的事项还没办完，请接着回答上面的问题；不需要了请回复「取消」。）"
# Replies this short (确认, 取消, 好的, a building) come again and again from many residents: their classification by
# the rules of the moment is kept (up to KEPT_SHORT, then forgotten all at once). A Classification is immutable.
SHORT_TEXT = 8
KEPT_SHORT = 1024


# A handler says whether it handled the message: True, or False when the text is not something it can use,
# so the dispatcher may try others (and, in a group, treats the message as chatter).
Handler = Callable[["Context"], Awaitable[bool]]


@dataclass
class Context:
    """One message being handled: who sent it, where they stand, and the replies to send back."""

    inbound: Inbound
    text: str
    session: AsyncSession
    actor: Actor
    state: DialogueState
    services: Services
    now: datetime
    classifier: Classifier  # the rules as they were when the message came in, for the whole message
    replies: list[Reply] = field(default_factory=list)
    case_id: int | None = None
    _classification: Classification | None = None
    short_texts: dict[str, Classification] | None = None  # the dispatcher's classifications of short texts

    @property
    def in_group(self) -> bool:
        return self.inbound.is_group

    def classification(self) -> Classification:
        if self._classification is None:
            kept, text = self.short_texts, self.text
            if kept is None or len(text) > SHORT_TEXT:
                self._classification = self.classifier.classify(text)
            elif (found := kept.get(text)) is not None:
                self._classification = found
            else:
                if len(kept) >= KEPT_SHORT:
                    kept.clear()
                self._classification = kept[text] = self.classifier.classify(text)
        return self._classification

    def reply(self, text: str, *, buttons: tuple[Button, ...] = (), private: bool = False,
              alert: bool = False) -> None:
        self.replies.append(Reply(text, buttons, private, alert))

    def start(self, flow: str, step: str, **values: Any) -> None:
        ttl = timedelta(minutes=self.services.settings.conversation_ttl_minutes)
        self.state = DialogueState(flow, step, dict(values), self.now + ttl)

    def goto(self, step: str, **values: Any) -> None:
        self.state.step = step
        self.state.values.update(values)
        self.state.expires_at = self.now + timedelta(minutes=self.services.settings.conversation_ttl_minutes)

    def finish(self) -> None:
        self.state = DialogueState()


@dataclass(frozen=True, slots=True)
class StaffCommand:
    """Command words and their handler (staff commands, and the few resident commands such as 人工)."""

    pattern: re.Pattern[str]
    handler: Handler


class HandlerRouter:
    """Maps intents, conversation steps and staff command words to handlers; routers nest like aiogram's."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.intents: dict[Intent, Handler] = {}
        self.steps: dict[tuple[str, str], Handler] = {}
        self.staff_commands: list[StaffCommand] = []
        self.commands: list[StaffCommand] = []  # command words anyone may type; the handler checks who asks
        self.resident_words: list[re.Pattern[str]] = []  # words the bot tells residents to type, e.g. 我的诉求
        self.resident_commands: list[StaffCommand] = []  # resident words with their own handler, e.g. 人工
        self.asides: list[StaffCommand] = []  # words answered mid-dialogue without ending it, e.g. 谢谢
        self.overheard_handler: Handler | None = None  # a group message not addressed to the bot
        self.quote_handler: Handler | None = None  # a message quoting one of the bot's (Inbound.extras["reply_to"])
        self._joins: dict[str, tuple[int, re.Pattern[str] | None]] = {}  # list name -> (its length, joined)

    def intent(self, *intents: Intent) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for intent in intents:
                if intent in self.intents:
                    raise ValueError(f"intent {intent} already handled")
                self.intents[intent] = handler
            return handler
        return register

    def step(self, flow: str, *steps: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for step in steps:
                self.steps[(flow, step)] = handler
            return handler
        return register

    def staff_command(self, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.staff_commands.append(StaffCommand(re.compile(pattern), handler))
            return handler
        return register

    def command(self, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands.append(StaffCommand(re.compile(pattern), handler))
            return handler
        return register

    def addressed_by(self, pattern: str) -> None:
        """Words that address the bot by form alone, in a group too (what the bot itself tells residents to type)."""
        self.resident_words.append(re.compile(pattern))

    def resident_command(self, pattern: str) -> Callable[[Handler], Handler]:
        """Resident words that address the bot and go to this handler before any classification."""
        def register(handler: Handler) -> Handler:
            self.resident_words.append(re.compile(pattern))
            self.resident_commands.append(StaffCommand(re.compile(pattern), handler))
            return handler
        return register

    def aside(self, pattern: str) -> Callable[[Handler], Handler]:
        """Words answered whenever they are said to the bot, an open dialogue kept waiting (谢谢, 我的诉求)."""
        def register(handler: Handler) -> Handler:
            self.asides.append(StaffCommand(re.compile(pattern), handler))
            return handler
        return register

    def overheard(self, handler: Handler) -> Handler:
        """Registers the one handler that hears group messages nobody addressed to the bot."""
        if self.overheard_handler is not None:
            raise ValueError("overheard messages already handled")
        self.overheard_handler = handler
        return handler

    def quoted(self, handler: Handler) -> Handler:
        """Registers the one handler that hears a reply to one of the bot's messages when no dialogue is open."""
        if self.quote_handler is not None:
            raise ValueError("replies to the bot's messages already handled")
        self.quote_handler = handler
        return handler

    def include(self, *routers: HandlerRouter) -> HandlerRouter:
        for router in routers:
            if router.overheard_handler is not None:
                self.overheard(router.overheard_handler)
            if router.quote_handler is not None:
                self.quoted(router.quote_handler)
            self.resident_words.extend(router.resident_words)
            self.resident_commands.extend(router.resident_commands)
            self.asides.extend(router.asides)
            for intent, handler in router.intents.items():
                if intent in self.intents:
                    raise ValueError(f"intent {intent} handled by two routers")
                self.intents[intent] = handler
            self.steps.update(router.steps)
            self.staff_commands.extend(router.staff_commands)
            self.commands.extend(router.commands)
        return self

    def is_resident_command(self, text: str) -> bool:
        joined = self._joined("resident_words", self.resident_words)
        if joined is not None:
            return joined.match(text) is not None
        return any(pattern.match(text) for pattern in self.resident_words)

    def resident_handler(self, text: str) -> Handler | None:
        return self._first("resident_commands", self.resident_commands, text)

    def aside_handler(self, text: str) -> Handler | None:
        return self._first("asides", self.asides, text, search=True)

    def staff_handler(self, text: str) -> Handler | None:
        return self._first("staff_commands", self.staff_commands, text)

    def command_handler(self, text: str) -> Handler | None:
        return self._first("commands", self.commands, text)

    def _first(self, name: str, commands: list[StaffCommand], text: str, *, search: bool = False) -> Handler | None:
        """The handler of the first command whose pattern matches the text (at its start, or anywhere with
        `search`). Most messages match none: one pattern joining them all says so in one call."""
        joined = self._joined(name, commands)
        if joined is not None and (joined.search(text) if search else joined.match(text)) is None:
            return None
        if search:
            return next((c.handler for c in commands if c.pattern.search(text)), None)
        return next((c.handler for c in commands if c.pattern.match(text)), None)

    def join_patterns(self) -> None:
        """Joins every list's patterns now (tens of milliseconds of regex compiling, which re's own cache keeps for
        the process), rather than at the first messages."""
        for name in ("resident_words", "resident_commands", "asides", "staff_commands", "commands"):
            self._joined(name, getattr(self, name))

    def _joined(self, name: str, entries: list[Any]) -> re.Pattern[str] | None:
        """The list's patterns joined (_joined_patterns), made again when the list has grown since."""
        made = self._joins.get(name)
        if made is None or made[0] != len(entries):
            made = self._joins[name] = (len(entries), _joined_patterns(
                [entry if isinstance(entry, re.Pattern) else entry.pattern for entry in entries]))
        return made[1]


_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")  # \1, (?P=name), (?(1)...): a group's number or name


def _joined_patterns(patterns: list[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One pattern that matches (or finds a match) exactly where one of `patterns` would: an alternation tries each
    at a position in turn, so it matches there iff one of them does. None when they cannot be joined (differing
    flags, a backreference, a group name twice) or are fewer than two."""
    if len(patterns) < 2 or len({p.flags for p in patterns}) != 1 or any(
            not isinstance(p.pattern, str) or _BACKREFERENCE.search(p.pattern) for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), patterns[0].flags)
    except re.error:
        return None


class Dispatcher:
    """Turns one Inbound into replies, in one transaction with every row and notice it causes."""

    def __init__(self, services: Services, router: HandlerRouter) -> None:
        self.services = services
        self.router = router
        router.join_patterns()
        self.senders = SenderLimit(services.settings.inbound_per_sender_per_minute)
        self._short_texts: tuple[Classifier | None, dict[str, Classification]] = (None, {})

    @staticmethod
    def is_explicit(inbound: Inbound, text: str, classifier: Classifier) -> bool:
        """Addressed to the bot by form alone: a mention, a reply to the bot, a button, a command or a hashtag."""
        if inbound.mentions_bot or inbound.reply_to_bot or inbound.callback or text.startswith("/"):
            return True
        return "#" in text and any(tag in text for tag in classifier.hashtags)

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Handles one message; a redelivered message id returns no replies and changes nothing."""
        return (await self.answer(inbound)).replies

    async def answer(self, inbound: Inbound, plan: ReplyPlan | None = None) -> Answer:
        """Handles one message; with a plan, its replies are written as claimed outbox rows in the same transaction
        (returned for the caller to send at once). A redelivered message changes nothing and, with a plan, takes
        over the replies still owed to it."""
        settings = self.services.settings
        inbound = storable(inbound)
        text, was_cut = clean_text(inbound.text, settings.max_text_chars)
        now = self.services.clock.now()
        lease = timedelta(seconds=settings.reply_lease_seconds)
        try:
            await self.services.refresh_directory()  # a district seeded since start is placed too
            async with self.services.sessions.begin() as session:
                replies = await self._handle(session, inbound, text, now)
                if replies is _REDELIVERED or replies is None:
                    rows: list[Outbox] = []
                else:
                    if was_cut:
                        replies.append(Reply(f"（消息过长，只收录了前 {settings.max_text_chars} 字。）"))
                    rows = await write_claimed(session, plan(inbound, replies), now=now, lease=lease) if plan else []
        except Exception as exc:  # the message must never be lost, whatever went wrong in a handler
            log.exception("handling %s/%s failed", inbound.channel, inbound.message_id)
            MESSAGES_IN.inc(inbound.channel, "failed")
            return await self._record_failure(inbound, now, exc, plan, lease)
        if replies is _REDELIVERED:
            MESSAGES_IN.inc(inbound.channel, "redelivered")
            rows = await reclaim(self.services.sessions, inbound, now=now, lease=lease) if plan else []
            return Answer([], rows, redelivered=True)
        MESSAGES_IN.inc(inbound.channel, "answered" if replies else "silent")
        return Answer(replies or [], rows)

    async def handle_in(self, session: AsyncSession, inbound: Inbound, now: datetime) -> list[Reply]:
        """Handles a message in the caller's transaction (a retry of a failed one: bot/pipeline/retry.py)."""
        text, _ = clean_text(storable(inbound).text, self.services.settings.max_text_chars)
        replies = await self._handle(session, storable(inbound), text, now)
        return [] if replies is _REDELIVERED or replies is None else replies

    async def _handle(self, session: AsyncSession, inbound: Inbound, text: str, now: datetime) -> list[Reply] | None:
        """The replies; None for chatter that is not answered, _REDELIVERED for a message seen before."""
        classifier = self.services.classifier.current()
        text = fold_triggers(text, classifier.hashtags)
        explicit = self.is_explicit(inbound, text, classifier) or self.router.is_resident_command(text)
        overheard = inbound.is_group and not explicit
        if overheard:  # chatter or not: the sender's open dialogue decides
            sender = await find_sender(session, inbound, now=now)
            if (not sender.state.is_open and self.router.staff_handler(text) is None
                    and self.router.command_handler(text) is None and offer_kind(classifier, text) is None):
                # Chatter: keep only the key that makes a redelivery harmless, never what residents said.
                await _record_inbound(session, inbound, now, InboundStatus.IGNORED, None)
                return None
        verdict = self.senders.admit(f"{inbound.channel}:{inbound.sender_id}", now)
        # A rate-limited message is kept for staff (run.py inbound --failed), not handled.
        ledger = _ledger_values(inbound, now, InboundStatus.HANDLED if verdict is None else InboundStatus.FAILED,
                                inbound.text[:LEDGER_TEXT_LIMIT],
                                error=None if verdict is None else "rate limited: too many messages from this sender")
        if overheard:
            ledger_id = _returned(await _LEDGER_INSERT.execute(session, ledger))
        else:  # the sender and the ledger row in one statement (the common case: every private message)
            sender, ledger_id = await _SENDER_AND_LEDGER(session, inbound, ledger, now=now)
        if ledger_id is None:
            return _REDELIVERED
        if verdict is not None:
            return [Reply(TOO_FAST)] if verdict else []  # told once per minute, then silence
        state = sender.state
        actor = await identify(session, inbound, sender, now=now)
        ctx = Context(inbound, text, session, actor, state, self.services, now, classifier,
                      short_texts=self._short_classifications(classifier))
        handled = await self._route(ctx, explicit)
        if not handled and overheard:
            await session.execute(_LEDGER_IGNORED, {"ledger_id": ledger_id})
            return None
        if ctx.state.is_open or state.is_open:
            await save_state(session, inbound.channel, inbound.chat_id, inbound.sender_id, ctx.state, now=now)
        if ctx.case_id is not None:
            await _LEDGER_CASE.execute_later(session, {"ledger_id": ledger_id, "case_id": ctx.case_id})
        if ctx.state.is_open:
            return [replace(reply, awaits_answer=True) for reply in ctx.replies]
        return ctx.replies

    def _short_classifications(self, classifier: Classifier) -> dict[str, Classification]:
        """The short texts' classifications by this classifier (the rules file's current one)."""
        kept = self._short_texts
        if kept[0] is not classifier:
            kept = self._short_texts = (classifier, {})
        return kept[1]

    async def _route(self, ctx: Context, explicit: bool) -> bool:
        """Staff commands first, then cancel/help, then the open step, then the classified intent."""
        if ctx.actor.is_staff and (handler := self.router.staff_handler(ctx.text)):
            return await handler(ctx)
        if (handler := self.router.command_handler(ctx.text)) and await handler(ctx):
            return True
        if ctx.inbound.callback and self.router.staff_handler(ctx.text):
            ctx.reply("这个按钮只有负责的工作人员可以使用。", alert=True)  # a forwarded or forged staff button
            return True
        waiting = (ctx.state.flow, ctx.state.step) if ctx.state.is_open else None
        if not ctx.actor.is_staff and (handler := self.router.resident_handler(ctx.text)):
            return self._reminded(ctx, waiting, await handler(ctx))
        if (ctx.inbound.extras.get("reply_to") and not ctx.state.is_open and (handler := self.router.quote_handler)
                and await handler(ctx)):
            return True
        if ((not ctx.in_group or explicit) and (handler := self.router.aside_handler(ctx.text))
                and self._reminded(ctx, waiting, await handler(ctx))):
            return True
        if ctx.in_group and not explicit and not ctx.state.is_open:
            # A resident's words that merely look like a staff command, or that read as a report to offer to file.
            overheard = self.router.overheard_handler
            return overheard is not None and await overheard(ctx)
        if ctx.text:
            intent = ctx.classification().intent
        else:
            intent = Intent.REPORT if ctx.inbound.media and not ctx.state.is_open else Intent.CHATTER
        slash_or_tag = ctx.text.startswith("/") or ("#" in ctx.text and explicit)
        if intent in (Intent.WISH, Intent.APPOINTMENT) and not slash_or_tag and emergency_in(ctx.text) is not None:
            intent = Intent.REPORT  # an emergency is reported at once, whatever else its words ask (大家帮忙看看)
        if intent in (Intent.CANCEL, Intent.HELP) or (slash_or_tag and intent in self.router.intents):
            return await self.router.intents[intent](ctx)
        if ctx.state.is_open:
            step = self.router.steps.get((ctx.state.flow, ctx.state.step))
            if step is not None and await step(ctx):
                return True
            if ctx.in_group and not explicit:
                return False
        handler = self.router.intents.get(intent) or self.router.intents[Intent.CHATTER]
        return await handler(ctx)

    @staticmethod
    def _reminded(ctx: Context, waiting: tuple[str, str] | None, handled: bool) -> bool:
        """Reminds the resident of the question still waiting when an aside was answered in the middle of it."""
        if handled and waiting is not None and ctx.state.is_open and (ctx.state.flow, ctx.state.step) == waiting:
            ctx.reply(STILL_WAITING)
        return handled

    async def _record_failure(self, inbound: Inbound, now: datetime, exc: Exception, plan: ReplyPlan | None,
                              lease: timedelta) -> Answer:
        replies = [Reply(FAILURE_REPLY)]
        async with self.services.sessions.begin() as session:
            # The failed transaction rolled the ledger row back; write it again so nothing is lost.
            ledger_id = await _record_inbound(session, inbound, now, InboundStatus.FAILED,
                                              inbound.text[:LEDGER_TEXT_LIMIT], error=repr(exc)[:2000],
                                              retry_at=first_retry(now), payload=payload_of(inbound))
            if ledger_id is None:  # another delivery of it got there first
                return Answer([], [], redelivered=True)
            rows = await write_claimed(session, plan(inbound, replies), now=now, lease=lease) if plan else []
        return Answer(replies, rows)


@dataclass(slots=True)
class Answer:
    """What handling one message gave: the replies, and (with a reply plan) their claimed outbox rows to send."""

    replies: list[Reply]
    rows: list[Outbox] = field(default_factory=list)
    redelivered: bool = False  # seen before: rows are the replies it was still owed, taken over


_REDELIVERED: list[Reply] = []  # _handle's answer for a message id already in the ledger (compared by identity)


_LEDGER = InboundMessage.__table__
_LEDGER_COLUMNS = ("channel", "platform_message_id", "chat_id", "sender_id", "received_at", "status", "text", "error",
                   "attempts", "retry_at", "payload")
# Prepared: the ledger insert runs for every message, chatter included.
_LEDGER_INSERT = Prepared(lambda insert: insert(_LEDGER).on_conflict_do_nothing(
    index_elements=["channel", "platform_message_id"]).returning(_LEDGER.c.id), _LEDGER_COLUMNS)
_SENDER_AND_LEDGER = SenderAndInsert(_LEDGER, ["channel", "platform_message_id"], _LEDGER.c.id, _LEDGER_COLUMNS,
                                     _LEDGER_INSERT)
_LEDGER_IGNORED = (update(_LEDGER).where(_LEDGER.c.id == bindparam("ledger_id"))
                   .values(status=InboundStatus.IGNORED, text=None))
_LEDGER_CASE = Prepared(lambda insert: update(_LEDGER).where(_LEDGER.c.id == bindparam("ledger_id")).values(
    case_id=bindparam("case_id")), ("ledger_id", "case_id"))


def _returned(rows: list[Any]) -> Any:
    """The RETURNING value of an insert that did nothing on conflict: None when the row was there already."""
    return rows[0][0] if rows else None


async def _record_inbound(
    session: AsyncSession, inbound: Inbound, now: datetime, status: InboundStatus, text: str | None, *,
    error: str | None = None, retry_at: datetime | None = None, payload: dict[str, Any] | None = None,
) -> int | None:
    """Inserts the ledger row; returns None when this (channel, message id) was seen before. A failed message
    with `retry_at` is handled again then by the retry job (bot/pipeline/retry.py)."""
    values = _ledger_values(inbound, now, status, text, error=error, retry_at=retry_at, payload=payload)
    return _returned(await _LEDGER_INSERT.execute(session, values))


def _ledger_values(
    inbound: Inbound, now: datetime, status: InboundStatus, text: str | None, *, error: str | None = None,
    retry_at: datetime | None = None, payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {"channel": inbound.channel, "platform_message_id": inbound.message_id, "chat_id": inbound.chat_id,
            "sender_id": inbound.sender_id, "received_at": now, "status": status, "text": text, "error": error,
            "attempts": 0, "retry_at": retry_at, "payload": payload}

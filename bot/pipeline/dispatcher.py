"""The dispatcher: stores each inbound once, decides whether it is addressed to the bot, and runs its handler."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.pipeline.dialogue import save_state
from bot.pipeline.identities import find_sender, identify
from bot.pipeline.messages import Inbound, Reply
from bot.pipeline.router import Context, HandlerRouter
from bot.services import Services
from bot.understanding.classifier import Classifier, Intent
from bot.understanding.offers import offer_kind
from bot.understanding.triggers import fold_triggers
from models import InboundMessage, InboundStatus
from models.db import PerDialect

log = logging.getLogger(__name__)

LEDGER_TEXT_LIMIT = 100_000
FAILURE_REPLY = "抱歉，系统暂时出错。您的消息已记录，工作人员会尽快跟进。"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff\ufffd]")


def storable(inbound: Inbound) -> Inbound:
    """PostgreSQL text cannot hold NUL and no database can hold a lone surrogate (a cut UTF-8 character read with
    surrogateescape): a message carrying either is kept with U+FFFD in their place."""
    fields = ("chat_id", "sender_id", "sender_name", "text", "message_id")
    if not any(_UNSTORABLE.search(getattr(inbound, name)) for name in fields):
        return inbound
    return replace(inbound, **{name: _UNSTORABLE.sub("\ufffd", getattr(inbound, name)) for name in fields})


def clean_text(text: str, limit: int) -> tuple[str, bool]:
    """Drops control characters and trims; returns the text cut to `limit` characters and whether it was cut."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text or "")).strip()
    return (text[:limit], True) if len(text) > limit else (text, False)


class Dispatcher:
    """Turns one Inbound into replies, in one transaction with every row and notice it causes."""

    def __init__(self, services: Services, router: HandlerRouter) -> None:
        self.services = services
        self.router = router

    @staticmethod
    def is_explicit(inbound: Inbound, text: str, classifier: Classifier) -> bool:
        """Addressed to the bot by form alone: a mention, a reply to the bot, a button, a command or a hashtag."""
        if inbound.mentions_bot or inbound.reply_to_bot or inbound.callback or text.startswith("/"):
            return True
        return "#" in text and any(tag in text for tag in classifier.hashtags)

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Handles one message; a redelivered message id returns no replies and changes nothing."""
        settings = self.services.settings
        inbound = storable(inbound)
        text, was_cut = clean_text(inbound.text, settings.max_text_chars)
        now = self.services.clock.now()
        try:
            async with self.services.sessions.begin() as session:
                replies = await self._handle(session, inbound, text, now)
        except Exception as exc:  # the message must never be lost, whatever went wrong in a handler
            log.exception("handling %s/%s failed", inbound.channel, inbound.message_id)
            return await self._record_failure(inbound, now, exc)
        if replies is None:
            return []
        if was_cut:
            replies.append(Reply(f"（消息过长，只收录了前 {settings.max_text_chars} 字。）"))
        return replies

    async def _handle(self, session: AsyncSession, inbound: Inbound, text: str, now: datetime) -> list[Reply] | None:
        classifier = self.services.classifier.current()
        text = fold_triggers(text, classifier.hashtags)
        explicit = self.is_explicit(inbound, text, classifier) or self.router.is_resident_command(text)
        sender = await find_sender(session, inbound, now=now)
        state = sender.state
        overheard = inbound.is_group and not explicit
        if (overheard and not state.is_open and self.router.staff_handler(text) is None
                and offer_kind(classifier, text) is None):
            # Chatter: keep only the key that makes a redelivery harmless, never what residents said.
            await _record_inbound(session, inbound, now, InboundStatus.IGNORED, None)
            return None
        ledger_id = await _record_inbound(session, inbound, now, InboundStatus.HANDLED,
                                          inbound.text[:LEDGER_TEXT_LIMIT])
        if ledger_id is None:
            return None
        actor = await identify(session, inbound, sender, now=now)
        ctx = Context(inbound, text, session, actor, state, self.services, now, classifier)
        handled = await self._route(ctx, explicit)
        if not handled and overheard:
            await session.execute(_LEDGER_IGNORED, {"ledger_id": ledger_id})
            return None
        if ctx.state.is_open or state.is_open:
            await save_state(session, inbound.channel, inbound.chat_id, inbound.sender_id, ctx.state, now=now)
        if ctx.case_id is not None:
            await session.execute(_LEDGER_CASE, {"ledger_id": ledger_id, "case_id": ctx.case_id})
        if ctx.state.is_open:
            return [replace(reply, awaits_answer=True) for reply in ctx.replies]
        return ctx.replies

    async def _route(self, ctx: Context, explicit: bool) -> bool:
        """Staff commands first, then cancel/help, then the open step, then the classified intent."""
        if ctx.actor.is_staff and (handler := self.router.staff_handler(ctx.text)):
            return await handler(ctx)
        if ctx.inbound.callback and self.router.staff_handler(ctx.text):
            ctx.reply("这个按钮只有负责的工作人员可以使用。", alert=True)  # a forwarded or forged staff button
            return True
        if not ctx.actor.is_staff and (handler := self.router.resident_handler(ctx.text)):
            return await handler(ctx)
        if ctx.in_group and not explicit and not ctx.state.is_open:
            # A resident's words that merely look like a staff command, or that read as a report to offer to file.
            overheard = self.router.overheard_handler
            return overheard is not None and await overheard(ctx)
        if ctx.text:
            intent = ctx.classification().intent
        else:
            intent = Intent.REPORT if ctx.inbound.media and not ctx.state.is_open else Intent.CHATTER
        slash_or_tag = ctx.text.startswith("/") or ("#" in ctx.text and explicit)
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

    async def _record_failure(self, inbound: Inbound, now: datetime, exc: Exception) -> list[Reply]:
        async with self.services.sessions.begin() as session:
            # The failed transaction rolled the ledger row back; write it again so nothing is lost.
            await _record_inbound(session, inbound, now, InboundStatus.FAILED, inbound.text[:LEDGER_TEXT_LIMIT],
                                  error=repr(exc)[:2000])
        return [Reply(FAILURE_REPLY)]


_LEDGER = InboundMessage.__table__
# Built once: the ledger insert runs for every message, chatter included.
_LEDGER_INSERT = PerDialect(lambda insert: insert(_LEDGER).on_conflict_do_nothing(
    index_elements=["channel", "platform_message_id"]).returning(_LEDGER.c.id))
_LEDGER_IGNORED = (update(_LEDGER).where(_LEDGER.c.id == bindparam("ledger_id"))
                   .values(status=InboundStatus.IGNORED, text=None))
_LEDGER_CASE = update(_LEDGER).where(_LEDGER.c.id == bindparam("ledger_id")).values(case_id=bindparam("case_id"))


async def _record_inbound(
    session: AsyncSession, inbound: Inbound, now: datetime, status: InboundStatus, text: str | None, *,
    error: str | None = None,
) -> int | None:
    """Inserts the ledger row; returns None when this (channel, message id) was seen before."""
    result = await session.execute(_LEDGER_INSERT(session), {
        "channel": inbound.channel, "platform_message_id": inbound.message_id, "chat_id": inbound.chat_id,
        "sender_id": inbound.sender_id, "received_at": now, "status": status, "text": text, "error": error,
    })
    return result.scalar_one_or_none()

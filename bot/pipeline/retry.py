"""Failed messages handled again: a message whose handling raised is kept in the ledger (status failed) with what
it takes to handle it again; a job retries it with backoff, a bounded number of times, and what still fails stays
listed for staff (`run.py inbound --failed`).

A retry runs in one transaction: the failed ledger row gives way to the new outcome, and the replies are queued
as outbox rows to the chat the message came from (the sender's private chat for private replies). Its reply keys
carry the attempt, so they never collide with the apology the first attempt sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from bot.delivery.outbox import enqueue, plain_plan
from bot.pipeline.messages import Inbound, Media
from models import Identity, InboundMessage, InboundStatus

if TYPE_CHECKING:
    from bot.pipeline.dispatcher import Dispatcher

log = logging.getLogger(__name__)

# The wait before each retry; after the last one the message stays failed, for staff.
RETRY_AFTER = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=3))
_LEDGER = InboundMessage.__table__


def payload_of(inbound: Inbound) -> dict[str, Any]:
    """What the ledger row does not hold of a message but a retry needs."""
    extras = inbound.extras
    try:
        json.dumps(extras)
    except (TypeError, ValueError):
        extras = {}
    return {"is_group": inbound.is_group, "sender_name": inbound.sender_name, "sent_at": inbound.sent_at.isoformat(),
            "media": [[m.kind, m.ref, m.extras] for m in inbound.media], "mentions_bot": inbound.mentions_bot,
            "reply_to_bot": inbound.reply_to_bot, "callback": inbound.callback, "extras": extras}


def first_retry(now: datetime) -> datetime:
    return now + RETRY_AFTER[0]


def inbound_of(row: InboundMessage) -> Inbound:
    """The message again, from its ledger row."""
    p = row.payload or {}
    return Inbound(channel=row.channel, chat_id=row.chat_id, is_group=bool(p.get("is_group")),
                   sender_id=row.sender_id, sender_name=p.get("sender_name") or row.sender_id, text=row.text or "",
                   message_id=row.platform_message_id,
                   sent_at=datetime.fromisoformat(p["sent_at"]) if p.get("sent_at") else row.received_at,
                   media=tuple(Media(kind, ref, extras or {}) for kind, ref, extras in p.get("media", [])),
                   mentions_bot=bool(p.get("mentions_bot")), reply_to_bot=bool(p.get("reply_to_bot")),
                   callback=p.get("callback"), extras=p.get("extras") or {})


@dataclass
class RetryTally:
    handled: int = 0
    failed: int = 0
    given_up: int = 0

    def __str__(self) -> str:
        return f"handled {self.handled}, failed again {self.failed}, left for staff {self.given_up}"


async def retry_failed(dispatcher: Dispatcher, now: datetime, *, limit: int = 50) -> RetryTally:
    """Handles again the failed messages whose retry is due; each failure pushes the next retry back."""
    sessions = dispatcher.services.sessions
    tally = RetryTally()
    async with sessions() as session:
        due = (await session.scalars(select(InboundMessage).where(
            InboundMessage.status == InboundStatus.FAILED, InboundMessage.retry_at <= now)
            .order_by(InboundMessage.retry_at, InboundMessage.id).limit(limit))).all()
    for row in due:
        attempt = row.attempts + 1
        try:
            if await _handle_again(dispatcher, row, attempt, now):
                tally.handled += 1
            continue
        except Exception as exc:
            log.warning("retry %s of inbound %s/%s failed: %r", attempt, row.channel, row.platform_message_id, exc)
            error = repr(exc)[:2000]
        last = attempt >= len(RETRY_AFTER)
        tally.given_up += last
        tally.failed += not last
        async with sessions.begin() as session:
            await session.execute(update(_LEDGER).where(_LEDGER.c.id == row.id).values(
                attempts=attempt, error=error, retry_at=None if last else now + RETRY_AFTER[attempt]))
    return tally


async def _handle_again(dispatcher: Dispatcher, row: InboundMessage, attempt: int, now: datetime) -> bool:
    """One retry in one transaction; False when another instance took the row first."""
    inbound = inbound_of(row)
    async with dispatcher.services.sessions.begin() as session:
        gone = await session.execute(delete(_LEDGER).where(
            _LEDGER.c.id == row.id, _LEDGER.c.status == InboundStatus.FAILED, _LEDGER.c.attempts == row.attempts))
        if gone.rowcount != 1:
            return False
        replies = await dispatcher.handle_in(session, inbound, now)
        if not replies:
            return True
        again = replace(inbound, message_id=f"{inbound.message_id}#retry{attempt}")
        private_chat = None
        if inbound.is_group and any(r.private for r in replies):
            private_chat = await session.scalar(select(Identity.private_chat_id).where(
                Identity.channel == inbound.channel, Identity.user_id == inbound.sender_id))
        for reply, notice in zip(replies, plain_plan(again, replies), strict=True):
            if reply.private and private_chat:
                notice = replace(notice, chat_id=private_chat)
            await enqueue(session, notice, now=now)
    return True

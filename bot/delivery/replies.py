"""Durable replies: a reply is an outbox row written in the transaction that causes it, claimed by its writer.

The dispatcher writes each reply as an outbox row already claimed (state sending, one attempt, a short lease)
in the same transaction as the case, events and notices it answers. The channel then sends the rows at once
(the fast path: no extra wait for a delivery tick) and marks them under that claim. If the process dies or the
send fails, nothing is lost: a failed send is retried by the delivery runner with backoff, and a claim whose
writer vanished runs out and the runner (of any instance) sends the row. A platform's redelivery of the message
finds the ledger row, changes nothing, and takes over the reply rows still owed (reclaim), so the resident who
never saw the answer gets it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.outbox import Notice
from bot.pipeline.messages import Inbound, Reply
from models import Outbox, SendState
from models.db import PerDialect

REPLY_PREFIX = "reply:"

# What a channel makes of one message's replies: outbox notices addressed the way the channel answers
# (in a group as a reply to the message, private ones in the sender's private chat, ...).
ReplyPlan = Callable[[Inbound, Sequence[Reply]], list[Notice]]


def reply_key(inbound: Inbound, index: int) -> str:
    """The dedupe key of a message's index-th reply: a redelivery can never queue it twice."""
    return f"{REPLY_PREFIX}{inbound.channel}:{inbound.message_id}:{index}"


def reply_prefix(inbound: Inbound) -> str:
    return f"{REPLY_PREFIX}{inbound.channel}:{inbound.message_id}:"


def plain_plan(inbound: Inbound, replies: Sequence[Reply]) -> list[Notice]:
    """Every reply to the chat the message came from, its buttons kept as [label, payload] pairs."""
    return [Notice(dedupe_key=reply_key(inbound, index), channel=inbound.channel, chat_id=inbound.chat_id,
                   recipient=f"{inbound.channel}:{inbound.sender_id}", text=reply.text,
                   extras={"buttons": [[b.label, b.payload] for b in reply.buttons]})
            for index, reply in enumerate(replies)]


_INSERT_CLAIMED = PerDialect(lambda insert: insert(Outbox.__table__).on_conflict_do_nothing(
    index_elements=["dedupe_key"]).returning(Outbox.__table__.c.id))


async def write_claimed(session: AsyncSession, notices: Sequence[Notice], *, now: datetime,
                        lease: timedelta) -> list[Outbox]:
    """Inserts the replies as rows claimed by the caller (sending, one attempt, leased) in the open transaction;
    returns detached rows for the fast path. A key already queued is skipped (its reply is on its way)."""
    rows: list[Outbox] = []
    for notice in notices:
        values = {
            "dedupe_key": notice.dedupe_key[:255], "channel": notice.channel, "chat_id": notice.chat_id,
            "recipient": notice.recipient, "text": notice.text, "extras": notice.extras, "case_id": notice.case_id,
            "state": SendState.SENDING, "attempts": 1, "due_at": now, "created_at": now, "lease_until": now + lease,
        }
        row_id = (await session.execute(_INSERT_CLAIMED(session), values)).scalar_one_or_none()
        if row_id is not None:
            rows.append(Outbox(id=row_id, **values))
    return rows


async def reclaim(sessions: async_sessionmaker[AsyncSession], inbound: Inbound, *, now: datetime,
                  lease: timedelta) -> list[Outbox]:
    """Claims the replies of a redelivered message that are still owed: queued, failed, or claimed by a writer
    whose lease ran out. Replies sent, dead, or still held by a live claim are left alone."""
    owed = or_(Outbox.state.in_([SendState.PENDING, SendState.FAILED]),
               (Outbox.state == SendState.SENDING) & (Outbox.lease_until < now))
    async with sessions.begin() as session:
        query = (select(Outbox).where(Outbox.dedupe_key.startswith(reply_prefix(inbound), autoescape=True), owed)
                 .order_by(Outbox.id))
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list((await session.scalars(query)).all())
        for row in rows:
            row.state = SendState.SENDING
            row.lease_until = now + lease
            row.attempts += 1
            row.due_at = now
    return rows


async def all_replies(sessions: async_sessionmaker[AsyncSession], inbound: Inbound) -> list[Outbox]:
    """Every reply row of a message, in order, whatever its state (a passive answer repeated to a platform retry)."""
    async with sessions() as session:
        query = select(Outbox).where(Outbox.dedupe_key.startswith(reply_prefix(inbound), autoescape=True))
        return list((await session.scalars(query.order_by(Outbox.id))).all())


def is_reply(row: Outbox) -> bool:
    return row.dedupe_key.startswith(REPLY_PREFIX)

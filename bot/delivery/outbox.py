"""The outbox, the ledger of everything the bot sends: notices enqueued in the caller's transaction, due rows
claimed, each send's result recorded; and durable replies (below).

Durable replies: a reply is an outbox row written in the transaction that causes it, claimed by its writer.

The dispatcher writes each reply as an outbox row already claimed (state sending, one attempt, a short lease)
in the same transaction as the case, events and notices it answers. The channel then sends the rows at once
(the fast path: no extra wait for a delivery tick) and marks them under that claim. If the process dies or the
send fails, nothing is lost: a failed send is retried by the delivery runner with backoff, and a claim whose
writer vanished runs out and the runner (of any instance) sends the row. A platform's redelivery of the message
finds the ledger row, changes nothing, and takes over the reply rows still owed (reclaim), so the resident who
never saw the answer gets it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, bindparam, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import configure_mappers

from bot.metrics import SENDS
from bot.pipeline.messages import Inbound, Reply
from models import Outbox, SendState
from models.db import Prepared, PreparedQuery

log = logging.getLogger(__name__)

UNBOUND_CHANNEL = "unbound"
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification to one chat, before it becomes an outbox row."""

    dedupe_key: str
    channel: str
    chat_id: str
    recipient: str
    text: str
    extras: dict[str, Any]
    case_id: int | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a channel sender reports for one row."""

    ok: bool
    permanent: bool = False  # True: retrying cannot help (blocked bot, unknown chat)
    retry_after: float | None = None  # seconds the platform asked us to wait
    error: str | None = None
    platform_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Picture:
    """The picture a notice carries in extras["image"] (the weekly report's chart), decoded."""

    filename: str
    mime: str
    data: bytes

    @classmethod
    def of(cls, extras: dict[str, Any]) -> Picture | None:
        """The notice's picture; None when it has none, or when its base64 is broken (logged: the text still goes)."""
        image = extras.get("image")
        if not isinstance(image, dict) or not image.get("png_base64"):
            return None
        try:
            data = base64.b64decode(image["png_base64"], validate=True)
        except (binascii.Error, ValueError):
            log.warning("outbox image %r is not base64; sending the text alone", image.get("filename"))
            return None
        return cls(str(image.get("filename") or "chart.png"), str(image.get("mime") or "image/png"), data)


class ChannelSender(Protocol):
    channel: str

    async def send(self, row: Outbox) -> SendResult: ...


_ENQUEUE = Prepared(lambda insert: insert(Outbox.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"]), (
    "dedupe_key", "channel", "chat_id", "recipient", "text", "extras", "case_id", "state", "attempts", "due_at",
    "created_at", "last_error"))


async def enqueue(session: AsyncSession, notice: Notice, *, now: datetime) -> None:
    """Adds the notice unless a row with its dedupe key exists; a target with no channel is recorded dead."""
    unbound = notice.channel == UNBOUND_CHANNEL
    values = {
        "dedupe_key": notice.dedupe_key[:255],
        "channel": notice.channel,
        "chat_id": notice.chat_id,
        "recipient": notice.recipient,
        "text": notice.text,
        "extras": notice.extras,
        "case_id": notice.case_id,
        "state": SendState.DEAD if unbound else SendState.PENDING,
        "attempts": 0,
        "due_at": now,
        "created_at": now,
        "last_error": "收件人未绑定任何渠道" if unbound else None,
    }
    await _ENQUEUE.execute_later(session, values)


async def claim_due(
    sessions: async_sessionmaker[AsyncSession], channel: str, *, now: datetime, limit: int = 50
) -> list[Outbox]:
    """Leases up to `limit` due rows of one channel; concurrent claimers never get the same row."""
    async with sessions.begin() as session:
        rows = await _CLAIM_DUE.execute(session, {"of_channel": channel, "now": now, "limit": limit,
                                                  "leased_until": now + LEASE})
    # RETURNING gives no promised order; the claim's (due_at is left as it was: at most now).
    return sorted((detached_row(**row._asdict()) for row in rows), key=lambda row: (row.due_at, row.id))


def _owed(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """Rows still to send: queued, failed, or claimed by a sender whose lease ran out (it crashed or vanished). No
    IN list, so that a prepared statement can hold it (`now` a bind parameter)."""
    state = _OUTBOX.c.state
    return or_(state == SendState.PENDING, state == SendState.FAILED,
               (state == SendState.SENDING) & (_OUTBOX.c.lease_until < now))


async def _claim(sessions: async_sessionmaker[AsyncSession], query: Select[tuple[Outbox]], *, now: datetime,
                 lease: timedelta) -> list[Outbox]:
    """Leases the rows the query selects to the caller (one more attempt); concurrent claimers never share a row."""
    async with sessions.begin() as session:
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list((await session.scalars(query)).all())
        for row in rows:
            row.state = SendState.SENDING
            row.lease_until = now + lease
            row.attempts += 1
            row.due_at = min(row.due_at, now)
    return rows


_OUTBOX = Outbox.__table__


def _claim_due_statement() -> Any:
    """One statement leasing a channel's due rows (the delivery runner's claim, every row or few of them at a time
    under load: through the ORM, a query, a flush and their objects each time): the rows' ids picked as claim_due's
    query did, locked and skipped when another claimer holds them on PostgreSQL, then updated and returned."""
    due = (select(_OUTBOX.c.id).where(_OUTBOX.c.channel == bindparam("of_channel"), _owed(bindparam("now")),
                                      _OUTBOX.c.due_at <= bindparam("now"))
           .order_by(_OUTBOX.c.due_at, _OUTBOX.c.id).limit(bindparam("limit"))
           .with_for_update(skip_locked=True))  # SQLite has no FOR UPDATE: its writer holds the database
    return (update(_OUTBOX).where(_OUTBOX.c.id.in_(due.scalar_subquery()))
            .values(state=SendState.SENDING, lease_until=bindparam("leased_until"), attempts=_OUTBOX.c.attempts + 1)
            .returning(*_OUTBOX.c))


_CLAIM_DUE = PreparedQuery(_claim_due_statement(), ("of_channel", "now", "limit", "leased_until"))
# attempts identifies the claim: a sender whose lease ran out and whose row was claimed again must not
# overwrite the new claimer's outcome.
_THIS_CLAIM = (_OUTBOX.c.id == bindparam("row_id")) & (_OUTBOX.c.state == SendState.SENDING) & (
    _OUTBOX.c.attempts == bindparam("claimed_attempts"))
_RECORD = Prepared(lambda insert: update(_OUTBOX).where(_THIS_CLAIM).values(
    state=bindparam("new_state"), due_at=bindparam("new_due_at"), last_error=bindparam("error"), lease_until=None,
    sent_at=bindparam("sent"), platform_message_id=bindparam("message_id")),
    ("row_id", "claimed_attempts", "new_state", "new_due_at", "error", "sent", "message_id"))
_RELEASE = update(_OUTBOX).where(_THIS_CLAIM).values(
    state=SendState.PENDING, due_at=bindparam("new_due_at"), lease_until=None,
    attempts=bindparam("unclaimed_attempts"))
_NOTE_EXTRAS = update(_OUTBOX).where(_THIS_CLAIM).values(extras=bindparam("new_extras"))


async def note_extras(sessions: async_sessionmaker[AsyncSession], row: Outbox) -> None:
    """Saves a claimed row's extras while the claim holds: a sender notes a part already delivered there (a chart
    sent ahead of its text), so that a retry of the row skips it."""
    async with sessions.begin() as session:
        await session.execute(_NOTE_EXTRAS, {"row_id": row.id, "claimed_attempts": row.attempts,
                                             "new_extras": row.extras})


async def record_result(
    sessions: async_sessionmaker[AsyncSession], row: Outbox, result: SendResult, *, now: datetime,
    rng: random.Random | None = None,
) -> SendState:
    """Marks a claimed row sent, failed (with backoff and jitter, honouring retry-after) or dead."""
    return (await record_results(sessions, [(row, result)], now=now, rng=rng))[0]


async def record_results(
    sessions: async_sessionmaker[AsyncSession], outcomes: Sequence[tuple[Outbox, SendResult]], *, now: datetime,
    rng: random.Random | None = None,
) -> list[SendState]:
    """Marks several claimed rows in one transaction (a message's replies, sent one after the other)."""
    marks = [_mark(row, result, now=now, rng=rng) for row, result in outcomes]
    if marks:
        await _RECORD.execute_alone(sessions, marks)  # one executemany: a batch of 50 is one trip, not 50
    for (row, _), values in zip(outcomes, marks, strict=True):
        kind = "reply" if row.dedupe_key.startswith("reply:") else "notice"
        SENDS.inc(row.channel, kind, str(values["new_state"]))
    return [values["new_state"] for values in marks]


def _mark(row: Outbox, result: SendResult, *, now: datetime, rng: random.Random | None) -> dict[str, Any]:
    if result.ok:
        state, due, error = SendState.SENT, row.due_at, None
    elif result.permanent or row.attempts >= MAX_ATTEMPTS:
        state, due, error = SendState.DEAD, row.due_at, result.error
    else:
        backoff = min(3600.0, 2.0 ** row.attempts) * (0.5 + (rng or random).random() / 2)
        delay = max(backoff, result.retry_after or 0.0)
        state, due, error = SendState.FAILED, now + timedelta(seconds=delay), result.error
    sent = state is SendState.SENT
    return {"row_id": row.id, "claimed_attempts": row.attempts, "new_state": state, "new_due_at": due,
            "error": error, "sent": now if sent else None, "message_id": result.platform_message_id if sent else None}


async def requeue(sessions: async_sessionmaker[AsyncSession], ids: Sequence[int] | None, *, now: datetime) -> int:
    """Puts dead rows (all of them when `ids` is None) back in the queue; returns how many."""
    async with sessions.begin() as session:
        query = update(Outbox).where(Outbox.state == SendState.DEAD, Outbox.channel != UNBOUND_CHANNEL)
        if ids is not None:
            query = query.where(Outbox.id.in_(ids))
        result = await session.execute(query.values(state=SendState.PENDING, due_at=now, attempts=0))
    return result.rowcount or 0


async def release(sessions: async_sessionmaker[AsyncSession], row: Outbox, *, due_at: datetime) -> None:
    """Hands a claimed row back unsent and without counting the attempt (a rate limit said not yet)."""
    async with sessions.begin() as session:
        await session.execute(_RELEASE, {"row_id": row.id, "claimed_attempts": row.attempts, "new_due_at": due_at,
                                         "unclaimed_attempts": row.attempts - 1})


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


_INSERT_CLAIMED = Prepared(lambda insert: insert(Outbox.__table__).on_conflict_do_nothing(
    index_elements=["dedupe_key"]).returning(Outbox.__table__.c.id), (
    "dedupe_key", "channel", "chat_id", "recipient", "text", "extras", "case_id", "state", "attempts", "due_at",
    "created_at", "lease_until"))


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
        if returned := await _INSERT_CLAIMED.execute(session, values):
            rows.append(detached_row(id=returned[0][0], **values))
    return rows


def detached_row(**values: Any) -> Outbox:
    """An Outbox row as written, in no session, built without the ORM's constructor (whose instrumented set of
    each attribute cost 15-35 µs a row, a reply on every update): unset columns read as None."""
    row: Outbox = _outbox_manager().new_instance()
    row.__dict__.update(values)
    return row


@functools.cache
def _outbox_manager() -> Any:
    configure_mappers()  # an instance's attributes read through the mapped class's instrumentation
    return inspect(Outbox).class_manager


async def reclaim(sessions: async_sessionmaker[AsyncSession], inbound: Inbound, *, now: datetime,
                  lease: timedelta) -> list[Outbox]:
    """Claims the replies of a redelivered message that are still owed: queued, failed, or claimed by a writer
    whose lease ran out. Replies sent, dead, or still held by a live claim are left alone."""
    query = (select(Outbox).where(Outbox.dedupe_key.startswith(reply_prefix(inbound), autoescape=True), _owed(now))
             .order_by(Outbox.id))
    return await _claim(sessions, query, now=now, lease=lease)


async def all_replies(sessions: async_sessionmaker[AsyncSession], inbound: Inbound) -> list[Outbox]:
    """Every reply row of a message, in order, whatever its state (a passive answer repeated to a platform retry)."""
    async with sessions() as session:
        query = select(Outbox).where(Outbox.dedupe_key.startswith(reply_prefix(inbound), autoescape=True))
        return list((await session.scalars(query.order_by(Outbox.id))).all())


def is_reply(row: Outbox) -> bool:
    return row.dedupe_key.startswith(REPLY_PREFIX)

"""Addressing: every notice goes to a channel this service sends on, on an account its person can be reached at.

A notice is addressed when it is written, to the person's most recently used account (bot/pipeline/identities.py).
Staff listed in the district file with a Telegram or WeCom id who never wrote have used no account yet, so their
notices may be written for a channel no sender runs (the console, which `serve` never sends). The addresser of a
serving instance moves such rows to the person's account on a channel it runs. A person with no such account gets
a dead letter with the reason (`run.py outbox --dead`, the metrics' dead count), revived and re-addressed here as
soon as they can be reached (an invite bound their Telegram account). A notice the platform refused (Telegram:
the person never opened the bot, or blocked it) is dead with the platform's reason, and sent again once the
person has written to the bot since. Rows for anything else on a channel not run
(a group on the console) die at once with the reason: nothing stays silently pending.

Every instance runs the channels its settings give it; instances sharing a database share the settings, so a
channel one instance does not run is one no instance runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.grid.district.spec import CHANNELS
from models import Identity, Outbox, SendState, Staff

log = logging.getLogger(__name__)

UNREACHABLE = "收件人在本服务运行的渠道上没有账号"  # the prefix the revival looks for
NOT_RUN = "本服务未运行此渠道"
REFUSED = "Forbidden"  # how a sender records the platform refusing the person (bot/channels/telegram/sender.py)


@dataclass
class Addressing:
    """What one pass did: rows moved to a reachable account, rows made dead letters, dead letters revived."""

    moved: int = 0
    dead: int = 0
    revived: int = 0


async def _contact(session: AsyncSession, recipient: str, channels: list[str]) -> tuple[str, str] | None:
    """(channel, chat id) of the person's account on a channel run: the one used last, else the first listed."""
    kind, _, key = recipient.partition(":")
    query = select(Identity.channel, Identity.private_chat_id, Identity.user_id).where(Identity.channel.in_(channels))
    if kind == "staff":
        query = query.join(Staff, Staff.id == Identity.staff_id).where(Staff.code == key)
    elif kind == "resident" and key.isdigit():
        query = query.where(Identity.resident_id == int(key))
    else:
        return None
    found = (await session.execute(
        query.order_by(Identity.last_seen_at.desc().nulls_last(), Identity.id).limit(1))).first()
    return None if found is None else (found.channel, found.private_chat_id or found.user_id)


async def readdress(sessions: async_sessionmaker[AsyncSession], channels: Collection[str], *, now: datetime,
                    limit: int = 500) -> Addressing:
    """One pass: rows waiting on a channel not run are re-addressed or made dead letters; dead letters of people
    who could not be reached are re-addressed once they can be."""
    run = sorted(set(channels))
    tally = Addressing()
    if not run:
        return tally
    async with sessions.begin() as session:
        # by channel first, so the outbox's (channel, state, due_at) index serves it however many rows were sent;
        # a dead letter keeps the channel it was written for
        waiting = Outbox.channel.in_(sorted(CHANNELS - set(run))) & or_(
            Outbox.state.in_([SendState.PENDING, SendState.FAILED]),
            (Outbox.state == SendState.DEAD) & Outbox.last_error.startswith(UNREACHABLE, autoescape=True),
        )
        query = select(Outbox).where(waiting).order_by(Outbox.due_at, Outbox.id).limit(limit)
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        contacts: dict[str, tuple[str, str] | None] = {}
        for row in (await session.scalars(query)).all():
            if row.recipient not in contacts:
                contacts[row.recipient] = await _contact(session, row.recipient, run)
            contact = contacts[row.recipient]
            if contact is not None:
                if row.state is SendState.DEAD:
                    tally.revived += 1
                else:
                    tally.moved += 1
                row.channel, row.chat_id = contact
                row.extras = {k: v for k, v in (row.extras or {}).items() if k != "mention"}
                row.state, row.due_at, row.attempts, row.last_error, row.lease_until = (
                    SendState.PENDING, now, 0, None, None)
            elif row.state is SendState.DEAD:
                row.due_at = now  # looked at again after the others
            else:
                tally.dead += 1
                row.state, row.lease_until = SendState.DEAD, None
                person = row.recipient.partition(":")[0] in {"staff", "resident"}
                row.last_error = (f"{UNREACHABLE}（运行中：{'、'.join(run)}；原渠道：{row.channel}）" if person
                                  else f"{NOT_RUN}：{row.channel}（运行中：{'、'.join(run)}）")
        # a platform refused a person (Telegram: never opened the bot, or blocked it); they wrote since: try again
        wrote_since = select(Identity.id).where(
            Identity.channel == Outbox.channel, Identity.last_seen_at > Outbox.due_at,
            or_(Identity.private_chat_id == Outbox.chat_id, Identity.user_id == Outbox.chat_id)).exists()
        revived = await session.execute(
            update(Outbox).where(Outbox.channel.in_(run), Outbox.state == SendState.DEAD,
                                 Outbox.last_error.startswith(REFUSED), wrote_since)
            .values(state=SendState.PENDING, due_at=now, attempts=0, last_error=None, lease_until=None)
            .execution_options(synchronize_session=False))
        tally.revived += revived.rowcount or 0
    if tally.moved or tally.dead or tally.revived:
        log.info("outbox addressing: %s moved, %s dead letters, %s revived", tally.moved, tally.dead, tally.revived)
    return tally


class Addresser:
    """Runs `readdress` for a serving instance's channels every `interval` seconds until stopped."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], channels: Collection[str], clock: Clock, *,
                 interval: float = 30.0) -> None:
        self.sessions = sessions
        self.channels = list(channels)
        self.clock = clock
        self.interval = interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name="delivery:addressing")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await readdress(self.sessions, self.channels, now=self.clock.now())
            except Exception:  # the database may be away for a moment; the next pass tries again
                log.exception("outbox addressing failed")
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval)
            except TimeoutError:
                pass

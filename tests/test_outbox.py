"""The outbox sends each notice once per dedupe key, retries with backoff, and gives up into a visible dead state."""

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.delivery.outbox import (
    UNBOUND_CHANNEL,
    Notice,
    SendResult,
    claim_due,
    enqueue,
    record_result,
    requeue,
)
from bot.delivery.runner import drain
from models import Outbox, SendState

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def notice(key: str, channel: str = "console") -> Notice:
    return Notice(dedupe_key=key, channel=channel, chat_id="private:W001", recipient="staff:W001",
                  text="【随手拍 #1】路灯", extras={})


class ScriptedSender:
    """Answers each send with the next scripted result and remembers what it was asked to send."""

    channel = "console"

    def __init__(self, *results: SendResult) -> None:
        self.results = list(results)
        self.sent: list[str] = []

    async def send(self, row: Outbox) -> SendResult:
        self.sent.append(row.dedupe_key)
        return self.results.pop(0) if self.results else SendResult(ok=True)


async def rows(sessions) -> list[Outbox]:
    async with sessions() as session:
        return list((await session.scalars(select(Outbox).order_by(Outbox.id))).all())


async def test_same_dedupe_key_is_queued_once(sessions):
    async with sessions.begin() as session:
        await enqueue(session, notice("case:1:assigned:7"), now=NOW)
        await enqueue(session, notice("case:1:assigned:7"), now=NOW)
    async with sessions.begin() as session:
        await enqueue(session, notice("case:1:assigned:7"), now=NOW)
    assert [r.dedupe_key for r in await rows(sessions)] == ["case:1:assigned:7"]


async def test_drain_sends_each_row_once(sessions):
    async with sessions.begin() as session:
        for n in range(3):
            await enqueue(session, notice(f"k{n}"), now=NOW)
    sender = ScriptedSender()
    clock = FrozenClock(NOW)
    assert await drain(sessions, sender, clock) == 3
    assert await drain(sessions, sender, clock) == 0
    assert sender.sent == ["k0", "k1", "k2"]
    assert {r.state for r in await rows(sessions)} == {SendState.SENT}


async def test_transient_failure_backs_off_and_honours_retry_after(sessions):
    async with sessions.begin() as session:
        await enqueue(session, notice("k"), now=NOW)
    clock = FrozenClock(NOW)
    sender = ScriptedSender(SendResult(ok=False, retry_after=30, error="429"), SendResult(ok=False, error="502"))
    assert await drain(sessions, sender, clock) == 0
    [row] = await rows(sessions)
    assert row.state is SendState.FAILED and row.attempts == 1 and row.last_error == "429"
    assert row.due_at >= NOW + timedelta(seconds=30)
    assert await drain(sessions, sender, clock) == 0  # not due yet: nothing is sent early
    clock.set(row.due_at)
    await drain(sessions, sender, clock)
    [row] = await rows(sessions)
    assert row.state is SendState.FAILED and row.attempts == 2
    clock.set(row.due_at)
    assert await drain(sessions, sender, clock) == 1
    [row] = await rows(sessions)
    assert row.state is SendState.SENT and row.attempts == 3 and row.last_error is None


async def test_permanent_failure_is_dead_and_can_be_requeued(sessions):
    async with sessions.begin() as session:
        await enqueue(session, notice("k"), now=NOW)
    clock = FrozenClock(NOW)
    await drain(sessions, ScriptedSender(SendResult(ok=False, permanent=True, error="403 blocked")), clock)
    [row] = await rows(sessions)
    assert row.state is SendState.DEAD and row.attempts == 1
    assert await requeue(sessions, None, now=NOW) == 1
    assert await drain(sessions, ScriptedSender(), clock) == 1


async def test_backoff_grows_and_stops_at_the_attempt_limit(sessions):
    async with sessions.begin() as session:
        await enqueue(session, notice("k"), now=NOW)
    now, delays = NOW, []
    for _ in range(20):
        claimed = await claim_due(sessions, "console", now=now)
        if not claimed:
            break
        state = await record_result(sessions, claimed[0], SendResult(ok=False, error="timeout"), now=now,
                                    rng=random.Random(1))
        [row] = await rows(sessions)
        if state is SendState.DEAD:
            break
        delays.append((row.due_at - now).total_seconds())
        now = row.due_at
    [row] = await rows(sessions)
    assert row.state is SendState.DEAD and row.attempts == 8
    assert delays == sorted(delays) and delays[0] < 2 and delays[-1] > 60


async def test_crashed_sender_lease_expires_and_row_is_sent(sessions):
    async with sessions.begin() as session:
        await enqueue(session, notice("k"), now=NOW)
    assert len(await claim_due(sessions, "console", now=NOW)) == 1  # claimed, then the sender dies
    assert await claim_due(sessions, "console", now=NOW + timedelta(seconds=30)) == []
    sender = ScriptedSender()
    assert await drain(sessions, sender, FrozenClock(NOW + timedelta(minutes=3))) == 1
    assert sender.sent == ["k"]


async def test_unbound_recipient_is_recorded_dead_not_retried(sessions):
    async with sessions.begin() as session:
        await enqueue(session, notice("k", channel=UNBOUND_CHANNEL), now=NOW)
    [row] = await rows(sessions)
    assert row.state is SendState.DEAD and "未绑定" in row.last_error
    assert await requeue(sessions, None, now=NOW) == 0

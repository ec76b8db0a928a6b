"""The delivery runner against the fake Bot API: faults end sent or dead with the right attempt counts; pacing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.channels.telegram import TelegramSender, build_application
from bot.clock import FrozenClock
from bot.delivery.outbox import MAX_ATTEMPTS, Notice, SendResult, enqueue
from bot.delivery.runner import DeliveryRunner, Pacer, deliver_due
from fakes.telegram_api import TOKEN, FakeBotApi
from models import Outbox, SendState
from tests.harness import START

GROUP = -1005550


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    server = await FakeBotApi().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def sender(fake: FakeBotApi, sessions) -> AsyncIterator[TelegramSender]:  # type: ignore[no-untyped-def]
    application = build_application(TOKEN, fake.base_url, limits=None, polling=False, read_timeout=0.3)
    await application.initialize()
    try:
        yield TelegramSender(application.bot, sessions)
    finally:
        await application.shutdown()


async def queue(sessions, *keys: str, chat: int = GROUP, channel: str = "telegram") -> None:  # type: ignore[no-untyped-def]
    async with sessions.begin() as session:
        for key in keys:
            await enqueue(session, Notice(dedupe_key=key, channel=channel, chat_id=str(chat), recipient="group:1",
                                          text=f"通知 {key}", extras={}), now=START)


async def row(sessions, key: str) -> Outbox:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return (await session.scalars(select(Outbox).where(Outbox.dedupe_key == key))).one()


async def test_429_5xx_and_a_timeout_end_sent_on_the_fourth_attempt(sessions, fake, sender):
    await queue(sessions, "weekly:2026-W48:group:1")
    fake.fail("sendMessage", 429, retry_after=7)
    fake.fail("sendMessage", 502)
    fake.stall("sendMessage")
    clock = FrozenClock(START)
    tally = await deliver_due(sessions, sender, clock)
    notice = await row(sessions, "weekly:2026-W48:group:1")
    assert (tally.failed, notice.state, notice.attempts) == (1, SendState.FAILED, 1)
    assert (notice.due_at - START).total_seconds() >= 7
    assert (await deliver_due(sessions, sender, clock)).handled == 0  # not before the platform's retry-after
    for expected_attempts in (2, 3):
        clock.set(notice.due_at)
        await deliver_due(sessions, sender, clock)
        notice = await row(sessions, "weekly:2026-W48:group:1")
        assert (notice.state, notice.attempts) == (SendState.FAILED, expected_attempts)
    assert "Timed out" in notice.last_error or "timeout" in notice.last_error.lower()
    clock.set(notice.due_at)
    assert (await deliver_due(sessions, sender, clock)).sent == 1
    notice = await row(sessions, "weekly:2026-W48:group:1")
    assert (notice.state, notice.attempts, notice.last_error) == (SendState.SENT, 4, None)
    assert [m["text"] for m in fake.messages.values()] == ["通知 weekly:2026-W48:group:1"]


async def test_a_permanent_error_is_dead_at_once_and_endless_5xx_dead_at_the_limit(sessions, fake, sender):
    fake.gone.add(GROUP - 1)
    await queue(sessions, "gone", chat=GROUP - 1)
    clock = FrozenClock(START)
    assert (await deliver_due(sessions, sender, clock)).dead == 1
    await queue(sessions, "busy")
    fake.fail("sendMessage", 500, times=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS + 2):
        await deliver_due(sessions, sender, clock)
        clock.advance(hours=2)
    gone, busy = await row(sessions, "gone"), await row(sessions, "busy")
    assert (gone.state, gone.attempts) == (SendState.DEAD, 1)
    assert (busy.state, busy.attempts) == (SendState.DEAD, MAX_ATTEMPTS)
    assert fake.messages == {}


async def test_pacer_never_lets_more_than_the_rate_into_any_second():
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(rate=30, chat_per_minute=20, monotonic=lambda: now[0], sleep=sleep)
    times = []
    for n in range(95):
        assert await pacer.acquire(f"chat{n}") == 0
        times.append(now[0])
    assert all(sum(1 for t in times if start <= t < start + 1.0) <= 30 for start in times)
    assert times[-1] < 95 / 30 * 1.05  # close to the bound
    for _ in range(20):
        await pacer.acquire("busy")
    assert await pacer.acquire("busy") > 59 and await pacer.acquire("quiet") == 0


class Recorder:
    """A sender that records what it was asked to send and answers with scripted results; the send number
    `hang_at` never returns (it is in flight when the runner stops)."""

    channel = "console"

    def __init__(self, *results: SendResult, hang_at: int = 0) -> None:
        self.results = list(results)
        self.sent: list[str] = []
        self.hang_at = hang_at
        self.hanging = asyncio.Event()

    async def send(self, row: Outbox) -> SendResult:
        self.sent.append(row.dedupe_key)
        if len(self.sent) == self.hang_at:
            self.hanging.set()
            await asyncio.Event().wait()
        return self.results.pop(0) if self.results else SendResult(ok=True)


async def test_a_chat_at_its_limit_is_deferred_without_counting_an_attempt(sessions):
    await queue(sessions, "a", "b", "c", chat=42, channel="console")
    recorder = Recorder()
    pacer = Pacer(chat_per_minute=2)
    clock = FrozenClock(START)
    tally = await deliver_due(sessions, recorder, clock, pacer)
    assert (tally.sent, tally.deferred) == (2, 1)
    deferred = await row(sessions, "c")
    assert (deferred.state, deferred.attempts) == (SendState.PENDING, 0)
    assert (deferred.due_at - START).total_seconds() > 59


async def test_the_runner_drains_each_channel_and_stops_cleanly(sessions):
    await queue(sessions, *(f"k{n}" for n in range(5)), channel="console")
    recorder = Recorder(SendResult(ok=False, error="boom"), hang_at=5)
    clock = FrozenClock(START)
    runner = DeliveryRunner(sessions, [recorder], clock, tick=0.01)
    runner.start()
    await asyncio.wait_for(recorder.hanging.wait(), 10)
    await runner.stop(grace=0.05)  # the fifth send is in flight: cancelled after the grace, its row stays leased
    states = [(await row(sessions, f"k{n}")).state for n in range(5)]
    assert states == [SendState.FAILED, SendState.SENT, SendState.SENT, SendState.SENT, SendState.SENDING]
    clock.advance(minutes=3)  # past the lease (and the first row's backoff)
    after = Recorder()
    assert (await deliver_due(sessions, after, clock)).sent == 2
    assert sorted(after.sent) == ["k0", "k4"]


class RecorderChannel:
    """The least a channel gives the app: a name, no routes, and its outbox sender."""

    name = "console"

    def __init__(self, sender: Recorder) -> None:
        self.sender = sender

    def setup(self, app) -> None:  # type: ignore[no-untyped-def]
        return None


async def test_serve_starts_delivery_and_the_scheduler_and_stops_them(database_url):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_app
    from tests.harness import Harness

    harness = await Harness.start(database_url)
    case = await harness.report("R001", "3号楼门口路灯坏了", group="JT-TTC-01")
    recorder = Recorder(hang_at=10_000)
    app = create_app(harness.services, harness.runtime.dispatcher, [RecorderChannel(recorder)], background=True)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        for _ in range(1000):  # the catch-up pass queues this morning's digest; delivery sends it (bounded: 10 s)
            if any(key.startswith("digest:2026-11-30:staff:") for key in recorder.sent):
                break
            await asyncio.sleep(0.01)
        assert any(key.startswith(f"case:{case.id}:") for key in recorder.sent)
        assert any(key.startswith("digest:2026-11-30:staff:") for key in recorder.sent)
        assert not any(key.startswith("weekly:") for key in recorder.sent)  # no week of data to report yet
    finally:
        await client.close()
        await harness.close()

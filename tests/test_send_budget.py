"""One send budget per bot across instances: two instances sending for one Telegram bot together stay within its
rate, as the fake Bot API counts arrivals (issue 10, defect 6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.channels.telegram import RateLimits, TelegramSender, build_application
from bot.clock import FrozenClock
from bot.delivery.budget import SharedBudget
from bot.delivery.outbox import Notice, enqueue
from bot.delivery.runner import deliver_due
from fakes.telegram_api import TOKEN, FakeBotApi, FloodLimits
from models import SendBudget
from models.db import create_engine, session_factory
from tests.harness import START, TEST_DRIVERS

PER_INSTANCE = RateLimits(overall=(30, 1.0))  # each process's own limiter: alone, two of them send 60 a second


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    server = await FakeBotApi(limits=FloodLimits(overall=(30, 1.0))).start()
    server.started.update(range(7000, 7100))
    try:
        yield server
    finally:
        await server.stop()


async def instances(database_url: str, fake: FakeBotApi, count: int, *, shared: bool):  # type: ignore[no-untyped-def]
    """Each instance: its own engine and its own PTB application for the same bot."""
    opened = []
    for _ in range(count):
        engine = create_engine(database_url, drivers=TEST_DRIVERS)
        application = build_application(TOKEN, fake.base_url, limits=PER_INSTANCE, polling=False, read_timeout=5.0)
        await application.initialize()
        sessions = session_factory(engine)
        sender = TelegramSender(application.bot, sessions)
        if shared:
            sender.budget = SharedBudget(sessions, "telegram:test", 28)  # type: ignore[attr-defined]
        opened.append((engine, application, sessions, sender))
    return opened


async def send_together(database_url: str, fake: FakeBotApi, messages: int, *, shared: bool) -> int:
    runs = await instances(database_url, fake, 2, shared=shared)
    try:
        async with runs[0][2].begin() as session:
            for n in range(messages):
                await enqueue(session, Notice(f"budget:{shared}:{n}", "telegram", str(7000 + n), f"test:{n}",
                                              f"通知 {n}", {}), now=START)
        clock = FrozenClock(START)
        tallies = await asyncio.gather(*(deliver_due(sessions, sender, clock, batch=4)
                                         for _, _, sessions, sender in runs))
        assert all(t.sent for t in tallies)  # both instances sent
        async with runs[0][2]() as session:
            [(bot, next_at)] = (await session.execute(select(SendBudget.bot, SendBudget.next_at))).all()
        assert bot == "telegram:test" and next_at > 0
        return sum(t.sent for t in tallies)
    finally:
        for engine, application, _, _ in runs:
            await application.shutdown()
            await engine.dispose()


async def test_two_instances_for_one_bot_stay_within_its_rate_together(database_url, fake):
    """36 notices, more than one second's worth: each instance alone may send 30 a second, so without the shared
    budget the two together put more than 30 into some second (the fake counts arrivals, 2% slack)."""
    assert await send_together(database_url, fake, 36, shared=True) == 36
    assert fake.violations == []

"""The weekly broadcast to 639 groups through the fake Telegram Bot API, which enforces Telegram's limits
(30 messages a second overall, 20 a minute per group). Prints one JSON line.

    .venv/bin/python bench/broadcast.py [--database postgresql://postgres@127.0.0.1/gridbot_bench_broadcast]

The weekly job queues one outbox row per group (the synthetic Weibin district, every group moved onto
Telegram); the delivery loop then sends them with the Telegram channel's own sender and rate limiter.
The bound is 639 / 30 = 21.3 s; the target is within 1.15 times of it, nothing lost, nothing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from collections import Counter
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import func, select, text

from bot.channels.telegram import RateLimits, TelegramSender, build_application
from bot.clock import SystemClock
from bot.delivery.runner import Pacer, deliver_due
from bot.grid.synthetic import generate_synthetic
from bot.jobs.broadcasts import weekly_broadcast
from bot.reports.weekly import previous_week
from bot.runtime import start
from config.settings import load_settings
from fakes.telegram_api import TOKEN, FakeBotApi
from models import Outbox, SendState
from models.db import create_engine, migrate, session_factory

GROUPS = 639
RATE = 30.0


async def fresh_database(url: str) -> None:
    """Drops and creates the benchmark database, then fills it with the synthetic district on Telegram."""
    admin, name = url.rsplit("/", 1)
    conn = await asyncpg.connect(f"{admin}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    await migrate(engine)
    await generate_synthetic(session_factory(engine), now=datetime.now(UTC), cases=0)
    async with engine.begin() as db:
        await db.execute(text("UPDATE chat_group SET channel = 'telegram', chat_id = (-1001700000000 - id)::text"))
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/gridbot_bench_broadcast")
    args = parser.parse_args()
    await fresh_database(args.database)
    settings = load_settings({}, database_url=args.database)
    clock = SystemClock()
    runtime = await start(settings, clock, load_demo_if_empty=False)
    fake = await FakeBotApi().start()
    application = build_application(TOKEN, fake.base_url, limits=RateLimits(), polling=False)
    await application.initialize()
    try:
        sessions = runtime.services.sessions
        week = previous_week(clock.now(), settings.tz)
        began = time.perf_counter()
        tally = await weekly_broadcast(runtime.services, week, clock.now(), charts=False)
        queued_s = time.perf_counter() - began
        pacer = Pacer(settings.delivery_rates.get("telegram"), settings.delivery_chat_per_minute.get("telegram"))
        sender = TelegramSender(application.bot, sessions)
        began = time.perf_counter()
        sent = 0
        while sent < tally.groups:
            sent += (await deliver_due(sessions, sender, clock, pacer)).sent
            if time.perf_counter() - began > 120:
                break
        total_s = time.perf_counter() - began
        async with sessions() as session:
            states = dict((await session.execute(select(Outbox.state, func.count()).where(
                Outbox.channel == "telegram").group_by(Outbox.state))).all())
        per_chat = Counter(chat for chat, _ in fake.messages)
    finally:
        await application.shutdown()
        await fake.stop()
        await runtime.close()
    bound = GROUPS / RATE
    print(json.dumps({
        "bench": "broadcast", "groups": tally.groups, "week": week, "queue_s": round(queued_s, 3),
        "delivery_s": round(total_s, 2), "bound_s": round(bound, 1), "ratio": round(total_s / bound, 3),
        "delivered": len(fake.messages), "chats_reached": len(per_chat), "max_per_chat": max(per_chat.values(), default=0),
        "outbox_sent": states.get(SendState.SENT, 0), "flood_violations": len(fake.violations),
        "platform_429": sum(1 for c in fake.calls if c.status == 429),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())

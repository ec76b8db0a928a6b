"""A gridbot service instance in its own process, for the multi-instance and crash tests (PostgreSQL only).

    python -m tests.instance week  <database url> <name> <workers> <steps> <step minutes>
    python -m tests.instance drain <database url> <name>

`week` runs every cron job and the console sender over a simulated week, in lockstep with the other
instances (a barrier table keeps their clocks together, so leases mean the same to all). `drain` sends the
console backlog slowly. Every send is logged to test_send_log before it is reported sent, so the log shows
each time the platform would have received the message.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from sqlalchemy import text

from bot.clock import FrozenClock
from bot.delivery.outbox import SendResult
from bot.delivery.runner import deliver_due
from bot.jobs.scheduler import JobRunner
from bot.runtime import start
from config.settings import load_settings
from models import Outbox
from tests.harness import START

SETUP = [
    "CREATE TABLE IF NOT EXISTS test_send_log (id serial PRIMARY KEY, dedupe_key text NOT NULL, worker text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS test_barrier (worker text PRIMARY KEY, step integer NOT NULL)",
]


class LoggingSender:
    """The console channel's platform, as seen by the test: one log row per message received."""

    channel = "console"

    def __init__(self, sessions, worker: str, delay: float = 0.0) -> None:  # type: ignore[no-untyped-def]
        self.sessions = sessions
        self.worker = worker
        self.delay = delay

    async def send(self, row: Outbox) -> SendResult:
        async with self.sessions.begin() as session:
            await session.execute(text("INSERT INTO test_send_log (dedupe_key, worker) VALUES (:k, :w)"),
                                  {"k": row.dedupe_key, "w": self.worker})
        if self.delay:
            await asyncio.sleep(self.delay)
        return SendResult(ok=True, platform_message_id=f"{self.worker}-{row.id}")


async def barrier(sessions, worker: str, workers: int, step: int) -> None:  # type: ignore[no-untyped-def]
    """Records that this instance finished `step - 1` and waits until every instance has."""
    async with sessions.begin() as session:
        await session.execute(text("INSERT INTO test_barrier (worker, step) VALUES (:w, :s) "
                                   "ON CONFLICT (worker) DO UPDATE SET step = :s"), {"w": worker, "s": step})
    while True:
        async with sessions() as session:
            behind = (await session.execute(text(
                "SELECT count(*) FILTER (WHERE step >= :s), count(*) FROM test_barrier"), {"s": step})).one()
        if behind[0] >= workers:
            return
        await asyncio.sleep(0.002)


async def week(url: str, worker: str, workers: int, steps: int, step_minutes: int) -> None:
    clock = FrozenClock(START)
    runtime = await start(load_settings({}, database_url=url), clock, load_demo_if_empty=False)
    sessions = runtime.services.sessions
    runner = JobRunner(runtime.services, instance=worker)
    sender = LoggingSender(sessions, worker)
    try:
        for step in range(steps):
            await barrier(sessions, worker, workers, step)
            clock.set(START + timedelta(minutes=step * step_minutes))
            await runner.run_due(clock.now())
            await deliver_due(sessions, sender, clock, batch=10)
        await barrier(sessions, worker, workers, steps)
        clock.set(START + timedelta(minutes=steps * step_minutes))
        await deliver_due(sessions, sender, clock, batch=10)
    finally:
        await runtime.close()


async def drain(url: str, worker: str) -> None:
    runtime = await start(load_settings({}, database_url=url), FrozenClock(START), load_demo_if_empty=False)
    try:
        # one send in flight at a time, so that a kill can catch at most one between platform and ledger
        await deliver_due(runtime.services.sessions, LoggingSender(runtime.services.sessions, worker, delay=0.01),
                          runtime.services.clock, batch=20, concurrency=1)
    finally:
        await runtime.close()


if __name__ == "__main__":
    mode, url, name, *rest = sys.argv[1:]
    if mode == "week":
        asyncio.run(week(url, name, int(rest[0]), int(rest[1]), int(rest[2])))
    else:
        asyncio.run(drain(url, name))

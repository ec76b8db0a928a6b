"""Several processes on one PostgreSQL: two instances over a simulated week send every notice exactly once; a
sender killed with SIGKILL mid-batch loses nothing and repeats at most the message it had in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from bot.delivery.outbox import Notice, enqueue
from bot.delivery.runner import deliver_due
from models import Case, CaseStatus, ChatGroup, Outbox, SendState, Staff, StaffRole
from tests.conftest import _fresh_pg_database, _pg_template, _pg_unavailable_reason
from tests.harness import START, Harness
from tests.instance import SETUP, LoggingSender

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.reliability  # several processes over a simulated week: in CI's bounded reliability step
STEPS, STEP_MINUTES = 7 * 24 + 2, 60  # a week and two hours, hour by hour


@pytest.fixture
async def pg_url() -> str:
    """A fresh migrated PostgreSQL database (these tests need several processes on one server)."""
    reason = await _pg_unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the PostgreSQL leg must run under CI: {reason}")
        pytest.skip(reason)
    await _pg_template()
    return await _fresh_pg_database()


@pytest.fixture
async def bot(pg_url):
    harness = await Harness.start(pg_url)
    async with harness.services.sessions.begin() as session:
        for statement in SETUP:
            await session.execute(text(statement))
    yield harness
    await harness.close()


async def spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.instance", *args, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def finish(process: asyncio.subprocess.Process) -> None:
    _, err = await asyncio.wait_for(process.communicate(), 240)
    assert process.returncode == 0, err.decode()[-3000:]


async def sends(bot: Harness) -> list[tuple[str, str]]:
    async with bot.services.sessions() as session:
        return [tuple(r) for r in (await session.execute(text("SELECT dedupe_key, worker FROM test_send_log"))).all()]


async def outbox(bot: Harness) -> list[Outbox]:
    async with bot.services.sessions() as session:
        return list((await session.scalars(select(Outbox).order_by(Outbox.id))).all())


async def test_two_instances_over_a_week_send_every_notice_exactly_once(bot, pg_url):
    late = await bot.report("R001", "3号楼门口路灯坏了", group="JT-TTC-01")  # never taken: escalates twice
    done = await bot.report("R001", "5号楼垃圾堆了好几天没人清理", group="JT-TTC-01")
    await bot.staff("W001", f"接单 {done.id}")
    await bot.staff("W001", f"办结 {done.id} 已清理")  # never rated: asked again, then closed
    async with bot.services.sessions.begin() as session:  # a closed case from weeks ago: last week is reported
        row = dict((await session.execute(select(Case.__table__).where(Case.id == late.id))).mappings().one())
        del row["id"]
        row.update(created_at=START - timedelta(days=21), status=CaseStatus.CLOSED, assignee_id=None)
        await session.execute(insert(Case.__table__).values(**row))
    workers = [await spawn("week", pg_url, f"w{n}", "2", str(STEPS), str(STEP_MINUTES)) for n in (1, 2)]
    for process in workers:
        await finish(process)

    log = await sends(bot)
    counts = Counter(key for key, _ in log)
    assert counts and max(counts.values()) == 1, [k for k, c in counts.items() if c > 1]
    rows = await outbox(bot)
    sendable = [r for r in rows if r.channel == "console"]
    assert {r.state for r in sendable} == {SendState.SENT}
    assert set(counts) == {r.dedupe_key for r in sendable}
    keys = set(counts)
    async with bot.services.sessions() as session:
        groups = (await session.scalars(select(ChatGroup.id))).all()
        leaders = (await session.scalars(select(Staff.id).where(
            Staff.role.in_([StaffRole.COMMUNITY_SECRETARY, StaffRole.STREET_OFFICER])))).all()
    assert {f"weekly:2026-W48:group:{g}" for g in groups} <= keys
    assert {f"weekly:2026-W48:staff:{s}" for s in leaders} & keys
    days = {k.split(":")[1] for k in keys if k.startswith("digest:")}
    assert {f"2026-12-0{d}" for d in range(1, 7)} | {"2026-11-30"} <= days
    assert any(k.startswith(f"sla:{late.id}:2:") for k in keys) and any(k.startswith(f"sla:{late.id}:3:") for k in keys)
    assert any(k.startswith(f"rating:{done.id}:followup") for k in keys)
    assert (await bot.case(done.id)).status.value == "closed"
    assert [e.action for e in await bot.events(late.id)].count("escalated") == 2
    assert {worker for _, worker in log} == {"w1", "w2"}  # both instances did send


async def test_a_sender_killed_mid_batch_resends_at_most_the_one_in_flight(bot, pg_url):
    total = 120
    async with bot.services.sessions.begin() as session:
        for n in range(total):
            await enqueue(session, Notice(dedupe_key=f"bulk:{n}", channel="console", chat_id=f"private:{n}",
                                          recipient="test", text=f"通知 {n}", extras={}), now=START)
    process = await spawn("drain", pg_url, "victim")
    for _ in range(3000):  # until the sender is well into its batches (bounded: at most 30 s)
        if len(await sends(bot)) >= 30:
            break
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    before = Counter(key for key, _ in await sends(bot))
    assert 30 <= len(before) < total
    bot.clock.set(START + timedelta(minutes=3))  # past the dead sender's lease
    tally = await deliver_due(bot.services.sessions, LoggingSender(bot.services.sessions, "after"), bot.clock)
    counts = Counter(key for key, _ in await sends(bot))
    assert set(counts) == {f"bulk:{n}" for n in range(total)}
    repeated = [key for key, count in counts.items() if count > 1]
    assert len(repeated) <= 1 and max(counts.values()) <= 2
    assert tally.sent == total - len(before) + len(repeated)
    assert {r.state for r in await outbox(bot)} == {SendState.SENT}

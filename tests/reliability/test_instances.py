"""Three real `run.py serve` processes and a `run.py scheduler` on one PostgreSQL: residents' reports and their
confirmations spread over the instances through the fake Bot API, one instance killed (SIGKILL) mid-burst and its
updates redelivered to the others, as Telegram does behind a load balancer. No case is filed twice, every
resident is told and every notice sent, at most twice for what was in flight at the kill (the Bot API has no
idempotency key), and the scheduler's digest is sent exactly once.

The killed instance takes updates and sends replies on their fast path, but its delivery runner ticks rarely, so
it holds no claimed notice at the kill: notices taken over after the two-minute outbox lease are covered in
tests/reliability/test_delivery_instances.py, and waiting out that lease here would double this test's time."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select

from bot.pipeline.invites import create_invite
from fakes.telegram_api import FakeBotApi, FloodLimits, message_update, private_chat, user
from models import Case, JobRun, Outbox, SendState
from models.db import create_engine, session_factory
from tests.reliability.test_serve_signals import ROOT, free_port, post, service_env, start_serve

pytestmark = pytest.mark.reliability

RESIDENTS = 30
FIRST_ID = 710_000
WORKER = user(9001, "李娟")
REPORTS = ["3号楼门口路灯坏了", "5号楼楼道灯不亮", "7号楼门口垃圾没人清", "2号楼路灯不亮了", "4号楼门口垃圾堆满了"]
DISTINCT = {"GRIDBOT_DUPLICATE_WINDOW_HOURS": "0"}  # every report its own case, none merged into a neighbour's
OWED = (SendState.PENDING, SendState.FAILED, SendState.SENDING)


async def resident(http: ClientSession, ports: list[int], alive: set[int], n: int, counter: Counter) -> None:
    """A resident reports and confirms; each update goes to one instance and, while it gets no 200, to the next
    live one (Telegram redelivers until an instance answers)."""
    me = user(FIRST_ID + n, f"居民{n}")
    chat = private_chat(me["id"], me["first_name"])
    text = f"铁塔厂家属院{REPORTS[n % len(REPORTS)]}（第{n}户反映）"
    for step, words in enumerate([text, "确认"]):
        update = message_update(chat, me, words, update_id=10 * n + step + 1, message_id=10 * n + step + 1)
        for attempt in range(200):
            port = ports[(n + step + attempt) % len(ports)]
            if port in alive and await post(http, port, update) == 200:
                counter[step] += 1
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"update {update['update_id']} never answered")


async def owed_and_cases(database_url: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            owed = await session.scalar(select(func.count()).select_from(Outbox)
                                        .where(Outbox.channel == "telegram", Outbox.state.in_(OWED)))
            cases = await session.scalar(select(func.count()).select_from(Case))
        return owed, cases
    finally:
        await engine.dispose()


async def test_three_instances_and_a_scheduler_lose_and_double_nothing(database_url: str):
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share one PostgreSQL")
    fake = await FakeBotApi(limits=FloodLimits(overall=(10**9, 1.0), group=(10**9, 1.0))).start()
    fake.started.update([WORKER["id"], *(FIRST_ID + n for n in range(RESIDENTS))])
    ports = [free_port() for _ in range(3)]
    victim = ports[1]
    processes: dict[int, asyncio.subprocess.Process] = {}
    scheduler: asyncio.subprocess.Process | None = None
    try:
        processes[ports[0]] = await start_serve(database_url, fake, ports[0], **DISTINCT)  # loads the district
        started = await asyncio.gather(*(start_serve(database_url, fake, port, **DISTINCT, **(
            {"GRIDBOT_DELIVERY_TICK_SECONDS": "60"} if port == victim else {})) for port in ports[1:]))
        processes.update(zip(ports[1:], started, strict=True))
        alive = set(ports)
        engine = create_engine(database_url)
        async with session_factory(engine).begin() as session:
            token = await create_invite(session, "W001", now=datetime.now(ZoneInfo("UTC")))
        await engine.dispose()
        async with ClientSession() as http:
            bind = message_update(private_chat(WORKER["id"], "李娟"), WORKER, f"/start {token}", update_id=1_000_000)
            assert await post(http, ports[0], bind) == 200
            answered: Counter = Counter()
            burst = asyncio.gather(*(resident(http, ports, alive, n, answered) for n in range(RESIDENTS)))
            await asyncio.wait_for(fake.wait_for(lambda f: len(f.called("sendMessage")) >= RESIDENTS), 120)
            alive.discard(victim)
            processes[victim].send_signal(signal.SIGKILL)
            await processes[victim].wait()
            await asyncio.wait_for(burst, 120)
            # The scheduler starts with the day's digest just due: its catch-up pass runs it.
            due = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=1)).strftime("%H:%M")
            scheduler = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "run.py"), "scheduler", cwd=ROOT,
                env=service_env(database_url, fake, free_port(), GRIDBOT_DIGEST_TIME=due),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            try:
                await asyncio.wait_for(fake.wait_for(lambda f: any(
                    "【每日待办】" in m.get("text", "") for m in f.sent_to(WORKER["id"]))), 120)
            except TimeoutError:
                if scheduler.returncode is None:
                    scheduler.send_signal(signal.SIGTERM)
                raise AssertionError((await scheduler.stderr.read()).decode()[-3000:]) from None
            for _ in range(1800):  # the survivors send what is still owed (bounded by the loop)
                owed, cases = await owed_and_cases(database_url)
                if owed == 0:
                    break
                await asyncio.sleep(0.1)
            assert owed == 0
        assert answered == Counter({0: RESIDENTS, 1: RESIDENTS})
        assert cases == RESIDENTS  # no report filed twice, none lost
        engine = create_engine(database_url)
        async with session_factory(engine)() as session:
            rows = list((await session.scalars(select(Outbox).where(Outbox.channel == "telegram"))).all())
            digests = list((await session.scalars(select(JobRun).where(JobRun.job == "digest"))).all())
        await engine.dispose()
        assert {row.state for row in rows} == {SendState.SENT}
        assert len(digests) == 1 and digests[0].finished_at is not None
        delivered = Counter((chat, m.get("text")) for chat, messages in fake.by_chat.items() for m in messages)
        for row in rows:  # every reply and notice arrived; twice at most, for a send in flight at the kill
            assert 1 <= delivered[(int(row.chat_id), row.text)] <= 2, (row.dedupe_key, row.text)
        doubled = [key for key, n in delivered.items() if n > 1]
        assert len(doubled) <= 8, doubled  # the fast-path sends and runner sends in flight in one process
        [digest] = [row for row in rows if row.dedupe_key.startswith("digest:")]
        assert delivered[(WORKER["id"], digest.text)] == 1  # sent by a survivor, after the kill: exactly once
        for n in range(RESIDENTS):
            told = [text for (chat, text) in delivered if chat == FIRST_ID + n]
            assert any("请确认" in t for t in told) and any("已受理" in t for t in told), told
    finally:
        for process in [*processes.values(), scheduler]:
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        await fake.stop()

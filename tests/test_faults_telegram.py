"""Telegram under a seeded fault plan (5xx, 429 with retry_after, slow and late answers, dropped connections) and
the platform's redelivery: every resident is told and every notice sent, each exactly once, but for the one
repeat the README allows (a message the Bot API took in and answered too late is sent again: it has no
idempotency key)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from fakes.faults import Fault, FaultPlan
from fakes.telegram_api import message_update, private_chat, user
from models import SendState
from tests.faults_rig import plan, repeats, settle, telegram_world
from tests.test_telegram import WORKER, World, close_world

RESIDENTS = 8
FIRST_ID = 8400
# the grid worker's duties (lights, rubbish), so every notice goes to the worker bound on Telegram
BUILDINGS = ["3号楼门口路灯坏了", "5号楼楼道灯不亮", "7号楼门口垃圾没人清", "2号楼路灯不亮了", "4号楼门口垃圾堆满了"]


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    opened = await telegram_world(database_url)
    try:
        yield opened
    finally:
        await close_world(opened)


def report_text(n: int) -> str:
    return f"铁塔厂家属院{BUILDINGS[n % len(BUILDINGS)]}（第{n}户反映）"


async def resident_reports(world: World, n: int) -> None:
    """A resident reports and confirms; Telegram delivers each update twice (a redelivery after a lost answer)."""
    resident = user(FIRST_ID + n, f"居民{n}")
    chat = private_chat(resident["id"], resident["first_name"])
    world.fake.started.add(resident["id"])
    for step, text in enumerate([report_text(n), "确认"]):
        update = message_update(chat, resident, text, update_id=1000 + 2 * n + step, message_id=10 * n + step + 1)
        for _ in range(2):
            assert await world.post(json.loads(json.dumps(update))) == 200


async def drive(world: World, fault_plan: FaultPlan, residents: int) -> None:
    assert "绑定成功" in (await world.bind_staff(WORKER, "W001"))[0]["text"]
    world.fake.plan = fault_plan
    await asyncio.gather(*(resident_reports(world, n) for n in range(residents)))
    await settle(world.sessions, ("telegram",), world.clock, world.deliver)


def tally(world: World) -> tuple[Counter, Counter]:
    """Messages delivered and messages answered late, by chat and text."""
    delivered = Counter((chat, m.get("text") or m.get("caption")) for chat, messages in world.fake.by_chat.items()
                        for m in messages)
    late = Counter((m["chat"]["id"], m.get("text") or m.get("caption")) for m in world.fake.late)
    return delivered, late


async def owed(world: World) -> Counter:
    """What the outbox says each chat is owed: one message per row."""
    rows = [r for r in await world.outbox() if r.channel == "telegram"]
    assert {r.state for r in rows} == {SendState.SENT}
    return Counter((int(r.chat_id), r.text) for r in rows)


# The default suite runs one small seeded burst; the reliability step runs larger ones on other seeds.
@pytest.mark.parametrize(("seed", "residents"), [(1, RESIDENTS), *(pytest.param(seed, 40, marks=pytest.mark.reliability)
                                                                  for seed in (2, 3))])
async def test_under_faults_every_reply_and_notice_arrives_once(world: World, seed: int, residents: int):
    fault_plan = plan(seed)
    await drive(world, fault_plan, residents)
    assert fault_plan.drawn[Fault.SERVER_ERROR] and fault_plan.drawn[Fault.RATE_LIMITED]  # the plan did bite
    cases = await world.cases()
    assert len(cases) == residents  # redelivered updates filed nothing twice
    delivered, late = tally(world)
    expected = await owed(world)
    assert len(expected) == 1 + 3 * residents  # the binding, and per resident a question, a number, a notice
    assert repeats(delivered, late) == {}
    assert delivered == expected + late  # nothing lost, nothing doubled but what a late answer repeats
    for n in range(residents):
        told = [text for (chat, text) in expected if chat == FIRST_ID + n]
        assert sorted("请确认" in t for t in told) == [False, True] and any("已受理" in t for t in told)
    to_worker = "".join(text for (chat, text) in expected if chat == WORKER["id"])
    assert all(f"【随手拍 #{case.id}】" in to_worker for case in cases)


async def test_a_scripted_run_of_every_fault_on_one_reply_still_tells_the_resident_once(world: World):
    """The first reply meets a dropped connection, a 502, a 429 and a slow answer in turn, then goes through."""
    script = [Fault.DROPPED, Fault.SERVER_ERROR, Fault.RATE_LIMITED, Fault.SLOW]
    world.fake.plan = FaultPlan(script=script)
    resident = user(FIRST_ID, "居民")
    world.fake.started.add(resident["id"])
    chat = private_chat(resident["id"], "居民")
    assert await world.post(message_update(chat, resident, report_text(0), update_id=1)) == 200
    await settle(world.sessions, ("telegram",), world.clock, world.deliver)
    [question] = world.fake.sent_to(resident["id"])
    assert "请确认" in question["text"] and world.fake.plan.drawn == Counter(script)
    assert [c.status for c in world.fake.calls if c.method == "sendMessage"] == [-1, 502, 429, 0, 200]

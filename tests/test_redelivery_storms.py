"""A redelivery storm on each channel: the platform sends the same message several times at once (its answer was
slow or lost) while the first delivery is still being handled. One case is filed and every reply is sent once:
counted in the calls the platform received, so that no duplicate check of the platform's hides a second send."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from fakes.telegram_api import message_update, private_chat, user
from fakes.wechat_api import APP_SEND, CORP_ID
from tests.faults_rig import telegram_world
from tests.test_telegram import close_world
from tests.wechat_rig import Rig

STORM = 4  # deliveries of each message, all at once
REPORT = "铁塔厂家属院3号楼门口路灯坏了，晚上黑漆漆的"


async def storm(post: Callable[[], Awaitable[int]]) -> None:
    statuses = await asyncio.gather(*(post() for _ in range(STORM)))
    assert set(statuses) == {200}


async def test_telegram_webhook_storm(database_url: str):
    world = await telegram_world(database_url)
    try:
        resident = user(8601, "刘大爷")
        chat = private_chat(resident["id"], resident["first_name"])
        world.fake.started.add(resident["id"])
        for step, text in enumerate([REPORT, "确认"]):
            update = message_update(chat, resident, text, update_id=50 + step, message_id=60 + step)
            await storm(lambda update=update: world.post(json.loads(json.dumps(update))))
        world.clock.advance(minutes=5)  # anything still owed goes out through the runner
        await world.deliver()
        assert len(await world.cases()) == 1
        told = [m["text"] for m in world.fake.sent_to(resident["id"])]
        assert len(told) == 2 and "请确认" in told[0] and "已受理" in told[1], told
    finally:
        await close_world(world)


@pytest.fixture
async def rig(database_url: str) -> AsyncIterator[Rig]:
    # Replies go out through the platform's API, where they can be counted (none in the passive answer).
    opened = await Rig.start(database_url, wechat_reply_window_seconds=0.000001)
    try:
        yield opened
    finally:
        await opened.close()


async def settled(rig: Rig) -> None:
    await rig.wechat.window.settle()
    await rig.wecom.window.settle()
    rig.harness.clock.advance(minutes=5)
    await rig.deliver()


def oa_message(rig: Rig, text: str) -> Callable[[], Awaitable[Any]]:
    fields = {"ToUserName": "gh_gridbot", "FromUserName": "oGridStormResident0000000001", "CreateTime": rig.next_time(),
              "MsgType": "text", "Content": text, "MsgId": rig.next_id()}
    return lambda: rig.oa_post(fields)


def app_message(rig: Rig, text: str) -> Callable[[], Awaitable[Any]]:
    fields = {"ToUserName": CORP_ID, "FromUserName": "zhangsan", "CreateTime": rig.next_time(), "MsgType": "text",
              "Content": text, "MsgId": rig.next_id(), "AgentID": 1000002}
    return lambda: rig.app_post(fields)


def robot_message(rig: Rig, text: str) -> Callable[[], Awaitable[Any]]:
    event = {"msgid": f"storm-{rig.next_id()}", "aibotid": "AIBOT-GRID", "chattype": "single",
             "from": {"userid": "robotstorm"}, "response_url": f"{rig.fake.base}/response/{rig.next_id()}",
             "msgtype": "text", "text": {"content": text}}
    return lambda: rig.robot_post(event)


SURFACES = {"official account": (oa_message, "/cgi-bin/message/custom/send"),
            "wecom app": (app_message, APP_SEND), "wecom robot": (robot_message, "/response/")}


@pytest.mark.parametrize("surface", sorted(SURFACES))
async def test_wechat_callback_storm(rig: Rig, surface: str):
    make, path = SURFACES[surface]
    for text in [REPORT, "确认"]:
        post = make(rig, text)

        async def status(post: Callable[[], Awaitable[Any]] = post) -> int:
            return (await post()).status

        await storm(status)
        await settled(rig)
    assert len(await rig.harness.cases()) == 1
    sent = Counter(json.dumps(call.body, ensure_ascii=False) for call in rig.fake.to(path, prefix=True))
    assert len(sent) == 2 and set(sent.values()) == {1}, sent  # the question and the number, each sent once
    bodies = list(sent)
    assert "请确认" in bodies[0] and "编号" in bodies[1]

"""Issue 11 through Telegram (python-telegram-bot against the fake Bot API): a reply to a case notice goes into the
case, and a group offer goes privately to a resident who has started the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fakes.telegram_api import group_chat, private_chat
from models import EventKind
from tests.test_telegram import (
    GROUP,
    RESIDENT,
    WORKER,
    World,
    close_world,
    keyboard_labels,
    open_world,
    staffed_group,
)


@pytest.fixture
async def tg(database_url: str) -> AsyncIterator[World]:
    opened = await open_world(database_url, "webhook", group_offer_private=True)
    try:
        yield opened
    finally:
        await close_world(opened)


async def test_a_reply_to_a_case_notice_goes_into_that_case(tg: World):
    world = tg
    await staffed_group(world)
    me = private_chat(RESIDENT["id"], "王阿姨")
    await world.say(me, RESIDENT, "#随手拍 铁塔厂家属院5号楼楼道灯不亮了")
    assert "已受理" in (await world.say(me, RESIDENT, "确认"))[0]["text"]
    case = (await world.cases())[-1]
    await world.say(private_chat(WORKER["id"], "李娟"), WORKER, f"接单 {case.id}")
    await world.say(private_chat(WORKER["id"], "李娟"), WORKER, f"进展 {case.id} 明天上午来换灯，家里有人吗")
    await world.deliver()
    notice = [m for m in world.fake.sent_to(RESIDENT["id"]) if "处理进展" in m["text"]][-1]
    answer = await world.say(me, RESIDENT, "上午十点以后有人", reply_to=notice)
    assert f"已补充到 #{case.id}" in answer[0]["text"]
    await world.deliver()
    assert "上午十点以后有人" in world.fake.sent_to(WORKER["id"])[-1]["text"]
    async with world.sessions() as session:
        from bot.cases.queries import case_events
        assert (await case_events(session, case.id))[-1].action is EventKind.RESIDENT_REPLY


async def test_a_group_offer_goes_privately_to_a_resident_who_started_the_bot(tg: World):
    world = tg
    await staffed_group(world)
    me = private_chat(RESIDENT["id"], "王阿姨")
    await world.say(me, RESIDENT, "你好")  # the resident has a private chat with the bot
    sent = await world.say(group_chat(GROUP), RESIDENT, "楼下下水道堵了，污水都流到路上了")
    assert world.fake.sent_to(GROUP)[-1:] == [] or all("登记" not in m["text"] for m in world.fake.sent_to(GROUP))
    [offer] = [m for m in sent if m["chat"]["id"] == RESIDENT["id"]]
    assert keyboard_labels(offer) == ["登记", "不用"] and "下水道" in offer["text"]
    confirm = await world.press(RESIDENT, offer, "登记")
    assert "请确认" in confirm[-1]["text"] and "铁塔厂家属院" in confirm[-1]["text"]  # placed by the group
    assert "已受理" in (await world.say(me, RESIDENT, "确认"))[0]["text"]
    assert (await world.cases())[-1].text.startswith("楼下下水道堵了")

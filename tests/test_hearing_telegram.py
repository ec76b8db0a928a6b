"""Issue 11 through Telegram (the real python-telegram-bot against the fake Bot API): group offers and triggers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from fakes.telegram_api import BOT_USERNAME, group_chat, mention_entity, private_chat, user
from models import InboundMessage, InboundStatus
from tests.test_telegram import (
    GROUP,
    NEIGHBOUR,
    RESIDENT,
    SECRETARY,
    World,
    close_world,
    keyboard_labels,
    open_world,
    staffed_group,
)


@pytest.fixture(params=["polling", "webhook"])
async def tg(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[World]:
    opened = await open_world(database_url, request.param)
    try:
        yield opened
    finally:
        await close_world(opened)


async def test_a_report_in_group_chatter_gets_an_offer_with_buttons(tg: World):
    world = tg
    await staffed_group(world)
    chat = group_chat(GROUP)
    assert await world.say(chat, NEIGHBOUR, "今天天气不错，下午去公园转转") == []
    offered = await world.say(chat, RESIDENT, "楼下下水道堵了，污水都流到路上了")
    assert len(offered) == 1 and keyboard_labels(offered[0]) == ["登记", "不用"]
    assert offered[0]["reply_parameters"]["message_id"]  # a reply to the resident's message
    assert await world.press(NEIGHBOUR, offered[0], "登记") == []  # someone else's offer
    confirm = await world.press(RESIDENT, offered[0], "登记")
    assert "请确认" in confirm[-1]["text"] and "下水道" in confirm[-1]["text"]
    filed = await world.say(chat, RESIDENT, "确认", reply_to=confirm[-1])
    assert "已受理" in filed[0]["text"]
    assert "下水道堵了" in (await world.cases())[0].text


async def test_declined_offer_and_hashtags_as_typed(tg: World):
    world = tg
    await staffed_group(world)
    chat = group_chat(GROUP)
    offered = await world.say(chat, RESIDENT, "7号楼楼道灯坏了好几天了，晚上黑得很")
    assert await world.press(RESIDENT, offered[0], "不用") == []
    edited = world.fake.messages[(GROUP, offered[0]["message_id"])]
    assert "不打扰" in edited["text"] and "reply_markup" not in edited  # the offer shows its answer, buttons gone
    async with world.sessions() as session:
        rows = (await session.scalars(select(InboundMessage).where(InboundMessage.channel == "telegram"))).all()
    assert [r.text for r in rows if r.status is InboundStatus.OFFERED] == [None]
    asked = await world.say(chat, user(8007, "小刘"), "＃随手拍：5号楼门口垃圾没人清")
    assert "请确认" in asked[0]["text"] and "内容：5号楼门口垃圾没人清" in asked[0]["text"]
    assert "#随手拍" in (await world.say(chat, user(8008, "小陈"), "帮助"))[0]["text"]


async def test_private_dead_ends_and_an_emergency_on_telegram(tg: World):
    world = tg
    await staffed_group(world)
    me = private_chat(RESIDENT["id"], "王阿姨")
    assert "不客气" in (await world.say(me, RESIDENT, "谢谢"))[0]["text"]
    offered = await world.say(me, RESIDENT, "外面那个灯不行了")
    assert "帮您登记" in offered[0]["text"]
    await world.say(me, RESIDENT, "取消")
    chat = group_chat(GROUP)
    text = f"@{BOT_USERNAME} 5号楼电梯里关着人出不来了"
    answer = await world.say(chat, NEIGHBOUR, text, entities=[mention_entity(text, f"@{BOT_USERNAME}")])
    assert "96333" in answer[0]["text"] and "已受理" in answer[-1]["text"]
    await world.deliver()
    assert any("【紧急】" in m["text"] for m in world.fake.sent_to(SECRETARY["id"]))

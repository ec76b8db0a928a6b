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


async def test_urging_in_the_group_rating_by_button_and_a_worker_refused_on_telegram(tg: World):
    world = tg
    await staffed_group(world)
    me, desk = private_chat(RESIDENT["id"], "王阿姨"), private_chat(WORKER["id"], "李娟")
    numbers = []
    for text in ("铁塔厂家属院5号楼楼道灯不亮了", "铁塔厂家属院6号楼门口垃圾没人清"):
        await world.say(me, RESIDENT, f"#随手拍 {text}")
        await world.say(me, RESIDENT, "确认")
        numbers.append((await world.cases())[-1].id)
        await world.say(desk, WORKER, f"接单 {numbers[-1]}")
    urged = await world.say(group_chat(GROUP), RESIDENT, f"催办 {numbers[0]}")  # no @-mention needed
    assert "已催办" in urged[0]["text"]
    await world.deliver()
    assert "【居民催办】" in world.fake.sent_to(WORKER["id"])[-1]["text"]
    answer = await world.say(desk, WORKER, f"不予受理 {numbers[0]} 重复")
    assert "网格员无权不予受理" in answer[0]["text"] and f"退回 {numbers[0]}" in answer[0]["text"]
    for number in numbers:
        await world.say(desk, WORKER, f"办结 {number} 已处理")
    asked = await world.say(me, RESIDENT, "满意")
    assert "给哪一件" in asked[0]["text"] and keyboard_labels(asked[0]) == [f"#{n}" for n in reversed(numbers)]
    await world.press(RESIDENT, asked[0], f"#{numbers[0]}")
    assert f"#{numbers[0]} 已关闭" in world.fake.messages[(RESIDENT["id"], asked[0]["message_id"])]["text"]
    assert [c.rating for c in await world.cases()][:2] == ["satisfied", None]

"""Wishes over Telegram: a resident's wish in a bound group, staff publish, a 双报到 party member registers,
claims and fulfils it with a photo; nothing personal reaches the group."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fakes.telegram_api import group_chat, private_chat, user
from tests.test_telegram import GROUP, RESIDENT, World, close_world, open_world, staffed_group

STAFF = user(9003, "白露")  # C001, community staff of 市铁塔厂社区
MEMBER = user(8101, "张明")


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    opened = await open_world(database_url, "webhook")
    try:
        yield opened
    finally:
        await close_world(opened)


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or m.get("caption") or "" for m in messages)


async def test_wish_claimed_and_fulfilled_over_telegram(world: World):
    await staffed_group(world)
    assert "绑定成功：白露" in (await world.bind_staff(STAFF, "C001"))[0]["text"]
    chat = group_chat(GROUP)
    question = await world.say(chat, RESIDENT, "#微心愿 我是王阿姨，住3号楼101，电话13800001111，希望有人教我用智能手机")
    assert "智能手机" in texts(question) and "13800001111" not in texts(question) and "101" not in texts(question)
    filed = await world.say(chat, RESIDENT, "确认", reply_to=question[0])
    assert "编号 W1" in texts(filed)

    member_chat = private_chat(MEMBER["id"], "张明")
    await world.say(member_chat, MEMBER, "双报到 张明 市供电公司 党员")
    assert "D7" in texts(await world.say(member_chat, MEMBER, "铁塔厂社区"))
    staff_chat = private_chat(STAFF["id"], "白露")
    assert "已通过" in texts(await world.say(staff_chat, STAFF, "通过 D7"))
    assert "已发布" in texts(await world.say(staff_chat, STAFF, "发布 W1"))
    await world.deliver()
    told = texts(world.fake.sent_to(MEMBER["id"]))
    assert "心愿墙" in told and "认领 W1" in told and "13800001111" not in told

    claimed = await world.say(member_chat, MEMBER, "认领 W1")
    assert "认领成功" in texts(claimed) and "138****1111" in texts(claimed)
    asked = await world.say(member_chat, MEMBER, "实现 W1 教会了用微信视频")
    assert "照片" in texts(asked)
    done = await world.say(member_chat, MEMBER, "", photo="PHOTO-DONE")
    assert "已标记为实现" in texts(done)
    await world.deliver()
    group = texts(world.fake.sent_to(GROUP))
    assert "W1" in group and "已实现" in group
    for personal in ("王阿姨", "13800001111", "3号楼", "101", RESIDENT["first_name"]):
        assert personal not in group, group

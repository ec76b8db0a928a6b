"""Issue 11 places and duplicates through Telegram (python-telegram-bot against the fake Bot API): roads, a home
registered in chat, a building the compound lacks, two buildings kept apart, merge and split by a worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fakes.telegram_api import group_chat, private_chat, user
from models import CaseStatus
from tests.test_telegram import GROUP, RESIDENT, WORKER, World, close_world, open_world, staffed_group


@pytest.fixture
async def tg(database_url: str) -> AsyncIterator[World]:
    opened = await open_world(database_url, "webhook")
    try:
        yield opened
    finally:
        await close_world(opened)


async def test_roads_and_a_home_registered_in_a_private_chat(tg: World):
    world = tg
    me = private_chat(RESIDENT["id"], "王阿姨")
    asked = await world.say(me, RESIDENT, "#随手拍 路灯坏了")
    assert "哪条路" in asked[0]["text"]
    assert "还没有登记住址" in (await world.say(me, RESIDENT, "就在我家门口"))[0]["text"]
    confirm = await world.say(me, RESIDENT, "姜谭路和清姜路十字路口")
    assert "地点：姜谭街道姜谭路与清姜路交叉口" in confirm[0]["text"]
    assert "已受理" in (await world.say(me, RESIDENT, "确认"))[0]["text"]
    assert (await world.cases())[-1].place == "姜谭街道姜谭路与清姜路交叉口"
    assert "登记为「秦机小区5号楼」" in (await world.say(me, RESIDENT, "我家住秦机小区5号楼"))[0]["text"]
    assert "已保存" in (await world.say(me, RESIDENT, "确认"))[0]["text"]
    confirm = await world.say(me, RESIDENT, "#随手拍 就在我家门口路灯坏了")
    assert "地点：秦机小区5号楼" in confirm[0]["text"]


async def test_a_missing_building_two_buildings_and_a_workers_merge_and_split_in_a_group(tg: World):
    world = tg
    await staffed_group(world)
    chat = group_chat(GROUP)
    asked = await world.say(chat, RESIDENT, "#随手拍 12号楼楼道灯坏了")
    assert "铁塔厂家属院没有12号楼" in asked[0]["text"]
    confirm = await world.say(chat, RESIDENT, "2号楼", reply_to=asked[0])
    assert "地点：铁塔厂家属院2号楼" in confirm[0]["text"]
    await world.say(chat, RESIDENT, "确认", reply_to=confirm[0])
    neighbour = user(8010, "李叔")
    confirm = await world.say(chat, neighbour, "#随手拍 3号楼楼道灯坏了")
    await world.say(chat, neighbour, "确认", reply_to=confirm[0])
    two, three = await world.cases()
    assert three.duplicate_of_id is None and three.status is not CaseStatus.DUPLICATE  # two buildings
    worker = private_chat(WORKER["id"], "李娟")
    merged = await world.say(worker, WORKER, f"合并 {two.id} {three.id} 同一条线路")
    assert f"#{three.id} 已并入 #{two.id}" in merged[0]["text"]
    await world.say(worker, WORKER, f"接单 {two.id}")
    await world.say(worker, WORKER, f"进展 {two.id} 线路老化，正在更换")
    await world.deliver()
    told = [m["text"] for m in world.fake.sent_to(GROUP)]
    assert any("已将两单合并" in t for t in told) and any("处理进展：线路老化" in t for t in told)
    split = await world.say(worker, WORKER, f"拆分 {two.id} {three.id}")
    assert f"#{three.id} 已拆出单独办理" in split[0]["text"]
    await world.deliver()
    assert any("已单独立案" in m["text"] for m in world.fake.sent_to(GROUP))

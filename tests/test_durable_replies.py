"""Durable replies: a reply is written with the change that causes it and reaches the resident exactly once,
through a failed send, a crash before the send, and the platform's redelivery of the message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.delivery.outbox import REPLY_PREFIX, plain_plan
from bot.pipeline.messages import Inbound
from fakes.telegram_api import message_update, private_chat, user
from models import Case, Outbox, SendState
from tests.test_telegram import World, close_world, open_world
from tests.wechat_rig import Rig

RESIDENT = user(8101, "刘大爷")
CHAT = private_chat(RESIDENT["id"], RESIDENT["first_name"])
REPORT = "铁塔厂家属院3号楼门口路灯坏了，晚上黑漆漆的"


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    opened = await open_world(database_url, "webhook")
    opened.fake.started.add(RESIDENT["id"])
    try:
        yield opened
    finally:
        await close_world(opened)


async def reply_rows(world: World) -> list[Outbox]:
    async with world.sessions() as session:
        query = select(Outbox).where(Outbox.dedupe_key.startswith(REPLY_PREFIX)).order_by(Outbox.id)
        return list((await session.scalars(query)).all())


async def post(world: World, update: dict) -> int:
    """Posts an update as Telegram does (again, for a redelivery) and waits until it was handled."""
    before = world.channel.processed
    status = await world.post(update)
    if status == 200:
        assert world.channel.processed > before
    return status


def texts_to(world: World, chat_id: int) -> list[str]:
    return [m["text"] for m in world.fake.sent_to(chat_id)]


async def test_a_reply_is_written_with_the_message_and_sent_at_once(world: World):
    assert await post(world, message_update(CHAT, RESIDENT, REPORT, update_id=1)) == 200
    [question] = texts_to(world, RESIDENT["id"])
    assert "请确认" in question
    [row] = await reply_rows(world)
    assert row.state is SendState.SENT and row.chat_id == str(RESIDENT["id"]) and row.platform_message_id


async def test_a_reply_lost_to_a_platform_error_is_sent_by_the_runner_once(world: World):
    world.fake.fail("sendMessage", 502, times=1)
    assert await post(world, message_update(CHAT, RESIDENT, REPORT, update_id=1)) == 200
    assert texts_to(world, RESIDENT["id"]) == []
    [row] = await reply_rows(world)
    assert row.state is SendState.FAILED
    world.clock.advance(minutes=5)
    await world.deliver()
    await world.deliver()
    assert len(texts_to(world, RESIDENT["id"])) == 1 and "请确认" in texts_to(world, RESIDENT["id"])[0]


async def test_a_redelivered_update_whose_reply_was_never_sent_gets_it_once(world: World):
    """The process wrote the case step and its reply, then died before sending: Telegram redelivers the update."""
    update = message_update(CHAT, RESIDENT, REPORT, update_id=7, message_id=501)
    message = update["message"]
    inbound = Inbound(channel="telegram", chat_id=str(CHAT["id"]), is_group=False, sender_id=str(RESIDENT["id"]),
                      sender_name=RESIDENT["first_name"], text=REPORT, message_id=f"{CHAT['id']}:501",
                      sent_at=world.clock.now())
    answer = await world.runtime.dispatcher.answer(inbound, plain_plan)  # written and claimed, never sent
    assert answer.rows and message["message_id"] == 501
    # While the dead writer's claim holds, a redelivery changes nothing and sends nothing.
    assert await post(world, json.loads(json.dumps(update))) == 200
    assert texts_to(world, RESIDENT["id"]) == []
    # Once the claim ran out, the next redelivery takes the reply over and sends it; later ones send nothing.
    world.clock.advance(seconds=world.runtime.services.settings.reply_lease_seconds + 1)
    assert await post(world, json.loads(json.dumps(update))) == 200
    assert await post(world, json.loads(json.dumps(update))) == 200
    await world.deliver()
    [sent] = texts_to(world, RESIDENT["id"])
    assert "请确认" in sent
    assert [r.state for r in await reply_rows(world)] == [SendState.SENT]


async def test_after_a_crash_the_runner_sends_the_owed_reply_and_a_redelivery_adds_nothing(world: World):
    inbound = Inbound(channel="telegram", chat_id=str(CHAT["id"]), is_group=False, sender_id=str(RESIDENT["id"]),
                      sender_name=RESIDENT["first_name"], text=REPORT, message_id=f"{CHAT['id']}:601",
                      sent_at=world.clock.now())
    await world.runtime.dispatcher.answer(inbound, plain_plan)
    await world.deliver()
    assert texts_to(world, RESIDENT["id"]) == []  # the writer's claim still holds
    world.clock.advance(seconds=world.runtime.services.settings.reply_lease_seconds + 1)
    await world.deliver()
    assert len(texts_to(world, RESIDENT["id"])) == 1
    assert await post(world, message_update(CHAT, RESIDENT, REPORT, update_id=8, message_id=601)) == 200
    await world.deliver()
    assert len(texts_to(world, RESIDENT["id"])) == 1


async def test_a_confirmed_report_redelivered_many_times_files_one_case_and_one_reply(world: World):
    assert await post(world, message_update(CHAT, RESIDENT, REPORT, update_id=1)) == 200
    confirm = message_update(CHAT, RESIDENT, "确认", update_id=2)
    world.fake.fail("sendMessage", 500, times=1)
    for _ in range(5):  # a redelivery storm of the confirmation whose reply failed
        assert await post(world, json.loads(json.dumps(confirm))) == 200
    world.clock.advance(minutes=5)
    await world.deliver()
    for _ in range(3):
        assert await post(world, json.loads(json.dumps(confirm))) == 200
    async with world.sessions() as session:
        assert len((await session.scalars(select(Case))).unique().all()) == 1
    told = [t for t in texts_to(world, RESIDENT["id"]) if "已受理" in t or "编号" in t]
    assert len(told) == 1, texts_to(world, RESIDENT["id"])


# --- WeChat Official Account: the passive answer, and its durable fallback ----------------------------------------

OPENID = "oGridResident000000000000077"


def oa_message(rig: Rig, text: str, msg_id: int) -> dict:
    return {"ToUserName": "gh_gridbot", "FromUserName": OPENID, "CreateTime": rig.next_time(), "MsgType": "text",
            "Content": text, "MsgId": msg_id}


async def oa_replies(rig: Rig) -> list[Outbox]:
    async with rig.harness.services.sessions() as session:
        query = select(Outbox).where(Outbox.dedupe_key.startswith(REPLY_PREFIX)).order_by(Outbox.id)
        return list((await session.scalars(query)).all())


async def test_wechat_answers_passively_and_the_reply_row_is_marked_sent(database_url: str):
    rig = await Rig.start(database_url)
    try:
        response = await rig.oa_post(oa_message(rig, REPORT, 880001))
        assert "请确认" in rig.oa_reply(await response.text())
        assert [r.state for r in await oa_replies(rig)] == [SendState.SENT]
        assert rig.fake.to("/cgi-bin/message/custom/send") == []
    finally:
        await rig.close()


async def test_wechat_late_reply_that_fails_is_retried_and_arrives_once(database_url: str):
    rig = await Rig.start(database_url, wechat_reply_window_seconds=0.000001)
    try:
        rig.fake.inject("/cgi-bin/message/custom/send", "5xx")
        assert await (await rig.oa_post(oa_message(rig, REPORT, 880002))).text() == "success"
        await rig.wechat.window.settle()
        assert [r.state for r in await oa_replies(rig)] == [SendState.FAILED]
        rig.harness.clock.advance(minutes=5)
        await rig.deliver()
        await rig.deliver()
        delivered = [c for c in rig.fake.to("/cgi-bin/message/custom/send") if "确认" in str(c.body)]
        assert len(delivered) == 2  # the failed attempt (5xx) and the one that went through
        assert [r.state for r in await oa_replies(rig)] == [SendState.SENT]
    finally:
        await rig.close()


async def test_wechat_retry_after_a_crash_gets_the_owed_reply_once(database_url: str):
    rig = await Rig.start(database_url)
    try:
        inbound = Inbound(channel="wechat", chat_id=OPENID, is_group=False, sender_id=OPENID, sender_name="居民",
                          text=REPORT, message_id="880003", sent_at=rig.harness.clock.now())
        await rig.harness.runtime.dispatcher.answer(inbound, plain_plan)  # written and claimed; the process died
        rig.harness.clock.advance(seconds=rig.harness.services.settings.reply_lease_seconds + 1)
        for _ in range(3):  # WeChat's retries of the message
            assert await (await rig.oa_post(oa_message(rig, REPORT, 880003))).text() == "success"
        await rig.wechat.window.settle()
        await rig.deliver()
        sent = rig.fake.to("/cgi-bin/message/custom/send")
        assert len(sent) == 1 and "确认" in str(sent[0].body)
    finally:
        await rig.close()

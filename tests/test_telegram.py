"""The Telegram channel end to end: the real python-telegram-bot against the fake Bot API, polling and webhook."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.channels.telegram import (
    SECRET_HEADER,
    WEBHOOK_PATH,
    RateLimits,
    TelegramChannel,
    telegram_channel,
)
from bot.clock import FrozenClock
from bot.delivery.runner import drain
from bot.jobs.broadcasts import weekly_broadcast
from bot.pipeline.invites import create_invite
from bot.runtime import Runtime, start
from config.settings import SettingsError, load_settings
from fakes.telegram_api import (
    BOT_USERNAME,
    TOKEN,
    FakeBotApi,
    FloodLimits,
    callback_update,
    group_chat,
    mention_entity,
    message_update,
    private_chat,
    user,
)
from models import Case, CaseStatus, ChatGroup, Identity, InboundMessage, InboundStatus, Outbox, SendState
from tests.conftest import table_counts
from tests.harness import START

SECRET = "s3cret-token_for-tests"
GROUP = -1001234
RESIDENT = user(8001, "王阿姨")
NEIGHBOUR = user(8002, "邻居老张")
WORKER = user(9001, "李娟")
SECRETARY = user(9002, "高建华")
FAST = RateLimits(overall=(30, 1.0), group=(20, 1.0))


@dataclass
class World:
    """A running core with the Telegram channel in one mode, the fake Bot API and a frozen clock."""

    fake: FakeBotApi
    runtime: Runtime
    channel: TelegramChannel
    server: TestServer
    http: ClientSession
    clock: FrozenClock
    mode: str
    sent_updates: int = 0

    @property
    def sessions(self):  # type: ignore[no-untyped-def]
        return self.runtime.services.sessions

    async def post(self, update: dict[str, Any], *, secret: str | None = SECRET, body: bytes | None = None) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        payload = body if body is not None else json.dumps(update, ensure_ascii=False).encode()
        async with self.http.post(self.server.make_url(WEBHOOK_PATH), data=payload, headers=headers) as response:
            status = response.status
        await self.channel.replies.settled()  # the replies go out after the answer; tests read them once sent
        return status

    async def send(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Delivers one update the way the mode does and returns the messages the bot sent because of it."""
        before = set(self.fake.messages)
        message = update.get("message") or {}
        if message.get("chat", {}).get("type") == "private":
            self.fake.started.add(message["chat"]["id"])
        if self.mode == "webhook":
            update.setdefault("update_id", 10_000 + self.sent_updates)
            assert await self.post(update) == 200
        else:
            await self.fake.push(update)
        self.sent_updates += 1
        await asyncio.wait_for(self.channel.wait_processed(self.sent_updates), 10)
        return [self.fake.messages[key] for key in sorted(set(self.fake.messages) - before, key=lambda k: k[1])]

    async def say(self, chat: dict[str, Any], sender: dict[str, Any], text: str, **kwargs: Any) -> list[dict]:
        return await self.send(message_update(chat, sender, text, **kwargs))

    async def press(self, sender: dict[str, Any], sent: dict[str, Any], label: str) -> list[dict[str, Any]]:
        """Presses the button with that label on a message the bot sent."""
        payload = next(b["callback_data"] for row in sent["reply_markup"]["inline_keyboard"] for b in row
                       if b["text"] == label)
        return await self.send(callback_update(sender, sent, payload))

    async def deliver(self) -> int:
        """Drains the outbox through the Telegram sender, as the delivery loop would."""
        return await drain(self.sessions, self.channel.sender, self.clock)

    async def bind_staff(self, person: dict[str, Any], code: str) -> list[dict[str, Any]]:
        async with self.sessions.begin() as session:
            token = await create_invite(session, code, now=self.clock.now())
        return await self.say(private_chat(person["id"], person["first_name"]), person, f"/start {token}")

    async def cases(self) -> list[Case]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Case).order_by(Case.id))).unique().all())

    async def outbox(self) -> list[Outbox]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Outbox).order_by(Outbox.id))).all())


def answered(fake: FakeBotApi) -> list[dict[str, Any]]:
    return [c.params for c in fake.called("answerCallbackQuery")]


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


async def open_world(database_url: str, mode: str, *, limits: RateLimits | None = FAST,
                     flood: FloodLimits | None = None, **overrides: Any) -> World:
    fake = await FakeBotApi(limits=flood or FloodLimits(group=(20, 1.0))).start()
    settings = load_settings({}, database_url=database_url, telegram_token=TOKEN, telegram_api_base=fake.base_url,
                             telegram_mode=mode, telegram_webhook_secret=SECRET, public_url="https://gridbot.test",
                             **overrides)
    clock = FrozenClock(START)
    runtime = await start(settings, clock)
    channel = telegram_channel(runtime.dispatcher, settings, limits=limits, read_timeout=1.0, poll_timeout=1.0)
    # Only the channel on the web app: the outbox is drained by the test itself, not by the service's delivery loop.
    app = web.Application()
    channel.setup(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return World(fake, runtime, channel, server, ClientSession(), clock, mode)


async def close_world(world: World) -> None:
    await world.http.close()
    await world.server.close()
    await world.runtime.close()
    await world.fake.stop()


@pytest.fixture
async def world(database_url: str, mode: str) -> AsyncIterator[World]:
    opened = await open_world(database_url, mode)
    try:
        yield opened
    finally:
        await close_world(opened)


@pytest.fixture
async def webhook_world(database_url: str) -> AsyncIterator[World]:
    opened = await open_world(database_url, "webhook")
    try:
        yield opened
    finally:
        await close_world(opened)


async def staffed_group(world: World) -> None:
    """The worker and the secretary open their invite links; the secretary binds the group to the grid."""
    assert "绑定成功：李娟" in (await world.bind_staff(WORKER, "W001"))[0]["text"]
    assert "绑定成功：高建华" in (await world.bind_staff(SECRETARY, "S001"))[0]["text"]
    answer = await world.say(group_chat(GROUP), SECRETARY, "/bind JT-TTC-01")
    assert "已绑定到铁塔厂家属院" in answer[0]["text"]


def keyboard_labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


async def test_group_report_with_photo_to_reopened_case(world: World):
    """Resident reports with a photo in the group → worker gets photo and buttons → 接单, 办结 → the resident
    rates 不满意 in the group → the case reopens and the community secretary is told."""
    await staffed_group(world)
    assert world.fake.webhook.get("secret_token") == (SECRET if world.mode == "webhook" else None)
    chat = group_chat(GROUP)
    assert await world.say(chat, RESIDENT, "大家早上好，今天降温了") == []  # chatter is ignored

    text = "#随手拍 3号楼门口路灯坏了，晚上黑漆漆的"
    question = await world.say(chat, RESIDENT, text, photo="PHOTO-LARGE")
    assert "请确认" in question[0]["text"] and "照片：1 张" in question[0]["text"]
    # Privacy mode: the follow-up is a selective ForceReply, and the resident is told to reply to it.
    assert question[0]["requested_markup"] == {"force_reply": True, "selective": True,
                                           "input_field_placeholder": "直接回复本条消息"}
    assert "请直接回复本条消息" in question[0]["text"]
    filed = await world.say(chat, RESIDENT, "确认", reply_to=question[0])
    assert "已受理，编号 #" in filed[0]["text"]
    [case] = await world.cases()
    assert case.media[0]["ref"] == "PHOTO-LARGE" and case.source_chat_id == str(GROUP)

    assert await world.deliver() >= 1
    to_worker = world.fake.sent_to(WORKER["id"])
    photo, assignment = to_worker[-2], to_worker[-1]
    assert photo["photo"][0]["file_id"] == "PHOTO-LARGE"
    assert keyboard_labels(assignment) == ["接单", "办结", "转派", "退回"]
    assert "13891" not in "".join(m.get("text", "") for m in world.fake.sent_to(GROUP))

    # Someone without the right presses the worker's button: an alert, and nothing changes.
    assert await world.press(NEIGHBOUR, assignment, "接单") == []
    assert answered(world.fake)[-1]["show_alert"] is True
    assert (await world.cases())[0].status is CaseStatus.ASSIGNED

    await world.press(WORKER, assignment, "接单")
    assert (await world.cases())[0].status is CaseStatus.ACCEPTED
    edited = world.fake.messages[(WORKER["id"], assignment["message_id"])]
    assert "已接单" in edited["text"] and keyboard_labels(edited) == ["接单", "办结", "转派", "退回"]
    await world.deliver()
    news = world.fake.sent_to(GROUP)[-1]
    assert f'tg://user?id={RESIDENT["id"]}' in news["text"] and "已由网格员李娟接单" in news["text"]

    prompt = await world.press(WORKER, edited, "办结")
    assert "办结说明" in prompt[-1]["text"]
    done = await world.say(private_chat(WORKER["id"], "李娟"), WORKER, "已更换灯泡，恢复照明")
    assert "已办结" in done[0]["text"]
    assert (await world.cases())[0].status is CaseStatus.RESOLVED

    await world.deliver()
    result = world.fake.sent_to(GROUP)[-1]
    assert "已办结：已更换灯泡" in result["text"] and keyboard_labels(result) == ["满意", "基本满意", "不满意"]
    assert await world.press(NEIGHBOUR, result, "满意") == []  # not the neighbour's case
    assert answered(world.fake)[-1]["show_alert"] is True
    assert (await world.cases())[0].status is CaseStatus.RESOLVED

    why = await world.press(RESIDENT, result, "不满意")
    assert "哪里没有解决好" in why[-1]["text"] and why[-1]["requested_markup"]["force_reply"] is True
    reopened = await world.say(chat, RESIDENT, "灯还是一闪一闪的", reply_to=why[-1])
    assert "已重新打开" in reopened[0]["text"]
    assert (await world.cases())[0].status is CaseStatus.REOPENED
    await world.deliver()
    assert "居民评价不满意" in world.fake.sent_to(SECRETARY["id"])[-1]["text"]
    assert {r.state for r in await world.outbox()} == {SendState.SENT}


async def test_private_report_to_reopened_case(world: World):
    """The same through private chats: progress reaches the resident privately, rating buttons included."""
    assert "绑定成功" in (await world.bind_staff(WORKER, "W001"))[0]["text"]
    assert "绑定成功" in (await world.bind_staff(SECRETARY, "S001"))[0]["text"]
    me = private_chat(RESIDENT["id"], "王阿姨")
    question = await world.say(me, RESIDENT, "铁塔厂家属院5号楼楼道灯不亮了", photo="P2")
    assert "请确认" in question[0]["text"] and "requested_markup" not in question[0]
    assert "已受理" in (await world.say(me, RESIDENT, "确认"))[0]["text"]
    await world.deliver()
    assignment = world.fake.sent_to(WORKER["id"])[-1]
    await world.press(WORKER, assignment, "接单")
    await world.press(WORKER, assignment, "办结")
    await world.say(private_chat(WORKER["id"], "李娟"), WORKER, "已修好")
    await world.deliver()
    to_resident = world.fake.sent_to(RESIDENT["id"])
    assert any("已由网格员李娟接单" in m["text"] for m in to_resident)
    result = to_resident[-1]
    assert keyboard_labels(result) == ["满意", "基本满意", "不满意"]
    await world.press(RESIDENT, result, "不满意")
    reopened = await world.say(me, RESIDENT, "还是不亮")
    assert "已重新打开" in reopened[0]["text"]
    await world.deliver()
    assert "居民评价不满意" in world.fake.sent_to(SECRETARY["id"])[-1]["text"]
    assert world.fake.sent_to(GROUP) == []


async def test_commands_mentions_and_replies_in_a_group(world: World):
    """/report@bot, an @mention, a reply to the bot and /help are addressed; other bots' commands are not."""
    await staffed_group(world)
    chat = group_chat(GROUP)
    text = f"@{BOT_USERNAME} 2号楼电梯坏了"
    asked = await world.say(chat, RESIDENT, text, entities=[mention_entity(text, f"@{BOT_USERNAME}")])
    assert "请确认" in asked[0]["text"] and "2号楼" in asked[0]["text"]
    assert "已取消" in (await world.say(chat, RESIDENT, "取消", reply_to=asked[0]))[0]["text"]
    asked = await world.say(chat, NEIGHBOUR, f"/report@{BOT_USERNAME} 6号楼下水道堵了")
    assert "请确认" in asked[0]["text"]
    assert await world.say(chat, NEIGHBOUR, "/report@other_bot 路灯坏了") == []
    assert "#随手拍" in (await world.say(chat, user(8005, "小刘"), "/help"))[0]["text"]


async def test_bind_needs_a_governing_staff_member(world: World):
    await world.bind_staff(WORKER, "W001")
    await world.bind_staff(SECRETARY, "S002")  # 吴红梅's link opened by this account: 市发电厂社区's secretary
    chat = group_chat(GROUP)
    assert "只有社区书记" in (await world.say(chat, RESIDENT, "/bind JT-TTC-01"))[0]["text"]
    assert "只有社区书记" in (await world.say(chat, WORKER, "/bind JT-TTC-01"))[0]["text"]
    assert "不在您负责的范围内" in (await world.say(chat, SECRETARY, "/bind JT-TTC-01"))[0]["text"]
    assert "没有找到" in (await world.say(chat, SECRETARY, "/bind NOPE-1"))[0]["text"]
    assert "已绑定到发电厂生活区" in (await world.say(chat, SECRETARY, "/bind JT-FDC-01"))[0]["text"]
    async with world.sessions() as session:
        groups = (await session.scalars(select(ChatGroup).where(ChatGroup.channel == "telegram"))).all()
    assert [(g.chat_id, g.title) for g in groups] == [(str(GROUP), "铁塔厂家属院居民群")]


async def test_invite_is_one_time(world: World):
    async with world.sessions.begin() as session:
        token = await create_invite(session, "W001", now=world.clock.now())
    first = await world.say(private_chat(9001, "李娟"), WORKER, f"/start {token}")
    assert "绑定成功" in first[0]["text"]
    again = await world.say(private_chat(9001, "李娟"), WORKER, f"/start {token}")
    assert "已完成" in again[0]["text"]
    stranger = await world.say(private_chat(8009, "路人"), user(8009, "路人"), f"/start {token}")
    assert "无效" in stranger[0]["text"]
    async with world.sessions() as session:
        identity = await session.scalar(select(Identity).where(Identity.channel == "telegram",
                                                               Identity.user_id == "8009"))
    assert identity is None or identity.staff_id is None


async def test_private_reply_in_a_group_goes_private_or_links(world: World):
    """A reply meant for the sender alone goes to their private chat; without one, a deep link in the group."""
    await staffed_group(world)
    chat = group_chat(GROUP)
    question = await world.say(chat, RESIDENT, "#随手拍 7号楼楼道灯坏了")
    assert "已受理" in (await world.say(chat, RESIDENT, "确认", reply_to=question[0]))[0]["text"]
    answer = await world.say(chat, RESIDENT, "/my")
    assert len(answer) == 1 and answer[0]["chat"]["id"] == GROUP
    assert f"https://t.me/{BOT_USERNAME}?start=go" in answer[0]["text"]
    await world.say(private_chat(RESIDENT["id"], "王阿姨"), RESIDENT, "/start go")
    answer = await world.say(chat, RESIDENT, "/my")
    assert [m["chat"]["id"] for m in answer] == [RESIDENT["id"]] and "#1" in answer[0]["text"]


async def test_redelivered_updates_create_nothing(webhook_world: World):
    world = webhook_world
    await staffed_group(world)
    update = message_update(group_chat(GROUP), RESIDENT, "#随手拍 4号楼门口垃圾好几天没人清运", update_id=500)
    assert await world.post(update) == 200
    sent = len(world.fake.messages)
    assert await world.post(update) == 200  # the same update again
    again = dict(update, update_id=501)  # the same message after a restart, under a new update id
    assert await world.post(again) == 200
    assert len(world.fake.messages) == sent
    async with world.sessions() as session:
        rows = (await session.scalars(select(InboundMessage).where(InboundMessage.channel == "telegram",
                                                                   InboundMessage.chat_id == str(GROUP)))).all()
    assert len([r for r in rows if r.platform_message_id.endswith(f":{update['message']['message_id']}")]) == 1


async def test_webhook_refuses_bad_requests(webhook_world: World, engine):
    world = webhook_world
    update = message_update(private_chat(8001, "王阿姨"), RESIDENT, "#随手拍 3号楼路灯坏了")
    before = await table_counts(engine)
    assert await world.post(update, secret=None) == 403
    assert await world.post(update, secret="wrong") == 403
    assert await world.post(update, secret="") == 403
    assert await world.post(update, body=b"{not json") == 400
    assert await world.post(update, body=b"") == 400
    assert await world.post(update, body=b"[1, 2]") == 400
    assert await world.post(update, body=b'{"message": {}}') == 400
    assert await table_counts(engine) == before
    assert world.fake.called("sendMessage") == []
    assert await world.post({"update_id": 77, "business_connection_x": {"id": "b"}}) == 200
    assert await world.post({"update_id": 78, "poll_answer_unknown": [1]}) == 200
    assert await table_counts(engine) == before


async def test_webhook_reads_bodies_with_and_without_a_length(webhook_world: World, engine):
    """A body past 4 MiB is refused (413) whether its length is announced or it comes chunked; a chunked update
    within the limit is read whole and handled."""
    world = webhook_world
    world.fake.started.add(8001)
    before = await table_counts(engine)
    oversized = json.dumps(message_update(private_chat(8001, "王阿姨"), RESIDENT, "灯" * (5 * 1024 * 1024)),
                           ensure_ascii=False).encode()

    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        for offset in range(0, len(body), 100_000):
            yield body[offset:offset + 100_000]

    headers = {SECRET_HEADER: SECRET}
    for data in (oversized, chunks(oversized)):
        async with world.http.post(world.server.make_url(WEBHOOK_PATH), data=data, headers=headers) as response:
            assert response.status == 413
    assert await table_counts(engine) == before
    update = message_update(private_chat(8001, "王阿姨"), RESIDENT, "#随手拍 3号楼路灯坏了", update_id=901)
    body = json.dumps(update, ensure_ascii=False).encode()
    async with world.http.post(world.server.make_url(WEBHOOK_PATH), data=chunks(body), headers=headers) as response:
        assert response.status == 200
    await world.channel.replies.settled()
    assert world.fake.sent_to(8001)


async def test_webhook_handles_a_megabyte_message(webhook_world: World):
    world = webhook_world
    world.fake.started.add(8001)
    huge = "路灯坏了" * 262_144  # 1 M characters
    update = message_update(private_chat(8001, "王阿姨"), RESIDENT, huge, update_id=900)
    assert await world.post(update) == 200
    texts = [m["text"] for m in world.fake.sent_to(8001)]
    assert any("消息过长" in t for t in texts) and all(len(t) <= 4096 for t in texts)
    async with world.sessions() as session:
        row = await session.scalar(select(InboundMessage).where(InboundMessage.channel == "telegram"))
    assert row.status is InboundStatus.HANDLED


async def test_webhook_mode_without_a_secret_refuses_to_start(database_url: str):
    settings = load_settings({}, database_url=database_url, telegram_token=TOKEN, telegram_mode="webhook",
                             public_url="https://gridbot.test")
    runtime = await start(settings)
    try:
        with pytest.raises(SettingsError, match="GRIDBOT_TELEGRAM_WEBHOOK_SECRET"):
            telegram_channel(runtime.dispatcher, settings)
    finally:
        await runtime.close()


def test_mode_must_be_polling_or_webhook():
    with pytest.raises(SettingsError, match="GRIDBOT_TELEGRAM_MODE: must be polling or webhook"):
        load_settings({"GRIDBOT_TELEGRAM_MODE": "push"})


def test_serve_in_webhook_mode_without_a_secret_stops_with_one_line(tmp_path):
    root = Path(__file__).resolve().parents[1]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db", "GRIDBOT_TELEGRAM_TOKEN": TOKEN,
           "GRIDBOT_TELEGRAM_MODE": "webhook", "GRIDBOT_PUBLIC_URL": "https://gridbot.test"}
    result = subprocess.run([sys.executable, str(root / "run.py"), "serve"], capture_output=True, text=True,
                            env=env, cwd=root, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "gridbot: invalid setting GRIDBOT_TELEGRAM_WEBHOOK_SECRET: webhook mode needs a secret")


async def test_category_buttons_when_the_classifier_is_unsure(world: World):
    await staffed_group(world)
    chat = group_chat(GROUP)
    asked = await world.say(chat, RESIDENT, "#随手拍 3号楼水管和电线都有问题")
    assert keyboard_labels(asked[0]) == ["供电停电", "供水", "其他"] and "请点下方按钮选择" in asked[0]["text"]
    assert await world.press(NEIGHBOUR, asked[0], "供水") == []  # someone else's dialogue
    assert answered(world.fake)[-1]["show_alert"] is True
    confirm = await world.press(RESIDENT, asked[0], "供水")
    assert "类别：供水" in confirm[-1]["text"] and confirm[-1]["requested_markup"]["force_reply"] is True
    assert f"tg://user?id={RESIDENT['id']}" in confirm[-1]["text"]
    edited = world.fake.messages[(GROUP, asked[0]["message_id"])]
    assert "reply_markup" not in edited and edited["edits"] == 1
    filed = await world.say(chat, RESIDENT, "确认", reply_to=confirm[-1])
    assert "已受理" in filed[0]["text"]
    assert (await world.cases())[0].category_name == "供水"


async def test_weekly_broadcast_gives_the_secretary_the_chart_as_one_photo_despite_a_5xx(webhook_world: World):
    """The secretary's weekly report arrives as an uploaded PNG with the report as its caption; the first
    attempt's photo upload meets a 502, the retry delivers it, and it is delivered once."""
    world = webhook_world
    await staffed_group(world)
    question = await world.say(group_chat(GROUP), RESIDENT, "#随手拍 3号楼门口路灯坏了")
    assert "已受理" in (await world.say(group_chat(GROUP), RESIDENT, "确认", reply_to=question[0]))[0]["text"]
    await world.deliver()
    world.clock.set(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))  # the next Monday 09:00
    await weekly_broadcast(world.runtime.services, "2026-W49", world.clock.now())
    world.fake.fail("sendPhoto", 502)
    before = len(world.fake.sent_to(SECRETARY["id"]))

    assert await world.deliver() == 1  # the group's report (text only); the secretary's photo met the 502
    [row] = [r for r in await world.outbox() if r.recipient == "staff:S001" and r.dedupe_key.startswith("weekly:")]
    assert row.state is SendState.FAILED and "Bad Gateway" in row.last_error
    assert world.fake.sent_to(SECRETARY["id"])[before:] == []

    world.clock.advance(hours=1)
    assert await world.deliver() == 1
    world.clock.advance(days=1)
    assert await world.deliver() == 0
    [photo] = world.fake.sent_to(SECRETARY["id"])[before:]
    [upload] = world.fake.uploads("sendPhoto")
    assert upload.data.startswith(b"\x89PNG\r\n\x1a\n") and upload.size > 5000
    assert upload.filename == "weekly-2026-W49-JT-TTC.png" and upload.content_type == "image/png"
    assert photo["photo"][0]["file_size"] == upload.size
    [row] = [r for r in await world.outbox() if r.id == row.id]
    assert photo["caption"] == row.text and "市铁塔厂社区·2026年第49周进展" in row.text and "新受理 1 件" in row.text
    assert row.state is SendState.SENT and row.attempts == 2 and row.platform_message_id == str(photo["message_id"])
    group_report = world.fake.sent_to(GROUP)[-1]
    assert "2026年第49周进展" in group_report["text"] and "photo" not in group_report

"""The Telegram outbox sender against the fake Bot API: flood limits, 429/5xx/timeouts, dead chats, rendering."""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select
from telegram.ext import Application

from bot.channels.telegram import RateLimits, TelegramSender, build_application
from bot.clock import FrozenClock
from bot.delivery.outbox import Notice, enqueue
from bot.delivery.runner import drain
from fakes.telegram_api import TOKEN, FakeBotApi, FloodLimits
from models import Outbox, SendState
from tests.harness import START

GROUP = -1007770
WORKER = 9001


async def open_sender(fake: FakeBotApi, limits: RateLimits | None,
                      sessions) -> tuple[Application, TelegramSender]:  # type: ignore[no-untyped-def]
    application = build_application(TOKEN, fake.base_url, limits=limits, polling=False, read_timeout=0.5)
    await application.initialize()
    return application, TelegramSender(application.bot, sessions)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    server = await FakeBotApi(limits=FloodLimits(overall=(30, 1.0), group=(20, 1.0))).start()
    server.started.add(WORKER)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def sender(fake: FakeBotApi, sessions) -> AsyncIterator[TelegramSender]:  # type: ignore[no-untyped-def]
    application, telegram_sender = await open_sender(fake, RateLimits(overall=(30, 1.0), group=(20, 1.0)), sessions)
    try:
        yield telegram_sender
    finally:
        await application.shutdown()


async def queue(sessions, *notices: Notice) -> None:  # type: ignore[no-untyped-def]
    async with sessions.begin() as session:
        for notice in notices:
            await enqueue(session, notice, now=START)


def notice(key: str, chat_id: int, text: str, **extras) -> Notice:  # type: ignore[no-untyped-def]
    return Notice(dedupe_key=key, channel="telegram", chat_id=str(chat_id), recipient=f"test:{chat_id}",
                  text=text, extras=extras)


async def rows(sessions) -> list[Outbox]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return list((await session.scalars(select(Outbox).order_by(Outbox.id))).all())


def delivered_texts(fake: FakeBotApi) -> Counter[str]:
    return Counter(m.get("text", "") for m in fake.messages.values())


async def test_a_burst_into_one_group_keeps_flood_limits_and_loses_nothing(sessions, fake, sender):
    """100 notices into one group (20 per window, the window scaled from a minute to a second) and 20 private."""
    await queue(sessions, *(notice(f"g{n}", GROUP, f"群通知 {n}") for n in range(100)),
                *(notice(f"p{n}", WORKER, f"私信 {n}") for n in range(20)))
    clock = FrozenClock(START)
    assert await drain(sessions, sender, clock) == 120
    assert fake.violations == []
    texts = delivered_texts(fake)
    assert len(texts) == 120 and set(texts.values()) == {1}
    assert {r.state for r in await rows(sessions)} == {SendState.SENT}


async def test_the_fake_notices_a_sender_without_limits(fake, sessions):
    application, unlimited = await open_sender(fake, None, sessions)
    try:
        for n in range(25):
            await application.bot.send_message(GROUP, f"刷屏 {n}")
    finally:
        await application.shutdown()
    assert fake.violations and fake.violations[0].startswith(f"group {GROUP}")


async def test_429_5xx_and_timeouts_are_retried_and_nothing_is_sent_twice(sessions, fake, sender):
    await queue(sessions, *(notice(f"k{n}", WORKER, f"工单提醒 {n}") for n in range(4)))
    fake.fail("sendMessage", 429, retry_after=7)
    fake.fail("sendMessage", 500)
    fake.stall("sendMessage")
    clock = FrozenClock(START)
    assert await drain(sessions, sender, clock) == 1
    first, second, third, fourth = await rows(sessions)
    assert first.state is SendState.FAILED and first.due_at >= START + timedelta(seconds=7)
    assert "Flood control" in first.last_error
    assert second.state is SendState.FAILED and "Internal Server Error" in second.last_error
    assert third.state is SendState.FAILED and "TimedOut" in third.last_error
    assert fourth.state is SendState.SENT and fourth.platform_message_id
    clock.advance(hours=2)
    assert await drain(sessions, sender, clock) == 3
    assert delivered_texts(fake) == Counter({f"工单提醒 {n}": 1 for n in range(4)})
    clock.advance(hours=2)
    assert await drain(sessions, sender, clock) == 0


async def test_blocked_bot_and_deleted_chat_are_recorded_dead_not_retried(sessions, fake, sender):
    fake.started.add(8100)
    fake.blocked.add(8100)
    fake.gone.add(-100999)
    await queue(sessions, notice("blocked", 8100, "办结通知"), notice("gone", -100999, "群通知"),
                notice("never-started", 8200, "您好"))
    clock = FrozenClock(START)
    assert await drain(sessions, sender, clock) == 0
    blocked, gone, never = await rows(sessions)
    assert blocked.state is SendState.DEAD and "blocked" in blocked.last_error
    assert gone.state is SendState.DEAD and "Chat not found" in gone.last_error
    assert never.state is SendState.DEAD and "Forbidden" in never.last_error
    calls = len(fake.calls)
    clock.advance(days=1)
    assert await drain(sessions, sender, clock) == 0
    assert len(fake.calls) == calls


async def test_photos_buttons_and_mentions_are_rendered(sessions, fake, sender):
    media = [{"kind": "photo", "ref": "AgACbig", "channel": "telegram"}, {"kind": "photo", "ref": "console-photo-1"}]
    await queue(
        sessions,
        notice("assigned", WORKER, "【随手拍 #3】路灯", media=media,
               buttons=[["接单", "接单 3"], ["办结", "办结 3"], ["转派", "转派 3"], ["退回", "退回 3"]]),
        notice("progress", GROUP, "#3 已办结 <b>", mention={"user_id": "8001", "name": "王<阿姨>"},
               buttons=[["满意", "满意 3"], ["基本满意", "基本满意 3"], ["不满意", "不满意 3"]]),
    )
    assert await drain(sessions, sender, FrozenClock(START)) == 2
    photo, assignment = fake.sent_to(WORKER)
    assert [p["file_id"] for p in photo["photo"]] == ["AgACbig"] and [c.params["photo"] for c in
                                                                     fake.called("sendPhoto")] == ["AgACbig"]
    assert assignment["reply_markup"]["inline_keyboard"] == [
        [{"text": "接单", "callback_data": "接单 3"}, {"text": "办结", "callback_data": "办结 3"}],
        [{"text": "转派", "callback_data": "转派 3"}, {"text": "退回", "callback_data": "退回 3"}]]
    [in_group] = fake.sent_to(GROUP)
    assert in_group["parse_mode"] == "HTML"
    assert in_group["text"] == '<a href="tg://user?id=8001">王&lt;阿姨&gt;</a> #3 已办结 &lt;b&gt;'
    assert [r.platform_message_id for r in await rows(sessions)] == [str(assignment["message_id"]),
                                                                     str(in_group["message_id"])]


async def test_case_photos_already_out_are_not_sent_again_when_the_text_is_retried(sessions, fake, sender):
    media = [{"kind": "photo", "ref": f"AgAC{n}", "channel": "telegram"} for n in (1, 2)]
    await queue(sessions, notice("assigned", WORKER, "【随手拍 #4】路灯", media=media))
    fake.fail("sendMessage", 502)
    clock = FrozenClock(START)
    assert await drain(sessions, sender, clock) == 0
    [row] = await rows(sessions)
    assert row.state is SendState.FAILED and row.extras["photos_sent"] == 2
    clock.advance(hours=1)
    assert await drain(sessions, sender, clock) == 1
    assert [c.params["photo"] for c in fake.called("sendPhoto")] == ["AgAC1", "AgAC2"]
    assert [m.get("text") for m in fake.sent_to(WORKER)] == [None, None, "【随手拍 #4】路灯"]


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (31, 119, 180)).save(out, format="PNG")
    return out.getvalue()


def image(data: bytes, filename: str = "weekly-2026-W49-JT-TTC.png") -> dict:
    return {"filename": filename, "mime": "image/png", "png_base64": base64.b64encode(data).decode("ascii")}


async def test_a_report_too_long_for_a_caption_sends_its_chart_once_across_retries(sessions, fake, sender):
    """Over 1,024 characters: the chart with the heading, then the text; the text meets a 500, and the retry
    sends the text alone because the row says its chart is out."""
    text = "【市铁塔厂社区·2026年第49周进展】\n" + "主要问题：路灯照明 3、环境卫生 2。" * 60
    chart = png()
    await queue(sessions, notice("long", WORKER, text, image=image(chart)))
    fake.fail("sendMessage", 500)
    clock = FrozenClock(START)
    assert await drain(sessions, sender, clock) == 0
    [row] = await rows(sessions)
    assert row.state is SendState.FAILED and "Internal Server Error" in row.last_error
    [photo] = fake.sent_to(WORKER)
    assert photo["caption"] == "【市铁塔厂社区·2026年第49周进展】"
    assert row.extras["image"]["telegram_message_id"] == photo["message_id"]
    clock.advance(hours=1)
    assert await drain(sessions, sender, clock) == 1
    photo_again, message = fake.sent_to(WORKER)
    assert photo_again == photo and message["text"] == text
    assert [u.data for u in fake.uploads("sendPhoto")] == [chart]
    [row] = await rows(sessions)
    assert row.state is SendState.SENT and row.platform_message_id == str(message["message_id"])


async def test_a_chart_telegram_refuses_does_not_cost_the_text(sessions, fake, sender):
    await queue(sessions, notice("broken", WORKER, "【本周进展】新受理 2 件", image=image(b"GIF89a not a png")),
                notice("fits", WORKER, "【本周进展】新受理 3 件", image=image(png())))
    assert await drain(sessions, sender, FrozenClock(START)) == 2
    text_only, with_chart = fake.sent_to(WORKER)
    assert text_only["text"] == "【本周进展】新受理 2 件" and "photo" not in text_only
    assert with_chart["caption"] == "【本周进展】新受理 3 件" and "text" not in with_chart
    assert [r.platform_message_id for r in await rows(sessions)] == [str(text_only["message_id"]),
                                                                     str(with_chart["message_id"])]

"""The Telegram JSON calls on the wire (UpdatesBot.post_json over kept-alive connections): what Telegram answers
still classified as PTB classifies it, and HTTP as servers write it (chunked, closing, cut off) read right."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp import web
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channels.telegram import TelegramSender, build_application
from bot.channels.telegram.transport import retry_seconds
from bot.clock import FrozenClock
from bot.delivery.outbox import Notice
from bot.delivery.runner import drain
from fakes.telegram_api import TOKEN, FakeBotApi, FloodLimits
from models import SendState
from tests.harness import START
from tests.test_telegram_outbox import WORKER, open_sender, queue, rows

GROUP = -1007771


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    server = await FakeBotApi(limits=FloodLimits(overall=(10**6, 1.0), group=(10**6, 1.0))).start()
    server.started.add(WORKER)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def sender(fake: FakeBotApi, sessions) -> AsyncIterator[TelegramSender]:  # type: ignore[no-untyped-def]
    application, telegram_sender = await open_sender(fake, None, sessions)
    try:
        yield telegram_sender
    finally:
        await application.shutdown()


async def test_a_reply_meeting_429_then_403_is_retried_after_telegrams_wait_then_dead(sessions, fake, sender):
    await queue(sessions, Notice("reply:telegram:1:1:0", "telegram", str(WORKER), f"test:{WORKER}", "已受理",
                                 {"reply": {"to": 5}, "buttons": [["确认", "ok 1"]]}))
    fake.fail("sendMessage", 429, retry_after=9)
    clock = FrozenClock(START)
    assert await drain(sessions, sender, clock) == 0
    [row] = await rows(sessions)
    assert row.state is SendState.FAILED and row.due_at >= START + timedelta(seconds=9)
    assert "Flood control" in row.last_error
    fake.blocked.add(WORKER)
    clock.advance(minutes=5)
    assert await drain(sessions, sender, clock) == 0
    [row] = await rows(sessions)
    assert row.state is SendState.DEAD and "blocked" in row.last_error
    assert fake.sent_to(WORKER) == []


async def test_a_reply_goes_out_with_its_keyboard_quote_and_forced_answer_as_json(sessions, fake, sender):
    fake.started.add(GROUP)
    await queue(sessions, Notice("k1", "telegram", str(GROUP), "test:1", "在哪个小区？", {
        "reply": {"to": 77, "force": True}}))
    await queue(sessions, Notice("k2", "telegram", str(GROUP), "test:1", "请确认", {
        "reply": {"plain": True}, "buttons": [["确认", "yes"], ["取消", "no"], ["太长", "x" * 65]]}))
    assert await drain(sessions, sender, FrozenClock(START)) == 2
    asked, confirm = fake.sent_to(GROUP)
    assert asked["reply_parameters"] == {"message_id": 77, "allow_sending_without_reply": True}
    assert asked["requested_markup"] == {"force_reply": True, "selective": True,
                                         "input_field_placeholder": "直接回复本条消息"}
    assert confirm["reply_markup"] == {"inline_keyboard": [[{"text": "确认", "callback_data": "yes"},
                                                            {"text": "取消", "callback_data": "no"}]]}
    first, second = await rows(sessions)
    assert (first.platform_message_id, second.platform_message_id) == (str(asked["message_id"]),
                                                                        str(confirm["message_id"]))


async def test_an_edit_meeting_429_is_retried_and_a_refused_edit_counts_as_done(sessions, fake, sender):
    pressed = await sender.bot.post_json("sendMessage", {"chat_id": WORKER, "text": "工单 GB-1"})
    keep = {"inline_keyboard": [[{"text": "办结", "callback_data": "办结 GB-1"}]]}
    await queue(sessions, Notice("edit1", "telegram", str(WORKER), "test:1", "工单 GB-1\n——\n已接单",
                                 {"edit": {"message_id": pressed["message_id"], "keep": keep}}))
    await queue(sessions, Notice("edit2", "telegram", str(WORKER), "test:1", "早已删除",
                                 {"edit": {"message_id": 99999, "keep": None}}))
    fake.fail("editMessageText", 429, retry_after=4)
    clock = FrozenClock(START)
    assert await drain(sessions, sender, clock) == 1
    first, second = await rows(sessions)
    assert first.state is SendState.FAILED and first.due_at >= START + timedelta(seconds=4)
    assert second.state is SendState.SENT and second.platform_message_id == "99999"
    clock.advance(minutes=5)
    assert await drain(sessions, sender, clock) == 1
    edited = fake.messages[(WORKER, pressed["message_id"])]
    assert edited["text"] == "工单 GB-1\n——\n已接单" and edited["reply_markup"] == keep


async def test_answers_map_to_ptbs_errors(fake, sender):
    bot = sender.bot
    assert await bot.post_json("answerCallbackQuery", {"callback_query_id": "q1", "text": "好", "show_alert": False})
    fake.fail("answerCallbackQuery", 429, retry_after=3)
    with pytest.raises(RetryAfter) as limited:
        await bot.post_json("answerCallbackQuery", {"callback_query_id": "q2"})
    assert retry_seconds(limited.value) == 3
    fake.blocked.add(WORKER)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.post_json("sendMessage", {"chat_id": WORKER, "text": "x"})
    fake.gone.add(-5)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.post_json("sendMessage", {"chat_id": -5, "text": "x"})
    fake.fail("sendMessage", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.post_json("sendMessage", {"chat_id": -5, "text": "x"})
    fake.stall("sendMessage")
    with pytest.raises(TimedOut):
        await bot.post_json("sendMessage", {"chat_id": -5, "text": "x"})


Answer = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


async def serve(answer: Answer) -> tuple[web.Server, web.BaseSite, str]:
    server = web.Server(answer)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return server, site, f"http://127.0.0.1:{runner.addresses[0][1]}/bot"


@pytest.fixture
async def wire() -> AsyncIterator[Callable[[Answer], Awaitable[object]]]:
    """A bot talking to a bare HTTP server whose answers the test writes."""
    opened: list = []

    async def open_bot(answer: Answer) -> object:
        server, site, base = await serve(answer)
        application = build_application(TOKEN, base, limits=None, polling=False, read_timeout=0.5)
        await application.initialize()
        opened.append((application, site))
        return application.bot

    try:
        yield open_bot
    finally:
        for application, site in opened:
            await application.shutdown()
            await site.stop()


async def test_kept_alive_chunked_closing_and_cut_off_answers(wire):
    peers: list[object] = []
    answers: list[str] = ["chunked", "plain", "close", "plain", "cut", "plain", "garbage", "plain"]

    async def answer(request: web.BaseRequest) -> web.StreamResponse:
        if request.path.endswith("/getMe"):  # the application's initialize
            return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "网格助手",
                                                             "username": "gridbot"}})
        peers.append(request.transport)
        body = await request.json()
        kind = answers.pop(0)
        if kind == "cut":
            request.transport.abort()  # type: ignore[union-attr]
            return web.Response()
        if kind == "garbage":
            request.transport.write(b"SMTP ready\r\n\r\n")  # type: ignore[union-attr]
            request.transport.close()  # type: ignore[union-attr]
            return web.Response()
        payload = b'{"ok":true,"result":{"message_id":%d}}' % body["chat_id"]
        if kind == "chunked":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(payload[:10])
            await response.write(payload[10:])
            await response.write_eof()
            return response
        return web.Response(body=payload, content_type="application/json",
                            headers={"Connection": "close"} if kind == "close" else None)

    bot = await wire(answer)
    assert (await bot.post_json("sendMessage", {"chat_id": 1, "text": "分块"}))["message_id"] == 1
    assert (await bot.post_json("sendMessage", {"chat_id": 2, "text": "同一连接"}))["message_id"] == 2
    assert peers[0] is peers[1]
    assert (await bot.post_json("sendMessage", {"chat_id": 3, "text": "关闭"}))["message_id"] == 3
    assert (await bot.post_json("sendMessage", {"chat_id": 4, "text": "新连接"}))["message_id"] == 4
    assert peers[3] is not peers[2]
    with pytest.raises(NetworkError):
        await bot.post_json("sendMessage", {"chat_id": 5, "text": "断开"})
    assert (await bot.post_json("sendMessage", {"chat_id": 6, "text": "再连"}))["message_id"] == 6
    with pytest.raises(NetworkError, match="malformed"):
        await bot.post_json("sendMessage", {"chat_id": 7, "text": "乱码"})
    assert (await bot.post_json("sendMessage", {"chat_id": 8, "text": "恢复"}))["message_id"] == 8

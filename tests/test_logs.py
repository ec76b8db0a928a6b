"""The service's log through a real flow: one JSON object per line, no resident's text and no secret at INFO."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bot.app import PathAccessLogger
from bot.channels.telegram import telegram_channel
from bot.clock import FrozenClock
from bot.jobs.scheduler import JobRunner
from bot.logs import QUIETER, configure_logging, wants_json
from bot.runtime import start
from config.settings import load_settings
from fakes.telegram_api import TOKEN, FakeBotApi, FloodLimits, group_chat, private_chat
from tests.harness import START
from tests.test_telegram import FAST, GROUP, RESIDENT, SECRET, WORKER, World, close_world, staffed_group

PHONE = "13987654321"
PROBLEM = "紫藤花架旁边的路灯坏了"  # 紫藤花架: words no log line would carry by chance
DB_PASSWORD = "pg-Hunter2-pass"


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """What configure_logging writes, as `serve` configures it; the root logger is put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quieter = {name: logging.getLogger(name).level for name in QUIETER}
    gathered = (logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    stream = io.StringIO()
    yield stream
    logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing = gathered
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    for handler in root.handlers:
        handler.filters.clear()
    root.setLevel(level)
    for name, was in quieter.items():
        logging.getLogger(name).setLevel(was)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    """The Telegram webhook on an app served with serve's access logger, against the fake Bot API."""
    fake = await FakeBotApi(limits=FloodLimits(group=(20, 1.0))).start()
    settings = load_settings({}, database_url=database_url, telegram_token=TOKEN, telegram_api_base=fake.base_url,
                             telegram_mode="webhook", telegram_webhook_secret=SECRET,
                             public_url="https://gridbot.test")
    clock = FrozenClock(START)
    runtime = await start(settings, clock)
    channel = telegram_channel(runtime.dispatcher, settings, limits=FAST, read_timeout=1.0, poll_timeout=1.0)
    app = web.Application()
    channel.setup(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(access_log_class=PathAccessLogger)
    opened = World(fake, runtime, channel, server, ClientSession(), clock, "webhook")
    try:
        yield opened
    finally:
        await close_world(opened)


async def test_a_report_and_its_notices_log_json_lines_without_the_residents_words_or_secrets(
        world: World, service_log: io.StringIO):
    settings = world.runtime.services.settings
    configure_logging(settings, command="serve", stream=service_log)
    await staffed_group(world)
    question = await world.say(group_chat(GROUP), RESIDENT, f"#随手拍 3号楼{PROBLEM}，电话{PHONE}")
    assert "请确认" in question[0]["text"]
    filed = await world.say(group_chat(GROUP), RESIDENT, "确认", reply_to=question[0])
    assert "已受理" in filed[0]["text"]
    assert await world.deliver() >= 1
    assert PROBLEM in world.fake.sent_to(WORKER["id"])[-1]["text"]  # the worker is told; the log is not
    worker_chat = private_chat(WORKER["id"], "李娟")
    assert "已接单" in (await world.say(worker_chat, WORKER, "接单 1"))[0]["text"]
    done = await world.say(worker_chat, WORKER, "办结 1 紫藤花架的灯泡已换")
    assert "已办结" in done[0]["text"]
    await JobRunner(world.runtime.services).run_due(world.clock.now(), only="sla")
    logging.getLogger("telegram.ext").error("Bot API at %s/bot%s failed", settings.telegram_api_base, TOKEN)

    lines = service_log.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "msg"} <= record.keys() for record in records)
    events = {(r.get("event"), r.get("outcome") or r.get("result")) for r in records}
    assert {("message_in", "answered"), ("send", "sent"), ("http", None)} <= events
    assert any(r["logger"] == "bot.jobs.scheduler" and "job sla" in r["msg"] for r in records)
    for line, record in zip(lines, records, strict=True):
        assert TOKEN not in line and SECRET not in line and TOKEN.split(":")[1] not in line
        if record["level"] in {"DEBUG", "INFO"}:
            assert PROBLEM not in line and PHONE not in line and "紫藤花架" not in line, line
    assert any("***" in r["msg"] for r in records if r["level"] == "ERROR")


def test_the_format_is_json_for_services_and_text_for_terminal_commands(service_log: io.StringIO):
    settings = load_settings({}, database_url=f"postgresql://app:{DB_PASSWORD}@db/gridbot")
    assert wants_json(settings, "serve") and wants_json(settings, "scheduler") and not wants_json(settings, "chat")
    assert wants_json(load_settings({"GRIDBOT_LOG_FORMAT": "JSON"}), "chat")
    assert not wants_json(load_settings({"GRIDBOT_LOG_FORMAT": "text"}), "serve")

    configure_logging(settings, command="chat", stream=service_log)
    configure_logging(settings, command="chat", stream=service_log)  # again: still one line per record
    logging.getLogger("gridbot").warning("cannot reach postgresql://app:%s@db/gridbot", DB_PASSWORD)
    [line] = service_log.getvalue().splitlines()
    assert " WARNING gridbot: cannot reach postgresql://app:***@db/gridbot" in line and DB_PASSWORD not in line


@pytest.mark.parametrize("secret", ["corp-Secret-7788", 'corp"Secret\\7788'])  # the second one JSON escapes
def test_a_secret_in_a_records_fields_is_masked_and_the_rest_kept_as_it_was(service_log: io.StringIO, secret: str):
    settings = load_settings({}, wecom_secret=secret, log_format="json")
    configure_logging(settings, command="serve", stream=service_log)
    logging.getLogger("gridbot").info("token refreshed", extra={
        "event": "token", "url": f"https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpsecret={secret}",
        "attempt": 2, "ok": True, "ms": 12.5, "none": None, "ids": [1, 2], "note": "无"})
    logging.getLogger("gridbot").info("plain", extra={"ids": [3], "note": "居民"})
    lines = service_log.getvalue().splitlines()
    assert secret not in service_log.getvalue()
    masked, plain = (json.loads(line) for line in lines)
    assert masked["url"] == "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpsecret=***"
    assert (masked["attempt"], masked["ok"], masked["ms"], masked["none"], masked["ids"], masked["note"]) == (
        2, True, 12.5, None, "[1, 2]", "无")
    assert (plain["msg"], plain["ids"], plain["note"]) == ("plain", "[3]", "居民")
    assert '"note": "居民"' in lines[1]  # as json.dumps(ensure_ascii=False) writes it

"""Per-source limits on the webhooks: requests from one address, or into one path, over the minute's limit get
429 with a body and Retry-After, and nothing is written (issue 10, defect 13)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, TelegramChannel, telegram_channel
from bot.clock import FrozenClock
from bot.runtime import Runtime, start
from config.settings import load_settings
from fakes.telegram_api import TOKEN, FakeBotApi, message_update, private_chat, user
from tests.harness import START

SECRET = "s3cret-token_for-tests"


@dataclass
class Webhook:
    runtime: Runtime
    channel: TelegramChannel
    server: TestServer
    http: ClientSession
    clock: FrozenClock
    posted: int = 0

    async def post(self, n: int) -> tuple[int, str, dict[str, str]]:
        update = message_update(private_chat(8000 + n, f"居民{n}"), user(8000 + n, f"居民{n}"), "帮助",
                                update_id=20_000 + n)
        async with self.http.post(self.server.make_url(WEBHOOK_PATH), data=json.dumps(update).encode(),
                                  headers={SECRET_HEADER: SECRET}) as response:
            body = await response.text()
            if response.status == 200:
                self.posted += 1
                await asyncio.wait_for(self.channel.wait_processed(self.posted), 10)
            return response.status, body, dict(response.headers)

    async def ledger(self) -> int:
        from sqlalchemy import func, select

        from models import InboundMessage

        async with self.runtime.services.sessions() as session:
            return await session.scalar(select(func.count()).select_from(InboundMessage))


async def open_webhook(database_url: str, **limits: Any) -> tuple[Webhook, FakeBotApi]:
    fake = await FakeBotApi().start()
    settings = load_settings({}, database_url=database_url, telegram_token=TOKEN, telegram_api_base=fake.base_url,
                             telegram_mode="webhook", telegram_webhook_secret=SECRET,
                             public_url="https://gridbot.test", **limits)
    clock = FrozenClock(START)
    runtime = await start(settings, clock)
    channel = telegram_channel(runtime.dispatcher, settings, read_timeout=1.0)
    server = TestServer(create_app(runtime.services, runtime.dispatcher, [channel]), host="127.0.0.1")
    await server.start_server()
    return Webhook(runtime, channel, server, ClientSession(), clock), fake


@pytest.fixture
async def limited(database_url: str) -> AsyncIterator[Webhook]:
    hook, fake = await open_webhook(database_url, inbound_per_source_per_minute=3)
    try:
        yield hook
    finally:
        await hook.http.close()
        await hook.server.close()
        await hook.runtime.close()
        await fake.stop()


async def test_one_address_over_its_minute_gets_429_with_a_body_and_nothing_is_written(limited: Webhook):
    assert [(await limited.post(n))[0] for n in range(3)] == [200, 200, 200]
    status, body, headers = await limited.post(3)
    assert status == 429 and "too many requests from this address" in body and int(headers["Retry-After"]) == 60
    assert await limited.ledger() == 3
    async with limited.http.get(limited.server.make_url("/healthz")) as response:
        assert response.status == 200  # only the webhooks are limited
    limited.clock.advance(seconds=61)
    assert (await limited.post(4))[0] == 200 and await limited.ledger() == 4


async def test_one_webhook_path_over_its_minute_gets_429(database_url: str):
    hook, fake = await open_webhook(database_url, inbound_per_path_per_minute=2)
    try:
        assert [(await hook.post(n))[0] for n in range(2)] == [200, 200]
        status, body, _ = await hook.post(2)
        assert status == 429 and "too many requests to this webhook" in body and await hook.ledger() == 2
    finally:
        await hook.http.close()
        await hook.server.close()
        await hook.runtime.close()
        await fake.stop()


async def test_the_limits_are_off_by_default(database_url: str):
    hook, fake = await open_webhook(database_url)
    try:
        assert [(await hook.post(n))[0] for n in range(5)] == [200] * 5
    finally:
        await hook.http.close()
        await hook.server.close()
        await hook.runtime.close()
        await fake.stop()

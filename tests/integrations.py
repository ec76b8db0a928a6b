"""A service with its web app on a real local port, for driving Open311 and the JSON API over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.web.keys import create_key
from tests.harness import Harness


@asynccontextmanager
async def served(database_url: str) -> AsyncIterator[tuple[Harness, TestClient]]:
    """The demo district's service and an HTTP client of its app."""
    bot = await Harness.start(database_url)
    client = TestClient(TestServer(create_app(bot.services, bot.runtime.dispatcher)))
    await client.start_server()
    try:
        yield bot, client
    finally:
        await client.close()
        await bot.close()


async def new_key(bot: Harness, name: str, **options: object) -> str:
    """Creates an API key in the service's database."""
    async with bot.services.sessions.begin() as session:
        return await create_key(session, name, now=bot.clock.now(), **options)  # type: ignore[arg-type]

"""The web service answers its health check."""

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from tests.harness import Harness


async def test_healthz_reports_database_and_rules(database_url):
    harness = await Harness.start(database_url)
    client = TestClient(TestServer(create_app(harness.services, harness.runtime.dispatcher)))
    await client.start_server()
    try:
        response = await client.get("/healthz")
        assert response.status == 200
        body = await response.json()
        assert body["status"] == "ok" and body["database"] == "ok" and body["categories"] >= 30
    finally:
        await client.close()
        await harness.close()

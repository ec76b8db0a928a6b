"""The web app on a test database: a harness for filing cases by chat and an HTTP client that logs in by link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from tests.harness import Harness

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
LINK = re.compile(r"https?://\S+(/staff/login/\S+)")


@dataclass
class WebRig:
    harness: Harness
    client: TestClient

    @classmethod
    async def start(cls, database_url: str, **overrides: Any) -> WebRig:
        overrides.setdefault("web_cookie_secure", False)  # the test client speaks plain http
        overrides.setdefault("web_public_cache_seconds", 0)
        harness = await Harness.start(database_url, **overrides)
        client = TestClient(TestServer(create_app(harness.services, harness.runtime.dispatcher)))
        await client.start_server()
        return cls(harness, client)

    async def close(self) -> None:
        await self.client.close()
        await self.harness.close()

    async def csrf(self, path: str = "/staff/login") -> str:
        page = await (await self.client.get(path)).text()
        match = CSRF.search(page)
        assert match, page[:500]
        return match.group(1)

    async def request_link(self, code: str) -> str | None:
        """Asks for a login link on the login page and returns the path it sent to the staff member's chat."""
        before = {row.id for row in await self.harness.outbox(f"staff:{code}")}
        response = await self.client.post("/staff/login/link", data={"_csrf": await self.csrf(), "code": code})
        assert response.status in (200, 429)
        sent = [row for row in await self.harness.outbox(f"staff:{code}") if row.id not in before]
        if not sent:
            return None
        match = LINK.search(sent[-1].text)
        assert match, sent[-1].text
        return match.group(1)

    async def redeem(self, path: str) -> ClientResponse:
        token_page = await (await self.client.get(path)).text()
        csrf = CSRF.search(token_page)
        assert csrf, token_page[:500]
        return await self.client.post(path, data={"_csrf": csrf.group(1)}, allow_redirects=False)

    async def login(self, code: str) -> None:
        """Logs in as a staff member through the emailed-to-chat link, as a person would."""
        self.client.session.cookie_jar.clear()
        path = await self.request_link(code)
        assert path, f"no link sent to {code}"
        response = await self.redeem(path)
        assert response.status == 302 and response.headers["Location"] == "/staff/", response.status

    async def post_form(self, path: str, data: dict[str, Any], *, page: str = "/staff/") -> ClientResponse:
        return await self.client.post(path, data={"_csrf": await self.csrf(page), **data}, allow_redirects=False)

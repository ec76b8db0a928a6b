"""A new user's first two messages handled at once register them once; neither fails."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from models import Identity, InboundMessage, InboundStatus, Resident
from tests.harness import Harness


async def test_two_first_messages_at_once_register_one_resident(database_url: str):
    bots = [await Harness.start(database_url), await Harness.start(database_url)]  # two instances, one database
    try:
        first, second = bots
        inbounds = [first.inbound("N900", "我的诉求", name="新居民"), second.inbound("N900", "帮助", name="新居民")]
        replies = await asyncio.gather(first.send(inbounds[0]), second.send(inbounds[1]))
        assert all(r and "系统暂时出错" not in r[0].text for r in replies), replies
        async with first.services.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Identity).where(Identity.user_id == "N900")) == 1
            residents = await session.scalar(select(func.count()).select_from(Resident).where(
                Resident.display_name == "新居民"))
            failed = await session.scalar(select(func.count()).select_from(InboundMessage).where(
                InboundMessage.status == InboundStatus.FAILED))
        assert residents == 1 and failed == 0
    finally:
        for bot in bots:
            await bot.close()


def test_inbound_failed_lists_failed_messages_with_phones_masked(tmp_path, capsys, monkeypatch):
    import asyncio as aio
    from datetime import UTC, datetime

    from bot.cli import main
    from models import InboundMessage, InboundStatus
    from models.db import create_engine, migrate, session_factory

    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"

    async def seed() -> None:
        engine = create_engine(url)
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            session.add(InboundMessage(channel="telegram", platform_message_id="1:2", chat_id="1", sender_id="42",
                                       received_at=datetime(2026, 11, 30, 1, tzinfo=UTC), status=InboundStatus.FAILED,
                                       text="路灯坏了 电话13812345678", error="IntegrityError('x')\nmore"))
        await engine.dispose()

    aio.run(seed())
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", url)
    assert main(["inbound", "--failed"]) == 0
    out = capsys.readouterr().out
    assert "138****5678" in out and "13812345678" not in out and "1 failed message(s)" in out
    assert main(["inbound"]) == 2


async def test_a_sender_over_the_limit_is_told_once_and_kept_not_handled(database_url: str):
    bot = await Harness.start(database_url, inbound_per_sender_per_minute=3)
    try:
        answers = [await bot.send(bot.inbound("R900", "我的诉求")) for _ in range(6)]
        assert all(a and "太快" not in a[0].text for a in answers[:3])
        assert "太快" in answers[3][0].text and answers[4] == [] and answers[5] == []
        async with bot.services.sessions() as session:
            kept = await session.scalar(select(func.count()).select_from(InboundMessage).where(
                InboundMessage.status == InboundStatus.FAILED, InboundMessage.sender_id == "R900"))
        assert kept == 3
        bot.clock.advance(minutes=1)
        assert "太快" not in (await bot.send(bot.inbound("R900", "我的诉求")))[0].text
    finally:
        await bot.close()


async def test_metrics_are_prometheus_text(database_url: str):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_app

    bot = await Harness.start(database_url)
    try:
        await bot.send(bot.inbound("R901", "我的诉求"))
        client = TestClient(TestServer(create_app(bot.services, bot.runtime.dispatcher)))
        await client.start_server()
        try:
            response = await client.get("/metrics")
            body = await response.text()
        finally:
            await client.close()
        assert response.status == 200 and response.content_type == "text/plain"
        assert "# TYPE gridbot_messages_in_total counter" in body
        assert 'gridbot_messages_in_total{channel="console",outcome="answered"}' in body
        assert "# TYPE gridbot_outbox_rows gauge" in body
    finally:
        await bot.close()

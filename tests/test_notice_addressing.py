"""Notices reach staff on a channel the service runs, or become dead letters with the reason (issue 10, defect 2)."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.telegram import TelegramSender, build_application
from bot.cli.service import outbox_command
from bot.delivery.addressing import UNREACHABLE, readdress
from bot.delivery.runner import drain
from bot.grid.district import load_district
from bot.pipeline.messages import Inbound
from fakes.telegram_api import TOKEN, FakeBotApi
from models import SendState
from tests.harness import Harness

W001_TELEGRAM = 9001
W002_TELEGRAM = 9002


def district_with(tmp_path: Path, **telegram_ids: int) -> Path:
    """The demo district, with Telegram ids for the given staff codes (as an operator writes them in the file)."""
    for name in ("demo.yaml", "demo-staff.csv"):
        shutil.copy(Path("config/district") / name, tmp_path / name)
    path = tmp_path / "demo.yaml"
    text = path.read_text(encoding="utf-8")
    for code, user_id in telegram_ids.items():
        text = text.replace(f"{{code: {code}, ", f"{{code: {code}, identities: {{telegram: '{user_id}'}}, ", 1)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    server = await FakeBotApi().start()
    server.started.update({W001_TELEGRAM, W002_TELEGRAM})
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(database_url, tmp_path) -> AsyncIterator[Harness]:
    harness = await Harness.start(database_url, district_path=district_with(tmp_path, W001=W001_TELEGRAM))
    yield harness
    await harness.close()


@pytest.fixture
async def sender(fake, bot) -> AsyncIterator[TelegramSender]:
    application = build_application(TOKEN, fake.base_url, limits=None, polling=False, read_timeout=0.5)
    await application.initialize()
    try:
        yield TelegramSender(application.bot, bot.services.sessions)
    finally:
        await application.shutdown()


async def test_a_worker_who_never_wrote_gets_the_notice_on_telegram(bot, fake, sender):
    case = await bot.report("R001", "3号楼门口路灯坏了", group="JT-TTC-01")
    [row] = [r for r in await bot.outbox("staff:W001") if r.case_id == case.id]
    assert row.channel == "console"  # written for the account listed first: nobody has used one yet
    tally = await readdress(bot.services.sessions, ["telegram"], now=bot.clock.now())
    assert tally.moved >= 1
    await drain(bot.services.sessions, sender, bot.clock)
    [message] = fake.sent_to(W001_TELEGRAM)
    assert f"【随手拍 {case.number}】" in message["text"]
    [row] = [r for r in await bot.outbox("staff:W001") if r.case_id == case.id]
    assert (row.channel, row.chat_id, row.state) == ("telegram", str(W001_TELEGRAM), SendState.SENT)


async def test_a_notice_telegram_refused_is_sent_once_the_worker_has_opened_the_bot(bot, fake, sender):
    fake.started.discard(W001_TELEGRAM)  # listed with a Telegram id, but never opened the bot: Telegram says 403
    case = await bot.report("R001", "3号楼门口路灯坏了", group="JT-TTC-01")
    await readdress(bot.services.sessions, ["telegram"], now=bot.clock.now())
    await drain(bot.services.sessions, sender, bot.clock)
    [row] = [r for r in await bot.outbox("staff:W001") if r.case_id == case.id]
    assert row.state is SendState.DEAD and "can't initiate conversation" in row.last_error
    assert (await readdress(bot.services.sessions, ["telegram"], now=bot.clock.now())).revived == 0

    bot.clock.advance(minutes=10)
    fake.started.add(W001_TELEGRAM)
    hello = Inbound(channel="telegram", chat_id=str(W001_TELEGRAM), is_group=False, sender_id=str(W001_TELEGRAM),
                    sender_name="李娟", text="/start", message_id="tg-1", sent_at=bot.clock.now())
    await bot.send(hello)
    assert (await readdress(bot.services.sessions, ["telegram"], now=bot.clock.now())).revived == 1
    await drain(bot.services.sessions, sender, bot.clock)
    assert [m for m in fake.sent_to(W001_TELEGRAM) if case.number in m["text"]]


async def test_an_unreachable_worker_gets_a_dead_letter_revived_once_they_can_be_reached(
        bot, fake, sender, tmp_path, capsys):
    case = await bot.report("R001", "铁塔新村5号楼门口路灯坏了", group="JT-TTC-02")
    await readdress(bot.services.sessions, ["telegram"], now=bot.clock.now())
    [row] = [r for r in await bot.outbox("staff:W002") if r.case_id == case.id]
    assert row.state is SendState.DEAD and row.last_error.startswith(UNREACHABLE) and "console" in row.last_error
    await outbox_command(bot.services.settings, argparse.Namespace(retry=None, dead=True))
    listing = capsys.readouterr().out
    assert f"{row.id}\tdead\tconsole\tstaff:W002" in listing and UNREACHABLE in listing
    assert "dead letter(s)" in listing
    assert await drain(bot.services.sessions, sender, bot.clock) == 0 and fake.sent_to(W002_TELEGRAM) == []

    # the operator adds W002's Telegram id to the district file and loads it again
    async with bot.services.sessions.begin() as session:
        await load_district(session, district_with(tmp_path, W001=W001_TELEGRAM, W002=W002_TELEGRAM),
                            now=bot.clock.now())
    bot.clock.advance(minutes=1)
    assert (await readdress(bot.services.sessions, ["telegram"], now=bot.clock.now())).revived >= 1
    await drain(bot.services.sessions, sender, bot.clock)
    assert [m for m in fake.sent_to(W002_TELEGRAM) if case.number in m["text"]]
    [row] = [r for r in await bot.outbox("staff:W002") if r.case_id == case.id]
    assert row.state is SendState.SENT


async def test_a_group_notice_on_a_channel_not_run_is_a_dead_letter_with_the_reason(bot):
    await bot.report("R001", "3号楼门口路灯坏了", group="JT-TTC-01")
    await readdress(bot.services.sessions, ["telegram"], now=bot.clock.now())
    rows = await bot.outbox()
    assert not [r for r in rows if r.channel == "console" and r.state in (SendState.PENDING, SendState.FAILED)]
    assert all(r.last_error for r in rows if r.state is SendState.DEAD)


async def test_the_staff_case_page_shows_a_dead_letter_with_its_reason(database_url, tmp_path):
    from tests.web_rig import WebRig

    rig = await WebRig.start(database_url, district_path=district_with(tmp_path))
    try:
        case = await rig.harness.report("R001", "铁塔新村5号楼门口路灯坏了", group="JT-TTC-02")
        await readdress(rig.harness.services.sessions, ["telegram"], now=rig.harness.clock.now())
        await rig.login("S001")
        page = await (await rig.client.get(f"/staff/cases/{case.id}")).text()
        assert f"给 staff:W002（dead：{UNREACHABLE}" in page
    finally:
        await rig.close()

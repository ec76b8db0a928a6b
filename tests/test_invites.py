"""One-time staff invites: create, redeem once, expire; `run.py staff invite` prints the Telegram deep link."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.grid.district import load_district
from bot.pipeline.invites import InviteError, create_invite, redeem_invite
from config.settings import load_settings
from fakes.telegram_api import BOT_USERNAME, TOKEN, FakeBotApi
from models import Identity, Resident, StaffInvite
from tests.harness import START

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def district(sessions):  # type: ignore[no-untyped-def]
    async with sessions.begin() as session:
        await load_district(session, load_settings({}).district_path, now=START)
    return sessions


async def redeem(sessions, token: str, user_id: str, *, at=START):  # type: ignore[no-untyped-def]
    async with sessions.begin() as session:
        staff = await redeem_invite(session, token, channel="telegram", user_id=user_id, display_name="李娟",
                                    private_chat_id=user_id, now=at)
        return staff.code if staff else None


async def test_an_invite_binds_once(district):
    sessions = district
    async with sessions.begin() as session:
        token = await create_invite(session, "W001", now=START)
    assert len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()
    assert await redeem(sessions, token, "9001") == "W001"
    assert await redeem(sessions, token, "9001") is None
    assert await redeem(sessions, token, "9999") is None
    async with sessions() as session:
        identity = await session.scalar(select(Identity).where(Identity.user_id == "9001"))
        invite = await session.scalar(select(StaffInvite).where(StaffInvite.token == token))
    assert identity.staff_id is not None and identity.private_chat_id == "9001"
    assert invite.used_by == "telegram:9001" and invite.used_at == START


async def test_an_expired_or_unknown_invite_binds_nobody(district):
    sessions = district
    async with sessions.begin() as session:
        token = await create_invite(session, "W002", now=START, ttl=timedelta(hours=1))
        with pytest.raises(InviteError):
            await create_invite(session, "NOBODY", now=START)
    assert await redeem(sessions, token, "9002", at=START + timedelta(hours=2)) is None
    assert await redeem(sessions, "made-up-token", "9002") is None


async def test_a_resident_account_that_opens_a_staff_link_becomes_staff(district):
    sessions = district
    async with sessions.begin() as session:
        resident = Resident(display_name="李娟", created_at=START)
        session.add(resident)
        await session.flush()
        session.add(Identity(channel="telegram", user_id="9003", display_name="李娟", resident_id=resident.id))
        token = await create_invite(session, "W003", now=START)
    assert await redeem(sessions, token, "9003") == "W003"
    async with sessions() as session:
        identity = await session.scalar(select(Identity).where(Identity.user_id == "9003"))
    assert identity.staff_id is not None and identity.resident_id is None


async def test_cli_prints_a_one_time_deep_link(tmp_path):
    fake = await FakeBotApi().start()
    try:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
               "GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "GRIDBOT_TELEGRAM_TOKEN": TOKEN,
               "GRIDBOT_TELEGRAM_API_BASE": fake.base_url}
        seeded = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "seed", env=env,
                                                      cwd=ROOT, stdout=asyncio.subprocess.PIPE)
        assert await asyncio.wait_for(seeded.wait(), 120) == 0
        links = []
        for code in ("W001", "W001", "NOPE"):
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "run.py"), "staff", "invite", code, env=env, cwd=ROOT,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(process.communicate(), 120)
            links.append((process.returncode, out.decode().strip(), err.decode().strip()))
    finally:
        await fake.stop()
    (ok1, link1, _), (ok2, link2, _), (failed, _, error) = links
    prefix = f"https://t.me/{BOT_USERNAME}?start="
    assert ok1 == ok2 == 0 and link1.startswith(prefix) and link2.startswith(prefix) and link1 != link2
    assert failed == 2 and error == "gridbot: no staff member with code 'NOPE'"

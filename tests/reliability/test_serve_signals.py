"""A real `run.py serve` in webhook mode, stopped mid-burst by SIGTERM or killed by SIGKILL; the updates it did not
answer with 200 are redelivered, as Telegram does, to the next process. Every resident is told exactly once
(SIGTERM), or at least once and at most twice (SIGKILL: a reply the platform accepted while the process died
before marking it goes again; the Bot API has no idempotency key); no case is filed twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest
from aiohttp import ClientError, ClientSession, ClientTimeout
from sqlalchemy import func, select

from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from fakes.telegram_api import TOKEN, FakeBotApi, FloodLimits, message_update, private_chat, user
from models import Case
from models.db import create_engine, session_factory

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
SECRET = "reliability-secret"
RESIDENTS = 40
FIRST_ID = 700_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_env(database_url: str, fake: FakeBotApi, port: int, **extra: str) -> dict[str, str]:
    """The environment of a `run.py` process against the fake Bot API; `extra` adds or overrides settings."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "PYTHONPATH": str(ROOT), "GRIDBOT_DATABASE_URL": database_url, "GRIDBOT_TELEGRAM_TOKEN": TOKEN,
           "GRIDBOT_TELEGRAM_API_BASE": fake.base_url, "GRIDBOT_TELEGRAM_MODE": "webhook",
           "GRIDBOT_TELEGRAM_WEBHOOK_SECRET": SECRET, "GRIDBOT_PUBLIC_URL": "https://gridbot.test",
           "GRIDBOT_PORT": str(port), "GRIDBOT_REPLY_LEASE_SECONDS": "3", "GRIDBOT_SEND_TIMEOUT_SECONDS": "2",
           "GRIDBOT_SCHEDULER_IN_SERVE": "false", "GRIDBOT_DELIVERY_TICK_SECONDS": "0.2", **extra}


async def start_serve(database_url: str, fake: FakeBotApi, port: int, **extra: str) -> asyncio.subprocess.Process:
    env = service_env(database_url, fake, port, **extra)
    process = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "serve", cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with ClientSession() as http:
        for _ in range(600):  # start-up migrates and loads the district: bounded by the loop, not a clock
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process
            except ClientError:
                pass
            if process.returncode is not None:
                raise AssertionError((await process.stderr.read()).decode()[-2000:])
            await asyncio.sleep(0.1)
    raise AssertionError("serve did not start")


async def post(http: ClientSession, port: int, update: dict) -> int:
    """One webhook delivery; 0 when the connection failed (the process went away)."""
    try:
        async with http.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=update,
                             headers={SECRET_HEADER: SECRET}, timeout=ClientTimeout(total=30)) as response:
            return response.status
    except (ClientError, TimeoutError):
        return 0


def burst() -> list[dict]:
    updates = []
    for n in range(RESIDENTS):
        resident = user(FIRST_ID + n, f"居民{n}")
        updates.append(message_update(private_chat(resident["id"], resident["first_name"]), resident,
                                      "铁塔厂家属院3号楼门口路灯坏了", update_id=n + 1, message_id=1))
    return updates


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
async def test_a_stop_mid_burst_loses_no_reply_and_files_no_case_twice(database_url: str, stop: signal.Signals):
    fake = await FakeBotApi(limits=FloodLimits(overall=(10**9, 1.0), group=(10**9, 1.0))).start()
    fake.started.update(FIRST_ID + n for n in range(RESIDENTS))
    updates = burst()
    try:
        port = free_port()
        first = await start_serve(database_url, fake, port)
        async with ClientSession() as http:
            tasks = [asyncio.create_task(post(http, port, u)) for u in updates]
            await fake.wait_for(lambda f: len(f.called("sendMessage")) >= RESIDENTS // 4)
            first.send_signal(stop)
            statuses = await asyncio.gather(*tasks)
            stderr = (await first.stderr.read()).decode()
            code = await first.wait()
            if stop is signal.SIGTERM:
                assert code == 0 and "SIGTERM received" in stderr and "stopped" in stderr, stderr[-2000:]
            owed = [u for u, status in zip(updates, statuses, strict=True) if status != 200]
            second = await start_serve(database_url, fake, port)
            try:
                while owed:  # Telegram redelivers until it gets a 200
                    statuses = await asyncio.gather(*(post(http, port, u) for u in owed))
                    owed = [u for u, status in zip(owed, statuses, strict=True) if status != 200]
                await asyncio.wait_for(fake.wait_for(lambda f: all(
                    f.sent_to(FIRST_ID + n) for n in range(RESIDENTS))), 60)
            finally:
                second.send_signal(signal.SIGTERM)
                await second.wait()
        told = [len(fake.sent_to(FIRST_ID + n)) for n in range(RESIDENTS)]
        assert min(told) >= 1  # nobody left without an answer
        if stop is signal.SIGTERM:
            assert max(told) == 1, told  # a graceful stop repeats nothing
        else:  # a kill repeats at most once what the platform took in while the process died before marking it
            assert max(told) <= 2, told
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                assert await session.scalar(select(func.count()).select_from(Case)) == 0  # a question, nothing filed
        finally:
            await engine.dispose()
    finally:
        await fake.stop()

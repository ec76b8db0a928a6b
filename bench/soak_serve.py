"""Soak through a real `run.py serve`: the webhook, PTB, the delivery runner and the cron jobs, RSS sampled.

bench/soak.py's traffic mix, sent as Telegram updates to a `serve` subprocess in webhook mode whose Bot API is
the fake, run here (its memory is this process's, not the service's): group chatter and #随手拍 reports in
resident groups, private reports with their confirmation, 我的诉求, and staff 接单/办结 from bound Telegram
accounts. The service's resident set size is read from /proc/<pid>/status at the start, every `--every` minutes
and at the end. Prints one JSON line. Usage: python bench/soak_serve.py [--backend sqlite|postgres] [--minutes 30]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop
from aiohttp import ClientSession, ClientTimeout
from scratch_db import drop_database, fresh_database
from soak import CHATTER, PROBLEMS
from sqlalchemy import func, select

from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from bot.clock import SystemClock
from bot.pipeline.invites import create_invite, redeem_invite
from fakes.telegram_api import TOKEN, FakeBotApi, FloodLimits, group_chat, message_update, private_chat, user
from models import Case, CaseStatus, GridUnit, Staff, UnitLevel
from models.db import create_engine, session_factory

ROOT = Path(__file__).resolve().parent.parent
SECRET = "soak-webhook-secret"
RESIDENT_BASE, STAFF_BASE, GROUP_BASE = 300_000, 50_000, -1_000_500_000


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_serve(url: str, fake: FakeBotApi, port: int, workdir: Path) -> asyncio.subprocess.Process:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "PYTHONPATH": str(ROOT), "GRIDBOT_DATABASE_URL": url, "GRIDBOT_TELEGRAM_TOKEN": TOKEN,
           "GRIDBOT_TELEGRAM_API_BASE": fake.base_url, "GRIDBOT_TELEGRAM_MODE": "webhook",
           "GRIDBOT_TELEGRAM_WEBHOOK_SECRET": SECRET, "GRIDBOT_PUBLIC_URL": "https://gridbot.test",
           "GRIDBOT_PORT": str(port), "GRIDBOT_LOG_LEVEL": "WARNING", "GRIDBOT_PHOTO_DIR": str(workdir / "photos")}
    log = os.open(workdir / "serve.log", os.O_WRONLY | os.O_CREAT)
    serve = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "serve", cwd=ROOT, env=env,
                                                 stdout=asyncio.subprocess.DEVNULL, stderr=log)
    os.close(log)
    async with ClientSession() as http:
        for _ in range(1200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return serve
            except OSError:
                pass
            if serve.returncode is not None:
                raise SystemExit((workdir / "serve.log").read_text()[-2000:])
            await asyncio.sleep(0.1)
    raise SystemExit("serve did not start")


async def bind_staff(sessions) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Every staff member bound to a Telegram account, as their invite link would: code → Telegram user id."""
    now = SystemClock().now()
    bound: dict[str, int] = {}
    async with sessions.begin() as session:
        for offset, code in enumerate((await session.scalars(select(Staff.code).order_by(Staff.id))).all()):
            token = await create_invite(session, code, now=now)
            bound[code] = STAFF_BASE + offset
            await redeem_invite(session, token, channel="telegram", user_id=str(bound[code]), display_name=code,
                                private_chat_id=str(bound[code]), now=now)
    return bound


async def drive(url: str, minutes: float, every: float, senders: int, residents: int, workdir: Path) -> dict:
    fake = await FakeBotApi(limits=FloodLimits(overall=(10**9, 1.0), group=(10**9, 1.0))).start()
    fake.started.update(RESIDENT_BASE + n for n in range(residents))
    port = free_port()
    serve = await start_serve(url, fake, port, workdir)
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        staff = await bind_staff(sessions)
        fake.started.update(staff.values())
        async with sessions() as session:
            compounds = list((await session.scalars(select(GridUnit.name).where(
                GridUnit.level == UnitLevel.GRID))).all())
        ids = itertools.count(1)
        statuses: dict[int, int] = {}
        sent: dict[str, int] = {}

        async def post(http: ClientSession, kind: str, chat: dict, person: dict, text: str) -> None:
            number = next(ids)
            update = message_update(chat, person, text, update_id=number, message_id=number)
            async with http.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=update,
                                 headers={SECRET_HEADER: SECRET}, timeout=ClientTimeout(total=60)) as response:
                statuses[response.status] = statuses.get(response.status, 0) + 1
            sent[kind] = sent.get(kind, 0) + 1

        async def sender(seed: int, http: ClientSession) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                person = user(RESIDENT_BASE + rng.randrange(residents), "居民")
                group = group_chat(GROUP_BASE - rng.randrange(40))
                problem = rng.choice(PROBLEMS).format(b=rng.randint(1, 6))
                roll = rng.random()
                if roll < 0.45:
                    await post(http, "chatter", group, person, rng.choice(CHATTER))
                elif roll < 0.60:
                    await post(http, "group_report", group, person, f"#随手拍 {rng.choice(compounds)}{problem}")
                elif roll < 0.70:
                    chat = private_chat(person["id"], "居民")
                    await post(http, "private_report", chat, person, f"{rng.choice(compounds)}{problem}")
                    await post(http, "confirm", chat, person, "确认")
                elif roll < 0.85:
                    await post(http, "query", private_chat(person["id"], "居民"), person, "我的诉求")
                else:
                    async with sessions() as session:
                        row = (await session.execute(
                            select(Case.id, Case.status, Staff.code).join(Staff, Staff.id == Case.assignee_id)
                            .where(Case.status.in_([CaseStatus.ASSIGNED, CaseStatus.ACCEPTED]))
                            .order_by(func.random()).limit(1))).first()
                    if row is not None:
                        worker = user(staff[row.code], row.code)
                        words = f"接单 {row.id}" if row.status == CaseStatus.ASSIGNED else f"办结 {row.id} 已修复"
                        await post(http, "staff_action", private_chat(worker["id"], row.code), worker, words)

        async def sampler() -> None:
            next_sample = began + every * 60
            while time.monotonic() < deadline:
                await asyncio.sleep(1)
                if time.monotonic() >= next_sample and time.monotonic() < deadline:
                    curve.append({"minute": round((time.monotonic() - began) / 60, 1), "rss_mib": rss_mib(serve.pid)})
                    next_sample += every * 60

        curve = [{"minute": 0.0, "rss_mib": rss_mib(serve.pid)}]
        began = time.monotonic()
        deadline = began + minutes * 60
        async with ClientSession() as http:
            await asyncio.gather(sampler(), *(sender(seed, http) for seed in range(senders)))
        curve.append({"minute": round((time.monotonic() - began) / 60, 1), "rss_mib": rss_mib(serve.pid)})
        async with sessions() as session:
            cases = await session.scalar(select(func.count()).select_from(Case))
    finally:
        serve.send_signal(signal.SIGTERM)
        await asyncio.wait_for(serve.wait(), 60)
        await engine.dispose()
        await fake.stop()
    total = sum(sent.values())
    result = {"updates": total, "updates_per_s": round(total / (curve[-1]["minute"] * 60 or 1), 1), "sent": sent,
              "http_statuses": statuses, "bot_messages_sent": len(fake.called("sendMessage")), "cases_filed": cases,
              "serve_exit": serve.returncode, "rss_curve": curve,
              "rss_growth_mib": round(curve[-1]["rss_mib"] - curve[0]["rss_mib"], 1)}
    if len(curve) > 2:
        result["rss_growth_after_first_sample_mib"] = round(curve[-1]["rss_mib"] - curve[1]["rss_mib"], 1)
    return result


async def soak(backend: str, minutes: float, every: float, senders: int, residents: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        url = await fresh_database(backend, Path(workdir))
        try:
            return await drive(url, minutes, every, senders, residents, Path(workdir))
        finally:
            await drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=5.0, help="minutes between RSS samples")
    parser.add_argument("--senders", type=int, default=4, help="people talking at once")
    parser.add_argument("--residents", type=int, default=2000, help="size of the resident pool")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    figures = {"bench": "soak_serve", "backend": args.backend, "minutes": args.minutes, "senders": args.senders,
               "commit": commit, "python": platform.python_version()}
    figures.update(uvloop.run(soak(args.backend, args.minutes, args.every, args.senders, args.residents)))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

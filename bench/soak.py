"""Soak: one process, mixed traffic for a long while, resident set size sampled.

The demo district on a fresh database; the console channel's dispatcher, delivery drain and the cron jobs'
runner, as `run.py serve` wires them. Traffic from `--senders` concurrent people, as fast as the machine goes: by
draw, 45% group chatter, 15% group reports (#随手拍 … then 确认), 10% private reports with their confirmation,
15% 我的诉求 queries, 15% staff actions (the assignee's 接单 then 办结 of a filed case). Residents come from a pool
of `--residents`. RSS (from /proc/self/status) is sampled at the start, every `--every` minutes and at the end;
`--tracemalloc` adds the ten sites whose allocations grew most between the first and the last sample.
Prints one JSON line. Usage: python bench/soak.py [--backend sqlite|postgres] [--minutes 30] [--every 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import random
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import uvloop
from scratch_db import drop_database, fresh_database
from sqlalchemy import func, select

from bot.channels.console import ConsoleChannel
from bot.jobs.scheduler import JobRunner
from bot.runtime import freeze_startup_heap, start
from config.settings import load_settings
from models import Case, CaseStatus, ChatGroup, GridUnit, Staff, UnitLevel

CHATTER = ["大家早上好", "谁家的快递放错了", "今晚广场舞几点开始", "哈哈哈", "有人拼车去西安吗", "楼下超市打折了",
           "孩子作业不会写", "明天降温多穿点", "谁有多余的纸箱", "收到，谢谢"]
PROBLEMS = ["{b}号楼门口路灯坏了", "{b}号楼电梯又坏了，老人下不了楼", "{b}号楼下水道堵了，污水冒出来了",
            "{b}号楼楼道有人飞线充电", "{b}号楼门口垃圾好几天没人清运", "{b}号楼楼上装修噪音太大"]


def rss_mib() -> float:
    """This process's resident set size in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS in /proc/self/status")


class Nowhere:
    """Where the console's replies and notices are printed: nowhere (os.devnull without blocking I/O)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class Traffic:
    """Draws one person's next exchange and sends it through the console channel."""

    def __init__(self, console: ConsoleChannel, groups: list[tuple[str, str]], residents: int, seed: int) -> None:
        self.console, self.groups, self.residents = console, groups, residents
        self.rng = random.Random(seed)
        self.sent: dict[str, int] = {}

    async def say(self, kind: str, text: str, user: str, chat: str | None) -> None:
        await self.console.say(text, user_id=user, user_name=user, group_chat=chat)
        self.sent[kind] = self.sent.get(kind, 0) + 1

    async def one(self) -> None:
        rng = self.rng
        chat, compound = rng.choice(self.groups)
        user = f"R{rng.randrange(self.residents):05d}"
        problem = rng.choice(PROBLEMS).format(b=rng.randint(1, 6))
        roll = rng.random()
        if roll < 0.45:
            await self.say("chatter", rng.choice(CHATTER), user, chat)
        elif roll < 0.60:
            await self.say("group_report", f"#随手拍 {problem}", user, chat)
            await self.say("confirm", "确认", user, chat)
        elif roll < 0.70:
            await self.say("private_report", f"{compound}{problem}", user, None)
            await self.say("confirm", "确认", user, None)
        elif roll < 0.85:
            await self.say("query", "我的诉求", user, None)
        else:
            await self.staff_action()

    async def staff_action(self) -> None:
        """The assignee of an open case accepts it, or resolves one already accepted."""
        async with self.console.dispatcher.services.sessions() as session:
            row = (await session.execute(
                select(Case.id, Case.status, Staff.code).join(Staff, Staff.id == Case.assignee_id)
                .where(Case.status.in_([CaseStatus.ASSIGNED, CaseStatus.ACCEPTED]))
                .order_by(func.random()).limit(1))).first()
        if row is None:
            return
        number, status, code = row
        if status == CaseStatus.ASSIGNED:
            await self.say("staff_accept", f"接单 {number}", code, None)
        else:
            await self.say("staff_resolve", f"办结 {number} 已修复", code, None)


async def soak(backend: str, minutes: float, every: float, senders: int, residents: int, trace: bool) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        url = await fresh_database(backend, Path(workdir))
        try:
            runtime = await start(load_settings({}, database_url=url, photo_dir=Path(workdir) / "photos"))
            try:
                return await drive(runtime, minutes, every, senders, residents, trace)
            finally:
                await runtime.close()
        finally:
            await drop_database(url)


async def drive(runtime, minutes: float, every: float, senders: int, residents: int, trace: bool) -> dict:
    services = runtime.services
    async with services.sessions() as session:
        groups = [(chat, name) for chat, name in (await session.execute(
            select(ChatGroup.chat_id, GridUnit.name).join(GridUnit, GridUnit.id == ChatGroup.unit_id)
            .where(ChatGroup.channel == "console", GridUnit.level == UnitLevel.GRID))).all()]
    console = ConsoleChannel(runtime.dispatcher, Nowhere())  # type: ignore[arg-type]
    jobs = JobRunner(services)
    freeze_startup_heap()
    traffics = [Traffic(console, groups, residents, seed) for seed in range(senders)]
    began = time.monotonic()
    deadline = began + minutes * 60
    curve = [{"minute": 0.0, "rss_mib": rss_mib()}]
    first_snapshot = tracemalloc.take_snapshot() if trace else None
    errors = 0

    async def sender(traffic: Traffic) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            try:
                await traffic.one()
            except Exception:  # counted, never hidden: a soak that fails quietly proves nothing
                errors += 1

    async def sampler() -> None:
        next_sample = began + every * 60
        next_jobs = began + 60
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            now = time.monotonic()
            if now >= next_jobs:
                await jobs.run_due(services.clock.now())
                next_jobs += 60
            if now >= next_sample and now < deadline:
                curve.append({"minute": round((now - began) / 60, 1), "rss_mib": rss_mib()})
                next_sample += every * 60

    await asyncio.gather(sampler(), *(sender(traffic) for traffic in traffics))
    gc.collect()
    curve.append({"minute": round((time.monotonic() - began) / 60, 1), "rss_mib": rss_mib()})
    grew = []
    if first_snapshot is not None:
        stats = tracemalloc.take_snapshot().compare_to(first_snapshot, "lineno")
        grew = [{"where": str(stat.traceback[0]), "kib": round(stat.size_diff / 1024, 1), "count": stat.count_diff}
                for stat in stats[:10]]
    sent: dict[str, int] = {}
    for traffic in traffics:
        for kind, count in traffic.sent.items():
            sent[kind] = sent.get(kind, 0) + count
    async with services.sessions() as session:
        cases = await session.scalar(select(func.count()).select_from(Case))
    elapsed = curve[-1]["minute"] * 60 or 1
    result = {"messages": sum(sent.values()), "msgs_per_s": round(sum(sent.values()) / elapsed, 1), "sent": sent,
              "cases_filed": cases, "errors": errors, "rss_curve": curve,
              "rss_growth_mib": round(curve[-1]["rss_mib"] - curve[0]["rss_mib"], 1)}
    if len(curve) > 2:  # growth after the first interval, when caches and pools have warmed up
        result["rss_growth_after_first_sample_mib"] = round(curve[-1]["rss_mib"] - curve[1]["rss_mib"], 1)
    if trace:
        result["tracemalloc_top_growth"] = grew
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=5.0, help="minutes between RSS samples")
    parser.add_argument("--senders", type=int, default=4, help="people talking at once")
    parser.add_argument("--residents", type=int, default=2000, help="size of the resident pool")
    parser.add_argument("--tracemalloc", action="store_true", help="also report the sites whose memory grew most")
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start(5)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    figures = {"bench": "soak", "backend": args.backend, "minutes": args.minutes, "senders": args.senders,
               "commit": commit, "python": platform.python_version(), "event_loop": "uvloop"}
    figures.update(uvloop.run(soak(args.backend, args.minutes, args.every, args.senders, args.residents,
                                   args.tracemalloc)))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

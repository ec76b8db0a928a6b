"""Pipeline throughput through the dispatcher with the synthetic Weibin-scale district loaded.

Prints one JSON line with, per backend, messages/s and p50/p99 latency for a mix (by sequence: 60% group
chatter that is ignored, 20% group reports and 10% private reports each with their confirmation, 10% status
queries), sequentially and with 16 concurrent senders, and for group chatter alone. Usage: python bench/pipeline.py [--backend sqlite|postgres|both] [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import uvloop
from scratch_db import drop_database, fresh_database
from sqlalchemy import select

from bot.clock import SystemClock
from bot.grid.synthetic import generate_synthetic
from bot.pipeline.messages import Inbound
from bot.runtime import start
from config.settings import load_settings
from models import ChatGroup, GridUnit, UnitLevel
from models.db import create_engine, migrate, session_factory

CHATTER = ["大家早上好", "谁家的快递放错了", "今晚广场舞几点开始", "哈哈哈", "有人拼车去西安吗", "楼下超市打折了",
           "孩子作业不会写", "明天降温多穿点", "谁有多余的纸箱", "收到，谢谢"]
PROBLEMS = ["{b}号楼门口路灯坏了", "{b}号楼电梯又坏了，老人下不了楼", "{b}号楼下水道堵了，污水冒出来了",
            "{b}号楼楼道有人飞线充电", "{b}号楼门口垃圾好几天没人清运", "{b}号楼楼上装修噪音太大"]


def inbound(channel: str, chat: str, user: str, text: str, *, group: bool) -> Inbound:
    return Inbound(channel=channel, chat_id=chat, is_group=group, sender_id=user, sender_name=user, text=text,
                   message_id=uuid.uuid4().hex, sent_at=datetime.now(UTC))


async def chatter(sessions, count: int, rng: random.Random) -> list[list[Inbound]]:
    """Group chatter only: what most of the 639 groups' traffic is, recorded and never answered."""
    async with sessions() as session:
        groups = (await session.execute(select(ChatGroup.channel, ChatGroup.chat_id))).all()
    return [[inbound(channel, chat, f"u{rng.randrange(200_000)}", rng.choice(CHATTER), group=True)]
            for channel, chat in (rng.choice(groups) for _ in range(count))]


async def scripts(sessions, count: int, rng: random.Random) -> list[list[Inbound]]:
    """Message sequences, each from one person; a report is its message and its confirmation."""
    async with sessions() as session:
        groups = (await session.execute(select(ChatGroup.channel, ChatGroup.chat_id, GridUnit.name).join(
            GridUnit, GridUnit.id == ChatGroup.unit_id).where(GridUnit.level == UnitLevel.GRID))).all()
    sequences: list[list[Inbound]] = []
    produced = 0
    while produced < count:
        channel, chat, compound = rng.choice(groups)
        user = f"u{rng.randrange(200_000)}"
        roll = rng.random()
        problem = rng.choice(PROBLEMS).format(b=rng.randint(1, 6))
        if roll < 0.6:
            sequences.append([inbound(channel, chat, user, rng.choice(CHATTER), group=True)])
        elif roll < 0.8:
            sequences.append([inbound(channel, chat, user, f"#随手拍 {problem}", group=True),
                              inbound(channel, chat, user, "确认", group=True)])
        elif roll < 0.9:
            private = f"private:{user}"
            sequences.append([inbound(channel, private, user, f"{compound}{problem}", group=False),
                              inbound(channel, private, user, "确认", group=False)])
        else:
            sequences.append([inbound(channel, f"private:{user}", user, "我的诉求", group=False)])
        produced += len(sequences[-1])
    return sequences


async def measure(dispatcher, sequences: list[list[Inbound]], concurrency: int) -> dict:
    latencies: list[float] = []
    queue = list(sequences)

    async def sender() -> None:
        while queue:
            for message in queue.pop():
                began = time.perf_counter()
                await dispatcher.handle(message)
                latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "messages": len(latencies), "msgs_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


async def bench(backend: str, messages: int, history: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        url = await fresh_database(backend, Path(workdir))
        try:
            engine = create_engine(url)
            await migrate(engine)
            seeded = time.perf_counter()
            await generate_synthetic(session_factory(engine), now=SystemClock().now(), cases=history)
            seed_seconds = time.perf_counter() - seeded
            await engine.dispose()
            runtime = await start(load_settings({}, database_url=url), load_demo_if_empty=False)
            try:
                rng = random.Random(7)
                sequential = await measure(runtime.dispatcher, await scripts(runtime.services.sessions, messages,
                                                                              rng), 1)
                concurrent = await measure(runtime.dispatcher, await scripts(runtime.services.sessions, messages,
                                                                              rng), 16)
                chatter_only = await measure(runtime.dispatcher, await chatter(runtime.services.sessions, messages,
                                                                                rng), 1)
            finally:
                await runtime.close()
        finally:
            await drop_database(url)
    return {"historical_cases": history, "seed_seconds": round(seed_seconds, 1), "mix_sequential": sequential,
            "mix_concurrent_16": concurrent, "group_chatter_sequential": chatter_only}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--history", type=int, default=20_000)
    args = parser.parse_args()
    figures: dict = {"bench": "pipeline", "python": platform.python_version(), "event_loop": "uvloop"}
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        figures[backend] = uvloop.run(bench(backend, args.messages, args.history))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

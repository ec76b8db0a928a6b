"""Open311 at district scale: GET requests.json (1,000 requests) with N historical cases, and POST requests.json
throughput. Prints one JSON line.

    .venv/bin/python bench/open311.py [--backend sqlite|postgres] [--cases 1000000] [--posts 1000]

The synthetic Weibin district with N cases over 52 weeks is built on the first run (minutes at a million) and
kept for later runs: SQLite in var/bench-open311-N.db, PostgreSQL in database gridbot_bench_open311_N. Requests
go over HTTP to the service's app on a local port from a second process (bench/peer.py), as other systems would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import ClientSession, web
from peer import Commands, Peer
from sqlalchemy import func, select, text

from bot.app import create_app
from bot.clock import FrozenClock
from bot.grid.synthetic import generate_synthetic
from bot.runtime import start
from bot.web.keys import create_key
from config.settings import load_settings
from models import Case
from models.db import create_engine, migrate, session_factory

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MATTERS = [("street_light", "路灯晚上不亮"), ("road", "路面有个大坑"), ("sanitation", "垃圾桶满了没人清"),
           ("drainage", "下水道堵了往外冒水"), ("noise", "夜里施工太吵")]


async def ensure_database(backend: str, cases: int) -> tuple[str, float]:
    """The benchmark database holding the synthetic district and `cases` cases; built when missing."""
    if backend == "sqlite":
        path = Path("var") / f"bench-open311-{cases}.db"
        url = f"sqlite+aiosqlite:///{path}"
        fresh = not path.exists()
    else:
        name = f"gridbot_bench_open311_{cases}"
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            fresh = not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if fresh:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
    engine = create_engine(url)
    await migrate(engine)
    began = time.perf_counter()
    if not fresh:
        async with engine.connect() as db:
            seeded = select(func.count()).select_from(Case).where(Case.source_channel != "open311")  # not earlier runs' posts
            fresh = (await db.execute(seeded)).scalar_one() != cases
        if fresh:
            raise SystemExit(f"bench/open311.py: {url} holds another case count; delete it and run again")
    if fresh:
        await generate_synthetic(session_factory(engine), now=NOW, cases=cases)
        async with engine.begin() as db:
            await db.execute(text('ANALYZE "case"' if backend == "postgres" else "ANALYZE"))
    await engine.dispose()
    return url, time.perf_counter() - began if fresh else 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def client_side() -> Commands:
    """The other systems' side, in a process of its own (bench/peer.py): HTTP clients reading and posting."""
    state: dict[str, ClientSession] = {}

    async def http() -> ClientSession:
        if "http" not in state:
            state["http"] = ClientSession()
        return state["http"]

    async def gets(base: str, count: int) -> dict[str, Any]:
        session, timings, sizes = await http(), [], []
        for _ in range(count):
            began = time.perf_counter()
            async with session.get(f"{base}/requests.json") as response:
                sizes.append(len(await response.json()))
            timings.append((time.perf_counter() - began) * 1000)
        return {"items": min(sizes), "p50_ms": round(statistics.median(timings), 1),
                "p99_ms": round(percentile(timings, 0.99), 1)}

    async def posts(base: str, key: str, units: list[str], count: int, concurrency: int) -> dict[str, Any]:
        session, numbers, statuses = await http(), iter(range(count)), []

        async def poster() -> None:
            for n in numbers:
                code, text = MATTERS[n % len(MATTERS)]
                async with session.post(f"{base}/requests.json", data={
                    "api_key": key, "service_code": code, "description": f"{text}（第{n}号请求）",
                    "address_id": units[(n * 7919) % len(units)]}) as response:
                    statuses.append(response.status)
                    await response.read()

        began = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
        return {"posts": len(statuses), "ok": statuses.count(200), "per_second": round(len(statuses) / seconds, 1)}

    async def stop() -> dict[str, Any]:
        if "http" in state:
            await state["http"].close()
        return {}

    return {"gets": gets, "posts": posts, "stop": stop}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--gets", type=int, default=30)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    url, seeded = await ensure_database(args.backend, args.cases)
    runtime = await start(load_settings({}, database_url=url), FrozenClock(NOW), load_demo_if_empty=False)
    services = runtime.services
    async with services.sessions.begin() as session:
        key = await create_key(session, f"bench-{uuid.uuid4().hex[:8]}", now=NOW, per_minute=10_000_000)
    runner = web.AppRunner(create_app(services, runtime.dispatcher), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/open311/v2"
    units = [u.code for u in services.directory.units() if u.level.value == "grid"]
    try:
        async with Peer(client_side) as clients:
            gets = await clients.ask("gets", base=base, count=args.gets)
            posts = await clients.ask("posts", base=base, key=key, units=units, count=args.posts,
                                      concurrency=args.concurrency)
    finally:
        await runner.cleanup()
        await runtime.close()
    print(json.dumps({
        "bench": "open311", "backend": args.backend, "cases": args.cases, "seed_seconds": round(seeded, 1),
        "get_requests_items": gets["items"], "get_requests_p50_ms": gets["p50_ms"], "get_requests_p99_ms": gets["p99_ms"],
        "posts": posts["posts"], "posts_ok": posts["ok"], "posts_per_second": posts["per_second"],
        "concurrency": args.concurrency,
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    asyncio.run(main())

"""The web app at Weibin scale: the case list's first page (p50/p99 per viewer and filter), its counts (capped at
10,000; a text search is not counted), the
statistics page, a 100,000-row CSV export (peak memory) and the cached public page. Prints one JSON line.

    .venv/bin/python bench/web_cases.py --backend sqlite [--cases 1000000] [--runs 30]
    .venv/bin/python bench/web_cases.py --backend postgresql [--cases 1000000]

The database (the synthetic district with N historical cases, bulk-inserted: COPY on PostgreSQL) is created on
the first run and reused by later runs with the same case count: var/bench-web/ for SQLite, the database
gridbot_bench_web on PostgreSQL. The export runs the handler's own code (CaseQuery pages into a CSV writer),
without HTTP; the public page goes through HTTP in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import platform
import statistics
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, text

from bot.app import create_app
from bot.clock import FrozenClock
from bot.grid.synthetic import generate_synthetic
from bot.pipeline.identities import Actor
from bot.runtime import start
from bot.web.staff.queries import CaseQuery, count_by_status, fetch_page
from bot.web.staff.stats import stats_tables
from config.settings import load_settings
from models import Case, StaffRole, UnitLevel
from models.db import create_engine, migrate, session_factory

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"


async def _count(url: str) -> int | None:
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.connect() as db:
            return (await db.execute(select(func.count()).select_from(Case))).scalar_one()
    finally:
        await engine.dispose()


async def ensure_database(backend: str, cases: int, workdir: Path, pg_name: str = "gridbot_bench_web") -> tuple[str, float]:
    """The benchmark database with `cases` cases, made once; returns its URL and the seconds spent seeding."""
    if backend == "sqlite":
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        path = workdir / f"web-{cases}.db"
        url = f"sqlite+aiosqlite:///{path}"
        if path.exists() and await _count(url) == cases:
            return url, 0.0
        path.unlink(missing_ok=True)
    else:
        url = f"{PG_SERVER}/{pg_name}"
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", pg_name):
                if await _count(url) == cases:
                    return url, 0.0
                await conn.execute(f'DROP DATABASE "{pg_name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{pg_name}"')
        finally:
            await conn.close()
    began = time.perf_counter()
    engine = create_engine(url)
    try:
        await migrate(engine)
        await generate_synthetic(session_factory(engine), now=NOW, cases=cases)
        if backend == "sqlite":
            async with engine.begin() as db:
                await db.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    if backend == "postgresql":  # VACUUM sets the visibility map, which the figures' index-only scans need
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{pg_name}")
        try:
            await conn.execute('VACUUM ANALYZE "case"')
        finally:
            await conn.close()
    return url, time.perf_counter() - began


def _viewers(directory) -> dict[str, Actor]:
    """An admin, a street officer, a community secretary and a grid worker, each placed in the biggest branch."""
    root = directory.units(UnitLevel.DISTRICT)[0]
    street = directory.children(root)[0]
    community = directory.children(street)[0]
    grid = directory.children(community)[0]

    def staff(role: StaffRole, unit) -> Actor:
        return Actor(kind="staff", id=-1, name="bench", identity_id=0, role=role, unit_id=unit.id)

    return {"admin": staff(StaffRole.STREET_OFFICER, root), "street": staff(StaffRole.STREET_OFFICER, street),
            "community": staff(StaffRole.COMMUNITY_SECRETARY, community), "grid": staff(StaffRole.GRID_WORKER, grid)}


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1)}


async def _time(runs: int, call) -> list[float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - began)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("var/bench-web"))
    parser.add_argument("--pg-database", default="gridbot_bench_web", help="the PostgreSQL database to make or reuse")
    parser.add_argument("--seed-only", action="store_true", help="make the database and stop")
    args = parser.parse_args()
    url, seeded = await ensure_database(args.backend, args.cases, args.workdir, args.pg_database)
    if args.seed_only:
        print(json.dumps({"bench": "web_cases", "backend": args.backend, "cases": args.cases, "seed_s": round(seeded, 1)}))
        return
    settings = load_settings({}, database_url=url, web_public_cache_seconds=60, web_cookie_secure=False)
    runtime = await start(settings, FrozenClock(NOW), load_demo_if_empty=False)
    services = runtime.services
    directory = services.directory
    viewers = _viewers(directory)
    week_ago = (NOW - timedelta(days=7)).date().isoformat()
    filters = {"none": {}, "open": {"status": "assigned"}, "category": {"category": "street_light"},
               "text": {"q": "路灯"}, "overdue": {"overdue": "1"}, "last_week": {"since": week_ago}}
    result: dict = {"bench": "web_cases", "backend": args.backend, "cases": args.cases, "seed_s": round(seeded, 1),
                    "runs": args.runs}
    try:
        pages, counts = {}, {}
        for who, viewer in viewers.items():
            for name, params in filters.items():
                query = CaseQuery.parse(params, directory)
                clauses = query.where(directory, viewer, now=NOW, tz=settings.tz)

                async def page(query=query, clauses=clauses) -> None:
                    async with services.sessions() as db:
                        await fetch_page(db, query, clauses)

                async def count(clauses=clauses) -> None:
                    async with services.sessions() as db:
                        await count_by_status(db, clauses)  # the page skips this for a text search

                await page()
                pages[f"{who}/{name}"] = _ms(await _time(args.runs, page))
                counts[f"{who}/{name}"] = _ms(await _time(max(3, args.runs // 10), count))
        result["first_page"] = pages
        result["first_page_worst_p99_ms"] = max(v["p99_ms"] for v in pages.values())
        result["counts"] = counts
        stats = {}
        for who in ("admin", "street", "community"):
            unit = directory.unit(viewers[who].unit_id)
            stats[who] = round(min(await _time(3, lambda unit=unit: stats_tables(services, unit))), 3)
        result["stats_page_s"] = stats
        result["csv_export"] = await _export(services, viewers["admin"], args.export_rows)
        result["public_page"] = await _public(runtime, directory, args.runs * 10)
    finally:
        await runtime.close()
    result["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    print(json.dumps(result, ensure_ascii=False))


async def _export(services, viewer: Actor, rows: int) -> dict:
    """Streams `rows` rows the way the export handler does, measuring time and the Python heap's peak."""
    query = CaseQuery()
    clauses = query.where(services.directory, viewer, now=NOW, tz=services.settings.tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    written, sent = 0, 0
    tracemalloc.start()
    began = time.perf_counter()
    while written < rows:
        async with services.sessions() as db:
            batch, cursor = await fetch_page(db, query, clauses, 2000)
        for r in batch:
            writer.writerow([r.id, r.created_at, r.kind, r.category_name, r.status, r.place, r.reporter_name,
                             r.reporter_phone, r.text])
        written += len(batch)
        sent += len(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
        if cursor is None:
            break
        query = replace(query, after=(batch[-1].created_at, batch[-1].id))
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rows": written, "s": round(elapsed, 2), "mb": round(sent / 1e6, 1), "peak_heap_mb": round(peak / 1e6, 1)}


async def _public(runtime, directory, runs: int) -> dict:
    """The community page over HTTP in-process: the first (rendering) request, then cache hits."""
    community = directory.units(UnitLevel.COMMUNITY)[0]
    client = TestClient(TestServer(create_app(runtime.services, runtime.dispatcher)))
    await client.start_server()
    try:
        began = time.perf_counter()
        first_answer = await client.get(f"/public/{community.code}")
        if first_answer.status != 200:
            return {"error": f"HTTP {first_answer.status}: {(await first_answer.text())[:300]}"}
        first = time.perf_counter() - began

        async def hit() -> None:
            response = await client.get(f"/public/{community.code}")
            await response.read()

        return {"first_render_ms": round(first * 1000, 1), **_ms(await _time(runs, hit))}
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())

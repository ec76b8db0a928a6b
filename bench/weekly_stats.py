"""Weekly statistics at Weibin scale: all 639 group reports from a district with N historical cases, and the
cost of the SLA sweep as open cases grow. Prints one JSON line.

    .venv/bin/python bench/weekly_stats.py [--cases 1000000] [--database postgresql://postgres@127.0.0.1/gridbot_bench_weekly]

The database is created and filled on the first run (the synthetic district, seeded; minutes at a million
cases) and reused by later runs with the same case count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import func, select, text

from bot.clock import FrozenClock
from bot.grid.synthetic import generate_synthetic
from bot.jobs.sla import TIMED, sweep_case_timers
from bot.reports.weekly import previous_week, report_text, week_figures
from bot.runtime import start
from config.settings import load_settings
from models import Case, ChatGroup
from models.db import create_engine, migrate, session_factory

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai: the weekly report's hour


async def ensure_database(url: str, cases: int) -> float:
    """Creates and fills the benchmark database unless it already holds `cases` cases; returns seconds spent."""
    admin, name = url.rsplit("/", 1)
    conn = await asyncpg.connect(f"{admin}/postgres".replace("+asyncpg", ""))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
            await migrate(engine)
            async with engine.connect() as db:
                have = (await db.execute(select(func.count()).select_from(Case))).scalar_one()
            await engine.dispose()
            if have == cases:
                return 0.0
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    began = time.perf_counter()
    engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    await migrate(engine)
    await generate_synthetic(session_factory(engine), now=NOW, cases=cases)
    async with engine.begin() as db:
        await db.execute(text('ANALYZE "case"'))
    await engine.dispose()
    return time.perf_counter() - began


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/gridbot_bench_weekly")
    parser.add_argument("--grow", type=int, nargs="*", default=[0, 20_000, 80_000],
                        help="extra open (not yet due) cases to add before timing the SLA sweep")
    parser.add_argument("--due", type=int, nargs="*", default=[0, 100, 1000],
                        help="cases made due before each timed sweep")
    parser.add_argument("--first-sweep", action="store_true",
                        help="also time the one-off sweep that schedules every open and resolved case")
    args = parser.parse_args()
    seeded = await ensure_database(args.database, args.cases)
    settings = load_settings({}, database_url=args.database)
    runtime = await start(settings, FrozenClock(NOW), load_demo_if_empty=False)
    services = runtime.services
    try:
        week = previous_week(NOW, settings.tz)
        began = time.perf_counter()
        async with services.sessions() as session:
            figures = await week_figures(session, services.directory, week, settings.tz)
            groups = (await session.scalars(select(ChatGroup))).unique().all()
        texts = [report_text(services.directory.unit(g.unit_id).name, week, figures.get(g.unit_id) or _none())
                 for g in groups]
        reports_s = time.perf_counter() - began
        async with services.sessions() as session:
            open_cases = (await session.execute(select(func.count()).select_from(Case).where(
                Case.status.in_(TIMED)))).scalar_one()
        first_s, first = None, None
        async with services.sessions.begin() as session:  # start from a clean slate of timers on every run
            await session.execute(text('UPDATE "case" SET sla_next_at = NULL, sla_stage = 0'))
        if args.first_sweep:  # the one-off pass that schedules a whole imported history
            began = time.perf_counter()
            first = str(await sweep_case_timers(services, NOW))
            first_s = round(time.perf_counter() - began, 2)
        else:  # settle the history as scheduled for tomorrow, so the sweeps below see only what is made due
            async with services.sessions.begin() as session:
                await session.execute(text('UPDATE "case" SET sla_next_at = :later WHERE status IN '
                                           "('assigned','transferred','reopened','accepted','in_progress','resolved')"),
                                      {"later": (NOW + timedelta(days=1)).replace(tzinfo=None)})
        await _analyze(services)  # as autovacuum would after a mass update
        growth = []
        added = 0
        for extra in args.grow:
            if extra > added:
                await _add_open(services, extra - added)
                await _analyze(services)
                added = extra
            for due in args.due:
                await _make_due(services, due)
                began = time.perf_counter()
                tally = await sweep_case_timers(services, NOW + timedelta(minutes=5))
                growth.append({"extra_open_cases": extra, "due": due, "looked_at": tally.looked_at,
                               "sweep_ms": round((time.perf_counter() - began) * 1000, 1)})
        await _remove_added(services)
    finally:
        await runtime.close()
    print(json.dumps({
        "bench": "weekly_stats", "backend": "postgresql", "cases": args.cases, "seed_s": round(seeded, 1),
        "groups": len(texts), "week": week, "all_group_reports_s": round(reports_s, 3),
        "timed_cases": open_cases, "first_sweep_s": first_s, "first_sweep_steps": first,
        "steady_sweeps": growth, "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }, ensure_ascii=False))


def _none():  # type: ignore[no-untyped-def]
    from bot.cases.figures import Figures

    return Figures()


async def _add_open(services, count: int) -> None:  # type: ignore[no-untyped-def]
    """Reopens closed cases as assigned ones due next week, already scheduled: open but not due."""
    async with services.sessions.begin() as session:
        await session.execute(text(
            'UPDATE "case" SET status = \'assigned\', accept_due_at = :due, assigned_at = :now, sla_stage = 0, '
            "sla_next_at = :later, extras = '{\"bench_open\": true}' WHERE id IN "
            '(SELECT id FROM "case" WHERE status = \'closed\' ORDER BY id LIMIT :count)'),
            {"due": (NOW + timedelta(days=7)).replace(tzinfo=None), "now": NOW.replace(tzinfo=None),
             "later": (NOW + timedelta(days=6)).replace(tzinfo=None), "count": count})


async def _analyze(services) -> None:  # type: ignore[no-untyped-def]
    async with services.sessions.begin() as session:
        await session.execute(text('ANALYZE "case"'))


async def _make_due(services, count: int) -> None:  # type: ignore[no-untyped-def]
    """Makes `count` timed cases of the history due now (their stored deadlines are long past)."""
    if not count:
        return
    async with services.sessions.begin() as session:
        await session.execute(text(
            'UPDATE "case" SET sla_next_at = :due WHERE id IN (SELECT id FROM "case" WHERE status IN '
            "('accepted','in_progress','resolved') AND sla_next_at > :due ORDER BY id LIMIT :count)"),
            {"due": (NOW - timedelta(minutes=1)).replace(tzinfo=None), "count": count})


async def _remove_added(services) -> None:  # type: ignore[no-untyped-def]
    async with services.sessions.begin() as session:
        await session.execute(text(
            'UPDATE "case" SET status = \'closed\', sla_next_at = NULL, extras = \'{}\' '
            "WHERE extras::text LIKE '%bench_open%'"))


if __name__ == "__main__":
    asyncio.run(main())

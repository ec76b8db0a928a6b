"""The figures leaders read (bot/cases/figures.py) at Weibin scale: a synthetic district with N cases over a
year, each query of the public API timed once warm. Prints one JSON line.

    .venv/bin/python bench/figures.py [--cases 1000000] [--backend sqlite|postgresql]

A fresh database is filled (the synthetic district; minutes at a million cases) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scratch_db import drop_database, fresh_database
from sqlalchemy import text

from bot.cases.figures import (
    figures_by_category,
    figures_by_period,
    figures_by_unit,
    figures_for,
)
from bot.grid.directory import GridDirectory
from bot.grid.synthetic import generate_synthetic
from models.db import create_engine, migrate, session_factory

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


async def timed(label: str, results: dict, work) -> object:  # type: ignore[no-untyped-def]
    await work()  # warm: the page cache and the statement caches, as a running service has them
    began = time.perf_counter()
    out = await work()
    results[label] = round((time.perf_counter() - began) * 1000, 1)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url = await fresh_database(args.backend, Path(workdir))
        engine = create_engine(url)
        try:
            await migrate(engine)
            sessions = session_factory(engine)
            began = time.perf_counter()
            await generate_synthetic(sessions, now=NOW, cases=args.cases)
            seed_s = round(time.perf_counter() - began, 1)
            async with engine.begin() as db:
                await db.execute(text('ANALYZE "case"' if args.backend == "postgresql" else "ANALYZE"))
            async with sessions() as session:
                directory = await GridDirectory.load(session)
            street = directory.by_code("JT")
            year = (NOW - timedelta(weeks=52), NOW)
            weeks = [year[0] + timedelta(weeks=n) for n in range(53)]
            ms: dict[str, float] = {}
            async with sessions() as session:
                whole = await timed("district_year_ms", ms, lambda: figures_for(session, since=year[0], until=year[1]))
                await timed("street_year_ms", ms, lambda: figures_for(
                    session, unit_path=street.path, since=year[0], until=year[1]))
                await timed("district_52_weeks_ms", ms, lambda: figures_by_period(session, weeks))
                await timed("district_categories_year_ms", ms, lambda: figures_by_category(
                    session, since=year[0], until=year[1]))
                await timed("every_unit_one_week_ms", ms, lambda: figures_by_unit(
                    session, directory, weeks[-2], weeks[-1]))
        finally:
            await engine.dispose()
            await drop_database(url)
    print(json.dumps({
        "bench": "figures", "backend": args.backend, "cases": args.cases, "seed_s": seed_s, **ms,
        "year_cases": whole.cases, "closure_rate": round(whole.closure_rate or 0, 3),  # type: ignore[attr-defined]
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())

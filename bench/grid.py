"""Seeding the synthetic Weibin district and placing messages in it.

Prints one JSON line: seconds to generate the district (and --cases historical cases) on SQLite, units loaded,
and microseconds per GridDirectory.locate call on resident-style messages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

from bot.clock import SystemClock
from bot.grid.directory import GridDirectory
from bot.grid.synthetic import generate_synthetic
from models import UnitLevel
from models.db import create_engine, migrate, session_factory

TEMPLATES = ["{c}{b}号楼门口路灯坏了", "我家在{c}，楼道里有人飞线充电", "{b}栋电梯又停了", "大家早上好",
             "{c}{b}号楼2单元下水道堵了，臭得很", "谁家的狗在{c}门口乱叫"]


async def bench(cases: int, calls: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(workdir) / 'grid.db'}")
        await migrate(engine)
        began = time.perf_counter()
        summary = await generate_synthetic(session_factory(engine), now=SystemClock().now(), cases=cases)
        seed_seconds = time.perf_counter() - began
        async with session_factory(engine)() as session:
            began = time.perf_counter()
            directory = await GridDirectory.load(session)
            load_ms = (time.perf_counter() - began) * 1000
        await engine.dispose()
    rng = random.Random(5)
    grids = directory.units(UnitLevel.GRID)
    messages = [rng.choice(TEMPLATES).format(c=rng.choice(grids).name, b=rng.randint(1, 12)) for _ in range(1000)]
    group = grids[0]
    began = time.perf_counter()
    for n in range(calls):
        directory.locate(messages[n % len(messages)], group_unit=group, home_unit=None)
    locate_us = (time.perf_counter() - began) / calls * 1e6
    return {"bench": "grid", "units": summary.units, "staff": summary.staff, "groups": summary.groups,
            "historical_cases": cases, "seed_seconds_sqlite": round(seed_seconds, 2),
            "directory_load_ms": round(load_ms, 1), "locate_us": round(locate_us, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.cases, args.calls)), ensure_ascii=False))


if __name__ == "__main__":
    main()

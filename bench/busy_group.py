"""CPU per group line as one busy group's ledger grows: the labelled group lines (tests/data/group_chat_fresh*.tsv),
each from a sender of its own, through the dispatcher into one bound group; this process's CPU time and the wall
time per line measured over each stretch of --stretch lines (the wall time holds PostgreSQL's own work too). The
ledger keeps a row for every line a group carried, so a per-line cost that grows from the first stretch to the last
is a query that reads the ledger without an index (0015_offered_index mended the one-offer window's). Prints one
JSON line.
Usage: python bench/busy_group.py [--backend sqlite|postgres] [--lines 20000] [--stretch 2000]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
import uuid
from pathlib import Path

import uvloop
from group_offers import DATA, GROUP
from scratch_db import drop_database, fresh_database

from bot.clock import SystemClock
from bot.pipeline.messages import Inbound
from bot.runtime import start
from config.settings import load_settings


def group_lines(count: int) -> list[str]:
    """The first `count` labelled group lines, the batches in name order, repeated if there are fewer."""
    lines: list[str] = []
    for path in sorted(DATA.parent.glob("group_chat_fresh*.tsv")):
        lines += [row["text"] for row in csv.DictReader(path.open(encoding="utf-8"), delimiter="\t")]
        if len(lines) >= count:
            break
    return [lines[n % len(lines)] for n in range(count)]


async def bench(backend: str, count: int, stretch: int) -> dict:
    lines = group_lines(count)
    with tempfile.TemporaryDirectory() as workdir:
        url = await fresh_database(backend, Path(workdir))
        runtime = await start(load_settings({}, database_url=url), SystemClock())
        clock, cpu_stretches, wall_stretches, offers = runtime.services.clock, [], [], 0
        try:
            cpu, wall = time.process_time(), time.perf_counter()
            for number, text in enumerate(lines, 1):
                sender = f"busy-{number}"
                replies = await runtime.dispatcher.handle(Inbound(
                    channel="console", chat_id=GROUP, is_group=True, sender_id=sender, sender_name=sender, text=text,
                    message_id=uuid.uuid4().hex, sent_at=clock.now()))
                offers += bool(replies)
                if number % stretch == 0:
                    cpu_now, wall_now = time.process_time(), time.perf_counter()
                    cpu_stretches.append(round((cpu_now - cpu) * 1000 / stretch, 3))
                    wall_stretches.append(round((wall_now - wall) * 1000 / stretch, 3))
                    cpu, wall = cpu_now, wall_now
        finally:
            await runtime.close()
    await drop_database(url)
    return {"lines": count, "offers": offers, "stretch": stretch, "cpu_ms_per_line_by_stretch": cpu_stretches,
            "wall_ms_per_line_by_stretch": wall_stretches, "cpu_ms_per_line_first": cpu_stretches[0],
            "cpu_ms_per_line_last": cpu_stretches[-1],
            "wall_last_over_first": round(wall_stretches[-1] / wall_stretches[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--stretch", type=int, default=2000, help="lines per measured stretch")
    args = parser.parse_args()
    if args.lines < args.stretch or args.stretch < 1:
        raise SystemExit("--lines must be at least --stretch, and --stretch at least 1")
    figures = uvloop.run(bench(args.backend, args.lines, args.stretch))
    print(json.dumps({"bench": "busy_group", "backend": args.backend, **figures}))


if __name__ == "__main__":
    main()

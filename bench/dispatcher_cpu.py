"""CPU per update of the dispatcher with durable replies, no Telegram: the front door's database path alone.

Residents file complete reports (the problem → the place → 确认) straight into Dispatcher.answer with a reply plan,
so every update writes its ledger row, dialogue and claimed reply rows in its transaction, and each answer's rows
are then marked sent as the fast path would. The figure is the process's CPU time per update, which a loaded
machine disturbs less than throughput: compare two checkouts by alternating runs (before, after, before, ...).
`--instructions` counts the instructions per update instead, under valgrind's callgrind (instrumentation on for the
measured updates only): a count the machine's load does not move, for changes of a few per cent (a proxy for time:
a cache miss costs more than an add). Prints one JSON line.
Usage: python bench/dispatcher_cpu.py [--backend sqlite|postgres] [--residents 20] [--reports 5] [--instructions]
       [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import uvloop
from profiling import counted, profiled, under_callgrind
from scratch_db import drop_database, fresh_database

from bot.clock import SystemClock
from bot.delivery.outbox import SendResult, plain_plan, record_results
from bot.pipeline.messages import Inbound
from bot.runtime import start
from config.settings import load_settings

PROBLEMS = ["门口路灯坏了", "电梯又坏了", "下水道堵了", "楼道有人飞线充电", "门口垃圾没人清运", "楼道灯不亮"]
COMPOUNDS = ["铁塔厂家属院", "铁塔新村", "发电厂生活区", "电厂南苑小区", "卫校家属楼", "姜谭花园小区", "秦机小区"]
WARM_UP = 5  # residents filing one report each before the clock starts (caches, compiled statements)


async def bench(backend: str, residents: int, reports: int, counting: bool = False,
                profile: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        url = await fresh_database(backend, Path(workdir))
        runtime = await start(load_settings({}, database_url=url, duplicate_window_hours=0), SystemClock())
        clock, sessions = runtime.services.clock, runtime.services.sessions
        try:
            async def resident(sender: str, n: int, count: int) -> None:
                for k in range(count):
                    for text in (f"{PROBLEMS[(n + k) % len(PROBLEMS)]}，麻烦处理一下",
                                 f"{COMPOUNDS[(n + k) % len(COMPOUNDS)]}{k % 4 + 1}号楼", "确认"):
                        answer = await runtime.dispatcher.answer(Inbound(
                            channel="telegram", chat_id=sender, is_group=False, sender_id=sender, sender_name=sender,
                            text=text, message_id=uuid.uuid4().hex, sent_at=clock.now()), plain_plan)
                        sent = SendResult(ok=True, platform_message_id="1")
                        await record_results(sessions, [(row, sent) for row in answer.rows], now=clock.now())

            await asyncio.gather(*(resident(f"warm{n}", n, 1) for n in range(WARM_UP)))
            cpu, began = time.process_time(), time.perf_counter()
            with counted(counting), profiled(profile):
                await asyncio.gather(*(resident(f"r{n}", n, reports) for n in range(residents)))
            updates = residents * reports * 3
            figures = {"updates": updates,
                       "cpu_ms_per_update": round((time.process_time() - cpu) * 1000 / updates, 3),
                       "updates_per_s": round(updates / (time.perf_counter() - began), 1)}
        finally:
            await runtime.close()
    await drop_database(url)
    return figures


def instructions(backend: str, residents: int, reports: int) -> dict:
    """Runs the bench under callgrind and reads its count of the measured updates' instructions."""
    collected, _ = under_callgrind(__file__, ["--backend", backend, "--residents", str(residents),
                                              "--reports", str(reports)])
    updates = residents * reports * 3
    return {"updates": updates, "instructions_per_update": round(collected / updates)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--reports", type=int, default=5, help="complete reports per resident")
    parser.add_argument("--instructions", action="store_true", help="count instructions per update (callgrind)")
    parser.add_argument("--profile", help="profile the measured updates into this file (pstats; py-spy's samples "
                                          "for a .txt)")
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instructions:
        figures = instructions(args.backend, args.residents, args.reports)
    else:
        figures = uvloop.run(bench(args.backend, args.residents, args.reports, args.under_callgrind, args.profile))
    print(json.dumps({"bench": "dispatcher_cpu", "backend": args.backend, **figures}))


if __name__ == "__main__":
    main()

"""Outbox throughput on PostgreSQL: enqueueing, and claiming with FOR UPDATE SKIP LOCKED by N concurrent claimers.

A fresh PostgreSQL database with the project's schema. First `--rows` notices are enqueued by 8 concurrent
writers, one notice per transaction (as a handled message writes its replies and notices). Then, for each N in
`--claimers`, the rows are put back to pending and N claimers, spread over up to `--processes` processes (the
claimers' own CPU would otherwise be the limit), run the delivery runner's loop with a send that costs nothing:
claim_due (a batch of `--batch` under SKIP LOCKED) → record_results (sent). Every row must be claimed exactly
once and end sent, or the bench fails. Then the same with the claim and the mark as one SQL statement each
(`claim_two_statements`: the table's own ceiling). Prints one JSON line: rows/s per N, claim and mark latencies.
Usage: python bench/outbox_claim.py [--rows 20000] [--claimers 1,2,4,8,16] [--batch 50] [--processes 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import platform
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import uvloop
from scratch_db import drop_database, fresh_database
from sqlalchemy import func, select, update

from bot.delivery.outbox import Notice, SendResult, claim_due, enqueue, record_results
from models import Outbox, SendState
from models.db import create_engine, migrate, session_factory

CHANNEL = "telegram"


async def fill(url: str, rows: int, writers: int = 8) -> float:
    """Enqueues `rows` notices, one per transaction, from `writers` concurrent writers; returns rows/s."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    numbers = iter(range(rows))

    async def writer() -> None:
        for n in numbers:
            async with sessions.begin() as session:
                await enqueue(session, Notice(f"bench:{n}", CHANNEL, str(-1000 - n % 10_000), f"staff{n % 500}",
                                              f"新工单 #{n}：3号楼门口路灯坏了", {"buttons": [["接单", f"接单 {n}"]]}),
                              now=now)

    began = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.perf_counter() - began
    await engine.dispose()
    return rows / elapsed


async def claimers(url: str, tasks: int, batch: int, start_at: float) -> tuple[list[int], list[float], list[float]]:
    """`tasks` claimers in this process until nothing is due; returns the ids claimed and the latencies."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    claimed: list[int] = []
    claim_ms: list[float] = []
    mark_ms: list[float] = []

    async def one() -> None:
        while True:
            began = time.perf_counter()
            rows = await claim_due(sessions, CHANNEL, now=datetime.now(UTC), limit=batch)
            claim_ms.append((time.perf_counter() - began) * 1000)
            if not rows:
                return
            claimed.extend(row.id for row in rows)
            began = time.perf_counter()
            await record_results(sessions, [(row, SendResult(ok=True, platform_message_id="1")) for row in rows],
                                 now=datetime.now(UTC))
            mark_ms.append((time.perf_counter() - began) * 1000)

    async with sessions() as session:  # open the pool's connections before the clock starts
        await session.execute(select(1))
    await asyncio.sleep(max(0.0, start_at - time.time()))
    await asyncio.gather(*(one() for _ in range(tasks)))
    await engine.dispose()
    return claimed, claim_ms, mark_ms


CLAIM_SQL = """UPDATE outbox SET state = 'sending', attempts = attempts + 1, lease_until = now() + interval '2 minutes'
WHERE id IN (SELECT id FROM outbox WHERE channel = $1 AND state IN ('pending', 'failed') AND due_at <= now()
             ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id"""
MARK_SQL = "UPDATE outbox SET state = 'sent', sent_at = now(), lease_until = NULL WHERE id = ANY($1::int[])"


async def raw_claimers(url: str, tasks: int, batch: int, start_at: float) -> tuple[list[int], list[float], list[float]]:
    """The same loop as two statements per batch on asyncpg: the claim as one UPDATE … RETURNING, the mark as one
    UPDATE of the batch; what the table itself sustains without the ORM's row-by-row marks."""
    claimed: list[int] = []
    claim_ms: list[float] = []
    mark_ms: list[float] = []
    pool = await asyncpg.create_pool(url.replace("postgresql+asyncpg://", "postgresql://"), min_size=tasks,
                                     max_size=tasks)

    async def one() -> None:
        async with pool.acquire() as conn:
            while True:
                began = time.perf_counter()
                ids = [row["id"] for row in await conn.fetch(CLAIM_SQL, CHANNEL, batch)]
                claim_ms.append((time.perf_counter() - began) * 1000)
                if not ids:
                    return
                claimed.extend(ids)
                began = time.perf_counter()
                await conn.execute(MARK_SQL, ids)
                mark_ms.append((time.perf_counter() - began) * 1000)

    await asyncio.sleep(max(0.0, start_at - time.time()))
    await asyncio.gather(*(one() for _ in range(tasks)))
    await pool.close()
    return claimed, claim_ms, mark_ms


def process_main(url: str, tasks: int, batch: int, start_at: float, results: multiprocessing.Queue,
                 raw: bool) -> None:
    results.put(uvloop.run((raw_claimers if raw else claimers)(url, tasks, batch, start_at)))


async def reset(url: str) -> None:
    """Every row pending again, and the table vacuumed, so that each N starts from the same state."""
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        await session.execute(update(Outbox).values(state=SendState.PENDING, attempts=0, lease_until=None,
                                                    sent_at=None, platform_message_id=None))
    await engine.dispose()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    await conn.execute("VACUUM ANALYZE outbox")
    await conn.close()


async def check(url: str, rows: int) -> None:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        sent = await session.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.state == SendState.SENT, Outbox.attempts == 1))
    await engine.dispose()
    if sent != rows:
        raise SystemExit(f"only {sent} of {rows} rows were sent once")


def run_claimers(url: str, rows: int, count: int, batch: int, processes: int, *, raw: bool = False) -> dict:
    uvloop.run(reset(url))
    spread = min(count, processes)
    tasks = [count // spread + (1 if i < count % spread else 0) for i in range(spread)]
    results: multiprocessing.Queue = multiprocessing.Queue()
    start_at = time.time() + 2.0 + spread * 0.5  # every process has imported and connected by then
    workers = [multiprocessing.Process(target=process_main, args=(url, n, batch, start_at, results, raw)) for n in tasks]
    for worker in workers:
        worker.start()
    outcomes = [results.get() for _ in workers]
    finished = time.time()
    for worker in workers:
        worker.join()
    ids = [row_id for claimed, _, _ in outcomes for row_id in claimed]
    twice = [row_id for row_id, seen in Counter(ids).items() if seen > 1]
    if len(ids) != rows or twice:
        raise SystemExit(f"{count} claimers: {len(ids)} claims of {rows} rows, {len(twice)} rows claimed twice")
    uvloop.run(check(url, rows))
    claim_ms = sorted(ms for _, claims, _ in outcomes for ms in claims)
    mark_ms = sorted(ms for _, _, marks in outcomes for ms in marks)
    return {"claimers": count, "processes": spread, "rows_per_s": round(rows / (finished - start_at)),
            "claim_p50_ms": round(statistics.median(claim_ms), 1),
            "claim_p99_ms": round(claim_ms[int(len(claim_ms) * 0.99) - 1], 1),
            "mark_p50_ms": round(statistics.median(mark_ms), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--claimers", default="1,2,4,8,16")
    parser.add_argument("--batch", type=int, default=50, help="rows per claim (the delivery runner's is 50)")
    parser.add_argument("--processes", type=int, default=4, help="at most this many claiming processes")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    figures: dict = {"bench": "outbox_claim", "backend": "postgres", "rows": args.rows, "batch": args.batch,
                     "commit": commit, "python": platform.python_version()}
    with tempfile.TemporaryDirectory() as workdir:
        url = uvloop.run(fresh_database("postgres", Path(workdir)))
        try:
            async def prepare() -> float:
                engine = create_engine(url)
                await migrate(engine)
                await engine.dispose()
                return await fill(url, args.rows)

            figures["enqueue_rows_per_s_8_writers"] = round(uvloop.run(prepare()))
            counts = [int(n) for n in args.claimers.split(",")]
            figures["claim"] = [run_claimers(url, args.rows, n, args.batch, args.processes) for n in counts]
            figures["claim_two_statements"] = [run_claimers(url, args.rows, n, args.batch, args.processes, raw=True)
                                               for n in counts]
        finally:
            uvloop.run(drop_database(url))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

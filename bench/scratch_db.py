"""Throwaway databases for benchmarks: a SQLite file in a work folder, or a fresh PostgreSQL database."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


async def fresh_database(backend: str, workdir: Path) -> str:
    """An empty database of the backend; the caller drops it with drop_database."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{workdir}/bench.db"
    name = f"gridbot_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def server_cpu_seconds(url: str) -> float | None:
    """The CPU time (user and system, from /proc/PID/schedstat) the database server's backends serving `url`'s
    database have used so far, but this query's own; None on SQLite or when the server's processes cannot be read
    (another machine, another user). A phase's figure is the difference of two readings: the backends the pool
    keeps live through it (one opened meanwhile counts from its start, its connection set-up included); the
    server's shared processes (WAL writer, checkpointer) are left out."""
    if not url.startswith("postgresql"):
        return None
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        pids = [row[0] for row in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    finally:
        await conn.close()
    return _cpu_seconds(pids)


def _cpu_seconds(pids: list[int]) -> float | None:
    """The CPU time the processes have used so far (a few reads of /proc, no wait worth a thread)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            if not Path(f"/proc/{pid}").exists():
                continue  # ended meanwhile
            return None
    return total / 1e9


async def drop_database(url: str) -> None:
    """Drops a PostgreSQL database made by fresh_database; SQLite files go with their work folder."""
    if url.startswith("postgresql"):
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        await conn.close()

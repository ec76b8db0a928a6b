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


async def drop_database(url: str) -> None:
    """Drops a PostgreSQL database made by fresh_database; SQLite files go with their work folder."""
    if url.startswith("postgresql"):
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        await conn.close()

"""The SQLite driver: statements inline on the loop, but a lock held by another process is waited for off it,
and the WAL is checkpointed although commits no longer do it themselves."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from models import Case, Resident
from models.db import Prepared
from models.sqlite_driver import CHECKPOINT_EVERY
from tests.harness import Harness


@pytest.fixture
async def bot(tmp_path: Path):
    harness = await Harness.start(f"sqlite+aiosqlite:///{tmp_path}/gridbot.db")
    yield harness
    await harness.close()


async def test_a_write_lock_held_elsewhere_is_waited_for_without_stalling_the_loop(bot, tmp_path):
    assert "确认" in await bot.resident("R001", "#随手拍 3号楼门口路灯坏了", group="JT-TTC-01")
    other_process = sqlite3.connect(tmp_path / "gridbot.db", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # as `run.py outbox --retry` or a scheduler process would
    try:
        filing = asyncio.create_task(bot.resident("R001", "确认", group="JT-TTC-01"))
        for _ in range(200):  # the loop keeps turning: nothing inline is waiting on the lock
            await asyncio.sleep(0)
        assert not filing.done()
    finally:
        other_process.execute("COMMIT")
        other_process.close()
    assert "编号 #" in await asyncio.wait_for(filing, 30)
    async with bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 1


_NEW_RESIDENT = Prepared(lambda insert: insert(Resident.__table__), ("display_name", "created_at"))


@pytest.mark.parametrize("prepared", [False, True], ids=["orm", "prepared"])
async def test_the_wal_is_checkpointed_every_few_hundred_commits(bot, tmp_path, prepared):
    """Whether SQLAlchemy commits the block (ORM work) or it ends without a trip through the async layer (prepared
    statements alone)."""
    wal = tmp_path / "gridbot.db-wal"

    async def commit(times: int) -> None:
        for n in range(times):
            async with bot.services.sessions.begin() as session:
                if prepared:
                    await _NEW_RESIDENT.execute(session, {"display_name": f"居民{n}" * 20,
                                                          "created_at": datetime(2026, 12, 1, tzinfo=UTC)})
                else:
                    await session.execute(text("INSERT INTO resident (display_name, created_at) VALUES (:name, :at)"),
                                          {"name": f"居民{n}" * 20, "at": "2026-12-01 00:00:00"})

    await commit(CHECKPOINT_EVERY + 1)
    after_one_round = wal.stat().st_size
    await commit(3 * CHECKPOINT_EVERY)
    # Checkpointed WAL frames are written over from the start; without checkpoints the file would triple.
    assert wal.stat().st_size < 2 * after_one_round


async def test_a_busy_timeout_set_through_the_connection_is_the_one_it_reads_back(bot):
    async with bot.services.sessions.begin() as session:
        await session.execute(text("PRAGMA busy_timeout=1234"))
    async with bot.services.sessions.begin() as session:
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar_one() == 1234

"""The grid's change counter: writers of grid units bump it, running services compare it to reload their directory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import GridVersion
from models.db import dialect_insert

ROW = 1


async def grid_version(session: AsyncSession) -> int:
    """The current count of grid changes (0 before the first)."""
    return await session.scalar(select(GridVersion.version).where(GridVersion.id == ROW)) or 0


async def mark_grid_changed(session: AsyncSession, *, now: datetime) -> None:
    """Counts one change to the grid units, in the caller's transaction."""
    await session.execute(dialect_insert(session)(GridVersion).values(id=ROW, version=0, changed_at=now)
                          .on_conflict_do_nothing(index_elements=["id"]))
    await session.execute(update(GridVersion).where(GridVersion.id == ROW)
                          .values(version=GridVersion.version + 1, changed_at=now))

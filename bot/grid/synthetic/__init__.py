"""A Weibin-scale district (8 streets and towns, 56 communities, 639 grids, their roads and a park each) and a
year of cases, to measure.

Everything is derived from `seed`, so two runs with the same seed produce the same rows. Street and town names
and 姜谭街道's communities are real; other community names are plausible but not an official list; compounds,
people, phones and chat ids are made up. Rows go in with bulk inserts and explicit ids (PostgreSQL sequences
are moved past them afterwards), into a database whose grid is still empty.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cases.figures import compact_day_figures
from bot.grid.district import DistrictSummary
from bot.grid.synthetic.bulk import Rows, insert_rows, move_sequences, next_ids
from bot.grid.synthetic.history import add_cases, add_residents
from bot.grid.synthetic.matters import MATTERS, Matter
from bot.grid.synthetic.places import Names, build_district
from bot.grid.version import mark_grid_changed
from models import Case, CaseEvent, ChatGroup, GridPlace, GridUnit, Identity, Resident, Staff

__all__ = ["MATTERS", "Matter", "generate_synthetic"]


async def generate_synthetic(
    session_factory: async_sessionmaker[AsyncSession], *, now: datetime, cases: int = 0, seed: int = 1,
) -> DistrictSummary:
    """Writes a Weibin-scale district and `cases` historical cases over the last 52 weeks; one transaction."""
    rng = random.Random(seed)
    changed_at, now = now, now.astimezone(UTC).replace(tzinfo=None)  # rows carry naive UTC, as UTCDateTime stores it
    async with session_factory() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(GridUnit)):
            raise ValueError("the synthetic district needs a database whose grid is empty")
        rows = Rows(await next_ids(session))
        names = Names(rng)
        district = build_district(rows, rng, names)
        pool = len(district.grids) * 2 + cases // 5
        residents = add_residents(rows, rng, names, district, count=pool, now=now)
        for table in (GridUnit, GridPlace, Staff, ChatGroup, Resident, Identity):
            await insert_rows(session, table.__table__, rows.tables.pop(table.__tablename__, []))
        for case_rows, event_rows in add_cases(rows, rng, district, residents, count=cases, now=now):
            await insert_rows(session, Case.__table__, case_rows)
            await insert_rows(session, CaseEvent.__table__, event_rows)
        await compact_day_figures(session)  # one day row per key, not one per case inserted
        if session.bind.dialect.name == "postgresql":
            await move_sequences(session)
        await mark_grid_changed(session, now=changed_at)
    return DistrictSummary(units=district.units, staff=district.staff, groups=district.groups,
                           residents=len(residents))

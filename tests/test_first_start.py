"""Several processes started together on a fresh PostgreSQL database: one migrates and loads the district, the
others wait for it; none crashes and nothing is loaded twice."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import func, select

from bot.runtime import start
from config.settings import load_settings
from models import GridUnit
from tests.conftest import PG_ADMIN_DSN, _pg_unavailable_reason


async def test_simultaneous_first_starts_on_a_fresh_database_all_succeed():
    if reason := await _pg_unavailable_reason():
        pytest.skip(reason)
    name = f"gridbot_first_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        runtimes = await asyncio.gather(*(start(load_settings({}, database_url=url)) for _ in range(4)))
        try:
            async with runtimes[0].services.sessions() as session:
                units = await session.scalar(select(func.count()).select_from(GridUnit))
                codes = await session.scalar(select(func.count(func.distinct(GridUnit.code))))
            assert units and units == codes  # one district, loaded once
        finally:
            for runtime in runtimes:
                await runtime.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

"""The connection pool serves waiting requests first come, first served, and loses no connection to a request
that gave up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import create_async_engine

from models.db import create_engine, session_factory
from models.pool import FairAsyncPool


async def turns(times: int = 50) -> None:
    for _ in range(times):  # let every runnable task take its steps
        await asyncio.sleep(0)


async def test_a_returned_connection_goes_to_the_longest_waiting_request_not_a_newcomer(tmp_path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/pool.db")  # one connection, as the service runs
    sessions = session_factory(engine)
    served: list[int] = []

    async def request(n: int) -> None:
        async with sessions.begin() as session:
            await session.execute(text("SELECT 1"))
            served.append(n)

    try:
        holder = await engine.connect()
        await holder.execute(text("SELECT 1"))
        waiting = [asyncio.create_task(request(n)) for n in range(1, 6)]
        await turns()
        # A sixth request arrives (its task is ready to run) just as the connection goes back to the pool,
        # with five requests waiting for it: the newcomer runs first, but must queue behind them.
        late = asyncio.create_task(request(6))
        await holder.close()
        await asyncio.gather(*waiting, late)
        assert served == [1, 2, 3, 4, 5, 6]
    finally:
        await engine.dispose()


async def test_a_request_that_gives_up_waiting_leaves_the_connection_to_the_next(tmp_path: Path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/pool.db", poolclass=FairAsyncPool, pool_size=1,
                                 max_overflow=0, pool_timeout=0.05)
    try:
        holder = await engine.connect()
        await holder.execute(text("SELECT 1"))
        with pytest.raises(PoolTimeout):
            async with engine.connect() as impatient:
                await impatient.execute(text("SELECT 1"))
        cancelled = asyncio.create_task(engine.connect().start())
        await turns()
        await holder.close()  # handed to the waiting request ...
        cancelled.cancel()  # ... which is cancelled before it could take it
        await asyncio.gather(cancelled, return_exceptions=True)
        async with engine.connect() as next_one:  # neither the timed-out nor the cancelled request kept it
            assert (await next_one.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()

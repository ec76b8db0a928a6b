"""The database drivers: the fast ones (fair pool, inline SQLite driver) by default, SQLAlchemy's stock ones on
GRIDBOT_DATABASE_DRIVERS=stock, and a refusal in one line when the private parts the fast ones use are missing."""

from __future__ import annotations

import asyncio

import aiosqlite.core
import asyncpg
import pytest
import sqlalchemy.util.queue
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bot.cli import main
from models.db import PREPARED_INTERNALS, DriverInternalsMissing, check_internals
from models.pool import FairAsyncPool
from models.sqlite_driver import InlineDBAPI
from tests.conftest import PG_ADMIN_DSN
from tests.harness import Harness

# A private part of each library per backend that the fast drivers need, and one that the stock ones do not.
REACHED_INTO = {
    "sqlite": (aiosqlite.core.Connection, "_execute", "aiosqlite.core.Connection._execute, which aiosqlite 0."),
    "postgres": (sqlalchemy.util.queue, "QueueCommon", "sqlalchemy.util.queue.QueueCommon, which sqlalchemy 2.1."),
}
FAST_ONLY = (sqlalchemy.util.queue, "QueueCommon")


def drivers_of(bot: Harness) -> tuple[type, bool]:
    engine = bot.runtime.engine
    return type(engine.pool), isinstance(engine.dialect.loaded_dbapi, InlineDBAPI)


async def test_fast_drivers_are_the_default(database_url):
    bot = await Harness.start(database_url, database_drivers="fast")
    try:
        assert "确认" in await bot.resident("R001", "#随手拍 3号楼门口路灯坏了", group="JT-TTC-01")
        assert "编号 #" in await bot.resident("R001", "确认", group="JT-TTC-01")
        pool, inline = drivers_of(bot)
        assert pool is FairAsyncPool
        assert inline == database_url.startswith("sqlite")
    finally:
        await bot.close()


async def test_stock_drivers_run_the_service_on_sqlalchemys_own_pool_and_adapter(database_url):
    bot = await Harness.start(database_url, database_drivers="stock")
    try:
        assert "确认" in await bot.resident("R001", "#随手拍 3号楼门口路灯坏了", group="JT-TTC-01")
        assert "编号 #" in await bot.resident("R001", "确认", group="JT-TTC-01")
        assert len(await bot.cases()) == 1
        assert drivers_of(bot) == (AsyncAdaptedQueuePool, False)
    finally:
        await bot.close()


def test_a_missing_private_part_stops_serve_in_one_line_naming_it_and_the_setting(
        database_url, db_backend, monkeypatch, capsys):
    owner, name, named = REACHED_INTO[db_backend]
    monkeypatch.delattr(owner, name)
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDBOT_DATABASE_DRIVERS", "fast")
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert named in error
    assert "GRIDBOT_DATABASE_DRIVERS=stock" in error


def test_the_stock_drivers_start_without_the_private_parts(database_url, monkeypatch, capsys):
    monkeypatch.delattr(*FAST_ONLY)
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDBOT_DATABASE_DRIVERS", "stock")
    assert main(["migrate"]) == 0
    assert capsys.readouterr().err == ""


def test_a_missing_private_part_is_named_with_what_to_do():
    with pytest.raises(DriverInternalsMissing) as prepared:
        check_internals(("sqlalchemy.sql.compiler:SQLCompiler._gone_in_a_later_release",))
    assert "pinned in pyproject.toml" in str(prepared.value) and "\n" not in str(prepared.value)
    check_internals(PREPARED_INTERNALS)  # what the installed SQLAlchemy has
    assert "DRIVERS=stock" not in str(DriverInternalsMissing(PREPARED_INTERNALS[0]))
    assert "DRIVERS=stock" in str(DriverInternalsMissing("aiosqlite.core:Connection._conn"))


async def test_a_connection_the_server_closed_is_replaced_before_the_next_message_uses_it(database_url, db_backend):
    if db_backend != "postgres":
        pytest.skip("PostgreSQL's connections: SQLite's is a file")
    bot = await Harness.start(database_url)
    try:
        assert "确认" in await bot.resident("R001", "#随手拍 3号楼门口路灯坏了", group="JT-TTC-01")
        async with bot.services.sessions() as session:
            pooled = (await (await session.connection()).get_raw_connection()).driver_connection
        closed = asyncio.get_running_loop().create_future()
        pooled.add_termination_listener(lambda _connection: closed.done() or closed.set_result(None))
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pooled.get_server_pid())
        finally:
            await admin.close()
        await asyncio.wait_for(closed, 10)  # the event loop has read the server's goodbye
        assert "编号 #" in await bot.resident("R001", "确认", group="JT-TTC-01")
        assert len(await bot.cases()) == 1
    finally:
        await bot.close()


@pytest.mark.parametrize("idle_limit", [None, 0.0])
async def test_a_connection_is_asked_whether_it_is_alive_only_after_lying_idle(database_url, db_backend, monkeypatch,
                                                                              idle_limit):
    """A checkout asks the server (an empty query) only once the connection has been idle LIVELY_SECONDS, counted
    from when it was made for one never checked out since: a connection a burst just opened is not asked at its
    second checkout."""
    if db_backend != "postgres":
        pytest.skip("PostgreSQL's connections: SQLite's is a file")
    from sqlalchemy import text

    from models import postgres_driver
    from models.db import create_engine, session_factory

    if idle_limit is not None:
        monkeypatch.setattr(postgres_driver, "LIVELY_SECONDS", idle_limit)
    engine = create_engine(database_url, drivers="fast", pool_size=1)
    queries: list[str] = []
    try:
        sessions = session_factory(engine)
        async with sessions() as session:  # the connection's first checkout: SQLAlchemy never asks a new one
            pooled = (await (await session.connection()).get_raw_connection()).driver_connection
        pooled.add_query_logger(lambda logged: queries.append(logged.query.strip()))
        async with sessions.begin() as session:  # its second (the pool has one connection)
            assert await session.scalar(text("SELECT 41 + 1")) == 42
        await asyncio.sleep(0.05)  # query loggers are called soon after, not during
    finally:
        await engine.dispose()
    assert queries[-2:] == ["BEGIN;", "COMMIT;"]  # the block's transaction, on that connection
    assert (";" in queries) is (idle_limit == 0.0), queries

"""SQLAlchemy's asyncpg adapter, with statements awaited on asyncpg's own connection and a checkout that does not ask
the server whether the connection is alive.

Every round trip costs the front door a send over the socket and the server its share of the machine, so the
engine (models/db.py create_engine, fast drivers) spends as few as it can. SQLAlchemy's pre-ping on asyncpg costs
three at every checkout (BEGIN, an empty query, ROLLBACK): 6 of 17 per update in bench/dispatcher_cpu.py
--backend postgres. What it guards against is a connection the server has closed (a restart,
pg_terminate_backend, an idle timeout), and asyncpg sees that by itself: the server says so and closes the
socket, the event loop reads the end of the stream and the connection reports `is_closed()` (within a few
milliseconds). So a checkout only asks the server after the connection has been idle for LIVELY_SECONDS (a
half-open connection, one whose peer vanished without closing it, is found there); a closed one is refused as
SQLAlchemy's failed ping is, which replaces every pooled connection older than it. A connection counts as checked
out when it is made (SQLAlchemy skips the ping at a new connection's first checkout, so its second checkout, often
milliseconds later, found no time noted and asked the server: three round trips and a statement prepared, for every
connection a burst opened). The dialect is also marked so that models.db.Prepared awaits a transaction's statements
on asyncpg's connection once the adapter has begun the transaction there (no adapter cursor, no greenlet trip per
statement), and so that a `sessions.begin()` block runs lean (models.db._Lean): the adapter's own transaction begun
on the pooled connection, SQLAlchemy's Session joining only for ORM work.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import Any

from asyncpg.exceptions import InvalidCachedStatementError, OutdatedSchemaCacheError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_

from models.db import AWAITED, LEAN, LeanDriver

LIVELY_SECONDS = 30.0


def configure(engine: AsyncEngine) -> None:
    """Pre-pings on the engine's connections from is_closed() and the time since their last checkout; prepared
    statements after a transaction's first awaited on asyncpg's connection (models.db.Prepared.execute); lean
    `sessions.begin()` blocks."""
    dialect: Any = engine.sync_engine.dialect
    server_ping = dialect.do_ping
    checked_out: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def do_ping(dbapi_connection: Any) -> bool:
        driver = dbapi_connection.driver_connection
        if driver.is_closed():
            return False
        now = time.monotonic()
        if now - checked_out.get(driver, -LIVELY_SECONDS) >= LIVELY_SECONDS:
            server_ping(dbapi_connection)
        checked_out[driver] = now
        return True

    def made(dbapi_connection: Any, _record: Any) -> None:
        checked_out[dbapi_connection.driver_connection] = time.monotonic()

    dialect.do_ping = do_ping
    event.listen(engine.sync_engine.pool, "connect", made)
    setattr(dialect, AWAITED, True)
    setattr(dialect, LEAN, _LEAN)


def _begin(dbapi_connection: Any) -> None:
    await_(dbapi_connection._start_transaction())  # the adapter's own BEGIN: its commit and rollback end it


def _joining(dbapi_connection: Any) -> None:
    """Nothing: SQLAlchemy's begin() on asyncpg sends no BEGIN (the adapter begins before a statement, when it has
    no transaction under way)."""


_LEAN = LeanDriver(begin=_begin, joining=_joining)


async def bound(driver: Any, state: Any, parameters: Sequence[Any]) -> list[Any]:
    """asyncpg's fetch of a statement found in the connection's statement cache, without the seven Python calls
    between fetch and the protocol's bind_execute (on the polled front door, 35 a polled update): the same
    guard against a second operation on the connection, the same protocol call, and the same recovery when the
    server says the statement or the types it was prepared with are out of date (asyncpg's _do_execute: the
    caches dropped, the error raised, or outside a transaction the statement prepared and run again once)."""
    try:
        with driver._stmt_exclusive_section:
            return await driver._protocol.bind_execute(state, parameters, "", 0, False, None)
    except OutdatedSchemaCacheError:
        await driver.reload_schema_state()
        raise
    except InvalidCachedStatementError:
        driver._drop_global_statement_cache()
        if driver._protocol.is_in_transaction():
            raise
        return await driver.fetch(state.query, *parameters)

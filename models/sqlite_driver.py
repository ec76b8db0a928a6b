"""aiosqlite with one hand-off to its thread per statement instead of four.

SQLAlchemy's aiosqlite adapter awaits the driver four times per statement (open a cursor, execute, fetch,
close), and each await is a round trip to aiosqlite's worker thread; on a busy machine those trips, not
SQLite, are most of a statement's cost. This cursor runs all four steps in the worker thread in one trip,
through aiosqlite's own Connection._execute.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A DBAPI cursor whose execute runs, fetches and closes on the driver's thread in one trip."""

    __slots__ = ("_description", "_rowcount", "_lastrowid")
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description = None
        self._rowcount = -1
        self._lastrowid = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(lambda cursor: cursor.execute(operation, () if parameters is None else parameters))

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(lambda cursor: cursor.executemany(operation, seq_of_parameters))

    def _run(self, statement: Any) -> None:
        try:
            self._description, self._rowcount, self._lastrowid, rows = await_(self._in_thread(statement))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = collections.deque(rows)

    async def _in_thread(self, statement: Any) -> tuple[Any, int, Any, list[Any]]:
        raw: sqlite3.Connection = self._connection._conn

        def run() -> tuple[Any, int, Any, list[Any]]:
            cursor = raw.cursor()
            try:
                statement(cursor)
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, cursor.rowcount, cursor.lastrowid, rows
            finally:
                cursor.close()

        async with self._adapt_connection._execute_mutex:
            # aiosqlite's own hand-off, which refuses (rather than waits forever) once the connection is closed.
            return await self._connection._execute(run)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI shim, handing out one-trip connections."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)

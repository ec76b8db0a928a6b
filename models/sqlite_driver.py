"""aiosqlite, with statements that cannot wait run inline on the event loop's thread.

SQLAlchemy's aiosqlite adapter hands every statement to aiosqlite's worker thread (four trips: open a cursor,
execute, fetch, close), and each trip is a hand-off between threads that costs more than the statement. In
WAL mode only two things ever wait for another connection: taking the write lock (BEGIN IMMEDIATE, see
models/db.py) and the checkpoint a COMMIT may run (an fsync). Those go to the worker thread, so the event loop
never blocks on a lock or a disk; every other statement of the transaction runs inline, in one call.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, int, Any, list[Any]]
# Statements that may wait on another connection's lock (BEGIN IMMEDIATE) or on the disk (PRAGMA journal_mode
# at connect, VACUUM): these run on the driver's thread.
_WAITING = ("BEGIN", "PRAGMA", "VACUUM")


def _run(raw: sqlite3.Connection, statement: Callable[[sqlite3.Cursor], Any]) -> Outcome:
    cursor = raw.cursor()
    try:
        statement(cursor)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


async def _run_inline(raw: sqlite3.Connection, statement: Callable[[sqlite3.Cursor], Any]) -> Outcome:
    # Awaited, though it never suspends: SQLAlchemy's async connection checks that its driver awaited.
    return _run(raw, statement)


class InlineCursor(AsyncAdapt_aiosqlite_cursor):
    """A DBAPI cursor whose execute runs, fetches and closes in one call: inline, or on the driver's thread."""

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
        waits = operation.lstrip()[:7].upper().startswith(_WAITING)
        self._outcome(lambda cursor: cursor.execute(operation, () if parameters is None else parameters), waits)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._outcome(lambda cursor: cursor.executemany(operation, seq_of_parameters), False)

    def _outcome(self, statement: Callable[[sqlite3.Cursor], Any], waits: bool) -> None:
        raw = self._adapt_connection.raw()
        try:
            if waits:
                outcome = await_(self._adapt_connection.in_thread(lambda: _run(raw, statement)))
            else:
                outcome = await_(_run_inline(raw, statement))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)


class InlineConnection(AsyncAdapt_aiosqlite_connection):
    """The adapted connection: COMMIT (which may checkpoint and fsync) on the thread, ROLLBACK inline."""

    __slots__ = ()
    _cursor_cls = InlineCursor

    def raw(self) -> sqlite3.Connection:
        raw = self._connection._conn
        if raw is None:  # closed: refuse, as aiosqlite does, rather than touch a closed handle
            raise ValueError("no active connection")
        return raw

    async def in_thread(self, work: Callable[[], Any]) -> Any:
        async with self._execute_mutex:
            # aiosqlite's own hand-off, which refuses (rather than waits forever) once the connection is closed.
            return await self._connection._execute(work)

    def commit(self) -> None:
        if self._connection._connection:
            try:
                await_(self.in_thread(self.raw().commit))
            except Exception as error:
                self._handle_exception(error)

    def rollback(self) -> None:
        if self._connection._connection:
            try:
                self.raw().rollback()
            except Exception as error:
                self._handle_exception(error)


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI shim, handing out inline connections (sqlite3 opened with check_same_thread=False,
    as both the loop's thread and the driver's thread use it, never at once: the pool holds one connection)."""

    def connect(self, *arg: Any, **kw: Any) -> InlineConnection:
        kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        return InlineConnection(self, adapted._connection)


def inline_dbapi() -> InlineDBAPI:
    return InlineDBAPI(aiosqlite, sqlite3)

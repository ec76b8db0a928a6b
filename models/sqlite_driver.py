"""aiosqlite, with every statement that cannot wait run inline on the event loop's thread.

SQLAlchemy's aiosqlite adapter hands every statement to aiosqlite's worker thread (four trips: open a cursor,
execute, fetch, close), and each trip is a hand-off between threads that costs more than the statement. In
WAL mode only two things ever wait: taking the write lock (BEGIN IMMEDIATE, see models/db.py) while another
process holds it, and a checkpoint (an fsync). So BEGIN IMMEDIATE is tried inline without a busy timeout and
only waits on the worker thread when the lock is taken; the automatic checkpoint a COMMIT would run is turned
off and run on the worker thread every CHECKPOINT_EVERY commits instead. The event loop never waits on a lock
or a disk, and everything else runs inline, one call per statement. The price: a statement that reads much holds
the loop while it runs; the service's own statements are indexed and bounded (the largest, the weekly figures,
read one week's cases).

It builds on private parts of aiosqlite and SQLAlchemy's adapter, pinned in pyproject.toml and listed in
models/db.py SQLITE_INTERNALS, which create_engine checks before using this driver.
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
# Statements that may wait on the disk or a lock (PRAGMA journal_mode at connect, VACUUM): the driver's thread.
_WAITING = ("PRAGMA", "VACUUM")
CHECKPOINT_EVERY = 256  # commits; at a few pages each, about SQLite's own default of 1,000 pages


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
        head = operation.lstrip()[:15].upper()
        if head == "BEGIN IMMEDIATE" and not parameters:
            self._adapt_connection.begin_immediate()
            self._description, self._rowcount, self._lastrowid, self._rows = None, -1, None, collections.deque()
            return
        waits = head.startswith(_WAITING)
        self._outcome(lambda cursor: cursor.execute(operation, () if parameters is None else parameters), waits)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._outcome(lambda cursor: cursor.executemany(operation, seq_of_parameters), False)

    def _outcome(self, statement: Callable[[sqlite3.Cursor], Any], waits: bool) -> None:
        adapted = self._adapt_connection
        raw = adapted.raw()
        try:
            if waits:
                outcome = await_(adapted.in_thread(lambda: adapted.waiting(lambda: _run(raw, statement))))
            else:
                outcome = await_(_run_inline(raw, statement))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)


class InlineConnection(AsyncAdapt_aiosqlite_connection):
    """The adapted connection: the write lock taken inline unless another process holds it, COMMIT and
    ROLLBACK inline, checkpoints on the driver's thread."""

    __slots__ = ("_busy_timeout_ms", "_commits", "begun_lean")
    _cursor_cls = InlineCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._busy_timeout_ms: int | None = None
        self._commits = 0
        self.begun_lean = False  # a lean transaction (models.db._Lean) began the transaction SQLAlchemy joins next

    def raw(self) -> sqlite3.Connection:
        raw = self._connection._conn
        if raw is None:  # closed: refuse, as aiosqlite does, rather than touch a closed handle
            raise ValueError("no active connection")
        return raw

    def direct_cursor(self) -> sqlite3.Cursor:
        """A cursor of the sqlite3 connection itself, for a statement that cannot wait: inside a transaction begun
        with BEGIN IMMEDIATE nothing does (models.db.Prepared runs the transaction's statements through it)."""
        try:
            return self.raw().cursor()
        except ValueError as error:
            raise sqlite3.OperationalError(str(error)) from error

    async def in_thread(self, work: Callable[[], Any]) -> Any:
        async with self._execute_mutex:
            # aiosqlite's own hand-off, which refuses (rather than waits forever) once the connection is closed.
            return await self._connection._execute(work)

    def waiting(self, work: Callable[[], Any]) -> Any:
        """Runs work (on the driver's thread) with the connection's busy timeout, which inline statements go without."""
        raw, timeout = self.raw(), self._busy_timeout_ms
        if timeout is None:  # not taken off yet: the connection still has its own
            return work()
        raw.execute(f"PRAGMA busy_timeout={timeout}")
        try:
            return work()
        finally:  # the timeout as work left it (a PRAGMA busy_timeout=... sets a new one), then none again inline
            self._busy_timeout_ms = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
            raw.execute("PRAGMA busy_timeout=0")

    def begin_immediate(self) -> None:
        raw = self.raw()
        try:
            if self._busy_timeout_ms is None:
                # The configured wait is kept for the driver's thread (waiting()); inline, nothing waits. Set once
                # rather than around every BEGIN: the two PRAGMAs cost more than BEGIN IMMEDIATE and COMMIT.
                self._busy_timeout_ms = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
                raw.execute("PRAGMA busy_timeout=0")
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
            # Another process holds the write lock: wait for it, up to the busy timeout, off the loop.
            await_(self.in_thread(lambda: self.waiting(lambda: raw.execute("BEGIN IMMEDIATE"))))
        except Exception as error:
            self._handle_exception(error)

    def checkpoints_at_commit(self) -> bool:
        """Whether the next commit runs a checkpoint (on the driver's thread, waited for); the others never wait."""
        return (self._commits + 1) % CHECKPOINT_EVERY == 0

    def commit(self) -> None:
        if self._connection._connection:
            try:
                raw = self.raw()
                raw.commit()
                self._commits += 1
                if self._commits % CHECKPOINT_EVERY == 0:
                    await_(self.in_thread(lambda: raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()))
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
    as both the loop's thread and the driver's thread use it, never at once: one checkout uses a connection at
    a time, and it waits for the thread whenever it hands it work)."""

    def connect(self, *arg: Any, **kw: Any) -> InlineConnection:
        kw["check_same_thread"] = False
        adapted = InlineConnection(self, super().connect(*arg, **kw)._connection)
        # Commits must not checkpoint (and fsync) on the loop's thread: InlineConnection.commit runs them.
        adapted.cursor().execute("PRAGMA wal_autocheckpoint=0")
        return adapted


def inline_dbapi() -> InlineDBAPI:
    return InlineDBAPI(aiosqlite, sqlite3)

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

Concurrent transactions share one COMMIT (group commit): a lean transaction (models.db._Lean) that ends does not
commit at once but leaves its transaction open for one turn of the event loop, and lean transactions that begin
meanwhile run in a SAVEPOINT of it; then one COMMIT makes them all durable, and each block waits for it before it
returns, so nothing it says or sends goes out before its rows are committed. A COMMIT writes every page it changed
to the WAL (about 14 for an update, two write() calls each): concurrent updates change the same index pages, which
one COMMIT writes once. A transaction that fails rolls back to its own savepoint; one that cannot join (a
Connection's or the ORM's, which commit on their own) commits the group first.

It builds on private parts of aiosqlite and SQLAlchemy's adapter, pinned in pyproject.toml and listed in
models/db.py SQLITE_INTERNALS, which create_engine checks before using this driver.
"""

from __future__ import annotations

import asyncio
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


class _Group:
    """Lean transactions ended on the connection and not yet committed: the waiters of their blocks, woken by the
    COMMIT that makes them durable (or told why it failed)."""

    __slots__ = ("waiters", "due")

    def __init__(self) -> None:
        self.waiters: list[asyncio.Future[None]] = []
        self.due = False  # its COMMIT came while a member was under way: that member's end sends it


class InlineConnection(AsyncAdapt_aiosqlite_connection):
    """The adapted connection: the write lock taken inline unless another process holds it, COMMIT and
    ROLLBACK inline, checkpoints on the driver's thread; lean transactions committed in groups."""

    __slots__ = ("_busy_timeout_ms", "_commits", "begun_lean", "_group", "_member", "_under_way", "_checkpoint_due")
    _cursor_cls = InlineCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._busy_timeout_ms: int | None = None
        self._commits = 0
        self.begun_lean = False  # a lean transaction (models.db._Lean) began the transaction SQLAlchemy joins next
        self._group: _Group | None = None  # the open transaction's ended members, while its COMMIT is to come
        self._member = False  # the transaction under way is a SAVEPOINT in the group's transaction
        self._under_way = False  # between a transaction's BEGIN (or SAVEPOINT) and its end
        self._checkpoint_due = False  # a group's COMMIT, which cannot wait, left it to the next BEGIN

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

    def begin_immediate(self, join: bool = False) -> None:
        """BEGIN IMMEDIATE; with `join` (a lean transaction) a SAVEPOINT in the group's transaction when one is open,
        which is otherwise committed first."""
        raw = self.raw()
        try:
            if self._group is not None:
                if join:
                    raw.execute("SAVEPOINT gridbot_member")
                    self._member = self._under_way = True
                    return
                self._commit_group()
            if self._checkpoint_due:  # in a greenlet, as every BEGIN is: it may wait
                self._checkpoint_due = False
                await_(self.in_thread(lambda: raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()))
            if self._busy_timeout_ms is None:
                # The configured wait is kept for the driver's thread (waiting()); inline, nothing waits. Set once
                # rather than around every BEGIN: the two PRAGMAs cost more than BEGIN IMMEDIATE and COMMIT.
                self._busy_timeout_ms = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
                raw.execute("PRAGMA busy_timeout=0")
            try:
                raw.execute("BEGIN IMMEDIATE")
                self._under_way = True
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
            # Another process holds the write lock: wait for it, up to the busy timeout, off the loop.
            await_(self.in_thread(lambda: self.waiting(lambda: raw.execute("BEGIN IMMEDIATE"))))
            self._under_way = True
        except Exception as error:
            self._handle_exception(error)

    def commit(self) -> None:
        if self._connection._connection:
            try:
                raw = self.raw()
                if self._member:
                    raw.execute("RELEASE gridbot_member")
                    self._member = False
                raw.commit()
            except Exception as error:
                self._lost(error)
                self._handle_exception(error)
            self._under_way = False
            self._committed(None)  # a group this transaction was a member of is committed with it
            if self._commits % CHECKPOINT_EVERY == 0:
                self._checkpoint_due = False
                try:
                    await_(self.in_thread(lambda: raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()))
                except Exception as error:
                    self._handle_exception(error)

    def commit_later(self) -> asyncio.Future[None]:
        """Ends the lean transaction under way without a COMMIT of its own: it joins the group that the next turn
        of the event loop commits (at once if that turn has come). The future is done once it is committed."""
        loop = asyncio.get_running_loop()
        try:
            raw = self.raw()
            group = self._group
            if self._member:
                raw.execute("RELEASE gridbot_member")
                self._member = False
            else:  # the group's first
                group = self._group = _Group()
                loop.call_soon(self._commit_due, group)
        except Exception as error:
            self._lost(error)
            self._handle_exception(error)
        assert group is not None
        self._under_way = False
        waiter: asyncio.Future[None] = loop.create_future()
        group.waiters.append(waiter)
        if group.due:
            self._commit_group()
        return waiter

    def _commit_due(self, group: _Group) -> None:
        if self._group is not group:  # committed already, by a transaction that could not join it
            return
        if self._under_way:  # a member is under way on the connection: its end commits the group
            group.due = True
            return
        self._commit_group()

    def _commit_group(self) -> None:
        """COMMIT of the group's transaction, which cannot wait (a checkpoint due is left to the next BEGIN); a
        failure goes to the group's waiters, the transaction rolled back."""
        try:
            self.raw().commit()
        except Exception as error:
            self._member = self._under_way = False
            raw = self._connection._conn
            try:
                if raw is not None and raw.in_transaction:
                    raw.rollback()
            except Exception:  # the waiters learn of the first error, the one that lost their rows
                pass
            self._committed(error)
            return
        self._committed(None)
        if self._commits % CHECKPOINT_EVERY == 0:
            self._checkpoint_due = True

    def _committed(self, error: BaseException | None) -> None:
        """Wakes the group's waiters: committed (counted as a commit), or with the error that lost their rows."""
        group, self._group = self._group, None
        if error is None:
            self._commits += 1
        if group is not None:
            for waiter in group.waiters:
                if not waiter.done():
                    if error is None:
                        waiter.set_result(None)
                    else:
                        waiter.set_exception(error)

    def _lost(self, error: BaseException) -> None:
        """After an error: a group whose transaction SQLite rolled back with it is told so."""
        raw = self._connection._conn
        if self._group is not None and (raw is None or not raw.in_transaction):
            self._member = self._under_way = False
            self._committed(error)

    def rollback(self) -> None:
        if self._connection._connection:
            try:
                raw = self.raw()
                if self._group is not None and not self._under_way:
                    return  # a reset of a checkout that began nothing: the group is not its to end
                self._under_way = False
                if self._member and raw.in_transaction:  # only the member's own work: the group's stays
                    self._member = False
                    raw.execute("ROLLBACK TO gridbot_member")
                    raw.execute("RELEASE gridbot_member")
                    if self._group is not None and self._group.due:
                        self._commit_group()
                    return
                self._member = False
                raw.rollback()
                if self._group is not None:  # SQLite rolled the group's transaction back with the member's error
                    self._committed(sqlite3.OperationalError("the transaction was rolled back before its commit"))
            except Exception as error:
                self._lost(error)
                self._handle_exception(error)

    def close(self) -> None:
        group = self._group
        try:
            super().close()
        finally:
            if group is not None and self._group is group:  # closed with their transaction open: rolled back
                self._member = self._under_way = False
                self._committed(sqlite3.OperationalError("the connection closed before its transaction committed"))


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI shim, handing out inline connections (sqlite3 opened with check_same_thread=False,
    as both the loop's thread and the driver's thread use it, never at once: one checkout uses a connection at
    a time, and it waits for the thread whenever it hands it work)."""

    def connect(self, *arg: Any, **kw: Any) -> InlineConnection:
        kw["check_same_thread"] = False
        adapted = InlineConnection(self, super().connect(*arg, **kw)._connection)
        # Commits must not checkpoint (and fsync) on the loop's thread: InlineConnection.commit runs them.
        adapted.cursor().execute("PRAGMA wal_autocheckpoint=0")
        # A group's members write in savepoints, whose journals of the pages they change would otherwise spill to a
        # temporary file past 64 KiB (a write() call per page): kept in memory, as the pages themselves are.
        adapted.cursor().execute("PRAGMA temp_store=MEMORY")
        return adapted


def inline_dbapi() -> InlineDBAPI:
    return InlineDBAPI(aiosqlite, sqlite3)

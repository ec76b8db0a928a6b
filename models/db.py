"""Engine and session factory for SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL, and the migration runner."""

from __future__ import annotations

import collections
import importlib
import re
import sys
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import base as async_base
from sqlalchemy.orm import Session
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool
from sqlalchemy.sql import Executable
from sqlalchemy.util import concurrency
from sqlalchemy.util.concurrency import greenlet_spawn

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

Drivers = Literal["fast", "stock"]
# The private parts of the pinned libraries (see pyproject.toml) that models/pool.py and models/sqlite_driver.py
# build on, as "module:attribute.path". The stock drivers (GRIDBOT_DATABASE_DRIVERS=stock) need none of them.
POOL_INTERNALS = (
    "sqlalchemy.pool.impl:AsyncAdaptedQueuePool._queue_class",
    "sqlalchemy.util.queue:QueueCommon", "sqlalchemy.util.queue:Empty", "sqlalchemy.util.queue:Full",
    "sqlalchemy.util.concurrency:await_",
)
# The lean transaction's (_Lean, JoiningSession), on either backend.
LEAN_INTERNALS = (
    "sqlalchemy.pool.base:_ConnectionFairy._close_special", "sqlalchemy.orm.session:Session._autobegin_t",
    "sqlalchemy.orm.session:Session._connection_for_bind",
    "sqlalchemy.orm.session:SessionTransaction._connection_for_bind",
    # LeanSession makes its Session late through AsyncSession's constructor, which assigns _proxied through this
    "sqlalchemy.ext.asyncio.session:AsyncSession._assign_proxied",
)
SQLITE_INTERNALS = (
    "aiosqlite.core:Connection._execute", "aiosqlite.core:Connection._conn",
    "sqlalchemy.util:EMPTY_DICT",
    "sqlalchemy.dialects.sqlite.aiosqlite:AsyncAdapt_aiosqlite_dbapi.connect",
    "sqlalchemy.dialects.sqlite.aiosqlite:AsyncAdapt_aiosqlite_connection._connection",
    "sqlalchemy.dialects.sqlite.aiosqlite:AsyncAdapt_aiosqlite_connection._cursor_cls",
    "sqlalchemy.dialects.sqlite.aiosqlite:AsyncAdapt_aiosqlite_connection._execute_mutex",
    "sqlalchemy.dialects.sqlite.aiosqlite:AsyncAdapt_aiosqlite_connection._handle_exception",
    *(f"sqlalchemy.dialects.sqlite.aiosqlite:AsyncAdapt_aiosqlite_cursor.{name}" for name in (
        "_adapt_connection", "_connection", "_cursor", "_rows", "_soft_closed_memoized", "_awaitable_cursor_close")),
)

POSTGRES_INTERNALS = ("sqlalchemy.connectors.asyncio:AsyncAdapt_dbapi_connection._handle_exception",
                      *(f"sqlalchemy.dialects.postgresql.asyncpg:AsyncAdapt_asyncpg_connection.{name}"
                        for name in ("_transaction", "_start_transaction")),
                      # models.postgres_driver.bound: a cached statement run on the protocol as asyncpg's fetch does
                      *(f"asyncpg.connection:Connection.{name}" for name in (
                          "_query_loggers", "_stmt_cache", "_stmt_exclusive_section", "_protocol",
                          "_drop_global_statement_cache")),
                      "asyncpg.connection:_StatementCache.get",
                      *(f"asyncpg.protocol:Protocol.{name}" for name in (
                          "bind_execute", "get_record_class", "is_in_transaction")))


# Private parts of SQLAlchemy that any drivers use: a compiled statement's (Prepared, PreparedQuery), the async
# layer's (Sessions, _to_completion), the session's flush check and instrumentation's (bot.delivery.outbox's rows).
PREPARED_INTERNALS = (*(f"sqlalchemy.sql.compiler:SQLCompiler.{name}" for name in (
    "_bind_processors", "_result_columns", "positiontup")), "sqlalchemy.types:TypeEngine._cached_result_processor",
    "sqlalchemy.orm.session:Session._is_clean", "sqlalchemy.util.concurrency:_concurrency_shim._AsyncIoGreenlet",
    "sqlalchemy.util.concurrency:_concurrency_shim.getcurrent", "sqlalchemy.ext.asyncio.base:_run_to_completion",
    "sqlalchemy.orm.instrumentation:ClassManager.new_instance")


class DriverInternalsMissing(RuntimeError):
    """The fast drivers cannot run on the installed aiosqlite or SQLAlchemy; the message is one line."""

    def __init__(self, internal: str) -> None:
        distribution = internal.split(".", 1)[0].split(":", 1)[0]
        super().__init__(
            f"{'gridbot needs' if internal in PREPARED_INTERNALS else 'the fast database drivers need'} "
            f"{internal.replace(':', '.')}, which {distribution} {_installed(distribution)} lacks: "
            f"{'' if internal in PREPARED_INTERNALS else 'set GRIDBOT_DATABASE_DRIVERS=stock, or '}"
            f"install the versions pinned in pyproject.toml")


def _installed(distribution: str) -> str:
    return version("SQLAlchemy" if distribution == "sqlalchemy" else distribution)


def check_internals(internals: tuple[str, ...]) -> None:
    """Raises DriverInternalsMissing naming the first of `internals` the installed libraries lack."""
    for internal in internals:
        module_name, _, path = internal.partition(":")
        try:
            found: object = importlib.import_module(module_name)
            for name in path.split("."):
                found = getattr(found, name)
        except (ImportError, AttributeError):
            raise DriverInternalsMissing(internal) from None


def create_engine(database_url: str, *, drivers: Drivers = "fast", echo: bool = False, pool_size: int = 30) -> AsyncEngine:
    """Creates the async engine; SQLite gets WAL, a busy timeout and write transactions that lock up front.

    `drivers="fast"` runs on the fair pool and, on SQLite, the inline driver, after checking that the private
    parts they use exist; `"stock"` on SQLAlchemy's own pool and aiosqlite adapter.
    """
    url = make_url(database_url)
    sqlite_backend = url.get_backend_name() == "sqlite"
    check_internals(PREPARED_INTERNALS)
    if drivers == "fast":
        check_internals(POOL_INTERNALS + LEAN_INTERNALS + (SQLITE_INTERNALS if sqlite_backend else POSTGRES_INTERNALS))
        from models.pool import FairAsyncPool

        poolclass: type[Pool] = FairAsyncPool
    elif drivers == "stock":
        poolclass = AsyncAdaptedQueuePool
    else:
        raise ValueError(f"database drivers are fast or stock, not {drivers!r}")
    if sqlite_backend:
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        fast = {}
        if drivers == "fast":
            from models.sqlite_driver import inline_dbapi

            fast = {"module": inline_dbapi()}
        # One connection: SQLite has one writer anyway, and queueing on the pool is fair and cheap where
        # queueing on the file lock means busy-sleeping in the driver.
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, pool_size=1, max_overflow=0,
                                     pool_timeout=60, poolclass=poolclass, json_serializer=json_text,
                                     json_deserializer=orjson.loads, **fast)
        _configure_sqlite(engine, inline=drivers == "fast")
        return engine
    # Up to pool_size connections (30), all kept once opened: with 10 kept and 20 more opened on demand, every burst
    # beyond 10 transactions opened and closed connections (170 in one run of bench/telegram_dialogue.py, each a
    # server process, a TLS attempt and every statement prepared again on it).
    engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=0, pool_pre_ping=True,
                                 poolclass=poolclass, json_serializer=json_text, json_deserializer=orjson.loads)
    if drivers == "fast":
        from models import postgres_driver

        postgres_driver.configure(engine)
    return engine


def json_text(value: Any) -> str:
    """A JSON column's text, by orjson (a fifth of json.dumps's CPU): the same JSON, Chinese written as UTF-8 rather
    than as \\u escapes; keys that are not strings become strings, as json.dumps makes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _configure_sqlite(engine: AsyncEngine, *, inline: bool) -> None:
    # pysqlite's own transaction handling defers BEGIN and would let two writers deadlock on upgrade;
    # we take over and begin every transaction with BEGIN IMMEDIATE so writers queue on the busy timeout.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    if inline:
        # BEGIN IMMEDIATE where SQLAlchemy begins a transaction (Dialect.do_begin, a no-op for pysqlite), on the
        # inline driver without a statement: and no connection event, whose listener would make SQLAlchemy
        # dispatch events around every statement and commit on this engine (a few per cent of the CPU).
        def _begin_immediate(connection: Any) -> None:
            dbapi = connection.dbapi_connection
            if dbapi.begun_lean:  # a Connection joining the transaction _Lean began on it (BEGIN already sent)
                dbapi.begun_lean = False
                return
            dbapi.begin_immediate()

        engine.sync_engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign]
        setattr(engine.sync_engine.dialect, LEAN, LeanDriver(begin=_lean_begin_immediate, joining=_lean_joining,
                                                             ends_inline=_lean_ends_inline,
                                                             commit_later=_lean_commit_later))
        return

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _lean_begin_immediate(dbapi: Any) -> None:
    dbapi.begin_immediate(join=True)  # in the group of transactions awaiting their COMMIT, if one is open


def _lean_ends_inline(dbapi: Any, commit: bool) -> bool:
    return True  # a lean commit joins the group (commit_later) and its COMMIT never waits: a checkpoint is left to a BEGIN


def _lean_commit_later(dbapi: Any) -> Awaitable[None]:
    return dbapi.commit_later()


def _lean_joining(dbapi: Any) -> None:
    dbapi.begun_lean = True  # the do_begin above sends no BEGIN for the Connection joining


def dialect_insert(session: AsyncSession) -> Callable[..., Insert]:
    """The INSERT construct of the session's dialect, for ON CONFLICT clauses (SQLite and PostgreSQL agree)."""
    return _insert_of(session.get_bind().dialect.name)


def _insert_of(dialect_name: str) -> Callable[..., Insert]:
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


class PerDialect:
    """A statement built once per SQL dialect: ON CONFLICT constructs differ by dialect, and the statements that
    run for every message are cheaper built once than rebuilt per call."""

    def __init__(self, build: Callable[[Callable[..., Insert]], Executable]) -> None:
        self._build = build
        self._built: dict[str, Executable] = {}

    def __call__(self, session: AsyncSession) -> Executable:
        name = session.get_bind().dialect.name
        statement = self._built.get(name)
        if statement is None:
            statement = self._built[name] = self._build(_insert_of(name))
        return statement


_NUMBERED = re.compile(r"\$(\d+)")  # asyncpg's positional parameters in a statement's SQL


@dataclass(frozen=True, slots=True)
class _DriverForm:
    """A statement as its dialect's driver takes it: the SQL, and where each positional parameter comes from."""

    sql: str
    sources: tuple[tuple[str | None, Any, Callable[[Any], Any] | None], ...]  # (values key | None, constant, bind)
    sequence: Callable[[list[Any]], Sequence[Any]]
    returns: bool
    given: int  # how many values a call names
    # A write's table; None for a query. On PostgreSQL a write can run as a data-modifying WITH part of another
    # (Prepared.execute_later), if foldable: a plain statement of its own (no WITH), its parameters $1...$n in order,
    # no string literal whose text could hold a $n.
    writes: str | None = None
    foldable: bool = False
    # A call's values -> the driver's parameters, in order (_parameter_reader).
    parameters: Callable[[dict[str, Any]], Sequence[Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _parameter_reader(self.sources, self.sequence, self.given))


def _parameter_reader(sources: tuple[tuple[str | None, Any, Callable[[Any], Any] | None], ...],
                      sequence: Callable[[list[Any]], Sequence[Any]], given: int) -> Callable[[dict[str, Any]], Any]:
    """The function making a statement's driver parameters from a call's values, written out as one expression for
    its sources (a loop over them was 9% of the polled front door's profile: seven statements an update)."""
    names: dict[str, Any] = {"_given": given, "_mismatch": _mismatch, "_sequence": sequence}
    items = []
    for index, (key, constant, bind) in enumerate(sources):
        if key is None:
            names[f"_constant{index}"] = constant
            item = f"_constant{index}"
        else:
            item = f"values[{key!r}]"
        if bind is not None:
            names[f"_bind{index}"] = bind
            item = f"_bind{index}({item})"
        items.append(item)
    listed = ", ".join(items)
    made = f"({listed},)" if sequence is tuple and items else f"_sequence([{listed}])"
    exec(f"def parameters(values):\n    if len(values) != _given:\n        _mismatch(values)\n    return {made}\n",
         names)
    return names["parameters"]


def _mismatch(values: dict[str, Any]) -> None:
    # A value the statement would not write is a mistake, not something to drop.
    raise ValueError(f"values {sorted(values)} do not match the prepared statement's parameters")


class Prepared:
    """A statement that runs for every message (the ledger row, the dialogue, the reply rows and their marks), compiled
    once per dialect with SQLAlchemy and then handed straight to the driver's cursor, in the session's transaction.

    SQLAlchemy's execution of an already-compiled statement (session, connection, execution context, events, result)
    is most of a statement's CPU: the ledger insert, four to a transaction, took 251 µs a statement through
    Session.execute and 129 µs prepared on SQLite (646 / 457 µs on PostgreSQL, where asyncpg's own work is
    larger), on a loaded machine. A SELECT goes through PreparedQuery. `keys` names every value a call gives (an
    insert's columns: all it writes, as no Python-side default runs); other parameters are the statement's own
    constants. A write reads back at most a RETURNING id, as the driver gives it. Type conversions on the way in (UTC datetimes, enums, JSON) are
    SQLAlchemy's own bind processors for the dialect, so the row stored is the same as through Session.execute.

    On SQLite's inline driver a transaction's statements after its first go to the sqlite3 connection with no trip
    through the async layer at all (a greenlet and two switches each): 85 → 50 µs a statement of CPU, and 6% of the
    dispatcher's instructions per update (bench/dispatcher_cpu.py --instructions). On PostgreSQL (fast drivers)
    every statement is awaited on asyncpg's connection, the transaction's first after one trip that checks the
    connection out and begins the transaction under SQLAlchemy's adapter: 3.63M → 3.22M instructions per update
    of the dispatcher.
    """

    def __init__(self, build: Callable[[Callable[..., Insert]], Executable], keys: Sequence[str]) -> None:
        self._build = build
        self._keys = tuple(keys)
        self._forms: dict[str, _DriverForm] = {}

    def _form(self, dialect: Any) -> _DriverForm:
        form = self._forms.get(dialect.name)
        if form is None:
            statement = self._build(_insert_of(dialect.name))
            compiled: Any = statement.compile(dialect=dialect, column_keys=list(self._keys))
            if (not compiled.positional or compiled.insert_prefetch or compiled.update_prefetch
                    or compiled.literal_execute_params or compiled.post_compile_params):
                raise ValueError(f"statement cannot run prepared on {dialect.name}: {compiled.string}")
            binds = compiled._bind_processors
            sources = []
            for name in compiled.positiontup:
                given = name in self._keys
                constant = None if given else compiled.binds[name].effective_value  # a literal such as LIMIT 1
                sources.append((name if given else None, constant, binds.get(name)))
            table = getattr(statement, "table", None) if getattr(statement, "is_dml", False) else None
            sql = compiled.string
            numbers = [int(number) for number in _NUMBERED.findall(sql)]
            form = self._forms[dialect.name] = _DriverForm(
                sql, tuple(sources), dialect.execute_sequence_format, bool(compiled._result_columns), len(self._keys),
                None if table is None else table.name, table is not None and not sql.startswith("WITH") and "'" not in sql
                and sorted(set(numbers)) == list(range(1, len(sources) + 1)))
            self._compiled(dialect, compiled)
        return form

    def _compiled(self, dialect: Any, compiled: Any) -> None:
        """What a subclass keeps of the compiled statement besides its driver form."""

    def run(self, session: Session, values: dict[str, Any]) -> list[Any]:
        """Runs it once in the session's transaction (inside run_sync); the RETURNING rows, or []."""
        return self._cursor(session, lambda cursor, form: cursor.execute(form.sql, form.parameters(values)))

    def run_many(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """Runs it for each of `rows` in one executemany (no RETURNING)."""
        self._cursor(session, lambda cursor, form: cursor.executemany(form.sql, [form.parameters(v) for v in rows]))

    def _cursor(self, session: Session, call: Callable[[Any, _DriverForm], Any]) -> list[Any]:
        connection = _connection(session)
        dbapi: Any = connection.connection.dbapi_connection
        direct = getattr(dbapi, "direct_cursor", None)
        if direct is None:
            rows = self._through(dbapi.cursor(), connection.dialect, call)
            _opened(session, connection)
            return rows
        # A driver that never waits within a transaction (SQLite's inline one): the transaction's later statements
        # can skip the trip through SQLAlchemy's async layer while this transaction holds the connection.
        session.info[_DIRECT] = (weakref.ref(session.get_transaction()), direct, connection.dialect, False)  # type: ignore[arg-type]
        return self._through(direct(), connection.dialect, call)

    def _open_or_run(self, session: Session, values: dict[str, Any]) -> Any:
        """run(), unless the session's transaction can begin on an asyncpg connection: then only that (the
        checkout and BEGIN), and _OPENED for the caller to await the statement on it."""
        connection = _connection(session)
        dbapi: Any = connection.connection.dbapi_connection
        if getattr(connection.dialect, AWAITED, False):
            if dbapi._transaction is None:
                concurrency.await_(dbapi._start_transaction())  # what the adapter's cursor does before a statement
            if _opened(session, connection):
                return _OPENED
        return self.run(session, values)

    async def execute_alone(self, sessions: async_sessionmaker[AsyncSession], rows: Sequence[dict[str, Any]]) -> None:
        """run_many in a transaction of its own, on the fast drivers without a Session (it would only carry the
        connection). On asyncpg that is one executemany on a connection outside any transaction, which asyncpg
        makes atomic (one implicit transaction): no BEGIN and COMMIT round trips. On SQLite's inline driver it is a
        lean transaction's executemany."""
        engine = sessions.kw.get("bind")
        driver: LeanDriver | None = None if engine is None else getattr(engine.dialect, LEAN, None)
        if driver is None:
            async with sessions.begin() as session:
                await session.run_sync(self.run_many, rows)
            return
        if getattr(engine.dialect, AWAITED, False):
            fairy = await greenlet_spawn(engine.sync_engine.pool.connect)
            try:
                await self._awaited_many(fairy.dbapi_connection, engine.dialect, rows)
            finally:
                fairy._close_special(transaction_reset=True)  # no transaction was begun on it: nothing to reset
            return
        lean = _Lean(engine.sync_engine, driver)
        commit = False
        try:
            await self._on_lean(lean, rows=rows)
            commit = True
        finally:
            ends = driver.ends_inline
            if lean.fairy is None or (ends is not None and ends(lean.fairy.dbapi_connection, commit)):
                lean.close(commit)
            else:
                await _to_completion(lambda: lean.close(commit))
        if lean.committed is not None:
            await lean.committed

    async def execute_later(self, session: AsyncSession, values: dict[str, Any]) -> None:
        """execute() for a write whose outcome nothing reads back: in a lean transaction on PostgreSQL it is sent
        with the transaction's next statement, as a data-modifying WITH part of it when that statement is a write
        of other rows (one round trip for both: a dialogue's state goes with its reply), else just before it, before
        ORM work joins, or before the commit; elsewhere at once. Its parameters are taken now."""
        lean: _Lean | None = getattr(session, "gridbot_lean", None)
        if lean is None or not lean.awaited or lean.connection is not None or not _clean(session):
            await self.execute(session, values)
            return
        form = self._form(lean.dialect)
        if not form.foldable:
            await self.execute(session, values)
            return
        if len(lean.deferred) >= MAX_FOLDED:  # a bounded number of statements shapes for asyncpg to prepare
            await _on_lean_deferred(lean)
        lean.deferred.append((self, form.parameters(values)))

    async def _on_lean(self, lean: _Lean, values: dict[str, Any] | None = None,
                       rows: Sequence[dict[str, Any]] = ()) -> list[Any]:
        """Runs it (for `values`, or each of `rows`) straight on a lean transaction's connection, checked out and
        begun first if need be; with the writes left for it (execute_later) folded in or sent first."""
        if lean.fairy is None:
            await greenlet_spawn(lean.open)
        dbapi = lean.fairy.dbapi_connection
        if lean.awaited:
            if values is not None:
                deferred, lean.deferred = lean.deferred, []
                if deferred and not _folds(deferred, self._form(lean.dialect), lean.dialect):
                    await _run_deferred(dbapi, lean.dialect, deferred)
                    deferred = []
                return await self._awaited(dbapi, lean.dialect, values, deferred)
            await _on_lean_deferred(lean)
            await self._awaited_many(dbapi, lean.dialect, rows)
            return []
        if values is not None:
            return self._through(dbapi.direct_cursor(), lean.dialect,
                                 lambda cursor, form: cursor.execute(form.sql, form.parameters(values)))
        return self._through(dbapi.direct_cursor(), lean.dialect,
                             lambda cursor, form: cursor.executemany(form.sql, [form.parameters(v) for v in rows]))

    def _through(self, cursor: Any, dialect: Any, call: Callable[[Any, _DriverForm], Any]) -> list[Any]:
        form = self._form(dialect)
        try:
            call(cursor, form)
            return self._rows(dialect, cursor.fetchall()) if form.returns else []
        finally:
            cursor.close()

    async def _awaited(self, adapted: Any, dialect: Any, values: dict[str, Any],
                       deferred: Sequence[Deferred] = ()) -> list[Any]:
        """Runs it on the asyncpg connection under SQLAlchemy's adapter (asyncpg prepares it once per connection
        and keeps it), with `deferred` writes as WITH parts of it; an error comes out as the adapter's cursor would
        raise it."""
        form = self._form(dialect)
        parameters = form.parameters(values)
        sql = form.sql
        if deferred:
            sql = _folded(tuple(prepared for prepared, _ in deferred), self, dialect)
            parameters = [*(value for _, given in deferred for value in given), *parameters]
        rows = await self._fetch(adapted, sql, parameters)
        return self._rows(dialect, rows) if form.returns else []

    async def _fetch(self, adapted: Any, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """One statement's round trip on the asyncpg connection; an error comes out as the adapter's cursor would
        raise it. A statement the connection has prepared already is bound and executed on its protocol straight
        (models.postgres_driver.bound), else asyncpg's fetch prepares it."""
        driver = adapted.driver_connection
        try:
            state = None if driver._query_loggers or driver.is_closed() else driver._stmt_cache.get(
                (sql, driver._protocol.get_record_class(), False))
            if state is None:
                return await driver.fetch(sql, *parameters)
            return await (_BOUND or _bound())(driver, state, parameters)
        except Exception as error:
            adapted._handle_exception(error)
            raise  # _handle_exception always raises

    async def _awaited_many(self, adapted: Any, dialect: Any, rows: Sequence[dict[str, Any]]) -> None:
        """Runs it for each of `rows` in one executemany on the asyncpg connection under SQLAlchemy's adapter; an
        error comes out as the adapter's cursor would raise it."""
        form = self._form(dialect)
        try:
            await adapted.driver_connection.executemany(form.sql, [form.parameters(v) for v in rows])
        except Exception as error:
            adapted._handle_exception(error)

    def _rows(self, dialect: Any, rows: Sequence[Any]) -> list[Any]:
        return list(rows)

    async def execute(self, session: AsyncSession, values: dict[str, Any]) -> list[Any]:
        """run() from async code: straight to the driver when the transaction already holds a connection that never
        waits (or, in a lean transaction, once it holds one), or awaited on asyncpg's own connection once the
        transaction has begun on it, else one trip through SQLAlchemy's async layer. Straight or awaited only while
        the session has nothing to flush."""
        lean: _Lean | None = getattr(session, "gridbot_lean", None)
        if lean is not None and lean.connection is None and _clean(session):
            return await self._on_lean(lean, values)
        sync = session.sync_session
        direct = sync.info.get(_DIRECT)
        if (direct is not None and (transaction := direct[0]()) is not None
                and transaction is sync.get_transaction() and sync._is_clean()):
            if direct[3]:
                if direct[1]._transaction is not None:
                    return await self._awaited(direct[1], direct[2], values)
            else:
                return self._through(direct[1](), direct[2],
                                     lambda cursor, form: cursor.execute(form.sql, form.parameters(values)))
        rows = await session.run_sync(self._open_or_run, values)
        if rows is _OPENED:
            direct = sync.info[_DIRECT]
            return await self._awaited(direct[1], direct[2], values)
        return rows


_BOUND: Callable[[Any, Any, Sequence[Any]], Awaitable[list[Any]]] | None = None  # models.postgres_driver.bound


def _bound() -> Callable[[Any, Any, Sequence[Any]], Awaitable[list[Any]]]:
    """models.postgres_driver.bound, imported at the first statement run on asyncpg (SQLite never imports it)."""
    global _BOUND
    from models.postgres_driver import bound

    _BOUND = bound
    return bound


Deferred = tuple["Prepared", Sequence[Any]]  # a write left for the next statement, with its driver parameters
MAX_FOLDED = 4  # writes left waiting at most, before they go as one statement of their own
_FOLDED: dict[tuple[Any, ...], str] = {}  # (the deferred writes, the statement, the dialect's name) -> its SQL


def _folds(deferred: Sequence[Deferred], form: _DriverForm, dialect: Any) -> bool:
    """Whether the writes can be WITH parts of a statement of this form: a write, and no two parts on one table.
    The parts of one statement see the same snapshot, none another's rows, and run in no promised order (rows
    inserted into one table would not be numbered in the order written: the outbox sends by id)."""
    if not form.foldable:
        return False
    tables = {prepared._form(dialect).writes for prepared, _ in deferred}
    return len(tables) == len(deferred) and form.writes not in tables


def _folded(deferred: tuple[Prepared, ...], main: Prepared, dialect: Any) -> str:
    """The SQL of `main` with the deferred writes as WITH parts, their $n parameters first."""
    key = (*deferred, main, dialect.name)
    sql = _FOLDED.get(key)
    if sql is None:
        parts, offset = [], 0
        for prepared in (*deferred, main):
            form = prepared._form(dialect)
            parts.append(_NUMBERED.sub(lambda number, shift=offset: f"${int(number.group(1)) + shift}", form.sql))
            offset += len(form.sources)  # foldable: its parameters are $1...$n
        sql = _FOLDED[key] = "WITH " + ", ".join(
            f"gridbot_{index} AS ({part})" for index, part in enumerate(parts[:-1])) + " " + parts[-1]
    return sql


async def _run_deferred(adapted: Any, dialect: Any, deferred: Sequence[Deferred]) -> None:
    """Sends writes left waiting, as few statements as can fold together (the last of each the main one)."""
    start = 0
    while start < len(deferred):
        end = start + 1
        while end < len(deferred) and _folds(deferred[start:end], deferred[end][0]._form(dialect), dialect):
            end += 1
        *before, (last, _) = deferred[start:end]
        sql = _folded(tuple(prepared for prepared, _ in before), last, dialect) if before else last._form(dialect).sql
        await last._fetch(adapted, sql, [value for _, given in deferred[start:end] for value in given])
        start = end


async def _on_lean_deferred(lean: _Lean) -> None:
    """Sends the lean transaction's writes left waiting (execute_later), if any."""
    if lean.deferred:
        deferred, lean.deferred = lean.deferred, []
        if lean.fairy is None:
            await greenlet_spawn(lean.open)
        await _run_deferred(lean.fairy.dbapi_connection, lean.dialect, deferred)


def _connection(session: Session) -> Connection:
    session.flush()  # what Session.execute's autoflush would have written first (usually nothing)
    return session.connection()  # begins the session's transaction when it has not yet


def _opened(session: Session, connection: Connection) -> bool:
    """Notes that the session's transaction holds an asyncpg connection whose transaction has begun (BEGIN), so
    that its later statements can be awaited on it; False for any other connection."""
    if not getattr(connection.dialect, AWAITED, False):
        return False
    dbapi: Any = connection.connection.dbapi_connection
    if dbapi._transaction is None:  # autocommit
        return False
    session.info[_DIRECT] = (weakref.ref(session.get_transaction()), dbapi, connection.dialect, True)  # type: ignore[arg-type]
    return True


_OPENED = object()  # _open_or_run's answer when the statement is left for the caller to await


# A dialect attribute: its connections are asyncpg's under SQLAlchemy's adapter, statements may be awaited on them.
AWAITED = "gridbot_awaited"
# Session.info's key for (the root transaction, a cursor factory or asyncpg's adapted connection, the dialect,
# whether it is awaited) of the connection the session's transaction holds.
_DIRECT = "gridbot.direct_driver"


class PreparedQuery(Prepared):
    """A SELECT run for every message, prepared the same way; its rows come back as named tuples with the values
    SQLAlchemy's result processors make of them for the dialect (aware datetimes, enums, decoded JSON)."""

    def __init__(self, statement: Executable, keys: Sequence[str]) -> None:
        super().__init__(lambda insert: statement, keys)
        self._readers: dict[str, tuple[type, tuple[Callable[[Any], Any] | None, ...]]] = {}

    def _compiled(self, dialect: Any, compiled: Any) -> None:
        columns = compiled._result_columns
        self._readers[dialect.name] = (
            collections.namedtuple("PreparedRow", [column.keyname for column in columns]),  # type: ignore[misc]
            tuple(column.type._cached_result_processor(dialect, None) for column in columns))

    def _rows(self, dialect: Any, rows: Sequence[Any]) -> list[Any]:
        row_type, processors = self._readers[dialect.name]
        return [row_type(*(value if read is None else read(value) for value, read in zip(row, processors, strict=True)))
                for row in rows]

    def first(self, session: Session, values: dict[str, Any]) -> Any:
        """The first row (a named tuple), or None."""
        rows = self.run(session, values)
        return rows[0] if rows else None

    async def first_row(self, session: AsyncSession, values: dict[str, Any]) -> Any:
        """first() from async code."""
        rows = await self.execute(session, values)
        return rows[0] if rows else None


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return Sessions(engine, class_=LeanSession, sync_session_class=JoiningSession, expire_on_commit=False)


# A dialect attribute, its LeanDriver: a `sessions.begin()` block on its connections runs lean (_Lean).
LEAN = "gridbot_lean"


@dataclass(frozen=True, slots=True)
class LeanDriver:
    """How a lean transaction begins on a driver's pooled DBAPI connections."""

    begin: Callable[[Any], None]  # begins the transaction (in a greenlet: it may wait)
    joining: Callable[[Any], None]  # readies the connection for SQLAlchemy's Connection to join it, BEGIN unsent
    # Whether committing (True) or rolling back (False) the connection's transaction now cannot wait, so needs no
    # greenlet; None: it always may.
    ends_inline: Callable[[Any, bool], bool] | None = None
    # Ends the transaction to be committed with others (group commit); what it returns is done once it is. None:
    # the driver commits each transaction on its own.
    commit_later: Callable[[Any], Awaitable[None]] | None = None


class _Lean:
    """The transaction of a `sessions.begin()` block on the fast drivers (SQLite's inline one, asyncpg's), held on
    the pooled DBAPI connection itself: checked out and begun (BEGIN IMMEDIATE on SQLite, asyncpg's transaction on
    PostgreSQL) at the block's first statement, committed and checked in at its end, without SQLAlchemy's
    SessionTransaction, Connection and RootTransaction, their state checks and the pool's rollback on return (on
    the front door, a fifth of the CPU per update). Prepared statements run on it straight (on SQLite's cursor,
    awaited on asyncpg's connection). Should ORM work happen in the block, the session joins it (JoiningSession): a
    Connection on the same DBAPI connection, in the same transaction, which SQLAlchemy then commits or rolls back
    as usual."""

    __slots__ = ("engine", "dialect", "driver", "awaited", "fairy", "connection", "deferred", "committed")

    def __init__(self, engine: Any, driver: LeanDriver) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.driver = driver
        self.awaited: bool = getattr(self.dialect, AWAITED, False)
        self.fairy: Any = None  # the pool's checked-out connection, from the first statement on
        self.connection: Connection | None = None  # SQLAlchemy's Connection on it, once ORM work joined
        self.deferred: list[Deferred] = []  # writes left for the next statement (Prepared.execute_later)
        # Once ended by the driver's commit_later: done when the COMMIT it awaits has made it durable. Nothing the
        # block did may be told or sent before (a resident is never told what a crash could lose).
        self.committed: Awaitable[None] | None = None

    def open(self) -> None:
        """Checks a connection out and begins the transaction on it, unless done already (in a greenlet: either may
        wait, for the pool or for another process's write lock)."""
        if self.fairy is not None:
            return
        fairy = self.engine.pool.connect()
        try:
            self.driver.begin(fairy.dbapi_connection)
        except BaseException:
            fairy.close()  # the pool rolls back whatever was begun
            raise
        self.fairy = fairy

    def joined(self) -> Connection:
        """A Connection on the transaction's DBAPI connection, for the session; SQLAlchemy's begin() on it sends no
        BEGIN (the transaction is under way)."""
        if self.connection is None:
            self.open()
            if self.deferred:  # ORM work comes after them: they are sent first
                concurrency.await_(_on_lean_deferred(self))
            self.driver.joining(self.fairy.dbapi_connection)
            self.connection = Connection(self.engine, connection=self.fairy)
        return self.connection

    def ends_inline(self, sync: Session | None, *, commit: bool) -> bool:
        """Whether the block can end (_end_lean) without waiting: no ORM work to commit, nothing left to send, and a
        driver that commits or rolls back this transaction without waiting (or no transaction begun). `sync`: the
        block's Session, None when none was made."""
        if self.connection is not None or self.deferred or (
                sync is not None and (sync._transaction is not None or not sync._is_clean())):
            return False
        ends = self.driver.ends_inline
        return self.fairy is None or (ends is not None and ends(self.fairy.dbapi_connection, commit))

    def close(self, commit: bool) -> None:
        """Commits (or rolls back) the transaction unless the session joined it (then SQLAlchemy has ended it), and
        checks the connection in."""
        deferred, self.deferred = self.deferred, []
        failed: BaseException | None = None
        if commit and deferred and self.connection is None:
            try:
                self.open()  # writes left waiting may be all the transaction did
                concurrency.await_(_run_deferred(self.fairy.dbapi_connection, self.dialect, deferred))
            except BaseException as error:
                failed, commit = error, False
        fairy, connection = self.fairy, self.connection
        self.fairy = self.connection = None
        if connection is not None:
            connection.close()
        elif fairy is not None:
            try:
                if commit and self.driver.commit_later is not None:
                    self.committed = self.driver.commit_later(fairy.dbapi_connection)
                elif commit:
                    fairy.dbapi_connection.commit()
                else:
                    fairy.dbapi_connection.rollback()
            except BaseException:
                fairy.close()  # the pool rolls back what the failed commit left
                raise
            fairy._close_special(transaction_reset=True)
        if failed is not None:
            raise failed


class JoiningSession(Session):
    """The sync session of LeanSession: in a lean transaction (_Lean) its connection is the lean transaction's."""

    gridbot_lean: _Lean | None = None

    def _connection_for_bind(self, engine: Any, execution_options: Any = None, **kw: Any) -> Connection:
        lean = self.gridbot_lean
        if lean is not None and engine is lean.engine:
            transaction = self._transaction or self._autobegin_t()
            if engine not in transaction._connections:
                return transaction._connection_for_bind(lean.joined(), execution_options)
        return super()._connection_for_bind(engine, execution_options, **kw)

    def flush(self, objects: Any = None) -> None:
        if self.gridbot_lean is not None and not self._is_clean():  # the unit of work asks the transaction itself
            self.connection()
        super().flush(objects)

    def commit(self) -> None:
        if self.gridbot_lean is not None:  # the lean transaction's statements are the session's to commit
            self.connection()
        super().commit()


class LeanSession(AsyncSession):
    """An AsyncSession whose sync Session is made on first use, and whose `async with` closes it in one trip through
    the async layer, in a task of its own only when the close has to wait (SQLAlchemy's always starts one: on
    SQLite's inline driver it never waits).

    A lean transaction's prepared statements (Prepared) need no Session: most front-door transactions never make
    one (an AsyncSession with its Session, their weak references and identity map, and their close were 50k
    instructions a transaction). Everything else reads sync_session, which makes it as AsyncSession's constructor
    would have, joined to the lean transaction under way."""

    gridbot_lean: _Lean | None = None  # the `sessions.begin()` block's lean transaction, while it runs
    _made: JoiningSession | None = None

    def __init__(self, bind: Any = None, **kw: Any) -> None:
        self._arguments = (bind, kw)
        self._async_bind = bind
        self._async_binds = {}

    @property  # type: ignore[override]
    def sync_session(self) -> Session:
        made = self._made
        if made is None:
            bind, kw = self._arguments
            AsyncSession.__init__(self, bind, **kw)  # assigns sync_session (below), as SQLAlchemy's would
            made = self._made
            if isinstance(made, JoiningSession):
                made.gridbot_lean = self.gridbot_lean
        return made  # type: ignore[return-value]

    @sync_session.setter
    def sync_session(self, made: Session) -> None:
        self._made = made  # type: ignore[assignment]

    _proxied = sync_session  # AsyncSession's proxied methods and attributes read it

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kw: Any) -> Any:
        if self._made is None and mapper is None and clause is None and bind is None and not kw and isinstance(
                self._async_bind, AsyncEngine):
            return self._async_bind.sync_engine  # what the Session would answer: its bind
        return super().get_bind(mapper, clause, bind, **kw)

    async def close(self) -> None:
        if self._made is not None:
            await super().close()

    async def __aexit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if self._made is not None:
            await _to_completion(self._made.close)


def _clean(session: AsyncSession) -> bool:
    """Whether the session has no ORM work to flush (none when no Session was made)."""
    made = session._made if isinstance(session, LeanSession) else session.sync_session
    return made is None or made._is_clean()


class Sessions(async_sessionmaker[AsyncSession]):
    """SQLAlchemy's async_sessionmaker, whose begin() commits (or rolls back) and closes in one trip through the
    async layer where SQLAlchemy's takes three and two tasks (begin's trip is not needed: it does no I/O). The
    front door runs a transaction or two per update: this is a few per cent of its CPU."""

    def begin(self) -> _Transaction:  # type: ignore[override]
        return _Transaction(self())


class _Transaction:
    """`async with sessions.begin() as session`: the session's transaction, committed at the end of the block (or
    rolled back on an error in it), then the session closed, as SQLAlchemy's sessionmaker.begin() does."""

    __slots__ = ("session", "transaction")

    transaction: Any

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def __aenter__(self) -> AsyncSession:
        session = self.session
        if isinstance(session, LeanSession) and session._made is None and issubclass(
                session._arguments[1].get("sync_session_class", Session), JoiningSession):
            engine = session.get_bind()
            driver = getattr(engine.dialect, LEAN, None)
            if driver is not None:
                session.gridbot_lean = _Lean(engine, driver)  # no I/O: the connection comes with the first statement
                return session
        sync = session.sync_session
        self.transaction = sync.begin()  # no I/O: the connection comes with the first statement
        self.transaction.__enter__()
        return self.session

    async def __aexit__(self, kind: Any, error: Any, traceback: Any) -> None:
        session = self.session
        lean = getattr(session, "gridbot_lean", None)
        if lean is not None:
            if lean.ends_inline(session._made, commit=kind is None):  # nothing to wait for: no trip through the async layer
                _end_lean(session, lean, commit=kind is None)
            else:
                await _to_completion(lambda: _end_lean(session, lean, commit=kind is None))
            if lean.committed is not None:  # the block returns once its rows are durable
                await lean.committed
            return
        sync = session.sync_session
        transaction = self.transaction

        def end() -> None:
            try:
                transaction.__exit__(kind, error, traceback)
            finally:
                sync.close()

        await _to_completion(end)


def _end_lean(session: LeanSession, lean: _Lean, *, commit: bool) -> None:
    """The end of a lean `sessions.begin()` block: the session's ORM work flushed and committed (or rolled back)
    with the lean transaction it joined, or the lean transaction ended alone; then the connection checked in."""
    sync = session._made
    try:
        if sync is not None and (sync._transaction is not None or not sync._is_clean()):
            if commit:
                sync.commit()  # flushes, joining the lean transaction first
            else:
                sync.rollback()
    except BaseException:
        commit = False
        raise
    finally:
        session.gridbot_lean = None
        if sync is not None:
            sync.gridbot_lean = None
        try:
            lean.close(commit)
        finally:
            if sync is not None and (sync._transaction is not None or sync.identity_map or sync._new or sync._deleted):
                sync.close()


async def _to_completion(work: Callable[[], Any]) -> Any:
    """Runs sync database work as greenlet_spawn does, and, from its first wait on, in a task the caller's
    cancellation cannot interrupt (as SQLAlchemy's own cleanup runs): a commit and close must not stop halfway."""
    shim = concurrency._concurrency_shim
    context = shim._AsyncIoGreenlet(work, shim.getcurrent())
    awaited = context.switch()
    if context.dead:  # done without waiting: nothing a cancellation could have cut short
        return awaited
    return await async_base._run_to_completion(_resume(context, awaited))


async def _resume(context: Any, awaited: Any) -> Any:
    """greenlet_spawn's loop from a greenlet's first wait: each awaitable it hands over is awaited for it."""
    while not context.dead:
        try:
            value = await awaited
        except BaseException:
            awaited = context.throw(*sys.exc_info())
        else:
            awaited = context.switch(value)
    return awaited


def alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


_REVISION = re.compile(r"^(down_)?revision\b[^=]*=\s*(.+)$", re.MULTILINE)


def head_revisions() -> set[str]:
    """The migrations' heads, read from the version files' own `revision` / `down_revision` lines."""
    revisions: set[str] = set()
    below: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (below if down else revisions).update(re.findall(r"['\"]([^'\"]+)['\"]", value))
    return revisions - below


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Applies the Alembic migrations up to `revision` over the engine's own connection. A database already at
    the head is left alone without importing Alembic (with Mako and Pygments, 11.5 MiB a process keeps)."""

    def _upgrade(connection: Connection) -> None:
        if revision == "head" and _current(connection) == head_revisions():
            return
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def _current(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())

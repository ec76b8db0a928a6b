"""Engine and session factory for SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL, and the migration runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql import Executable

from models.pool import FairAsyncPool
from models.sqlite_driver import inline_dbapi

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    """Creates the async engine; SQLite gets WAL, a busy timeout and write transactions that lock up front."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer anyway, and queueing on the pool is fair and cheap where
        # queueing on the file lock means busy-sleeping in the driver.
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, pool_size=1, max_overflow=0,
                                     pool_timeout=60, module=inline_dbapi(), poolclass=FairAsyncPool)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True,
                               poolclass=FairAsyncPool)


def _configure_sqlite(engine: AsyncEngine) -> None:
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

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Applies the Alembic migrations up to `revision` over the engine's own connection."""

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)

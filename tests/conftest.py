"""Shared fixtures: every database test runs on SQLite and on PostgreSQL (the latter required under CI)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models import Base
from models.db import create_engine, migrate, session_factory
from tests.harness import TEST_DRIVERS

PG_ADMIN_DSN = os.environ.get("GRIDBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, object] = {}
_sqlite_template: dict[str, Path] = {}


async def _pg_unavailable_reason() -> str | None:
    if "reason" not in _pg_state:
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
            await conn.close()
            _pg_state["reason"] = None
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _pg_state["reason"] = f"PostgreSQL at {PG_ADMIN_DSN} unreachable: {exc}"
    return _pg_state["reason"]  # type: ignore[return-value]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        metafunc.parametrize("db_backend", ["sqlite", "postgres"])


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


async def _fresh_pg_database() -> str:
    """Creates an empty database for one test and returns its URL; dropped at the end of the session."""
    return _pg_url(await _create_pg_database())


async def _create_pg_database() -> str:
    """Creates a database (the migrated template's copy once there is one) and returns its name."""
    name = f"gridbot_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        template = _pg_state.get("template")
        if template:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    _pg_state.setdefault("created", []).append(name)  # type: ignore[union-attr]
    return name


async def _pg_template() -> None:
    if _pg_state.get("template"):
        return
    name = await _create_pg_database()
    engine = create_engine(_pg_url(name), drivers=TEST_DRIVERS)
    await migrate(engine)
    await engine.dispose()
    conn = await asyncpg.connect(_pg_dsn(name))
    try:
        _pg_state["schema"] = await _schema_fingerprint(conn)
        # Reuse empties every table but Alembic's: only sound while the migrations leave no other rows.
        tables = [row[0] for row in await conn.fetch(_TABLES)]
        seeded = " UNION ALL ".join(f'SELECT 1 FROM (SELECT 1 FROM "{table}" LIMIT 1) AS seeded' for table in tables)
        _pg_state["reusable"] = not (seeded and await conn.fetchval(seeded))
    finally:
        await conn.close()
    _pg_state["template"] = name


def _pg_dsn(name: str) -> str:
    return f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


def _pg_url(name: str) -> str:
    """The database's SQLAlchemy URL (asyncpg)."""
    return _pg_dsn(name).replace("postgresql://", "postgresql+asyncpg://", 1)


# Each CREATE DATABASE copies the 10 MB template into the WAL and each DROP DATABASE waits for a checkpoint, so
# a database per test cost the suite minutes on a loaded machine: a test's database is emptied and handed to the
# worker's next test instead, unless the test changed its schema.
_SCHEMA = """
SELECT coalesce(string_agg(c.relname || ':' || c.relkind::text || ':' || c.relnatts::text, ',' ORDER BY c.relname), '')
       || '|' || (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)
       || '|' || (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'public')
       || '|' || (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                  WHERE n.nspname = 'public')
       || '|' || coalesce((SELECT string_agg(version_num, ',') FROM alembic_version), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
"""
_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"


async def _schema_fingerprint(conn: asyncpg.Connection) -> str:
    try:
        return await conn.fetchval(_SCHEMA)
    except asyncpg.UndefinedTableError:  # a test dropped alembic_version
        return ""


async def _pg_lease() -> str:
    """A migrated, empty PostgreSQL database for one test: one a finished test gave back, or a new one."""
    await _pg_template()
    free: list[str] = _pg_state.setdefault("free", [])  # type: ignore[assignment]
    if free:
        return free.pop()
    return await _create_pg_database()


async def _pg_give_back(name: str) -> None:
    """Empties a finished test's database for the next one; one whose schema the test changed is left to be
    dropped at the end of the session."""
    if not _pg_state.get("reusable"):
        return
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:  # what the test left connected (a stopped service's pool) would hold locks on the tables
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await admin.close()
    conn = await asyncpg.connect(_pg_dsn(name))
    try:
        if await _schema_fingerprint(conn) != _pg_state["schema"]:
            return
        tables = ", ".join(f'"{row[0]}"' for row in await conn.fetch(_TABLES))
        async with conn.transaction():
            await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            for (sequence,) in await conn.fetch(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
                await conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')
    finally:
        await conn.close()
    _pg_state.setdefault("free", []).append(name)  # type: ignore[union-attr]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    created = _pg_state.get("created") or []
    if not created:
        return
    import asyncio

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            for name in reversed(created):  # type: ignore[union-attr]
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture
async def database_url(db_backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database of the requested backend."""
    if db_backend == "postgres":
        reason = await _pg_unavailable_reason()
        if reason:
            if os.environ.get("CI") == "true":
                pytest.fail(f"the PostgreSQL leg must run under CI: {reason}")
            pytest.skip(reason)
        name = await _pg_lease()
        yield _pg_url(name)
        await _pg_give_back(name)
        return
    if "path" not in _sqlite_template:
        template = Path(os.environ.get("PYTEST_TMPDIR", tmp_path.parent)) / f"template-{uuid.uuid4().hex}.db"
        engine = create_engine(f"sqlite+aiosqlite:///{template}", drivers=TEST_DRIVERS)
        await migrate(engine)
        await engine.dispose()
        _sqlite_template["path"] = template
    target = tmp_path / "gridbot.db"
    shutil.copyfile(_sqlite_template["path"], target)
    yield f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, drivers=TEST_DRIVERS)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


async def table_counts(engine: AsyncEngine) -> dict[str, int]:
    """Row counts of every table, for asserting that a refused request wrote nothing."""
    counts = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = (await conn.execute(text(f'SELECT count(*) FROM "{table.name}"'))).scalar_one()
    return counts

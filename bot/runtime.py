"""Start-up and shutdown of the core: engine, migrations, services, dispatcher and the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import signal
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock
from bot.jobs.workdays import warn_if_uncovered
from bot.pipeline.dispatcher import Dispatcher
from bot.services import Services, build_services
from config.settings import Settings
from handlers import build_router
from models.db import create_engine, migrate, session_factory

log = logging.getLogger("gridbot")


@dataclass
class Runtime:
    engine: AsyncEngine
    services: Services
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.engine.dispose()


async def start(settings: Settings, clock: Clock | None = None, *, load_demo_if_empty: bool = True) -> Runtime:
    """Migrates the database, loads rules and the grid, and wires the dispatcher."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, drivers=settings.database_drivers,
                           pool_size=settings.database_pool_size)
    try:
        async with start_lock(engine):
            await migrate(engine)
            services = await build_services(settings, clock, session_factory(engine),
                                            load_demo_if_empty=load_demo_if_empty)
    except BaseException:
        await engine.dispose()
        raise
    warn_if_uncovered(settings, clock.now())
    return Runtime(engine, services, Dispatcher(services, build_router()))


START_LOCK = 7_246_010  # the PostgreSQL advisory lock key under which processes migrate and load the district


@contextlib.asynccontextmanager
async def start_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """One starting process at a time migrates and loads the first district (several instances started together
    on a fresh PostgreSQL database would otherwise race on alembic_version and grid_unit). SQLite's write lock
    already serialises them."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": START_LOCK})
        await holder.commit()  # the lock is the session's, not the transaction's: release the snapshot
        try:
            yield
        finally:
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": START_LOCK})
            await holder.commit()


def run_on_loop(settings: Settings, main: Coroutine[Any, Any, int]) -> int:
    """Runs a long-lived command on uvloop where installed and not turned off (GRIDBOT_EVENT_LOOP=asyncio)."""
    if settings.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("uvloop is not installed: running on asyncio's own event loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def event_loop_name() -> str:
    """The running event loop's implementation, uvloop or asyncio, as start-up logs it."""
    return type(asyncio.get_running_loop()).__module__.split(".", 1)[0]


def freeze_startup_heap() -> None:
    """Puts what start-up built (the rules index, pinyin tables, the grid directory) out of the collector's reach.

    That heap lives as long as the process, and every full collection would walk all of it again: pauses of
    about 100 ms in the middle of requests, measured in bench/wecom_callback.py. For long-running processes only
    (serve, scheduler); what start-up left as garbage is collected first.
    """
    gc.collect()
    gc.freeze()
    release_free_heap()


def release_free_heap() -> None:
    """Hands the heap start-up freed (its transient objects: about 2 MiB of serve's RSS with the synthetic district)
    back to the system, where glibc's malloc would keep it mapped for reuse; elsewhere nothing to do."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def until_stopped() -> str:
    """Waits for SIGTERM or SIGINT and returns its name (a deploy's stop, or Ctrl-C)."""
    loop = asyncio.get_running_loop()
    received: asyncio.Future[str] = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda s=signum: received.done() or received.set_result(signal.Signals(s).name))
    try:
        return await received
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def shut_down(runner: web.AppRunner) -> None:
    """Graceful shutdown, in aiohttp's order: the listener closes; the app's on_shutdown hooks run (channels stop
    taking updates: the webhook answers 503 so the platform retries, polling stops; the delivery runner and the
    scheduler stop, handing back rows they claimed and did not send); requests in flight get the runner's
    shutdown_timeout to finish; then the channels' clients close (on_cleanup)."""
    await runner.cleanup()

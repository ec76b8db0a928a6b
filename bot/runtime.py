"""Start-up and shutdown of the core: engine, migrations, services, dispatcher, in one place."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock
from bot.pipeline.dispatcher import Dispatcher
from bot.services import Services, build_services
from config.settings import Settings
from handlers import build_router
from models.db import create_engine, migrate, session_factory


@dataclass
class Runtime:
    engine: AsyncEngine
    services: Services
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.engine.dispose()


async def start(settings: Settings, clock: Clock | None = None, *, load_demo_if_empty: bool = True) -> Runtime:
    """Migrates the database, loads rules and the grid, and wires the dispatcher."""
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        services = await build_services(settings, clock or SystemClock(), session_factory(engine),
                                        load_demo_if_empty=load_demo_if_empty)
    except BaseException:
        await engine.dispose()
        raise
    return Runtime(engine, services, Dispatcher(services, build_router()))


def freeze_startup_heap() -> None:
    """Puts what start-up built (the rules index, pinyin tables, the grid directory) out of the collector's reach.

    That heap lives as long as the process, and every full collection would walk all of it again: pauses of
    about 100 ms in the middle of requests, measured in bench/wecom_callback.py. For long-running processes only
    (serve, scheduler); what start-up left as garbage is collected first.
    """
    gc.collect()
    gc.freeze()

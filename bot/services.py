"""The service core's dependencies, built once at start and passed to the dispatcher and handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.appointments.stations import Network, load_network
from bot.clock import Clock
from bot.grid.catalogue import Catalogue, load_catalogue
from bot.grid.directory import GridDirectory
from bot.grid.district import load_district
from bot.jobs.workdays import WorkCalendar
from bot.understanding.classifier import ReloadingClassifier
from config.settings import Settings
from models import GridUnit


@dataclass
class Services:
    settings: Settings
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    classifier: ReloadingClassifier
    directory: GridDirectory
    catalogue: Catalogue
    network: Network  # stations, roaming desks and booking terms (预约办事)
    calendar: WorkCalendar  # working days, public holidays and make-up days

    @property
    def duplicate_window(self) -> timedelta:
        return timedelta(hours=self.settings.duplicate_window_hours)

    async def reload_directory(self) -> None:
        """Rebuilds the in-memory grid after units change (district load, group binding)."""
        async with self.sessions() as session:
            self.directory = await GridDirectory.load(session)


async def build_services(
    settings: Settings, clock: Clock, sessions: async_sessionmaker[AsyncSession], *, load_demo_if_empty: bool = True
) -> Services:
    """Loads rules, the service catalogue and the grid; an empty database gets the configured district."""
    classifier = ReloadingClassifier(settings.rules_path)
    catalogue = load_catalogue(settings.services_path)
    network = load_network(settings.services_path)
    async with sessions.begin() as session:
        if load_demo_if_empty and not await session.scalar(select(func.count()).select_from(GridUnit)):
            await load_district(session, settings.district_path, now=clock.now())
    async with sessions() as session:
        directory = await GridDirectory.load(session)
    return Services(settings, clock, sessions, classifier, directory, catalogue, network,
                    WorkCalendar.from_settings(settings))

"""The service core's dependencies, built once at start and passed to the dispatcher and handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.appointments.stations import Network, load_network
from bot.clock import Clock
from bot.community.claimers import load_district_claimers
from bot.grid.catalogue import Catalogue, load_catalogue
from bot.grid.directory import GridDirectory
from bot.grid.district import load_district
from bot.grid.version import grid_version
from bot.jobs.workdays import WorkCalendar
from bot.understanding.classifier import ReloadingClassifier
from bot.understanding.offers import offer_evidence
from config.settings import Settings
from models import GridUnit

DIRECTORY_CHECK = timedelta(seconds=5)  # how stale the grid may be after a district is loaded elsewhere


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
    directory_version: int = 0
    directory_checked_at: datetime | None = None
    day_figures_folded_to: int = 0  # case_day_figures' rows up to this id were folded by this process's last sweep

    @property
    def duplicate_window(self) -> timedelta:
        return timedelta(hours=self.settings.duplicate_window_hours)

    async def reload_directory(self) -> None:
        """Rebuilds the in-memory grid from the database, noting the grid version it reflects."""
        async with self.sessions() as session:
            version = await grid_version(session)
            self.directory = await GridDirectory.load(session)
        self.directory_version, self.directory_checked_at = version, self.clock.now()

    async def refresh_directory(self) -> None:
        """Reloads the grid when another process (`run.py seed`) changed it; looks at most every DIRECTORY_CHECK."""
        now = self.clock.now()
        if self.directory_checked_at is not None and now - self.directory_checked_at < DIRECTORY_CHECK:
            return
        # Noted before the query: the messages arriving meanwhile would each run it too.
        self.directory_checked_at = now
        async with self.sessions() as session:
            version = await grid_version(session)
        if version != self.directory_version:
            await self.reload_directory()


async def build_services(
    settings: Settings, clock: Clock, sessions: async_sessionmaker[AsyncSession], *, load_demo_if_empty: bool = True
) -> Services:
    """Loads rules, the service catalogue and the grid; an empty database gets the configured district."""
    classifier = ReloadingClassifier(settings.rules_path)
    offer_evidence(classifier.current())  # its ten thousand words take most of a second: read now, not on a message
    catalogue = load_catalogue(settings.services_path)
    network = load_network(settings.services_path)
    async with sessions.begin() as session:
        if load_demo_if_empty and not await session.scalar(select(func.count()).select_from(GridUnit)):
            await load_district(session, settings.district_path, now=clock.now())
            await load_district_claimers(session, settings.district_path, now=clock.now())
    services = Services(settings, clock, sessions, classifier, GridDirectory(()), catalogue, network,
                        WorkCalendar.from_settings(settings))
    await services.reload_directory()
    return services

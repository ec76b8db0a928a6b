"""The wish wall (微心愿) and the community's projects (为民办十件实事) for a public page, from bot.community."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.community.publishing import community_projects, published_wishes
from bot.grid.directory import UnitRef
from bot.services import Services
from bot.web.public.pages import PublicSection
from models import UnitLevel

WALL_SIZE = 30


def wishes_section(services: Services) -> PublicSection:
    """A public-page section: the unit's published wishes with their progress, and a community's projects."""

    async def section(session: AsyncSession, unit: UnitRef, now: datetime) -> dict[str, Any] | None:
        wishes = await published_wishes(session, services.directory, unit.id, limit=WALL_SIZE)
        year = now.astimezone(services.settings.tz).year
        projects = (await community_projects(session, unit.id, year)
                    if unit.level is UnitLevel.COMMUNITY else [])
        return {"wishes": wishes, "projects": projects, "year": year} if wishes or projects else None

    return section

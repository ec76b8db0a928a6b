"""The roaming service desks' rota (流动办公桌) for a public page: where each desk sits in the coming week."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.grid.directory import UnitRef
from bot.services import Services
from bot.web.public.pages import PublicSection

DAYS = 7
WEEKDAYS = "一二三四五六日"


def rota_section(services: Services) -> PublicSection:
    """A public-page section listing the roaming desks' visits inside a unit over the next week."""

    async def section(session: AsyncSession, unit: UnitRef, now: datetime) -> dict[str, Any] | None:
        today = now.astimezone(services.settings.tz).date()
        visits = []
        for offset in range(DAYS):
            day = today + timedelta(days=offset)
            for station in services.network.stations:
                if not station.roaming:
                    continue
                for opening in station.openings(day, services.calendar):
                    place = services.directory.by_code(opening.unit_code)
                    if place is None or not unit.contains(place):
                        continue
                    hours = "、".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in opening.periods)
                    visits.append({"day": f"{day:%m-%d} 周{WEEKDAYS[day.weekday()]}", "place": place.name,
                                   "desk": station.name, "hours": hours + ("（延时服务）" if opening.extended else "")})
        return {"visits": visits} if visits else None

    return section

"""Where an Open311 request is: a unit code, words the grid directory can place, or the nearest unit to a point."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.grid.directory import GridDirectory, UnitRef, building_mention, compact
from bot.web.open311.formats import Open311Error
from models import GridUnit, UnitLevel

EARTH_KM = 6371.0
MAX_KM = 5.0  # farther than this from every located unit is outside the district


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float

    def km_to(self, other: Point) -> float:
        """Great-circle distance (haversine)."""
        p1, p2 = math.radians(self.latitude), math.radians(other.latitude)
        dp, dl = p2 - p1, math.radians(other.longitude - self.longitude)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


class UnitPoints:
    """The units the district file gave coordinates, read once per directory (a reseed builds a new one)."""

    def __init__(self) -> None:
        self._for: GridDirectory | None = None
        self._points: dict[int, Point] = {}

    async def located(self, session: AsyncSession, directory: GridDirectory) -> dict[int, Point]:
        """Every unit that has coordinates, by id."""
        if self._for is not directory:
            rows = await session.execute(select(GridUnit.id, GridUnit.latitude, GridUnit.longitude)
                                         .where(GridUnit.latitude.is_not(None), GridUnit.longitude.is_not(None)))
            self._points = {row.id: Point(row.latitude, row.longitude) for row in rows}
            self._for = directory
        return self._points

    async def nearest(self, session: AsyncSession, directory: GridDirectory, point: Point) -> UnitRef | None:
        """The located unit nearest the point, within MAX_KM."""
        located = await self.located(session, directory)
        best = min(located.items(), key=lambda item: point.km_to(item[1]), default=None)
        if best is None or point.km_to(best[1]) > MAX_KM:
            return None
        try:
            return directory.unit(best[0])
        except KeyError:
            return None


def refine_building(directory: GridDirectory, unit: UnitRef, words: str) -> UnitRef:
    """A building named in the words (3号楼), when the unit is its compound."""
    mention = building_mention(compact(words))
    if mention is None or unit.level is not UnitLevel.GRID:
        return unit
    return directory.find_building(unit, mention[0]) or unit


async def place_request(session: AsyncSession, directory: GridDirectory, points: UnitPoints, *,
                        address_id: str | None, address_string: str | None, point: Point | None,
                        building: str | None) -> UnitRef:
    """The unit of a request, from the most exact location it gives; 400 when none places it in the district."""
    unit: UnitRef | None = None
    if address_id:
        unit = directory.by_code(address_id)
        if unit is None:
            raise Open311Error(400, f"address_id {address_id!r} is not a unit of this jurisdiction")
    if unit is None and address_string:
        located = directory.locate(address_string, group_unit=None, home_unit=None)
        unit = located.unit if located else None
    if unit is None and point is not None:
        unit = await points.nearest(session, directory, point)
    if unit is None:
        raise Open311Error(400, "the location (lat/long, address_string or address_id) is not in this jurisdiction")
    return refine_building(directory, unit, building or address_string or "")

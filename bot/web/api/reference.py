"""The JSON API's reference data: categories, grid units, and the figures leaders read."""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.figures import case_figures
from bot.services import Services
from bot.web.api.access import ApiError, ApiScope
from bot.web.api.schema import CategoryOut, StatisticsFilters, StatisticsOut, UnitOut


def categories(services: Services) -> list[CategoryOut]:
    """Every category of the live rules."""
    return [CategoryOut(code=c.code, name=c.name, kinds=sorted(c.kinds), role=c.role, department=c.department,
                        department_only=c.department_only, sla_accept_hours=c.sla_accept_hours,
                        sla_resolve_hours=c.sla_resolve_hours)
            for c in services.classifier.current().rules.categories]


def units(services: Services, scope: ApiScope) -> list[UnitOut]:
    """The grid units in the caller's scope, parents before children."""
    directory = services.directory
    top = scope.unit
    chosen = [u for u in directory.units() if top is None or top.contains(u)]
    codes = {u.id: u.code for u in directory.units()}
    chosen.sort(key=lambda u: (u.level.depth, u.code))
    return [UnitOut(code=u.code, name=u.name, level=u.level.value, parent_code=codes.get(u.parent_id))
            for u in chosen]


async def statistics(session: AsyncSession, services: Services, scope: ApiScope,
                     filters: StatisticsFilters) -> StatisticsOut:
    """The figures of a unit within the caller's scope, for cases filed in [since, until)."""
    unit = scope.unit
    if filters.unit:
        unit = services.directory.by_code(filters.unit)
        if unit is None:
            raise ApiError(404, "not_found", f"no unit with code {filters.unit!r}")
        if scope.unit is not None and not scope.unit.contains(unit):
            raise ApiError(404, "not_found", f"no unit with code {filters.unit!r} in this key's scope")
    figures = await case_figures(session, unit_path=unit.path if unit else "/", since=filters.since,
                                 until=filters.until)
    roots = services.directory.units()
    code = unit.code if unit else (min(roots, key=lambda u: u.level.depth).code if roots else "")
    return StatisticsOut(unit_code=code, since=filters.since, until=filters.until,
                         figures=dataclasses.asdict(figures))

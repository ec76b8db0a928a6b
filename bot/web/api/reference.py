"""The JSON API's reference data: categories, grid units, and the figures leaders read."""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.figures import cases_by_status, figures_for
from bot.community.publishing import community_projects, published_wishes
from bot.grid.directory import UnitRef
from bot.services import Services
from bot.web.api.access import ApiError, ApiScope
from bot.web.api.schema import (
    CategoryOut,
    ProjectFilters,
    ProjectOut,
    StatisticsFilters,
    StatisticsOut,
    UnitOut,
    WishFilters,
    WishOut,
)
from models import UnitLevel


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
    path = unit.path if unit else "/"
    counted = await figures_for(session, unit_path=path, since=filters.since, until=filters.until)
    by_status = await cases_by_status(session, unit_path=path, since=filters.since, until=filters.until)
    figures = {**dataclasses.asdict(counted), "total": counted.cases,
               "by_status": {status.value: n for status, n in by_status.items()},
               "closure_rate": counted.closure_rate, "response_rate": counted.response_rate,
               "on_time_rate": counted.on_time_rate, "satisfaction": counted.satisfaction,
               "mean_hours_to_accept": counted.mean_accept_hours, "mean_hours_to_resolve": counted.mean_resolve_hours}
    roots = services.directory.units()
    code = unit.code if unit else (min(roots, key=lambda u: u.level.depth).code if roots else "")
    return StatisticsOut(unit_code=code, since=filters.since, until=filters.until,
                         figures=figures)


def _unit_in_scope(services: Services, scope: ApiScope, code: str | None) -> UnitRef | None:
    """The unit a query names, within the caller's scope; 404 for one outside it."""
    if not code:
        return scope.unit
    unit = services.directory.by_code(code)
    if unit is None or (scope.unit is not None and not scope.unit.contains(unit)):
        raise ApiError(404, "not_found", f"no unit with code {code!r} in this key's scope")
    return unit


async def wishes(session: AsyncSession, services: Services, scope: ApiScope, filters: WishFilters) -> list[WishOut]:
    """The published wishes of a unit's subtree, as the public wish wall shows them."""
    unit = _unit_in_scope(services, scope, filters.unit)
    root = unit or min(services.directory.units(), key=lambda u: u.level.depth)
    return [WishOut.model_validate(w) for w in await published_wishes(session, services.directory, root.id,
                                                                      limit=filters.limit)]


async def projects(session: AsyncSession, services: Services, scope: ApiScope,
                   filters: ProjectFilters) -> list[ProjectOut]:
    """A community's projects of a year with their progress."""
    unit = _unit_in_scope(services, scope, filters.community)
    if unit is None or unit.level is not UnitLevel.COMMUNITY:
        raise ApiError(404, "not_found", f"{filters.community!r} is not a community in this key's scope")
    return [ProjectOut.model_validate(p) for p in await community_projects(session, unit.id, filters.year)]

"""Who is calling the JSON API and which cases they may see: an integration's unit subtree, or a staff scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.scope import case_filter, may_see, scope_unit, subtree_clause
from bot.grid.directory import GridDirectory, UnitRef
from bot.pipeline.identities import Actor
from bot.web.keys import Caller, caller_of
from models import Staff


class ApiError(Exception):
    """A request answered with an error body: HTTP status, stable code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class ApiScope:
    """The cases a caller may see: an integration's unit subtree, or a staff member's own key with the staff
    dashboard's scope (bot.cases.scope, the one rule for lists, pages and exports); staff keys may also act."""

    caller: Caller
    actor: Actor | None  # the staff member behind a staff key
    unit: UnitRef | None  # the top of what the caller sees; None sees the whole district
    directory: GridDirectory

    def where(self) -> ColumnElement[bool]:
        """The SQL filter of the caller's cases."""
        if self.actor is not None:
            return case_filter(self.directory, self.actor)
        return subtree_clause(self.directory, self.unit) if self.unit else true()

    def sees(self, case: Any) -> bool:
        """The per-case form of `where`, for a case already loaded."""
        if self.actor is not None:
            return may_see(self.directory, self.actor, case)
        return self.unit is None or case.unit_path.startswith(self.unit.path)


def presented_key(request: web.Request) -> str | None:
    """The key from `Authorization: Bearer …` or `X-API-Key`."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("X-API-Key")


async def scope_of(session: AsyncSession, directory: GridDirectory, request: web.Request) -> ApiScope:
    """The caller's scope, or 401 when the key is missing, unknown or revoked."""
    caller = await caller_of(session, presented_key(request))
    if caller is None:
        raise ApiError(401, "unauthorized", "send a valid API key: Authorization: Bearer <key>")
    if caller.staff_id is None:
        unit = _unit(directory, caller.unit_id)
        if caller.unit_id is not None and unit is None:
            raise ApiError(403, "forbidden", "the unit this key was limited to no longer exists")
        return ApiScope(caller, None, unit, directory)
    staff = await session.get(Staff, caller.staff_id)
    if staff is None:
        raise ApiError(401, "unauthorized", "the staff member of this key no longer exists")
    actor = Actor("staff", staff.id, staff.name, 0, staff.role, staff.unit_id, staff.department)
    return ApiScope(caller, actor, scope_unit(directory, actor), directory)


def _unit(directory: GridDirectory, unit_id: int | None) -> UnitRef | None:
    if unit_id is None:
        return None
    try:
        return directory.unit(unit_id)
    except KeyError:
        return None

"""Routing as data: which staff member, department or triage queue a case goes to, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.grid.directory import GridDirectory, UnitRef
from models import Case, Staff, StaffRole, UnitLevel
from models.cases import OPEN_STATUSES
from models.db import PreparedQuery

if TYPE_CHECKING:
    from bot.understanding.rules import Category

GRID_ROLES = {StaffRole.GRID_WORKER, StaffRole.BUILDING_LEAD, StaffRole.HOUSEHOLD_LEAD}
TRIAGE_ROLES = (StaffRole.COMMUNITY_SECRETARY, StaffRole.COMMUNITY_STAFF, StaffRole.STREET_OFFICER)


@dataclass(frozen=True, slots=True)
class Responsibility:
    """Who a kind of matter belongs to, as the rules or the service catalogue say."""

    role: str | None
    department: str | None
    department_only: bool


@dataclass(frozen=True, slots=True)
class StaffRef:
    """A staff member as routing sees them, with the open cases they hold when they were looked up."""

    id: int
    code: str
    name: str
    role: StaffRole
    unit_id: int
    department: str | None
    open_cases: int = 0

    @classmethod
    def of(cls, staff: Staff) -> StaffRef:
        return cls(staff.id, staff.code, staff.name, staff.role, staff.unit_id, staff.department)


@dataclass(frozen=True, slots=True)
class Assignment:
    """The routing decision: a staff member, or a triage queue when nobody fits; `reason` goes to the audit trail."""

    staff: StaffRef | None
    department: str | None
    queue_unit: UnitRef | None
    reason: str


def category_duty(category: Category) -> tuple[Responsibility, float, float]:
    """Who a category's cases belong to, with its SLA hours (accept, resolve): the rules file's one answer."""
    return (Responsibility(category.role, category.department, category.department_only),
            category.sla_accept_hours, category.sla_resolve_hours)


def triage_unit(directory: GridDirectory, unit: UnitRef) -> UnitRef:
    """The community (or the nearest unit above it) whose staff triage what rules could not place."""
    return directory.ancestor_at(unit, UnitLevel.COMMUNITY) or unit


_STAFF, _CASE = Staff.__table__, Case.__table__
# Candidates and their load in one query, prepared (models.db.PreparedQuery): routing runs for every case filed. The
# open statuses are bound one by one, as an IN list of its own parameters cannot be prepared.
_OPEN_CASES = (select(func.count()).select_from(_CASE)
               .where(_CASE.c.assignee_id == _STAFF.c.id,
                      _CASE.c.status.in_([literal(status, _CASE.c.status.type) for status in OPEN_STATUSES]))
               .correlate(_STAFF).scalar_subquery())
_CANDIDATES = select(_STAFF.c.id, _STAFF.c.code, _STAFF.c.name, _STAFF.c.role, _STAFF.c.unit_id,
                     _STAFF.c.department, _OPEN_CASES.label("open_cases"))
_OF_ROLE = PreparedQuery(_CANDIDATES.where(
    _STAFF.c.role == bindparam("role"), _STAFF.c.unit_id == bindparam("unit_id"), _STAFF.c.on_duty.is_(True),
).order_by(_STAFF.c.id), ("role", "unit_id"))
_OF_DEPARTMENT = PreparedQuery(_CANDIDATES.where(
    _STAFF.c.department == bindparam("department"), _STAFF.c.on_duty.is_(True),
).order_by(_STAFF.c.id), ("department",))


def least_loaded(candidates: list[StaffRef]) -> StaffRef:
    """The candidate with the fewest open cases; ties go to the lowest id so the choice is repeatable."""
    return min(candidates, key=lambda s: (s.open_cases, s.id))


async def department_staff(
    session: AsyncSession, directory: GridDirectory, department: str, unit: UnitRef
) -> list[StaffRef]:
    """On-duty staff of a department, nearest to the unit first (a street's office before the district's)."""
    staff = [StaffRef(*row) for row in await _OF_DEPARTMENT.execute(session, {"department": department})]
    ancestors = {u.id: depth for depth, u in enumerate(directory.ancestors(unit))}
    covering = [s for s in staff if s.unit_id in ancestors]
    if not covering:
        return staff
    nearest = max(ancestors[s.unit_id] for s in covering)
    return [s for s in covering if ancestors[s.unit_id] == nearest]


async def role_staff(session: AsyncSession, directory: GridDirectory, role: StaffRole, unit: UnitRef) -> list[StaffRef]:
    """On-duty staff of a role at the case unit's ancestor of that role's level."""
    home = directory.ancestor_at(unit, role.home_level)
    if home is None:
        return []
    return [StaffRef(*row) for row in await _OF_ROLE.execute(session, {"role": role, "unit_id": home.id})]


async def route(
    session: AsyncSession, directory: GridDirectory, unit: UnitRef, duty: Responsibility | None,
    *, exclude_staff_id: int | None = None,
) -> Assignment:
    """Chooses the assignee for a case at `unit`; department-only matters never go to grid roles."""
    queue = triage_unit(directory, unit)
    if duty is None:
        return Assignment(None, None, queue, f"类别未确定，转{queue.name}人工分拣")
    if duty.department:
        candidates = [s for s in await department_staff(session, directory, duty.department, unit)
                      if s.id != exclude_staff_id]
        if candidates:
            chosen = least_loaded(candidates)
            return Assignment(chosen, duty.department, None,
                              f"按职责派给{duty.department}（{chosen.name}）")
        if duty.department_only:
            return Assignment(None, duty.department, queue,
                              f"{duty.department}暂无在岗人员，转{queue.name}人工分拣")
    role = StaffRole(duty.role) if duty.role else StaffRole.GRID_WORKER
    if duty.department_only and role in GRID_ROLES:
        return Assignment(None, duty.department, queue, f"部门事项不下派网格，转{queue.name}人工分拣")
    candidates = [s for s in await role_staff(session, directory, role, unit) if s.id != exclude_staff_id]
    if not candidates and role in GRID_ROLES and role is not StaffRole.GRID_WORKER:
        candidates = [s for s in await role_staff(session, directory, StaffRole.GRID_WORKER, unit)
                      if s.id != exclude_staff_id]
    if candidates:
        chosen = least_loaded(candidates)
        return Assignment(chosen, duty.department, None,
                          f"派给{directory.unit(chosen.unit_id).name}的{chosen.role.label}{chosen.name}"
                          + ("（当前待办最少）" if len(candidates) > 1 else ""))
    return Assignment(None, duty.department, queue, f"{unit.name}暂无在岗{role.label}，转{queue.name}人工分拣")


async def triage_staff(session: AsyncSession, directory: GridDirectory, queue: UnitRef) -> list[StaffRef]:
    """The people who watch a triage queue: the community's secretary and staff, else the street's officers."""
    for role in TRIAGE_ROLES:
        people = await role_staff(session, directory, role, queue)
        if people:
            return people
    return []



ESCALATION_ROLES = {1: StaffRole.COMMUNITY_SECRETARY, 2: StaffRole.STREET_OFFICER}  # 督办 level → who hears


async def escalation_staff(session: AsyncSession, directory: GridDirectory, unit: UnitRef, level: int) -> list[StaffRef]:
    """Who a case at `unit` is escalated to at a level (1 the community secretary, 2 the street officer), else
    whoever watches the community's queue: the SLA's escalations and residents' repeated 催办 alike."""
    people = await role_staff(session, directory, ESCALATION_ROLES[min(max(level, 1), 2)], unit)
    return people or await triage_staff(session, directory, triage_unit(directory, unit))

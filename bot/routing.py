"""Routing as data: which staff member, department or triage queue a case goes to, and why."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.grid import GridDirectory, UnitRef
from models import Case, Staff, StaffRole, UnitLevel
from models.cases import OPEN_STATUSES

# The grid level at which each role sits, so a case is given to the role's people of the right ancestor unit.
ROLE_LEVEL = {
    StaffRole.GRID_WORKER: UnitLevel.GRID,
    StaffRole.BUILDING_LEAD: UnitLevel.BUILDING,
    StaffRole.HOUSEHOLD_LEAD: UnitLevel.HOUSEHOLD,
    StaffRole.COMMUNITY_STAFF: UnitLevel.COMMUNITY,
    StaffRole.COMMUNITY_SECRETARY: UnitLevel.COMMUNITY,
    StaffRole.STREET_OFFICER: UnitLevel.STREET,
    StaffRole.VOLUNTEER: UnitLevel.COMMUNITY,
}
GRID_ROLES = {StaffRole.GRID_WORKER, StaffRole.BUILDING_LEAD, StaffRole.HOUSEHOLD_LEAD}
TRIAGE_ROLES = (StaffRole.COMMUNITY_SECRETARY, StaffRole.COMMUNITY_STAFF, StaffRole.STREET_OFFICER)


@dataclass(frozen=True, slots=True)
class Responsibility:
    """Who a kind of matter belongs to, as the rules or the service catalogue say."""

    role: str | None
    department: str | None
    department_only: bool


@dataclass(frozen=True, slots=True)
class Assignment:
    """The routing decision: a staff member, or a triage queue when nobody fits; `reason` goes to the audit trail."""

    staff: Staff | None
    department: str | None
    queue_unit: UnitRef | None
    reason: str


def triage_unit(directory: GridDirectory, unit: UnitRef) -> UnitRef:
    """The community (or the nearest unit above it) whose staff triage what rules could not place."""
    return directory.ancestor_at(unit, UnitLevel.COMMUNITY) or unit


async def open_load(session: AsyncSession, staff_ids: list[int]) -> dict[int, int]:
    """Open cases per staff member."""
    rows = await session.execute(
        select(Case.assignee_id, func.count()).where(Case.assignee_id.in_(staff_ids), Case.status.in_(OPEN_STATUSES))
        .group_by(Case.assignee_id)
    )
    return {staff_id: count for staff_id, count in rows.all()}


async def least_loaded(session: AsyncSession, candidates: list[Staff]) -> Staff:
    """The candidate with the fewest open cases; ties go to the lowest id so the choice is repeatable."""
    if len(candidates) == 1:
        return candidates[0]
    load = await open_load(session, [s.id for s in candidates])
    return min(candidates, key=lambda s: (load.get(s.id, 0), s.id))


async def department_staff(
    session: AsyncSession, directory: GridDirectory, department: str, unit: UnitRef
) -> list[Staff]:
    """On-duty staff of a department, nearest to the unit first (a street's office before the district's)."""
    staff = list((await session.scalars(
        select(Staff).where(Staff.department == department, Staff.on_duty.is_(True))
    )).all())
    ancestors = {u.id: depth for depth, u in enumerate(directory.ancestors(unit))}
    covering = [s for s in staff if s.unit_id in ancestors]
    if not covering:
        return staff
    nearest = max(ancestors[s.unit_id] for s in covering)
    return [s for s in covering if ancestors[s.unit_id] == nearest]


async def role_staff(session: AsyncSession, directory: GridDirectory, role: StaffRole, unit: UnitRef) -> list[Staff]:
    """On-duty staff of a role at the case unit's ancestor of that role's level."""
    home = directory.ancestor_at(unit, ROLE_LEVEL.get(role, UnitLevel.COMMUNITY))
    if home is None:
        return []
    return list((await session.scalars(
        select(Staff).where(Staff.role == role, Staff.unit_id == home.id, Staff.on_duty.is_(True))
    )).all())


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
            chosen = await least_loaded(session, candidates)
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
        chosen = await least_loaded(session, candidates)
        return Assignment(chosen, duty.department, None,
                          f"派给{chosen.unit.name}的{ROLE_LABELS[chosen.role]}{chosen.name}"
                          + ("（当前待办最少）" if len(candidates) > 1 else ""))
    return Assignment(None, duty.department, queue, f"{unit.name}暂无在岗{ROLE_LABELS[role]}，转{queue.name}人工分拣")


async def triage_staff(session: AsyncSession, directory: GridDirectory, queue: UnitRef) -> list[Staff]:
    """The people who watch a triage queue: the community's secretary and staff, else the street's officers."""
    for role in TRIAGE_ROLES:
        people = await role_staff(session, directory, role, queue)
        if people:
            return people
    return []


ROLE_LABELS = {
    StaffRole.GRID_WORKER: "网格员",
    StaffRole.BUILDING_LEAD: "楼栋长",
    StaffRole.HOUSEHOLD_LEAD: "党员中心户",
    StaffRole.COMMUNITY_STAFF: "社区工作人员",
    StaffRole.COMMUNITY_SECRETARY: "社区书记",
    StaffRole.STREET_OFFICER: "街道干部",
    StaffRole.DEPARTMENT: "职能部门",
    StaffRole.VOLUNTEER: "志愿者",
}

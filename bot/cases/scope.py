"""Which cases a staff member may see, as one SQL filter and as a per-case check, and who sees phones unmasked.

The rules, one per role (a staff member has one unit; "their subtree" is that unit and everything below it):

| role | sees |
| --- | --- |
| 网格员 grid worker | cases in their grid's subtree, and cases assigned to them |
| 楼栋长 / 党员中心户 building / household lead | cases in their building or household, and cases assigned to them |
| 社区工作人员 / 社区书记 community staff / secretary | cases in their community, and cases assigned to them |
| 街道干部 street officer | cases in their street, and cases assigned to them |
| 职能部门 department | cases of their department, and cases assigned to them |
| 志愿者 volunteer | cases assigned to them only |
| admin (any role but department and volunteer, placed at the district root) | every case |

Seeing is not acting: what a staff member may do to a visible case is `bot.cases.lifecycle.staff_may_act`.
`case_filter` and `may_see` are the same rule, so a list, an export and an opened case always agree.
Usage: `select(...).where(case_filter(directory, actor))`; `if not may_see(directory, actor, case): 404`.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, false, or_, true

from bot.grid.directory import GridDirectory, UnitRef
from models import Case, StaffRole, UnitLevel

# The roles whose members call residents back, so they see a case's phone number unmasked (电话回访).
PHONE_ROLES = frozenset({StaffRole.GRID_WORKER, StaffRole.COMMUNITY_STAFF, StaffRole.COMMUNITY_SECRETARY,
                         StaffRole.DEPARTMENT})
# The unit level whose subtree a role sees, when the staff member's own unit is deeper (a secretary filed at a grid
# still sees the community).
_LEVEL_OF_ROLE = {
    StaffRole.COMMUNITY_STAFF: UnitLevel.COMMUNITY,
    StaffRole.COMMUNITY_SECRETARY: UnitLevel.COMMUNITY,
    StaffRole.STREET_OFFICER: UnitLevel.STREET,
}
SUBTREE_IDS_LIMIT = 2000  # above this many units, a subtree is selected by path prefix
_SUBTREE_ROLES = frozenset({StaffRole.GRID_WORKER, StaffRole.BUILDING_LEAD, StaffRole.HOUSEHOLD_LEAD,
                            *_LEVEL_OF_ROLE})


class StaffLike(Protocol):
    """What scope needs of a staff member (bot.pipeline.identities.Actor and models.Staff both fit)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> StaffRole | None: ...
    @property
    def unit_id(self) -> int | None: ...
    @property
    def department(self) -> str | None: ...


class CaseLike(Protocol):
    """What the per-case check needs of a case (a models.Case or a row with these columns)."""

    @property
    def unit_path(self) -> str: ...
    @property
    def assignee_id(self) -> int | None: ...
    @property
    def department(self) -> str | None: ...


def scope_unit(directory: GridDirectory, staff: StaffLike) -> UnitRef | None:
    """The unit whose whole subtree the staff member sees (None: only their own assignments or department)."""
    if staff.role not in _SUBTREE_ROLES or staff.unit_id is None:
        return None
    unit = directory.unit(staff.unit_id)
    level = _LEVEL_OF_ROLE.get(staff.role)
    if level is not None and unit.level.depth > level.depth:
        unit = directory.ancestor_at(unit, level) or unit
    return unit


def is_admin(directory: GridDirectory, staff: StaffLike) -> bool:
    """A staff member at the district root sees every case (管理员)."""
    unit = scope_unit(directory, staff)
    return unit is not None and unit.level is UnitLevel.DISTRICT


def subtree_clause(directory: GridDirectory, unit: UnitRef) -> ColumnElement[bool]:
    """Cases in a unit's subtree: by unit id while the subtree is small (an index lookup on any collation, and a
    selective one), else by path prefix (a street or the district, where most cases qualify anyway)."""
    ids, frontier = [unit.id], [unit]
    while frontier and len(ids) <= SUBTREE_IDS_LIMIT:
        children = [child for parent in frontier for child in directory.children(parent)]
        ids += [child.id for child in children]
        frontier = children
    if not frontier:
        return Case.unit_id.in_(ids)
    return Case.unit_path.startswith(unit.path, autoescape=True)


def case_filter(directory: GridDirectory, staff: StaffLike) -> ColumnElement[bool]:
    """The WHERE clause on `case` selecting exactly the cases the staff member may see (index-friendly)."""
    if staff.role is None:
        return false()
    if is_admin(directory, staff):
        return true()
    clauses: list[ColumnElement[bool]] = [Case.assignee_id == staff.id]
    unit = scope_unit(directory, staff)
    if unit is not None:
        clauses.append(subtree_clause(directory, unit))
    if staff.role is StaffRole.DEPARTMENT and staff.department:
        clauses.append(Case.department == staff.department)
    return or_(*clauses)


def may_see(directory: GridDirectory, staff: StaffLike, case: CaseLike) -> bool:
    """The per-case form of case_filter."""
    if staff.role is None:
        return False
    if case.assignee_id == staff.id:
        return True
    unit = scope_unit(directory, staff)
    if unit is not None and case.unit_path.startswith(unit.path):
        return True
    return staff.role is StaffRole.DEPARTMENT and bool(staff.department) and case.department == staff.department


def may_see_phones(staff: StaffLike) -> bool:
    """Whether the staff member sees residents' phone numbers unmasked (only on cases they may see)."""
    return staff.role in PHONE_ROLES

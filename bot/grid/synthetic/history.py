"""A year of synthetic residents and cases, with the events that brought each case to its status."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.grid.synthetic.bulk import CHUNK, Rows
from bot.grid.synthetic.matters import MATTERS_BY_KIND, Matter
from bot.grid.synthetic.places import District, Grid, Names, add_identity
from models import Case, CaseEvent, CaseKind, CaseStatus, EventKind, Rating, Resident, StaffRole


@dataclass(frozen=True, slots=True)
class SyntheticResident:
    id: int
    name: str
    grid: Grid
    building: tuple[int, str, str]
    user_id: str


def add_residents(rows: Rows, rng: random.Random, names: Names, district: District, *, count: int,
               now: datetime) -> list[SyntheticResident]:
    """Residents with a home building and an identity on their grid group's channel."""
    residents = []
    for n in range(count):
        # the first round gives every grid residents; the rest spread at random
        grid = district.grids[n] if n < len(district.grids) else rng.choice(district.grids)
        building = rng.choice(grid.buildings)
        name = names.person()
        resident_id = rows.add(Resident.__table__, {
            "display_name": name, "phone": names.phone("137") if rng.random() < 0.7 else None,
            "home_unit_id": building[0], "created_at": now - timedelta(days=rng.uniform(365, 900)),
        })
        user_id = str(6_000_000_000 + resident_id) if grid.channel == "telegram" else f"wm{resident_id:08d}"
        add_identity(rows, grid.channel, user_id, name, user_id, resident_id=resident_id)
        residents.append(SyntheticResident(resident_id, name, grid, building, user_id))
    return residents


def add_cases(rows: Rows, rng: random.Random, district: District, residents: list[SyntheticResident], *, count: int,
           now: datetime) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Cases and their events, a chunk at a time, over the last 52 weeks with a realistic status mix."""
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for _ in range(count):
        _case(rows, rng, district, rng.choice(residents), now, cases, events)
        if len(cases) >= CHUNK:
            yield cases, events
            cases, events = [], []
    if cases:
        yield cases, events


_OPEN_MIX = ((CaseStatus.ASSIGNED, 0.3), (CaseStatus.ACCEPTED, 0.3), (CaseStatus.IN_PROGRESS, 0.3),
             (CaseStatus.NEW, 0.1))


def _status(rng: random.Random, age_days: float) -> CaseStatus:
    """Old cases are almost all finished; recent ones are often still open."""
    roll = rng.random()
    closed, resolved, dropped = (0.86, 0.975, 0.993) if age_days > 14 else (0.35, 0.60, 0.63)
    if roll < closed:
        return CaseStatus.CLOSED
    if roll < resolved:
        return CaseStatus.RESOLVED
    if roll < dropped:
        return CaseStatus.DUPLICATE if rng.random() < 0.6 else CaseStatus.REJECTED
    return rng.choices([s for s, _ in _OPEN_MIX], [w for _, w in _OPEN_MIX])[0]


def _case(rows: Rows, rng: random.Random, district: District, reporter: SyntheticResident, now: datetime,
          cases: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    grid = reporter.grid
    created = now - timedelta(seconds=rng.uniform(600, 364 * 86400))
    status = _status(rng, (now - created).total_seconds() / 86400)
    kind = rng.choices((CaseKind.REPORT, CaseKind.WISH, CaseKind.APPOINTMENT), (85, 10, 5))[0]
    on_building = rng.random() < 0.7
    unit_id, unit_path, place = reporter.building if on_building else (grid.id, grid.path, grid.name)
    matter = rng.choice(MATTERS_BY_KIND[kind])
    body = rng.choice(matter.texts)
    if kind is CaseKind.REPORT:
        body = place + body
    assignee = _assignee(district, grid, matter, rng)
    in_group = rng.random() < 0.7
    case_id = rows.new_id(Case.__table__)
    row = {
        "id": case_id,
        "kind": kind, "status": status, "text": body, "media": [], "category_code": matter.code,
        "category_name": matter.name, "confidence": round(rng.uniform(0.6, 0.98), 3) if matter.code else 0.0,
        "keywords": list(matter.keywords), "unit_id": unit_id, "unit_path": unit_path, "place": place,
        "reporter_id": reporter.id,
        "source_channel": grid.channel, "source_chat_id": grid.chat_id if in_group else reporter.user_id,
        "source_is_group": in_group, "assignee_id": None, "department": matter.department,
        "queue_unit_id": None,
        "duplicate_of_id": None, "priority": 0, "escalation_level": 0,
        "extras": {"service": matter.service} if matter.service else {}, "created_at": created,
        "updated_at": created, "assigned_at": None, "accept_due_at": None,
        "resolve_due_at": created + timedelta(hours=matter.resolve_hours), "accepted_at": None,
        "resolved_at": None,
        "closed_at": None, "rating": None, "rating_comment": None,
    }
    _event(rows, events, case_id, created, "resident", reporter.id, reporter.name, EventKind.FILED, None,
           CaseStatus.NEW, f"经{grid.channel}提交")
    _progress(rows, rng, row, events, case_id, assignee, reporter, now)
    cases.append(row)


def _assignee(district: District, grid: Grid, matter: Matter, rng: random.Random) -> tuple[int, str]:
    """The department's street office, else its district office, else the matter's role in the grid."""
    if matter.department is not None:
        office = district.departments.get((grid.street_code, matter.department)) \
            or district.departments.get(("", matter.department))
        if office is not None:
            return office
    return rng.choice(grid.community_staff if matter.role is StaffRole.COMMUNITY_STAFF else grid.workers)


def _progress(rows: Rows, rng: random.Random, row: dict[str, Any], events: list[dict[str, Any]],
              case_id: int, assignee: tuple[int, str], reporter: SyntheticResident, now: datetime) -> None:
    """Fills the timestamps and events that bring a new case to its final status."""
    status: CaseStatus = row["status"]
    created: datetime = row["created_at"]
    if status in (CaseStatus.NEW, CaseStatus.DUPLICATE, CaseStatus.REJECTED):
        if status is CaseStatus.NEW:
            row["queue_unit_id"] = row["unit_id"]
            _event(rows, events, case_id, created, "system", None, "系统", EventKind.ROUTED, CaseStatus.NEW,
                   CaseStatus.NEW, "类别未确定，转社区人工分拣")
        else:
            row["resolve_due_at"] = None
            action = EventKind.LINKED_DUPLICATE if status is CaseStatus.DUPLICATE else EventKind.REJECT
            at = min(now, created + timedelta(minutes=rng.uniform(1, 600)))
            _event(rows, events, case_id, at, "system", None, "系统", action, CaseStatus.NEW, status,
                   "与此前工单重复，已并入" if status is CaseStatus.DUPLICATE else "不属于受理范围")
            row["updated_at"] = row["closed_at"] = at
        return
    steps = (CaseStatus.ASSIGNED, CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED,
             CaseStatus.CLOSED)
    reached = steps.index(status)
    staff_id, staff_name = assignee
    row["assignee_id"] = staff_id
    at = row["assigned_at"] = created + timedelta(seconds=rng.uniform(5, 900))
    row["accept_due_at"] = at + timedelta(hours=24)
    _event(rows, events, case_id, at, "system", None, "系统", EventKind.ROUTED, CaseStatus.NEW, CaseStatus.ASSIGNED,
           f"派给{staff_name}")
    if reached >= 1:
        at = row["accepted_at"] = min(now, at + timedelta(minutes=rng.uniform(5, 360)))
        _event(rows, events, case_id, at, "staff", staff_id, staff_name, EventKind.ACCEPT, CaseStatus.ASSIGNED,
               CaseStatus.ACCEPTED, "")
    if reached == 2:
        at = min(now, at + timedelta(minutes=rng.uniform(10, 600)))
        _event(rows, events, case_id, at, "staff", staff_id, staff_name, EventKind.PROGRESS, CaseStatus.ACCEPTED,
               CaseStatus.IN_PROGRESS, "已联系相关人员，正在处理")
    if reached >= 3:
        window = (row["resolve_due_at"] - created).total_seconds()
        at = row["resolved_at"] = min(now, at + timedelta(seconds=window * rng.uniform(0.05, 1.15)))
        _event(rows, events, case_id, at, "staff", staff_id, staff_name, EventKind.RESOLVE, CaseStatus.ACCEPTED,
               CaseStatus.RESOLVED, "已现场处理完毕")
    if reached >= 4:
        at = row["closed_at"] = min(now, at + timedelta(hours=rng.uniform(1, 72)))
        rating = Rating.SATISFIED if rng.random() < 0.88 else Rating.BASICALLY_SATISFIED
        row["rating"] = rating
        _event(rows, events, case_id, at, "resident", reporter.id, reporter.name, EventKind.RATED,
               CaseStatus.RESOLVED, CaseStatus.CLOSED, rating.label)
    elif reached < 3 and row["resolve_due_at"] < now:
        overdue_hours = (now - row["resolve_due_at"]).total_seconds() / 3600
        row["escalation_level"] = 1 if overdue_hours < 48 else 2
    row["updated_at"] = at


def _event(rows: Rows, events: list[dict[str, Any]], case_id: int, at: datetime, actor_kind: str,
           actor_id: int | None, actor_name: str, action: EventKind, before: CaseStatus | None, after: CaseStatus,
           note: str) -> None:
    events.append({
        "id": rows.new_id(CaseEvent.__table__), "case_id": case_id, "at": at, "actor_kind": actor_kind,
        "actor_id": actor_id, "actor_name": actor_name, "action": action,
        "from_status": before, "to_status": after, "note": note,
    })

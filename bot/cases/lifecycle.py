"""The case lifecycle: its states and transitions, and filing (with routing and duplicate linking); every change audited.

Staff actions and ratings are in bot.cases.actions, what residents and staff look up in bot.cases.queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import bindparam, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.notices import (
    case_summary,
    notify_staff,
    triage_buttons,
    worker_buttons,
)
from bot.cases.refs import CaseRef, FiledCase, Reporter
from bot.delivery.outbox import Notice, enqueue
from bot.grid.directory import GridDirectory, UnitRef, building_mention, compact
from bot.grid.routing import (
    Assignment,
    Responsibility,
    StaffRef,
    role_staff,
    route,
    triage_staff,
)
from bot.pipeline.identities import Actor, mask_phones_in, staff_contact
from models import Case, CaseEvent, CaseKind, CaseStatus, Staff, StaffRole, UnitLevel
from models.cases import EventKind, open_original_filter
from models.db import Prepared, PreparedQuery

S = CaseStatus


class CaseRefused(Exception):
    """An action that is not allowed; the message is the Chinese answer to show."""


class NoteRequired(CaseRefused):
    """The action is allowed but needs words it did not carry (a note, a reason, a target)."""


@dataclass(frozen=True, slots=True)
class Transition:
    sources: frozenset[CaseStatus]
    target: CaseStatus
    label: str


TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(frozenset({S.ASSIGNED, S.TRANSFERRED, S.REOPENED}), S.ACCEPTED, "接单"),
    "progress": Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS, "反馈进展"),
    "resolve": Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.RESOLVED, "办结"),
    "transfer": Transition(frozenset({S.ASSIGNED, S.ACCEPTED, S.IN_PROGRESS, S.TRANSFERRED, S.REOPENED}),
                           S.TRANSFERRED, "转派"),
    "return": Transition(frozenset({S.ASSIGNED, S.ACCEPTED, S.IN_PROGRESS, S.TRANSFERRED, S.REOPENED}),
                         S.RETURNED, "退回"),
    "assign": Transition(frozenset({S.NEW, S.RETURNED}), S.ASSIGNED, "分派"),
    "reject": Transition(frozenset({S.NEW, S.RETURNED}), S.REJECTED, "不予受理"),
    "claim": Transition(frozenset({S.NEW, S.ASSIGNED, S.RETURNED}), S.ACCEPTED, "认领"),
}
ASSIGNEE_ACTIONS = {"accept", "progress", "resolve", "transfer", "return"}
TRIAGE_ACTIONS = {"assign", "reject"}
EMERGENCY_PRIORITY = 1000
NOTE_REQUIRED = {"resolve": "办结说明", "return": "退回原因", "reject": "不予受理的原因", "progress": "进展内容"}


@dataclass
class Draft:
    """A case the resident has confirmed, ready to file."""

    kind: CaseKind
    text: str
    unit: UnitRef
    category_code: str | None = None
    category_name: str | None = None
    confidence: float = 0.0
    keywords: list[str] = field(default_factory=list)
    duty: Responsibility | None = None
    sla_accept_hours: float = 24.0
    sla_resolve_hours: float = 72.0
    media: list[dict] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    priority: int = 0  # an emergency files at EMERGENCY_PRIORITY, above any count of duplicate reports


@dataclass(frozen=True, slots=True)
class Filed:
    case: FiledCase
    duplicate_of: CaseRef | None
    assignment: Assignment | None


def place_label(directory: GridDirectory, unit: UnitRef, spot: str | None = None) -> str:
    """A unit as residents say it: compound and building (铁塔厂家属院3号楼), or the unit's own name above a grid,
    followed by the road, intersection or landmark when the report named one (姜谭街道姜谭路与清姜路交叉口)."""
    below_community = [u.name for u in directory.ancestors(unit) if u.level.depth >= UnitLevel.GRID.depth]
    return ("".join(below_community) or unit.name) + (spot or "")


def record_event(session: AsyncSession, case: Case, actor: Actor | None, action: str, before: CaseStatus | None,
           note: str, now: datetime) -> CaseEvent:
    """Adds the event of a change to a persistent case (its status now is the event's target)."""
    event = CaseEvent(**_event_row(case, actor, action, before, case.status, note, now))
    session.add(event)
    return event


CASE_TABLE, EVENT_TABLE = Case.__table__, CaseEvent.__table__
# Filing is the hottest write: the case is one INSERT with its final values, its events one more.
_CASE_COLUMNS = ("kind", "status", "text", "media", "category_code", "category_name", "confidence", "keywords", "unit_id",
                 "unit_path", "reporter_id", "place", "source_channel", "source_chat_id", "source_is_group", "extras",
                 "created_at", "updated_at", "resolve_due_at", "assignee_id", "department", "queue_unit_id",
                 "duplicate_of_id", "priority", "escalation_level", "sla_stage", "sla_next_at", "assigned_at",
                 "accept_due_at")
_NEW_CASE = Prepared(lambda insert: insert(CASE_TABLE).returning(CASE_TABLE.c.id), _CASE_COLUMNS)
_EVENT_COLUMNS = ("case_id", "at", "actor_kind", "actor_id", "actor_name", "action", "from_status", "to_status", "note")


def _new_events(count: int) -> Prepared:
    """The INSERT of `count` events in one statement (values named column_0, column_1, ...)."""
    keys = [f"{column}_{n}" for n in range(count) for column in _EVENT_COLUMNS]
    return Prepared(lambda insert: insert(EVENT_TABLE).values([
        {column: bindparam(f"{column}_{n}", type_=EVENT_TABLE.c[column].type) for column in _EVENT_COLUMNS}
        for n in range(count)]).returning(EVENT_TABLE.c.id), keys)


_NEW_EVENTS = {count: _new_events(count) for count in (2, 3)}  # filing writes two events, a duplicate three
_FIRST_EVENT_COLUMNS = tuple(column for column in _EVENT_COLUMNS if column != "case_id")


def _new_case_with_events(count: int) -> Prepared:
    """PostgreSQL's filing in one statement: the case's INSERT as a data-modifying WITH part, and `count` events
    taking its id, as an INSERT ... SELECT of one SELECT per event joined by UNION ALL (PostgreSQL numbers them in
    that order, as a multi-row VALUES). Values named case_<column> and <column>_<n>; RETURNING each event's id and
    case id. One round trip where _NEW_CASE and _NEW_EVENTS are two."""
    def build(insert: Any) -> Any:
        case = insert(CASE_TABLE).values({column: bindparam(f"case_{column}", type_=CASE_TABLE.c[column].type)
                                          for column in _CASE_COLUMNS}).returning(CASE_TABLE.c.id).cte("new_case")
        events = [select(case.c.id, *(bindparam(f"{column}_{n}", type_=EVENT_TABLE.c[column].type)
                                      for column in _FIRST_EVENT_COLUMNS)) for n in range(count)]
        return (insert(EVENT_TABLE).from_select(["case_id", *_FIRST_EVENT_COLUMNS], union_all(*events))
                .returning(EVENT_TABLE.c.id, EVENT_TABLE.c.case_id))

    return Prepared(build, (*(f"case_{column}" for column in _CASE_COLUMNS),
                            *(f"{column}_{n}" for n in range(count) for column in _FIRST_EVENT_COLUMNS)))


_NEW_CASE_WITH_EVENTS = _new_case_with_events(2)  # PostgreSQL: a routed case and its filed and routed events
_STAFF = Staff.__table__
# A subtree as a range of paths (ids and slashes sort below "~"), which both databases answer from the
# (category, unit_path, created_at) index; SQLite never uses an index for LIKE 'prefix%' on a plain column.
PATH_END = "~"
DUPLICATE_CANDIDATES_QUERY = (
    select(CASE_TABLE.c.id, CASE_TABLE.c.text, CASE_TABLE.c.unit_id, CASE_TABLE.c.keywords, CASE_TABLE.c.status, CASE_TABLE.c.media,
           CASE_TABLE.c.extras, CASE_TABLE.c.assignee_id, _STAFF.c.code, _STAFF.c.name, _STAFF.c.role, _STAFF.c.unit_id.label("staff_unit_id"),
           _STAFF.c.department)
    .select_from(CASE_TABLE.outerjoin(_STAFF, _STAFF.c.id == CASE_TABLE.c.assignee_id))
    .where(open_original_filter(), CASE_TABLE.c.category_code == bindparam("category_code"),
           CASE_TABLE.c.unit_path >= bindparam("scope_from"),
           CASE_TABLE.c.unit_path < bindparam("scope_to"), CASE_TABLE.c.created_at >= bindparam("since"))
    # Newest filed first by id, not created_at: ordered by filing time, both databases walked the category's every
    # case in the window across the district (ix_case_category_created) rather than the scope's open originals.
    .order_by(CASE_TABLE.c.id.desc()).limit(20)
)
# Prepared, as every statement of filing is: through Session.execute either one cost a confirmation more than its
# case's own insert, and took the transaction out of the group commit (bench/wecom_callback.py).
_DUPLICATE_CANDIDATES = PreparedQuery(DUPLICATE_CANDIDATES_QUERY, ("category_code", "scope_from", "scope_to", "since"))
_RAISE_PRIORITY = Prepared(lambda insert: update(CASE_TABLE).where(CASE_TABLE.c.id == bindparam("case_id")).values(
    priority=CASE_TABLE.c.priority + 1, updated_at=bindparam("now")), ("case_id", "now"))


@dataclass(frozen=True, slots=True)
class Original:
    """The open case a new report repeats: what filing the duplicate needs of it."""

    case: CaseRef
    assignee: StaffRef | None


async def find_duplicate(
    session: AsyncSession, directory: GridDirectory, draft: Draft, *, now: datetime, window: timedelta,
    similarity: float,
) -> Original | None:
    """An open case of the same category at the same spot (see `same_spot`), recent and alike in words."""
    if draft.category_code is None or draft.kind is not CaseKind.REPORT or window <= timedelta(0):
        return None
    scope = directory.ancestor_at(draft.unit, UnitLevel.GRID) or draft.unit
    candidates = await _DUPLICATE_CANDIDATES.execute(session, {
        "category_code": draft.category_code, "scope_from": scope.path, "scope_to": scope.path + PATH_END,
        "since": now - window})
    mine = spot_of(directory, draft.unit.id, draft.text, draft.extras)
    for candidate in candidates:
        if spot_of(directory, candidate.unit_id, candidate.text, candidate.extras or {}) != mine:
            continue
        same_spot = candidate.unit_id == draft.unit.id and draft.unit.level is not UnitLevel.GRID
        alike = max(fuzz.ratio(candidate.text, draft.text), fuzz.partial_ratio(candidate.text, draft.text))
        if alike >= similarity or (same_spot and set(candidate.keywords) & set(draft.keywords)):
            assignee = None if candidate.assignee_id is None else StaffRef(
                candidate.assignee_id, candidate.code, candidate.name, candidate.role, candidate.staff_unit_id,
                candidate.department)
            return Original(CaseRef(candidate.id, candidate.status, candidate.media), assignee)
    return None


def spot_of(directory: GridDirectory, unit_id: int, text: str, extras: dict[str, Any]) -> tuple[Any, ...]:
    """What two reports must share to be one problem: the unit above a compound, or the building a report names
    (its unit, else a number in its words; none for the whole compound), and the road or landmark it names.

    Two buildings are two problems: 3号楼门口路灯不亮 never joins a case about 5号楼."""
    unit = directory.unit(unit_id)
    spot = (extras.get("spot") or {}).get("key")
    if unit.level.depth < UnitLevel.GRID.depth:
        return (unit.id, spot)
    building = directory.ancestor_at(unit, UnitLevel.BUILDING)
    if building is not None:
        return (building.id, spot)
    mention = building_mention(compact(text))
    found = directory.find_building(unit, mention[0]) if mention else None
    return (found.id if found else mention[0] if mention else None, spot)


def _event_row(case: Case | CaseRef | FiledCase, actor: Actor | None, action: str, before: CaseStatus | None,
               after: CaseStatus,
               note: str, now: datetime) -> dict[str, Any]:
    """The columns of one audit event: who (the system when no actor), what, from which status to which."""
    return {"case_id": case.id, "at": now, "actor_kind": actor.kind if actor else "system",
            "actor_id": actor.id if actor else None, "actor_name": actor.name if actor else "系统",
            "action": EventKind(action),
            "from_status": before.value if before else None, "to_status": after.value, "note": note}


async def _insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts the events in one prepared statement; their ids, which rise in the rows' order (both databases
    number a multi-row VALUES in its order; RETURNING's own order is not promised, hence sorted)."""
    values = {f"{column}_{n}": value for n, row in enumerate(rows) for column, value in row.items()}
    return sorted(row[0] for row in await _NEW_EVENTS[len(rows)].execute(session, values))


async def file_case(
    session: AsyncSession, directory: GridDirectory, draft: Draft, reporter: Actor, *, channel: str,
    chat_id: str, is_group: bool, now: datetime, duplicate_window: timedelta, duplicate_similarity: float,
) -> Filed:
    """Files a case, links it to an open duplicate or routes it, and queues every notice it causes.

    The returned case holds the values written, for the reply; it is not an ORM object."""
    found = await find_duplicate(session, directory, draft, now=now, window=duplicate_window,
                                 similarity=duplicate_similarity)
    values: dict[str, Any] = {
        "kind": draft.kind, "status": S.NEW, "text": draft.text, "media": draft.media,
        "category_code": draft.category_code, "category_name": draft.category_name,
        "confidence": round(draft.confidence, 3), "keywords": draft.keywords, "unit_id": draft.unit.id,
        "unit_path": draft.unit.path, "reporter_id": reporter.id,
        "place": place_label(directory, draft.unit, (draft.extras.get("spot") or {}).get("label")),
        "source_channel": channel, "source_chat_id": chat_id, "source_is_group": is_group, "extras": draft.extras,
        "created_at": now, "updated_at": now, "resolve_due_at": now + timedelta(hours=draft.sla_resolve_hours),
        "assignee_id": None, "department": None, "queue_unit_id": None, "duplicate_of_id": None, "priority": draft.priority,
        "escalation_level": 0, "sla_stage": 0, "sla_next_at": None, "assigned_at": None, "accept_due_at": None,
    }
    filed_note = f"经{channel}提交；类别置信度 {draft.confidence:.2f}"
    if found is not None:
        original = found.case
        values.update(status=S.DUPLICATE, duplicate_of_id=original.id, resolve_due_at=None)
        case = await _insert_case(session, values, reporter)
        await _RAISE_PRIORITY.execute(session, {"case_id": original.id, "now": now})
        await _insert_events(session, [
            _event_row(case, reporter, "filed", None, S.NEW, filed_note, now),
            _event_row(case, None, "linked_duplicate", S.NEW, S.DUPLICATE, f"与 {original.number} 重复，已并入", now),
            _event_row(original, None, "duplicate_reported", original.status, original.status,
                       f"{case.number} 反映同一问题", now),
        ])
        if found.assignee is not None:
            await notify_staff(session, found.assignee, original,
                               f"又有居民反映同一问题（{case.number}）：{mask_phones_in(draft.text)}\n已提高 {original.number} 的优先级。",
                               key=f"case:{original.id}:dup:{case.id}", now=now)
        return Filed(case, original, None)
    assignment = await route(session, directory, draft.unit, draft.duty)
    values["department"] = assignment.department
    if assignment.staff is None:
        values["queue_unit_id"] = assignment.queue_unit.id if assignment.queue_unit else draft.unit.id
    else:
        values.update(status=S.ASSIGNED, assignee_id=assignment.staff.id, assigned_at=now,
                      accept_due_at=now + timedelta(hours=draft.sla_accept_hours))
    case, events = await _insert_case_with_events(session, values, reporter, [
        (reporter, "filed", None, S.NEW, filed_note), (None, "routed", S.NEW, values["status"], assignment.reason)],
        now)
    routed = max(events)
    await announce(session, directory, case, assignment, routed, now)
    if draft.extras.get("emergency"):
        await alert_emergency(session, directory, case, now,
                              assignee_id=assignment.staff.id if assignment.staff else None)
    return Filed(case, None, assignment)


async def alert_emergency(session: AsyncSession, directory: GridDirectory, case: FiledCase, now: datetime, *,
                          assignee_id: int | None) -> None:
    """The on-duty grid workers and the community secretary of the place hear of an emergency at once."""
    unit = directory.unit(case.unit_id)
    people = [*await role_staff(session, directory, StaffRole.GRID_WORKER, unit),
              *await role_staff(session, directory, StaffRole.COMMUNITY_SECRETARY, unit)]
    text = f"【紧急】{case.extras.get('emergency_label', '紧急情况')}，请立即处置并联系居民。\n" + case_summary(case, for_staff=True)
    for person in people:
        if person.id != assignee_id:  # the assignee already has the case with its buttons
            await notify_staff(session, person, case, text, key=f"case:{case.id}:emergency", now=now)


async def alert_heard(session: AsyncSession, directory: GridDirectory, unit: UnitRef, label: str, said: str,
                      speaker: str, *, key: str, now: datetime) -> int:
    """The on-duty grid workers and the community secretary of a group's place hear at once of an emergency said
    in it, before anyone files it; how many were told."""
    people = [*await role_staff(session, directory, StaffRole.GRID_WORKER, unit),
              *await role_staff(session, directory, StaffRole.COMMUNITY_SECRETARY, unit)]
    text = (f"【紧急】{label}：{unit.name}的群里{speaker}说：「{mask_phones_in(said[:200])}」\n"
            "尚未登记为工单，请立即核实处置并联系居民。")
    for person in people:
        contact = await staff_contact(session, person)
        await enqueue(session, Notice(
            dedupe_key=f"{key}:staff:{person.id}", channel=contact.channel, chat_id=contact.chat_id,
            recipient=f"staff:{person.code}", text=text, extras={}), now=now)
    return len(people)


_FILED_VALUES = [name for name in FiledCase.__dataclass_fields__ if name not in {"id", "reporter"}]


async def _insert_case(session: AsyncSession, values: dict[str, Any], reporter: Actor) -> FiledCase:
    [(case_id,)] = await _NEW_CASE.execute(session, values)
    return _filed(case_id, values, reporter)


def _filed(case_id: int, values: dict[str, Any], reporter: Actor) -> FiledCase:
    return FiledCase(id=case_id, reporter=Reporter(reporter.id, reporter.name, reporter.phone),
                     **{name: values[name] for name in _FILED_VALUES})


async def _insert_case_with_events(
    session: AsyncSession, values: dict[str, Any], reporter: Actor,
    events: list[tuple[Actor | None, str, CaseStatus | None, CaseStatus, str]], now: datetime,
) -> tuple[FiledCase, list[int]]:
    """The case and its first events (actor, action, from, to, note each), and the events' ids in their order: in
    one statement on PostgreSQL (_NEW_CASE_WITH_EVENTS), else the case's INSERT and then the events'."""
    if session.get_bind().dialect.name != "postgresql":
        case = await _insert_case(session, values, reporter)
        return case, await _insert_events(session, [_event_row(case, *event, now) for event in events])
    given = {f"case_{column}": value for column, value in values.items()}
    for n, event in enumerate(events):
        row = _event_row(_NO_CASE_YET, *event, now)
        given.update((f"{column}_{n}", row[column]) for column in _FIRST_EVENT_COLUMNS)
    rows = await _NEW_CASE_WITH_EVENTS.execute(session, given)
    return _filed(rows[0][1], values, reporter), sorted(row[0] for row in rows)


_NO_CASE_YET = CaseRef(None, S.NEW, [])  # type: ignore[arg-type]  # _event_row's case before its id is known


async def apply_assignment(
    session: AsyncSession, directory: GridDirectory, case: Case, assignment: Assignment, actor: Actor | None,
    action: str, now: datetime, *, sla_accept_hours: float = 24.0, status: CaseStatus = S.ASSIGNED, note: str = "",
) -> None:
    """Gives a persistent case to the assignment's person, or to a triage queue, with its event and notices."""
    before = case.status
    case.department = assignment.department or case.department
    case.updated_at = now
    if assignment.staff is None:
        case.assignee_id, case.assignee = None, None
        case.status = S.NEW if before is S.NEW else S.RETURNED
        case.queue_unit_id = assignment.queue_unit.id if assignment.queue_unit else case.unit_id
    else:
        case.assignee_id, case.assignee = assignment.staff.id, await session.get(Staff, assignment.staff.id)
        case.status, case.queue_unit_id = status, None
        case.assigned_at = now
        case.accept_due_at = now + timedelta(hours=sla_accept_hours)
        case.sla_next_at = None  # the SLA sweep (bot/jobs/sla.py) schedules the new deadline on its next pass
    event = record_event(session, case, actor, action, before, "；".join(filter(None, [assignment.reason, note])), now)
    await session.flush()
    why = f"{actor.name if actor else '系统'}{EventKind(action).label}，原因：{note}" if note else ""
    await announce(session, directory, case, assignment, event.id, now, why=why)


async def announce(session: AsyncSession, directory: GridDirectory, case: Case, assignment: Assignment,
                    event_id: int, now: datetime, *, why: str = "") -> None:
    """Tells the assignee about their new case (with why it came to them, when someone said), or the triage
    queue's staff when nobody fitted."""
    summary = case_summary(case, for_staff=True) + (f"\n{why}" if why else "")
    if assignment.staff is None:
        await notify_triage(session, directory, case, f"{summary}\n{assignment.reason}。\n回复「分派 {case.id} 工号」"
                             f"指派，或「不予受理 {case.id} 原因」。", key=f"case:{case.id}:triage:{event_id}", now=now)
    else:
        await notify_staff(session, assignment.staff, case, f"{summary}\n请回复「接单 {case.id}」接单。",
                           key=f"case:{case.id}:assigned:{event_id}", now=now, buttons=worker_buttons(case))


async def notify_triage(session: AsyncSession, directory: GridDirectory, case: Case, text: str, *, key: str,
                         now: datetime) -> None:
    queue = directory.unit(case.queue_unit_id or case.unit_id)
    for person in await triage_staff(session, directory, queue):
        await notify_staff(session, person, case, text, key=key, now=now, buttons=triage_buttons(case))

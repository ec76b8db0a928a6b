"""The case lifecycle: filing (with routing and duplicate linking), staff actions, ratings; every change audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.notices import (
    case_summary,
    notify_followers,
    notify_reporter,
    notify_staff,
    rating_buttons,
    worker_buttons,
)
from bot.cases.refs import CaseRef, FiledCase, Reporter
from bot.grid.directory import GridDirectory, UnitRef
from bot.grid.routing import (
    TRIAGE_ROLES,
    Assignment,
    Responsibility,
    StaffRef,
    route,
    triage_staff,
    triage_unit,
)
from bot.pipeline.dialogue import offer_rating
from bot.pipeline.identities import Actor
from models import Case, CaseEvent, CaseKind, CaseStatus, Rating, Staff, StaffRole, UnitLevel
from models.cases import OPEN_STATUSES, EventKind

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


@dataclass(frozen=True, slots=True)
class Filed:
    case: FiledCase
    duplicate_of: CaseRef | None
    assignment: Assignment | None


def place_label(directory: GridDirectory, unit: UnitRef) -> str:
    """A unit as residents say it: compound and building (铁塔厂家属院3号楼), or the unit's own name above a grid."""
    below_community = [u.name for u in directory.ancestors(unit) if u.level.depth >= UnitLevel.GRID.depth]
    return "".join(below_community) or unit.name


def _event(session: AsyncSession, case: Case, actor: Actor | None, action: str, before: CaseStatus | None,
           note: str, now: datetime) -> CaseEvent:
    """Adds the event of a change to a persistent case (its status now is the event's target)."""
    event = CaseEvent(**_event_row(case, actor, action, before, case.status, note, now))
    session.add(event)
    return event


_CASE, _EVENT = Case.__table__, CaseEvent.__table__
# Filing is the hottest write: the case is one INSERT with its final values, its events one more.
_NEW_CASE = insert(_CASE).returning(_CASE.c.id)
_NEW_EVENTS = insert(_EVENT).returning(_EVENT.c.id)
_STAFF = Staff.__table__
_DUPLICATE_CANDIDATES = (
    select(_CASE.c.id, _CASE.c.text, _CASE.c.unit_id, _CASE.c.keywords, _CASE.c.status, _CASE.c.media,
           _CASE.c.assignee_id, _STAFF.c.code, _STAFF.c.name, _STAFF.c.role, _STAFF.c.unit_id.label("staff_unit_id"),
           _STAFF.c.department)
    .select_from(_CASE.outerjoin(_STAFF, _STAFF.c.id == _CASE.c.assignee_id))
    .where(_CASE.c.kind == CaseKind.REPORT, _CASE.c.category_code == bindparam("category_code"),
           _CASE.c.unit_path.like(bindparam("scope")), _CASE.c.created_at >= bindparam("since"),
           _CASE.c.status.in_(OPEN_STATUSES), _CASE.c.duplicate_of_id.is_(None))
    .order_by(_CASE.c.created_at.desc()).limit(20)
)
_RAISE_PRIORITY = (update(_CASE).where(_CASE.c.id == bindparam("case_id"))
                   .values(priority=_CASE.c.priority + 1, updated_at=bindparam("now")))


@dataclass(frozen=True, slots=True)
class Original:
    """The open case a new report repeats: what filing the duplicate needs of it."""

    case: CaseRef
    assignee: StaffRef | None


async def find_duplicate(
    session: AsyncSession, directory: GridDirectory, draft: Draft, *, now: datetime, window: timedelta,
    similarity: float,
) -> Original | None:
    """An open case of the same category in the same grid, recent and alike in words."""
    if draft.category_code is None or draft.kind is not CaseKind.REPORT or window <= timedelta(0):
        return None
    scope = directory.ancestor_at(draft.unit, UnitLevel.GRID) or draft.unit
    candidates = await session.execute(_DUPLICATE_CANDIDATES, {
        "category_code": draft.category_code, "scope": f"{scope.path}%", "since": now - window})  # paths are digits and /
    for candidate in candidates:
        same_spot = candidate.unit_id == draft.unit.id and draft.unit.level is not UnitLevel.GRID
        alike = max(fuzz.ratio(candidate.text, draft.text), fuzz.partial_ratio(candidate.text, draft.text))
        if alike >= similarity or (same_spot and set(candidate.keywords) & set(draft.keywords)):
            assignee = None if candidate.assignee_id is None else StaffRef(
                candidate.assignee_id, candidate.code, candidate.name, candidate.role, candidate.staff_unit_id,
                candidate.department)
            return Original(CaseRef(candidate.id, candidate.status, candidate.media), assignee)
    return None


def _event_row(case: Case | CaseRef | FiledCase, actor: Actor | None, action: str, before: CaseStatus | None, after: CaseStatus,
               note: str, now: datetime) -> dict[str, Any]:
    """The columns of one audit event: who (the system when no actor), what, from which status to which."""
    return {"case_id": case.id, "at": now, "actor_kind": actor.kind if actor else "system",
            "actor_id": actor.id if actor else None, "actor_name": actor.name if actor else "系统", "action": EventKind(action),
            "from_status": before.value if before else None, "to_status": after.value, "note": note}


async def _insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts events in one statement; their ids rise in the rows' order, whatever order RETURNING uses."""
    return list((await session.execute(_NEW_EVENTS, rows)).scalars())


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
        "unit_path": draft.unit.path, "place": place_label(directory, draft.unit), "reporter_id": reporter.id,
        "source_channel": channel, "source_chat_id": chat_id, "source_is_group": is_group, "extras": draft.extras,
        "created_at": now, "updated_at": now, "resolve_due_at": now + timedelta(hours=draft.sla_resolve_hours),
        "assignee_id": None, "department": None, "queue_unit_id": None, "duplicate_of_id": None, "priority": 0,
        "escalation_level": 0, "sla_stage": 0, "sla_next_at": None, "assigned_at": None, "accept_due_at": None,
    }
    filed_note = f"经{channel}提交；类别置信度 {draft.confidence:.2f}"
    if found is not None:
        original = found.case
        values.update(status=S.DUPLICATE, duplicate_of_id=original.id, resolve_due_at=None)
        case = await _insert_case(session, values, reporter)
        await session.execute(_RAISE_PRIORITY, {"case_id": original.id, "now": now})
        await _insert_events(session, [
            _event_row(case, reporter, "filed", None, S.NEW, filed_note, now),
            _event_row(case, None, "linked_duplicate", S.NEW, S.DUPLICATE, f"与 {original.number} 重复，已并入", now),
            _event_row(original, None, "duplicate_reported", original.status, original.status,
                       f"{case.number} 反映同一问题", now),
        ])
        if found.assignee is not None:
            await notify_staff(session, found.assignee, original,
                               f"又有居民反映同一问题（{case.number}）：{draft.text}\n已提高 {original.number} 的优先级。",
                               key=f"case:{original.id}:dup:{case.id}", now=now)
        return Filed(case, original, None)
    assignment = await route(session, directory, draft.unit, draft.duty)
    values["department"] = assignment.department
    if assignment.staff is None:
        values["queue_unit_id"] = assignment.queue_unit.id if assignment.queue_unit else draft.unit.id
    else:
        values.update(status=S.ASSIGNED, assignee_id=assignment.staff.id, assigned_at=now,
                      accept_due_at=now + timedelta(hours=draft.sla_accept_hours))
    case = await _insert_case(session, values, reporter)
    routed = max(await _insert_events(session, [
        _event_row(case, reporter, "filed", None, S.NEW, filed_note, now),
        _event_row(case, None, "routed", S.NEW, case.status, assignment.reason, now),
    ]))
    await _announce(session, directory, case, assignment, routed, now)
    return Filed(case, None, assignment)


_FILED_VALUES = [name for name in FiledCase.__dataclass_fields__ if name not in {"id", "reporter"}]


async def _insert_case(session: AsyncSession, values: dict[str, Any], reporter: Actor) -> FiledCase:
    case_id = (await session.execute(_NEW_CASE, values)).scalar_one()
    return FiledCase(id=case_id, reporter=Reporter(reporter.id, reporter.name, reporter.phone),
                     **{name: values[name] for name in _FILED_VALUES})


async def _apply_assignment(
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
    event = _event(session, case, actor, action, before, "；".join(filter(None, [assignment.reason, note])), now)
    await session.flush()
    await _announce(session, directory, case, assignment, event.id, now)


async def _announce(session: AsyncSession, directory: GridDirectory, case: Case, assignment: Assignment,
                    event_id: int, now: datetime) -> None:
    """Tells the assignee about their new case, or the triage queue's staff when nobody fitted."""
    summary = case_summary(case, for_staff=True)
    if assignment.staff is None:
        await _notify_triage(session, directory, case, f"{summary}\n{assignment.reason}。\n回复「分派 {case.id} 工号」"
                             f"指派，或「不予受理 {case.id} 原因」。", key=f"case:{case.id}:triage:{event_id}", now=now)
    else:
        await notify_staff(session, assignment.staff, case, f"{summary}\n请回复「接单 {case.id}」接单。",
                           key=f"case:{case.id}:assigned:{event_id}", now=now, buttons=worker_buttons(case))


async def _notify_triage(session: AsyncSession, directory: GridDirectory, case: Case, text: str, *, key: str,
                         now: datetime) -> None:
    queue = directory.unit(case.queue_unit_id or case.unit_id)
    for person in await triage_staff(session, directory, queue):
        await notify_staff(session, person, case, text, key=key, now=now)


async def load_case(session: AsyncSession, case_id: int) -> Case | None:
    return await session.get(Case, case_id, populate_existing=True)


def staff_may_act(directory: GridDirectory, actor: Actor, case: Case, action: str) -> bool:
    """A worker acts only on cases assigned to them, of their department, or inside their unit."""
    if not actor.is_staff:
        return False
    if case.assignee_id == actor.id and action in ASSIGNEE_ACTIONS:
        return True
    if actor.role is StaffRole.DEPARTMENT:
        return bool(actor.department) and case.department == actor.department
    if actor.unit_id is None:
        return False
    if not directory.unit(actor.unit_id).contains(directory.unit(case.unit_id)):
        return False
    if action in TRIAGE_ACTIONS:
        return actor.role in TRIAGE_ROLES
    if action == "claim":
        return case.kind is CaseKind.WISH
    return actor.role is not StaffRole.VOLUNTEER


async def staff_action(
    session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, action: str, *, now: datetime,
    note: str = "", target: str | None = None,
) -> Case:
    """Applies a staff member's action to a case, or raises CaseRefused with the reason."""
    case = await load_case(session, case_id)
    if case is None:
        raise CaseRefused(f"未找到工单 #{case_id}，请核对编号。")
    if not staff_may_act(directory, actor, case, action):
        raise CaseRefused(f"您无权处理 {case.number}：它不在您负责的网格或部门内，也未派给您。")
    transition = TRANSITIONS[action]
    if case.status not in transition.sources:
        raise CaseRefused(_wrong_state(case, transition, action))
    if action in NOTE_REQUIRED and not note.strip():
        raise NoteRequired(f"请写明{NOTE_REQUIRED[action]}，例如：{transition.label} {case.id} ……")
    if action in {"transfer", "assign"}:
        await _reassign(session, directory, actor, case, action, target, note, now)
        return case
    before = case.status
    case.status, case.updated_at = transition.target, now
    staff = await session.get(Staff, actor.id)
    assert staff is not None
    who = f"{staff.role.label}{staff.name}"
    if action in {"accept", "claim"}:
        taken_over = case.assignee_id not in (None, actor.id)
        case.assignee_id, case.assignee = staff.id, staff
        case.accepted_at = now
        event = _event(session, case, actor, action, before, "代为接单" if taken_over else note, now)
        news = f"已由{who}{'认领' if action == 'claim' else '接单'}，正在处理。"
        message = f"您反映的 {case.number} {news}"
    elif action == "progress":
        event = _event(session, case, actor, action, before, note, now)
        message = f"{case.number} 处理进展：{note}"
    elif action == "resolve":
        case.resolved_at = now
        event = _event(session, case, actor, action, before, note, now)
        message = f"{case.number} 已办结：{note}\n请您评价：满意 / 基本满意 / 不满意（可附意见）。"
    elif action == "return":
        case.assignee_id, case.assignee = None, None
        case.queue_unit_id = triage_unit(directory, directory.unit(case.unit_id)).id
        event = _event(session, case, actor, action, before, note, now)
        await session.flush()
        await _notify_triage(session, directory, case,
                             f"{case_summary(case, for_staff=True)}\n被{who}退回：{note}\n"
                             f"请回复「分派 {case.id} 工号」重新指派。", key=f"case:{case.id}:returned:{event.id}",
                             now=now)
        return case
    else:  # reject
        case.closed_at = now
        event = _event(session, case, actor, action, before, note, now)
        message = f"很抱歉，{case.number} 不予受理：{note}"
    await session.flush()
    key = f"case:{case.id}:{action}:{event.id}"
    if action == "resolve":
        identity = await notify_reporter(session, case, message, key=key, now=now, buttons=rating_buttons(case))
        if identity is not None:
            chat = identity.private_chat_id or case.source_chat_id
            await offer_rating(session, case.source_channel, chat, identity.user_id, case.id, now=now)
        await notify_followers(session, case, f"已办结：{note}", key=key, now=now)
    else:
        await notify_reporter(session, case, message, key=key, now=now)
        if action in {"accept", "claim"}:
            await notify_followers(session, case, news, key=key, now=now)
    return case


def _wrong_state(case: Case, transition: Transition, action: str) -> str:
    if action == "resolve" and case.status in {S.ASSIGNED, S.TRANSFERRED, S.REOPENED}:
        return f"{case.number} 还未接单，请先回复「接单 {case.id}」。"
    return f"{case.number} 当前状态为「{case.status.label}」，不能{transition.label}。"


async def _reassign(session: AsyncSession, directory: GridDirectory, actor: Actor, case: Case, action: str,
                    target: str | None, note: str, now: datetime) -> None:
    if not target:
        raise NoteRequired(f"请说明转给谁，例如：{TRANSITIONS[action].label} {case.id} 工号或部门名 原因")
    staff = await find_staff(session, target)
    if staff is not None:
        if staff.id == case.assignee_id:
            raise CaseRefused(f"{case.number} 已在{staff.name}名下。")
        assignment = Assignment(StaffRef.of(staff), staff.department, None,
                                f"{actor.name}{TRANSITIONS[action].label}给{staff.name}")
    else:
        department = await session.scalar(select(Staff.department).where(Staff.department == target).limit(1))
        if department is None:
            raise CaseRefused(f"找不到工号、姓名或部门「{target}」，请核对。")
        assignment = await route(session, directory, directory.unit(case.unit_id),
                                 Responsibility(None, department, True), exclude_staff_id=case.assignee_id)
        if assignment.staff is None:
            raise CaseRefused(f"{department}暂无在岗人员，无法{TRANSITIONS[action].label}。")
    status = S.TRANSFERRED if action == "transfer" else S.ASSIGNED
    await _apply_assignment(session, directory, case, assignment, actor, action, now, status=status, note=note)
    await notify_reporter(session, case, f"您反映的 {case.number} 已转交{assignment.staff.name}处理。",
                          key=f"case:{case.id}:{action}:{case.assignee_id}:{now.isoformat()}", now=now)


async def find_staff(session: AsyncSession, ref: str) -> Staff | None:
    """A staff member by code, or by name when the name is unique."""
    staff = await session.scalar(select(Staff).where(Staff.code == ref))
    if staff is not None:
        return staff
    named = (await session.scalars(select(Staff).where(Staff.name == ref).limit(2))).unique().all()
    return named[0] if len(named) == 1 else None


async def rate_case(
    session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, rating: Rating, comment: str, *,
    now: datetime,
) -> Case:
    """Records the reporter's rating; 不满意 reopens the case and tells the assignee and the secretary."""
    case = await load_case(session, case_id)
    if case is None or actor.is_staff or case.reporter_id != actor.id:
        raise CaseRefused(f"没有找到您的诉求 #{case_id}，请核对编号。")
    if case.status is not S.RESOLVED:
        if case.rating is not None:
            raise CaseRefused(f"{case.number} 已评价过（{case.rating.label}），感谢您的反馈。")
        raise CaseRefused(f"{case.number} 尚未办结（{case.status.label}），办结后再评价。")
    before = case.status
    case.rating, case.rating_comment, case.updated_at = rating, comment or None, now
    if rating is Rating.DISSATISFIED:
        case.status = S.REOPENED
        case.resolved_at = None
        case.assigned_at = now
        case.sla_next_at = None  # the SLA sweep chases the reopened case from now on
        event = _event(session, case, actor, "rated", before, f"不满意：{comment}", now)
        await session.flush()
        text = f"{case.number} 居民评价不满意：{comment or '未说明原因'}\n已重新打开，请跟进。\n{case_summary(case, for_staff=True)}"
        if case.assignee is not None:
            await notify_staff(session, case.assignee, case, text, key=f"case:{case.id}:reopened:{event.id}", now=now,
                               buttons=worker_buttons(case))
        for person in await triage_staff(session, directory, triage_unit(directory, directory.unit(case.unit_id))):
            if person.role is StaffRole.COMMUNITY_SECRETARY or person.id != case.assignee_id:
                await notify_staff(session, person, case, text, key=f"case:{case.id}:reopened:{event.id}", now=now)
        return case
    case.status, case.closed_at = S.CLOSED, now
    _event(session, case, actor, "rated", before, f"{rating.label}：{comment}" if comment else rating.label, now)
    return case


_LATEST_OF_REPORTER = (
    select(_CASE.c.id, _CASE.c.kind, _CASE.c.category_name, _CASE.c.status, _CASE.c.duplicate_of_id)
    .where(_CASE.c.reporter_id == bindparam("reporter_id"))
    .order_by(_CASE.c.created_at.desc(), _CASE.c.id.desc()).limit(bindparam("limit"))
)


async def visible_cases(session: AsyncSession, actor: Actor, *, limit: int = 5) -> list[Row[Any]]:
    """A resident's own latest cases, as much of each as a status line shows (id, kind, category_name, status,
    duplicate_of_id)."""
    return list(await session.execute(_LATEST_OF_REPORTER, {"reporter_id": actor.id, "limit": limit}))


async def open_cases_of(session: AsyncSession, staff_id: int, *, limit: int = 20) -> list[Case]:
    return list((await session.scalars(
        select(Case).where(Case.assignee_id == staff_id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.priority.desc(), Case.created_at).limit(limit)
    )).unique().all())


async def triage_queue(session: AsyncSession, unit: UnitRef, *, limit: int = 20) -> list[Case]:
    return list((await session.scalars(
        select(Case).where(Case.status.in_([S.NEW, S.RETURNED]), Case.unit_path.startswith(unit.path))
        .order_by(Case.priority.desc(), Case.created_at).limit(limit)
    )).unique().all())


async def case_events(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    return list((await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))).all())

"""Staff actions on a case (接单, 办结, 转派, 退回, 分派, 不予受理 ...) and the resident's rating; all audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import (
    ASSIGNEE_ACTIONS,
    NOTE_REQUIRED,
    TRANSITIONS,
    TRIAGE_ACTIONS,
    CaseRefused,
    NoteRequired,
    S,
    Transition,
    apply_assignment,
    notify_triage,
    record_event,
)
from bot.cases.notices import (
    case_summary,
    notify_followers,
    notify_reporter,
    notify_staff,
    rating_buttons,
    worker_buttons,
)
from bot.cases.queries import load_case
from bot.grid.directory import GridDirectory
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
from bot.understanding.reroutes import duty_code, record_reroute
from models import Case, CaseKind, Rating, Staff, StaffRole


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
        event = record_event(session, case, actor, action, before, "代为接单" if taken_over else note, now)
        news = f"已由{who}{'认领' if action == 'claim' else '接单'}，正在处理。"
        message = f"您反映的 {case.number} {news}"
    elif action == "progress":
        event = record_event(session, case, actor, action, before, note, now)
        message = f"{case.number} 处理进展：{note}"
    elif action == "resolve":
        case.resolved_at = now
        event = record_event(session, case, actor, action, before, note, now)
        message = f"{case.number} 已办结：{note}\n请您评价：满意 / 基本满意 / 不满意（可附意见）。"
    elif action == "return":
        case.assignee_id, case.assignee = None, None
        case.queue_unit_id = triage_unit(directory, directory.unit(case.unit_id)).id
        event = record_event(session, case, actor, action, before, note, now)
        await session.flush()
        await notify_triage(session, directory, case,
                             f"{case_summary(case, for_staff=True)}\n被{who}退回：{note}\n"
                             f"请回复「分派 {case.id} 工号」重新指派。", key=f"case:{case.id}:returned:{event.id}",
                             now=now)
        return case
    else:  # reject
        case.closed_at = now
        event = record_event(session, case, actor, action, before, note, now)
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
    before = duty_code(case.department, case.assignee.role if case.assignee is not None else None)
    await apply_assignment(session, directory, case, assignment, actor, action, now, status=status, note=note)
    record_reroute(session, actor, case, before, now=now)  # another department or role: teaches the rules
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
        event = record_event(session, case, actor, "rated", before, f"不满意：{comment}", now)
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
    record_event(session, case, actor, "rated", before, f"{rating.label}：{comment}" if comment else rating.label, now)
    return case

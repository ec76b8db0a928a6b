"""Staff actions on a case (接单, 办结, 转派, 退回, 分派, 不予受理 ...) and the resident's rating; all audited."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import (
    NOTE_REQUIRED,
    TRANSITIONS,
    CaseRefused,
    NoteRequired,
    S,
    apply_assignment,
    notify_triage,
    record_event,
)
from bot.cases.notices import (
    case_summary,
    for_residents,
    notify_followers,
    notify_reporter,
    notify_staff,
    rating_buttons,
)
from bot.cases.permissions import staff_may_act, why_not, wrong_state
from bot.cases.queries import load_case
from bot.grid.directory import GridDirectory
from bot.grid.routing import (
    Assignment,
    Responsibility,
    StaffRef,
    route,
    triage_unit,
)
from bot.pipeline.dialogue import offer_rating
from bot.pipeline.identities import Actor
from bot.understanding.reroutes import duty_code, record_reroute
from models import Case, Staff, StaffRole

if TYPE_CHECKING:
    from bot.understanding.rules import RuleSet

__all__ = ["find_staff", "staff_action", "staff_may_act"]


async def staff_action(
    session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, action: str, *, now: datetime,
    note: str = "", target: str | None = None, rules: RuleSet | None = None,
) -> Case:
    """Applies a staff member's action to a case, or raises CaseRefused with the reason and what would work.
    Acting on a case someone else holds (a supervisor may) tells them."""
    case = await load_case(session, case_id)
    if case is None:
        raise CaseRefused(f"未找到工单 #{case_id}，请核对编号。")
    if (refusal := why_not(directory, actor, case, action)) is not None:
        raise CaseRefused(refusal)
    transition = TRANSITIONS[action]
    if case.status not in transition.sources:
        raise CaseRefused(wrong_state(case, action))
    if action in NOTE_REQUIRED and not note.strip():
        raise NoteRequired(f"请写明{NOTE_REQUIRED[action]}，例如：{transition.label} {case.id} ……")
    holder = case.assignee if case.assignee_id not in (None, actor.id) else None
    if action in {"transfer", "assign"}:
        category = rules.category(case.category_code) if rules is not None and case.category_code else None
        await _reassign(session, directory, actor, case, action, target, note, now,
                        department_only=bool(category and category.department_only))
    else:
        await _apply(session, directory, actor, case, action, note, now)
    if holder is not None:
        await _tell_holder(session, holder, actor, case, action, note, now)
    return case


async def _tell_holder(session: AsyncSession, holder: Staff, actor: Actor, case: Case, action: str, note: str,
                       now: datetime) -> None:
    """The staff member who held the case hears that someone else acted on it."""
    staff = await session.get(Staff, actor.id)
    who = f"{staff.role.label}{staff.name}" if staff else actor.name
    text = f"{who}已对您承办的 {case.number} 执行「{TRANSITIONS[action].label}」" + (f"：{note}" if note else "。")
    if case.assignee_id != holder.id:
        text += "\n该工单已不在您名下，无需再处理。"
    await notify_staff(session, holder, case, text, key=f"case:{case.id}:{action}:holder:{now.isoformat()}", now=now)


async def _apply(session: AsyncSession, directory: GridDirectory, actor: Actor, case: Case, action: str, note: str,
                 now: datetime) -> None:
    """A status change in place (everything but transfer and assign), with its event and notices."""
    transition = TRANSITIONS[action]
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
        news = f"处理进展：{await for_residents(session, note)}"
        message = f"{case.number} {news}\n如需补充情况，请回复「补充 {case.id} 内容」。"
    elif action == "resolve":
        case.resolved_at = now
        event = record_event(session, case, actor, action, before, note, now)
        message = (f"{case.number} 已办结：{await for_residents(session, note)}\n"
                   f"请您评价：满意 / 基本满意 / 不满意（可附意见）。")
    elif action == "return":
        case.assignee_id, case.assignee = None, None
        case.queue_unit_id = triage_unit(directory, directory.unit(case.unit_id)).id
        event = record_event(session, case, actor, action, before, note, now)
        await session.flush()
        await notify_triage(session, directory, case,
                             f"{case_summary(case, for_staff=True)}\n被{who}退回：{note}\n"
                             f"请回复「分派 {case.id} 工号」重新指派。", key=f"case:{case.id}:returned:{event.id}",
                             now=now)
        return
    else:  # reject
        case.closed_at = now
        event = record_event(session, case, actor, action, before, note, now)
        news = f"不予受理：{await for_residents(session, note)}"
        message = f"很抱歉，{case.number} {news}"
    await session.flush()
    key = f"case:{case.id}:{action}:{event.id}"
    if action == "resolve":
        identity = await notify_reporter(session, case, message, key=key, now=now, buttons=rating_buttons(case))
        if identity is not None:
            chat = identity.private_chat_id or case.source_chat_id
            await offer_rating(session, case.source_channel, chat, identity.user_id, case.id, now=now)
        await notify_followers(session, case, f"已办结：{await for_residents(session, note)}", key=key, now=now)
    else:
        await notify_reporter(session, case, message, key=key, now=now)
        await notify_followers(session, case, news, key=key, now=now)  # every notice the reporter gets


async def _reassign(session: AsyncSession, directory: GridDirectory, actor: Actor, case: Case, action: str,
                    target: str | None, note: str, now: datetime, *, department_only: bool) -> None:
    if not target:
        raise NoteRequired(f"请说明转给谁，例如：{TRANSITIONS[action].label} {case.id} 工号或部门名 原因")
    staff = await find_staff(session, target)
    if staff is not None:
        if staff.id == case.assignee_id:
            raise CaseRefused(f"{case.number} 已在{staff.name}名下。")
        if department_only and staff.role is not StaffRole.DEPARTMENT:
            raise CaseRefused(f"{case.number} 是{case.department or '职能部门'}的专属事项，不能派给{staff.role.label}；"
                              f"请写部门名，例如：{TRANSITIONS[action].label} {case.id} {case.department or '部门名'} 原因。")
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
    key = f"case:{case.id}:{action}:{case.assignee_id}:{now.isoformat()}"
    await notify_reporter(session, case, f"您反映的 {case.number} 已转交{assignment.staff.name}处理。", key=key, now=now)
    await notify_followers(session, case, f"已转交{assignment.staff.name}处理。", key=key, now=now)


async def find_staff(session: AsyncSession, ref: str) -> Staff | None:
    """A staff member by code, or by name when the name is unique."""
    staff = await session.scalar(select(Staff).where(Staff.code == ref))
    if staff is not None:
        return staff
    named = (await session.scalars(select(Staff).where(Staff.name == ref).limit(2))).unique().all()
    return named[0] if len(named) == 1 else None

"""Staff correct duplicate linking: merge two cases that are one problem, split a report wrongly merged into a case.

Both are audited on every case they touch and tell the residents concerned; both need the staff member to be
allowed to act on every case involved (the same rule as 转派)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import CaseRefused, S, apply_assignment, record_event
from bot.cases.notices import notify_reporter, notify_staff
from bot.cases.permissions import why_not
from bot.cases.queries import load_case
from bot.grid.directory import GridDirectory
from bot.grid.routing import Responsibility, route
from bot.pipeline.identities import Actor
from models import Case, CaseKind, Resident

SCOPE_ACTION = "transfer"  # who may merge or split: whoever may hand the cases on


@dataclass(frozen=True, slots=True)
class Duty:
    """Who a split report belongs to, from its category (the caller reads the rules), and its SLA hours."""

    responsibility: Responsibility | None
    accept_hours: float
    resolve_hours: float


async def _case_for(session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int) -> Case:
    case = await load_case(session, case_id)
    if case is None:
        raise CaseRefused(f"未找到工单 #{case_id}，请核对编号。")
    if (refusal := why_not(directory, actor, case, SCOPE_ACTION)) is not None:
        raise CaseRefused(refusal)
    return case


async def merge_cases(session: AsyncSession, directory: GridDirectory, actor: Actor, keep_id: int, merged_id: int,
                      *, now: datetime, note: str = "") -> Case:
    """Merges case `merged_id` into `keep_id`: it and its followers follow the kept case from now on."""
    if keep_id == merged_id:
        raise CaseRefused("请给出两个不同的工单编号，例如：合并 5 7（把 #7 并入 #5）。")
    keep = await _case_for(session, directory, actor, keep_id)
    merged = await _case_for(session, directory, actor, merged_id)
    for case in (keep, merged):
        if case.kind is not CaseKind.REPORT:
            raise CaseRefused(f"{case.number} 是{case.kind.label}，只有随手拍问题可以合并。")
        if not case.status.is_open:
            raise CaseRefused(f"{case.number} 当前状态为「{case.status.label}」，不能合并。")
    before, old_assignee = merged.status, merged.assignee
    merged.status, merged.duplicate_of_id, merged.updated_at = S.DUPLICATE, keep.id, now
    merged.resolve_due_at = None  # as for a report linked when filed: the kept case's deadlines count
    merged.assignee_id, merged.assignee, merged.sla_next_at, merged.queue_unit_id = None, None, None, None
    followers = (await session.scalars(select(Case).where(Case.duplicate_of_id == merged.id))).unique().all()
    await session.execute(update(Case).where(Case.duplicate_of_id == merged.id).values(duplicate_of_id=keep.id))
    keep.priority += 1 + len(followers) + merged.priority
    keep.updated_at = now
    reason = f"：{note}" if note else ""
    event = record_event(session, merged, actor, "merged_into", before, f"并入 {keep.number}{reason}", now)
    record_event(session, keep, actor, "merge", keep.status, f"{merged.number} 并入本单{reason}", now)
    await session.flush()
    key = f"case:{merged.id}:merged:{event.id}"
    await notify_reporter(session, merged, f"您反映的 {merged.number} 与 {keep.number} 是同一问题，工作人员已将两单合并，"
                          f"处理进展会同时通知您。", key=key, now=now)
    for follower in followers:  # merged into the merged case before: they follow the kept case now
        await notify_reporter(session, follower, f"您反映的 {follower.number} 已随 {merged.number} 并入 {keep.number}，"
                              f"处理进展会继续通知您。", key=f"{key}:follower", now=now)
    if old_assignee is not None and old_assignee.id not in (actor.id, keep.assignee_id):
        await notify_staff(session, old_assignee, merged, f"{merged.number} 已由{actor.name}并入 {keep.number}，"
                           f"您无需再单独办理。", key=key, now=now)
    return keep


async def split_case(session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, which: str, *,
                     duty: Duty | None = None, now: datetime, note: str = "") -> Case:
    """Splits a report merged into `case_id` off as a case of its own, routed afresh; `which` is its number or
    its reporter's name. With no `which`, `case_id` itself is the merged report."""
    parent = await _case_for(session, directory, actor, case_id)
    follower = await _follower(session, parent, which)
    if follower is None and not which and parent.duplicate_of_id is not None:
        follower, parent = parent, await _case_for(session, directory, actor, parent.duplicate_of_id)
    if follower is None:
        raise CaseRefused(f"{parent.number} 下没有找到「{which}」的并入反映。请写并入的工单编号或反映人姓名，"
                          f"例如：拆分 {parent.id} 12。" if which else
                          f"{parent.number} 不是并入的反映。请写：拆分 主单编号 并入的工单编号。")
    before = follower.status
    follower.status, follower.duplicate_of_id, follower.updated_at = S.NEW, None, now
    hours = duty.resolve_hours if duty else 72.0
    follower.resolve_due_at = now + timedelta(hours=hours)
    reason = f"：{note}" if note else ""
    record_event(session, follower, actor, "split", before, f"从 {parent.number} 拆出，单独办理{reason}", now)
    record_event(session, parent, actor, "split_off", parent.status, f"{follower.number} 不是同一问题，已拆出{reason}", now)
    parent.priority, parent.updated_at = max(0, parent.priority - 1), now
    await session.flush()
    unit = directory.unit(follower.unit_id)
    assignment = await route(session, directory, unit, duty.responsibility if duty else None)
    await apply_assignment(session, directory, follower, assignment, actor, "routed", now,
                           sla_accept_hours=duty.accept_hours if duty else 24.0)
    who = assignment.staff.name if assignment.staff else "社区工作人员"
    await notify_reporter(session, follower, f"您反映的 {follower.number} 与 {parent.number} 不是同一问题，已单独立案，"
                          f"由{who}处理。", key=f"case:{follower.id}:split:{now.isoformat()}", now=now)
    return follower


async def _follower(session: AsyncSession, parent: Case, which: str) -> Case | None:
    """The report merged into `parent` that `which` names: its number (7, #7) or its reporter's name."""
    which = which.strip().lstrip("#＃").removesuffix("号")
    if not which:
        return None
    query = select(Case).where(Case.duplicate_of_id == parent.id)
    if which.isdigit():
        query = query.where(Case.id == int(which))
    else:
        query = query.join(Resident, Resident.id == Case.reporter_id).where(Resident.display_name == which)
    found = (await session.scalars(query.order_by(Case.id).limit(2))).unique().all()
    return found[0] if len(found) == 1 else None

"""网上评: the reporter's rating of a resolved case, and changing it within the configured time; all audited.

不满意 reopens the case (the assignee and the community secretary hear it); a satisfied grade closes it. A rating
can be changed for `change_window` after it was given: to 不满意 reopens a closed case, from 不满意 to a satisfied
grade closes a reopened case nobody has taken up again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import CaseRefused, S, record_event
from bot.cases.notices import case_summary, notify_staff, worker_buttons
from bot.cases.queries import load_case
from bot.grid.directory import GridDirectory
from bot.grid.routing import triage_staff, triage_unit
from bot.pipeline.identities import Actor, mask_phones_in
from models import Case, CaseEvent, EventKind, Rating, StaffRole


@dataclass(frozen=True, slots=True)
class Rated:
    """A rating recorded: the case, and the grade it replaced when the resident changed their rating."""

    case: Case
    before: Rating | None = None


async def rate_case(
    session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, rating: Rating, comment: str, *,
    now: datetime, change_window: timedelta = timedelta(0),
) -> Rated:
    """Records the reporter's rating, or changes it within `change_window` of the last one."""
    case = await load_case(session, case_id)
    if case is None or actor.is_staff or case.reporter_id != actor.id:
        raise CaseRefused(f"没有找到您的诉求 #{case_id}，请核对编号。")
    if case.status is S.RESOLVED:
        case.rating, case.rating_comment, case.updated_at = rating, comment or None, now
        if rating is Rating.DISSATISFIED:
            await _reopen(session, directory, actor, case, EventKind.RATED, f"不满意：{comment}", comment, now)
        else:
            _close(session, actor, case, EventKind.RATED, f"{rating.label}：{comment}" if comment else rating.label, now)
        return Rated(case)
    if case.rating is None:
        raise CaseRefused(f"{case.number} 尚未办结（{case.status.label}），办结后再评价。")
    rated_at = await session.scalar(select(CaseEvent.at).where(
        CaseEvent.case_id == case.id, CaseEvent.action.in_([EventKind.RATED, EventKind.RATING_CHANGED]))
        .order_by(CaseEvent.id.desc()).limit(1))
    if rated_at is None or now - rated_at > change_window or case.status not in (S.CLOSED, S.REOPENED):
        hours = change_window.total_seconds() / 3600
        within = f"评价后 {hours:g} 小时内可以修改，" if hours else ""
        if case.status is not S.CLOSED and case.status.is_open:
            raise CaseRefused(f"{case.number} 已评价过（{case.rating.label}），正在重新办理，办结后可再评价。")
        raise CaseRefused(f"{case.number} 已评价过（{case.rating.label}），{within}现在不能再改。感谢您的反馈。")
    before = case.rating
    if rating is before:
        raise CaseRefused(f"{case.number} 的评价已是「{rating.label}」。")
    case.rating, case.rating_comment, case.updated_at = rating, comment or None, now
    note = f"{before.label}→{rating.label}" + (f"：{comment}" if comment else "")
    if rating is Rating.DISSATISFIED:
        await _reopen(session, directory, actor, case, EventKind.RATING_CHANGED, note, comment, now)
    else:
        _close(session, actor, case, EventKind.RATING_CHANGED, note, now)
        if before is Rating.DISSATISFIED and case.assignee is not None:
            await notify_staff(session, case.assignee, case, f"{case.number} 居民已将评价改为「{rating.label}」，工单关闭，"
                               "无需再处理。", key=f"case:{case.id}:rating_changed:{now.isoformat()}", now=now)
    return Rated(case, before)


def _close(session: AsyncSession, actor: Actor, case: Case, kind: EventKind, note: str, now: datetime) -> None:
    before = case.status
    case.status, case.closed_at = S.CLOSED, now
    record_event(session, case, actor, kind.value, before, note, now)


async def _reopen(session: AsyncSession, directory: GridDirectory, actor: Actor, case: Case, kind: EventKind, note: str,
                  comment: str, now: datetime) -> None:
    """不满意: the case is open again; its assignee and the community's secretary hear why."""
    before = case.status
    case.status = S.REOPENED
    case.resolved_at = case.closed_at = None
    case.assigned_at = now
    case.sla_next_at = None  # the SLA sweep chases the reopened case from now on
    event = record_event(session, case, actor, kind.value, before, note, now)
    await session.flush()
    text = f"{case.number} 居民评价不满意：{mask_phones_in(comment) if comment else '未说明原因'}\n已重新打开，请跟进。\n{case_summary(case, for_staff=True)}"
    if case.assignee is not None:
        await notify_staff(session, case.assignee, case, text, key=f"case:{case.id}:reopened:{event.id}", now=now,
                           buttons=worker_buttons(case))
    for person in await triage_staff(session, directory, triage_unit(directory, directory.unit(case.unit_id))):
        if person.role is StaffRole.COMMUNITY_SECRETARY or person.id != case.assignee_id:
            await notify_staff(session, person, case, text, key=f"case:{case.id}:reopened:{event.id}", now=now)

"""The case as a conversation: the reporter adds to their case (补充, a reply to a case notice) and chases it (催办).

Each is an audit event and a notice to whoever holds the case (its assignee, else the staff who watch its triage
queue). Repeated 催办 climb the grid as the SLA's escalations do (bot/jobs/sla.py): the first tells the holder,
the second also the community secretary, the third and later the street officer; a 催办 within
`urge_interval_hours` of the last counted one tells nobody again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import CaseRefused, record_event
from bot.cases.notices import case_summary, notify_staff, worker_buttons
from bot.cases.queries import load_case
from bot.grid.directory import GridDirectory
from bot.grid.routing import StaffRef, escalation_staff, triage_staff
from bot.pipeline.identities import Actor
from models import Case, CaseEvent, CaseStatus, EventKind, Outbox

S = CaseStatus
MAX_URGE_LEVEL = 2


async def residents_case(session: AsyncSession, actor: Actor, case_id: int) -> Case:
    """The case a resident speaks about: their own (a report merged into another is followed there)."""
    case = await load_case(session, case_id)
    if case is None or actor.is_staff or case.reporter_id != actor.id:
        raise CaseRefused(f"没有找到您的诉求 #{case_id}，请核对编号；回复「我的诉求」查看全部。")
    if case.status is S.DUPLICATE and case.duplicate_of_id:
        original = await load_case(session, case.duplicate_of_id)
        if original is not None:
            return original
    return case


def _still_open(case: Case, what: str) -> None:
    if case.status in (S.CLOSED, S.REJECTED):
        raise CaseRefused(f"{case.number} 已{case.status.label}，不能再{what}。如果问题还在，请重新反映，例如：#随手拍 问题描述。")


async def _holders(session: AsyncSession, directory: GridDirectory, case: Case) -> list[StaffRef]:
    """Who hears the resident: the assignee, else the staff who watch the case's triage queue."""
    if case.assignee is not None:
        return [StaffRef.of(case.assignee)]
    return await triage_staff(session, directory, directory.unit(case.queue_unit_id or case.unit_id))


async def add_to_case(
    session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, words: str, media: list[dict], *,
    kind: EventKind, now: datetime,
) -> Case:
    """Adds the reporter's words (and photos) to their case and tells whoever holds it."""
    case = await residents_case(session, actor, case_id)
    _still_open(case, "补充")
    if media:
        case.media = [*case.media, *media]
    note = words + (f"（附照片 {len(media)} 张）" if media else "")
    case.updated_at = now
    event = record_event(session, case, actor, kind.value, case.status, note, now)
    await session.flush()
    hint = "" if case.status is S.RESOLVED else f"\n回复「进展 {case.id} 内容」答复居民。"
    text = f"【{kind.label}】{case.number}（{case.place}）{actor.name}：{note}{hint}"
    for person in await _holders(session, directory, case):
        await notify_staff(session, person, case, text, key=f"case:{case.id}:{kind.value}:{event.id}", now=now,
                           media=media)
    return case


@dataclass(frozen=True, slots=True)
class Urged:
    """What a 催办 did: counted (or not, within the interval since `last_at`), the how-many-th, and who heard."""

    case: Case
    counted: bool
    times: int
    told: tuple[str, ...] = ()
    last_at: datetime | None = None


async def urge_case(
    session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, words: str, *, now: datetime,
    interval: timedelta,
) -> Urged:
    """Records the reporter's 催办 and tells the holder; the second and later climb the grid."""
    case = await residents_case(session, actor, case_id)
    if case.status is S.RESOLVED:
        raise CaseRefused(f"{case.number} 已办结。如果问题没有解决，请回复「不满意 {case.id} 原因」，我们会重新处理。")
    _still_open(case, "催办")
    earlier = list((await session.scalars(
        select(CaseEvent.at).where(CaseEvent.case_id == case.id, CaseEvent.action == EventKind.URGE)
        .order_by(CaseEvent.id.desc()))).all())
    if earlier and now - earlier[0] < interval:
        return Urged(case, False, len(earlier), last_at=earlier[0])
    times = len(earlier) + 1
    level = min(times - 1, MAX_URGE_LEVEL)
    holders = await _holders(session, directory, case)
    above = [p for p in await escalation_staff(session, directory, directory.unit(case.unit_id), level)
             if p.id not in {h.id for h in holders}] if level else []
    told = tuple(f"{p.role.label}{p.name}" for p in [*holders, *above])
    said = f"：{words}" if words else ""
    event = record_event(session, case, actor, EventKind.URGE.value, case.status, f"第{times}次催办{said}", now)
    if level:
        case.escalation_level = max(case.escalation_level, level)
        record_event(session, case, None, EventKind.ESCALATED.value, case.status,
                     f"居民第{times}次催办，第{level}级督办：上报{'、'.join(f'{p.role.label}{p.name}' for p in above)}", now)
    case.updated_at = now
    await session.flush()
    key = f"case:{case.id}:urge:{event.id}"
    for person in holders:
        await notify_staff(session, person, case, f"【居民催办】{case.number} 居民第{times}次催办{said}\n请尽快处理，"
                           f"并回复「进展 {case.id} 内容」告知居民。\n{case_summary(case, for_staff=True)}", key=key, now=now,
                           buttons=worker_buttons(case))
    holder = "、".join(f"{h.role.label}{h.name}" for h in holders) or "无"
    for person in above:
        await notify_staff(session, person, case, f"【催办督办·第{level}级】{case.number} 居民已第{times}次催办{said}，"
                           f"当前承办：{holder}（{case.status.label}）。请督促办理。\n{case_summary(case, for_staff=True)}",
                           key=key, now=now)
    return Urged(case, True, times, told)


_OUTBOX, _CASE = Outbox.__table__, Case.__table__


async def case_of_notice(session: AsyncSession, actor: Actor, channel: str, chat_id: str, message_id: str) -> int | None:
    """The case of the notice the resident replied to: a sent notice of one of their cases with that platform id
    (read through the resident's cases and the outbox's case index, never a scan of the outbox)."""
    if actor.is_staff:
        return None
    return await session.scalar(
        select(_OUTBOX.c.case_id).select_from(_OUTBOX.join(_CASE, _CASE.c.id == _OUTBOX.c.case_id))
        .where(_CASE.c.reporter_id == actor.id, _OUTBOX.c.channel == channel, _OUTBOX.c.chat_id == chat_id,
               _OUTBOX.c.platform_message_id == message_id).limit(1))

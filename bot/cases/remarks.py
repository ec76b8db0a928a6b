"""Words staff add to a case without moving it: an internal note (staff only) and a message to the resident.

Both are case events (audited like every change); the status stays. A note is never sent anywhere and never
shown outside staff views; a message goes through the outbox to the reporter's channel and shows in 查询."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.actions import staff_may_act
from bot.cases.lifecycle import CaseRefused, NoteRequired, record_event
from bot.cases.notices import notify_reporter
from bot.cases.queries import load_case
from bot.cases.scope import may_see
from bot.grid.directory import GridDirectory
from bot.pipeline.identities import Actor
from models import Case, CaseEvent, EventKind, Staff

MAX_REMARK = 1000


async def _case_for(session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, text: str,
                    example: str) -> Case:
    case = await load_case(session, case_id)
    if case is None or not actor.is_staff or not may_see(directory, actor, case):
        raise CaseRefused(f"未找到您可查看的工单 #{case_id}，请核对编号。")
    if not text.strip():
        raise NoteRequired(f"请写上内容，例如：{example} {case_id} ……")
    if len(text) > MAX_REMARK:
        raise CaseRefused(f"内容太长（{len(text)} 字），请控制在 {MAX_REMARK} 字以内。")
    return case


async def add_note(session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, text: str, *,
                   now: datetime) -> CaseEvent:
    """Adds an internal note any staff member who may see the case may write; nobody outside staff is told."""
    case = await _case_for(session, directory, actor, case_id, text, "备注")
    event = record_event(session, case, actor, EventKind.NOTE, case.status, text.strip(), now)
    await session.flush()
    return event


async def message_resident(session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int, text: str,
                           *, now: datetime) -> CaseEvent:
    """Sends the reporter a message from the staff member who may act on the case, through the outbox."""
    case = await _case_for(session, directory, actor, case_id, text, "留言")
    if not staff_may_act(directory, actor, case, "progress"):
        raise CaseRefused(f"您无权给 {case.number} 的居民留言：它不在您负责的网格或部门内，也未派给您。")
    staff = await session.get(Staff, actor.id)
    assert staff is not None
    event = record_event(session, case, actor, EventKind.MESSAGE, case.status, text.strip(), now)
    await session.flush()
    await notify_reporter(session, case, f"关于您反映的 {case.number}，{staff.role.label}{staff.name}留言：{text.strip()}",
                          key=f"case:{case.id}:message:{event.id}", now=now)
    return event

"""Merge and split on the staff case page, through bot.cases.merging (the same rules and notices as chat)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.actions import staff_may_act
from bot.cases.merging import SCOPE_ACTION, Duty, merge_cases, split_case
from bot.cases.queries import load_case
from bot.grid.routing import category_duty
from bot.web.auth import audit
from bot.web.common import STAFF, actor_of, case_form, services_of
from models import Case, CaseEvent, CaseKind

routes = web.RouteTableDef()
_NUMBER = re.compile(r"^[#＃]?\s*(\d{1,12})\s*号?$")


@routes.post(r"/cases/{case_id}/merge")
@case_form
async def merge(request: web.Request, case: Case, form: MultiDictProxy[Any]) -> str:
    """Merges the case named in the form into this one."""
    other = _NUMBER.match(str(form.get("other", "")).strip())
    note = str(form.get("note", "")).strip()[:500]
    if other is None:
        return "请填写要并入本单的工单编号，例如 12。"
    services = services_of(request)
    async with services.sessions.begin() as db:
        await merge_cases(db, services.directory, actor_of(request), case.id, int(other.group(1)),
                          now=services.clock.now(), note=note)
        await audit(request, db, "merge", staff_id=request[STAFF].id, case_id=case.id,
                    event_id=await _last_event(db, case.id), detail=f"#{other.group(1)} {note}".strip())
    return f"#{other.group(1)} 已并入 #{case.id}。"


@routes.post(r"/cases/{case_id}/split")
@case_form
async def split(request: web.Request, case: Case, form: MultiDictProxy[Any]) -> tuple[str, int]:
    """Splits the merged report named in the form off this case, as a case of its own."""
    which = str(form.get("which", "")).strip()[:32]
    note = str(form.get("note", "")).strip()[:500]
    services = services_of(request)
    async with services.sessions.begin() as db:
        follower = await load_case(db, int(m.group(1))) if (m := _NUMBER.match(which)) else None
        category = (services.classifier.current().rules.category(follower.category_code)
                    if follower is not None and follower.category_code else None)
        duty = Duty(*category_duty(category)) if category else None
        split_off = await split_case(db, services.directory, actor_of(request), case.id, which, duty=duty,
                                     now=services.clock.now(), note=note)
        await audit(request, db, "split", staff_id=request[STAFF].id, case_id=case.id,
                    event_id=await _last_event(db, case.id), detail=f"{split_off.number} {note}".strip())
    return f"{split_off.number} 已从 #{case.id} 拆出，单独办理。", split_off.id


def may_regroup(request: web.Request, case: Case) -> bool:
    """Whether the case page offers merge and split: reports the staff member may hand on (the lifecycle decides)."""
    return case.kind is CaseKind.REPORT and staff_may_act(services_of(request).directory, actor_of(request), case,
                                                          SCOPE_ACTION)


async def _last_event(db: AsyncSession, case_id: int) -> int | None:
    """The latest event of the case, the one the web audit row names."""
    await db.flush()
    return await db.scalar(select(func.max(CaseEvent.id)).where(CaseEvent.case_id == case_id))

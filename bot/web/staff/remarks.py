"""The case page's internal note and message to the resident, through bot.cases.remarks; audited with channel web."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.cases.remarks import MAX_REMARK, add_note, message_resident
from bot.web.auth import audit
from bot.web.common import STAFF, actor_of, case_form, services_of
from models import Case

routes = web.RouteTableDef()
REMARKS = {"note": (add_note, "内部备注"), "message": (message_resident, "给居民留言")}


@routes.post(r"/cases/{case_id}/remark")
@case_form
async def remark(request: web.Request, case: Case, form: MultiDictProxy[Any]) -> str:
    """Adds an internal note or sends the resident a message."""
    kind, text = str(form.get("kind", "")), str(form.get("text", "")).strip()
    if kind not in REMARKS:
        return "未知的操作。"
    write, label = REMARKS[kind]
    services = services_of(request)
    async with services.sessions.begin() as db:
        event = await write(db, services.directory, actor_of(request), case.id, text[:MAX_REMARK + 1],
                            now=services.clock.now())
        await audit(request, db, kind, staff_id=request[STAFF].id, case_id=case.id, event_id=event.id, detail=text)
    return f"{label}：已完成。"

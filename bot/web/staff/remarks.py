"""The case page's internal note and message to the resident, through bot.cases.remarks; audited with channel web."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from bot.cases.lifecycle import CaseRefused
from bot.cases.remarks import MAX_REMARK, add_note, message_resident
from bot.web.auth import audit
from bot.web.common import STAFF, actor_of, not_found, services_of, visible_case

routes = web.RouteTableDef()
REMARKS = {"note": (add_note, "内部备注"), "message": (message_resident, "给居民留言")}


@routes.post(r"/cases/{case_id}/remark")
async def remark(request: web.Request) -> web.Response:
    """Adds an internal note or sends the resident a message; refusals come back as a message on the case page."""
    services = services_of(request)
    case = await visible_case(request)
    if case is None:
        return not_found(request, "未找到该工单，或它不在您负责的范围内。")
    form = await request.post()
    kind, text = str(form.get("kind", "")), str(form.get("text", "")).strip()
    session = await get_session(request)
    if kind not in REMARKS:
        session["flash"] = "未知的操作。"
        raise web.HTTPFound(f"/staff/cases/{case.id}")
    write, label = REMARKS[kind]
    try:
        async with services.sessions.begin() as db:
            event = await write(db, services.directory, actor_of(request), case.id, text[:MAX_REMARK + 1],
                                now=services.clock.now())
            await audit(request, db, kind, staff_id=request[STAFF].id, case_id=case.id, event_id=event.id, detail=text)
        session["flash"] = f"{label}：已完成。"
    except CaseRefused as refusal:
        session["flash"] = str(refusal)
    raise web.HTTPFound(f"/staff/cases/{case.id}")

"""One case for staff: its timeline, messages, notices, photos, duplicates, SLA, and the actions chat offers."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select

from bot.cases.actions import staff_may_act
from bot.cases.lifecycle import NOTE_REQUIRED, TRANSITIONS
from bot.cases.queries import case_events
from bot.cases.scope import may_see, may_see_phones
from bot.pipeline.identities import mask_phones_in
from bot.web.common import actor_of, case_form, local, not_found, phone_for, render, services_of, visible_case
from bot.web.photos import PHOTO_SOURCES, fetch_case_photos
from bot.web.staff.cases import act_on_case
from bot.web.staff.regroup import may_regroup
from models import Case, CasePhoto, CaseStatus, InboundMessage, Outbox, SendState

routes = web.RouteTableDef()
TARGETED = {"transfer", "assign"}


@routes.get(r"/cases/{case_id}")
async def case_page(request: web.Request) -> web.Response:
    """Everything about one case the staff member may see, with the actions they may take."""
    services = services_of(request)
    case = await visible_case(request)
    if case is None:
        return not_found(request, "未找到该工单，或它不在您负责的范围内。")
    actor = actor_of(request)
    photos = await fetch_case_photos(services.sessions, services.settings, request.config_dict[PHOTO_SOURCES], case,
                                     now=services.clock.now())
    async with services.sessions() as db:
        events = await case_events(db, case.id)
        messages = (await db.scalars(select(InboundMessage).where(InboundMessage.case_id == case.id)
                                     .order_by(InboundMessage.id).limit(200))).all()
        notices = (await db.scalars(select(Outbox).where(Outbox.case_id == case.id).order_by(Outbox.id)
                                    .limit(200))).all()
        followers = (await db.execute(select(Case.id, Case.status, Case.created_at)
                                      .where(Case.duplicate_of_id == case.id).order_by(Case.id).limit(200))).all()
    actions = [(name, t.label, name in NOTE_REQUIRED, name in TARGETED) for name, t in TRANSITIONS.items()
               if case.status in t.sources and staff_may_act(services.directory, actor, case, name)]
    may_message = staff_may_act(services.directory, actor, case, "progress")
    unmasked = may_see_phones(actor)
    shown = (lambda text: text) if unmasked else mask_phones_in
    return render(request, "staff/case.html", {
        "case": case, "text": shown(case.text), "status": CaseStatus(case.status), "unit": services.directory.unit(case.unit_id),
        "phone": phone_for(case.reporter.phone, unmasked),
        "events": [{"at": local(e.at, services), "who": e.actor_name, "what": e.action.label,
                    "from": e.from_status.label if e.from_status else "", "to": e.to_status.label if e.to_status else "",
                    "note": shown(e.note)} for e in events],
        "messages": [{"at": local(m.received_at, services), "text": shown(m.text or "")} for m in messages],
        "notices": [{"at": local(n.created_at, services), "to": n.recipient, "text": shown(n.text),
                     "state": f"{n.state}：{n.last_error}" if n.state is SendState.DEAD and n.last_error else n.state}
                    for n in notices],  # a dead letter says why
        "followers": [{"id": f.id, "status": CaseStatus(f.status).label, "at": local(f.created_at, services)}
                      for f in followers],
        "regroup": may_regroup(request, case),
        "photos": photos, "pending_photos": max(0, len(case.media or []) - len(photos)), "actions": actions,
        "may_message": may_message,
        "times": {k: local(getattr(case, k), services) for k in (
            "created_at", "assigned_at", "accept_due_at", "accepted_at", "resolve_due_at", "resolved_at",
            "closed_at")},
        "overdue": bool(CaseStatus(case.status).is_open and case.resolve_due_at
                        and case.resolve_due_at < services.clock.now()),
    })


@routes.post(r"/cases/{case_id}/act")
@case_form
async def case_action(request: web.Request, case: Case, form: MultiDictProxy[Any]) -> str:
    """Applies one action through the lifecycle (the same notices as chat)."""
    action = str(form.get("action", ""))
    if action not in TRANSITIONS:
        return "未知的操作。"
    async with services_of(request).sessions.begin() as db:
        await act_on_case(request, db, case.id, action, note=str(form.get("note", "")).strip()[:1000],
                          target=str(form.get("target", "")).strip()[:64] or None)
    return f"{TRANSITIONS[action].label}：已完成。"


@routes.get(r"/photos/{photo_id:\d{1,12}}")
async def photo(request: web.Request) -> web.StreamResponse:
    """A stored photo, only to staff who may see its case."""
    services = services_of(request)
    async with services.sessions() as db:
        row = await db.get(CasePhoto, int(request.match_info["photo_id"]))
        case = await db.get(Case, row.case_id) if row is not None else None
    if row is None or case is None or not row.file_name or not may_see(services.directory, actor_of(request), case):
        raise web.HTTPNotFound(text="未找到该照片。")
    path = services.settings.photo_dir / row.file_name
    if not path.is_file():
        raise web.HTTPNotFound(text="照片文件已不在。")
    return web.FileResponse(path, headers={"Content-Type": row.content_type, "Cache-Control": "private, no-store",
                                           "X-Content-Type-Options": "nosniff"})



"""Triage queue with the classifier's top three suggestions, and the rules tester (what a message would become)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import select

from bot.cases.scope import case_filter
from bot.grid.routing import TRIAGE_ROLES, Responsibility, route
from bot.understanding.corrections import TRIAGE_STATUSES, CorrectionRefused, place_from_triage
from bot.understanding.decision import SUGGESTIONS
from bot.web.auth import audit
from bot.web.common import STAFF, actor_of, local, render, services_of
from models import Case, CaseKind, CaseStatus

routes = web.RouteTableDef()
LOCATION_SOURCES = {"text_building": "文字中的楼栋", "text_compound": "文字中的小区", "group": "所在群",
                    "home": "居民登记的住址"}


@routes.get("/triage")
async def triage_page(request: web.Request) -> web.Response:
    """Cases waiting for a human in the viewer's scope, most urgent first, each with three suggested categories."""
    services = services_of(request)
    actor = actor_of(request)
    classifier = services.classifier.current()
    async with services.sessions() as db:
        cases = (await db.execute(
            select(Case.id, Case.text, Case.kind, Case.place, Case.status, Case.created_at, Case.category_name,
                   Case.priority)
            .where(case_filter(services.directory, actor), Case.status.in_(TRIAGE_STATUSES))
            .order_by(Case.priority.desc(), Case.created_at).limit(50))).all()
    rows = []
    for case in cases:
        found = classifier.categorize(case.text, CaseKind(case.kind).value)
        rows.append({"id": case.id, "text": case.text, "place": case.place, "status": CaseStatus(case.status).label,
                     "at": local(case.created_at, services), "category": case.category_name or "未分类",
                     "suggestions": [(m.category.code, m.category.name, f"{m.score:.2f}")
                                     for m in found.candidates[:SUGGESTIONS]]})
    return render(request, "staff/triage.html", {"rows": rows, "may_assign": actor.role in TRIAGE_ROLES})


@routes.post(r"/triage/{case_id:\d{1,9}}/pick")
async def triage_pick(request: web.Request) -> web.Response:
    """One tap on a suggestion: the case takes that category (a correction when it differs) and is routed by it."""
    services = services_of(request)
    form = await request.post()
    session = await get_session(request)
    category = services.classifier.current().rules.category(str(form.get("category", "")))
    case_id = int(request.match_info["case_id"])
    if category is None:
        session["flash"] = "未知的类别。"
        raise web.HTTPFound("/staff/triage")
    try:
        async with services.sessions.begin() as db:
            case, assignment = await place_from_triage(db, services.directory, actor_of(request), case_id, category,
                                                       now=services.clock.now())
            await audit(request, db, "triage_pick", staff_id=request[STAFF].id, case_id=case.id, detail=category.code)
        session["flash"] = f"{case.number} 已分拣为「{category.name}」：{assignment.reason}。"
    except CorrectionRefused as refusal:
        session["flash"] = str(refusal)
    raise web.HTTPFound("/staff/triage")


@routes.get("/rules")
async def rules_tester(request: web.Request) -> web.Response:
    """Shows what a pasted message would become: intent, category, keywords, place and the routing decision."""
    services = services_of(request)
    text = request.query.get("text", "").strip()[:services.settings.max_text_chars]
    result = None
    if text:
        found = services.classifier.current().classify(text)
        actor = actor_of(request)
        home = services.directory.unit(actor.unit_id) if actor.unit_id else None
        location = services.directory.locate(text, group_unit=None, home_unit=home)
        routing = "未能定位，无法判断派给谁"
        if location is not None:
            duty = (Responsibility(found.category.role, found.category.department, found.category.department_only)
                    if found.category else None)
            async with services.sessions() as db:
                routing = (await route(db, services.directory, location.unit, duty)).reason
        result = {
            "intent": found.intent.value, "category": found.category.name if found.category else "未识别",
            "confidence": f"{found.confidence:.2f}", "keywords": "、".join(found.keywords) or "无",
            "candidates": [(m.category.name, f"{m.score:.2f}", "、".join(m.keywords)) for m in found.candidates[:3]],
            "place": f"{location.unit.name}（依据：{LOCATION_SOURCES.get(location.source, location.source)}"
                     f"{'「' + location.matched + '」' if location.matched else ''}）" if location else "未能定位",
            "routing": routing,
        }
    return render(request, "staff/rules.html", {"text": text, "result": result})

"""What every page shares: app keys, the signed-in staff member, rendering with CSRF, dates in local time."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from multidict import MultiDictProxy

from bot.cases.lifecycle import CaseRefused
from bot.cases.queries import load_case
from bot.cases.scope import may_see
from bot.pipeline.identities import Actor, mask_phone
from bot.services import Services
from models import Case, CaseKind, CaseStatus, Staff, StaffRole

SERVICES = web.AppKey("web_services", Services)
ACTOR = web.RequestKey("actor", Actor)  # the signed-in staff member as the lifecycle sees them
STAFF = web.RequestKey("staff", Staff)  # their Staff row
CSRF = web.RequestKey("csrf", str)  # the session's CSRF token
FLASH = web.RequestKey("flash", str)  # a one-time message from the previous request


def services_of(request: web.Request) -> Services:
    return request.config_dict[SERVICES]


def actor_of(request: web.Request) -> Actor:
    return request[ACTOR]


def actor_for(staff: Staff) -> Actor:
    """The lifecycle's view of a staff member acting on the web."""
    return Actor(kind="staff", id=staff.id, name=staff.name, identity_id=0, role=staff.role, unit_id=staff.unit_id,
                 department=staff.department)


def render(request: web.Request, template: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    """Renders a page with what the layout needs: the staff member, the CSRF token, labels, a flash message."""
    services = services_of(request)
    context.setdefault("me", request.get(STAFF))
    context.setdefault("csrf", request.get(CSRF, ""))
    context.setdefault("flash", request.get(FLASH))
    context.update(status_labels={s.value: s.label for s in CaseStatus}, kind_labels={k.value: k.label for k in CaseKind},
                   role_labels={r.value: r.label for r in StaffRole},
                   tz=services.settings.tz)
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store" if request.get(STAFF) else response.headers.get(
        "Cache-Control", "no-cache")
    return response


def local(value: datetime | None, services: Services, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(services.settings.tz).strftime(fmt) if value else ""


def day_start(day: date, services: Services) -> datetime:
    """Midnight of a local calendar day, as an aware datetime."""
    return datetime.combine(day, time(), tzinfo=services.settings.tz)


def phone_for(phone: str | None, unmasked: bool) -> str:
    return (phone or "") if unmasked else mask_phone(phone)


def not_found(request: web.Request, message: str = "未找到该页面，或您无权查看。") -> web.Response:
    return render(request, "error.html", {"message": message}, status=404)


async def visible_case(request: web.Request) -> Case | None:
    """The case the URL names, when the staff member may see it; None alike for a bad number, a missing case and
    another grid's (numbers reveal nothing)."""
    raw = request.match_info["case_id"]
    if not raw.isdigit() or len(raw) > 12:
        return None
    services = services_of(request)
    async with services.sessions() as db:
        case = await load_case(db, int(raw))
    return case if case is not None and may_see(services.directory, actor_of(request), case) else None


# What a case-page form does: the flash to show, and (when not the same case) the case page to go back to.
CaseFormAction = Callable[[web.Request, Case, MultiDictProxy[Any]], Awaitable[str | tuple[str, int]]]


def case_form(action: CaseFormAction) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A form posted on a case page: 404 unless the staff member may see the case; the action's outcome, or the
    lifecycle's refusal, is flashed on the case page it names."""
    @functools.wraps(action)
    async def handler(request: web.Request) -> web.StreamResponse:
        case = await visible_case(request)
        if case is None:
            return not_found(request, "未找到该工单，或它不在您负责的范围内。")
        form = await request.post()
        try:
            outcome = await action(request, case, form)
        except CaseRefused as refusal:
            outcome = str(refusal)
        flash, page = (outcome, case.id) if isinstance(outcome, str) else outcome
        (await get_session(request))["flash"] = flash
        raise web.HTTPFound(f"/staff/cases/{page}")
    return handler

"""Public progress pages (公开公示): district, street and community figures and resolved cases; nothing personal.

Pages are rendered once per unit and kept for GRIDBOT_WEB_PUBLIC_CACHE_SECONDS, so a busy page costs a dictionary
lookup. What residents wrote is shown only in its public wording: phone numbers, house numbers and names removed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.figures import DONE, figures_for
from bot.grid.directory import GridDirectory, UnitRef
from bot.reports.weekly import PUBLIC_PAGE_LEVELS
from bot.web.common import local, services_of
from models import Case, Resident, Staff, UnitLevel

routes = web.RouteTableDef()
PUBLIC_LEVELS = PUBLIC_PAGE_LEVELS  # the units with a public page, one definition beside the report that links them
_PHONE = re.compile(r"(?:\+?86[- ]?)?\d[\d\- ]{5,}\d")
_HOUSE = re.compile(r"\d+\s*-\s*\d+(?:\s*-\s*\d+)?|\d+\s*单元\s*\d*\s*(?:室|号|层)?|\d+\s*(?:室|户|房间?)"
                    r"|\d{3,4}(?=\D|$)")
_HONORIFIC = re.compile(r"[\u4e00-\u9fff](?:先生|女士|小姐|大爷|大妈|阿姨|师傅|奶奶|爷爷|老师|书记|主任)")
_NAME_LEAD = re.compile(r"(?:我叫|我是|姓名[:：]?|联系人[:：]?)\s*[\u4e00-\u9fff]{2,3}")
PublicSection = Callable[[AsyncSession, UnitRef, datetime], Awaitable[dict[str, Any] | None]]
# Slots other features fill (issue 14: the wish wall and projects; issue 15: the roaming-desk rota): each app key
# holds a function returning the section's template context for a unit, or None to leave the slot out.
SECTIONS = web.AppKey("public_sections", dict)
CACHE = web.AppKey("public_cache", dict)


def public_wording(text: str, names: frozenset[str] = frozenset()) -> str:
    """A resident's words as the public may read them: no phone or house numbers, no names we know of."""
    text = _PHONE.sub("***", text)
    text = _HOUSE.sub("**", text)
    text = _NAME_LEAD.sub("居民", text)
    text = _HONORIFIC.sub("居民", text)
    for name in sorted((n for n in names if len(n) >= 2), key=len, reverse=True):
        text = text.replace(name, "**")
    return text


@dataclass(frozen=True)
class Cached:
    body: bytes
    until: datetime


def public_place(directory: GridDirectory, unit: UnitRef) -> str:
    """A case's place as the public sees it: the compound (or the unit above), never the building or household."""
    grid = directory.ancestor_at(unit, UnitLevel.GRID)
    return (grid or unit).name


async def _context(request: web.Request, unit: UnitRef) -> dict[str, Any]:
    services = services_of(request)
    directory = services.directory
    now = services.clock.now()
    local_now = now.astimezone(services.settings.tz)
    month = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year = month.replace(month=1)
    async with services.sessions() as db:
        this_month = await figures_for(db, unit_path=unit.path, since=month, until=now + timedelta(seconds=1))
        this_year = await figures_for(db, unit_path=unit.path, since=year, until=now + timedelta(seconds=1))
        resolved = (await db.execute(
            select(Case.id, Case.unit_id, Case.text, Case.category_name, Case.resolved_at, Case.closed_at,
                   Case.reporter_id)
            .where(Case.unit_path.startswith(unit.path, autoescape=True), Case.status.in_(DONE))
            .order_by(Case.updated_at.desc()).limit(12))).all()
        names = set((await db.scalars(select(Resident.display_name).where(
            Resident.id.in_([r.reporter_id for r in resolved])))).all())
        names |= set((await db.scalars(select(Staff.name))).all())
        sections = {}
        for name, provider in request.app[SECTIONS].items():
            sections[name] = await provider(db, unit, now)
    return {
        "unit": unit, "trail": directory.ancestors(unit)[:-1],
        "children": [u for u in directory.children(unit) if u.level in PUBLIC_LEVELS],
        "month": this_month, "year": this_year, "updated": local(now, services),
        "resolved": [{"category": r.category_name or "其他", "place": public_place(directory, directory.unit(r.unit_id)),
                      "text": public_wording(r.text, frozenset(names))[:120],
                      "at": local(r.resolved_at or r.closed_at, services, "%Y-%m-%d")} for r in resolved],
        "sections": sections,
    }


async def _page(request: web.Request, unit: UnitRef) -> web.Response:
    services = services_of(request)
    cache: dict[str, Cached] = request.app[CACHE]
    now = services.clock.now()
    hit = cache.get(unit.code)
    if hit is None or hit.until <= now:
        body = aiohttp_jinja2.render_string("public/unit.html", request, await _context(request, unit))
        hit = Cached(body.encode("utf-8"), now + timedelta(seconds=services.settings.web_public_cache_seconds))
        if services.settings.web_public_cache_seconds > 0:
            cache[unit.code] = hit
    return web.Response(body=hit.body, content_type="text/html", charset="utf-8", headers={
        "Cache-Control": f"public, max-age={int(services.settings.web_public_cache_seconds)}"})


@routes.get("/")
async def district_page(request: web.Request) -> web.Response:
    """The district's page."""
    root = next((u for u in services_of(request).directory.units(UnitLevel.DISTRICT)), None)
    if root is None:
        raise web.HTTPNotFound(text="尚未载入辖区。")
    return await _page(request, root)


@routes.get("/{code}")
async def unit_page(request: web.Request) -> web.Response:
    """A street's or a community's page (by unit code); the link a group's weekly report carries."""
    unit = services_of(request).directory.by_code(request.match_info["code"][:64])
    if unit is None or unit.level not in PUBLIC_LEVELS:
        raise web.HTTPNotFound(text="未找到该街道或社区。")
    return await _page(request, unit)


async def to_public(request: web.Request) -> web.Response:
    """`/` sends visitors to the public pages."""
    raise web.HTTPFound("/public/")


async def robots(request: web.Request) -> web.Response:
    """Search engines may read the public pages and nothing else."""
    return web.Response(text="User-agent: *\nAllow: /public/\nDisallow: /staff/\nDisallow: /\n",
                        content_type="text/plain")

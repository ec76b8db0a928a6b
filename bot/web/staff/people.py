"""Staff management for secretaries: who is on duty, leave, moving a grid worker to another grid of the community."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import select

from bot.cases.scope import is_admin, scope_unit
from bot.grid.directory import UnitRef
from bot.web.auth import audit
from bot.web.common import STAFF, actor_of, not_found, render, services_of
from models import Staff, StaffRole, UnitLevel

routes = web.RouteTableDef()
MANAGERS = frozenset({StaffRole.COMMUNITY_SECRETARY, StaffRole.STREET_OFFICER})
MANAGED = frozenset({StaffRole.GRID_WORKER, StaffRole.BUILDING_LEAD, StaffRole.HOUSEHOLD_LEAD,
                     StaffRole.COMMUNITY_STAFF, StaffRole.VOLUNTEER})


def _managed_unit(request: web.Request) -> UnitRef | None:
    services = services_of(request)
    actor = actor_of(request)
    if actor.role not in MANAGERS and not is_admin(services.directory, actor):
        return None
    return scope_unit(services.directory, actor)


@routes.get("/people")
async def people_page(request: web.Request) -> web.Response:
    """The staff in the manager's unit with their duty state, and the grids a worker may be moved to."""
    services = services_of(request)
    unit = _managed_unit(request)
    if unit is None:
        return not_found(request, "人员管理面向社区书记和街道干部。")
    units = {u.id: u for u in services.directory.units() if unit.contains(u)}
    async with services.sessions() as db:
        people = (await db.scalars(select(Staff).where(Staff.unit_id.in_(list(units)), Staff.role.in_(MANAGED))
                                   .order_by(Staff.role, Staff.code))).unique().all()
    grids = [u for u in units.values() if u.level is UnitLevel.GRID]
    return render(request, "staff/people.html", {
        "people": [{"code": p.code, "name": p.name, "role": p.role.value, "unit": units[p.unit_id].name,
                    "on_duty": p.on_duty} for p in people], "grids": sorted(grids, key=lambda u: u.code),
        "unit": unit})


@routes.post("/people/{code}")
async def change_person(request: web.Request) -> web.Response:
    """On duty, off duty (leave, with a reason) or another grid; only for staff inside the manager's unit."""
    services = services_of(request)
    unit = _managed_unit(request)
    if unit is None:
        return not_found(request, "人员管理面向社区书记和街道干部。")
    form = await request.post()
    op, reason = str(form.get("op", "")), str(form.get("reason", "")).strip()[:200]
    session = await get_session(request)
    async with services.sessions.begin() as db:
        person = await db.scalar(select(Staff).where(Staff.code == request.match_info["code"][:64]))
        if person is None or person.role not in MANAGED or not unit.contains(services.directory.unit(person.unit_id)):
            return not_found(request, "未找到该人员，或不在您管理的范围内。")
        if op in {"on", "off"}:
            person.on_duty = op == "on"
            detail = f"{person.code} {'在岗' if op == 'on' else '离岗'}{('：' + reason) if reason else ''}"
        elif op == "move":
            grid = services.directory.by_code(str(form.get("grid", "")))
            if person.role is not StaffRole.GRID_WORKER or grid is None or grid.level is not UnitLevel.GRID \
                    or not unit.contains(grid):
                session["flash"] = "只能把网格员调到本辖区内的网格。"
                raise web.HTTPFound("/staff/people")
            person.unit_id = grid.id
            detail = f"{person.code} 调至 {grid.name}"
        else:
            session["flash"] = "未知的操作。"
            raise web.HTTPFound("/staff/people")
        await audit(request, db, f"staff_{op}", staff_id=request[STAFF].id, detail=detail)
    session["flash"] = f"已更新：{detail}。"
    raise web.HTTPFound("/staff/people")

"""The JSON API at /api/v1/ for other systems and staff tools, with its OpenAPI document at /api/v1/openapi.json."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.services import Services
from bot.web.api import cases, reference
from bot.web.api.access import ApiError, ApiScope, scope_of
from bot.web.api.schema import (
    ActionIn,
    CaseCreate,
    CaseDetail,
    CaseFilters,
    CaseOut,
    CasePage,
    CategoryOut,
    ErrorBody,
    Problem,
    ProjectFilters,
    ProjectOut,
    StatisticsFilters,
    StatisticsOut,
    UnitOut,
    WishFilters,
    WishOut,
)
from bot.web.api.spec import Operation, document
from bot.web.keys import RateLimiter

BASE = "/api/v1"
VERSION = "1.0.0"
MAX_BODY = 64 * 1024
MAX_ID = 2**31 - 1  # case ids are 32-bit integers on PostgreSQL
SERVICES = web.AppKey("api_services", Services)
LIMITER = web.AppKey("api_limiter", RateLimiter)

Serve = Callable[[web.Request, Services, ApiScope], Awaitable[web.Response]]


def error(status: int, code: str, message: str) -> web.Response:
    body = ErrorBody(error=Problem(code=code, message=message))
    return web.Response(text=body.model_dump_json(), status=status, content_type="application/json")


def _json(value: BaseModel | list[BaseModel], status: int = 200) -> web.Response:
    if isinstance(value, list):
        text = "[" + ",".join(item.model_dump_json() for item in value) + "]"
    else:
        text = value.model_dump_json()
    return web.Response(text=text, status=status, content_type="application/json")


def _query(model: type[BaseModel], request: web.Request) -> Any:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ApiError(400, "bad_request", f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


async def _body(model: type[BaseModel], request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise ApiError(400, "bad_request", "send the body as application/json")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", f"the body is over {MAX_BODY} bytes")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too_large", f"the body is over {MAX_BODY} bytes")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "body"
        raise ApiError(400, "bad_request", f"{where}: {first['msg']}") from None


def _case_id(request: web.Request) -> int:
    raw = request.match_info["case_id"]
    if not raw.isdigit() or len(raw) > 10 or not 1 <= int(raw) <= MAX_ID:
        raise ApiError(404, "not_found", f"no case {raw!r}")
    return int(raw)


def _authenticated(serve: Serve) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def run(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        try:
            async with services.sessions() as session:
                scope = await scope_of(session, services.directory, request)
            if not request.app[LIMITER].allow(f"key:{scope.caller.key_id}", scope.caller.per_minute):
                raise ApiError(429, "rate_limited", f"this key is over {scope.caller.per_minute} requests a minute")
            return await serve(request, services, scope)
        except ApiError as exc:
            return error(exc.status, exc.code, exc.message)
    run.__name__ = serve.__name__
    return run


async def list_cases(request: web.Request, services: Services, scope: ApiScope) -> web.Response:
    """Lists the caller's cases with the dashboard's filters, a page at a time."""
    filters = _query(CaseFilters, request)
    async with services.sessions() as session:
        return _json(await cases.list_cases(session, services, scope, filters))


async def get_case(request: web.Request, services: Services, scope: ApiScope) -> web.Response:
    """One case with its timeline."""
    case_id = _case_id(request)
    async with services.sessions() as session:
        return _json(await cases.one_case(session, services, scope, case_id))


async def create_case(request: web.Request, services: Services, scope: ApiScope) -> web.Response:
    """Files a case handed over by another system; routed and notified as a chat report is."""
    body = await _body(CaseCreate, request)
    async with services.sessions.begin() as session:
        case_id = await cases.create_case(session, services, scope, body)
    async with services.sessions() as session:
        detail = await cases.one_case(session, services, scope, case_id, check_scope=False)
    return _json(CaseOut.model_validate(detail.model_dump(exclude={"events", "duplicates"})), status=201)


async def act_on_case(request: web.Request, services: Services, scope: ApiScope) -> web.Response:
    """Accept, progress, resolve, transfer, return or reject a case, as the chat commands do."""
    case_id = _case_id(request)
    body = await _body(ActionIn, request)
    async with services.sessions.begin() as session:
        await cases.act(session, services, scope, case_id, body)
    async with services.sessions() as session:
        return _json(await cases.one_case(session, services, scope, case_id, check_scope=False))


async def list_categories(request: web.Request, services: Services, scope: ApiScope) -> web.Response:
    """The categories of the live rules."""
    return _json(reference.categories(services))


async def list_units(request: web.Request, services: Services, scope: ApiScope) -> web.Response:
    """The grid units in the caller's scope."""
    return _json(reference.units(services, scope))


async def get_statistics(request: web.Request, services: Services, scope: ApiScope) -> web.Response:
    """The figures leaders read, for a unit and a period."""
    filters = _query(StatisticsFilters, request)
    async with services.sessions() as session:
        return _json(await reference.statistics(session, services, scope, filters))


async def list_wishes(request: web.Request, services: Services, scope: ApiScope) -> web.Response:
    """Published wishes with their progress (the public wish wall)."""
    filters = _query(WishFilters, request)
    async with services.sessions() as session:
        return _json(await reference.wishes(session, services, scope, filters))


async def list_projects(request: web.Request, services: Services, scope: ApiScope) -> web.Response:
    """A community's projects of a year (为民办十件实事) with their progress."""
    filters = _query(ProjectFilters, request)
    async with services.sessions() as session:
        return _json(await reference.projects(session, services, scope, filters))


OPERATIONS = [
    Operation("GET", f"{BASE}/cases", "List cases", _authenticated(list_cases), query=CaseFilters,
              response=CasePage),
    Operation("POST", f"{BASE}/cases", "Create a case", _authenticated(create_case), body=CaseCreate,
              response=CaseOut, status=201),
    Operation("GET", f"{BASE}/cases/{{case_id}}", "One case with its timeline", _authenticated(get_case),
              response=CaseDetail, path_params={"case_id": "the case number"}),
    Operation("POST", f"{BASE}/cases/{{case_id}}/actions", "Act on a case (staff keys)",
              _authenticated(act_on_case), body=ActionIn, response=CaseDetail,
              path_params={"case_id": "the case number"}),
    Operation("GET", f"{BASE}/categories", "Categories", _authenticated(list_categories), response=CategoryOut,
              response_list=True),
    Operation("GET", f"{BASE}/units", "Grid units in scope", _authenticated(list_units), response=UnitOut,
              response_list=True),
    Operation("GET", f"{BASE}/statistics", "Figures of a unit and period", _authenticated(get_statistics),
              query=StatisticsFilters, response=StatisticsOut),
    Operation("GET", f"{BASE}/wishes", "Published wishes", _authenticated(list_wishes), query=WishFilters,
              response=WishOut, response_list=True),
    Operation("GET", f"{BASE}/projects", "A community's projects of a year", _authenticated(list_projects),
              query=ProjectFilters, response=ProjectOut, response_list=True),
]


def setup(app: web.Application, services: Services) -> None:
    """Adds the API's routes and its OpenAPI document to the service's app."""
    app[SERVICES] = services
    app[LIMITER] = RateLimiter()

    async def openapi(request: web.Request) -> web.Response:
        """The OpenAPI 3.1 document of this API, generated from its operations and models."""
        server = f"{request.scheme}://{request.host}"
        doc = document(OPERATIONS, title="gridbot API", version=VERSION, server=server)
        return web.Response(text=json.dumps(doc, ensure_ascii=False), content_type="application/json")

    app.router.add_get(f"{BASE}/openapi.json", openapi)
    for op in OPERATIONS:
        app.router.add_route(op.method, op.path, op.handler)

"""Open311 GeoReport v2 at /open311/v2/: discovery, services, service definitions, requests, tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.services import Services
from bot.web.keys import RateLimiter, caller_of
from bot.web.open311.catalog import definition, reportable, service
from bot.web.open311.formats import Open311Error, error_response, respond
from bot.web.open311.places import UnitPoints
from bot.web.open311.requests import create_request, find_requests, parse_form, parse_query, request_of_token
from models import UnitLevel

BASE = "/open311/v2"
FMT = "{fmt:json|xml}"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-02T00:00:00+08:00"
READS_PER_MINUTE = 600  # per client address, for the unauthenticated GETs
REQUEST_ITEM_TAGS = {"attributes": "attribute", "values": "value"}

Handler = Callable[[web.Request, "Open311"], Awaitable[web.Response]]


class Open311:
    """The GeoReport v2 endpoints over the service's cases, one instance per app."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.limiter = RateLimiter()
        self.points = UnitPoints()

    @property
    def jurisdiction(self) -> str:
        """The district's code: the only jurisdiction_id this endpoint serves."""
        roots = self.services.directory.units(UnitLevel.DISTRICT)
        return roots[0].code if roots else ""

    def check(self, request: web.Request, *, reads: bool = True, jurisdiction: str | None = None) -> None:
        """Refuses another jurisdiction and a client reading too fast."""
        jurisdiction = jurisdiction or request.query.get("jurisdiction_id")
        if jurisdiction and jurisdiction != self.jurisdiction:
            raise Open311Error(404, f"jurisdiction_id {jurisdiction!r} is not served here (this is {self.jurisdiction})")
        if reads and not self.limiter.allow(f"addr:{request.remote}", READS_PER_MINUTE):
            raise Open311Error(429, "too many requests; slow down")


def _guarded(handler: Handler, open311: Open311) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def run(request: web.Request) -> web.Response:
        fmt = request.match_info.get("fmt", "json")
        try:
            return await handler(request, open311)
        except Open311Error as error:
            return error_response(fmt, error)
    return run


async def discovery(request: web.Request, open311: Open311) -> web.Response:
    """discovery.{fmt}: where the endpoint is and what it speaks."""
    base = f"{request.scheme}://{request.host}{BASE}"
    body = {"changeset": CHANGESET, "contact": "渭滨区网格化服务管理中心", "key_service": "python run.py apikey create NAME",
            "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": CHANGESET, "type": "production",
                           "formats": ["text/xml", "application/json"]}]}
    return respond(request.match_info["fmt"], body, root="discovery",
                   item_tags={"endpoints": "endpoint", "formats": "format"})


async def services_list(request: web.Request, open311: Open311) -> web.Response:
    """services.{fmt}: one service per category residents may report."""
    open311.check(request)
    rules = open311.services.classifier.current().rules
    return respond(request.match_info["fmt"], [service(rules, c) for c in reportable(rules)], root="services", item="service")


async def service_definition(request: web.Request, open311: Open311) -> web.Response:
    """services/{service_code}.{fmt}: the attributes of one service."""
    open311.check(request)
    code = request.match_info["service_code"]
    rules = open311.services.classifier.current().rules
    category = next((c for c in reportable(rules) if c.code == code), None)
    if category is None:
        raise Open311Error(404, f"service_code {code!r} is not a service of this jurisdiction")
    return respond(request.match_info["fmt"], definition(category), root="service_definition",
                   item_tags=REQUEST_ITEM_TAGS)


async def requests_list(request: web.Request, open311: Open311) -> web.Response:
    """GET requests.{fmt}: requests by id, or of the last 90 days by service, date and status (at most 1,000)."""
    open311.check(request)
    query = parse_query(request.query)
    services = open311.services
    async with services.sessions() as session:
        items = await find_requests(session, services.directory, open311.points, query, now=services.clock.now())
    return respond(request.match_info["fmt"], items, root="service_requests", item="request")


async def request_one(request: web.Request, open311: Open311) -> web.Response:
    """requests/{id}.{fmt}: one request, as an array of one."""
    open311.check(request)
    raw = request.match_info["request_id"]
    query = parse_query({"service_request_id": raw})
    services = open311.services
    async with services.sessions() as session:
        items = await find_requests(session, services.directory, open311.points, query, now=services.clock.now())
    if not items:
        raise Open311Error(404, f"no service request {raw}")
    return respond(request.match_info["fmt"], items, root="service_requests", item="request")


async def token_one(request: web.Request, open311: Open311) -> web.Response:
    """tokens/{token}.{fmt}: the request id behind a token."""
    open311.check(request)
    token = request.match_info["token"]
    async with open311.services.sessions() as session:
        found = await request_of_token(session, token)
    if found is None:
        raise Open311Error(404, "no service request has this token")
    return respond(request.match_info["fmt"], [found], root="service_requests", item="request")


async def requests_create(request: web.Request, open311: Open311) -> web.Response:
    """POST requests.{fmt}: a new request (api_key required), filed as a case through the chat's intake."""
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(400, "send the request as application/x-www-form-urlencoded (or multipart/form-data)")
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise Open311Error(413, "the request is too large") from None
    except ValueError as exc:
        raise Open311Error(400, f"unreadable form: {exc}") from None
    keys = list(form.keys())
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    open311.check(request, reads=False, jurisdiction=fields.get("jurisdiction_id"))
    services = open311.services
    async with services.sessions() as session:
        caller = await caller_of(session, fields.get("api_key"))
    if caller is None:
        raise Open311Error(403, "api_key is missing, unknown or revoked")
    if not open311.limiter.allow(f"key:{caller.key_id}", caller.per_minute):
        raise Open311Error(429, f"api_key {caller.name!r} is over its limit of {caller.per_minute} requests a minute")
    parsed = parse_form(fields, [k for k in keys if k not in ("api_key", "jurisdiction_id")])
    async with services.sessions.begin() as session:
        answer = await create_request(session, services, open311.points, caller, parsed, now=services.clock.now())
    return respond(request.match_info["fmt"], [answer], root="service_requests", item="request")


def setup(app: web.Application, services: Services) -> None:
    """Adds the GeoReport v2 routes to the service's app."""
    open311 = Open311(services)
    routes = [
        ("GET", f"{BASE}/discovery.{FMT}", discovery),
        ("GET", f"{BASE}/services.{FMT}", services_list),
        ("GET", f"{BASE}/services/{{service_code:[A-Za-z0-9_.-]{{1,64}}}}.{FMT}", service_definition),
        ("GET", f"{BASE}/requests.{FMT}", requests_list),
        ("POST", f"{BASE}/requests.{FMT}", requests_create),
        ("GET", f"{BASE}/requests/{{request_id:[^/.]{{1,32}}}}.{FMT}", request_one),
        ("GET", f"{BASE}/tokens/{{token:[A-Za-z0-9_-]{{1,64}}}}.{FMT}", token_one),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guarded(handler, open311))

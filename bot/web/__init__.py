"""The web app: staff dashboard under /staff/, public progress pages under /public/, `/` sends visitors there.

`setup(app, services)` mounts both on the service's aiohttp app (bot/app.py). Pages are rendered on the server
with Jinja2 (autoescape on); the few static files are in bot/web/static, so nothing is fetched from elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from bot.cases.figures import hours_text, rate_text
from bot.services import Services
from bot.web import auth
from bot.web.common import SERVICES
from bot.web.photos import PHOTO_SOURCES, close_photo_sources, photo_sources
from bot.web.public import pages
from bot.web.public.rota import rota_section
from bot.web.public.wishes import wishes_section
from bot.web.staff import case_page, cases, people, regroup, remarks, stats, tools

HERE = Path(__file__).resolve().parent
COOKIE = "gridbot_session"
log = logging.getLogger(__name__)


@web.middleware
async def security_headers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    """No framing, no sniffing, no referrer (login links stay out of other sites' logs), scripts only our own."""
    response = await handler(request)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                                "style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
    return response


def setup(app: web.Application, services: Services) -> None:
    """Mounts the staff dashboard and the public pages on the service's app."""
    settings = services.settings
    if not settings.web_secret:
        log.warning("GRIDBOT_WEB_SECRET is not set: staff sessions end when the service restarts")
    app[SERVICES] = services
    app[PHOTO_SOURCES] = photo_sources(services)
    app.on_cleanup.append(close_photo_sources)
    environment = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                       undefined=jinja2.StrictUndefined)
    environment.globals.update(rate_text=rate_text, hours_text=hours_text)  # one way to show every figure
    storage = EncryptedCookieStorage(auth.session_key(settings.web_secret), cookie_name=COOKIE, httponly=True,
                                     secure=settings.web_cookie_secure, samesite="Lax", path="/staff",
                                     max_age=settings.web_session_hours * 3600)
    staff_app = web.Application(middlewares=[security_headers, session_middleware(storage), auth.auth_middleware])
    staff_app[auth.LIMITER] = auth.RateLimiter(services.clock)
    for module in (auth, cases, case_page, regroup, remarks, stats, tools, people):
        staff_app.router.add_routes(module.routes)
    public_app = web.Application(middlewares=[security_headers])
    public_app[pages.CACHE] = {}
    public_app[pages.SECTIONS] = {"rota": rota_section(services), "wishes": wishes_section(services)}
    public_app.router.add_routes(pages.routes)
    app.router.add_get("/", pages.to_public)
    app.router.add_get("/robots.txt", pages.robots)
    app.router.add_static("/static/", HERE / "static", append_version=True)
    app.add_subapp("/staff/", staff_app)
    app.add_subapp("/public/", public_app)

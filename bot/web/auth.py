"""Staff log-in: one-time links sent to their own chat, optional argon2 passwords, sessions, CSRF, rate limits.

The session cookie (aiohttp-session, encrypted with GRIDBOT_WEB_SECRET) carries a random session id and the
CSRF token; the `web_session` row decides whether that id still counts, so 退出所有设备 ends every browser at once.
A login link shows a confirmation page and is spent only by its POST, so chat apps that preview links do not
use it up.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import get_session, new_session
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.web.common import ACTOR, CSRF, FLASH, STAFF, actor_for, render, services_of
from handlers.login import send_login_link, token_hash
from models import LoginToken, Staff, StaffPassword, WebAudit, WebSession

routes = web.RouteTableDef()
OPEN_PATHS = ("/staff/login", "/staff/static/")
_HASHER = PasswordHasher()
MIN_PASSWORD = 10


class RateLimiter:
    """At most `limit` attempts per key within `window` (sliding), by the injected clock; in memory per process."""

    def __init__(self, clock: Clock, limit: int = 10, window: timedelta = timedelta(minutes=10)) -> None:
        self.clock, self.limit, self.window = clock, limit, window
        self._hits: dict[str, deque[datetime]] = defaultdict(deque)

    def allow(self, *keys: str) -> bool:
        """Records an attempt under every key; False when any of them is over its limit."""
        now = self.clock.now()
        allowed = True
        for key in keys:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                allowed = False
            hits.append(now)
        return allowed


LIMITER = web.AppKey("login_limiter", RateLimiter)


def _remote(request: web.Request) -> str:
    return request.remote or "?"


def _too_many(request: web.Request) -> web.Response:
    return render(request, "login.html", {"error": "尝试次数过多，请 10 分钟后再试。"}, status=429)


async def audit(request: web.Request, session: AsyncSession, action: str, *, staff_id: int | None, case_id: int | None = None,
                event_id: int | None = None, detail: str = "") -> None:
    """Records a staff member's web action (channel web) in the same transaction as the action."""
    await session.execute(insert(WebAudit).values(
        at=services_of(request).clock.now(), staff_id=staff_id, channel="web", action=action, case_id=case_id,
        case_event_id=event_id, detail=detail[:500], remote=_remote(request)[:64]))


@web.middleware
async def auth_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
    """Loads the signed-in staff member; checks CSRF on every POST; sends strangers to the login page."""
    session = await get_session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    request[CSRF] = session["csrf"]
    request[FLASH] = session.pop("flash", "")
    if request.method == "POST":
        form = await request.post()
        if not hmac.compare_digest(str(form.get("_csrf", "")), session["csrf"]):
            raise web.HTTPForbidden(text="表单已过期，请刷新页面后重试。")
    services = services_of(request)
    sid = session.get("sid")
    if sid:
        now = services.clock.now()
        async with services.sessions() as db:
            staff = await db.scalar(
                select(Staff).join(WebSession, WebSession.staff_id == Staff.id)
                .where(WebSession.sid_hash == token_hash(sid), WebSession.revoked_at.is_(None),
                       WebSession.expires_at > now))
        if staff is not None:
            request[STAFF], request[ACTOR] = staff, actor_for(staff)
        else:
            session.pop("sid", None)
    if STAFF not in request and not request.path.startswith(OPEN_PATHS):
        if request.method == "GET":
            raise web.HTTPFound(f"/staff/login?next={quote(request.path_qs)}" if request.path != "/staff/" else "/staff/login")
        raise web.HTTPForbidden(text="请先登录。")
    return await handler(request)


async def _sign_in(request: web.Request, db: AsyncSession, staff: Staff, how: str) -> str:
    """Starts a fresh session (a new cookie, a new CSRF token) for the staff member; returns where to go."""
    services = services_of(request)
    now = services.clock.now()
    sid = secrets.token_urlsafe(32)
    await db.execute(insert(WebSession).values(
        sid_hash=token_hash(sid), staff_id=staff.id, created_at=now,
        expires_at=now + timedelta(hours=services.settings.web_session_hours),
        user_agent=request.headers.get("User-Agent", "")[:256]))
    await audit(request, db, "login", staff_id=staff.id, detail=how)
    session = await new_session(request)
    session["sid"], session["csrf"] = sid, secrets.token_urlsafe(24)
    target = request.query.get("next", "/staff/")
    return target if target.startswith("/staff/") and "//" not in target else "/staff/"


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    """The login page: ask for a link to one's chat, or sign in with a password."""
    if STAFF in request:
        raise web.HTTPFound("/staff/")
    return render(request, "login.html", {})


@routes.post("/login/link")
async def request_link(request: web.Request) -> web.Response:
    """Sends a one-time link to the chat of the staff member with this code (the same answer either way)."""
    form = await request.post()
    code = str(form.get("code", "")).strip()[:64]
    if not request.app[LIMITER].allow(f"ip:{_remote(request)}", f"code:{code}"):
        return _too_many(request)
    services = services_of(request)
    if code:
        async with services.sessions.begin() as db:
            staff = await db.scalar(select(Staff).where(Staff.code == code))
            if staff is not None:
                await send_login_link(db, services.settings, staff, now=services.clock.now())
    return render(request, "login.html", {"sent": True})


@routes.get("/login/{token}")
async def confirm_page(request: web.Request) -> web.Response:
    """Shows the confirmation button; a GET never spends the link."""
    return render(request, "login_confirm.html", {"token": request.match_info["token"][:100]})


@routes.post("/login/{token}")
async def redeem_link(request: web.Request) -> web.Response:
    """Spends a one-time link: valid, unused and unexpired, it signs the staff member in."""
    if not request.app[LIMITER].allow(f"ip:{_remote(request)}"):
        return _too_many(request)
    services = services_of(request)
    now = services.clock.now()
    async with services.sessions.begin() as db:
        spent = await db.execute(
            update(LoginToken).where(LoginToken.token_hash == token_hash(request.match_info["token"]),
                                     LoginToken.used_at.is_(None), LoginToken.expires_at > now)
            .values(used_at=now).returning(LoginToken.staff_id))
        staff_id = spent.scalar_one_or_none()
        staff = await db.get(Staff, staff_id) if staff_id is not None else None
        if staff is None:
            return render(request, "login.html", {"error": "登录链接无效或已过期，请重新获取。"}, status=400)
        target = await _sign_in(request, db, staff, "link")
    raise web.HTTPFound(target)


@routes.post("/login/password")
async def password_login(request: web.Request) -> web.Response:
    """Signs in with staff code and password, for staff who have set one."""
    form = await request.post()
    code, password = str(form.get("code", "")).strip()[:64], str(form.get("password", ""))[:256]
    if not request.app[LIMITER].allow(f"ip:{_remote(request)}", f"code:{code}"):
        return _too_many(request)
    services = services_of(request)
    async with services.sessions.begin() as db:
        row = (await db.execute(select(Staff, StaffPassword.password_hash)
                                .join(StaffPassword, StaffPassword.staff_id == Staff.id)
                                .where(Staff.code == code))).first()
        if row is None or not await asyncio.to_thread(_verify, row[1], password):
            return render(request, "login.html", {"error": "工号或密码不正确。"}, status=400)
        target = await _sign_in(request, db, row[0], "password")
    raise web.HTTPFound(target)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    """Ends this browser's session."""
    return await _end_sessions(request, everywhere=False)


@routes.post("/logout/all")
async def logout_everywhere(request: web.Request) -> web.Response:
    """Ends every session of the staff member, on every device."""
    return await _end_sessions(request, everywhere=True)


async def _end_sessions(request: web.Request, *, everywhere: bool) -> web.Response:
    services = services_of(request)
    session = await get_session(request)
    staff = request[STAFF]
    async with services.sessions.begin() as db:
        which = (WebSession.staff_id == staff.id) if everywhere else (
            WebSession.sid_hash == token_hash(session.get("sid", "")))
        await db.execute(update(WebSession).where(which, WebSession.revoked_at.is_(None))
                         .values(revoked_at=services.clock.now()))
        await audit(request, db, "logout_all" if everywhere else "logout", staff_id=staff.id)
    session.invalidate()
    raise web.HTTPFound("/staff/login")


@routes.get("/password")
async def password_page(request: web.Request) -> web.Response:
    return render(request, "password.html", {})


@routes.post("/password")
async def set_password(request: web.Request) -> web.Response:
    """Sets or changes the signed-in staff member's password (argon2)."""
    form = await request.post()
    password, again = str(form.get("password", "")), str(form.get("again", ""))
    if len(password) < MIN_PASSWORD or password != again:
        return render(request, "password.html", {"error": f"密码至少 {MIN_PASSWORD} 位，且两次输入一致。"},
                      status=400)
    services = services_of(request)
    digest = await asyncio.to_thread(_HASHER.hash, password)
    staff = request[STAFF]
    async with services.sessions.begin() as db:
        now = services.clock.now()
        updated = await db.execute(update(StaffPassword).where(StaffPassword.staff_id == staff.id)
                                   .values(password_hash=digest, updated_at=now))
        if not updated.rowcount:
            await db.execute(insert(StaffPassword).values(staff_id=staff.id, password_hash=digest, updated_at=now))
        await audit(request, db, "password_set", staff_id=staff.id)
    (await get_session(request))["flash"] = "密码已设置。"
    raise web.HTTPFound("/staff/")


def session_key(secret: str | None) -> bytes:
    """The 32-byte cookie key: derived from the configured secret, else random (sessions end on restart)."""
    return hashlib.sha256(secret.encode()).digest() if secret else secrets.token_bytes(32)

"""登录: a staff member asks in chat for a one-time link to the web dashboard, sent to their own private chat."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import UNBOUND_CHANNEL, Notice, enqueue
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.identities import staff_contact
from config.settings import Settings
from models import LoginToken, Staff

router = HandlerRouter("login")
LOGIN_PATH = "/staff/login/"


def token_hash(token: str) -> str:
    """Only the hash of a login token is stored, so a copy of the database logs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def base_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


async def issue_login_link(session: AsyncSession, settings: Settings, staff_id: int, *, now: datetime) -> str:
    """Creates a one-time login token for the staff member and returns the link that spends it."""
    token = secrets.token_urlsafe(32)
    await session.execute(insert(LoginToken).values(
        token_hash=token_hash(token), staff_id=staff_id, created_at=now,
        expires_at=now + timedelta(minutes=settings.web_login_minutes)))
    return f"{base_url(settings)}{LOGIN_PATH}{token}"


def link_text(link: str, settings: Settings) -> str:
    return (f"工作台登录链接（{settings.web_login_minutes} 分钟内有效，仅可使用一次，请勿转发）：\n{link}\n"
            "如非本人操作，请忽略。")


async def send_login_link(session: AsyncSession, settings: Settings, staff: Staff, *, now: datetime) -> bool:
    """Queues a login link to the staff member's own private chat; False when no chat of theirs is known."""
    contact = await staff_contact(session, staff)
    if contact.channel == UNBOUND_CHANNEL:
        return False
    link = await issue_login_link(session, settings, staff.id, now=now)
    await enqueue(session, Notice(
        dedupe_key=f"login:{token_hash(link)}", channel=contact.channel, chat_id=contact.chat_id,
        recipient=f"staff:{staff.code}", text=link_text(link, settings), extras={}), now=now)
    return True


@router.staff_command(r"^(登录|登陆|工作台|login)$")
async def login(ctx: Context) -> None:
    """Answers the staff member privately with a one-time login link (never in a group)."""
    link = await issue_login_link(ctx.session, ctx.services.settings, ctx.actor.id, now=ctx.now)
    ctx.reply(link_text(link, ctx.services.settings), private=True)

"""Who hears about a case change, in which words; every notice goes into the outbox with a dedupe key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import UNBOUND_CHANNEL, Notice, enqueue
from bot.pipeline.identities import (
    StaffLike,
    mask_phone,
    mask_phones_in,
    phones_in,
    resident_identity,
    staff_contact,
)
from bot.pipeline.messages import Button
from models import Case, Staff
from models.grid import PUBLIC_PHONE_ROLES


def case_summary(case: Case, *, for_staff: bool) -> str:
    """A few lines describing a case; staff also see the reporter. Phones are masked for staff, in the reporter
    field and inside the resident's own words (a chat message is forwarded and kept; the web shows them to the
    roles that call back)."""
    lines = [
        f"【{case.kind.label} {case.number}】{case.category_name or '未分类'}",
        f"地点：{case.place or case.unit.name}",
        f"内容：{mask_phones_in(case.text) if for_staff else case.text}",
    ]
    if case.extras.get("service"):
        lines.insert(1, f"事项：{case.extras['service']}；期望时间：{case.extras.get('preferred_time') or '未说明'}")
    if for_staff:
        reporter = case.reporter.display_name
        if case.reporter.phone:
            reporter += f"（{mask_phone(case.reporter.phone)}）"
        lines.append(f"反映人：{reporter}")
        if case.keywords:
            lines.append(f"分类依据：{'、'.join(case.keywords[:5])}（置信度 {case.confidence:.2f}）")
        if case.media:
            lines.append(f"附件：{len(case.media)} 张照片")
        if case.resolve_due_at:
            hours = (case.resolve_due_at - case.created_at).total_seconds() / 3600
            lines.append(f"办结时限：受理后 {round(hours, 1):g} 小时内")
    return "\n".join(lines)


async def for_residents(session: AsyncSession, text: str) -> str:
    """Staff words as residents read them: phone numbers masked, but a public post's own number (a grid worker's,
    StaffRole.phone_is_public) kept so that the resident can call back."""
    numbers = phones_in(text)
    if not numbers:
        return text
    public = await session.scalars(select(Staff.phone).where(Staff.phone.in_(numbers),
                                                             Staff.role.in_(PUBLIC_PHONE_ROLES)))
    return mask_phones_in(text, keep=frozenset(p for p in public if p))


def worker_buttons(case: Case) -> tuple[Button, ...]:
    n = case.id
    return (Button("接单", f"接单 {n}"), Button("办结", f"办结 {n}"), Button("转派", f"转派 {n}"),
            Button("退回", f"退回 {n}"))


def triage_buttons(case: Case) -> tuple[Button, ...]:
    """分拣 on a triage notice: the answer offers the classifier's top three categories, one tap each."""
    return (Button("分拣", f"分拣 {case.id}"),)


def rating_buttons(case: Case) -> tuple[Button, ...]:
    n = case.id
    return (Button("满意", f"满意 {n}"), Button("基本满意", f"基本满意 {n}"), Button("不满意", f"不满意 {n}"))


async def notify_staff(
    session: AsyncSession, staff: StaffLike, case: Case, text: str, *, key: str, now: datetime,
    buttons: tuple[Button, ...] = (), media: list[dict] | None = None,
) -> None:
    """Sends a staff member a private notice about a case, with photos (the case's, or `media`) and action buttons
    where given."""
    contact = await staff_contact(session, staff)
    extras: dict = {"buttons": [[b.label, b.payload] for b in buttons]}
    if media if media is not None else case.media:
        extras["media"] = media if media is not None else case.media
    await enqueue(session, Notice(
        dedupe_key=f"{key}:staff:{staff.id}", channel=contact.channel, chat_id=contact.chat_id,
        recipient=f"staff:{staff.code}", text=text, extras=extras, case_id=case.id,
    ), now=now)


async def notify_reporter(
    session: AsyncSession, case: Case, text: str, *, key: str, now: datetime, buttons: tuple[Button, ...] = (),
) -> Row[Any] | None:
    """Tells the reporter privately when we can reach them privately, else in their group with a mention."""
    identity = await resident_identity(session, case.reporter_id, case.source_channel)
    extras: dict = {"buttons": [[b.label, b.payload] for b in buttons]}
    if identity is not None and identity.private_chat_id:
        chat_id = identity.private_chat_id
    elif identity is not None:
        chat_id = case.source_chat_id
        extras["mention"] = {"user_id": identity.user_id, "name": identity.display_name}
    else:
        chat_id = UNBOUND_CHANNEL
    channel = case.source_channel if identity is not None else UNBOUND_CHANNEL
    await enqueue(session, Notice(
        dedupe_key=f"{key}:resident:{case.reporter_id}", channel=channel, chat_id=chat_id,
        recipient=f"resident:{case.reporter_id}", text=text, extras=extras, case_id=case.id,
    ), now=now)
    return identity


async def notify_followers(session: AsyncSession, case: Case, news: str, *, key: str, now: datetime) -> None:
    """Tells residents whose reports were merged into this case what just happened to it."""
    followers = (await session.scalars(select(Case).where(Case.duplicate_of_id == case.id))).unique().all()
    for follower_case in followers:
        await notify_reporter(session, follower_case, f"您反映的 {follower_case.number}（已并入 {case.number}）{news}",
                              key=f"{key}:follower", now=now)


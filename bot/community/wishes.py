"""The wish lifecycle: collected → reviewed → published → claimed → in progress → fulfilled → thanked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import place_label
from bot.community.common import (
    Refused,
    Who,
    community_of,
    may_manage,
    notify_claimer,
    notify_managers,
    notify_wisher,
    record,
)
from bot.community.wording import default_title, personal_data, scrub
from bot.grid.directory import GridDirectory, UnitRef
from bot.pipeline.identities import Actor, mask_phone, mask_phones_in
from models import Claim, Claimer, ClaimerStatus, ClaimStatus, Rating, Wish, WishCampaign, WishStatus

W = WishStatus
NUMBER = r"\s*[Ww]\s*(\d{1,9})"
REVIEWABLE = (W.COLLECTED, W.REVIEWED)
UNCLAIMED = (W.COLLECTED, W.REVIEWED, W.PUBLISHED)


@dataclass
class WishDraft:
    """A wish the resident confirmed, ready to file."""

    text: str
    unit: UnitRef
    category_code: str | None = None
    category_name: str | None = None
    media: list[dict] = field(default_factory=list)


def wish_number(text: str) -> int | None:
    match = re.search(NUMBER, text)
    return int(match.group(1)) if match else None


async def current_campaign(session: AsyncSession, today: date) -> WishCampaign | None:
    """The annual call open on `today`, if any; otherwise wishes go to the always-open wish line."""
    return await session.scalar(select(WishCampaign).where(WishCampaign.starts_on <= today,
                                                           WishCampaign.deadline >= today))


async def file_wish(session: AsyncSession, directory: GridDirectory, draft: WishDraft, actor: Actor, *,
                    channel: str, chat_id: str, today: date, now: datetime) -> Wish:
    """Collects a resident's wish with a proposed public wording, and tells the community's staff."""
    community = community_of(directory, draft.unit)
    public_text = scrub(draft.text, [actor.name])
    campaign = await current_campaign(session, today)
    wish = Wish(status=W.COLLECTED, campaign_id=campaign.id if campaign else None, unit_id=draft.unit.id,
                unit_path=draft.unit.path, community_id=community.id, place=place_label(directory, draft.unit),
                wisher_id=actor.id, source_channel=channel, source_chat_id=chat_id, private_text=draft.text,
                media=draft.media, category_code=draft.category_code, category_name=draft.category_name,
                public_title=default_title(public_text, draft.category_name), public_text=public_text,
                created_at=now, updated_at=now)
    session.add(wish)
    await session.flush()
    await session.refresh(wish, ["wisher"])
    record(session, Who.of(actor), "collect", now, wish_id=wish.id, after=W.COLLECTED, note=draft.text[:200])
    await notify_managers(session, community.id, f"新的微心愿 {wish.number} 待审核（{wish.place}）\n"
                          f"{review_text(wish)}\n回复「通过 {wish.number}」「公开 {wish.number} 标题｜内容」修改公开措辞，"
                          f"或「不采纳 {wish.number} 原因」。", key=f"wish:{wish.id}:collected", now=now,
                          buttons=[["通过", f"通过 {wish.number}"], ["查看", f"心愿 {wish.number}"]])
    return wish


def public_lines(wish: Wish) -> str:
    return f"【微心愿 {wish.number}】{wish.public_title}\n{wish.public_text}"


def review_text(wish: Wish) -> str:
    """What staff review: the private details, and exactly what will be public."""
    wisher = wish.wisher.display_name + (f"（{mask_phone(wish.wisher.phone)}）" if wish.wisher.phone else "")
    return (f"心愿人：{wisher}\n地点：{wish.place}\n原话：{mask_phones_in(wish.private_text)}\n"
            f"—— 将公开的内容 ——\n标题：{wish.public_title}\n内容：{wish.public_text}")


def private_lines(wish: Wish) -> str:
    """The private details an approved claimer sees: place and the wisher, phone masked."""
    return review_text(wish).split("\n—— ")[0]


async def load_wish(session: AsyncSession, wish_id: int) -> Wish | None:
    return await session.get(Wish, wish_id)


async def managed_wish(session: AsyncSession, directory: GridDirectory, actor: Actor, wish_id: int) -> Wish:
    """The wish, when the staff member may review and organise it."""
    wish = await load_wish(session, wish_id)
    if wish is None or not may_manage(directory, actor, wish.community_id):
        raise Refused(f"未找到您可管理的心愿 W{wish_id}。")
    return wish


def _names(wish: Wish) -> list[str]:
    return [wish.wisher.display_name]


def check_public(wish: Wish, title: str, text: str) -> None:
    found = personal_data(f"{title}\n{text}", _names(wish))
    if found:
        raise Refused(f"公开内容里还有个人信息：{'、'.join(dict.fromkeys(found))}。请改写后再试。")


async def edit_wording(session: AsyncSession, directory: GridDirectory, actor: Actor, wish_id: int, title: str,
                       text: str, now: datetime) -> Wish:
    """Sets the public title and text a reviewer wrote; refused while they still identify anyone."""
    wish = await managed_wish(session, directory, actor, wish_id)
    if wish.status not in (*REVIEWABLE, W.PUBLISHED):
        raise Refused(f"{wish.number} {wish.status.label}，不能再修改公开内容。")
    title, text = title.strip()[:60], (text.strip() or wish.public_text)
    if not title:
        raise Refused(f"请写公开标题，例如：公开 {wish.number} 陪老人复查｜老人腿脚不便，希望有人陪同去医院复查。")
    check_public(wish, title, text)
    wish.public_title, wish.public_text, wish.updated_at = title, text, now
    record(session, Who.of(actor), "edit", now, wish_id=wish.id, note=f"{title}｜{text}"[:500])
    return wish


async def approve(session: AsyncSession, directory: GridDirectory, actor: Actor, wish_id: int,
                  now: datetime) -> Wish:
    """Review passed: the reviewer becomes the wish's organiser (who organises, records; who records, certifies)."""
    wish = await managed_wish(session, directory, actor, wish_id)
    if wish.status is not W.COLLECTED:
        raise Refused(f"{wish.number} {wish.status.label}，不在待审核状态。")
    check_public(wish, wish.public_title, wish.public_text)
    wish.status, wish.organiser_id, wish.updated_at = W.REVIEWED, actor.id, now
    record(session, Who.of(actor), "approve", now, wish_id=wish.id, before=W.COLLECTED, after=W.REVIEWED)
    await notify_wisher(session, wish, f"您的微心愿 {wish.number} 已通过社区审核，发布时只公开：{wish.public_title}。",
                        key=f"wish:{wish.id}:reviewed", now=now)
    return wish


async def publish(session: AsyncSession, directory: GridDirectory, actor: Actor, wish_id: int,
                  now: datetime) -> tuple[Wish, int]:
    """Publishes a reviewed wish (reviewing it first if needed) and announces it to the community's claimers."""
    wish = await managed_wish(session, directory, actor, wish_id)
    if wish.status is W.COLLECTED:
        await approve(session, directory, actor, wish_id, now)
    if wish.status is not W.REVIEWED:
        raise Refused(f"{wish.number} {wish.status.label}，不能发布。")
    check_public(wish, wish.public_title, wish.public_text)
    wish.status, wish.published_at, wish.updated_at = W.PUBLISHED, now, now
    record(session, Who.of(actor), "publish", now, wish_id=wish.id, before=W.REVIEWED, after=W.PUBLISHED)
    claimers = (await session.scalars(select(Claimer).where(
        Claimer.community_id == wish.community_id, Claimer.status == ClaimerStatus.APPROVED)
        .order_by(Claimer.id))).unique().all()
    for claimer in claimers:
        if claimer.resident_id == wish.wisher_id:
            continue
        await notify_claimer(session, claimer, f"社区新发布了一个微心愿：\n{public_lines(wish)}\n"
                             f"回复「认领 {wish.number}」认领，「心愿墙」查看全部。", key=f"wish:{wish.id}:published",
                             now=now, buttons=[["认领", f"认领 {wish.number}"], ["心愿墙", "心愿墙"]])
    await notify_wisher(session, wish, f"您的微心愿 {wish.number} 已在社区心愿墙发布，等待党员和志愿者认领。",
                        key=f"wish:{wish.id}:published", now=now)
    return wish, len(claimers)


async def merge(session: AsyncSession, directory: GridDirectory, actor: Actor, wish_id: int, into_id: int,
                now: datetime) -> Wish:
    """Merges a wish into another of the same community (the same need, asked twice)."""
    wish = await managed_wish(session, directory, actor, wish_id)
    target = await managed_wish(session, directory, actor, into_id)
    if wish.id == target.id or target.community_id != wish.community_id or target.status in (W.MERGED, W.DECLINED):
        raise Refused(f"不能把 {wish.number} 合并到 {target.number}。")
    if wish.status not in UNCLAIMED:
        raise Refused(f"{wish.number} {wish.status.label}，不能合并。")
    before, wish.status, wish.merged_into_id, wish.updated_at = wish.status, W.MERGED, target.id, now
    record(session, Who.of(actor), "merge", now, wish_id=wish.id, before=before, after=W.MERGED,
           note=target.number)
    await notify_wisher(session, wish, f"您的微心愿 {wish.number} 与同类心愿 {target.number} 合并办理，进展会一并告诉您。",
                        key=f"wish:{wish.id}:merged", now=now)
    return wish


async def decline(session: AsyncSession, directory: GridDirectory, actor: Actor, wish_id: int, reason: str,
                  now: datetime) -> Wish:
    """Declines a wish with the reason the wisher is told."""
    wish = await managed_wish(session, directory, actor, wish_id)
    if not reason:
        raise Refused(f"请写明不采纳的原因，例如：不采纳 {wish.number} 属于低保申请，请到社区窗口办理。")
    if wish.status not in UNCLAIMED:
        raise Refused(f"{wish.number} {wish.status.label}，不能不采纳。")
    before, wish.status, wish.decline_reason, wish.updated_at = wish.status, W.DECLINED, reason, now
    record(session, Who.of(actor), "decline", now, wish_id=wish.id, before=before, after=W.DECLINED, note=reason)
    await notify_wisher(session, wish, f"很抱歉，您的微心愿 {wish.number} 暂未被采纳：{reason}",
                        key=f"wish:{wish.id}:declined", now=now)
    return wish


async def thank(session: AsyncSession, actor: Actor, wish_id: int, words: str, rating: Rating | None,
                now: datetime) -> Wish:
    """The wisher thanks (and may rate) whoever fulfilled the wish; the claimer hears it."""
    wish = await load_wish(session, wish_id)
    if wish is None or actor.is_staff or wish.wisher_id != actor.id:
        raise Refused(f"未找到您的心愿 W{wish_id}。")
    if wish.status is not W.FULFILLED:
        raise Refused(f"{wish.number} {wish.status.label}，实现之后才能答谢。")
    wish.status, wish.thanks, wish.rating = W.THANKED, words or "谢谢！", rating
    wish.thanked_at = wish.updated_at = now
    record(session, Who.of(actor), "thank", now, wish_id=wish.id, before=W.FULFILLED, after=W.THANKED,
           note=(rating.label + " " if rating else "") + (words or ""))
    claim = await session.scalar(select(Claim).where(Claim.wish_id == wish.id, Claim.status == ClaimStatus.DONE)
                                 .order_by(Claim.id.desc()).limit(1))
    if claim is not None:
        await notify_claimer(session, claim.claimer, f"心愿人对 {wish.number}「{wish.public_title}」的答谢："
                             f"{wish.thanks}" + (f"（{rating.label}）" if rating else ""),
                             key=f"wish:{wish.id}:thanked", now=now)
    return wish


async def wishes_of(session: AsyncSession, resident_id: int, *, limit: int = 10) -> list[Wish]:
    return list((await session.scalars(select(Wish).where(Wish.wisher_id == resident_id)
                                       .order_by(Wish.id.desc()).limit(limit))).unique())


async def review_queue(session: AsyncSession, directory: GridDirectory, unit: UnitRef, *,
                       limit: int = 20) -> list[Wish]:
    """Wishes waiting for a reviewer or to be published, in a staff member's unit."""
    return list((await session.scalars(select(Wish).where(Wish.unit_path.like(f"{unit.path}%"),
                                                          Wish.status.in_(REVIEWABLE))
                                       .order_by(Wish.id).limit(limit))).unique())


async def open_wall(session: AsyncSession, community_id: int, *, limit: int = 20) -> list[Wish]:
    """A community's published wishes that nobody has claimed yet."""
    return list((await session.scalars(select(Wish).where(Wish.community_id == community_id,
                                                          Wish.status == W.PUBLISHED)
                                       .order_by(Wish.published_at, Wish.id).limit(limit))).unique())

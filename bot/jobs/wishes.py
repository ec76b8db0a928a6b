"""Wish jobs: the annual call with its deadline, the campaign's summary, the monthly summary, idle claims.

Like every job they only enqueue keyed outbox rows (and claim releases guarded by the claim's state), so a
double fire changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community.claims import due_claims, remind_or_release
from bot.community.common import community_managers, community_of
from bot.community.publishing import WishCounts, summary_text, wish_counts
from bot.delivery.outbox import Notice, enqueue
from bot.grid.directory import GridDirectory
from bot.pipeline.identities import staff_contact
from bot.services import Services
from models import ChatGroup, UnitLevel, WishCampaign

CAMPAIGN_CALL = ("【{year}年微心愿征集】新的一年，社区微心愿征集开始啦！家里有困难、有小小心愿的居民，请在{deadline}前"
                 "在群里发送「#微心愿 您的心愿」。社区审核后在心愿墙发布（不公开姓名、电话和门牌号），"
                 "由双报到党员、单位和志愿者认领实现。")


def _deadline(services: Services, year: int) -> date:
    month, day = (int(p) for p in services.settings.wish_campaign_deadline.split("-"))
    return date(year, month, day)


async def announce_campaign(services: Services, year: int, today: date, now: datetime) -> int:
    """Opens the year's call (once) and announces it with its deadline to every bound group; returns how many."""
    deadline = _deadline(services, year)
    async with services.sessions.begin() as session:
        campaign = await session.scalar(select(WishCampaign).where(WishCampaign.year == year))
        if campaign is None:
            campaign = WishCampaign(year=year, title=f"{year}年微心愿征集", starts_on=min(today, deadline),
                                    deadline=deadline, announced_at=now)
            session.add(campaign)
        groups = (await session.scalars(select(ChatGroup).order_by(ChatGroup.id))).unique().all()
        text = CAMPAIGN_CALL.format(year=year, deadline=f"{deadline.month}月{deadline.day}日")
        for group in groups:
            # The key the earlier call used (bot.jobs.tasks.wish_campaign): one call per group and year, whichever ran.
            await enqueue(session, Notice(dedupe_key=f"wishes:{year}:group:{group.id}", channel=group.channel,
                                          chat_id=group.chat_id, recipient=f"group:{group.id}", text=text, extras={}),
                          now=now)
    return len(groups)


async def _send_per_community(session: AsyncSession, directory: GridDirectory, counts: dict[int, WishCounts],
                              heading: str, key: str, now: datetime) -> int:
    """Each community's figures to its bound groups and its staff; communities with nothing to tell are skipped."""
    sent = 0
    groups = (await session.scalars(select(ChatGroup).order_by(ChatGroup.id))).unique().all()
    for community_id, figures in sorted(counts.items()):
        community = directory.unit(community_id)
        text = summary_text(community.name, heading, figures)
        for group in groups:
            unit = directory.unit(group.unit_id)
            if unit.level.depth < UnitLevel.COMMUNITY.depth or community_of(directory, unit).id != community_id:
                continue
            await enqueue(session, Notice(dedupe_key=f"{key}:group:{group.id}", channel=group.channel,
                                          chat_id=group.chat_id, recipient=f"group:{group.id}", text=text,
                                          extras={}), now=now)
            sent += 1
        for staff in await community_managers(session, community_id):
            contact = await staff_contact(session, staff)
            await enqueue(session, Notice(dedupe_key=f"{key}:staff:{staff.id}", channel=contact.channel,
                                          chat_id=contact.chat_id, recipient=f"staff:{staff.code}", text=text,
                                          extras={}), now=now)
            sent += 1
    return sent


def _utc(day: date, services: Services) -> datetime:
    return datetime.combine(day, time(0), tzinfo=services.settings.tz)


async def campaign_summary(services: Services, today: date, now: datetime) -> int:
    """After a campaign's deadline: its figures per community (collected, published, claimed, fulfilled)."""
    sent = 0
    async with services.sessions.begin() as session:
        campaigns = (await session.scalars(select(WishCampaign).where(
            WishCampaign.deadline < today, WishCampaign.deadline >= today - timedelta(days=14)))).all()
        for campaign in campaigns:
            start = _utc(campaign.starts_on, services)
            counts = await wish_counts(session, start, _utc(today, services), campaign_id=campaign.id)
            sent += await _send_per_community(session, services.directory, counts, f"{campaign.title}总结",
                                              f"wishes:{campaign.year}:summary", now)
    return sent


async def monthly_summary(services: Services, month_start: date, now: datetime) -> int:
    """The month's wish figures per community, for the month that began on `month_start`."""
    next_month = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    async with services.sessions.begin() as session:
        counts = await wish_counts(session, _utc(month_start, services), _utc(next_month, services))
        return await _send_per_community(session, services.directory, counts,
                                         f"{month_start.year}年{month_start.month}月微心愿月报",
                                         f"wishes:month:{month_start:%Y-%m}", now)


async def sweep_claims(services: Services, now: datetime) -> dict[str, int]:
    """Reminds claims left without progress, and releases those left longer."""
    settings = services.settings
    remind, release = (timedelta(days=settings.wish_claim_remind_days),
                       timedelta(days=settings.wish_claim_release_days))
    tally = {"reminded": 0, "released": 0}
    async with services.sessions.begin() as session:
        for claim in await due_claims(session, now - min(remind, release)):
            done = await remind_or_release(session, claim, remind_after=remind, release_after=release, now=now)
            if done:
                tally[done] += 1
    return tally

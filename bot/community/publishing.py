"""What may be shown to everyone: the wish wall, project progress, and wish figures for reports and summaries.

Nothing here reads a wish's private details or its wisher: only public wording, statuses and counts, and the
names of the units (or the kind of person) that claimed, which they agreed to when they registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community.common import community_of
from bot.community.projects import milestones_of, progress_of, projects_of
from bot.grid.directory import GridDirectory, UnitRef
from models import Claim, Claimer, ClaimerKind, ClaimStatus, Project, UnitLevel, Wish, WishStatus
from models.community import PUBLIC_WISH_STATUSES

W = WishStatus
PROGRESS_STEP = {W.PUBLISHED: 0, W.CLAIMED: 1, W.IN_PROGRESS: 2, W.FULFILLED: 3, W.THANKED: 3}


@dataclass(frozen=True)
class PublicWish:
    """A wish as the public wall shows it."""

    number: str
    title: str
    text: str
    status: str  # the enum value
    status_label: str
    community: str
    claimed_by: str | None  # a unit's name, or 党员 / 志愿者: never a private person's name
    progress: int  # 0 published, 1 claimed, 2 in progress, 3 fulfilled
    published_at: datetime | None
    fulfilled_at: datetime | None


@dataclass(frozen=True)
class PublicMilestone:
    title: str
    weight: float
    progress: int


@dataclass(frozen=True)
class PublicProject:
    number: str
    title: str
    description: str
    budget: float | None
    status_label: str
    progress: float  # percent, rolled up from the milestones
    milestones: tuple[PublicMilestone, ...]
    claimed_by: tuple[str, ...]
    wishes: int  # linked wishes


def claimer_label(claimer: Claimer) -> str:
    """How a claimer is named in public: units by name, people by what they are."""
    if claimer.kind is ClaimerKind.UNIT:
        return claimer.organisation or claimer.name
    return f"{claimer.organisation}{'党员' if claimer.party_member else '志愿者'}" if claimer.organisation else \
        ("党员" if claimer.party_member else "志愿者")


async def published_wishes(session: AsyncSession, directory: GridDirectory, unit_id: int, *,
                           limit: int = 200) -> list[PublicWish]:
    """The published wishes of a unit's subtree with their progress, newest first."""
    unit = directory.unit(unit_id)
    wishes = (await session.scalars(select(Wish).where(Wish.unit_path.like(f"{unit.path}%"),
                                                       Wish.status.in_(PUBLIC_WISH_STATUSES))
                                    .order_by(Wish.published_at.desc(), Wish.id.desc()).limit(limit))).unique().all()
    claims = {c.wish_id: c for c in (await session.scalars(select(Claim).where(
        Claim.wish_id.in_([w.id for w in wishes]),
        Claim.status.in_([ClaimStatus.ACTIVE, ClaimStatus.DONE])).order_by(Claim.id))).unique()}
    return [PublicWish(w.number, w.public_title, w.public_text, w.status.value, w.status.label,
                       directory.unit(w.community_id).name,
                       claimer_label(claims[w.id].claimer) if w.id in claims else None,
                       PROGRESS_STEP[w.status], w.published_at, w.fulfilled_at) for w in wishes]


async def community_projects(session: AsyncSession, community_id: int, year: int) -> list[PublicProject]:
    """A community's projects of a year with their rolled-up progress, milestones and claiming units."""
    views = []
    for project in await projects_of(session, community_id, year):
        views.append(await project_view(session, project))
    return views


async def project_view(session: AsyncSession, project: Project) -> PublicProject:
    milestones = await milestones_of(session, project.id)
    claimers = (await session.scalars(select(Claimer).join(Claim, Claim.claimer_id == Claimer.id).where(
        Claim.project_id == project.id, Claim.status.in_([ClaimStatus.ACTIVE, ClaimStatus.DONE]))
        .order_by(Claim.id))).unique().all()
    wishes = await session.scalar(select(func.count()).select_from(Wish).where(Wish.project_id == project.id)) or 0
    return PublicProject(project.number, project.title, project.description, project.budget, project.status.label,
                         round(progress_of(milestones), 1),
                         tuple(PublicMilestone(m.title, m.weight, m.progress) for m in milestones),
                         tuple(dict.fromkeys(claimer_label(c) for c in claimers)), wishes)


@dataclass
class WishCounts:
    """A community's wishes in a period: collected, published, claimed, fulfilled (by when each happened)."""

    collected: int = 0
    published: int = 0
    claimed: int = 0
    fulfilled: int = 0

    def text(self) -> str:
        return f"新收集 {self.collected}，发布 {self.published}，认领 {self.claimed}，实现 {self.fulfilled}"


async def wish_counts(session: AsyncSession, start: datetime, end: datetime, *,
                      campaign_id: int | None = None) -> dict[int, WishCounts]:
    """Counts per community id of what happened to wishes in [start, end)."""
    counts: dict[int, WishCounts] = {}
    for column, attr in ((Wish.created_at, "collected"), (Wish.published_at, "published"),
                         (Wish.claimed_at, "claimed"), (Wish.fulfilled_at, "fulfilled")):
        query = (select(Wish.community_id, func.count()).where(column >= start, column < end)
                 .group_by(Wish.community_id))
        if campaign_id is not None:
            query = query.where(Wish.campaign_id == campaign_id)
        for community_id, n in (await session.execute(query)).all():
            setattr(counts.setdefault(community_id, WishCounts()), attr, n)
    return counts


def communities_under(directory: GridDirectory, unit: UnitRef) -> list[UnitRef]:
    """The communities a report for `unit` covers: those below it, or the one it lies in."""
    if unit.level.depth >= UnitLevel.COMMUNITY.depth:
        return [community_of(directory, unit)]
    return [u for u in directory.units(UnitLevel.COMMUNITY) if unit.contains(u)]


async def weekly_sections(session: AsyncSession, directory: GridDirectory, unit_ids: list[int], start: datetime,
                          end: datetime) -> dict[int, str]:
    """weekly_section for many units at once (a broadcast): the figures are read once, each project once."""
    counts = await wish_counts(session, start, end)
    projects: dict[int, list[PublicProject]] = {}
    return {unit_id: await weekly_section(session, directory, directory.unit(unit_id), start, end, counts=counts,
                                          projects=projects) for unit_id in dict.fromkeys(unit_ids)}


async def weekly_section(session: AsyncSession, directory: GridDirectory, unit: UnitRef, start: datetime,
                         end: datetime, *, counts: dict[int, WishCounts] | None = None,
                         projects: dict[int, list[PublicProject]] | None = None) -> str:
    """The weekly report's lines for a unit (report_text's `community`): its wishes and projects' progress."""
    if counts is None:
        counts = await wish_counts(session, start, end)
    if projects is None:
        projects = {}
    total = WishCounts()
    communities = communities_under(directory, unit)
    for community in communities:
        one = counts.get(community.id, WishCounts())
        total.collected += one.collected
        total.published += one.published
        total.claimed += one.claimed
        total.fulfilled += one.fulfilled
    lines = [f"微心愿：{total.text()}。"]
    year = start.year
    for community in communities[:3]:
        if community.id not in projects:
            projects[community.id] = await community_projects(session, community.id, year)
        for project in projects[community.id][:5]:
            lines.append(f"实事「{project.title}」进度 {project.progress:.0f}%（{project.status_label}）")
    return "\n".join(lines)


def summary_text(community: str, heading: str, counts: WishCounts) -> str:
    return f"【{community}{heading}】{counts.text()}。感谢每一位认领心愿的党员、单位和志愿者！"

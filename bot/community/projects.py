"""为民办十件实事: a ledger of projects per community and year; progress rolls up from weighted milestones."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community.common import Refused, Who, may_manage, record
from bot.community.wishes import managed_wish
from bot.grid.directory import GridDirectory, UnitRef
from bot.pipeline.identities import Actor
from models import Milestone, Project, ProjectStatus, Staff, UnitLevel

PROJECT_COLUMNS = ("community", "year", "title", "description", "budget", "owner", "milestones")


def progress_of(milestones: list[Milestone]) -> float:
    """The weighted mean of the milestones' progress, 0..100 (0 without milestones)."""
    total = sum(m.weight for m in milestones)
    return sum(m.weight * m.progress for m in milestones) / total if total > 0 else 0.0


async def milestones_of(session: AsyncSession, project_id: int) -> list[Milestone]:
    return list((await session.scalars(select(Milestone).where(Milestone.project_id == project_id)
                                       .order_by(Milestone.seq))).all())


async def managed_project(session: AsyncSession, directory: GridDirectory, actor: Actor, project_id: int) -> Project:
    project = await session.get(Project, project_id)
    if project is None or not may_manage(directory, actor, project.community_id):
        raise Refused(f"未找到您可管理的实事项目 P{project_id}。")
    return project


async def create_project(session: AsyncSession, actor: Actor, community: UnitRef, year: int, title: str,
                         budget: float | None, description: str, now: datetime) -> Project:
    """Adds a project to the community's ledger for the year; its creator owns it."""
    title = title.strip()[:128]
    if not title:
        raise Refused("请写项目名称，例如：新建实事 老旧小区加装路灯｜50000｜为3个小区加装太阳能路灯。")
    if await session.scalar(select(Project.id).where(Project.community_id == community.id, Project.year == year,
                                                     Project.title == title)):
        raise Refused(f"{community.name} {year} 年已有实事项目「{title}」。")
    project = Project(community_id=community.id, year=year, title=title, description=description, budget=budget,
                      owner_id=actor.id if actor.is_staff else None, status=ProjectStatus.PLANNED, created_at=now,
                      updated_at=now)
    session.add(project)
    await session.flush()
    record(session, Who.of(actor), "create", now, project_id=project.id, after=ProjectStatus.PLANNED, note=title)
    return project


async def add_milestone(session: AsyncSession, directory: GridDirectory, actor: Actor, project_id: int, title: str,
                        weight: float, now: datetime) -> Milestone:
    project = await managed_project(session, directory, actor, project_id)
    if not title or weight <= 0:
        raise Refused(f"请写节点名称和权重，例如：节点 {project.number} 设备采购 30。")
    seq = (await session.scalar(select(func.max(Milestone.seq)).where(Milestone.project_id == project.id)) or 0) + 1
    milestone = Milestone(project_id=project.id, seq=seq, title=title[:128], weight=weight, progress=0,
                          updated_at=now)
    session.add(milestone)
    record(session, Who.of(actor), "milestone", now, project_id=project.id, note=f"{seq}. {title}（权重 {weight:g}）")
    await session.flush()
    return milestone


async def set_progress(session: AsyncSession, directory: GridDirectory, actor: Actor, project_id: int, seq: int,
                       percent: int, now: datetime) -> Project:
    """Sets one milestone's progress; the project is in progress once anything moved and done at 100%."""
    project = await managed_project(session, directory, actor, project_id)
    if not 0 <= percent <= 100:
        raise Refused("进度是 0 到 100 之间的百分数。")
    milestones = await milestones_of(session, project.id)
    milestone = next((m for m in milestones if m.seq == seq), None)
    if milestone is None:
        raise Refused(f"{project.number} 没有第 {seq} 个节点。")
    milestone.progress, milestone.updated_at = percent, now
    before = project.status
    overall = progress_of(milestones)
    project.status = ProjectStatus.DONE if overall >= 100 else \
        ProjectStatus.IN_PROGRESS if overall > 0 else ProjectStatus.PLANNED
    project.updated_at = now
    record(session, Who.of(actor), "progress", now, project_id=project.id, before=before, after=project.status,
           note=f"{milestone.title} {percent}%")
    return project


async def link_wish(session: AsyncSession, directory: GridDirectory, actor: Actor, wish_id: int, project_id: int,
                    now: datetime) -> None:
    wish = await managed_wish(session, directory, actor, wish_id)
    project = await managed_project(session, directory, actor, project_id)
    if project.community_id != wish.community_id:
        raise Refused(f"{wish.number} 和 {project.number} 不在同一个社区。")
    wish.project_id = project.id
    record(session, Who.of(actor), "link", now, wish_id=wish.id, project_id=project.id)


async def projects_of(session: AsyncSession, community_id: int, year: int) -> list[Project]:
    return list((await session.scalars(select(Project).where(Project.community_id == community_id,
                                                             Project.year == year)
                                       .order_by(Project.id))).unique().all())


def _milestone_specs(raw: str) -> list[tuple[str, float, int]]:
    """`设计:30:100;施工:70:20` → (title, weight, progress) triples."""
    specs = []
    for part in (p.strip() for p in raw.split(";") if p.strip()):
        pieces = part.split(":")
        title = pieces[0].strip()
        weight = float(pieces[1]) if len(pieces) > 1 and pieces[1].strip() else 1.0
        progress = int(pieces[2]) if len(pieces) > 2 and pieces[2].strip() else 0
        if not title or weight <= 0 or not 0 <= progress <= 100:
            raise ValueError(part)
        specs.append((title, weight, progress))
    return specs


async def load_projects_csv(session: AsyncSession, directory: GridDirectory, path: Path, now: datetime) -> int:
    """Upserts projects from a CSV (community, year, title, description, budget, owner, milestones)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    loaded = 0
    for line, row in enumerate(rows, 2):
        where = f"{path.name}:{line}"
        community = directory.resolve((row.get("community") or "").strip())
        if community is None or community.level is not UnitLevel.COMMUNITY:
            raise Refused(f"{where}: community {row.get('community')!r} is not a community code")
        try:
            year = int(row.get("year") or "")
            budget = float(row["budget"]) if (row.get("budget") or "").strip() else None
            milestones = _milestone_specs(row.get("milestones") or "")
        except ValueError as error:
            raise Refused(f"{where}: bad year, budget or milestone ({error})") from error
        title = (row.get("title") or "").strip()[:128]
        if not title:
            raise Refused(f"{where}: title is empty")
        owner = await session.scalar(select(Staff).where(Staff.code == (row.get("owner") or "").strip())) \
            if row.get("owner") else None
        project = await session.scalar(select(Project).where(Project.community_id == community.id,
                                                             Project.year == year, Project.title == title))
        if project is None:
            project = Project(community_id=community.id, year=year, title=title, created_at=now,
                              status=ProjectStatus.PLANNED)
            session.add(project)
        project.description, project.budget = (row.get("description") or "").strip(), budget
        project.owner_id, project.updated_at = owner.id if owner else None, now
        await session.flush()
        existing = {m.seq: m for m in await milestones_of(session, project.id)}
        for seq, (m_title, weight, progress) in enumerate(milestones, 1):
            milestone = existing.get(seq) or Milestone(project_id=project.id, seq=seq)
            milestone.title, milestone.weight, milestone.progress, milestone.updated_at = m_title, weight, progress, now
            session.add(milestone)
        await session.flush()
        overall = progress_of(await milestones_of(session, project.id))
        project.status = ProjectStatus.DONE if overall >= 100 else \
            ProjectStatus.IN_PROGRESS if overall > 0 else ProjectStatus.PLANNED
        record(session, Who("system", None, f"CSV {path.name}"), "load", now, project_id=project.id)
        loaded += 1
    return loaded

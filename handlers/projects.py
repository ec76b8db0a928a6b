"""为民办十件实事 in chat: staff keep the ledger (projects, milestones, progress, linked wishes); anyone reads it."""

from __future__ import annotations

import re

from bot.community.common import Refused, find_claimer, managed_community
from bot.community.projects import add_milestone, create_project, link_wish, set_progress
from bot.community.publishing import PublicProject, community_projects, project_view
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.messages import Button
from handlers.claim import home_community, refusing
from models import Project

router = HandlerRouter("projects")
P = r"\s*[Pp]\s*(\d{1,9})"


def project_lines(project: PublicProject, *, detail: bool = False) -> str:
    head = f"{project.number}「{project.title}」{project.status_label}，进度 {project.progress:.0f}%"
    if not detail:
        return head
    lines = [head]
    if project.description:
        lines.append(project.description)
    if project.budget is not None:
        lines.append(f"预算：{project.budget:,.0f} 元")
    lines += [f"  {i}. {m.title}（权重 {m.weight:g}）{m.progress}%" for i, m in enumerate(project.milestones, 1)]
    if project.claimed_by:
        lines.append(f"认领单位：{'、'.join(project.claimed_by)}")
    if project.wishes:
        lines.append(f"关联微心愿：{project.wishes} 个")
    return "\n".join(lines)


def _year(ctx: Context) -> int:
    return ctx.now.astimezone(ctx.services.settings.tz).year


@refusing(router, r"^新建实事\s*(.+)$", staff=True)
async def new_project(ctx: Context, match: re.Match[str]) -> None:
    """Adds a project to the staff member's community ledger: 标题｜预算｜说明."""
    community = managed_community(ctx.services.directory, ctx.actor)
    if community is None:
        raise Refused("只有社区工作人员可以新建本社区的实事项目。")
    parts = [p.strip() for p in match.group(1).replace("|", "｜").split("｜")]
    budget = None
    if len(parts) > 1 and parts[1]:
        try:
            budget = float(parts[1].replace(",", "").replace("元", "").replace("万", "e4"))
        except ValueError as error:
            raise Refused("预算请写数字（元），例如：新建实事 加装路灯｜50000｜为3个小区加装路灯。") from error
    project = await create_project(ctx.session, ctx.actor, community, _year(ctx), parts[0], budget,
                                   parts[2] if len(parts) > 2 else "", ctx.now)
    ctx.reply(f"已新建实事项目 {project.number}「{project.title}」。回复「节点 {project.number} 名称 权重」添加节点。",
              private=True)


@refusing(router, rf"^节点{P}\s+(\S+)\s+(\d+(?:\.\d+)?)$", staff=True)
async def milestone(ctx: Context, match: re.Match[str]) -> None:
    """Adds a weighted milestone."""
    added = await add_milestone(ctx.session, ctx.services.directory, ctx.actor, int(match.group(1)),
                                match.group(2), float(match.group(3)), ctx.now)
    ctx.reply(f"已添加第 {added.seq} 个节点「{added.title}」。回复「进度 P{added.project_id} {added.seq} 百分比」更新进度。",
              private=True)


@refusing(router, rf"^进度{P}\s+(\d{{1,3}})\s+(\d{{1,3}})\s*%?$", staff=True)
async def progress(ctx: Context, match: re.Match[str]) -> None:
    """Sets a milestone's progress; the project's rolls up."""
    project = await set_progress(ctx.session, ctx.services.directory, ctx.actor, int(match.group(1)),
                                 int(match.group(2)), int(match.group(3)), ctx.now)
    ctx.reply(project_lines(await project_view(ctx.session, project), detail=True), private=True)


@refusing(router, rf"^关联\s*[Ww]\s*(\d{{1,9}})\s*(?:到|和)?{P}$", staff=True)
async def link(ctx: Context, match: re.Match[str]) -> None:
    """Links a wish to a project."""
    await link_wish(ctx.session, ctx.services.directory, ctx.actor, int(match.group(1)), int(match.group(2)), ctx.now)
    ctx.reply(f"W{match.group(1)} 已关联到实事项目 P{match.group(2)}。", private=True)


@refusing(router, rf"^(实事|实事项目|十件实事|为民办实事)(?:{P})?$")
async def projects(ctx: Context, match: re.Match[str]) -> None:
    """The community's projects of the year with their progress, or one project in detail."""
    if match.group(2):
        project = await ctx.session.get(Project, int(match.group(2)))
        if project is None:
            raise Refused(f"没有实事项目 P{match.group(2)}。")
        buttons = (Button("认领", f"认领 {project.number}"),)
        ctx.reply(project_lines(await project_view(ctx.session, project), detail=True), buttons=buttons,
                  private=True)
        return
    claimer = await find_claimer(ctx.session, ctx.actor)
    community = (ctx.services.directory.unit(claimer.community_id) if claimer else None) \
        or managed_community(ctx.services.directory, ctx.actor) or await home_community(ctx)
    if community is None:
        raise Refused("请在社区居民群里发送「实事」，查看本社区的为民办实事项目。")
    views = await community_projects(ctx.session, community.id, _year(ctx))
    if not views:
        ctx.reply(f"{community.name}{_year(ctx)}年暂无登记的实事项目。", private=True)
        return
    ctx.reply(f"{community.name}{_year(ctx)}年为民办实事：\n" + "\n".join(project_lines(v) for v in views),
              private=True)

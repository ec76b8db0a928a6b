"""Community staff run the wish line: review, publish, approve claims and registrations, certify hours."""

from __future__ import annotations

import re

from bot.community.claimers import decide, describe, pending_registrations
from bot.community.claims import decide_claim, set_claim_approval
from bot.community.common import Refused, managed_community
from bot.community.hours import decide_hours
from bot.community.wishes import approve, decline, edit_wording, merge, publish, review_queue, review_text
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.messages import Button
from handlers.claim import refusing

router = HandlerRouter("wish_review")
W = r"\s*[Ww]\s*(\d{1,9})"


@router.staff_command(r"^(待审核|心愿审核|审核心愿|待审心愿)$")
async def queue(ctx: Context) -> None:
    """Wishes and registrations waiting for the staff member."""
    if ctx.actor.unit_id is None:
        return
    unit = ctx.services.directory.unit(ctx.actor.unit_id)
    wishes = await review_queue(ctx.session, ctx.services.directory, unit)
    people = await pending_registrations(ctx.session, unit)
    if not wishes and not people:
        ctx.reply("没有待审核的微心愿和双报到登记。", private=True)
        return
    lines = [f"{w.number} {w.status.label}｜{w.public_title}" for w in wishes]
    lines += [f"{p.number} 双报到｜{describe(p)}" for p in people]
    ctx.reply("待审核：\n" + "\n".join(lines) + "\n回复「心愿 编号」查看，「通过 编号」「发布 编号」处理。",
              private=True)


@refusing(router, rf"^公开{W}[\s,，:：]*(.*)$", staff=True)
async def wording(ctx: Context, match: re.Match[str]) -> None:
    """Rewrites the public title and text (标题｜内容)."""
    title, _, text = match.group(2).replace("|", "｜").partition("｜")
    wish = await edit_wording(ctx.session, ctx.services.directory, ctx.actor, int(match.group(1)), title, text,
                              ctx.now)
    ctx.reply(f"已修改 {wish.number} 的公开内容：\n{review_text(wish)}", private=True,
              buttons=(Button("通过", f"通过 {wish.number}"), Button("发布", f"发布 {wish.number}")))


@refusing(router, rf"^(通过|审核通过){W}$", staff=True)
async def approve_wish(ctx: Context, match: re.Match[str]) -> None:
    """Review passed; shows exactly what will be public."""
    wish = await approve(ctx.session, ctx.services.directory, ctx.actor, int(match.group(2)), ctx.now)
    ctx.reply(f"{wish.number} 已审核通过。\n{review_text(wish)}\n回复「发布 {wish.number}」在心愿墙发布。",
              buttons=(Button("发布", f"发布 {wish.number}"),), private=True)


@refusing(router, rf"^(发布|公布){W}$", staff=True)
async def publish_wish(ctx: Context, match: re.Match[str]) -> None:
    """Publishes the wish and announces it to the community's registered claimers."""
    wish, told = await publish(ctx.session, ctx.services.directory, ctx.actor, int(match.group(2)), ctx.now)
    ctx.reply(f"{wish.number} 已发布到心愿墙，已通知 {told} 位双报到党员、单位和志愿者。", private=True)


@refusing(router, rf"^合并{W}\s*(?:到|入|至)?{W}$", staff=True)
async def merge_wish(ctx: Context, match: re.Match[str]) -> None:
    """Merges a wish into another one of the same community."""
    wish = await merge(ctx.session, ctx.services.directory, ctx.actor, int(match.group(1)), int(match.group(2)),
                       ctx.now)
    ctx.reply(f"{wish.number} 已合并到 W{wish.merged_into_id}。", private=True)


@refusing(router, rf"^(不采纳|不予采纳){W}[\s,，:：]*(.*)$", staff=True)
async def decline_wish(ctx: Context, match: re.Match[str]) -> None:
    """Declines a wish with a reason the wisher is told."""
    wish = await decline(ctx.session, ctx.services.directory, ctx.actor, int(match.group(2)),
                         match.group(3).strip(), ctx.now)
    ctx.reply(f"{wish.number} 未采纳，已告知心愿人。", private=True)


@refusing(router, rf"^(批准认领|驳回认领){W}[\s,，:：]*(.*)$", staff=True)
async def claim_decision(ctx: Context, match: re.Match[str]) -> None:
    """Approves or turns down a pending claim."""
    yes = match.group(1) == "批准认领"
    claim = await decide_claim(ctx.session, ctx.services.directory, ctx.actor, int(match.group(2)), yes,
                               match.group(3).strip(), ctx.now)
    ctx.reply(f"W{claim.wish_id} 的认领{'已批准，联系信息已发给认领人' if yes else '已驳回，心愿回到心愿墙'}。",
              private=True)


@refusing(router, r"^(通过|不通过)\s*[Dd]\s*(\d{1,9})[\s,，:：]*(.*)$", staff=True)
async def registration_decision(ctx: Context, match: re.Match[str]) -> None:
    """Approves or turns down a 双报到 registration."""
    claimer = await decide(ctx.session, ctx.services.directory, ctx.actor, int(match.group(2)),
                           match.group(1) == "通过", match.group(3).strip(), ctx.now)
    ctx.reply(f"双报到登记 {claimer.number}（{claimer.name}）{claimer.status.label}。", private=True)


@refusing(router, r"^(确认工时|退回工时)\s*[Gg]\s*(\d{1,9})[\s,，:：]*(.*)$", staff=True)
async def hours_decision(ctx: Context, match: re.Match[str]) -> None:
    """The organiser certifies or sends back logged hours."""
    entry = await decide_hours(ctx.session, ctx.services.directory, ctx.actor, int(match.group(2)),
                               match.group(1) == "确认工时", match.group(3).strip(), ctx.now)
    ctx.reply(f"工时 {entry.number}（{entry.claimer.name} {entry.hours:g} 小时）{entry.status.label}。", private=True)


@refusing(router, r"^认领审批\s*(开|开启|打开|关|关闭)$", staff=True)
async def approval_policy(ctx: Context, match: re.Match[str]) -> None:
    """Turns staff approval of claims on or off for the staff member's community."""
    community = managed_community(ctx.services.directory, ctx.actor)
    if community is None:
        raise Refused("只有社区工作人员可以设置本社区的认领审批。")
    on = match.group(1).startswith(("开", "打"))
    await set_claim_approval(ctx.session, community.id, on)
    ctx.reply(f"{community.name}的心愿认领{'需要' if on else '不再需要'}社区审批。", private=True)

"""双报到 party members, units and volunteers: register, browse the wish wall, claim, report progress, fulfil, log hours."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.community.claimers import Registration, parse_registration, register
from bot.community.claims import (
    claim_of,
    claim_project,
    claim_wish,
    fulfil,
    live_claim,
    live_claims_of,
    may_see_private,
    post_progress,
    release,
)
from bot.community.common import Refused, community_of, find_claimer, may_manage
from bot.community.hours import log_hours
from bot.community.wishes import load_wish, open_wall, private_lines, public_lines
from bot.grid.directory import UnitRef
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.messages import Button
from handlers.intake import group_unit, media_of
from models import ClaimerKind, ClaimerStatus, UnitLevel, WishStatus
from models.community import PUBLIC_WISH_STATUSES

router = HandlerRouter("claim")
W = r"\s*[Ww]\s*(\d{1,9})"
ASK_REGISTRATION = ("请回复您的姓名、工作单位和是否党员，用空格分开，例如：张明 市供电公司 党员。"
                    "以单位报到请回复：单位 单位名称。")


Command = Callable[[Context, re.Match[str]], Awaitable[None]]


def refusing(target: HandlerRouter, pattern: str, *, staff: bool = False) -> Callable[[Command], Command]:
    """Registers a command (for anyone, or staff only) that gets its match and whose refusals become the answer."""
    compiled = re.compile(pattern, re.DOTALL)

    def register(handler: Command) -> Command:
        async def run(ctx: Context) -> bool:
            match = compiled.match(ctx.text)
            assert match is not None
            try:
                await handler(ctx, match)
            except Refused as refusal:
                ctx.reply(str(refusal), private=True, alert=True)
            return True
        run.__doc__ = handler.__doc__
        (target.staff_command if staff else target.command)(pattern)(run)
        return handler
    return register


async def home_community(ctx: Context) -> UnitRef | None:
    """The community the sender belongs to: their group's, their unit's or their home's."""
    unit = await group_unit(ctx)
    if unit is None and ctx.actor.unit_id is not None:
        unit = ctx.services.directory.unit(ctx.actor.unit_id)
    if unit is None or unit.level.depth < UnitLevel.COMMUNITY.depth:
        return None
    return community_of(ctx.services.directory, unit)


@router.command(r"^(双报到|报到登记|志愿者登记)(\s+.*)?$")
async def start_registration(ctx: Context) -> bool:
    """Starts a 双报到 registration, in one line or by asking."""
    words = re.sub(r"^(双报到|报到登记|志愿者登记)", "", ctx.text).strip()
    existing = await find_claimer(ctx.session, ctx.actor)
    if existing is not None:
        ctx.reply(f"您已登记双报到（{existing.community.name}，{existing.status.label}）。", private=True)
        return True
    ctx.start("claimer", "details")
    if not words:
        ctx.reply(ASK_REGISTRATION, private=True)
        return True
    return await on_details(ctx, words)


@router.step("claimer", "details")
async def on_details(ctx: Context, words: str | None = None) -> bool:
    """Takes name, employer and party membership."""
    parsed = parse_registration(words if words is not None else ctx.text)
    if parsed is None:
        if ctx.in_group:
            return False
        ctx.reply(ASK_REGISTRATION, private=True)
        return True
    name, kind, organisation, party = parsed
    ctx.state.values.update(name=name, kind=kind.value, organisation=organisation, party=party)
    community = await home_community(ctx)
    if community is None:
        ctx.goto("community")
        ctx.reply("请问您到哪个社区报到？请写社区名称，例如：铁塔厂社区。", private=True)
        return True
    await _register(ctx, community)
    return True


@router.step("claimer", "community")
async def on_community(ctx: Context) -> bool:
    """Takes the community the person reports to."""
    location = ctx.services.directory.locate(ctx.text, group_unit=None, home_unit=None) if ctx.text else None
    unit = ctx.services.directory.resolve(ctx.text.strip()) if ctx.text else None
    unit = unit or (location.unit if location else None)
    if unit is None or unit.level.depth < UnitLevel.COMMUNITY.depth:
        if ctx.in_group:
            return False
        ctx.reply("没有找到这个社区，请写社区名称，例如：铁塔厂社区；或回复「取消」。", private=True)
        return True
    await _register(ctx, community_of(ctx.services.directory, unit))
    return True


async def _register(ctx: Context, community: UnitRef) -> None:
    values = ctx.state.values
    ctx.finish()
    try:
        claimer = await register(ctx.session, ctx.actor, Registration(
            values["name"], ClaimerKind(values["kind"]), values["organisation"], values["party"], community),
            ctx.now)
    except Refused as refusal:
        ctx.reply(str(refusal), private=True)
        return
    ctx.reply(f"已提交双报到登记 {claimer.number}（{community.name}），社区审核通过后会通知您。", private=True)


async def _wall(ctx: Context, community: UnitRef, *, header: str) -> None:
    wishes = await open_wall(ctx.session, community.id)
    if not wishes:
        ctx.reply(f"{community.name}心愿墙上暂时没有待认领的心愿。新心愿发布时会通知已登记的志愿者。", private=True)
        return
    lines = [f"{w.number}｜{w.public_title}" for w in wishes]
    buttons = tuple(Button(f"认领 {w.number}", f"认领 {w.number}") for w in wishes[:5])
    ctx.reply(f"{header}\n" + "\n".join(lines) + "\n回复「心愿 编号」看详情，「认领 编号」认领。", buttons=buttons,
              private=True)


@router.command(r"^(心愿墙|微心愿|心愿列表|认领心愿|查看心愿)$")
async def wish_wall(ctx: Context) -> bool:
    """The open wishes of the claimer's community; anyone may look at their community's wall by its name."""
    claimer = await find_claimer(ctx.session, ctx.actor)
    if claimer is not None and claimer.status is ClaimerStatus.APPROVED:
        await _wall(ctx, ctx.services.directory.unit(claimer.community_id),
                    header=f"{claimer.community.name}心愿墙（待认领）：")
        return True
    if ctx.text.strip() == "微心愿" and not ctx.actor.is_staff:
        return False  # a resident starting a wish
    community = await home_community(ctx)
    if community is None:
        ctx.reply("请在社区居民群里发送「心愿墙」查看本社区的微心愿；党员、单位和志愿者发送「双报到」登记后可认领。",
                  private=True)
        return True
    await _wall(ctx, community, header=f"{community.name}心愿墙（党员、志愿者登记「双报到」后可认领）：")
    return True


@refusing(router, rf"^(心愿|查看|详情){W}$")
async def show_wish(ctx: Context, match: re.Match[str]) -> None:
    """One wish: public wording for all; private details for its staff, its wisher and an approved claimer."""
    wish = await load_wish(ctx.session, int(match.group(2)))
    claimer = await find_claimer(ctx.session, ctx.actor)
    allowed_private = wish is not None and may_see_private(
        ctx.services.directory, ctx.actor, wish, await live_claim(ctx.session, wish.id), claimer)
    if wish is None or (wish.status not in PUBLIC_WISH_STATUSES and not allowed_private):
        raise Refused(f"没有找到心愿 W{match.group(2)}。")
    lines = [public_lines(wish), f"状态：{wish.status.label}"]
    buttons: tuple[Button, ...] = ()
    if allowed_private:
        lines.append(private_lines(wish))
    if may_manage(ctx.services.directory, ctx.actor, wish.community_id):
        buttons = (Button("通过", f"通过 {wish.number}"), Button("发布", f"发布 {wish.number}"))
    elif wish.status is WishStatus.PUBLISHED:
        buttons = (Button("认领", f"认领 {wish.number}"),)
    ctx.reply("\n".join(lines), buttons=buttons, private=True)


@refusing(router, r"^认领\s*([WwPp])\s*(\d{1,9})$")
async def claim(ctx: Context, match: re.Match[str]) -> None:
    """Claims a wish (one live claim each) or joins a project."""
    claimer = await find_claimer(ctx.session, ctx.actor)
    number = int(match.group(2))
    if match.group(1) in "Pp":
        project_claim = await claim_project(ctx.session, claimer, number, ctx.now)
        ctx.reply(f"已认领实事项目 P{project_claim.project_id}，感谢参与！", private=True)
        return
    wish_claim = await claim_wish(ctx.session, claimer, number, ctx.now)
    if wish_claim.status.value == "pending":
        ctx.reply(f"已申请认领 W{number}，社区审批后会把心愿人的联系信息发给您。", private=True)
        return
    wish = await load_wish(ctx.session, number)
    assert wish is not None
    ctx.reply(f"认领成功！以下信息仅供您联系心愿人，请勿外传：\n{public_lines(wish)}\n{private_lines(wish)}\n"
              f"进展请回复「进展 {wish.number} 内容」，实现后回复「实现 {wish.number} 说明」并附照片。", private=True)


@refusing(router, rf"^(放弃|放弃认领|释放){W}\s*(.*)$")
async def give_back(ctx: Context, match: re.Match[str]) -> None:
    """The claimer gives a wish back to the wall."""
    wish = await release(ctx.session, await find_claimer(ctx.session, ctx.actor), int(match.group(2)),
                         match.group(3).strip(), ctx.now)
    ctx.reply(f"已放弃认领 {wish.number}，心愿回到心愿墙。", private=True)


@refusing(router, rf"^(进展|进度|反馈){W}[\s,，:：]*(.*)$")
async def progress(ctx: Context, match: re.Match[str]) -> None:
    """The claimer reports progress; the wisher hears it."""
    wish = await post_progress(ctx.session, await find_claimer(ctx.session, ctx.actor), int(match.group(2)),
                               match.group(3).strip(), ctx.now)
    ctx.reply(f"{wish.number} 进展已记录并告知心愿人。", private=True)


@refusing(router, rf"^(实现|已实现|完成|已完成){W}[\s,，:：]*(.*)$")
async def fulfilled(ctx: Context, match: re.Match[str]) -> None:
    """The claimer marks the wish fulfilled, with a photo now or in the next message."""
    number, note = int(match.group(2)), match.group(3).strip()
    claimer = await find_claimer(ctx.session, ctx.actor)
    if not ctx.inbound.media:
        await claim_of(ctx.session, claimer, number)  # refuses early when it is not theirs
        ctx.start("claim", "photo", wish_id=number, note=note)
        ctx.reply(f"请发一张实现心愿 W{number} 的照片（可附一句说明）。", private=True)
        return
    wish = await fulfil(ctx.session, claimer, number, note, media_of(ctx), ctx.now)
    ctx.reply(f"{wish.number} 已标记为实现，谢谢您！记得回复「工时 {wish.number} 小时数 说明」登记志愿时长。", private=True)


@router.step("claim", "photo")
async def on_photo(ctx: Context) -> bool:
    """Takes the photo that completes a fulfilment."""
    if not ctx.inbound.media:
        if ctx.in_group:
            return False
        ctx.reply("请发一张照片，或回复「取消」。", private=True)
        return True
    values = ctx.state.values
    note = " ".join(p for p in (values.get("note", ""), ctx.text.strip()) if p)
    ctx.finish()
    try:
        wish = await fulfil(ctx.session, await find_claimer(ctx.session, ctx.actor), values["wish_id"], note,
                            media_of(ctx), ctx.now)
    except Refused as refusal:
        ctx.reply(str(refusal), private=True)
        return True
    ctx.reply(f"{wish.number} 已标记为实现，谢谢您！记得回复「工时 {wish.number} 小时数 说明」登记志愿时长。", private=True)
    return True


@refusing(router, r"^(工时|登记工时|志愿时长)\s*([WwPp])\s*(\d{1,9})\s+(\d{1,2}(?:\.\d)?)\s*(?:小时|h|H)?\s*(.*)$")
async def hours(ctx: Context, match: re.Match[str]) -> None:
    """The claimer logs hours on a wish or project they claimed; the organiser confirms them."""
    number, is_wish = int(match.group(3)), match.group(2) in "Ww"
    entry = await log_hours(ctx.session, await find_claimer(ctx.session, ctx.actor),
                            wish_id=number if is_wish else None, project_id=None if is_wish else number,
                            hours=float(match.group(4)), note=match.group(5).strip(),
                            worked_on=ctx.now.astimezone(ctx.services.settings.tz).date(), now=ctx.now)
    ctx.reply(f"已登记 {entry.hours:g} 小时（{entry.number}），组织者确认后计入志愿时长。", private=True)


@router.command(r"^(我的认领|我认领的)$")
async def my_claims(ctx: Context) -> bool:
    """Lists the claimer's live claims."""
    claimer = await find_claimer(ctx.session, ctx.actor)
    if claimer is None:
        return False
    claims = await live_claims_of(ctx.session, claimer.id)
    if not claims:
        ctx.reply("您目前没有进行中的认领。发送「心愿墙」看看有哪些心愿。", private=True)
        return True
    ctx.reply("您的认领：\n" + "\n".join(
        (f"W{c.wish_id}" if c.wish_id else f"P{c.project_id}") + f" {c.status.label}" for c in claims), private=True)
    return True

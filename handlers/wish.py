"""微心愿 from the wisher's side: make a wish, follow it, thank whoever fulfilled it."""

from __future__ import annotations

import re

from bot.cases.lifecycle import place_label
from bot.community.common import Refused
from bot.community.wishes import WishDraft, file_wish, thank, wishes_of
from bot.community.wording import scrub
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.identities import mask_phones_in
from bot.understanding.classifier import Intent
from handlers.intake import (
    STARTERS,
    YES,
    another_matter,
    begin_intake,
    media_of,
    on_which_draft,
    place,
    strip_triggers,
)
from models import CaseKind

router = HandlerRouter("wish")
ASK = "请说说您的微心愿，例如：希望有人帮家里老人修一下轮椅。"
BARE = re.compile(r"^(我要)?(提|许)?(个|一个)?(微心愿|心愿|许愿)[!！。.]?$")
CONFIRM_HINT = "回复「确认」提交，「取消」放弃；地点不对请直接告诉我正确的小区和楼栋。"


@router.intent(Intent.WISH)
async def start_wish(ctx: Context) -> bool:
    """Starts a wish; asks what it is when the message said nothing more."""
    body = begin_intake(ctx, CaseKind.WISH, ASK)
    if body and BARE.match(body):
        ctx.reply(ASK)
    elif body:
        await take_wish(ctx, body)
    return True


@router.step("wish", "describe")
async def on_wish(ctx: Context) -> bool:
    """Takes the wish's words."""
    if ctx.inbound.media:
        ctx.state.values.setdefault("media", []).extend(media_of(ctx))
    body = strip_triggers(ctx, ctx.text)
    if not body:
        return bool(ctx.inbound.media)
    await take_wish(ctx, body)
    return True


async def take_wish(ctx: Context, body: str) -> None:
    result = ctx.classifier.categorize(body, CaseKind.WISH.value)
    category = result.category if result.confidence >= ctx.services.settings.confidence_threshold else None
    ctx.state.values.update(text=body, category_code=category.code if category else None,
                            category_name=category.name if category else "微心愿")
    location = await place(ctx, body)
    if location is None:
        ctx.goto("location")
        ctx.reply("请问心愿是在哪个小区、哪栋楼？例如：铁塔厂家属院3号楼。", private=True)
        return
    ctx.state.values["unit_id"] = location.unit.id
    show_confirmation(ctx)


def show_confirmation(ctx: Context) -> None:
    """Asks the wisher to confirm; in a group only what would be public is repeated, never the place or a name."""
    values = ctx.state.values
    directory = ctx.services.directory
    if ctx.in_group:
        lines = ["请确认您的微心愿（群里只显示将公开的内容）：", scrub(values["text"], [ctx.actor.name])]
    else:
        lines = ["请确认您的微心愿：", f"地点：{place_label(directory, directory.unit(values['unit_id']))}",
                 f"内容：{mask_phones_in(values['text'])}"]
    if values.get("media"):
        lines.append(f"照片：{len(values['media'])} 张")
    lines.append("社区审核后在心愿墙公开，不会公开您的姓名、电话和门牌号。")
    lines.append(CONFIRM_HINT)
    ctx.goto("confirm")
    ctx.reply("\n".join(lines))


@router.step("wish", "location")
async def on_location(ctx: Context) -> bool:
    """Takes the place the wisher named; a new matter of another kind instead asks which to keep."""
    location = ctx.services.directory.locate(ctx.text, group_unit=None, home_unit=None) if ctx.text else None
    if location is None:
        if ctx.in_group and not ctx.text:
            return False
        if another_matter(ctx):
            return True
        ctx.reply("没有找到这个地点。请写小区名称和楼栋，例如：秦机小区5号楼；或回复「取消」。", private=True)
        return True
    ctx.state.values["unit_id"] = location.unit.id
    show_confirmation(ctx)
    return True


@router.step("wish", "confirm")
async def on_confirm(ctx: Context) -> bool:
    """Files the wish on yes; takes an added photo or a corrected place."""
    if ctx.inbound.media:
        ctx.state.values.setdefault("media", []).extend(media_of(ctx))
        if not ctx.text:
            show_confirmation(ctx)
            return True
    if YES.match(ctx.text):
        await file(ctx)
        return True
    location = ctx.services.directory.locate(ctx.text, group_unit=None, home_unit=None) if ctx.text else None
    if location is not None:
        ctx.state.values["unit_id"] = location.unit.id
        show_confirmation(ctx)
        return True
    if ctx.in_group:
        return False
    if another_matter(ctx):
        return True
    ctx.reply(CONFIRM_HINT)
    return True


async def file(ctx: Context) -> None:
    values = ctx.state.values
    draft = WishDraft(text=values["text"], unit=ctx.services.directory.unit(values["unit_id"]),
                      category_code=values.get("category_code"), category_name=values.get("category_name"),
                      media=values.get("media", []))
    wish = await file_wish(ctx.session, ctx.services.directory, draft, ctx.actor, channel=ctx.inbound.channel,
                           chat_id=ctx.inbound.chat_id, today=ctx.now.astimezone(ctx.services.settings.tz).date(),
                           now=ctx.now)
    ctx.finish()
    ctx.reply(f"已收到您的微心愿，编号 {wish.number}。社区审核后会在心愿墙发布，由党员和志愿者认领；"
              f"回复「我的心愿」可查看进度。")


@router.command(r"^(我的心愿|我的微心愿)$")
async def my_wishes(ctx: Context) -> bool:
    """Lists the resident's own wishes with their status."""
    if ctx.actor.is_staff:
        return False
    wishes = await wishes_of(ctx.session, ctx.actor.id)
    if not wishes:
        ctx.reply("您还没有提过微心愿。发送「#微心愿 您的心愿」即可提出。", private=True)
        return True
    ctx.reply("您的微心愿：\n" + "\n".join(f"{w.number} {w.status.label}｜{w.public_title}" for w in wishes),
              private=True)
    return True


THANKS = re.compile(r"^(感谢|谢谢|答谢|满意|基本满意|不满意)\s*[Ww]\s*(\d{1,9})\s*(.*)$", re.DOTALL)


@router.command(THANKS.pattern)
async def thanks(ctx: Context) -> bool:
    """The wisher thanks or rates whoever fulfilled the wish."""
    match = THANKS.match(ctx.text)
    assert match is not None
    word, words = match.group(1), match.group(3).strip()
    try:
        wish = await thank(ctx.session, ctx.actor, int(match.group(2)), words, ctx.classifier.rules.grade_in(word),
                           ctx.now)
    except Refused as refusal:
        ctx.reply(str(refusal), private=True, alert=True)
        return True
    ctx.reply(f"谢谢您的反馈！已转达给帮您实现心愿 {wish.number} 的志愿者。", private=True)
    return True


router.step("wish", "which_draft")(on_which_draft)
STARTERS[CaseKind.WISH] = take_wish

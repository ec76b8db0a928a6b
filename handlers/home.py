"""我家住秦机小区5号楼: a resident registers or changes their home in chat, confirmed; later reports use it."""

from __future__ import annotations

import re

from sqlalchemy import update

from bot.cases.lifecycle import place_label
from bot.grid.directory import GROUP, Location
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.understanding.classifier import Intent
from handlers.intake import YES, buildings_of, group_unit, moved_on, on_location
from models import Resident, UnitLevel

router = HandlerRouter("home")
# The whole message is a home: 我家住…, 我住在…, 我家是…, 我的住址是…, 改一下我家地址(为)…, 登记住址 …
# A comma ends the match, so 我家在3号楼，电梯坏了 stays a report.
REGISTER_HOME = re.compile(
    r"^(?:(?:请|麻烦)?(?:帮我)?(?:改|修改|更改|更新|换)(?:一下)?(?:我家|我的)?的?(?:家庭)?(?:地址|住址)(?:为|成|是|到)?"
    r"|(?:帮我)?登记(?:一下)?(?:我的|我家)?的?(?:地址|住址)|我家住(?:在)?|我住(?:在)?|我家(?:在|是)"
    r"|我(?:的|家)?的?(?:住址|地址)(?:是|为|在)?)[\s:：,，]*(?P<place>[^，,。；;！!？?\n]{0,40}?)[。.!！]*$")
ASK = "请告诉我您的住址：小区和楼栋，例如：秦机小区5号楼。回复「取消」放弃。"


@router.resident_command(REGISTER_HOME.pattern)
async def register_home(ctx: Context) -> bool:
    """Starts registering the resident's home from the words, or asks for them."""
    if ctx.state.is_open and ctx.state.flow == "report" and ctx.state.step in ("location", "building"):
        return await on_location(ctx)  # the answer to "where is it?": the draft takes the place
    if ctx.state.is_open and ctx.state.flow != "home":
        ctx.reply("您还有一件事没办完，请先完成，或回复「取消」后再登记住址。")
        return True
    match = REGISTER_HOME.match(ctx.text)
    words = (match.group("place") if match else "").strip()
    if ctx.in_group and words and await home_place(ctx, words) is None:
        return False  # 我住在这个小区十年了 is group chatter, not a registration
    ctx.start("home", "place")
    if not words:
        ctx.reply(ASK)
        return True
    await take_home(ctx, words)
    return True


async def take_home(ctx: Context, words: str) -> None:
    """A compound or building becomes the proposed home; anything vaguer gets a question."""
    location = await home_place(ctx, words)
    if location is None:
        ctx.reply(f"没有找到「{words}」对应的小区。住址请写到小区和楼栋，例如：秦机小区5号楼；回复「取消」放弃。")
        return
    if location.missing_building is not None:
        ctx.reply(f"{location.unit.name}没有{location.missing_building}号楼（登记的是{buildings_of(ctx, location.unit)}）。"
                  f"请重新告诉我住址，例如：{location.unit.name}3号楼。")
        return
    propose(ctx, location)


async def home_place(ctx: Context, words: str) -> Location | None:
    """The compound or building the words name (a bare 5号楼 in a compound's group is in that compound)."""
    location = ctx.services.directory.locate(words, group_unit=await group_unit(ctx), home_unit=None) if words else None
    if location is None or location.source == GROUP or location.unit.level.depth < UnitLevel.GRID.depth:
        return None
    return location


def propose(ctx: Context, location: Location) -> None:
    directory = ctx.services.directory
    label = place_label(directory, location.unit)
    current = directory.unit(ctx.actor.unit_id) if ctx.actor.unit_id is not None else None
    ctx.goto("confirm", unit_id=location.unit.id)
    change = f"将您的住址由「{place_label(directory, current)}」改为" if current else "将您的住址登记为"
    ctx.reply(f"{change}「{label}」。回复「确认」保存，「取消」放弃；不对请直接告诉我正确的小区和楼栋。")


async def put_down_home(ctx: Context) -> bool:
    """A report, wish or booking typed where a home is asked for or awaits its yes, naming no place: the home is put
    down unsaved (handlers/intake.py moved_on) and the new matter taken in."""
    return await home_place(ctx, ctx.text) is None and moved_on(
        ctx, "刚才的住址还没保存，已先放下；需要时再发「我家住 小区楼栋」。", Intent.REPORT, Intent.WISH, Intent.APPOINTMENT)


@router.step("home", "place")
async def on_place(ctx: Context) -> bool:
    """Takes the home the resident named after being asked."""
    if not ctx.text or await put_down_home(ctx):
        return False
    await take_home(ctx, ctx.text)
    return True


@router.step("home", "confirm")
async def on_confirm(ctx: Context) -> bool:
    """Saves the home on yes; another place replaces the proposal."""
    if not YES.match(ctx.text):
        if not ctx.text or await put_down_home(ctx):
            return False
        await take_home(ctx, ctx.text)
        return True
    unit = ctx.services.directory.unit(ctx.state.values["unit_id"])
    await ctx.session.execute(update(Resident).where(Resident.id == ctx.actor.id).values(home_unit_id=unit.id))
    ctx.finish()
    ctx.reply(f"已保存您的住址：{place_label(ctx.services.directory, unit)}。以后反映问题没说地点时，就按这里登记；"
              f"要修改请发「改一下我家地址 小区楼栋」。")
    return True

"""Steps shared by every intake dialogue (report, wish, appointment): place, confirm, file."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.cases.lifecycle import EMERGENCY_PRIORITY, Draft, file_case, place_label
from bot.grid.directory import (
    HOME,
    NO_HOME,
    TEXT_BUILDING,
    VAGUE_DISTRICT,
    Location,
    UnitRef,
    building_mention,
    compact,
)
from bot.grid.routing import Responsibility, category_duty
from bot.pipeline.binding import bound_unit_id
from bot.pipeline.dispatcher import Context
from bot.pipeline.identities import mask_phones_in
from bot.pipeline.messages import Button
from bot.understanding.classifier import CASE_INTENTS, Intent
from bot.understanding.emergencies import advice, emergency_in
from bot.understanding.triggers import strip_hashtags
from models import CaseKind, UnitLevel

YES = re.compile(r"^(确认|确定|是|是的|对|对的|好|好的|提交|没错|嗯|ok|y|yes|1)[!！。.\s]*$", re.IGNORECASE)
COMMAND_PREFIX = re.compile(r"^/\w+(@\w+)?\s*")
KIND_WORDS = {CaseKind.REPORT: "问题", CaseKind.WISH: "微心愿", CaseKind.APPOINTMENT: "预约"}


def strip_triggers(ctx: Context, text: str) -> str:
    """The resident's words without the /command or #hashtag (the rules file's list) that started the dialogue."""
    return strip_hashtags(COMMAND_PREFIX.sub("", text), ctx.classifier.hashtags)


# How each kind's intake takes a description (registered by handlers/report.py and handlers/wish.py).
STARTERS: dict[CaseKind, Callable[[Context, str], Awaitable[None]]] = {}
DRAFT_FLOWS = {CaseKind.REPORT.value, CaseKind.WISH.value}
KEEP_OLD, TAKE_NEW, BOTH = "1", "2", "3"


def draft_waiting(ctx: Context) -> bool:
    """Whether a described report or wish waits for its place or its yes."""
    state = ctx.state
    return state.flow in DRAFT_FLOWS and bool(state.values.get("text")) and state.step not in ("describe", "which_draft")


def begin_intake(ctx: Context, kind: CaseKind, prompt: str) -> str | None:
    """Opens the kind's dialogue at its first step; returns the words that came with the trigger, or asks. A new
    report, wish or booking while a described draft waits is not silently swapped in: the resident is asked which
    to keep."""
    body = strip_triggers(ctx, ctx.text)
    state = ctx.state
    if body and draft_waiting(ctx):
        old = state.values["text"]
        state.values["replacement"] = {"kind": kind.value, "text": body, "media": media_of(ctx), "step": state.step}
        both = state.step == "confirm"
        ctx.goto("which_draft")
        ctx.reply(f"您还有一条未提交的{KIND_WORDS[CaseKind(state.values['kind'])]}：「{old[:40]}」\n"
                  f"新的这条：「{body[:40]}」\n回复 {KEEP_OLD} 继续原来的，{TAKE_NEW} 改登记新的（原来的作废）"
                  + (f"，{BOTH} 两条都登记（先提交原来的）。" if both else "。"),
                  buttons=(Button("继续原来的", KEEP_OLD), Button("改登记新的", TAKE_NEW))
                  + ((Button("两条都登记", BOTH),) if both else ()))
        return None
    if body and state.flow in DRAFT_FLOWS and state.step == "which_draft":
        # Two are already waiting on the resident's choice: a third is not swapped in for either.
        both = (state.values.get("replacement") or {}).get("step") == "confirm"
        ctx.reply(f"您还有两条未提交的内容在等您选择，新的这条「{body[:40]}」这次没有登记。\n请先回复 {KEEP_OLD} 继续原来的，"
                  f"{TAKE_NEW} 改登记新的" + (f"，{BOTH} 两条都登记" if both else "") + "；处理完再把新的发一次。")
        return None
    ctx.start(kind.value, "describe", kind=kind.value, media=media_of(ctx))
    if not body:
        ctx.reply(prompt)
        return None
    return body


async def on_which_draft(ctx: Context) -> bool:
    """Keeps the waiting draft, takes the new report instead, or files the draft and then takes the new one."""
    pick = ctx.text.strip().rstrip("。.")
    values = ctx.state.values
    new = values.get("replacement") or {}
    both = new.get("step") == "confirm"
    if pick in (KEEP_OLD, "继续原来的", "原来的"):
        values.pop("replacement", None)
        ctx.goto(new.get("step", "confirm"))
        if new.get("step") == "confirm":
            show_confirmation(ctx)
        else:
            ctx.reply("好的，继续原来的登记，请回答上一个问题。")
        return True
    if pick in (TAKE_NEW, "改登记新的", "新的") or (both and pick in (BOTH, "两条都登记", "都要")):
        if pick not in (TAKE_NEW, "改登记新的", "新的"):
            await file_draft(ctx)
        kind = CaseKind(new["kind"])
        ctx.start(kind.value, "describe", kind=kind.value, media=new.get("media", []))
        await STARTERS[kind](ctx, new["text"])
        return True
    if ctx.in_group:
        return False
    ctx.reply(f"请回复 {KEEP_OLD} 继续原来的，{TAKE_NEW} 改登记新的" + (f"，{BOTH} 两条都登记" if both else "")
              + "；回复「取消」两条都不提交。")
    return True


def moved_on(ctx: Context, put_down: str, *kinds: Intent) -> bool:
    """Whether a private message typed where a dialogue waits for an answer (a pick from a list, a place) is a new
    matter of one of these kinds instead (a report, a wish, a booking): the dialogue is put down, the resident is
    told in `put_down`'s words, and the caller leaves the message to its own intake."""
    if ctx.in_group or ctx.classification().intent not in kinds:
        return False
    ctx.finish()
    ctx.reply(put_down)
    return True


def media_of(ctx: Context) -> list[dict]:
    return [{"kind": m.kind, "ref": m.ref, **m.extras} for m in ctx.inbound.media]


async def group_unit(ctx: Context) -> UnitRef | None:
    """The grid unit the current group is bound to (or the group a private offer was made about), if bound."""
    chat_id = ctx.inbound.chat_id if ctx.in_group else ctx.state.values.get("offered_in")
    if not chat_id:
        return None
    unit_id = await bound_unit_id(ctx.session, ctx.inbound.channel, chat_id)
    return ctx.services.directory.unit(unit_id) if unit_id is not None else None


def home_unit(ctx: Context) -> UnitRef | None:
    """The resident's registered home, as identify() read it with their identity."""
    if ctx.actor.is_staff or ctx.actor.unit_id is None:
        return None
    return ctx.services.directory.unit(ctx.actor.unit_id)


async def place(ctx: Context, text: str) -> Location | None:
    """Where the matter is: the words, the group, or the resident's home."""
    return ctx.services.directory.locate(text, group_unit=await group_unit(ctx), home_unit=home_unit(ctx))


async def ask_place_or_confirm(ctx: Context) -> None:
    """Moves the draft on to the place question, or straight to confirmation when the place is known."""
    await settle_place(ctx, await place(ctx, ctx.state.values["text"]), ctx.state.values["text"], first=True)


EXAMPLE = "例如：秦机小区5号楼、经二路与红旗路口、姜谭公园"
TOO_VAGUE = f"只说到区，范围太大了。请说得具体一些：哪个小区、哪条路或路口、附近的什么地方？{EXAMPLE}。"


def where_question(ctx: Context, text: str, *, first: bool) -> str:
    """Asks where, saying why the words did not place the matter when they said something."""
    why = ctx.services.directory.unplaced(text)
    if why == VAGUE_DISTRICT:
        return TOO_VAGUE
    if why == NO_HOME:
        return ("您还没有登记住址，我不知道您家在哪里。请告诉我小区和楼栋，例如：秦机小区5号楼；"
                "也可以发「我家住秦机小区5号楼」登记住址，以后就不用每次说了。")
    if why:
        return f"没有找到「{why}」。请告诉我附近的小区、路口或地标，{EXAMPLE}；或回复「取消」。"
    if first:
        return f"请问是在哪个小区、哪栋楼，或哪条路、哪个路口？{EXAMPLE}。"
    return f"没有找到这个地点。请写小区名称和楼栋，或路名、路口，{EXAMPLE}；或回复「取消」。"


def buildings_of(ctx: Context, grid: UnitRef) -> str:
    """A compound's buildings as residents read them: 1–8号楼, or 1、2、3号楼."""
    numbers = sorted(n for u in ctx.services.directory.children(grid)
                     if u.level is UnitLevel.BUILDING and (n := (building_mention(compact(u.name)) or (0, ""))[0]))
    if numbers and numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        return f"{numbers[0]}–{numbers[-1]}号楼"
    return "、".join(map(str, numbers)) + "号楼" if numbers else "未登记楼栋"


async def settle_place(ctx: Context, location: Location | None, text: str, *, first: bool = False) -> None:
    """Takes a place for the draft, or asks: where (saying why), which building, or which compound."""
    values = ctx.state.values
    directory = ctx.services.directory
    wanted = values.pop("wanted_building", None)
    if location is not None and wanted and location.unit.level is UnitLevel.GRID and location.missing_building is None:
        building = directory.find_building(location.unit, wanted)  # the compound for a building asked about
        location = Location(building, location.source, location.matched) if building else \
            Location(location.unit, location.source, location.matched, missing_building=wanted)
    if location is None or location.unit.level is UnitLevel.DISTRICT:  # a group bound to the whole district
        ctx.goto("location")
        ctx.reply(where_question(ctx, text, first=first) if location is None else TOO_VAGUE)
        if values.get("emergency"):
            ctx.reply("说出地点后，我们立即通知网格员和社区书记。")
        return
    if location.missing_building is not None and not values.get("emergency"):  # an emergency files where it can
        number = location.missing_building
        values["wanted_building"] = number
        if location.unit.level is UnitLevel.GRID:
            values.update(unit_id=location.unit.id, location_source=location.source, spot=None)
            ctx.goto("building")
            ctx.reply(f"{location.unit.name}没有{number}号楼（登记的是{buildings_of(ctx, location.unit)}）。"
                      "请回复正确的楼号，例如：3号楼；"
                      f"或回复「确认」按整个{location.unit.name}登记。")
        else:
            ctx.goto("location")
            ctx.reply(f"请问是哪个小区的{number}号楼？例如：秦机小区{number}号楼。")
        return
    spot = location.spot
    values.update(unit_id=location.unit.id, location_source=location.source,
                  spot={"key": spot.key, "label": spot.label} if spot else None)
    await confirm_or_file(ctx)


async def on_building(ctx: Context) -> bool:
    """Takes the building number asked for, or 确认 for the whole compound, or another place altogether."""
    values = ctx.state.values
    directory = ctx.services.directory
    if YES.match(ctx.text):
        values.pop("wanted_building", None)
        await confirm_or_file(ctx)
        return True
    grid = directory.unit(values["unit_id"])
    words = compact(ctx.text)
    mention = building_mention(words) or (building_mention(words + "号楼") if words.isdigit() else None)
    elsewhere = directory.locate(ctx.text, group_unit=None, home_unit=None) if ctx.text else None
    if mention is not None and (elsewhere is None or elsewhere.source != TEXT_BUILDING):
        elsewhere = Location(grid, "resident", "", missing_building=mention[0])
        building = directory.find_building(grid, mention[0])
        if building is not None:
            elsewhere = Location(building, "resident", mention[1])
    if elsewhere is None:
        if ctx.in_group and not ctx.text:
            return False
        ctx.reply(f"请回复{grid.name}的楼号，例如：3号楼；或回复「确认」按整个小区登记，「取消」放弃。")
        return True
    values.pop("wanted_building", None)
    await settle_place(ctx, elsewhere, ctx.text)
    return True


async def confirm_or_file(ctx: Context) -> None:
    """Asks the resident to confirm; an emergency is filed at once, its staff must hear of it now."""
    if ctx.state.values.get("emergency"):
        await file_draft(ctx)
    else:
        show_confirmation(ctx)


def take_emergency(ctx: Context, text: str) -> None:
    """Tells the resident the number to call at once and marks the draft as an emergency."""
    emergency = emergency_in(text)
    if emergency is not None:
        ctx.state.values.update(emergency=emergency.code, emergency_label=emergency.label)
        ctx.reply(advice(emergency, ctx.services.settings.emergency_numbers))


def show_confirmation(ctx: Context) -> None:
    values = ctx.state.values
    place_name = place_label(ctx.services.directory, ctx.services.directory.unit(values["unit_id"]),
                             (values.get("spot") or {}).get("label"))
    lines = [f"请确认您的{KIND_WORDS[CaseKind(values['kind'])]}："]
    if values.get("category_name"):
        lines.append(f"类别：{values['category_name']}")
    if values.get("extras", {}).get("service"):
        lines.append(f"事项：{values['extras']['service']}；时间：{values['extras'].get('preferred_time') or '未说明'}")
    lines.append(f"地点：{place_name}")
    text = values["text"]
    lines.append(f"内容：{mask_phones_in(text)}")  # masked in a private chat too: chat windows are seen and forwarded
    if values.get("media"):
        lines.append(f"照片：{len(values['media'])} 张")
    lines.append("回复「确认」提交，「取消」放弃；地点不对请直接告诉我正确的小区和楼栋。")
    ctx.goto("confirm")
    ctx.reply("\n".join(lines))


def locate_answer(ctx: Context) -> Location | None:
    """The place a resident answered with; their home only when the words say so (就在我家门口)."""
    if not ctx.text:
        return None
    location = ctx.services.directory.locate(ctx.text, group_unit=None, home_unit=home_unit(ctx))
    if location is not None and location.source == HOME and ctx.services.directory.unplaced(ctx.text) != NO_HOME:
        return None
    return location


async def on_location(ctx: Context) -> bool:
    """Takes the place the resident named; a new matter of another kind instead asks which to keep."""
    location = locate_answer(ctx)
    if location is None and ctx.in_group and not ctx.text:
        return False
    if location is None and another_matter(ctx):
        return True
    await settle_place(ctx, location, ctx.text)
    return True


def another_matter(ctx: Context) -> bool:
    """A private message naming no place where the draft waits for one or for its yes, that reads as a matter of
    another kind (a booking or a wish after a report): the resident is asked which to keep (begin_intake), not told
    the words are no place. More words of the draft's own kind are left to the step (就在我家门口 路灯不亮)."""
    intent = ctx.classification().intent if not ctx.in_group and ctx.text else None
    if intent not in CASE_INTENTS or intent.value == ctx.state.values.get("kind"):
        return False
    kind = CaseKind(intent.value)  # the case kinds are the case intents' values
    if kind not in STARTERS:
        return False
    begin_intake(ctx, kind, "")
    return True


async def on_confirm(ctx: Context) -> bool:
    """Files the draft on yes; takes an added photo or a corrected place; otherwise explains the choices."""
    if ctx.inbound.media:
        ctx.state.values.setdefault("media", []).extend(media_of(ctx))
        if not ctx.text:
            show_confirmation(ctx)
            return True
    if YES.match(ctx.text):
        await file_draft(ctx)
        return True
    location = locate_answer(ctx)
    if location is not None:
        await settle_place(ctx, location, ctx.text)
        return True
    if ctx.in_group:
        return False
    if another_matter(ctx):
        return True
    ctx.reply("回复「确认」提交，「取消」放弃；地点不对请直接告诉我正确的小区和楼栋。")
    return True


def duty_of(ctx: Context) -> tuple[Responsibility | None, float, float]:
    """Who the draft belongs to and its SLA hours, from its category or booked service."""
    values = ctx.state.values
    if values.get("emergency"):
        settings = ctx.services.settings
        accept, resolve = settings.emergency_accept_minutes / 60, settings.emergency_resolve_minutes / 60
        category = ctx.classifier.rules.category(values["category_code"]) if values.get("category_code") else None
        duty = category_duty(category)[0] if category else Responsibility("grid_worker", None, False)
        return duty, accept, resolve
    if values.get("service_code"):
        service = next(s for s in ctx.services.catalogue.services if s.code == values["service_code"])
        return service.duty, service.sla_accept_hours, service.sla_resolve_hours
    category = ctx.classifier.rules.category(values["category_code"]) \
        if values.get("category_code") else None
    if category is None:
        if values["kind"] == CaseKind.WISH:
            return Responsibility("community_staff", None, False), 24.0, 24.0 * 30
        return None, 24.0, 72.0
    return category_duty(category)


async def file_draft(ctx: Context) -> None:
    """Files the confirmed draft and tells the resident its number and who has it."""
    values = ctx.state.values
    duty, accept_hours, resolve_hours = duty_of(ctx)
    draft = Draft(
        kind=CaseKind(values["kind"]), text=values["text"], unit=ctx.services.directory.unit(values["unit_id"]),
        category_code=values.get("category_code"), category_name=values.get("category_name"),
        confidence=values.get("confidence", 0.0), keywords=values.get("keywords", []), duty=duty,
        sla_accept_hours=accept_hours, sla_resolve_hours=resolve_hours, media=values.get("media", []),
        extras={**values.get("extras", {}), **({"spot": values["spot"]} if values.get("spot") else {}),
                **({"emergency": values["emergency"],
                                                 "emergency_label": values["emergency_label"]}
                                                if values.get("emergency") else {})},
        priority=EMERGENCY_PRIORITY if values.get("emergency") else 0,
    )
    filed = await file_case(
        ctx.session, ctx.services.directory, draft, ctx.actor, channel=ctx.inbound.channel,
        chat_id=ctx.inbound.chat_id, is_group=ctx.in_group, now=ctx.now,
        duplicate_window=ctx.services.duplicate_window, duplicate_similarity=ctx.services.settings.duplicate_similarity,
    )
    ctx.case_id = filed.case.id
    ctx.finish()
    if filed.duplicate_of is not None:
        ctx.reply(f"这个问题已有居民反映过（{filed.duplicate_of.number}，{filed.duplicate_of.status.label}），"
                  f"您的反映 {filed.case.number} 已并入，处理进展会同时通知您。")
        return
    assignment = filed.assignment
    assert assignment is not None
    if assignment.staff is not None:
        who = f"{assignment.staff.role.label}{assignment.staff.name}"
        if assignment.department:
            who = f"{assignment.department}（{assignment.staff.name}）"
        promise = f"，承诺 {accept_hours:g} 小时内响应" if accept_hours else ""
        if values.get("emergency"):
            promise = f"，{round(accept_hours * 60)} 分钟内响应，已同时通知网格员和社区书记"
        ctx.reply(f"已受理，编号 {filed.case.number}。已派给{who}{promise}。回复「我的诉求」可查看进度。")
    else:
        ctx.reply(f"已受理，编号 {filed.case.number}。社区工作人员将尽快安排处理。回复「我的诉求」可查看进度。")

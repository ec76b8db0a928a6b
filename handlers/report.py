"""随手拍: a resident reports a problem — description (with photos), category, place, confirmation."""

from __future__ import annotations

from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.messages import Button
from bot.understanding.classifier import Intent
from bot.understanding.decision import placement
from handlers.intake import (
    STARTERS,
    ask_place_or_confirm,
    begin_intake,
    media_of,
    on_building,
    on_confirm,
    on_location,
    on_which_draft,
    strip_triggers,
    take_emergency,
)
from models import CaseKind

router = HandlerRouter("report")
OTHER = "其他（由工作人员判断）"


@router.intent(Intent.REPORT)
async def start_report(ctx: Context) -> bool:
    """Starts a report; asks for a description when the message carried none."""
    body = begin_intake(ctx, CaseKind.REPORT, "请描述您要反映的问题，可以附上照片。例如：3号楼门口路灯坏了。")
    if body:
        await take_description(ctx, body)
    return True


@router.step("report", "describe")
async def on_description(ctx: Context) -> bool:
    """Takes the description (and any photo) of the problem."""
    if ctx.inbound.media:
        ctx.state.values.setdefault("media", []).extend(media_of(ctx))
    body = strip_triggers(ctx, ctx.text)
    if not body:
        if ctx.inbound.media:
            ctx.reply("照片已收到，请再用一句话说明是什么问题。")
            return True
        return False
    await take_description(ctx, body)
    return True


async def take_description(ctx: Context, body: str) -> None:
    result = ctx.classifier.categorize(body, CaseKind.REPORT.value)
    ctx.state.values.update(text=body, confidence=result.confidence, keywords=list(result.keywords))
    take_emergency(ctx, body)
    emergency = bool(ctx.state.values.get("emergency"))  # no category question: staff place it after the call
    settings = ctx.services.settings
    confident = (result.confidence >= settings.confidence_threshold
                 and placement(result, settings.auto_route_margin).automatic)
    if result.category is not None and (emergency or confident):
        ctx.state.values.update(category_code=result.category.code, category_name=result.category.name)
        await ask_place_or_confirm(ctx)
        return
    if emergency:
        await ask_place_or_confirm(ctx)
        return
    choices = [m.category for m in result.candidates[:3]]
    if not choices:  # nothing to choose from: staff place it
        await ask_place_or_confirm(ctx)
        return
    ctx.state.values["choices"] = [c.code for c in choices]
    options = [f"{i}. {c.name}" for i, c in enumerate(choices, 1)] + [f"{len(choices) + 1}. {OTHER}"]
    ctx.goto("category")
    buttons = tuple(Button(c.name, str(i)) for i, c in enumerate(choices, 1)) + (Button("其他", str(len(choices) + 1)),)
    ctx.reply("您反映的问题属于哪一类？请回复数字：\n" + "\n".join(options), buttons=buttons)


@router.step("report", "category")
async def on_category(ctx: Context) -> bool:
    """Takes the resident's pick among the suggested categories, or 其他 for a human to place."""
    choices: list[str] = ctx.state.values.get("choices", [])
    pick = ctx.text.strip().rstrip(".。")
    rules = ctx.classifier.rules
    chosen = None
    if pick.isdigit() and 1 <= int(pick) <= len(choices) + 1:
        chosen = rules.category(choices[int(pick) - 1]) if int(pick) <= len(choices) else "other"
    else:
        chosen = next((rules.category(c) for c in choices if rules.category(c).name in pick), None)
        if chosen is None and "其他" in pick:
            chosen = "other"
    if chosen is None:
        if ctx.in_group:
            return False
        if not pick.isdigit() and ctx.classifier.categorize(pick, CaseKind.REPORT.value).candidates:
            await take_description(ctx, f"{ctx.state.values['text']}，{pick}")  # words that say more: read again
            return True
        ctx.reply(f"请回复 1 到 {len(choices) + 1} 之间的数字，或回复「取消」。")
        return True
    if chosen == "other":
        ctx.state.values.update(category_code=None, category_name=None)
    else:
        ctx.state.values.update(category_code=chosen.code, category_name=chosen.name, confidence=1.0)
    await ask_place_or_confirm(ctx)
    return True


router.step("report", "location")(on_location)
router.step("report", "building")(on_building)
router.step("report", "confirm")(on_confirm)
router.step("report", "which_draft")(on_which_draft)
STARTERS[CaseKind.REPORT] = take_description

"""微心愿: a resident makes a micro-wish; it joins the community's wish list for staff and party members."""

from __future__ import annotations

from bot.pipeline.router import Context, HandlerRouter
from bot.understanding.classifier import Intent
from handlers.intake import ask_place_or_confirm, begin_intake, on_confirm, on_location, strip_triggers
from models import CaseKind

router = HandlerRouter("wish")


@router.intent(Intent.WISH)
async def start_wish(ctx: Context) -> bool:
    """Starts a wish; asks what it is when the message said nothing more."""
    body = begin_intake(ctx, CaseKind.WISH, "请说说您的微心愿，例如：希望有人帮家里老人修一下轮椅。")
    if body:
        await take_wish(ctx, body)
    return True


@router.step("wish", "describe")
async def on_wish(ctx: Context) -> bool:
    """Takes the wish's words."""
    body = strip_triggers(ctx, ctx.text)
    if not body:
        return False
    await take_wish(ctx, body)
    return True


async def take_wish(ctx: Context, body: str) -> None:
    result = ctx.classifier.categorize(body, CaseKind.WISH.value)
    category = result.category if result.confidence >= ctx.services.settings.confidence_threshold else None
    ctx.state.values.update(text=body, confidence=result.confidence, keywords=list(result.keywords),
                            category_code=category.code if category else None,
                            category_name=category.name if category else "微心愿")
    await ask_place_or_confirm(ctx)


router.step("wish", "location")(on_location)
router.step("wish", "confirm")(on_confirm)

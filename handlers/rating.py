"""网上评: the reporter rates a resolved case; 不满意 needs a reason and reopens the case."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.cases.actions import rate_case
from bot.cases.lifecycle import CaseRefused
from bot.cases.numbers import case_number_in, without_case_number
from bot.pipeline.router import Context, HandlerRouter
from bot.understanding.classifier import Intent
from models import Case, CaseStatus, Rating

router = HandlerRouter("rating")
RATING_WORDS = [
    (Rating.DISSATISFIED, re.compile(r"不满意|差评|没解决|没有解决")),
    (Rating.BASICALLY_SATISFIED, re.compile(r"基本满意|还行|一般般|凑合")),
    (Rating.SATISFIED, re.compile(r"满意|好评|很好|点赞")),
]
# In the rating step a bare 1/2/3 (optionally followed by a comment) picks from the offered buttons.
DIGIT_PICK = re.compile(r"^([123])(?:$|[\s,，。:：]+(.*)$)", re.DOTALL)
DIGIT_RATINGS = {"1": Rating.SATISFIED, "2": Rating.BASICALLY_SATISFIED, "3": Rating.DISSATISFIED}


def number_in(text: str) -> int | None:
    """The case number in a rating message: 满意 12, 满意#12, 12号满意."""
    return case_number_in(text, bare=True)


def rating_in(text: str) -> Rating | None:
    return next((rating for rating, pattern in RATING_WORDS if pattern.search(text)), None)


def comment_in(text: str) -> str:
    for word in ("很不满意", "不满意", "基本满意", "非常满意", "满意", "差评", "好评"):
        if word in text:
            text = text.replace(word, " ", 1)
            break
    return without_case_number(text).strip(" ,，。:：")


async def resolved_cases(ctx: Context) -> list[Case]:
    return list((await ctx.session.scalars(select(Case).where(
        Case.reporter_id == ctx.actor.id, Case.status == CaseStatus.RESOLVED).order_by(Case.resolved_at.desc())
    )).unique().all())


@router.intent(Intent.RATING)
async def rate(ctx: Context) -> bool:
    """Rates the named case, or the resident's one resolved case."""
    if ctx.actor.is_staff:
        return False
    rating = rating_in(ctx.text)
    if rating is None:
        return False
    number = number_in(ctx.text) or ctx.state.values.get("case_id")
    if number is None:
        waiting = await resolved_cases(ctx)
        if not waiting:
            ctx.reply("您目前没有待评价的诉求。")
            return True
        if len(waiting) > 1:
            ctx.reply("您有多件待评价的诉求，请带上编号，例如：满意 " + str(waiting[0].id))
            return True
        number = waiting[0].id
    await apply_rating(ctx, number, rating, comment_in(ctx.text))
    return True


@router.step("rating", "choose")
async def on_rating(ctx: Context) -> bool:
    """Takes 满意 / 基本满意 / 不满意 (or 1/2/3) for the case just resolved."""
    if pick := DIGIT_PICK.match(ctx.text):
        await apply_rating(ctx, ctx.state.values["case_id"], DIGIT_RATINGS[pick.group(1)], (pick.group(2) or "").strip())
        return True
    rating = rating_in(ctx.text)
    if rating is None:
        return False
    await apply_rating(ctx, number_in(ctx.text) or ctx.state.values["case_id"], rating, comment_in(ctx.text))
    return True


@router.step("rating", "reason")
async def on_reason(ctx: Context) -> bool:
    """Takes the reason for 不满意 and reopens the case."""
    if not ctx.text:
        return False
    await apply_rating(ctx, ctx.state.values["case_id"], Rating.DISSATISFIED, ctx.text)
    return True


async def apply_rating(ctx: Context, case_id: int, rating: Rating, comment: str) -> None:
    if rating is Rating.DISSATISFIED and not comment:
        ctx.start("rating", "reason", case_id=case_id)
        ctx.reply("很抱歉没让您满意。请说说哪里没有解决好，我们会重新处理。")
        return
    try:
        case = await rate_case(ctx.session, ctx.services.directory, ctx.actor, case_id, rating, comment, now=ctx.now)
    except CaseRefused as refusal:
        ctx.finish()
        ctx.reply(str(refusal), alert=True)
        return
    ctx.finish()
    ctx.case_id = case.id
    if rating is Rating.DISSATISFIED:
        ctx.reply(f"已记录您的意见，{case.number} 已重新打开，社区书记会跟进。")
    else:
        ctx.reply(f"感谢您的评价（{rating.label}），{case.number} 已关闭。")

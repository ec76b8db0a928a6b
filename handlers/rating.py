"""网上评: the reporter rates a resolved case (asked which when several wait); 不满意 needs a reason and reopens the
case; a rating can be changed for `rating_change_hours`. The grade words are the rules file's (intent rating)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.cases.lifecycle import CaseRefused
from bot.cases.numbers import case_number_in, without_case_number
from bot.cases.ratings import rate_case
from bot.pipeline.dispatcher import Context, Handler, HandlerRouter
from bot.pipeline.messages import Button
from bot.understanding.classifier import Intent
from models import Case, CaseStatus, Rating

router = HandlerRouter("rating")
# In the rating step a bare 1/2/3 (optionally followed by a comment) picks from the offered buttons.
DIGIT_PICK = re.compile(r"^([123])(?:$|[\s,，。:：]+(.*)$)", re.DOTALL)
DIGIT_RATINGS = {"1": Rating.SATISFIED, "2": Rating.BASICALLY_SATISFIED, "3": Rating.DISSATISFIED}


def number_in(text: str) -> int | None:
    """The case number in a rating message: 满意 12, 满意#12, 12号满意."""
    return case_number_in(text, bare=True)


def comment_in(ctx: Context, text: str) -> str:
    """The resident's words besides the grade and the case number."""
    for word in ctx.classifier.rules.grade_words():
        if word in text:
            text = text.replace(word, " ", 1)
            break
    return without_case_number(text).strip(" ,，。:：")


async def awaiting_rating(ctx: Context) -> list[Case]:
    """The resident's resolved cases that wait for a rating, latest first."""
    return list((await ctx.session.scalars(select(Case).where(
        Case.reporter_id == ctx.actor.id, Case.status == CaseStatus.RESOLVED).order_by(Case.resolved_at.desc(), Case.id.desc())
    )).unique().all())


async def _rate_or_ask(ctx: Context, rating: Rating, comment: str, number: int | None) -> None:
    """Rates the named case; without a number, the one case waiting, or asks which when several wait."""
    if number is None:
        waiting = await awaiting_rating(ctx)
        if len(waiting) > 1:
            ctx.start("rating", "which", rating=rating.value, comment=comment)
            ctx.reply(f"您有 {len(waiting)} 件待评价的诉求，这条评价（{rating.label}）给哪一件？请回复编号：\n"
                      + "\n".join(f"{c.number} {c.category_name or '未分类'}：{c.text[:20]}" for c in waiting),
                      buttons=tuple(Button(c.number, str(c.id)) for c in waiting[:5]))
            return
        if not waiting:
            ctx.finish()
            ctx.reply("您目前没有待评价的诉求。如要修改已给的评价，请带上编号，例如：不满意 12 原因。")
            return
        number = waiting[0].id
    await apply_rating(ctx, number, rating, comment)


@router.intent(Intent.RATING)
async def rate(ctx: Context) -> bool:
    """Rates the named case, or the resident's one resolved case; asks which when several wait."""
    if ctx.actor.is_staff:
        return False
    rating = ctx.classifier.rules.grade_in(ctx.text)
    if rating is None:
        return False
    await _rate_or_ask(ctx, rating, comment_in(ctx, ctx.text), number_in(ctx.text))
    return True


# No latin letters before the number: 认领 W12, 工时 P3 … are other features' commands.
GRADE_THEN_NUMBER = re.compile(r"^([^\dA-Za-z#\s]{1,6})\s*#?\s*\d{1,9}(?:\s*号)?(?:\s|[,，:：。]|$)")


async def rate_by_number(ctx: Context) -> bool:
    """不满意 12 灯又不亮了: a grade word and a case number rate that case, whatever the words after them say."""
    match = GRADE_THEN_NUMBER.match(ctx.text)
    if ctx.actor.is_staff or match is None or match.group(1).strip() not in ctx.classifier.rules.grade_words():
        return False
    rating = ctx.classifier.rules.grade_in(match.group(1))
    assert rating is not None
    await apply_rating(ctx, number_in(ctx.text) or 0, rating, comment_in(ctx, ctx.text))
    return True


def with_grades(handler: Handler) -> Handler:
    """An intent's handler that first reads a grade and a case number (so 不满意 12 is never filed as a report)."""
    async def wrapped(ctx: Context) -> bool:
        return await rate_by_number(ctx) or await handler(ctx)
    wrapped.__doc__ = handler.__doc__
    return wrapped


@router.step("rating", "choose")
async def on_rating(ctx: Context) -> bool:
    """Takes 满意 / 基本满意 / 不满意 (or 1/2/3, a button) for the case just resolved; asks which when several wait."""
    if pick := DIGIT_PICK.match(ctx.text):
        await _rate_or_ask(ctx, DIGIT_RATINGS[pick.group(1)], (pick.group(2) or "").strip(), None)
        return True
    rating = ctx.classifier.rules.grade_in(ctx.text)
    if rating is None:
        return False
    await _rate_or_ask(ctx, rating, comment_in(ctx, ctx.text), number_in(ctx.text))
    return True


@router.step("rating", "which")
async def on_which(ctx: Context) -> bool:
    """Takes the number of the case the grade given just before is for."""
    number = number_in(ctx.text)
    if number is None:
        return False
    values = ctx.state.values
    await apply_rating(ctx, number, Rating(values["rating"]), values.get("comment", ""))
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
    window = timedelta(hours=ctx.services.settings.rating_change_hours)
    try:
        rated = await rate_case(ctx.session, ctx.services.directory, ctx.actor, case_id, rating, comment,
                                now=ctx.now, change_window=window)
    except CaseRefused as refusal:
        ctx.finish()
        ctx.reply(str(refusal), alert=True)
        return
    ctx.finish()
    case = rated.case
    ctx.case_id = case.id
    changed = f"已将评价由「{rated.before.label}」改为「{rating.label}」，" if rated.before else ""
    if rating is Rating.DISSATISFIED:
        ctx.reply(f"{changed}已记录您的意见，{case.number} 已重新打开，社区书记会跟进。")
    else:
        hours = ctx.services.settings.rating_change_hours
        later = f"{hours:g} 小时内可修改评价。" if hours else ""
        ctx.reply(f"{changed or ''}感谢您的评价（{rating.label}），{case.number} 已关闭。{later}")

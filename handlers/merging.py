"""Staff merge two cases that are one problem (合并 5 7) and split a wrongly merged report off (拆分 5 7)."""

from __future__ import annotations

import re

from bot.cases.lifecycle import CaseRefused
from bot.cases.merging import Duty, merge_cases, split_case
from bot.cases.numbers import AFTER_COMMAND
from bot.cases.queries import load_case
from bot.grid.routing import category_duty
from bot.pipeline.dispatcher import Context, HandlerRouter

router = HandlerRouter("merging")
MERGE = re.compile(rf"^(?:合并|并案){AFTER_COMMAND}\s*(?:和|与|跟|、|,|，|到)?{AFTER_COMMAND}(?:\s+|[,，:：]|$)(.*)$",
                   re.DOTALL)
SPLIT = re.compile(rf"^(?:拆分|拆出|拆单){AFTER_COMMAND}(?:\s*(?:中的|里的|的)?\s*(#?\d{{1,9}}号?|[^\s,，:：]{{1,20}}))?"
                   r"(?:\s+|[,，:：]|$)(.*)$", re.DOTALL)


@router.staff_command(MERGE.pattern)
async def merge(ctx: Context) -> bool:
    """Merges the second case into the first: 合并 5 7 [说明]."""
    match = MERGE.match(ctx.text)
    assert match is not None
    keep_id, merged_id, note = int(match.group(1)), int(match.group(2)), match.group(3).strip(" ,，。:：")
    try:
        keep = await merge_cases(ctx.session, ctx.services.directory, ctx.actor, keep_id, merged_id, now=ctx.now,
                                 note=note)
    except CaseRefused as refusal:
        ctx.reply(str(refusal), private=True)
        return True
    ctx.case_id = keep.id
    ctx.reply(f"#{merged_id} 已并入 {keep.number}，两单的居民都会收到之后的进展。要撤销请发「拆分 {keep.id} {merged_id}」。",
              private=True)
    return True


@router.staff_command(SPLIT.pattern)
async def split(ctx: Context) -> bool:
    """Splits a merged report off its case as a case of its own: 拆分 5 7, 拆分 5 张三, or 拆分 7."""
    match = SPLIT.match(ctx.text)
    assert match is not None
    case_id, which, note = int(match.group(1)), (match.group(2) or ""), match.group(3).strip(" ,，。:：")
    try:
        duty = await _duty(ctx, case_id, which)
        case = await split_case(ctx.session, ctx.services.directory, ctx.actor, case_id, which, duty=duty,
                                now=ctx.now, note=note)
    except CaseRefused as refusal:
        ctx.reply(str(refusal), private=True)
        return True
    ctx.case_id = case.id
    who = f"，已派给{case.assignee.name}" if case.assignee else "，转人工分拣"
    ctx.reply(f"{case.number} 已拆出单独办理{who}。", private=True)
    return True


async def _duty(ctx: Context, case_id: int, which: str) -> Duty | None:
    """The split report's duty from its category in the rules (the number is the report, or the case itself)."""
    number = which.strip().lstrip("#").removesuffix("号")
    case = await load_case(ctx.session, int(number) if number.isdigit() else case_id)
    category = ctx.classifier.rules.category(case.category_code) if case and case.category_code else None
    if category is None:
        return None
    responsibility, accept, resolve = category_duty(category)
    return Duty(responsibility, accept, resolve)

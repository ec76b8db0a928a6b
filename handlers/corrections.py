"""Staff correct a case's category (改类 12 类别): the case changes and the correction is kept for the rules."""

from __future__ import annotations

import re

from bot.pipeline.router import Context, HandlerRouter
from bot.understanding.corrections import CorrectionRefused, find_category, recategorise

router = HandlerRouter("corrections")
RECATEGORISE = re.compile(r"^(?:改类|改分类|重新分类)\s*#?\s*(\d{1,9})\s*(.*)$", re.DOTALL)


@router.staff_command(RECATEGORISE.pattern)
async def change_category(ctx: Context) -> None:
    """Sets the category staff chose; an unknown category gets the list of names to choose from."""
    match = RECATEGORISE.match(ctx.text.strip())
    assert match is not None
    case_id, words = int(match.group(1)), match.group(2).strip(" ,，:：")
    rules = ctx.classifier.rules
    category = find_category(rules, words) if words else None
    if category is None:
        names = "、".join(c.name for c in rules.categories)
        ctx.reply(f"请写明新类别，例如「改类 {case_id} {rules.categories[0].name}」。可选类别：{names}", private=True)
        return
    try:
        case, _ = await recategorise(ctx.session, ctx.services.directory, ctx.actor, case_id, category, now=ctx.now)
    except CorrectionRefused as refusal:
        ctx.reply(str(refusal), private=True, alert=True)
        return
    ctx.case_id = case.id
    ctx.reply(f"{case.number} 类别已改为「{category.name}」，已记录用于改进分类规则。", private=True)

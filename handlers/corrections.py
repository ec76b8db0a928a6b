"""Staff correct a case's category (改类 12 类别): the case changes and the correction is kept for the rules."""

from __future__ import annotations

import re

from bot.cases.actions import staff_may_act
from bot.cases.queries import load_case
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.messages import Button
from bot.understanding.corrections import CorrectionRefused, find_category, place_from_triage, recategorise
from bot.understanding.decision import SUGGESTIONS

router = HandlerRouter("corrections")
RECATEGORISE = re.compile(r"^(?:改类|改分类|重新分类)\s*#?\s*(\d{1,9})\s*(.*)$", re.DOTALL)
PICK = re.compile(r"^分拣\s*#?\s*(\d{1,9})\s*(.*)$", re.DOTALL)


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


@router.staff_command(PICK.pattern)
async def pick_from_triage(ctx: Context) -> None:
    """Places a triage case in the category staff picked and routes it; without one, offers the top three."""
    match = PICK.match(ctx.text.strip())
    assert match is not None
    case_id, words = int(match.group(1)), match.group(2).strip(" ,，:：")
    classifier = ctx.classifier
    category = find_category(classifier.rules, words) if words else None
    if category is None:
        case = await load_case(ctx.session, case_id)
        if case is None or not staff_may_act(ctx.services.directory, ctx.actor, case, "assign"):
            ctx.reply(f"未找到您可分拣的工单 #{case_id}。", private=True, alert=True)
            return
        found = classifier.categorize(case.text, case.kind.value)
        choices = [m.category.name for m in found.candidates[:SUGGESTIONS]] \
            or [c.name for c in classifier.rules.categories if case.kind.value in c.kinds][:SUGGESTIONS]
        ctx.reply(f"请选择 #{case_id} 的类别：" + "、".join(choices), private=True,
                  buttons=tuple(Button(name, f"分拣 {case_id} {name}") for name in choices))
        return
    try:
        case, assignment = await place_from_triage(ctx.session, ctx.services.directory, ctx.actor, case_id, category,
                                                   now=ctx.now)
    except CorrectionRefused as refusal:
        ctx.reply(str(refusal), private=True, alert=True)
        return
    ctx.case_id = case.id
    ctx.reply(f"{case.number} 已分拣为「{category.name}」：{assignment.reason}。", private=True)

"""我的诉求: a resident follows their own cases; a case number shows one case with its history."""

from __future__ import annotations

from typing import Any

from bot.cases.notices import for_residents
from bot.cases.numbers import AFTER_COMMAND, case_number_in
from bot.cases.queries import case_events, load_case, visible_cases
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.identities import mask_phones_in
from bot.understanding.classifier import Intent
from models import CaseEvent, CaseStatus, EventKind

router = HandlerRouter("status")
MY_CASES = r"^(我的诉求|我的单子|/my)[?？。]*$"
ONE_CASE = rf"^(查询|进度|查){AFTER_COMMAND}[?？。]*$"
router.addressed_by(MY_CASES)
router.addressed_by(ONE_CASE)


HISTORY_SHOWN = 6


async def history_line(ctx: Context, event: CaseEvent) -> str:
    """One step of a case as its reporter reads it: when, what, and the note where it was written for them."""
    line = f"{event.at.astimezone(ctx.services.settings.tz):%m-%d %H:%M} {event.action.label}"
    if event.note and event.action.note_for_residents:
        line += f"：{await for_residents(ctx.session, event.note)}"
    return line


def status_line(case: Any) -> str:
    """One case in a list: number, kind, category and status (a Case, or a row with those columns)."""
    label = case.status.label
    if case.status is CaseStatus.DUPLICATE and case.duplicate_of_id:
        label += f"（并入 #{case.duplicate_of_id}）"
    return f"#{case.id} {case.kind.label}·{case.category_name or '未分类'}：{label}"


@router.aside(MY_CASES)
@router.aside(ONE_CASE)
@router.intent(Intent.STATUS)
async def show_status(ctx: Context) -> bool:
    """Lists the resident's latest cases, or shows one of their own by number."""
    if ctx.actor.is_staff:
        ctx.reply("工作人员请用「我的工单」查看待办，「查看 编号」查看详情。")
        return True
    number = case_number_in(ctx.text)
    if number is None:
        cases = await visible_cases(ctx.session, ctx.actor)
        if not cases:
            ctx.reply("您还没有提交过诉求。发送「#随手拍 问题描述」即可反映问题。")
            return True
        ctx.reply("您最近的诉求：\n" + "\n".join(status_line(c) for c in cases) + "\n回复「查询 编号」看详情。",
                  private=True)
        return True
    case = await load_case(ctx.session, number)
    if case is None or case.reporter_id != ctx.actor.id:
        ctx.reply(f"没有找到您的诉求 #{number}，请核对编号；回复「我的诉求」查看全部。")
        return True
    shown = await load_case(ctx.session, case.duplicate_of_id) if case.duplicate_of_id else case
    assert shown is not None
    events = await case_events(ctx.session, shown.id)
    shared = [e for e in events if e.action is not EventKind.NOTE]  # internal notes stay with staff
    history = [await history_line(ctx, e) for e in shared[-HISTORY_SHOWN:]]
    lines = [status_line(case), f"内容：{mask_phones_in(case.text)}"]
    if slot := case.extras.get("appointment"):
        lines.append(f"预约时段：{slot['label']}｜{slot['place']}")
    if shown.assignee is not None:
        lines.append(f"承办：{shown.assignee.name}")
    ctx.reply("\n".join(lines + history), private=True)
    return True

"""Grid workers and staff act on cases by text or button: 接单, 进展, 办结, 转派, 退回, 分派, 认领, lists."""

from __future__ import annotations

import re

from bot.cases.actions import staff_action
from bot.cases.lifecycle import CaseRefused, NoteRequired
from bot.cases.notices import case_summary, worker_buttons
from bot.cases.numbers import AFTER_COMMAND
from bot.cases.queries import case_events, load_case, open_cases_of, triage_queue
from bot.cases.scope import may_see
from bot.grid.routing import triage_unit
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.identities import mask_phones_in
from handlers.status import status_line

router = HandlerRouter("worker")
NUMBER = AFTER_COMMAND
ACTION_WORDS = {
    "accept": "接单|接",
    "progress": "进展|进度|反馈",
    "resolve": "办结|已办结|完成|已完成",
    "return": "退回|退单",
    "reject": "不予受理|驳回",
    "claim": "认领",
}
TARGETED_WORDS = {"transfer": "转派|转交", "assign": "分派|指派|派给"}


def _note(match: re.Match[str], group: int) -> str:
    return (match.group(group) or "").strip(" ,，。:：")


def _action_handler(action: str, pattern: re.Pattern[str], targeted: bool):  # type: ignore[no-untyped-def]
    async def act(ctx: Context) -> bool:
        match = pattern.match(ctx.text)
        assert match is not None
        case_id = int(match.group(1))
        target = (match.group(2) or None) if targeted else None
        note = _note(match, 3 if targeted else 2)
        try:
            case = await staff_action(ctx.session, ctx.services.directory, ctx.actor, case_id, action,
                                      now=ctx.now, note=note, target=target, rules=ctx.classifier.rules)
        except NoteRequired as missing:
            # A button press carries only "办结 12": ask for the note and finish the command with the answer.
            ctx.start("worker", "note", command=ctx.text.strip())
            ctx.reply(f"{missing}\n也可以直接回复说明内容，回复「取消」放弃。", private=True)
            return True
        except CaseRefused as refusal:
            ctx.reply(str(refusal), private=True, alert=True)
            return True
        ctx.case_id = case.id
        ctx.reply(f"{case.number} {case.status.label}。" + (f"（{case.assignee.name}）" if targeted and case.assignee
                                                            else ""), private=True)
        return True
    act.__doc__ = f"Applies {action} to a case the staff member may act on."
    return act


for _action, _words in ACTION_WORDS.items():
    # 办结 1号已修好: 号 ends the number as a separator would.
    _pattern = re.compile(rf"^(?:{_words}){NUMBER}(?:\s+|[,，:：]|$|(?<=号))(.*)$", re.DOTALL)
    router.staff_command(_pattern.pattern)(_action_handler(_action, _pattern, targeted=False))
for _action, _words in TARGETED_WORDS.items():
    _pattern = re.compile(rf"^(?:{_words}){NUMBER}(?:\s+(\S+))?(?:\s+(.*))?$", re.DOTALL)
    router.staff_command(_pattern.pattern)(_action_handler(_action, _pattern, targeted=True))


_ALL_WORDS = "|".join([*ACTION_WORDS.values(), *TARGETED_WORDS.values()])
# Not before a number, nor before a wish, project or claimer code (进度 P3 …, 认领 W12 are other commands).
WITHOUT_NUMBER = re.compile(rf"^(?:{_ALL_WORDS})(?!{NUMBER})(?!\s*[A-Za-z])\s*(?:\s.*)?$", re.DOTALL)


@router.staff_command(WITHOUT_NUMBER.pattern)
async def number_missing(ctx: Context) -> bool:
    """A staff command without its case number: says the form, with the staff member's open cases to pick from."""
    if ctx.in_group and not (ctx.inbound.mentions_bot or ctx.inbound.reply_to_bot):
        return False  # 接孩子去了 in a group is a staff member chatting, not a command
    word = re.match(rf"^(?:{_ALL_WORDS})", ctx.text)
    verb = word.group(0) if word else "接单"
    cases = await open_cases_of(ctx.session, ctx.actor.id, limit=5)
    listed = ("\n您的待办：\n" + "\n".join(status_line(c) for c in cases)) if cases else ""
    ctx.reply(f"请带上工单编号，例如「{verb} {cases[0].id if cases else 12}」。{listed}\n"
              "回复「我的工单」查看待办，「帮助」查看全部指令。", private=True)
    return True


@router.step("worker", "note")
async def on_note(ctx: Context) -> bool:
    """Completes the staff command that waited for its note, reason or target."""
    command = f"{ctx.state.values.get('command', '')} {ctx.text}".strip()
    handler = router.staff_handler(command) if ctx.actor.is_staff and ctx.text else None
    if handler is None:
        return False
    ctx.finish()
    ctx.text = command
    await handler(ctx)
    return True


@router.staff_command(r"^(我的工单|我的待办|待办|工单)$")
async def my_open_cases(ctx: Context) -> bool:
    """Lists the staff member's open cases, most urgent first."""
    cases = await open_cases_of(ctx.session, ctx.actor.id)
    if not cases:
        ctx.reply("您目前没有待办工单。", private=True)
        return True
    ctx.reply("您的待办工单：\n" + "\n".join(status_line(c) + f"｜{c.place}" for c in cases), private=True)
    return True


@router.staff_command(r"^(待分拣|分拣|待分派)$")
async def triage_list(ctx: Context) -> bool:
    """Lists the cases waiting for a human in the staff member's unit."""
    if ctx.actor.unit_id is None:
        return True
    unit = triage_unit(ctx.services.directory, ctx.services.directory.unit(ctx.actor.unit_id))
    cases = await triage_queue(ctx.session, ctx.services.directory.unit(ctx.actor.unit_id))
    if not cases:
        ctx.reply(f"{unit.name}没有待分拣的工单。", private=True)
        return True
    ctx.reply("待分拣工单：\n" + "\n".join(f"{status_line(c)}｜{c.place}｜{mask_phones_in(c.text)[:30]}" for c in cases)
              + "\n回复「分派 编号 工号」指派。", private=True)
    return True


@router.staff_command(rf"^(查看|详情){NUMBER}$")
async def case_detail(ctx: Context) -> bool:
    """Shows one case with its audit trail to staff who may act on it."""
    case_id = int(re.match(rf"^(?:查看|详情){NUMBER}$", ctx.text).group(1))  # type: ignore[union-attr]
    case = await load_case(ctx.session, case_id)
    if case is None or not may_see(ctx.services.directory, ctx.actor, case):
        ctx.reply(f"未找到您可查看的工单 #{case_id}。", private=True)
        return True
    trail = [f"{e.at.astimezone(ctx.services.settings.tz):%m-%d %H:%M} {e.actor_name} "
             f"{e.action.label} {mask_phones_in(e.note or '')}".rstrip() for e in await case_events(ctx.session, case.id)]
    ctx.reply(f"{case_summary(case, for_staff=True)}\n状态：{case.status.label}\n" + "\n".join(trail),
              buttons=worker_buttons(case), private=True)
    return True

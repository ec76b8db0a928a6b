"""补充, 回复, a reply to a case notice, and 催办: the reporter talks to whoever holds their case."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.cases.conversation import add_to_case, case_of_notice, urge_case
from bot.cases.lifecycle import CaseRefused
from bot.cases.numbers import AFTER_COMMAND
from bot.cases.queries import visible_cases
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.understanding.classifier import Intent
from handlers.intake import media_of
from handlers.status import status_line
from models import EventKind

router = HandlerRouter("followup")
_AFTER_NUMBER = r"(?:\s+|[,，:：。]\s*|$)"
# The word, then a case number or a separator (补充一下 and 催一下快递 are chatter), then the words.
SUPPLEMENT = re.compile(rf"^(?:补充说明|补充)(?:{AFTER_COMMAND}{_AFTER_NUMBER}|\s*[,，:：。]\s*|\s+|$)(.*)$", re.DOTALL)
REPLY = re.compile(rf"^回复{AFTER_COMMAND}{_AFTER_NUMBER}(.*)$", re.DOTALL)
URGE = re.compile(rf"^(?:催办|催单)(?:{AFTER_COMMAND}{_AFTER_NUMBER}|\s*[,，:：。]\s*|\s+|$)(.*)$", re.DOTALL)
# A quoted notice answered with these goes the usual way (rating, status, cancel, help), not into the case.
_OWN_WAY = (Intent.RATING, Intent.STATUS, Intent.CANCEL, Intent.HELP)


async def _which(ctx: Context, number: str | None, verb: str) -> int | None:
    """The case named, or the resident's one open case; else asks which (and returns None)."""
    if number:
        return int(number)
    open_cases = [c for c in await visible_cases(ctx.session, ctx.actor, limit=10) if c.status.is_open]
    if len(open_cases) == 1:
        return open_cases[0].id
    if not open_cases:
        ctx.reply("您目前没有正在办理的诉求。回复「我的诉求」查看全部。")
        return None
    ctx.reply(f"您有多件正在办理的诉求，请带上编号，例如：{verb} {open_cases[0].id} ……\n"
              + "\n".join(status_line(c) for c in open_cases))
    return None


async def _add(ctx: Context, case_id: int, words: str, kind: EventKind) -> None:
    media = media_of(ctx)
    if not words and not media:
        ctx.reply(f"请把要补充的内容写在编号后面，例如：补充 {case_id} 晚上七点后家里有人。")
        return
    try:
        case = await add_to_case(ctx.session, ctx.services.directory, ctx.actor, case_id, words, media, kind=kind,
                                 now=ctx.now)
    except CaseRefused as refusal:
        ctx.reply(str(refusal))
        return
    ctx.case_id = case.id
    who = f"{case.assignee.role.label}{case.assignee.name}" if case.assignee else "社区工作人员"
    ctx.reply(f"已补充到 {case.number}，并转告{who}。", private=True)


@router.resident_command(SUPPLEMENT.pattern)
async def supplement(ctx: Context) -> bool:
    """补充 12 …: adds the resident's words or photos to their case and tells whoever holds it."""
    match = SUPPLEMENT.match(ctx.text)
    assert match is not None
    if (case_id := await _which(ctx, match.group(1), "补充")) is not None:
        await _add(ctx, case_id, (match.group(2) or "").strip(), EventKind.SUPPLEMENT)
    return True


@router.resident_command(REPLY.pattern)
async def answer(ctx: Context) -> bool:
    """回复 12 …: the resident answers about their case; whoever holds it hears."""
    match = REPLY.match(ctx.text)
    assert match is not None
    await _add(ctx, int(match.group(1)), (match.group(2) or "").strip(), EventKind.RESIDENT_REPLY)
    return True


@router.quoted
async def answer_notice(ctx: Context) -> bool:
    """A reply to one of the bot's notices about a case goes into that case, as 回复 would."""
    if ctx.actor.is_staff or (ctx.text and ctx.classification().intent in _OWN_WAY):
        return False
    inbound = ctx.inbound
    case_id = await case_of_notice(ctx.session, ctx.actor, inbound.channel, inbound.chat_id, inbound.extras["reply_to"])
    if case_id is None:
        return False
    await _add(ctx, case_id, ctx.text, EventKind.RESIDENT_REPLY)
    return True


@router.resident_command(URGE.pattern)
async def urge(ctx: Context) -> bool:
    """催办 12: recorded and told to whoever holds the case; repeated ones climb the grid, at most once per interval."""
    match = URGE.match(ctx.text)
    assert match is not None
    case_id = await _which(ctx, match.group(1), "催办")
    if case_id is None:
        return True
    interval = timedelta(hours=ctx.services.settings.urge_interval_hours)
    try:
        urged = await urge_case(ctx.session, ctx.services.directory, ctx.actor, case_id, (match.group(2) or "").strip(),
                                now=ctx.now, interval=interval)
    except CaseRefused as refusal:
        ctx.reply(str(refusal))
        return True
    case = urged.case
    ctx.case_id = case.id
    if not urged.counted:
        assert urged.last_at is not None
        again = urged.last_at + interval
        ctx.reply(f"{case.number} 已于 {urged.last_at.astimezone(ctx.services.settings.tz):%m-%d %H:%M} 催办过，"
                  f"工作人员已收到。{again.astimezone(ctx.services.settings.tz):%m-%d %H:%M} 后可再次催办。")
        return True
    told = "、".join(urged.told) or "社区工作人员"
    ctx.reply(f"已催办 {case.number}（第{urged.times}次），已通知{told}。")
    return True

"""Staff add words to a case in chat: 备注 12 … (internal, staff only) and 留言 12 … (sent to the resident)."""

from __future__ import annotations

import re

from bot.cases.lifecycle import CaseRefused
from bot.cases.numbers import AFTER_COMMAND
from bot.cases.remarks import add_note, message_resident
from bot.pipeline.dispatcher import Context, HandlerRouter

router = HandlerRouter("remark")
NOTE = re.compile(rf"^(?:备注|内部备注){AFTER_COMMAND}(?:\s+|[,，:：]|$)(.*)$", re.DOTALL)
MESSAGE = re.compile(rf"^(?:留言|回复居民){AFTER_COMMAND}(?:\s+|[,，:：]|$)(.*)$", re.DOTALL)


@router.staff_command(NOTE.pattern)
async def note(ctx: Context) -> bool:
    """Adds an internal note to a case the staff member may see."""
    match = NOTE.match(ctx.text)
    assert match is not None
    try:
        await add_note(ctx.session, ctx.services.directory, ctx.actor, int(match.group(1)), match.group(2).strip(),
                       now=ctx.now)
    except CaseRefused as refusal:
        ctx.reply(str(refusal), private=True)
        return True
    ctx.reply(f"已为 #{match.group(1)} 添加内部备注（仅工作人员可见）。", private=True)
    return True


@router.staff_command(MESSAGE.pattern)
async def message(ctx: Context) -> bool:
    """Sends the reporter of a case the staff member may act on a message from them."""
    match = MESSAGE.match(ctx.text)
    assert match is not None
    try:
        await message_resident(ctx.session, ctx.services.directory, ctx.actor, int(match.group(1)),
                               match.group(2).strip(), now=ctx.now)
    except CaseRefused as refusal:
        ctx.reply(str(refusal), private=True)
        return True
    ctx.reply(f"已给 #{match.group(1)} 的居民留言。", private=True)
    return True

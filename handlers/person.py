"""人工 / 找人: a resident asks for a person; their grid worker gets the message and the resident is told who."""

from __future__ import annotations

import re

from bot.delivery.outbox import Notice, enqueue
from bot.grid.directory import UnitRef
from bot.grid.routing import StaffRef, role_staff, triage_staff, triage_unit
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.identities import mask_phone, mask_phones_in, staff_contact
from handlers.intake import group_unit, home_unit
from models import StaffRole

# The bare word, or the word, a separator and a message: 人工湖 and 找人帮忙搬家 are not requests for a person.
ASK_FOR_PERSON = re.compile(r"^(?:转人工|人工服务|人工客服|人工|找真人|找人|找网格员|联系网格员)(?:[!！。?？]*$|[\s,，:：]+(.*)$)",
                            re.DOTALL)
ASK_FOR_CONTACT = re.compile(r"网格员.{0,6}(?:电话|手机|联系方式|号码|微信)|(?:电话|联系方式).{0,6}网格员|谁是.{0,2}网格员")
router = HandlerRouter("person")
THANKS = re.compile(r"^(?:谢谢|谢谢你|谢谢您|多谢|感谢|辛苦了|谢了|thanks?|thank you)[啦了哈呀！!。.~\s]*$", re.IGNORECASE)
# Only the question, nothing more: "网格员电话打不通，路灯坏了" is a report.
ASKS_ONLY_FOR_CONTACT = re.compile(rf"^[^，,。#＃]{{0,10}}(?:{ASK_FOR_CONTACT.pattern})[^，,。]{{0,8}}$")


async def grid_worker_of(ctx: Context, unit: UnitRef) -> StaffRef | None:
    """The on-duty grid worker for the unit, else whoever watches its triage queue."""
    directory = ctx.services.directory
    people = await role_staff(ctx.session, directory, StaffRole.GRID_WORKER, unit)
    if not people:
        people = await triage_staff(ctx.session, directory, triage_unit(directory, unit))
    return people[0] if people else None


async def resident_unit(ctx: Context, words: str) -> UnitRef | None:
    """The place that decides who helps: named in the words, else the group's, else the resident's home."""
    directory = ctx.services.directory
    named = directory.locate(words, group_unit=None, home_unit=None) if words else None
    return named.unit if named else (await group_unit(ctx) or home_unit(ctx))


@router.aside(THANKS.pattern)
async def welcome(ctx: Context) -> bool:
    """Answers thanks."""
    ctx.reply("不客气！有需要随时找我。")
    return True


@router.aside(ASKS_ONLY_FOR_CONTACT.pattern)
async def contact_asked(ctx: Context) -> bool:
    """Says who the resident's grid worker is (residents only; staff have the directory)."""
    if ctx.actor.is_staff:
        return False
    await name_the_worker(ctx)
    return True


@router.resident_command(ASK_FOR_PERSON.pattern)
async def put_through(ctx: Context) -> bool:
    """Tells the resident's grid worker that a person is wanted, with the resident's words; says who will call."""
    match = ASK_FOR_PERSON.match(ctx.text)
    words = (match.group(1) or "").strip() if match else ""
    unit = await resident_unit(ctx, words)
    if unit is None:
        ctx.reply("请告诉我您住在哪个小区，例如：人工 秦机小区；网格员会联系您。")
        return True
    person = await grid_worker_of(ctx, unit)
    if person is None:
        ctx.reply("抱歉，这里暂时没有在岗的工作人员。您可以直接描述问题，我帮您登记，工作人员会尽快处理。")
        return True
    contact = await staff_contact(ctx.session, person)
    phone = f"，电话 {mask_phone(ctx.actor.phone)}" if ctx.actor.phone else ""
    said = mask_phones_in(words) if words else "（未留言）"
    await enqueue(ctx.session, Notice(
        dedupe_key=f"person:{ctx.inbound.channel}:{ctx.inbound.message_id}:staff:{person.id}",
        channel=contact.channel, chat_id=contact.chat_id, recipient=f"staff:{person.code}",
        text=f"居民{ctx.actor.name}（{unit.name}{phone}）请求人工联系：{said}\n请尽快与居民联系。", extras={},
    ), now=ctx.now)
    ctx.reply(f"已转告{person.role.label}{person.name}，会尽快联系您。")
    return True


async def name_the_worker(ctx: Context) -> None:
    """Says who the resident's grid worker is and how to be called back (phone numbers are not handed out)."""
    unit = await resident_unit(ctx, ctx.text)
    person = await grid_worker_of(ctx, unit) if unit is not None else None
    if person is None:
        ctx.reply("请告诉我您住在哪个小区，例如：秦机小区的网格员是谁？")
        return
    ctx.reply(f"{unit.name}的{person.role.label}是{person.name}。回复「人工」并留言，"
              f"{person.name}会联系您。")

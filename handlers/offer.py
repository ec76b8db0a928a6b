"""Group offers: a report, wish or booking overheard in a group gets one short offer to file it (登记 / 不用)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.cases.lifecycle import alert_heard
from bot.pipeline.dialogue import DialogueState, save_state
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.identities import resident_identity
from bot.pipeline.messages import REACHES_MEMBERS_PRIVATELY, Button
from bot.pipeline.offers import mark_offered, offered_recently, settle_offer
from bot.understanding.emergencies import Emergency, advice, emergency_in
from bot.understanding.offers import offer_kind
from handlers.appointment import start_appointment
from handlers.help import decline_offer
from handlers.intake import KIND_WORDS, group_unit, media_of
from handlers.report import take_description
from handlers.wish import take_wish
from models import CaseKind

router = HandlerRouter("offer")
TAKE = re.compile(r"^(登记|要登记|帮我登记|登记一下|好|好的|要|需要|是|是的|对|嗯|行|可以|麻烦了|确认)[!！。.~\s]*$")
DECLINE = re.compile(r"^(不用|不用了|不需要|不要|不了|算了|没事|没事了|不)[!！。.~\s]*$")
BUTTONS = (Button("登记", "登记"), Button("不用", "不用"))


@router.overheard
async def offer(ctx: Context) -> bool:
    """Offers the sender to file what they said, at most once per sender and group in the configured window."""
    settings = ctx.services.settings
    kind = offer_kind(ctx.classifier, ctx.text) if ctx.text and not ctx.actor.is_staff else None
    if kind is None:
        return False
    since = ctx.now - timedelta(minutes=settings.group_offer_window_minutes)
    inbound = ctx.inbound
    emergency = emergency_in(ctx.text)
    if emergency is None and await offered_recently(ctx.session, inbound.channel, inbound.chat_id, inbound.sender_id,
                                                    since=since):
        return False  # an emergency is answered however often it is said
    values = {"kind": kind.value, "text": ctx.text, "media": media_of(ctx), "message_id": inbound.message_id}
    expires = ctx.now + timedelta(minutes=settings.group_offer_ttl_minutes)
    private = await private_chat_of(ctx) if settings.group_offer_private else None
    await mark_offered(ctx.session, inbound.channel, inbound.message_id)
    what = KIND_WORDS[CaseKind(kind.value)]
    if emergency is not None:  # the number first, and the place's staff told now, whatever the sender answers
        await answer_emergency(ctx, emergency)
    if private is not None:
        # The offer goes to the sender alone; their answer comes in the private chat, where the dialogue waits.
        await save_state(ctx.session, inbound.channel, private, inbound.sender_id,
                         DialogueState("offer", "answer", {**values, "offered_in": inbound.chat_id}, expires),
                         now=ctx.now)
        ctx.reply(f"您刚在群里说：「{ctx.text[:40]}」\n需要帮您登记这个{what}吗？点「登记」或回复“登记”，由网格员跟进；"
                  "不需要请点「不用」。", buttons=BUTTONS, private=True)
        return True
    ctx.start("offer", "answer", **values)
    ctx.state.expires_at = expires
    ctx.reply(f"需要帮您登记这个{what}吗？点「登记」或回复“登记”，由网格员跟进；不需要请点「不用」。", buttons=BUTTONS)
    return True


async def answer_emergency(ctx: Context, emergency: Emergency) -> None:
    """Gives the number to call and tells the group's grid workers and secretary now, before anything is filed."""
    unit = await group_unit(ctx)
    told = unit is not None and await alert_heard(
        ctx.session, ctx.services.directory, unit, emergency.label, ctx.text, ctx.actor.name,
        key=f"heard:{ctx.inbound.channel}:{ctx.inbound.message_id}", now=ctx.now)
    ctx.reply(advice(emergency, ctx.services.settings.emergency_numbers) + ("已同时通知网格员和社区书记。" if told else ""))


async def private_chat_of(ctx: Context) -> str | None:
    """The sender's private chat with the bot where the channel can reach them there: a member of a WeCom app
    always, a Telegram user only once they have started the bot (a private chat is known)."""
    if ctx.inbound.channel in REACHES_MEMBERS_PRIVATELY:
        return ctx.inbound.sender_id
    identity = await resident_identity(ctx.session, ctx.actor.id, ctx.inbound.channel)
    return identity.private_chat_id if identity is not None else None


@router.step("offer", "answer")
async def on_answer(ctx: Context) -> bool:
    """登记 starts the kind's intake with the words already said; 不用 drops them."""
    values = ctx.state.values
    if DECLINE.match(ctx.text):
        await decline_offer(ctx)
        ctx.reply("好的，不打扰了。")
        return True
    if not TAKE.match(ctx.text):
        if ctx.in_group and (emergency := emergency_in(ctx.text)) is not None:
            await answer_emergency(ctx, emergency)  # said again while the offer waits: answered again
            return True
        return False
    await settle_offer(ctx.session, ctx.inbound.channel, values["message_id"], taken=True)
    kind, text, media = CaseKind(values["kind"]), values["text"], values.get("media", [])
    if kind is CaseKind.APPOINTMENT:
        ctx.text = text
        await start_appointment(ctx)
        return True
    ctx.start(kind.value, "describe", kind=kind.value, media=media, offered_in=values.get("offered_in"))
    if kind is CaseKind.WISH:
        await take_wish(ctx, text)
    else:
        await take_description(ctx, text)
    return True


"""How the Telegram channel answers a message: each reply planned as an outbox row (written in the message's
transaction, sent at once), addressed as a person in the chat would expect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import CallbackQuery, Message

from bot.channels.telegram.sender import TEXT_LIMIT, cut, keyboard
from bot.delivery.outbox import Notice
from bot.delivery.replies import reply_key
from bot.pipeline.messages import Inbound, Reply

WORKER_VERBS = ("接单", "办结", "转派", "退回")
FORCE_REPLY_HINT = "（请直接回复本条消息继续）"
BUTTON_HINT = "（请点下方按钮选择）"
PRIVATE_HINT = "这条回复含个人信息，请点 {link} 打开与我的私聊后再发一次。"


def _notice(inbound: Inbound, index: int, chat_id: int | str, text: str, extras: dict[str, Any]) -> Notice:
    return Notice(dedupe_key=reply_key(inbound, index), channel=inbound.channel, chat_id=str(chat_id),
                  recipient=f"{inbound.channel}:{inbound.sender_id}", text=text, extras=extras)


def plan_message(inbound: Inbound, replies: Sequence[Reply], *, reply_to: int | None, deep_link: str,
                 mention: dict[str, Any] | None = None, first_index: int = 0) -> list[Notice]:
    """In a group: replies to the message (or naming `mention`, a button's presser), the last public one asking for
    an answer when the dialogue goes on; private replies in the sender's private chat, with a deep link in the
    group when they never opened one. In a private chat: plain replies."""
    notices: list[Notice] = []
    follow_up = inbound.is_group and any(reply.awaits_answer for reply in replies)
    public = [r for r in replies if not (r.private and inbound.is_group)]
    for index, reply in enumerate(replies, first_index):
        buttons = [[b.label, b.payload] for b in reply.buttons]
        text = cut(reply.text, TEXT_LIMIT - 200)
        if reply.private and inbound.is_group:
            presser = {"name": inbound.sender_name, "user_id": int(inbound.sender_id)}
            notices.append(_notice(inbound, index, inbound.sender_id, text, {
                "buttons": buttons, "reply": {"private": True},
                "fallback": {"chat_id": inbound.chat_id, "text": PRIVATE_HINT.format(link=deep_link),
                             "mention": presser}}))
            continue
        answer: dict[str, Any] = {}
        if inbound.is_group and mention is None and reply_to is not None:
            answer["to"] = reply_to
        if keyboard(reply.buttons) is not None and inbound.is_group:
            text += "\n" + BUTTON_HINT
        elif follow_up and reply is public[-1] and not buttons:
            # Privacy mode hides plain group messages from the bot; a reply to this one always reaches it.
            answer["force"] = True
            text += "\n" + FORCE_REPLY_HINT
        extras: dict[str, Any] = {"buttons": buttons, "reply": answer or {"plain": True}}
        if mention is not None and inbound.is_group:
            extras["mention"] = mention
        notices.append(_notice(inbound, index, inbound.chat_id, text, extras))
    return notices


def plan_button(query: CallbackQuery, inbound: Inbound, replies: Sequence[Reply], *, deep_link: str) -> list[Notice]:
    """A button's outcome: the pressed message edited to show it, and the next question sent (an edit does not
    notify) when there is more to say or the dialogue goes on. A refusal is an alert only, nothing durable."""
    if not replies or any(r.alert for r in replies):
        return []
    notices: list[Notice] = []
    message = query.message
    if isinstance(message, Message) and message.text:
        verb = (query.data or "").split(" ", 1)[0]
        keep = message.reply_markup.to_dict() if verb in WORKER_VERBS and message.reply_markup else None
        notices.append(_notice(inbound, 0, message.chat.id, cut(f"{message.text}\n——\n{replies[0].text}"),
                               {"edit": {"message_id": message.message_id, "keep": keep}}))
    if isinstance(message, Message) and (len(replies) > 1 or replies[0].awaits_answer):
        presser = {"name": query.from_user.full_name or str(query.from_user.id), "user_id": query.from_user.id}
        notices += plan_message(inbound, replies, reply_to=None, deep_link=deep_link, mention=presser, first_index=1)
    return notices


"""Sends WeCom outbox rows: app messages (cards when they have buttons) to staff, robot webhooks to groups."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC
from typing import Any

from sqlalchemy import select

from bot.channels.wechat_api import (
    ApiAnswer,
    ApiUnavailable,
    PlatformApi,
    result_of,
    unavailable,
)
from bot.channels.wechat_callbacks import (
    safe_text,
)
from bot.delivery.outbox import Picture, SendResult, note_extras
from models import ChatGroup, Outbox

log = logging.getLogger(__name__)


CHANNEL = "wecom"
PERMANENT_CODES = frozenset({40003, 60011, 60111, 81013, 93000, 93004})
# "taskid has existed or empty or exceed max len": an app may use a card's task id once. Ours is never empty nor
# long, and is the row's own, so the answer says an earlier attempt of this row delivered the card.
TASK_ID_EXISTS = 42014
DUPLICATE_CHECK_SECONDS = 1800  # WeCom's default (4 hours at most); a card re-sent later is kept to one by its task id


TEXT_SENT = "text_sent"  # in a row's extras once its text went out ahead of its chart (see _text_then_chart)


class WeComSender:
    """Sends outbox rows: to a staff member as an app message (a card when it has buttons), to a group by webhook."""

    channel = CHANNEL

    def __init__(self, settings: Any, sessions: Any, clock: Any, api: PlatformApi) -> None:
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.api = api

    async def send(self, row: Outbox) -> SendResult:
        """Sends one row; transient failures come back retryable, permanent ones say why."""
        try:
            if response_url := row.extras.get("response_url"):
                return result_of(await self.api.post_url(response_url, markdown(row)), permanent_codes=PERMANENT_CODES)
            group = await self._group(row.chat_id)
            if group is not None:
                return await self._to_group(group, row)
            return await self._to_member(row)
        except ApiUnavailable as exc:
            return unavailable(exc)

    async def _group(self, chat_id: str) -> ChatGroup | None:
        async with self.sessions() as session:
            return await session.scalar(select(ChatGroup).where(ChatGroup.channel == CHANNEL,
                                                                ChatGroup.chat_id == chat_id))

    async def _to_group(self, group: ChatGroup, row: Outbox) -> SendResult:
        key = (group.extras or {}).get("webhook_key")
        if not key:
            return SendResult(ok=False, permanent=True, error=f"群 {group.title or group.chat_id} 未配置机器人 webhook")
        url = f"{self.api.base}/cgi-bin/webhook/send?key={key}"

        async def text() -> SendResult:
            return result_of(await self.api.post_url(url, webhook_message(row)), permanent_codes=PERMANENT_CODES)

        async def chart(picture: Picture) -> SendResult:
            png = picture.data
            image = {"msgtype": "image", "image": {"base64": base64.b64encode(png).decode(),
                                                   "md5": hashlib.md5(png).hexdigest()}}
            return result_of(await self.api.post_url(url, image), permanent_codes=PERMANENT_CODES)

        return await self._text_then_chart(row, text, chart)

    async def _to_member(self, row: Outbox) -> SendResult:
        if not (self.settings.wecom_agent_id and self.settings.wecom_secret):
            return SendResult(ok=False, permanent=True, error="企业微信应用未配置（agent id / secret）")
        agent_id = int(self.settings.wecom_agent_id)

        async def text() -> SendResult:
            message = app_message(row, agent_id=agent_id)
            return app_result(await self.api.post("/cgi-bin/message/send", message), message)

        return await self._text_then_chart(row, text, lambda picture: self._image_to_member(row, picture, agent_id))

    async def _text_then_chart(self, row: Outbox, text: Callable[[], Awaitable[SendResult]],
                               chart: Callable[[Picture], Awaitable[SendResult]]) -> SendResult:
        """Sends the text, then the row's chart if it has one. Once the text is out it is noted in the row
        (extras[TEXT_SENT], under this claim), so a retry after a failed chart sends only the chart. The row's
        platform message id is the text's."""
        picture = Picture.of(row.extras)
        if not row.extras.get(TEXT_SENT):
            result = await text()
            if not result.ok or picture is None:
                return result
            row.extras = {**row.extras, TEXT_SENT: result.platform_message_id or True}
            await note_extras(self.sessions, row)
        sent_as = row.extras[TEXT_SENT]
        result = await chart(picture) if picture is not None else SendResult(ok=True)
        return replace(result, platform_message_id=None if sent_as is True else sent_as) if result.ok else result

    async def _image_to_member(self, row: Outbox, picture: Picture, agent_id: int) -> SendResult:
        """Uploads the notice's chart as temporary media and sends it as an image message."""
        uploaded = await self.api.upload("/cgi-bin/media/upload", {"type": "image"}, picture.filename, picture.data,
                                         picture.mime)
        if not uploaded.ok:
            return result_of(uploaded, permanent_codes=PERMANENT_CODES)
        payload = {"touser": row.chat_id, "agentid": agent_id, "msgtype": "image",
                   "image": {"media_id": uploaded.body.get("media_id")}}
        return result_of(await self.api.post("/cgi-bin/message/send", payload), permanent_codes=PERMANENT_CODES)


def app_result(answer: ApiAnswer, message: dict[str, Any]) -> SendResult:
    """The send result of an app message; a card refused for its task id was delivered by an earlier attempt."""
    if answer.errcode == TASK_ID_EXISTS and message.get("msgtype") == "template_card":
        log.info("card %s was delivered before: WeCom refused its task id again", message["template_card"]["task_id"])
        return SendResult(ok=True)
    return result_of(answer, permanent_codes=PERMANENT_CODES)


def app_message(row: Outbox, *, agent_id: int) -> dict[str, Any]:
    """An app message for one member: a button card when the notice has buttons, plain text otherwise. Every
    attempt of a row sends the same message, so WeCom's duplicate check shows a re-sent one once."""
    base = {"touser": row.chat_id, "agentid": agent_id, "enable_duplicate_check": 1,
            "duplicate_check_interval": DUPLICATE_CHECK_SECONDS}
    buttons = row.extras.get("buttons") or []
    if not buttons:
        return {**base, "msgtype": "text", "text": {"content": safe_text(row.text)}}
    return {**base, "msgtype": "template_card", "template_card": button_card(row, buttons)}


def button_card(row: Outbox, buttons: list[list[str]]) -> dict[str, Any]:
    """A button_interaction template card; each button's key is the words the worker could type instead."""
    lines = [line for line in row.text.splitlines() if line.strip()] or [row.text]
    title, rest = lines[0], lines[1:]
    pairs = [line.split("：", 1) for line in rest if "：" in line][:6]
    plain = [line for line in rest if "：" not in line]
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": title[:36]},
        "task_id": card_task_id(row),
        "button_list": [{"text": label[:10], "style": 1 if i == 0 else 2, "key": payload[:1024]}
                        for i, (label, payload) in enumerate(buttons[:6])],
    }
    if pairs:
        card["horizontal_content_list"] = [{"keyname": k[:5], "value": v[:30]} for k, v in pairs]
    if plain:
        card["sub_title_text"] = "\n".join(plain)[:112]
    photos = [m["url"] for m in row.extras.get("media", []) if isinstance(m, dict) and m.get("url")]
    if photos:
        card["jump_list"] = [{"type": 1, "title": f"照片{i + 1}", "url": url} for i, url in enumerate(photos[:3])]
    return card


def card_task_id(row: Outbox) -> str:
    """The card's task id, the same on every attempt of the row; its creation time keeps it apart from a row of the
    same id in another database (WeCom refuses a task id it has seen, for good)."""
    return f"outbox-{row.id}-{row.created_at.astimezone(UTC):%Y%m%d%H%M%S}"


def webhook_message(row: Outbox) -> dict[str, Any]:
    """A group robot message: markdown when asked for, else text mentioning the person it is for."""
    text = row.text + ("\n可回复：" + " / ".join(f"「{p}」" for _, p in row.extras["buttons"])
                       if row.extras.get("buttons") else "")
    mention = row.extras.get("mention") or {}
    if row.extras.get("format") == "markdown":
        if mention.get("user_id"):
            text = f"<@{mention['user_id']}> " + text
        return {"msgtype": "markdown", "markdown": {"content": safe_text(text, 4096)}}
    body: dict[str, Any] = {"content": safe_text(text)}
    if mention.get("user_id"):
        body["mentioned_list"] = [mention["user_id"]]
    return {"msgtype": "text", "text": body}


def markdown(row: Outbox) -> dict[str, Any]:
    """A reply through a robot's response_url, which takes markdown."""
    return {"msgtype": "markdown", "markdown": {"content": webhook_message(row).get("text", {}).get("content")
                                                or row.text}}


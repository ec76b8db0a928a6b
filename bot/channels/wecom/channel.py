"""WeChat Work (企业微信): the self-built app for staff and the intelligent robot for groups — callbacks in."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from aiohttp import web
from sqlalchemy import select
from wechatpy.work.crypto import PrpCrypto, WeChatCrypto
from wechatpy.work.exceptions import InvalidCorpIdException

from bot.channels.wechat_api import (
    button_hints,
    wecom_tokens,
)
from bot.channels.wechat_callbacks import (
    CallbackChannel,
    Handler,
    Refused,
    guarded,
    parsed_message,
    query_params,
    read_body,
    safe_text,
    signature,
    signature_matches,
    xml_envelope,
    xml_fields,
)
from bot.channels.wecom.sender import CHANNEL, WeComSender
from bot.delivery.outbox import Notice, plain_plan
from bot.pipeline.dispatcher import Dispatcher
from bot.pipeline.invites import redeem_invite
from bot.pipeline.messages import Inbound, Media, Reply
from models import Identity

log = logging.getLogger(__name__)

ROBOT_PREFIX = "robot:"  # robot msgids live beside app MsgIds in the ledger's (channel, message id) key
BIND = re.compile(r"^(?:绑定|bind)\s+([A-Za-z0-9_-]{16,64})$", re.IGNORECASE)
LEADING_MENTION = re.compile(r"^\s*@\S+\s*")

SEALED = """<xml>
<Encrypt><![CDATA[{encrypt}]]></Encrypt>
<MsgSignature><![CDATA[{signature}]]></MsgSignature>
<TimeStamp>{timestamp}</TimeStamp>
<Nonce><![CDATA[{nonce}]]></Nonce>
</xml>"""  # wechatpy's envelope for an encrypted passive reply, as WeCom reads it


class Prp(PrpCrypto):
    """wechatpy's WXBizMsgCrypt cipher, its 16 random leading bytes from os.urandom (wechatpy samples them one
    letter at a time from `random`)."""

    def get_random_string(self) -> str:
        return base64.b64encode(os.urandom(12)).decode()


class Cipher:
    """WXBizMsgCrypt for one receive id (the corp id for the app, "" for the intelligent robot); its AES cipher is
    made once, not per callback."""

    def __init__(self, token: str, aes_key: str, receive_id: str) -> None:
        self.token = token
        self.receive_id = receive_id
        self.prp = Prp(WeChatCrypto(token, aes_key, receive_id).key)

    def open(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Checks the signature in constant time, then decrypts; a wrong receive id is refused like a forgery."""
        if not encrypted or not signature_matches(self.token, signature, timestamp, nonce, encrypted):
            raise Refused(403, "bad signature")
        try:
            return self.prp.decrypt(encrypted, self.receive_id)
        except InvalidCorpIdException as exc:
            raise Refused(403, "wrong receive id") from exc
        except Exception as exc:  # bad base64, bad padding: a payload we cannot read
            raise Refused(400, f"cannot decrypt: {type(exc).__name__}") from exc

    def seal_xml(self, plaintext: str, nonce: str) -> str:
        """Encrypts a passive XML reply into the signed <xml><Encrypt>… envelope."""
        encrypted = self.prp.encrypt(plaintext, self.receive_id).decode()
        timestamp = str(int(time.time()))
        return SEALED.format(encrypt=encrypted, signature=signature(self.token, timestamp, nonce, encrypted),
                             timestamp=timestamp, nonce=nonce)

    def seal_json(self, plaintext: str, nonce: str) -> dict[str, str]:
        """Encrypts a passive JSON reply into the robot's {encrypt, msgsignature, timestamp, nonce} envelope."""
        encrypted = self.prp.encrypt(plaintext, self.receive_id).decode()
        timestamp = str(int(time.time()))
        return {"encrypt": encrypted, "msgsignature": signature(self.token, timestamp, nonce, encrypted),
                "timestamp": timestamp, "nonce": nonce}


def callback_fields(plaintext: str) -> dict[str, Any] | None:
    """An app callback's decrypted XML as the fields wechatpy.work.parse_message would read (xml_fields), refused as
    it refuses them: no MsgType, or an event without its Event; None for an empty one."""
    if not plaintext:
        return None
    fields = xml_fields(plaintext.encode())
    if fields["MsgType"].lower() == "event":
        fields["Event"].lower()
    return fields


def passive_text(fields: dict[str, Any], text: str) -> str:
    """The passive text reply to an app callback, as wechatpy's TextReply renders it."""
    return (f"<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[{safe_text(text)}]]></Content>\n"
            f"<FromUserName><![CDATA[{fields.get('ToUserName') or ''}]]></FromUserName>\n"
            f"<ToUserName><![CDATA[{fields.get('FromUserName') or ''}]]></ToUserName>\n"
            f"<CreateTime>{int(time.time())}</CreateTime>\n</xml>")


def robot_text(event: dict[str, Any]) -> str | None:
    """The words of a robot text or mixed (text and pictures) message; None for every other kind."""
    if event.get("msgtype") == "text" and isinstance(event.get("text"), dict):
        content = event["text"].get("content")
        return content if isinstance(content, str) else None
    if event.get("msgtype") == "mixed" and isinstance(event.get("mixed"), dict):
        items = event["mixed"].get("msg_item")
        if isinstance(items, list):
            words = [item["text"].get("content", "") for item in items
                     if isinstance(item, dict) and item.get("msgtype") == "text" and isinstance(item.get("text"), dict)]
            return " ".join(w for w in words if isinstance(w, str)) or None
    return None


def robot_plan(inbound: Inbound, replies: Sequence[Reply]) -> list[Notice]:
    """Replies as rows; a robot's go through its response_url, which takes one message, so they are joined."""
    response_url = inbound.extras.get("response_url")
    if not response_url:
        return plain_plan(inbound, replies)
    if len(replies) > 1:
        replies = [Reply("\n\n".join(r.text for r in replies), buttons=tuple(b for r in replies for b in r.buttons))]
    return [replace(n, extras={**n.extras, "response_url": response_url}) for n in plain_plan(inbound, replies)]


class WeComChannel(CallbackChannel[WeComSender]):
    """The /wecom/callback (app) and /wecom/robot/callback (intelligent robot) routes and the wecom sender."""

    name = CHANNEL

    def __init__(self, dispatcher: Dispatcher) -> None:
        services = dispatcher.services
        settings = services.settings
        super().__init__(dispatcher, api_base=settings.wecom_api_base, tokens=wecom_tokens(services),
                         sender=lambda api: WeComSender(settings, services.sessions, services.clock, api),
                         plan=robot_plan)
        self.app_cipher = (Cipher(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
                           if settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id else None)
        self.robot_cipher = (Cipher(settings.wecom_robot_token, settings.wecom_robot_aes_key, "")
                             if settings.wecom_robot_token and settings.wecom_robot_aes_key else None)

    def setup(self, app: web.Application) -> None:
        """Adds the callback routes of the surfaces that are configured, and closes the HTTP session on cleanup."""
        routes: dict[str, tuple[Handler, Handler]] = {}
        if self.app_cipher is not None:
            routes["/wecom/callback"] = (self.verify_app, self.app_callback)
        if self.robot_cipher is not None:
            routes["/wecom/robot/callback"] = (self.verify_robot, self.robot_callback)
        self.mount(app, routes)

    # --- URL verification -------------------------------------------------------------------------------------

    async def verify_app(self, request: web.Request) -> web.Response:
        """Echoes the decrypted echostr when the signature checks out (URL verification)."""
        return await guarded(lambda: self._echo(self.app_cipher, request))

    async def verify_robot(self, request: web.Request) -> web.Response:
        """The robot's URL verification: same scheme, empty receive id."""
        return await guarded(lambda: self._echo(self.robot_cipher, request))

    async def _echo(self, cipher: Cipher | None, request: web.Request) -> web.Response:
        assert cipher is not None
        signature, timestamp, nonce, echostr = query_params(request, "msg_signature", "timestamp", "nonce", "echostr")
        return web.Response(text=cipher.open(signature, timestamp, nonce, echostr))

    # --- the self-built app -----------------------------------------------------------------------------------

    async def app_callback(self, request: web.Request) -> web.Response:
        """Verifies, decrypts and parses an app callback, dispatches it and answers passively when in time."""
        return await guarded(lambda: self._app_callback(request))

    async def _app_callback(self, request: web.Request) -> web.Response:
        assert self.app_cipher is not None
        signature, timestamp, nonce = query_params(request, "msg_signature", "timestamp", "nonce")
        body = await read_body(request)
        envelope = xml_envelope(body)
        plaintext = self.app_cipher.open(signature, timestamp, nonce, str(envelope.get("Encrypt") or ""))
        self.replays.check(timestamp, nonce, body)
        return await self._answer_app(parsed_message(callback_fields, plaintext), nonce)

    async def _answer_app(self, fields: dict[str, Any], nonce: str) -> web.Response:
        inbound = self._app_inbound(fields)
        if inbound is None:
            return web.Response(text="")  # unknown types and events we do not act on: an empty answer, nothing filed
        if match := BIND.match(inbound.text):
            return self._passive(fields, await self._bind(inbound, match.group(1)), nonce)
        # A card button: the card stays as it is and the answer arrives as an app message.
        replies = await self.window.replies(inbound, passive=inbound.callback is None)
        if not replies:
            return web.Response(text="")
        return self._passive(fields, "\n\n".join(button_hints(r) for r in replies), nonce)

    def _passive(self, fields: dict[str, Any], text: str, nonce: str) -> web.Response:
        assert self.app_cipher is not None
        return web.Response(text=self.app_cipher.seal_xml(passive_text(fields, text), nonce),
                            content_type="application/xml")

    def _app_inbound(self, raw: dict[str, Any]) -> Inbound | None:
        """The Inbound for an app message or card button; None for anything gridbot does not act on."""
        user = str(raw.get("FromUserName") or "")
        if not user:
            return None
        base = {"channel": CHANNEL, "chat_id": user, "is_group": False, "sender_id": user, "sender_name": user,
                "sent_at": self.services.clock.now()}
        message_id = str(raw.get("MsgId") or "")
        kind = raw["MsgType"].lower()
        if kind in ("text", "image", "location") and not message_id:
            return None  # without its MsgId a message could not be told from WeCom's retries of it
        if kind == "text":
            content = raw.get("Content")
            return Inbound(text=content if isinstance(content, str) else "", message_id=message_id, **base)
        if kind == "image":
            media = Media("photo", str(raw.get("MediaId") or ""), {"url": raw.get("PicUrl") or ""})
            return Inbound(text="", message_id=message_id, media=(media,), **base)
        if kind == "location":
            media = Media("location", f"{raw.get('Location_X')},{raw.get('Location_Y')}", {"label": raw.get("Label")})
            return Inbound(text=str(raw.get("Label") or ""), message_id=message_id, media=(media,), **base)
        if kind == "event" and str(raw.get("Event", "")).lower() == "template_card_event":
            payload = str(raw.get("EventKey") or "")
            if not payload:
                return None
            key = f"card:{user}:{raw.get('CreateTime')}:{raw.get('TaskId')}:{payload}"
            return Inbound(text=payload, message_id=key[:128], callback=payload,
                           extras={"task_id": raw.get("TaskId"), "response_code": raw.get("ResponseCode")}, **base)
        return None

    async def _bind(self, inbound: Inbound, token: str) -> str:
        """Binds this WeCom member to the staff record of a one-time invite code."""
        now = self.services.clock.now()
        async with self.services.sessions.begin() as session:
            staff = await redeem_invite(session, token, channel=CHANNEL, user_id=inbound.sender_id,
                                        display_name=inbound.sender_name, private_chat_id=inbound.chat_id, now=now)
            if staff is not None:
                return f"绑定成功：{staff.name}（{staff.code}）。新工单会推送到这里，可点卡片按钮或回复「接单 编号」「办结 编号 说明」。"
            bound = await session.scalar(select(Identity.staff_id).where(Identity.channel == CHANNEL,
                                                                        Identity.user_id == inbound.sender_id))
        return "您已绑定工作人员身份。" if bound else "绑定码无效或已过期，请向社区管理员重新获取。"

    # --- the intelligent robot ----------------------------------------------------------------------------------

    async def robot_callback(self, request: web.Request) -> web.Response:
        """Verifies and decrypts a robot callback ({"encrypt": ...}), dispatches it and answers with a stream reply."""
        return await guarded(lambda: self._robot_callback(request))

    async def _robot_callback(self, request: web.Request) -> web.Response:
        assert self.robot_cipher is not None
        signature, timestamp, nonce = query_params(request, "msg_signature", "timestamp", "nonce")
        body = await read_body(request)
        try:
            envelope = json.loads(body)
            encrypted = envelope["encrypt"] if isinstance(envelope, dict) else None
        except (ValueError, KeyError) as exc:
            raise Refused(400, "malformed JSON") from exc
        if not isinstance(encrypted, str):
            raise Refused(400, "malformed JSON")
        plaintext = self.robot_cipher.open(signature, timestamp, nonce, encrypted)
        self.replays.check(timestamp, nonce, body)
        try:
            event = json.loads(plaintext)
        except ValueError as exc:
            raise Refused(400, "malformed JSON message") from exc
        if not isinstance(event, dict):
            raise Refused(400, "malformed JSON message")
        inbound = self._robot_inbound(event)
        if inbound is None:
            return web.Response(text="")
        replies = await self.window.replies(inbound)
        if not replies:
            return web.Response(text="")
        stream = {"msgtype": "stream", "stream": {"id": uuid.uuid4().hex, "finish": True,
                                                  "content": "\n\n".join(button_hints(r) for r in replies)}}
        return web.json_response(self.robot_cipher.seal_json(json.dumps(stream, ensure_ascii=False), nonce))

    def _robot_inbound(self, event: dict[str, Any]) -> Inbound | None:
        """The Inbound for a robot text message; events and other types are not acted on."""
        sender = event.get("from") or {}
        user = str(sender.get("userid") or "") if isinstance(sender, dict) else ""
        text = robot_text(event)
        if not user or text is None or not event.get("msgid"):
            return None
        in_group = event.get("chattype") == "group"
        chat_id = str(event.get("chatid") or "") if in_group else user
        if in_group and not chat_id:
            return None
        return Inbound(
            channel=CHANNEL, chat_id=chat_id, is_group=in_group, sender_id=user, sender_name=user,
            text=LEADING_MENTION.sub("", text) if in_group else text, message_id=(ROBOT_PREFIX + str(event["msgid"]))[:128],
            sent_at=self.services.clock.now(), mentions_bot=in_group,
            extras={"response_url": event.get("response_url"), "aibotid": event.get("aibotid")},
        )

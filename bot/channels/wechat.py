"""The WeChat Official Account (公众号) for residents: 1:1 callbacks, passive replies, customer-service follow-ups."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

from bot.channels.wechat_api import (
    ApiUnavailable,
    PlatformApi,
    button_hints,
    oa_tokens,
    result_of,
    unavailable,
)
from bot.channels.wechat_callbacks import (
    CallbackChannel,
    Refused,
    guarded,
    parsed_message,
    read_body,
    safe_text,
    signature_matches,
    text_reply,
    xml_envelope,
)
from bot.delivery.outbox import SendResult
from bot.pipeline.dispatcher import Dispatcher
from bot.pipeline.messages import Inbound, Media
from models import Outbox

log = logging.getLogger(__name__)

CHANNEL = "wechat"
OUT_OF_WINDOW = frozenset({45015, 45047})  # past the 48-hour customer-service window, or too many in it
PERMANENT_CODES = frozenset({40003, 43004, 40037, 47003})  # bad openid, not following, bad template, bad data
MENU = {  # menu CLICK keys (and their labels, should a menu be set up with them) → the words a resident types
    "SNAPSHOT": "#随手拍", "随手拍": "#随手拍",
    "WISH": "#微心愿", "微心愿": "#微心愿",
    "BOOKING": "#预约", "预约办事": "#预约",
    "MY_CASES": "我的诉求", "我的诉求": "我的诉求",
}
WELCOME = (
    "欢迎关注！这里是渭滨区网格服务。\n"
    "· 随手拍：直接描述问题（可附照片、位置），如「3号楼门口路灯坏了」\n"
    "· 微心愿：发送「#微心愿 您的心愿」\n"
    "· 预约办事：发送「#预约」\n"
    "· 我的诉求：查看您反映过的事项和进度\n"
    "也可以点下方菜单。"
)
VOICE_HINT = "抱歉，没有识别出语音内容，请用文字描述您要反映的事项。"


class WeChatSender:
    """Sends outbox rows to residents: customer-service messages, and template messages outside the 48 hours."""

    channel = CHANNEL

    def __init__(self, settings: Any, clock: Any, api: PlatformApi) -> None:
        self.settings = settings
        self.clock = clock
        self.api = api

    async def send(self, row: Outbox) -> SendResult:
        """Sends one row; out of the 48-hour window it falls back to a template message or records why not."""
        try:
            answer = await self.api.post("/cgi-bin/message/custom/send", custom_message(row))
            if answer.errcode not in OUT_OF_WINDOW:
                return result_of(answer, permanent_codes=PERMANENT_CODES)
            if not self.settings.wechat_template_id:
                return SendResult(ok=False, permanent=True,
                                  error=f"{answer.errcode} 超出48小时客服消息窗口，且未配置模板消息")
            template = template_message(row, self.settings.wechat_template_id, self.settings.wechat_template_field)
            return result_of(await self.api.post("/cgi-bin/message/template/send", template),
                             permanent_codes=PERMANENT_CODES)
        except ApiUnavailable as exc:
            return unavailable(exc)


def custom_message(row: Outbox) -> dict[str, Any]:
    """A customer-service message; buttons become a menu whose items send their words back when tapped."""
    buttons = row.extras.get("buttons") or []
    if not buttons:
        return {"touser": row.chat_id, "msgtype": "text", "text": {"content": safe_text(row.text)}}
    return {"touser": row.chat_id, "msgtype": "msgmenu", "msgmenu": {
        "head_content": safe_text(row.text, 1024), "tail_content": "点选上面一项，或直接回复文字。",
        "list": [{"id": str(index + 1), "content": payload} for index, (_, payload) in enumerate(buttons[:10])],
    }}


def template_message(row: Outbox, template_id: str, field: str) -> dict[str, Any]:
    """A template message carrying the notice's first line (template fields are short)."""
    first_line = row.text.strip().splitlines()[0] if row.text.strip() else row.text
    return {"touser": row.chat_id, "template_id": template_id, "data": {field: {"value": first_line[:20]}}}


class WeChatChannel(CallbackChannel[WeChatSender]):
    """GET/POST /wechat/callback in plaintext or safe (AES) mode, and the wechat outbox sender."""

    name = CHANNEL

    def __init__(self, dispatcher: Dispatcher) -> None:
        services = dispatcher.services
        settings = services.settings
        super().__init__(dispatcher, api_base=settings.wechat_api_base, tokens=oa_tokens(services),
                         sender=lambda api: WeChatSender(settings, services.clock, api))
        self.crypto = (WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
                       if settings.wechat_aes_key else None)

    def setup(self, app: web.Application) -> None:
        """Adds the callback route and closes the HTTP session on cleanup."""
        self.mount(app, {"/wechat/callback": (self.verify, self.callback)})

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: echoes echostr when the signature over token, timestamp and nonce matches."""
        async def echo() -> web.Response:
            self._check_signature(request)
            return web.Response(text=request.query.get("echostr", ""))
        return await guarded(echo)

    def _check_signature(self, request: web.Request) -> tuple[str, str]:
        signature, timestamp, nonce = (request.query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce) or not signature_matches(
                self.settings.wechat_token, signature, timestamp, nonce):
            raise Refused(403, "bad signature")
        return timestamp, nonce

    async def callback(self, request: web.Request) -> web.Response:
        """Verifies, decrypts (safe mode) and parses a message, dispatches it and answers passively when in time."""
        return await guarded(lambda: self._callback(request))

    async def _callback(self, request: web.Request) -> web.Response:
        timestamp, nonce = self._check_signature(request)
        body = await read_body(request)
        encrypted = request.query.get("encrypt_type", "raw").lower() == "aes"
        if self.crypto is not None and not encrypted:
            # In plaintext mode the signature does not cover the body; with a key configured only sealed bodies count.
            raise Refused(403, "safe mode is configured: plaintext messages are not accepted")
        if not encrypted and not self.settings.wechat_allow_plaintext:
            raise Refused(403, "plaintext mode is unsafe and not allowed (GRIDBOT_WECHAT_ALLOW_PLAINTEXT)")
        self.replays.check(timestamp, nonce, body)
        envelope = xml_envelope(body)
        if encrypted:
            plaintext = self._open(request.query.get("msg_signature", ""), timestamp, nonce,
                                   str(envelope.get("Encrypt") or ""))
        else:
            plaintext = body.decode("utf-8", errors="replace")
        message = parsed_message(parse_message, plaintext)
        text = await self._answer(message)
        if text is None:
            return web.Response(text="success")
        reply = text_reply(message, text)
        if encrypted:
            assert self.crypto is not None
            reply = self.crypto.encrypt_message(reply, nonce, str(int(time.time())))
        return web.Response(text=reply, content_type="application/xml")

    def _open(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        if self.crypto is None:
            raise Refused(400, "safe mode is not configured")
        if not encrypted or not signature_matches(self.settings.wechat_token, signature, timestamp, nonce, encrypted):
            raise Refused(403, "bad signature")
        try:
            plaintext = PrpCrypto(self.crypto.key).decrypt(encrypted, self.settings.wechat_appid)
        except InvalidAppIdException as exc:
            raise Refused(403, "wrong app id") from exc
        except Exception as exc:  # bad base64 or padding
            raise Refused(400, f"cannot decrypt: {type(exc).__name__}") from exc
        return plaintext

    async def _answer(self, message: Any) -> str | None:
        """The passive reply text, or None to answer "success" (nothing to say now, or a follow-up comes later)."""
        raw: dict[str, Any] = message._data
        event = str(raw.get("Event") or "").lower() if str(raw.get("MsgType", "")).lower() == "event" else ""
        if event in ("subscribe", "subscribe_scan"):
            return WELCOME
        if message.type == "voice" and not (raw.get("Recognition") or "").strip():
            return VOICE_HINT
        inbound = self._inbound(message, raw, event)
        if inbound is None:
            return None
        replies = await self.window.replies(inbound)
        return "\n\n".join(button_hints(r) for r in replies) if replies else None

    def _inbound(self, message: Any, raw: dict[str, Any], event: str) -> Inbound | None:
        """The Inbound for a resident's message or menu click; None for what gridbot does not act on."""
        openid = str(raw.get("FromUserName") or "")
        if not openid:
            return None
        base = {"channel": CHANNEL, "chat_id": openid, "is_group": False, "sender_id": openid,
                "sender_name": f"微信用户{openid[-4:]}", "sent_at": self.services.clock.now()}
        message_id = str(raw.get("MsgId") or "")
        if event == "click":
            words = MENU.get(str(raw.get("EventKey") or ""))
            if words is None:
                return None
            key = f"click:{openid}:{raw.get('CreateTime')}:{raw.get('EventKey')}"
            return Inbound(text=words, message_id=key[:128], **base)
        if event or not message_id:
            return None
        if message.type == "text":
            return Inbound(text=message.content or "", message_id=message_id, **base)
        if message.type == "image":
            media = Media("photo", str(raw.get("MediaId") or ""), {"url": raw.get("PicUrl") or ""})
            return Inbound(text="", message_id=message_id, media=(media,), **base)
        if message.type == "location":
            label = str(raw.get("Label") or "")
            media = Media("location", f"{raw.get('Location_X')},{raw.get('Location_Y')}",
                          {"label": label, "scale": raw.get("Scale")})
            return Inbound(text=label, message_id=message_id, media=(media,), **base)
        if message.type == "voice":
            media = Media("voice", str(raw.get("MediaId") or ""), {"format": raw.get("Format")})
            return Inbound(text=str(raw.get("Recognition")).strip(), message_id=message_id, media=(media,), **base)
        return None

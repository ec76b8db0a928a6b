"""A fake WeChat / WeCom API server on 127.0.0.1: tokens, messages, media, webhooks, with recorded calls and faults."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from aiohttp import web
from wechatpy.crypto import PrpCrypto

TOKEN_PATHS = ("/cgi-bin/token", "/cgi-bin/gettoken")


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class FakeWeChatApi:
    """Both platforms' endpoints in one server; tests point GRIDBOT_WECHAT_API_BASE and _WECOM_API_BASE at `base`."""

    token_lifetime: int = 7200
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, deque[Any]] = field(default_factory=lambda: defaultdict(deque))
    valid_tokens: set[str] = field(default_factory=set)
    hang: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._serial = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> FakeWeChatApi:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self.hang.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def inject(self, path: str, *faults: Any) -> None:
        """Queues faults for the next calls to `path`: an errcode int, "expired", "5xx" or "timeout"."""
        self.faults[path].extend(faults)

    def expire_tokens(self) -> None:
        """Makes every issued token invalid, as when the platform expires it early."""
        self.valid_tokens.clear()

    def to(self, path: str, *, prefix: bool = False) -> list[Call]:
        """The recorded calls to one path (or to every path under a prefix)."""
        return [call for call in self.calls if call.path == path or (prefix and call.path.startswith(path))]

    async def wait_for(self, path: str, count: int = 1, within: float = 5.0, *, prefix: bool = False) -> list[Call]:
        """Waits until `path` has been called at least `count` times and returns those calls."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.to(path, prefix=prefix)) >= count), within)
        return self.to(path, prefix=prefix)

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = None
        if request.method == "POST" and request.content_type.startswith("multipart/"):
            form = await request.post()
            media = form.get("media")
            body = {"filename": getattr(media, "filename", None), "size": len(media.file.read()) if media else 0}
        elif request.method == "POST" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        path = request.path
        await self._record(Call(request.method, path, dict(request.query), body))
        fault = self.faults[path].popleft() if self.faults[path] else None
        if fault == "timeout":
            await self.hang.wait()  # held until the client gives up (its timeout) or the fake stops
            return web.json_response({"errcode": -1})
        if fault == "5xx":
            return web.Response(status=502, text="bad gateway")
        if isinstance(fault, int):
            return web.json_response({"errcode": fault, "errmsg": f"injected {fault}"})
        if path in TOKEN_PATHS:
            token = f"token-{next(self._serial)}"
            self.valid_tokens.add(token)
            return web.json_response({"errcode": 0, "access_token": token, "expires_in": self.token_lifetime})
        if path.startswith("/cgi-bin/webhook/") or path.startswith("/response/"):
            return web.json_response({"errcode": 0, "errmsg": "ok"})
        if fault == "expired" or request.query.get("access_token") not in self.valid_tokens:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if path == "/cgi-bin/media/upload":
            return web.json_response({"errcode": 0, "type": request.query.get("type"),
                                      "media_id": f"MEDIA-{next(self._serial)}", "created_at": "1764460800"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": next(self._serial)})


# --- the platforms' side of callbacks: signed and encrypted pushes, as WeChat and WeCom send them -------------

OA_APPID = "wx1234567890gridb"
OA_TOKEN = "gridbot-oa-token"
OA_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP_ID = "wx5823bf96d3bd56c7"  # the official WXBizMsgCrypt sample's corp, token and key
WECOM_TOKEN = "QDG6eK"
WECOM_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
ROBOT_TOKEN = "gridbot-robot-token"
ROBOT_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


def wechat_settings(fake: FakeWeChatApi, **overrides: Any) -> dict[str, Any]:
    """Settings that turn on every WeChat surface and point the API bases at the fake."""
    return {
        "wechat_appid": OA_APPID, "wechat_secret": "oa-secret", "wechat_token": OA_TOKEN,
        "wechat_aes_key": OA_AES_KEY, "wechat_api_base": fake.base, "wechat_template_id": "TPL-RESULT",
        "wecom_corp_id": CORP_ID, "wecom_agent_id": "1000002", "wecom_secret": "corp-secret",
        "wecom_token": WECOM_TOKEN, "wecom_aes_key": WECOM_AES_KEY, "wecom_robot_token": ROBOT_TOKEN,
        "wecom_robot_aes_key": ROBOT_AES_KEY, "wecom_api_base": fake.base, "wechat_api_timeout_seconds": 1.0,
        "scheduler_in_serve": False,  # no cron jobs firing into the tests' outbox
        **overrides,
    }


def signature(*parts: str) -> str:
    """SHA1 over the sorted parts, the signature both platforms use."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def encrypt(aes_key: str, plaintext: str, receive_id: str) -> str:
    """WXBizMsgCrypt encryption of one message (wechatpy's, as the platforms' own library does it)."""
    return PrpCrypto(base64.b64decode(aes_key + "=")).encrypt(plaintext, receive_id).decode()


def decrypt(aes_key: str, encrypted: str, receive_id: str) -> str:
    return PrpCrypto(base64.b64decode(aes_key + "=")).decrypt(encrypted, receive_id)


def xml_message(fields: dict[str, Any]) -> str:
    """A callback message as the platforms write it: CDATA strings, bare integers."""
    parts = [f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()]
    return "<xml>" + "".join(parts) + "</xml>"


def reply_text(xml: str) -> str:
    """The Content of a plaintext passive reply ('' for an empty answer or 'success')."""
    if not xml.strip() or xml.strip() == "success":
        return ""
    return xmltodict.parse(xml)["xml"].get("Content") or ""


class Rig:
    """gridbot's web app with every WeChat surface on, a test client, the fake API, and the platforms' pushes."""

    def __init__(self, harness: Any, fake: FakeWeChatApi, client: Any, wechat: Any, wecom: Any) -> None:
        self.harness = harness
        self.fake = fake
        self.client = client
        self.wechat = wechat
        self.wecom = wecom
        self._ids = itertools.count(4561255354251345929)
        self._clock = itertools.count(1764460800)

    @classmethod
    async def start(cls, database_url: str, **overrides: Any) -> Rig:
        from aiohttp.test_utils import TestClient, TestServer

        from bot.app import create_app
        from bot.channels.wechat import WeChatChannel
        from bot.channels.wecom import WeComChannel
        from tests.harness import Harness

        fake = await FakeWeChatApi().start()
        harness = await Harness.start(database_url, **wechat_settings(fake, **overrides))
        wechat, wecom = WeChatChannel(harness.runtime.dispatcher), WeComChannel(harness.runtime.dispatcher)
        # The channels' routes on the service's app; their senders are drained by the tests (deliver()), not by
        # the app's delivery loop, so that every send happens at a point the test chose.
        app = create_app(harness.services, harness.runtime.dispatcher)
        wechat.setup(app)
        wecom.setup(app)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        return cls(harness, fake, client, wechat, wecom)

    async def close(self) -> None:
        await self.client.close()  # runs the app's cleanup: follow-ups settle, HTTP sessions close
        await self.harness.close()
        await self.fake.stop()

    def next_id(self) -> int:
        return next(self._ids)

    def next_time(self) -> int:
        return next(self._clock)

    # --- Official Account -----------------------------------------------------------------------------------

    async def oa_post(self, fields: dict[str, Any], *, safe: bool = True, body: bytes | None = None,
                      query: dict[str, str] | None = None) -> Any:
        """Pushes one message to /wechat/callback as WeChat does, in safe (AES) or plaintext mode."""
        plaintext = xml_message(fields)
        timestamp, nonce = str(self.next_time()), "nonce-oa"
        params = {"signature": signature(OA_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                  "openid": str(fields.get("FromUserName", ""))}
        if safe:
            encrypted = encrypt(OA_AES_KEY, plaintext, OA_APPID)
            params |= {"encrypt_type": "aes", "msg_signature": signature(OA_TOKEN, timestamp, nonce, encrypted)}
            payload = body if body is not None else xml_message({"ToUserName": "gh_gridbot", "Encrypt": encrypted}).encode()
        else:
            payload = body if body is not None else plaintext.encode()
        return await self.client.post("/wechat/callback", params=params | (query or {}), data=payload)

    async def oa_text(self, openid: str, text: str, *, msg_id: int | None = None, safe: bool = True) -> str:
        """A resident's text to the Official Account; returns the passive reply's text ('' for "success")."""
        response = await self.oa_post({"ToUserName": "gh_gridbot", "FromUserName": openid, "CreateTime": self.next_time(),
                                       "MsgType": "text", "Content": text, "MsgId": msg_id or self.next_id()}, safe=safe)
        assert response.status == 200, await response.text()
        return self.oa_reply(await response.text(), safe=safe)

    def oa_reply(self, answer: str, *, safe: bool = True) -> str:
        if safe and answer.strip() not in ("", "success"):
            envelope = xmltodict.parse(answer)["xml"]
            assert envelope["MsgSignature"] == signature(OA_TOKEN, envelope["TimeStamp"], envelope["Nonce"],
                                                         envelope["Encrypt"])
            answer = decrypt(OA_AES_KEY, envelope["Encrypt"], OA_APPID)
        return reply_text(answer)

    # --- WeCom app ------------------------------------------------------------------------------------------

    async def app_post(self, fields: dict[str, Any] | None = None, *, body: bytes | None = None,
                       encrypted: str | None = None, sign: str | None = None) -> Any:
        """Pushes one encrypted callback to /wecom/callback as WeCom does."""
        timestamp, nonce = str(self.next_time()), "nonce-app"
        if encrypted is None:
            encrypted = encrypt(WECOM_AES_KEY, xml_message(fields or {}), CORP_ID)
        payload = body if body is not None else xml_message(
            {"ToUserName": CORP_ID, "Encrypt": encrypted, "AgentID": "1000002"}).encode()
        params = {"msg_signature": sign or signature(WECOM_TOKEN, timestamp, nonce, encrypted), "timestamp": timestamp,
                  "nonce": nonce}
        return await self.client.post("/wecom/callback", params=params, data=payload)

    async def app_text(self, userid: str, text: str, *, msg_id: int | None = None) -> str:
        """A staff member's text to the app; returns the decrypted passive reply's text."""
        response = await self.app_post({"ToUserName": CORP_ID, "FromUserName": userid, "CreateTime": self.next_time(),
                                        "MsgType": "text", "Content": text, "MsgId": msg_id or self.next_id(),
                                        "AgentID": 1000002})
        assert response.status == 200, await response.text()
        return self.app_reply(await response.text())

    def app_reply(self, answer: str) -> str:
        if not answer.strip():
            return ""
        envelope = xmltodict.parse(answer)["xml"]
        assert envelope["MsgSignature"] == signature(WECOM_TOKEN, envelope["TimeStamp"], envelope["Nonce"],
                                                     envelope["Encrypt"])
        return reply_text(decrypt(WECOM_AES_KEY, envelope["Encrypt"], CORP_ID))

    async def card_click(self, userid: str, payload: str, task_id: str) -> Any:
        """A staff member presses a button of a template card."""
        return await self.app_post({"ToUserName": CORP_ID, "FromUserName": userid, "CreateTime": self.next_time(),
                                    "MsgType": "event", "Event": "template_card_event", "EventKey": payload,
                                    "TaskId": task_id, "CardType": "button_interaction",
                                    "ResponseCode": "code-" + task_id, "AgentID": 1000002})

    # --- WeCom intelligent robot --------------------------------------------------------------------------------

    async def robot_post(self, event: dict[str, Any] | None = None, *, body: bytes | None = None,
                         sign: str | None = None) -> Any:
        timestamp, nonce = str(self.next_time()), "nonce-robot"
        encrypted = encrypt(ROBOT_AES_KEY, json.dumps(event or {}, ensure_ascii=False), "")
        payload = body if body is not None else json.dumps({"encrypt": encrypted}).encode()
        params = {"msg_signature": sign or signature(ROBOT_TOKEN, timestamp, nonce, encrypted), "timestamp": timestamp,
                  "nonce": nonce}
        return await self.client.post("/wecom/robot/callback", params=params, data=payload)

    async def robot_text(self, userid: str, text: str, *, chatid: str | None = None, msgid: str | None = None) -> str:
        """A member @-mentions the robot in a group (or writes to it 1:1); returns the stream reply's content."""
        event = {"msgid": msgid or f"msg-{self.next_id()}", "aibotid": "AIBOT-GRID", "chattype": "group" if chatid else "single",
                 "from": {"userid": userid}, "response_url": f"{self.fake.base}/response/{self.next_id()}",
                 "msgtype": "text", "text": {"content": f"@网格助手 {text}" if chatid else text}}
        if chatid:
            event["chatid"] = chatid
        response = await self.robot_post(event)
        assert response.status == 200, await response.text()
        answer = await response.text()
        if not answer.strip():
            return ""
        envelope = json.loads(answer)
        assert envelope["msgsignature"] == signature(ROBOT_TOKEN, envelope["timestamp"], envelope["nonce"],
                                                     envelope["encrypt"])
        reply = json.loads(decrypt(ROBOT_AES_KEY, envelope["encrypt"], ""))
        assert reply["msgtype"] == "stream" and reply["stream"]["finish"] is True
        return reply["stream"]["content"]

    # --- delivery -----------------------------------------------------------------------------------------------

    async def deliver(self) -> int:
        """Drains both WeChat outboxes once, as the delivery loop would."""
        from bot.outbox import drain

        services = self.harness.services
        return (await drain(services.sessions, self.wechat.sender, services.clock)
                + await drain(services.sessions, self.wecom.sender, services.clock))

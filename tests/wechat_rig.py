"""A service with the WeChat and WeCom channels mounted on a test client, wired to the fake WeChat API."""

from __future__ import annotations

import itertools
import json
from typing import Any

import xmltodict

from fakes.wechat_api import (
    CORP_ID,
    OA_AES_KEY,
    OA_APPID,
    OA_TOKEN,
    ROBOT_AES_KEY,
    ROBOT_TOKEN,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    FakeWeChatApi,
    decrypt,
    encrypt,
    reply_text,
    signature,
    wechat_settings,
    xml_message,
)
from tests.harness import Harness


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

    def signed_at(self) -> str:
        """A callback's signed timestamp: the service's now, as the platform's clock would say."""
        return str(int(self.harness.clock.now().timestamp()))

    # --- Official Account -----------------------------------------------------------------------------------

    async def oa_post(self, fields: dict[str, Any], *, safe: bool = True, body: bytes | None = None,
                      query: dict[str, str] | None = None) -> Any:
        """Pushes one message to /wechat/callback as WeChat does, in safe (AES) or plaintext mode."""
        plaintext = xml_message(fields)
        timestamp, nonce = self.signed_at(), f"nonce-oa-{self.next_id()}"
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
        timestamp, nonce = self.signed_at(), f"nonce-app-{self.next_id()}"
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
        timestamp, nonce = self.signed_at(), f"nonce-robot-{self.next_id()}"
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
        from bot.delivery.runner import Pacer, drain

        services = self.harness.services
        if not hasattr(self, "pacers"):  # one pacer per channel for the rig's life, as the runner keeps them
            self.pacers = {s.channel: Pacer.for_sender(services.settings, s) for s in (self.wechat.sender,
                                                                                     self.wecom.sender)}
        return (await drain(services.sessions, self.wechat.sender, services.clock, self.pacers["wechat"])
                + await drain(services.sessions, self.wecom.sender, services.clock, self.pacers["wecom"]))

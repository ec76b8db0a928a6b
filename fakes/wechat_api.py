"""A fake WeChat / WeCom API server on 127.0.0.1: tokens, messages, media, webhooks, with recorded calls and faults.

Faults are queued per path (`inject`) or dealt by a seeded FaultPlan (fakes/faults.py) to every call of a message
path: the Official Account's customer and template messages, WeCom app messages and media, group robot webhooks
and robot response_urls. `delivered` holds the messages the platform took in; WeCom app messages sent with
`enable_duplicate_check` are taken in once per interval, as WeCom does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from aiohttp import web
from wechatpy.crypto import PrpCrypto

from fakes.faults import Fault, FaultPlan

TOKEN_PATHS = ("/cgi-bin/token", "/cgi-bin/gettoken")
MESSAGE_PATHS = ("/cgi-bin/message/custom/send", "/cgi-bin/message/template/send", "/cgi-bin/message/send",
                 "/cgi-bin/media/upload", "/cgi-bin/webhook/send", "/response/")
APP_SEND = "/cgi-bin/message/send"
RATE_LIMITED = 45009  # "api freq out of limit", both platforms' answer to too many calls
TASK_ID_EXISTS = 42014  # WeCom: "taskid has existed or empty or exceed max len"
PLANNED = {Fault.SERVER_ERROR: "5xx", Fault.RATE_LIMITED: RATE_LIMITED, Fault.SLOW: "timeout",
           Fault.DROPPED: "dropped", Fault.LATE: "late"}


def is_message_path(path: str) -> bool:
    return path in MESSAGE_PATHS or path.startswith("/response/")


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    fault: Any = None  # what the call met, from `inject` or the plan
    answer: dict[str, Any] | None = None  # what the platform answered (also when the client gave up waiting)


@dataclass
class FakeWeChatApi:
    """Both platforms' endpoints in one server; tests point GRIDBOT_WECHAT_API_BASE and _WECOM_API_BASE at `base`."""

    token_lifetime: int = 7200
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, deque[Any]] = field(default_factory=lambda: defaultdict(deque))
    valid_tokens: set[str] = field(default_factory=set)
    hang: asyncio.Event = field(default_factory=asyncio.Event)
    media: dict[str, bytes] = field(default_factory=dict)  # temporary media served by media/get, by media_id
    plan: FaultPlan | None = None  # faults dealt to calls of the message paths
    delivered: list[Call] = field(default_factory=list)  # message calls the platform took in, in order
    clock: Callable[[], float] = time.monotonic  # seconds, for WeCom's duplicate check interval

    def __post_init__(self) -> None:
        self._duplicate_checked: dict[str, float] = {}
        self._task_ids: set[tuple[Any, str]] = set()  # (agentid, task_id) of the template cards taken in
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
        port = self._runner.addresses[0][1]
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
        call = Call(request.method, path, dict(request.query), body)
        await self._record(call)
        fault = self.faults[path].popleft() if self.faults[path] else None
        if fault is None and self.plan is not None and is_message_path(path):
            drawn = self.plan.draw(f"{path}:{request.query.get('key', '')}:{json.dumps(body, sort_keys=True)}")
            fault = PLANNED[drawn] if drawn is not None else None
        call.fault = fault
        if fault == "dropped":
            request.transport.abort()  # type: ignore[union-attr]
            return web.Response(status=502)
        if fault == "late":
            answer = call.answer = self._take_in(call, self._answer(request, path, None))
            await self.hang.wait()  # delivered, and the answer held until the client gives up
            return web.json_response(answer)
        if fault == "timeout":
            await self.hang.wait()  # held until the client gives up (its timeout) or the fake stops
            return web.json_response({"errcode": -1})
        if fault == "5xx":
            return web.Response(status=502, text="bad gateway")
        if isinstance(fault, int):
            return web.json_response({"errcode": fault, "errmsg": f"injected {fault}"})
        if path == "/cgi-bin/media/get" and fault != "expired" and request.query.get("access_token") in self.valid_tokens:
            media_id = request.query.get("media_id", "")
            if media_id not in self.media:
                return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
            return web.Response(body=self.media[media_id], content_type="image/jpeg",
                                headers={"Content-disposition": f'attachment; filename="{media_id}.jpg"'})
        answer = call.answer = self._take_in(call, self._answer(request, path, fault))
        return web.json_response(answer)

    def _take_in(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        """Notes a message the platform accepted and returns the answer to give: WeCom's duplicate check keeps a
        repeat out, and a template card whose task id is missing, too long or already taken in is refused."""
        if not is_message_path(call.path) or call.path == "/cgi-bin/media/upload" or answer.get("errcode"):
            return answer
        body = call.body or {}
        if call.path == APP_SEND:
            checked, now = json.dumps(body, sort_keys=True), self.clock()
            interval = float(body.get("duplicate_check_interval", 1800))
            if body.get("enable_duplicate_check") and now - self._duplicate_checked.get(checked, -1e9) < interval:
                return answer  # "sent", and not shown again
            if body.get("msgtype") == "template_card":
                task = (body.get("agentid"), str((body.get("template_card") or {}).get("task_id") or ""))
                if not task[1] or len(task[1].encode()) > 128 or task in self._task_ids:
                    return {"errcode": TASK_ID_EXISTS, "errmsg": "taskid has existed or empty or exceed max len"}
                self._task_ids.add(task)
            if body.get("enable_duplicate_check"):
                self._duplicate_checked[checked] = now
        self.delivered.append(call)
        return answer

    def _answer(self, request: web.Request, path: str, fault: Any) -> dict[str, Any]:
        if path in TOKEN_PATHS:
            token = f"token-{next(self._serial)}"
            self.valid_tokens.add(token)
            return {"errcode": 0, "access_token": token, "expires_in": self.token_lifetime}
        if path.startswith("/cgi-bin/webhook/") or path.startswith("/response/"):
            return {"errcode": 0, "errmsg": "ok"}
        if fault == "expired" or request.query.get("access_token") not in self.valid_tokens:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if path == "/cgi-bin/media/upload":
            return {"errcode": 0, "type": request.query.get("type"), "media_id": f"MEDIA-{next(self._serial)}",
                    "created_at": "1764460800"}
        return {"errcode": 0, "errmsg": "ok", "msgid": next(self._serial)}


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

"""What the WeChat Official Account and WeCom channels share: their set-up and close, callback verification, body
limits, XML envelopes and parsing, passive text replies, text limits."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar
from xml.etree import ElementTree

from aiohttp import web
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply

from bot.channels.wechat_api import PlatformApi, ReplyWindow, TokenStore, refuses_xml
from bot.clock import Clock
from bot.delivery.outbox import ChannelSender, ReplyPlan, plain_plan
from bot.pipeline.dispatcher import Dispatcher

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.Response]]
SenderT = TypeVar("SenderT", bound=ChannelSender)

class Refused(Exception):
    """A callback that fails verification or parsing; carries the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class ReplayGuard:
    """Refuses a signed callback whose timestamp is more than `window` seconds from now, or whose (timestamp, nonce)
    was seen with another body within the window: a captured URL cannot carry a forged message. The same request
    again (the platform's own retry) passes; the inbound ledger makes it harmless. Kept per process."""

    def __init__(self, clock: Clock, window: float = 300.0, capacity: int = 200_000) -> None:
        self.clock = clock
        self.window = window
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()

    def check(self, timestamp: str, nonce: str, body: bytes) -> None:
        try:
            stamp = float(int(timestamp))
        except ValueError:
            raise Refused(403, "bad timestamp") from None
        now = self.clock.now().timestamp()
        if abs(now - stamp) > self.window:
            raise Refused(403, "timestamp outside the accepted window")
        while self._seen and (len(self._seen) >= self.capacity or next(iter(self._seen.values()))[0] < now - self.window):
            self._seen.popitem(last=False)
        digest = hashlib.sha256(body).digest()
        seen = self._seen.get((timestamp, nonce))
        if seen is not None and seen[1] != digest:
            raise Refused(403, "nonce already used")
        self._seen[(timestamp, nonce)] = (now, digest)


def signature(token: str, *parts: str) -> str:
    """The platforms' SHA1 signature: of the token and the parts, sorted and joined (as wechatpy's WeChatSigner,
    whose byte order is UTF-8's and so the strings' own)."""
    return hashlib.sha1("".join(sorted((token, *parts))).encode()).hexdigest()


def signature_matches(token: str, given: str, *parts: str) -> bool:
    """Compares the callback's SHA1 signature with ours in constant time."""
    return hmac.compare_digest(signature(token, *parts).encode(), (given or "").encode())


async def read_body(request: web.Request) -> bytes:
    """The request body, refusing anything over 1 MB with 413 before reading it whole."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):  # a chunked body has no length to check up front
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def query_params(request: web.Request, *names: str) -> list[str]:
    """The named query parameters, refusing the request when one is missing."""
    values = [request.query.get(name, "") for name in names]
    if not all(values[:3]):
        raise Refused(403, "missing signature parameters")
    return values


# A flat callback as the platforms write it: <xml>, then children each holding one CDATA section or plain text
# without markup, entities or brackets; no declaration, attributes, comments, nesting, \r or control characters.
_CHILD_OPENS = re.compile(r"[ \t\n]*<([A-Za-z_][A-Za-z0-9_.-]*)>")
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, 0x0D, *range(0x0E, 0x20)])  # in UTF-8 only these characters


def xml_fields(document: bytes) -> Any:
    """The <xml> root of a document as xmltodict.parse(...)["xml"] gives it (children by tag, repeated ones as a
    list, attributes as "@name", text stripped as "#text" beside children, empty as None), read by ElementTree's
    C parser at a fraction of xmltodict's cost (a flat callback, most of them, by one regex: a fifth of that);
    KeyError for another root, ParseError for malformed XML. Callers refuse DOCTYPE and ENTITY declarations
    (refuses_xml) before."""
    flat = _flat_fields(document)
    if flat is not None:
        return flat
    root = ElementTree.fromstring(document)
    if root.tag != "xml":
        raise KeyError("xml")
    return _xml_value(root)


def _flat_fields(document: bytes) -> dict[str, Any] | None:
    """A flat callback's fields as _xml_value reads them; None for anything else (ElementTree reads it)."""
    if (len(document.translate(None, _CONTROL_BYTES)) != len(document)
            or b"\xef\xbf\xbe" in document or b"\xef\xbf\xbf" in document):  # U+FFFE, U+FFFF
        return None
    try:
        text = document.decode()
    except UnicodeDecodeError:
        return None
    inner = text.strip(" \t\n")
    if not (inner.startswith("<xml>") and inner.endswith("</xml>")):
        return None
    inner = inner[5:-6]
    item: dict[str, Any] = {}
    at = 0
    while (opened := _CHILD_OPENS.match(inner, at)) is not None:
        tag, at = opened.group(1), opened.end()
        if inner.startswith("<![CDATA[", at):
            close = inner.find("]]>", at + 9)
            if close < 0:
                return None
            value, at = inner[at + 9:close], close + 3
        else:
            close = inner.find("<", at)
            value, at = inner[at:close], close
            if close < 0 or "&" in value or "]" in value:
                return None
        if not inner.startswith(f"</{tag}>", at):
            return None
        at += len(tag) + 3
        value = value.strip() or None
        if tag not in item:
            item[tag] = value
        elif isinstance(item[tag], list):
            item[tag].append(value)
        else:
            item[tag] = [item[tag], value]
    return item if item and not inner[at:].strip(" \t\n") else None


def _xml_value(element: ElementTree.Element) -> Any:
    item: dict[str, Any] | None = {f"@{name}": value for name, value in element.attrib.items()} or None
    data = element.text or ""
    for child in element:
        data += child.tail or ""
        value = _xml_value(child)
        if item is None:
            item = {}
        if child.tag not in item:
            item[child.tag] = value
        elif isinstance(item[child.tag], list):
            item[child.tag].append(value)
        else:
            item[child.tag] = [item[child.tag], value]
    text = data.strip() or None
    if item is None:
        return text
    if text:
        item["#text"] = text
    return item


def xml_envelope(body: bytes) -> dict[str, Any]:
    """The outer <xml> element of a callback as a dict; DOCTYPE/ENTITY and malformed XML are refused."""
    if refuses_xml(body):
        raise Refused(400, "XML declarations are not accepted")
    try:
        envelope = xml_fields(body)
    except Exception as exc:  # expat errors, a missing root, a non-mapping root
        raise Refused(400, f"malformed XML: {type(exc).__name__}") from exc
    if not isinstance(envelope, dict):
        raise Refused(400, "malformed XML")
    return envelope


TEXT_BYTES = 2048  # the platforms' limit for a text message's content, in UTF-8 bytes
CUT_NOTE = "\n…（内容较长，已截断）"


def safe_text(text: str, limit: int = TEXT_BYTES) -> str:
    """Keeps user text from closing its CDATA section and cuts it to the platform's byte limit, saying so."""
    text = text.replace("]]>", "]] >")
    if len(text.encode()) <= limit:
        return text
    room = limit - len(CUT_NOTE.encode())
    return text.encode()[:room].decode(errors="ignore") + CUT_NOTE


async def guarded(handler: Callable[[], Awaitable[web.Response]]) -> web.Response:
    """Runs a callback handler; a refused callback is answered with its status and nothing is written."""
    try:
        return await handler()
    except Refused as refusal:
        log.info("callback refused (%s): %s", refusal.status, refusal)  # never the query: it holds the signature
        return web.Response(status=refusal.status, text=str(refusal))
    except InvalidSignatureException:
        return web.Response(status=403, text="bad signature")


class CallbackChannel(Generic[SenderT]):
    """What the Official Account and WeCom channels set up and close alike: an API client on the platform's shared
    token, the outbox sender that uses it, the reply window that answers a callback passively when in time, and a
    replay guard. Each channel names its API base, token, sender, reply plan and callback routes."""

    def __init__(self, dispatcher: Dispatcher, *, api_base: str, tokens: TokenStore,
                 sender: Callable[[PlatformApi], SenderT], plan: ReplyPlan = plain_plan) -> None:
        services = dispatcher.services
        settings = services.settings
        self.dispatcher = dispatcher
        self.services = services
        self.settings = settings
        self.api = PlatformApi(api_base, tokens, timeout=settings.wechat_api_timeout_seconds)
        self.sender = sender(self.api)
        self.window = ReplyWindow(dispatcher, settings.wechat_reply_window_seconds, self.sender, plan=plan)
        self.replays = ReplayGuard(services.clock, settings.callback_window_seconds)

    def mount(self, app: web.Application, routes: Mapping[str, tuple[Handler, Handler]]) -> None:
        """Adds each callback path's GET (URL verification) and POST handlers, and closes the channel on cleanup."""
        for path, (verify, callback) in routes.items():
            app.router.add_get(path, verify)
            app.router.add_post(path, callback)
        app.on_cleanup.append(self._cleanup)

    async def _cleanup(self, _app: web.Application) -> None:
        await self.close()

    async def close(self) -> None:
        """Lets follow-ups finish and closes the HTTP session."""
        await self.window.settle()
        await self.api.close()


def parsed_message(parse: Callable[[str], Any], plaintext: str) -> Any:
    """A callback's (decrypted) XML parsed by the platform's wechatpy parser; XML declarations, malformed and empty
    messages are refused."""
    if refuses_xml(plaintext.encode()):
        raise Refused(400, "XML declarations are not accepted")
    try:
        message = parse(plaintext)
    except Exception as exc:  # wechatpy raises whatever xmltodict or a missing MsgType raise
        raise Refused(400, f"malformed message: {type(exc).__name__}") from exc
    if message is None:
        raise Refused(400, "empty message")
    return message


def text_reply(message: Any, text: str) -> str:
    """The passive XML reply carrying `text` to a parsed message, before any sealing."""
    return TextReply(content=safe_text(text), message=message).render()

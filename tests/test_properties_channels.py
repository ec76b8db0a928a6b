"""Property tests for what comes in from the platforms: no Telegram update and no WeChat/WeCom body crashes the
parsing; what is refused is refused with a reason (the webhook answers 400/403 before any write)."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime

import xmltodict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Message, Update, User

from bot.channels.telegram.channel import strip_mentions, to_inbound
from bot.channels.telegram.transport import message_update, shallow, update_problem
from bot.channels.wechat_callbacks import Refused, ReplayGuard, xml_envelope, xml_fields
from bot.clock import FrozenClock

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
BOT = User(424242, "网格助手", is_bot=True, username="gridbot")
TEXTS = st.text(max_size=80)
IDS = st.integers(min_value=-(2**52), max_value=2**52)


def shaped_updates() -> st.SearchStrategy[dict]:
    """Updates with the right skeleton and arbitrary contents: texts, entities, quotes, chat kinds."""
    user = st.fixed_dictionaries({"id": IDS, "is_bot": st.booleans(), "first_name": TEXTS})
    chat = st.fixed_dictionaries({"id": IDS, "type": st.sampled_from(["private", "group", "supergroup", "channel"])})
    entity = st.fixed_dictionaries({"type": st.sampled_from(["mention", "bot_command", "text_mention", "bold"]),
                                    "offset": st.integers(-5, 100), "length": st.integers(-5, 100)})
    base = {"message_id": st.integers(1, 2**31), "date": st.integers(0, 2**31), "chat": chat, "from": user}
    quoted = st.fixed_dictionaries(base, optional={"text": TEXTS})
    message = st.fixed_dictionaries(base, optional={"text": TEXTS, "caption": TEXTS,
                                                    "entities": st.lists(entity, max_size=3),
                                                    "reply_to_message": quoted})
    return st.fixed_dictionaries({"update_id": st.integers(0, 2**31), "message": message})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_body_gets_an_answer_never_an_exception(payload):
    problem = update_problem(payload)
    assert problem is None or isinstance(problem, str)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(shaped_updates())
def test_well_shaped_updates_parse_to_an_inbound_or_nothing(payload):
    assert update_problem(payload) is None
    update = message_update(payload)
    assert update is not None
    inbound = to_inbound(update.message, BOT)
    if inbound is not None:
        assert inbound.channel == "telegram" and inbound.chat_id == str(payload["message"]["chat"]["id"])
        assert inbound.text or inbound.media


def mentions_by_ptb(message: Message) -> tuple[str, bool]:
    """What strip_mentions should make of a message, worked out on PTB's objects (its UTF-16 entity parsing)."""
    text = message.text or message.caption or ""
    parse = message.parse_entity if message.text else message.parse_caption_entity
    mentioned = False
    for entity in (message.entities if message.text else message.caption_entities) if text else ():
        try:
            value = parse(entity)
        except (UnicodeDecodeError, ValueError, IndexError):
            continue
        if entity.type == "mention" and value[1:].lower() == BOT.username:
            mentioned, text = True, text.replace(value, " ", 1)
        elif entity.type == "text_mention" and entity.user and entity.user.id == BOT.id:
            mentioned = True
    return re.sub(r" {2,}", " ", text).strip() if mentioned else text, mentioned


@st.composite
def mentioning_updates(draw: st.DrawFn) -> dict:
    """Updates whose text names the bot (or another bot) among other characters, emoji too, with the entity in place."""
    before, after = draw(TEXTS), draw(TEXTS)
    name = draw(st.sampled_from(["@gridbot", "@GridBot", "@otherbot"]))
    offset = len(before.encode("utf-16-le")) // 2 + draw(st.integers(-1, 1))
    payload = draw(shaped_updates())
    payload["message"]["text"] = f"{before}{name}{after}"
    payload["message"]["entities"] = [{"type": "mention", "offset": offset, "length": len(name)}]
    return payload


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(shaped_updates() | mentioning_updates())
def test_a_message_reads_from_its_json_as_from_ptbs_objects(payload):
    """The channel reads messages from the Bot API's JSON: what it reads is what PTB's Message gives."""
    message = Update.de_json(copy.deepcopy(payload), None).message
    update = message_update(payload)
    assert update is not None
    text = update.message.get("text") or update.message.get("caption") or ""
    assert strip_mentions(update.message, text, BOT) == mentions_by_ptb(message)
    inbound = to_inbound(update.message, BOT)
    if inbound is not None:
        assert inbound.sender_name == (message.from_user.full_name or str(message.from_user.id))
        assert inbound.sent_at == message.date
        assert inbound.is_group == (message.chat.type in ("group", "supergroup"))
        assert inbound.message_id == f"{message.chat.id}:{message.message_id}"


def test_a_deep_chain_of_quotes_is_cut_to_one_level():
    message: dict = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x"}
    for depth in range(3000):
        message = {"message_id": depth + 2, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "y",
                   "reply_to_message": message}
    payload = shallow({"update_id": 1, "message": message})
    assert "reply_to_message" not in payload["message"]["reply_to_message"]
    assert Update.de_json(payload, None).message.reply_to_message is not None


@settings(max_examples=300)
@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda t: f"<xml>{t}</xml>".encode()))
def test_any_callback_body_is_parsed_or_refused(body):
    try:
        envelope = xml_envelope(body)
    except Refused as refusal:
        assert refusal.status in (400, 413)
    else:
        assert isinstance(envelope, dict)


XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(" \n\t"),
                   max_size=12)


def xml_elements(depth: int = 3) -> st.SearchStrategy[str]:
    """XML elements as the platforms send them, and odder: CDATA and plain text (with blanks to strip), attributes,
    repeated and nested children, text beside children, empty elements."""
    tag = st.sampled_from(["ToUserName", "MsgType", "Content", "Item", "a", "Event"])
    attributes = st.dictionaries(st.sampled_from(["id", "type"]), st.text("abc 1", max_size=4), max_size=2)
    text = XML_TEXT.map(lambda t: f"<![CDATA[{t.replace(']]>', '')}]]>") | XML_TEXT.map(
        lambda t: t.replace("&", "&amp;").replace("<", "&lt;"))
    children = st.lists(xml_elements(depth - 1), max_size=3) if depth else st.just([])

    def element(name: str, attrs: dict[str, str], inner: list[str], before: str, after: str) -> str:
        opened = name + "".join(f' {key}="{value}"' for key, value in attrs.items())
        return f"<{opened}>{before}{''.join(inner)}{after}</{name}>"

    return st.builds(element, tag, attributes, children, text, text | st.just(""))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(xml_elements(), st.lists(xml_elements(), max_size=4))
def test_xml_fields_reads_a_callback_as_xmltodict_does(first, rest):
    document = f"<xml>{first}{''.join(rest)}</xml>".encode()
    assert xml_fields(document) == xmltodict.parse(document)["xml"]


ODD = st.sampled_from(["&", "&amp;", "]", "]]>", ">", "<", "<b>", "\r", "\r\n", "\x01", "\x0b", "\ufffe", "\u3000",
                       "\xa0", " ", "\t", "\n", "<!-- c -->", "<?pi x?>"])
PLAIN = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
FLAT_TEXT = st.lists(st.one_of(PLAIN, PLAIN, PLAIN, PLAIN, PLAIN, ODD), max_size=3).map("".join)
BLANK = st.sampled_from(["", " ", "\n", "\t", "\r\n", "\n  "])


@st.composite
def flat_callbacks(draw: st.DrawFn) -> bytes:
    """Callbacks shaped as the platforms send them (a flat <xml> of CDATA or plain text), often broken in one
    place: markup, entities, brackets, control characters, \\r, a wrong closing tag, junk around the root."""
    children = []
    for _ in range(draw(st.integers(0, 5))):
        tag = draw(st.sampled_from(["ToUserName", "MsgType", "Content", "a", "x.y", "_t", "Content"]))
        inner = draw(FLAT_TEXT)
        body = f"<![CDATA[{inner}]]>" if draw(st.booleans()) else inner
        closing = draw(st.sampled_from([tag] * 8 + [tag + "x", tag + " "]))
        children.append(f"{draw(BLANK)}<{tag}>{body}</{closing}>")
    root = draw(st.sampled_from(["xml"] * 8 + ["XML"]))
    document = f"{draw(BLANK)}<{root}>{''.join(children)}{draw(BLANK)}</{root}>{draw(BLANK | BLANK | ODD)}".encode()
    return document + draw(st.sampled_from([b""] * 8 + [b"\xff", b"\xc3"]))


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(flat_callbacks())
def test_a_flat_callback_reads_as_xmltodict_reads_it_or_is_refused_alike(document):
    try:
        expected = xmltodict.parse(document)["xml"]
    except Exception:  # expat's errors, another root
        expected = "refused"
    try:
        found = xml_fields(document)
    except Exception:
        found = "refused"
    assert found == expected


@settings(max_examples=200)
@given(st.text(max_size=16), st.text(max_size=16), st.binary(max_size=32))
def test_the_replay_guard_accepts_or_refuses_never_crashes(timestamp, nonce, body):
    guard = ReplayGuard(FrozenClock(datetime(2026, 11, 30, 1, tzinfo=UTC)))
    try:
        guard.check(timestamp, nonce, body)
    except Refused as refusal:
        assert refusal.status == 403

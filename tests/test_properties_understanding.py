"""Property tests for what reads a resident's words: the classifier, the place parser and the conversation steps.
Texts are drawn from the shipped vocabulary (keywords, hashtags, place names, building numbers) mixed with
anything at all; no input crashes them, and a step that refuses an answer files nothing."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.grid.directory import building_mention, compact
from bot.pipeline.dispatcher import FAILURE_REPLY
from bot.understanding.classifier import Intent
from bot.understanding.emergencies import emergency_in
from bot.understanding.offers import offer_kind
from handlers.intake import YES
from models import Case, InboundMessage, InboundStatus
from tests.harness import Harness
from tests.test_classifier import shipped_classifier
from tests.test_grid import demo_directory

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def vocabulary() -> tuple[str, ...]:
    """Words the bot knows: category and intent keywords, hashtags, commands, place names and aliases."""
    rules = shipped_classifier().rules
    words = {k.word for category in rules.categories for k in category.keywords}
    words |= {k.word for rule in rules.intents.values() for k in rule.keywords}
    words |= {w for rule in rules.intents.values() for w in (*rule.hashtags, *rule.commands)}
    for unit in demo_directory().units():  # names and aliases of every level
        words |= {unit.name, *unit.aliases}
    return tuple(sorted(words))


def pieces() -> st.SearchStrategy[str]:
    known = st.sampled_from(vocabulary())
    numbers = st.integers(-3, 120).map(lambda n: f"{n}号楼") | st.integers(0, 30).map(lambda n: f"{n}栋{n}单元")
    noise = st.text(max_size=12) | st.sampled_from(["，", "。", "！", "？", " ", "\n", "＃", "＠网格助手", "１２号楼",
                                                    "😀", "\u200b", "\x00", "#", "@", "/start"])
    return known | numbers | noise


TEXTS = st.lists(pieces(), max_size=8).map("".join)


@SETTINGS
@given(TEXTS)
def test_any_words_classify_to_a_known_intent_and_category(text: str):
    classifier = shipped_classifier()
    result = classifier.classify(text)
    assert result.intent in Intent and 0.0 <= result.confidence <= 1.0
    assert result == classifier.classify(text)  # the same words, the same reading
    if result.category is not None:
        assert result.category in classifier.rules.categories
    assert offer_kind(classifier, text) in (None, *Intent)
    emergency = emergency_in(text)
    assert emergency is None or emergency.label


@cache
def directory_units() -> tuple:
    directory = demo_directory()
    return directory, tuple(directory.units())


@SETTINGS
@given(TEXTS, st.integers(0, 10**6), st.integers(0, 10**6), st.booleans(), st.booleans())
def test_any_words_are_placed_in_the_district_or_nowhere(text: str, group_pick: int, home_pick: int,
                                                         in_group: bool, has_home: bool):
    directory, units = directory_units()
    group = units[group_pick % len(units)] if in_group else None
    home = units[home_pick % len(units)] if has_home else None
    location = directory.locate(text, group_unit=group, home_unit=home)
    if location is None:
        assert group is None and home is None  # the group or the home always places a message
    else:
        assert directory.unit(location.unit.id) == location.unit
    mention = building_mention(compact(text))
    assert mention is None or (mention[0] >= 0 and mention[1])


# --- the conversation steps ---------------------------------------------------------------------------------------

# How a resident reaches each step of the chat flows, and the step it leaves the resident at.
OPENINGS = {
    ("report", "describe"): ["#随手拍"],
    ("report", "location"): ["#随手拍 门口路灯坏了，晚上很黑"],
    ("report", "confirm"): ["#随手拍 铁塔厂家属院3号楼门口路灯坏了"],
    ("wish", "describe"): ["#微心愿"],
    ("appointment", "service"): ["#预约"],
}


class Conversation:
    """One service on its own event loop for every example of a test: each example is a new resident."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.bot = self.run(Harness.start(database_url))
        self.names: Iterator[int] = itertools.count(1)

    def run(self, work):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(work)

    def close(self) -> None:
        self.run(self.bot.close())
        self.loop.close()

    async def counts(self) -> tuple[int, int]:
        async with self.bot.services.sessions() as session:
            cases = await session.scalar(select(func.count()).select_from(Case))
            failed = await session.scalar(select(func.count()).select_from(InboundMessage)
                                          .where(InboundMessage.status == InboundStatus.FAILED))
        return cases, failed


@pytest.fixture
def conversation(database_url: str) -> Iterator[Conversation]:
    opened = Conversation(database_url)
    try:
        yield opened
    finally:
        opened.close()


def test_any_answer_at_any_step_is_answered_and_only_a_confirmation_files(conversation: Conversation):
    async def one(step: tuple[str, str], text: str) -> None:
        bot = conversation.bot
        name = f"居民{next(conversation.names)}"
        for opening in OPENINGS[step]:
            assert await bot.resident(name, opening)
        cases, failed = await conversation.counts()
        answer = await bot.resident(name, text)
        assert FAILURE_REPLY not in answer  # no handler raised
        after, failed_after = await conversation.counts()
        assert failed_after == failed
        assert after - cases <= 1
        if after > cases:  # filed only by a yes to the confirmation, or at once for an emergency; and told so
            confirmed = step == ("report", "confirm") and YES.match(text.strip()) is not None
            assert confirmed or emergency_in(text) is not None, (text, answer)
            assert "编号" in answer, answer

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(sorted(OPENINGS)), TEXTS)
    def check(step: tuple[str, str], text: str) -> None:
        conversation.run(one(step, text))

    check()

"""The handler router picks, for a text, the first registered command whose pattern matches, whichever way its
lists are searched."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.pipeline.dispatcher import HandlerRouter


def named(name: str):  # type: ignore[no-untyped-def]
    async def handler(ctx) -> bool:  # type: ignore[no-untyped-def]
        return True

    handler.__name__ = name
    return handler


def router_of(patterns: list[str], *, aside: bool = False) -> HandlerRouter:
    router = HandlerRouter("test")
    for n, pattern in enumerate(patterns):
        (router.aside if aside else router.command)(pattern)(named(f"h{n}"))
    return router


def first_by_hand(patterns: list[str], text: str, *, search: bool = False) -> str | None:
    for n, pattern in enumerate(patterns):
        if (re.search if search else re.match)(pattern, text):
            return f"h{n}"
    return None


PATTERNS = [r"^(进度|查)\s*(\d{1,9})$", r"^查", r"^(谢谢|感谢)[!！]*$", r"(.)\1", r"(?i)^help$", r"^(?P<n>\d+)号$",
            r"网格员.{0,4}电话", r"^$"]
TEXTS = ["查 12", "查询", "谢谢！", "好好", "HELP", "12号", "网格员的电话", "", "门口路灯坏了", "help me"]


def test_the_first_matching_command_wins_at_the_start_and_the_first_found_aside_anywhere():
    for patterns in (PATTERNS, PATTERNS[:3], PATTERNS[::-1], [r"^查", r"^(?P<n>\d+)", r"(?P<n>号)"]):
        commands, asides = router_of(patterns), router_of(patterns, aside=True)
        for text in TEXTS:
            handler = commands.command_handler(text)
            assert (handler.__name__ if handler else None) == first_by_hand(patterns, text), (patterns, text)
            handler = asides.aside_handler(text)
            assert (handler.__name__ if handler else None) == first_by_hand(patterns, text, search=True)


@given(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=6), st.sampled_from(TEXTS) | st.text(max_size=8))
def test_any_patterns_and_text_give_the_handler_the_list_order_gives(patterns, text):
    handler = router_of(patterns).command_handler(text)
    assert (handler.__name__ if handler else None) == first_by_hand(patterns, text)
    handler = router_of(patterns, aside=True).aside_handler(text)
    assert (handler.__name__ if handler else None) == first_by_hand(patterns, text, search=True)


def test_commands_included_after_a_lookup_are_found_and_resident_words_address_the_bot():
    root = router_of([r"^甲$", r"^乙$"])
    assert root.command_handler("丙") is None
    root.include(router_of([r"^丙$"]))
    assert root.command_handler("丙") is not None and root.command_handler("甲").__name__ == "h0"
    words = HandlerRouter("words")
    words.addressed_by(r"^(帮助|菜单)$")
    assert words.is_resident_command("菜单") and not words.is_resident_command("菜单呢")
    words.addressed_by(r"^我的诉求$")
    assert words.is_resident_command("我的诉求") and not words.is_resident_command("诉求")

"""The classifier's fast paths against their plain definitions: the same text, the same result."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.fuzz import partial_ratio_alignment

from bot.understanding import text as text_module
from bot.understanding.matching import (
    FUZZY_CUTOFF,
    FUZZY_MIN_CHARS,
    fuzzy_spare,
    lacks_too_many,
    split_pieces,
)
from bot.understanding.text import normalize

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WHITESPACE = "".join(c for c in map(chr, range(0x3100)) if re.match(r"\s", c)) + "\u3000\u202f\u205f"
FOLDABLE = "".join(text_module._FOLD_MAP)


def plain_normalize(text: str) -> str:
    """normalize() as first written: every regex over the whole text, one Python call per folded character."""
    def fold(match: re.Match[str]) -> str:
        return text_module._FOLD_MAP[match.group()]

    text = text_module._FOLDABLE.sub(fold, text[:text_module.MAX_INPUT_CHARS])
    if not unicodedata.is_normalized("NFKC", text):
        text = text_module._FOLDABLE.sub(fold, unicodedata.normalize("NFKC", text))
    text = text_module._DROP.sub("", text_module._TAG.sub(" ", text.lower()))
    text = text_module._HAN_GAP.sub("", text_module._SPACE.sub(" ", text))
    return text.strip()[:text_module.MAX_CHARS]


MESSY = st.text(st.sampled_from(WHITESPACE) | st.sampled_from(FOLDABLE) | st.sampled_from("电梯坏了路灯不亮ab1<>/p")
                | st.characters(min_codepoint=0xE000, max_codepoint=0xF8FF) | st.characters(), max_size=60)


@SETTINGS
@given(MESSY)
def test_normalize_is_the_plain_definition(text: str):
    assert normalize(text) == plain_normalize(text)
    # The homophone search codes syllables as private use characters: no text may hold one.
    assert not [c for c in normalize(text) if "\ue000" <= c <= "\uf8ff"]


def test_no_whitespace_but_the_space_is_printable():
    # normalize() skips the whitespace regex for printable text: that holds only while this does.
    assert not [c for c in map(chr, range(0x110000)) if re.match(r"\s", c) and c.isprintable() and c != " "]


KEYWORDS = st.text(st.sampled_from("电梯坏了路灯不亮水管漏"), min_size=FUZZY_MIN_CHARS, max_size=12)


@SETTINGS
@given(KEYWORDS, st.data())
def test_the_fuzzy_prefilter_drops_no_window_rapidfuzz_would_take(word: str, data: st.DataObject):
    # A window as _find_fuzzy cuts it (one or two characters longer than the keyword), often near the keyword.
    near = st.lists(st.sampled_from("电梯坏了路灯不亮水管漏"), min_size=len(word) + 1, max_size=len(word) + 2).map("".join)
    edited = st.integers(0, len(word) - 1).flatmap(
        lambda at: st.sampled_from("电梯坏了路灯不亮水管漏停").map(lambda c: (c + word[:at] + c + word[at + 1:])[:len(word) + 2]))
    around = data.draw(near | edited)
    found = partial_ratio_alignment(word, around, score_cutoff=FUZZY_CUTOFF)
    taken = found is not None and found.dest_end - found.dest_start == len(word)
    for offset, piece in split_pieces(word, 1 if len(word) < 8 else 2):
        others = word[:offset] + word[offset + len(piece):]
        if lacks_too_many(others, fuzzy_spare(len(word)), around):
            assert not taken, (word, around, found)


def test_fuzzy_spare_is_what_the_cutoff_allows():
    # One wrong character in 4-7 characters, two in 8-11 (the Indel ratio of equal sizes is 100 * common / size).
    assert [fuzzy_spare(n) for n in range(4, 13)] == [1, 1, 1, 1, 2, 2, 2, 2, 3]
    assert all(100.0 * (n - fuzzy_spare(n)) / n >= FUZZY_CUTOFF > 100.0 * (n - fuzzy_spare(n) - 1) / n
               for n in range(4, 40))

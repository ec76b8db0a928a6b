"""The classifier's fast paths against their plain definitions: the same text, the same result."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.understanding import text as text_module
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
                | st.characters(), max_size=60)


@SETTINGS
@given(MESSY)
def test_normalize_is_the_plain_definition(text: str):
    assert normalize(text) == plain_normalize(text)


def test_no_whitespace_but_the_space_is_printable():
    # normalize() skips the whitespace regex for printable text: that holds only while this does.
    assert not [c for c in map(chr, range(0x110000)) if re.match(r"\s", c) and c.isprintable() and c != " "]

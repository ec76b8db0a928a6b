"""pypinyin, loaded lean: only the phrases inside the words it is asked to read.

pypinyin reads a character that has several readings (行: háng or xíng) from the phrase it stands in, with a
47,000-phrase table: about 20 MiB a serving process would keep even when read lean. The classifier reads a
message character by character (every reading, text.char_readings) and needs phrases only for its keywords and
mined labels. So pypinyin's own loading is switched off, and `load_phrases_within(words)` gives it, from the
same JSON file, the phrases that occur inside those words: all that lazy_pinyin of them consults (its
segmentation looks up substrings of the text it reads, nothing else). Every module imports pypinyin from here,
so the switches are set before its import.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable

os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")

import pypinyin
from pypinyin import Style, lazy_pinyin, load_phrases_dict, pinyin

# pypinyin.phrases_dict would decode the file on import: only its path is taken
PHRASES_FILE = os.path.join(os.path.dirname(pypinyin.__file__), "phrases_dict.json")
_PHRASE = re.compile(r'^"([^"\n]+)": ', re.MULTILINE)  # each entry starts a line: "一丁不识": [
_ASKED: set[str] = set()  # substrings already looked up in the file (found or not): pypinyin keeps what it got

__all__ = ["Style", "lazy_pinyin", "load_phrases_within", "phrase_table", "pinyin"]


def phrase_table(path: str, wanted: Callable[[str], bool] = lambda phrase: True) -> dict[str, list[tuple[str, ...]]]:
    """The wanted phrases of pypinyin's phrase file as {phrase: [readings of each character]}, each distinct
    reading tuple stored once."""
    with open(path, encoding="utf-8") as file:
        text = file.read()
    decoder = json.JSONDecoder()
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    table: dict[str, list[tuple[str, ...]]] = {}
    for entry in _PHRASE.finditer(text):
        phrase = entry.group(1)
        if wanted(phrase):
            readings, _ = decoder.raw_decode(text, entry.end())
            table[phrase] = [shared.setdefault(key, tuple(sys.intern(s) for s in key))
                             for key in (tuple(r) for r in readings)]
    return table


def load_phrases_within(words: Iterable[str]) -> None:
    """Gives pypinyin the phrases of its table that occur inside `words` and were not looked up before."""
    inside = {word[start:end] for word in words for start in range(len(word) - 1)
              for end in range(start + 2, len(word) + 1)} - _ASKED
    if inside:
        _ASKED.update(inside)
        if found := phrase_table(PHRASES_FILE, inside.__contains__):
            load_phrases_dict(found)

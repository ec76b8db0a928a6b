"""pypinyin, loaded lean: the same readings in a third of the memory.

pypinyin decodes its 47,000-phrase table into fresh lists and strings for every syllable (about 35 MiB that
Python keeps for itself once freed) and copies its tables. Here its own loading is switched off and the same
JSON file is read one phrase at a time into shared syllable tuples (about 9 MiB), then handed to pypinyin's
public `load_phrases_dict`. Every module imports pypinyin from here, so the switches are set before its import.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")

import pypinyin
from pypinyin import Style, lazy_pinyin, load_phrases_dict, pinyin
from pypinyin.constants import PHRASES_DICT

# pypinyin.phrases_dict would decode the file on import: only its path is taken
PHRASES_FILE = os.path.join(os.path.dirname(pypinyin.__file__), "phrases_dict.json")

__all__ = ["Style", "lazy_pinyin", "pinyin", "phrase_table"]


def phrase_table(path: str) -> dict[str, list[tuple[str, ...]]]:
    """pypinyin's phrase file as {phrase: [readings of each character]}, each distinct reading tuple stored once."""
    with open(path, encoding="utf-8") as file:
        text = file.read()
    decoder = json.JSONDecoder()
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    table: dict[str, list[tuple[str, ...]]] = {}
    at = text.index("{") + 1
    while True:
        at = _skip(text, at, " \t\r\n,")
        if text[at] == "}":
            return table
        phrase, at = decoder.raw_decode(text, at)
        at = _skip(text, at, " \t\r\n:")
        readings, at = decoder.raw_decode(text, at)  # small and short-lived: the memory is used again at once
        table[phrase] = [shared.setdefault(key, tuple(sys.intern(s) for s in key))
                         for key in (tuple(r) for r in readings)]


def _skip(text: str, at: int, characters: str) -> int:
    while text[at] in characters:
        at += 1
    return at


if not PHRASES_DICT:  # pypinyin was not imported before us with its own table
    load_phrases_dict(phrase_table(PHRASES_FILE))

"""Triggers as residents type them (full-width ＃ and ／, a space after #, a colon after a tag), folded to one form."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Chinese input methods produce full-width forms of the characters a trigger is made of.
_FULL_WIDTH = str.maketrans("＃／０１２３４５６７８９", "#/0123456789")
_TAG_GAP = re.compile(r"#[ \t\u3000]+(?=[^\s#\d])")
_HASHES = re.compile(r"#{2,}")  # ＃＃随手拍: a key held down
_NO_WORDS = re.compile(r"[\s#＃:：,，.。!！?？、~～-]*")  # what is left of a tag typed twice or with its punctuation
_COMMAND_COLON = re.compile(r"^(/[A-Za-z]\w*(?:@\w+)?)\s*[:：]\s*")


def fold_triggers(text: str, hashtags: Iterable[str]) -> str:
    """The text with its hashtags and /command in the rules file's form: `＃随手拍：…` reads as `#随手拍 …`."""
    text = _HASHES.sub("#", _TAG_GAP.sub("#", text.translate(_FULL_WIDTH)))
    text = _COMMAND_COLON.sub(r"\1 ", text)
    for tag in hashtags:
        if tag in text:
            # a colon after the tag, or a closing # as on Weibo (#随手拍#)
            text = re.sub(re.escape(tag) + r"#?[ \t\u3000]*[:：,，]?[ \t\u3000]*", tag + " ", text).rstrip()
    return text


def strip_hashtags(text: str, hashtags: Iterable[str]) -> str:
    """The words without any of the given hashtags (the rules file's list)."""
    for tag in sorted(hashtags, key=len, reverse=True):
        text = text.replace(tag, " ")
    text = re.sub(r"[ \t\u3000]{2,}", " ", text).strip()
    return "" if _NO_WORDS.fullmatch(text) else text


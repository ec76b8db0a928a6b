"""A wish's public wording: personal data (names, phones, house numbers) found and taken out."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d(?:[\s-]?\d{4}){2}|0\d{2,3}-?\d{7,8})(?!\d)")
# Building, unit, floor, room and door numbers, in figures or as 3-2-501.
_HOUSE = re.compile(r"\d+\s*(?:号楼|栋|幢|单元|层|楼|室|号|户)|(?<!\d)\d{1,3}-\d{1,3}(?:-\d{1,4})?(?!\d)")
_SELF_NAMED = re.compile(r"(?:我叫|我是|本人|姓名[:：]?)\s*[\u4e00-\u9fff]{2,3}")
_SPACES = re.compile(r"\s{2,}")
_EDGES = " ，,。；;、"


def personal_data(text: str, names: Iterable[str] = ()) -> list[str]:
    """The pieces of `text` that identify a person: phone numbers, house numbers, the given names."""
    found = [m.group(0) for m in _PHONE.finditer(text)]
    found += [m.group(0) for m in _HOUSE.finditer(_PHONE.sub("", text))]
    found += [m.group(0) for m in _SELF_NAMED.finditer(text)]
    found += [name for name in names if name and len(name) >= 2 and name in text]
    return found


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """The text with every piece personal_data() finds taken out."""
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, "")
    text = _SELF_NAMED.sub("", _PHONE.sub("", text))
    text = _HOUSE.sub("", text)
    return _SPACES.sub(" ", text).strip(_EDGES)


def default_title(public_text: str, category: str | None) -> str:
    """A short public title: the first clause of the public text, or the category."""
    first = re.split(r"[，,。；;！!？?\n]", public_text, maxsplit=1)[0].strip(_EDGES)
    if len(first) >= 4:
        return first[:20]
    return category or "居民微心愿"

"""A case number as residents and staff type it (12, #12, 12号, ＃12 is folded before): the one definition."""

from __future__ import annotations

import re

# 号 after a number names a building, door or room when one of these follows (3号楼, 2号门, 5号院).
_PLACE_AFTER_HAO = "楼院门栋单元层室户床线路街巷口房车位"
# After a command word: "接单 12", "办结 #12 已修好", "办结 1号 已修好".
AFTER_COMMAND = rf"\s*#?\s*(\d{{1,9}})(?:\s*号(?![{_PLACE_AFTER_HAO}]))?"
# Words that name what follows as a case's number; 查询/查/进度 also ask for one (and are the status intent's cues).
_ID_WORDS = "编号|单号|工单号?|案件号?"
_ASKING_WORDS = "查询|查|进度"
_NOT_A_PLACE = rf"(?![\d.]|\s*号?[{_PLACE_AFTER_HAO}])"
_MARKED = re.compile(
    rf"#\s*(\d{{1,9}})(?!\d)|(\d{{1,9}})\s*号(?![{_PLACE_AFTER_HAO}])"
    rf"|(?:{_ID_WORDS}|{_ASKING_WORDS})\s*(\d{{1,9}}){_NOT_A_PLACE}"
)
# How strongly free text points at a case number, for the classifier: named (#12, 编号 12) or only numbered (12号).
NAMED = re.compile(rf"#\s*\d{{1,9}}|(?:{_ID_WORDS})\s*\d{{1,9}}")
NUMBERED = re.compile(rf"\d{{1,9}}\s*号(?![{_PLACE_AFTER_HAO}])")


def may_name_a_case(text: str) -> bool:
    """Whether NAMED or NUMBERED can match: every match holds 号 (NUMBERED, 编号, 单号, 工单号, 案件号), # or 工单/案件.
    Substring tests cost a fraction of those regexes, which test every position (3% of classifying a text)."""
    return "号" in text or "#" in text or "工单" in text or "案件" in text


_BARE = re.compile(rf"(?<![\d.])(\d{{1,9}})(?![\d.]|\s*号[{_PLACE_AFTER_HAO}]|\s*[{_PLACE_AFTER_HAO}])")
_ANY_FORM = re.compile(rf"#?\s*\d{{1,9}}(?:\s*号(?![{_PLACE_AFTER_HAO}]))?")


def case_number_in(text: str, *, bare: bool = False) -> int | None:
    """The case number a message names (#12, 12号, 查询 12); with `bare`, also a lone number (满意 12)."""
    match = _MARKED.search(text)
    if match:
        return int(next(g for g in match.groups() if g))
    if bare and (match := _BARE.search(text)):
        return int(match.group(1))
    return None


def without_case_number(text: str) -> str:
    """The text with its first case number taken out (what is left of 满意 #12 很及时 is the comment)."""
    return _ANY_FORM.sub(" ", text, count=1)

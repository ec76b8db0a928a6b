"""Natural times (明天下午, 下周二上午, 周三3点, 后天, 12月8日 …) read against today's date into a wanted window."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
WEEKDAY_NAMES = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6, "末": 5}
RELATIVE_DAYS = (("大后天", 3), ("后天", 2), ("明天", 1), ("明日", 1), ("明儿", 1), ("今天", 0), ("今日", 0),
                 ("今儿", 0), ("当天", 0))
# Parts of the day as residents say them, with the hours they mean (longest words first).
PARTS = (("上午", (time(6), time(12))), ("早上", (time(6), time(10))), ("早晨", (time(6), time(10))),
         ("一早", (time(6), time(10))), ("中午", (time(11), time(14))), ("下午", (time(12), time(18))),
         ("傍晚", (time(17), time(19))), ("晚上", (time(18), time(23))), ("晚", (time(18), time(23))),
         ("早", (time(6), time(12))))
PM_WORDS = ("下午", "傍晚", "晚上", "晚")
NUMBER = r"(?:\d{1,4}|[零〇一二两三四五六七八九十]{1,4})"
_WEEKDAY = re.compile(r"(下下|下个?|这个?|本|上个?)?(?:周|星期|礼拜)([一二三四五六日天七末])")
_FULL_DATE = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})")
_MONTH_DAY = re.compile(rf"({NUMBER})\s*月\s*({NUMBER})\s*[日号]?|(?<![\d.\-/])(\d{{1,2}})[\-/.](\d{{1,2}})(?![\d.:\-/])")
_DAY_ONLY = re.compile(rf"({NUMBER})\s*[日号](?![楼院栋单室房铺门线])(?!.*月)")
_CLOCK = re.compile(rf"({NUMBER})\s*(?:[点時时]|:|：)\s*(半|一刻|三刻|{NUMBER}\s*分?)?")


def chinese_number(text: str) -> int | None:
    """'12', '十二', '二十三', '两' as a number; None when it is not one."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(c not in DIGITS and c != "十" for c in text):
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        if "十" in ones:
            return None
        high = DIGITS.get(tens, -1) if tens else 1
        low = DIGITS.get(ones, -1) if ones else 0
        return None if high < 0 or low < 0 else high * 10 + low
    value = 0
    for c in text:
        value = value * 10 + DIGITS[c]
    return value


@dataclass(frozen=True, slots=True)
class Wish:
    """When a resident would like to come: a day and/or a window of the day (local times); empty when unsaid."""

    day: date | None = None
    start: time | None = None
    end: time | None = None

    @property
    def said_anything(self) -> bool:
        return self.day is not None or self.start is not None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _day(text: str, today: date) -> date | None:
    for word, offset in RELATIVE_DAYS:
        if word in text:
            return today + timedelta(days=offset)
    if match := _FULL_DATE.search(text):
        return _valid(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := _MONTH_DAY.search(text):
        month = chinese_number(match.group(1) or match.group(3) or "")
        day = chinese_number(match.group(2) or match.group(4) or "")
        if month is None or day is None:
            return None
        found = _valid(today.year, month, day)
        if found is not None and found < today:
            found = _valid(today.year + 1, month, day)  # 12月8日 said in late December means next year's
        return found
    if match := _WEEKDAY.search(text):
        prefix, name = match.group(1) or "", match.group(2)
        weekday = WEEKDAY_NAMES[name]
        monday = today - timedelta(days=today.weekday())
        if prefix.startswith("下下"):
            return monday + timedelta(days=14 + weekday)
        if prefix.startswith("下"):
            return monday + timedelta(days=7 + weekday)
        if prefix.startswith("上"):
            return None  # a past week: nothing to book
        if prefix:  # 这周三, 本周三: this week's, even if it has passed (then nothing is free that day)
            return monday + timedelta(days=weekday)
        ahead = (weekday - today.weekday()) % 7
        return today + timedelta(days=ahead)
    if match := _DAY_ONLY.search(text):
        day = chinese_number(match.group(1))
        if day is None:
            return None
        found = _valid(today.year, today.month, day)
        if found is None or found < today:
            month = today.month % 12 + 1
            found = _valid(today.year + (today.month == 12), month, day)
        return found
    return None


def _clock(text: str) -> tuple[time, time] | None:
    for match in _CLOCK.finditer(text):
        hour = chinese_number(match.group(1))
        if hour is None or hour > 24:
            continue
        minute = 0
        tail = (match.group(2) or "").strip()
        if tail == "半":
            minute = 30
        elif tail == "一刻":
            minute = 15
        elif tail == "三刻":
            minute = 45
        elif tail:
            minute = chinese_number(tail.rstrip("分").strip()) or 0
        if minute > 59:
            continue
        before = text[:match.start()]
        if any(word in before for word in PM_WORDS) and hour < 12:
            hour += 12
        elif 1 <= hour <= 7 and "早" not in before and "上午" not in before:
            hour += 12  # 周三3点: offices are shut at three in the night, so it is the afternoon
        if hour >= 24:
            continue
        return time(hour, minute), time(hour, minute)
    return None


def read_wish(text: str, today: date) -> Wish:
    """The day and window of the day a resident's words name; an empty wish when they name none."""
    text = text.strip()[:100]
    day = _day(text, today)
    window = _clock(_WEEKDAY.sub(" ", _DAY_ONLY.sub(" ", _MONTH_DAY.sub(" ", _FULL_DATE.sub(" ", text)))))
    if window is None:
        window = next((hours for word, hours in PARTS if word in text), None)
    start, end = window if window else (None, None)
    return Wish(day, start, end)

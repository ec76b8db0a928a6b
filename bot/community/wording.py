"""A wish's public wording: personal data (names, phones, house numbers) found and taken out."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d(?:[\s-]?\d{4}){2}|0\d{2,3}-?\d{7,8})(?!\d)")
# Building, unit, floor, room and door numbers (3号楼2单元501, 3-2-501, a bare room number such as 1502).
_HOUSE = re.compile(r"(?:\d+\s*(?:号楼|栋|幢|单元|层|楼|室|号|户|门)\s*)+\d*|(?<!\d)\d{1,3}-\d{1,3}(?:-\d{1,4})?(?!\d)"
                    r"|(?<![\d.])\d{3,4}(?![\d.]|年|元|块|小时|分|岁|米|斤|个|天|次|人)")
# The words that introduce a phone number or an address go with it.
_PHONE_LABELLED = re.compile(r"(?:(?:联系电话|电话|手机号?|联系方式)[:：]?\s*)?" + _PHONE.pattern)
_HOUSE_LABELLED = re.compile(r"(?:(?:家住|住在|住)\s*)?(?:" + _HOUSE.pattern + ")")
_PUNCT_RUN = re.compile(r"([，,。；;、])[，,。；;、\s]+")
# 253 of the commonest surnames (the top hundred alone are about 85% of China's people): after 我是 or 本人 a name
# starts with one; what else follows them says who the sender is (我是独居老人, 我是残疾人, 本人退休), not their name.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆"
            "汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜"
            "倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_SELF_NAMED = re.compile(r"(?:我叫|姓名[:：]?)\s*[\u4e00-\u9fff]{2,3}|"
                         rf"(?:我是|本人)\s*[{SURNAMES}](?!血压|血糖|龄|中生|三|一|二)[\u4e00-\u9fff]{{1,2}}")
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
    text = _SELF_NAMED.sub("", _PHONE_LABELLED.sub("", text))
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, "")
    text = _HOUSE_LABELLED.sub("", text)
    return _PUNCT_RUN.sub(r"\1", _SPACES.sub(" ", text)).strip(_EDGES)


def default_title(public_text: str, category: str | None) -> str:
    """A short public title: the first clause of the public text, or the category."""
    first = re.split(r"[，,。；;！!？?\n]", public_text, maxsplit=1)[0].strip(_EDGES)
    if len(first) >= 4:
        return first[:20]
    return category or "居民微心愿"

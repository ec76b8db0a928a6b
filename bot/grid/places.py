"""Roads, intersections and landmarks in a message, and the unit names (streets, communities) residents write.

Names are compared in `compact` form. How a message is read:
- Known names: every road and landmark the district file lists, with its aliases, and every street, community and
  district name and alias, found as substrings; where two overlap the longer wins (经二路街道 is the street, not
  the road 经二路; 石坝河游园 is the park, not the compound 石坝河).
- Road names follow the suffix rule: a road is its stem and one of 大道/大街/路/街/巷/道, and residents swap the
  suffix (秦川路 written 秦川大道 or 秦川街), so a stem of a known road followed by any road suffix is that road.
- Two different roads in one message are an intersection (姜谭路和清姜路十字路口, 姜谭路与清姜路交叉口,
  姜谭路清姜路口): the words between them (与/和/跟/、) and after (交叉口/十字/路口/交汇处) need not be there.
- A road-like word the district does not list (a stem of two to four characters and a suffix, followed by a place
  word such as 口/上/边/与/和) is reported back, so the resident is told which name was not found.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from models import PlaceKind

ROAD_SUFFIXES = ("大道", "大街", "路", "街", "巷", "道")
_SUFFIX = "|".join(ROAD_SUFFIXES)
# A stem of two to four characters that are not grammar or house words, a suffix, and a place word after it.
_ROAD_LIKE = re.compile(
    rf"([\u4e00-\u9fff]{{2,4}}?)(?:{_SUFFIX})(?=口|上|边|旁|附近|段|与|和|跟|、|交|十字|路灯|的|$|[^\u4e00-\u9fff])")
_NOT_A_STEM = set("的了在是我你他她它这那哪个家门口楼里有没都就还也很坏堵灯")
_NOT_A_ROAD = {"马路", "公路", "道路", "街道", "大街", "小路", "楼道", "通道", "过道", "巷道", "下水道", "人行道",
               "车道", "隧道", "走道", "步道", "街上", "一路"}
# 我家门口, 我们家楼下, 家门口, 俺家 …: the resident's own home as the place.
HOME_WORDS = re.compile(r"(?:我|俺|额|咱)(?:们)?家|家门口|家楼下|家楼上|家附近|我住的(?:楼|地方|小区)")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PlaceRef:
    """A road or landmark as the directory holds it: where its reports land, and a road's communities."""

    id: int
    kind: PlaceKind
    name: str
    aliases: tuple[str, ...]
    unit_id: int
    communities: tuple[int, ...]

    @property
    def stem(self) -> str:
        """The road's name without its suffix (秦川 for 秦川路); the name itself for a landmark."""
        if self.kind is PlaceKind.ROAD:
            for suffix in ROAD_SUFFIXES:
                if self.name.endswith(suffix) and len(self.name) - len(suffix) >= 2:
                    return self.name[: -len(suffix)]
        return self.name


@dataclass(frozen=True, slots=True)
class Spot:
    """A road, an intersection of two roads or a landmark that a message names."""

    places: tuple[PlaceRef, ...]
    words: str

    @property
    def label(self) -> str:
        if len(self.places) == 2:
            return f"{self.places[0].name}与{self.places[1].name}交叉口"
        return self.places[0].name

    def landing(self, community_id: int | None) -> int:
        """The unit its reports land at: a road's community (the resident's, given as `community_id`, or its only
        one), else its street; an intersection's shared community, else the roads' street, else the first's."""
        shared = set.intersection(*(set(p.communities) for p in self.places))
        if community_id is not None and community_id in shared:
            return community_id
        if len(shared) == 1:
            return next(iter(shared))
        return self.places[0].unit_id

    @property
    def key(self) -> str:
        """The same for every report of this spot: intersections in either order, ids not names."""
        return "place:" + "+".join(str(i) for i in sorted(p.id for p in self.places))


@dataclass(frozen=True, slots=True)
class Hit(Generic[T]):
    """A known name found in a message: where, the words, and what the name stands for."""

    start: int
    end: int
    words: str
    items: tuple[T, ...]

    def covers(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end and (self.end - self.start) > (end - start)


class NameIndex(Generic[T]):
    """Finds known names in a compacted message by their first two characters; longer names win overlaps."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        names: dict[str, list[T]] = defaultdict(list)
        for name, item in entries:
            if len(name) >= 2 and item not in names[name]:
                names[name].append(item)
        heads: dict[str, list[tuple[str, tuple[T, ...]]]] = defaultdict(list)
        for name, items in names.items():
            heads[name[:2]].append((name, tuple(items)))
        self._heads = {pair: sorted(found, key=lambda e: -len(e[0])) for pair, found in heads.items()}
        self._first = frozenset(pair[0] for pair in self._heads)

    def find(self, text: str) -> list[Hit[T]]:
        """Non-overlapping hits in text order, the longest name first where names overlap."""
        hits: list[Hit[T]] = []
        for ch in self._first.intersection(text):
            i = text.find(ch)
            while i >= 0:
                for name, items in self._heads.get(text[i:i + 2], ()):
                    if text.startswith(name, i):
                        hits.append(Hit(i, i + len(name), name, items))
                        break
                i = text.find(ch, i + 1)
        kept: list[Hit[T]] = []
        for hit in sorted(hits, key=lambda h: (-(h.end - h.start), h.start)):
            if all(hit.end <= k.start or k.end <= hit.start for k in kept):
                kept.append(hit)
        return sorted(kept, key=lambda h: h.start)


class PlaceIndex:
    """The district's roads and landmarks, for finding them in messages."""

    def __init__(self, places: Iterable[PlaceRef]) -> None:
        self.places = {p.id: p for p in places}
        entries: list[tuple[str, PlaceRef]] = []
        for place in self.places.values():
            entries += [(name, place) for name in dict.fromkeys((place.name, *place.aliases))]
            if place.kind is PlaceKind.ROAD and place.stem != place.name:
                entries += [(place.stem + suffix, place) for suffix in ROAD_SUFFIXES]
        self._names = NameIndex((compact_name(name), place) for name, place in entries)

    def __len__(self) -> int:
        return len(self.places)

    def find(self, text: str) -> list[Hit[PlaceRef]]:
        return self._names.find(text)

    @staticmethod
    def spot(hits: list[Hit[PlaceRef]]) -> Spot | None:
        """The spot the hits name: two different roads are an intersection, else the first road or landmark."""
        roads = [h for h in hits if h.items[0].kind is PlaceKind.ROAD]
        distinct: list[Hit[PlaceRef]] = []
        for hit in roads:
            if all(hit.items[0].id != d.items[0].id for d in distinct):
                distinct.append(hit)
        if len(distinct) >= 2:
            first, second = distinct[:2]
            return Spot((first.items[0], second.items[0]), f"{first.words}…{second.words}")
        if hits:
            return Spot((hits[0].items[0],), hits[0].words)
        return None


def unknown_road(text: str) -> str | None:
    """A road-like word in a compacted message (stem and suffix before a place word), for telling the resident
    which name was not found; None when there is none."""
    for match in _ROAD_LIKE.finditer(text):
        word, stem = match.group(0), match.group(1)
        if word in _NOT_A_ROAD or any(ch in _NOT_A_STEM for ch in stem) or stem[-1] in "大":
            continue
        return word
    return None


def compact_name(name: str) -> str:
    return "".join(name.lower().split())

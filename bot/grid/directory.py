"""The grid tree in memory: lookups by id, code and name, ancestry, and placing a message in the tree.

`GridDirectory` is a read model built once from the grid_unit table (reload it after loading a district).
Everything on the hot path is a dictionary lookup; names are indexed once at load.

How `locate` reads a message (after folding full-width ASCII, lower-casing and dropping whitespace):
- Building mentions: 3号楼, 3栋, 3幢, 3#楼, 3号栋, 三号楼, 十二号楼 (Chinese numerals 一…九十九, only with 号楼 because
  "三栋楼都停电了" counts buildings), and the address form 3-2-301 (building-entrance-room). 3号楼2单元 is
  building 3. A bare 2单元 is an entrance inside some building, so on its own it places nothing; 3楼 is a floor
  and 3号 a date, so neither is a building either.
- Compounds (grids): an exact name or alias anywhere in the district, longest first, ties broken in favour of
  the group's street; failing that, a fuzzy match (rapidfuzz partial_ratio >= 80: one wrong character in a
  name of five or more, or a dropped one in a name of four or more) only within the group's street, or the
  whole district when the message did not come from a group. Names of three characters match exactly only:
  two thirds of one is ordinary chatter (发电站 is not 发电厂).
- Then roads, intersections and landmarks (bot.grid.places), then street and community names: one rule in every
  chat. A district name alone places nothing (too vague: `unplaced` says why), nor do 我家门口 and the like
  without a registered home. A building number the compound does not have keeps the compound and is reported
  as `missing_building`, for the resident to be asked.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.grid.places import HOME_WORDS, Hit, NameIndex, PlaceIndex, PlaceRef, Spot, unknown_road
from models import GridPlace, GridUnit, UnitLevel

TEXT_BUILDING = "text_building"
TEXT_COMPOUND = "text_compound"
TEXT_PLACE = "text_place"  # a road, an intersection or a landmark
TEXT_UNIT = "text_unit"  # a street or community named in the text
VAGUE_DISTRICT, NO_HOME = "district", "home"
GROUP = "group"
HOME = "home"

FUZZY_MIN_CHARS = 4
FUZZY_SCORE = 80.0  # one substitution in a 5-character name scores 80; in a 4-character one, 75

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "一二三四五六七八九十"
_BUILDING_MENTION = re.compile(
    r"(?<!\d)(\d{1,3})(?:号楼|号栋|号幢|栋|幢|#楼)"
    rf"|(?<![{_CN}])([{_CN}]{{1,3}})(?:号楼|号栋|号幢)"
    r"|(?<![\d-])(\d{1,2})-\d{1,2}-\d{3,4}(?![\d-])"
)
_BUILDING_NAME = re.compile(rf"^(?:第)?(\d{{1,3}}|[{_CN}]{{1,3}})(?:号楼|号|栋|幢|#楼|#)?$")
_BUILDING_CODE = re.compile(r"-B(\d{1,3})$")


def chinese_number(word: str) -> int | None:
    """一 … 九十九 as an int; None for anything else."""
    if not word or len(word) > 3 or any(ch not in _CN for ch in word):
        return None
    if "十" not in word:
        return _CN_DIGITS[word] if len(word) == 1 else None
    tens, _, ones = word.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _number(word: str) -> int | None:
    return int(word) if word.isdigit() else chinese_number(word)


# Full-width ASCII (３号楼, ＃, ，) folded to ASCII; cheaper than NFKC on every message. split() drops U+3000.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH = re.compile("[\uff01-\uff5e]")
_MENTION_HINTS = ("号", "栋", "幢", "#", "-")


def compact(text: str) -> str:
    """The form names and messages are compared in: full-width ASCII folded, lower case, no whitespace."""
    if _FULL_WIDTH.search(text):
        text = text.translate(_HALF_WIDTH)
    return "".join(text.lower().split())


def building_mention(text: str) -> tuple[int, str] | None:
    """The first building number a compacted message names, with the words that name it."""
    if not any(hint in text for hint in _MENTION_HINTS):
        return None
    for match in _BUILDING_MENTION.finditer(text):
        digits, chinese, address = match.groups()
        number = int(digits or address) if (digits or address) else chinese_number(chinese)
        if number:
            return number, match.group(0)
    return None


@dataclass(frozen=True, slots=True)
class UnitRef:
    """An immutable copy of one grid unit, safe to share across requests."""

    id: int
    code: str
    name: str
    level: UnitLevel
    parent_id: int | None
    path: str
    aliases: tuple[str, ...]

    def contains(self, other: UnitRef) -> bool:
        """True when `other` is this unit or lies below it."""
        return other.path.startswith(self.path)


@dataclass(frozen=True)
class Location:
    """Where a message was placed and why: source is text_building, text_compound, text_place, text_unit, group
    or home."""

    unit: UnitRef
    source: str
    matched: str  # the words that placed it; empty for group and home
    spot: Spot | None = None
    missing_building: int | None = None  # a building number the text named that the compound does not have


@dataclass(frozen=True, slots=True)
class _Hit:
    """A compound found in a message: the unit, the words and where they stand, the length of the name."""

    unit: UnitRef
    words: str
    start: int
    end: int
    name_chars: int

    def overlaps(self, other: _Hit) -> bool:
        return self.start < other.end and other.start < self.end


class GridDirectory:
    """The whole grid tree, indexed for lookups by id, code, name and alias, and for locating messages."""

    def __init__(self, units: Iterable[UnitRef], places: Iterable[PlaceRef] = ()) -> None:
        self._by_id: dict[int, UnitRef] = {u.id: u for u in units}
        self.places = PlaceIndex(places)
        self._by_code: dict[str, UnitRef] = {}
        self._by_name: dict[str, list[UnitRef]] = defaultdict(list)
        self._children: dict[int, list[UnitRef]] = defaultdict(list)
        self._buildings: dict[tuple[int, int], UnitRef] = {}
        for unit in sorted(self._by_id.values(), key=lambda u: u.code):
            self._by_code[unit.code] = unit
            self._by_code.setdefault(unit.code.upper(), unit)
            for name in {compact(n) for n in (unit.name, *unit.aliases)}:
                self._by_name[name].append(unit)
            if unit.parent_id is not None:
                self._children[unit.parent_id].append(unit)
            if unit.level is UnitLevel.BUILDING and unit.parent_id is not None:
                number = self._building_number(unit)
                if number is not None:
                    self._buildings.setdefault((unit.parent_id, number), unit)
        self._ancestors = {u.id: self._chain(u) for u in self._by_id.values()}
        self._index_compounds()
        above_grid = (UnitLevel.DISTRICT, UnitLevel.STREET, UnitLevel.COMMUNITY)
        self._unit_names: NameIndex[UnitRef] = NameIndex(
            (compact(name), u) for u in self._by_id.values() if u.level in above_grid for name in (u.name, *u.aliases))

    @classmethod
    async def load(cls, session: AsyncSession) -> GridDirectory:
        """Reads every grid unit once."""
        rows = await session.execute(select(
            GridUnit.id, GridUnit.code, GridUnit.name, GridUnit.level, GridUnit.parent_id, GridUnit.path,
            GridUnit.aliases,
        ))
        places = await session.execute(select(
            GridPlace.id, GridPlace.kind, GridPlace.name, GridPlace.aliases, GridPlace.unit_id, GridPlace.communities))
        return cls(
            (UnitRef(r.id, r.code, r.name, UnitLevel(r.level), r.parent_id, r.path, tuple(r.aliases or ()))
             for r in rows),
            [PlaceRef(p.id, p.kind, p.name, tuple(p.aliases or ()), p.unit_id, tuple(p.communities or ()))
             for p in places],
        )

    def __len__(self) -> int:
        return len(self._by_id)

    @staticmethod
    def _building_number(unit: UnitRef) -> int | None:
        named = _BUILDING_NAME.match(compact(unit.name))
        if named:
            return _number(named.group(1))
        coded = _BUILDING_CODE.search(unit.code)
        return int(coded.group(1)) if coded else None

    def _chain(self, unit: UnitRef) -> tuple[UnitRef, ...]:
        ids = [int(part) for part in unit.path.strip("/").split("/") if part]
        chain = tuple(self._by_id[i] for i in ids if i in self._by_id)
        return chain if chain and chain[-1].id == unit.id else (*chain, unit)

    def _index_compounds(self) -> None:
        """Indexes grid names and aliases: by leading pair of characters (exact), by bigram (fuzzy)."""
        heads: dict[str, dict[str, list[UnitRef]]] = defaultdict(lambda: defaultdict(list))
        fuzzy: dict[tuple[str, int], UnitRef] = {}
        for unit in self._by_id.values():
            if unit.level is not UnitLevel.GRID:
                continue
            for name in {compact(n) for n in (unit.name, *unit.aliases)}:
                if len(name) >= 2:
                    heads[name[:2]][name].append(unit)
                if len(name) >= FUZZY_MIN_CHARS:
                    fuzzy[(name, unit.id)] = unit
        self._heads = {
            pair: sorted(((name, tuple(units)) for name, units in names.items()), key=lambda e: -len(e[0]))
            for pair, names in heads.items()
        }
        self._head_chars = frozenset(pair[0] for pair in self._heads)
        self._fuzzy = [(name, unit) for (name, _), unit in sorted(fuzzy.items(), key=lambda e: e[0])]
        postings: dict[str, list[int]] = defaultdict(list)
        grams = [{name[i:i + 2] for i in range(len(name) - 1)} for name, _ in self._fuzzy]
        for index, name_grams in enumerate(grams):
            for gram in name_grams:
                postings[gram].append(index)
        # Bigrams shared by many names (小区, 花园, 家属) select nothing; a name keeps its rarest one regardless.
        common = max(16, len(self._fuzzy) // 50)
        kept: dict[str, set[int]] = defaultdict(set)
        for index, name_grams in enumerate(grams):
            rare = [g for g in name_grams if len(postings[g]) <= common]
            for gram in rare or [min(name_grams, key=lambda g: len(postings[g]))]:
                kept[gram].add(index)
        self._grams = {gram: tuple(sorted(indexes)) for gram, indexes in kept.items()}
        self._gram_counts = [0] * len(self._fuzzy)
        for indexes in self._grams.values():
            for index in indexes:
                self._gram_counts[index] += 1

    # lookups

    def unit(self, unit_id: int) -> UnitRef:
        """The unit with this id; KeyError if there is none."""
        return self._by_id[unit_id]

    def units(self, level: UnitLevel | None = None) -> list[UnitRef]:
        """Every unit, or every unit of one level, in code order."""
        return sorted((u for u in self._by_id.values() if level is None or u.level is level), key=lambda u: u.code)

    def by_code(self, code: str) -> UnitRef | None:
        return self._by_code.get(code) or self._by_code.get(code.upper())

    def resolve(self, ref: str) -> UnitRef | None:
        """A unit by code, exact name or alias; an ambiguous name resolves only if one match is highest."""
        ref = ref.strip()
        unit = self.by_code(ref)
        if unit is not None:
            return unit
        units = self._by_name.get(compact(ref))
        if not units:
            return None
        top = min(u.level.depth for u in units)
        highest = [u for u in units if u.level.depth == top]
        return highest[0] if len(highest) == 1 else None

    def ancestors(self, unit: UnitRef) -> list[UnitRef]:
        """Root first, ending with the unit itself."""
        return list(self._ancestors.get(unit.id) or self._chain(unit))

    def ancestor_at(self, unit: UnitRef, level: UnitLevel) -> UnitRef | None:
        """The unit's ancestor (or itself) at a level; None when the unit sits above that level."""
        for ancestor in self._ancestors.get(unit.id) or self._chain(unit):
            if ancestor.level is level:
                return ancestor
        return None

    def children(self, unit: UnitRef) -> list[UnitRef]:
        """Direct children, ordered by code."""
        return list(self._children.get(unit.id, ()))

    def find_building(self, grid: UnitRef, number: int) -> UnitRef | None:
        return self._buildings.get((grid.id, number))

    # placing text

    def match_compound(self, text: str, within: UnitRef | None = None) -> tuple[UnitRef, str] | None:
        """The grid (compound) a message names, with the words that name it.

        Exact names and aliases count anywhere (`within` only breaks ties); fuzzy ones only inside `within`.
        """
        return self._match_compound(compact(text), within)

    def _match_compound(self, text: str, within: UnitRef | None) -> tuple[UnitRef, str] | None:
        exact = self._exact_compound(text, within)
        fuzzy = self._fuzzy_compound(text, within)
        # A misspelt long name beats a short exact alias inside it: 铁塔厂新材 is 铁塔厂新村, not 铁塔厂.
        if exact and not (fuzzy and fuzzy.name_chars > exact.name_chars and fuzzy.overlaps(exact)):
            return exact.unit, exact.words
        return (fuzzy.unit, fuzzy.words) if fuzzy else None

    def _exact_compound(self, text: str, within: UnitRef | None) -> _Hit | None:
        hits: list[tuple[int, str, tuple[UnitRef, ...]]] = []
        heads = self._heads
        for ch in self._head_chars.intersection(text):
            i = text.find(ch)
            while i >= 0:
                for name, units in heads.get(text[i:i + 2], ()):
                    if text.startswith(name, i):
                        hits.append((i, name, units))
                i = text.find(ch, i + 1)
        hits.sort(key=lambda hit: (-len(hit[1]), hit[0]))
        for i, name, units in hits:
            inside = [u for u in units if within.contains(u)] if within is not None else []
            chosen = inside or units
            if len(chosen) == 1:
                return _Hit(chosen[0], name, i, i + len(name), len(name))
        return None

    def _fuzzy_compound(self, text: str, within: UnitRef | None) -> _Hit | None:
        if len(text) < 2:
            return None
        shared: dict[int, int] = {}
        grams = self._grams
        for gram in {text[i:i + 2] for i in range(len(text) - 1)}:
            for index in grams.get(gram, ()):
                shared[index] = shared.get(index, 0) + 1
        best: tuple[float, int, str, UnitRef] | None = None
        for index, count in shared.items():
            name, unit = self._fuzzy[index]
            if count < min(2, self._gram_counts[index]):  # one common pair of characters is a coincidence
                continue
            if within is not None and not unit.path.startswith(within.path):
                continue
            # partial_ratio would align a short message inside a long name ("小区" in "幸福小区"): compare whole
            # strings when the message is the shorter one.
            scorer = fuzz.partial_ratio if len(text) >= len(name) else fuzz.ratio
            score = scorer(name, text, score_cutoff=FUZZY_SCORE)
            if score and (best is None or (score, len(name), -unit.id) > (best[0], best[1], -best[3].id)):
                best = (score, len(name), name, unit)
        if best is None:
            return None
        _, _, name, unit = best
        if len(text) < len(name):
            return _Hit(unit, text, 0, len(text), len(name))
        alignment = fuzz.partial_ratio_alignment(name, text)
        start, end = (alignment.dest_start, alignment.dest_end) if alignment else (0, len(text))
        return _Hit(unit, text[start:end], start, end, len(name))

    def locate(self, text: str, *, group_unit: UnitRef | None, home_unit: UnitRef | None) -> Location | None:
        """Places a message: a building or compound named in the text, a road, intersection or landmark, a street
        or community, the resident's home when the text says so, the group, the home."""
        words = compact(text)
        scope = self.ancestor_at(group_unit, UnitLevel.STREET) if group_unit is not None else None
        compound = self._match_compound(words, scope)
        places, units = self.places.find(words), self._unit_names.find(words)
        # 姜谭街道 is the street, not the road 姜谭街; 姜谭路 is the road, not the street 姜谭
        places = [p for p in places if not any(u.covers(p.start, p.end) for u in units)]
        units = [u for u in units if not any(p.covers(u.start, u.end) for p in places)]
        if compound is not None and (at := words.find(compound[1])) >= 0 and any(
                hit.covers(at, at + len(compound[1])) for hit in [*places, *units]):
            compound = None  # a longer road, landmark or community name holds the compound's words
        mention = building_mention(words)
        missing = None
        if mention is not None:
            grid = compound[0] if compound else self._known_grid(group_unit, home_unit)
            building = self.find_building(grid, mention[0]) if grid is not None else None
            if building is not None:
                matched = f"{compound[1]} {mention[1]}" if compound else mention[1]
                return Location(building, TEXT_BUILDING, matched)
            missing = mention[0]
        if compound is not None:
            return Location(compound[0], TEXT_COMPOUND, compound[1], missing_building=missing)
        spot = self.places.spot(places)
        if spot is not None:
            near = group_unit or home_unit
            mine = self.ancestor_at(near, UnitLevel.COMMUNITY) if near is not None else None
            return Location(self.unit(spot.landing(mine.id if mine else None)), TEXT_PLACE, spot.words, spot=spot)
        named = [hit for hit in units if hit.items[0].level is not UnitLevel.DISTRICT]
        if named:
            return Location(self._nearest(named[0], scope), TEXT_UNIT, named[0].words)
        if home_unit is not None and HOME_WORDS.search(words):
            return Location(home_unit, HOME, "")
        if group_unit is not None:
            return Location(group_unit, GROUP, "", missing_building=missing)
        if home_unit is not None:
            return Location(home_unit, HOME, "")
        return None

    def unplaced(self, text: str) -> str | None:
        """Why `locate` found nothing: the district alone (too vague), home words without a home, or the road-like
        word that is not in the district file; None when the text names no place at all."""
        words = compact(text)
        if HOME_WORDS.search(words):
            return NO_HOME
        if any(hit.items[0].level is UnitLevel.DISTRICT for hit in self._unit_names.find(words)):
            return VAGUE_DISTRICT
        return unknown_road(words)

    @staticmethod
    def _nearest(hit: Hit[UnitRef], scope: UnitRef | None) -> UnitRef:
        inside = [u for u in hit.items if scope is not None and scope.contains(u)]
        return (inside or sorted(hit.items, key=lambda u: (u.level.depth, u.code)))[0]

    def _known_grid(self, group_unit: UnitRef | None, home_unit: UnitRef | None) -> UnitRef | None:
        """The grid a bare building number refers to: the group's; in a private chat, the home grid."""
        if group_unit is not None:
            return self.ancestor_at(group_unit, UnitLevel.GRID)
        if home_unit is not None:
            return self.ancestor_at(home_unit, UnitLevel.GRID)
        return None

"""Finding keywords in normalised text three ways (exactly, fuzzily and by sound, each through one automaton) and
scoring the rules that own them.

Exact keywords go through one Aho-Corasick automaton, so the cost grows with the text, not the rule count.
Fuzzy candidates come from a second automaton over keyword pieces (with one wrong character in k+1 pieces,
one piece is intact) and are confirmed by rapidfuzz on a window the size of the keyword. Homophones go
through a third automaton over syllable codes: the text is read as one syllable per character.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Hashable, Iterable
from functools import reduce
from itertools import count, product
from operator import add, itemgetter, mul

from ahocorasick_rs import AhoCorasick
from rapidfuzz.fuzz import partial_ratio_alignment

from bot.understanding.pinyin import Style, lazy_pinyin, load_phrases_within
from bot.understanding.text import char_readings, normalize

FUZZY_MIN_CHARS = 4  # shorter keywords are too easy to hit by accident; pinyin covers their typos
FUZZY_CUTOFF = 75.0  # Indel partial ratio: one substituted character in 4-7 characters, two in 8+
FUZZY_FACTOR = 0.85  # a fuzzy match counts this share of its ratio
PINYIN_FACTOR = 0.8
PINYIN_MIN_CHARS_CUE = 3  # 2-character intent cues (坏了) have too many homophones (怀了) to match by sound
CONTAINED_FACTOR = 0.3  # a match inside a longer match of a rival category or intent counts this much
# A fuzzy match may not drop these: swapping 不 for 很 or 坏 for 好 turns a complaint into praise.
POLARITY_CHARS = frozenset("不没无未非别坏停漏堵断破")
NO_SYLLABLE = "\x00"  # the code of a character without a reading; no keyword contains it
MIN_CHARS = 2  # a single character ("好", "1", "?") is never evidence of anything
# Long texts (message-board posts, hotline work orders) are read differently from chat lines: their first
# sentence, usually a title or the gist, counts more; a rule's score saturates instead of growing with every
# repetition; courtesy phrases (您好, 谢谢, 望领导重视) are left out so they never decide the intent.
LONG_TEXT_CHARS = 40
HEAD_FACTOR = 1.5
HEAD_MAX_CHARS = 40
FULL_CONTRIBUTIONS = 3  # a rule's strongest matches counted in full; the n-th after them counts SATURATION**n
SATURATION = 0.5
COURTESY_MIN_REST = 8  # courtesy phrases are dropped only when this many characters remain without them
SENTENCE_END = re.compile(r"[。！？!?；;\n]")
# round(score, 4) goes through float-to-decimal conversion (~2,000 instructions, 3% of an 80-character text's);
# scores are sums of a few rule weights, so most recur (80-89% of the bench's texts' on their first pass).
_ROUNDED: dict[float, float] = {}
ROUNDED_KEPT = 1 << 16

# Characters a syllable reading has not yet been looked up for. Codes live in the BMP's private use area, which
# normalize() drops and which holds 6,400 codes (pypinyin has ~420 tone-less syllables): 3 bytes in the UTF-8
# the automaton reads and 2 in a Python string, where plane 15 took 4 and made every coded string 4 per character.
UNREAD = re.compile("[^\ue000-\uf8ff\x00]")
Hit = tuple[float, int, int]  # strength (1.0 exact), start, end in the normalised text
_NO_HIT: Hit = (0.0, 0, 0)
_UNREAD: dict[int, list[str]] = {}  # one mask per keyword length, shared (only ever read)


class Term:
    """One distinct normalised keyword and every rule (intent or category) that lists it."""

    __slots__ = ("buckets", "claimed", "contributions", "families", "head_contributions", "held", "key_chars", "owners",
                 "shorter", "size", "super_set", "supers", "syllables", "unread", "word")

    def __init__(self, word: str) -> None:
        self.word = word
        self.size = len(word)
        self.owners: list[tuple[int, float, str]] = []  # (bucket, weight, keyword as written)
        self.buckets: frozenset[int] = frozenset()
        self.contributions: tuple[tuple[float, int, str], ...] = ()  # the owners as (weight, bucket, as written)
        self.families: frozenset[bool] = frozenset()  # True: an intent owns it, False: a category does
        self.syllables: tuple[str, ...] = ()
        self.key_chars: frozenset[str] = frozenset()  # its rarest characters; a fuzzy match must keep one
        self.supers: tuple[Term, ...] = ()  # longer terms that contain this one
        self.shorter: tuple[Term, ...] = ()  # terms one character shorter that it contains
        self.super_set: frozenset[Term] = frozenset()
        # By each longer term: the contributions (plain, in a long text's head) when that one alone holds this one.
        self.held: dict[Term, tuple[tuple, tuple]] = {}
        # What an exact match masks from homophone search: the `claimed` positions up to its end (a one-character
        # keyword claims nothing).
        self.claimed = self.size if self.size >= 2 else 0
        self.unread = _UNREAD.setdefault(self.size, [NO_SYLLABLE] * self.size if self.size >= 2 else [])


class Automaton:
    """Every occurrence of a set of keys in a text, overlapping, by last position and the longest key first.

    Aho-Corasick in Rust (ahocorasick_rs): pyahocorasick, used before, looks through a node's children one by one,
    and the root of 2,000 Chinese keywords has 700, so a 400-character text cost it ~35 µs per automaton.
    """

    __slots__ = ("_search", "values")

    def __init__(self, entries: dict[str, object]) -> None:
        self.values = list(entries.values())
        self._search = AhoCorasick(list(entries)).find_matches_as_indexes

    def iter(self, text: str) -> list[tuple[int, object]]:
        """(last position, value) of every occurrence."""
        values = self.values
        return [(end - 1, values[key]) for key, _, end in self._search(text, overlapping=True)]

    def found(self, text: str) -> list[tuple[int, int, int]]:
        """(key number, start, end) of every occurrence; the value of a key number is in `values`."""
        return self._search(text, overlapping=True)


def automaton(entries: dict[str, object]) -> Automaton | None:
    """An Aho-Corasick automaton over the given keys, or None when there are none."""
    return Automaton(entries) if entries else None


class Scores:
    """One text's scores: intent cue totals, the categories that scored as (-score, rule) best first, and every
    keyword (as written) matched, sorted by rule and strongest first, until a caller asks for a rule's."""

    __slots__ = ("buckets", "ranking", "totals", "written")

    def __init__(self, totals: dict, ranking: list[tuple[float, int]], buckets: tuple[int, ...],
                 written: tuple[str, ...]) -> None:
        self.totals, self.ranking, self.buckets, self.written = totals, ranking, buckets, written

    def words(self, bucket: int) -> tuple[str, ...]:
        """The keywords (as written) a rule matched, strongest first."""
        first = bisect_left(self.buckets, bucket)
        return self.written[first:bisect_right(self.buckets, bucket, first)]


class KeywordIndex:
    """The three automata over a rule set's distinct keywords; immutable once built."""

    def __init__(self, terms: list[Term]) -> None:
        mark_key_chars(terms)
        self._by_word = {term.word: term for term in terms}
        self._exact = automaton(self._by_word)
        if self._exact is not None:
            for term in terms:
                for _, inner in self._exact.iter(term.word):
                    if inner is not term:
                        inner.supers += (term,)
                        if inner.size == term.size - 1:
                            term.shorter += (inner,)
            for term in terms:
                term.super_set = frozenset(term.supers)
        pieces: dict[str, list[tuple[Term, int, str, int, str, int]]] = {}
        self._codes: dict[int, str] = {ord(c): NO_SYLLABLE for c in map(chr, range(0x80))}
        self._syllable_codes: dict[str, str] = {}
        sounds: dict[str, list[Term]] = {}
        load_phrases_within(term.word for term in terms)  # how lazy_pinyin reads 行 in 银行 and in 行驶
        for term in terms:
            only_cue = False not in term.families
            # Intent cues are short function phrases where one changed character changes the meaning (能不能帮/修).
            if term.size >= FUZZY_MIN_CHARS and not only_cue:
                spare = fuzzy_spare(term.size)
                for offset, piece in split_pieces(term.word, 1 if term.size < 8 else 2):
                    # A piece holding a key character keeps one in every window around it: nothing to check.
                    keys = "" if not term.key_chars.isdisjoint(piece) else "".join(sorted(term.key_chars))
                    others = term.word[:offset] + term.word[offset + len(piece):]
                    pieces.setdefault(piece, []).append((term, offset + len(piece), keys, term.size, others, spare))
            if term.size >= (PINYIN_MIN_CHARS_CUE if only_cue else 2) and all(char_readings(c) for c in term.word):
                term.syllables = tuple(lazy_pinyin(term.word, style=Style.NORMAL))
                if len(term.syllables) == term.size:
                    for key in self._sound_keys(term):
                        sounds.setdefault(key, []).append(term)
        self._pieces = automaton(pieces)
        self._sounds = automaton(sounds)

    def _code(self, syllable: str) -> str:
        """A one-character code for a syllable, from the private use area."""
        code = self._syllable_codes.get(syllable)
        if code is None:
            code = chr(0xE000 + len(self._syllable_codes))
            if code > "\uf8ff":
                raise ValueError("more syllables than the private use area holds")
            self._syllable_codes[syllable] = code
        return code

    def _sound_keys(self, term: Term) -> set[str]:
        """The term's syllables as codes, each position also under its character's main reading (行: hang, xing)."""
        options = [{self._code(syllable), self._code(char_readings(char)[0])}
                   for syllable, char in zip(term.syllables, term.word, strict=True)]
        return {"".join(key) for key in product(*options)}

    def read(self, norm: str) -> str:
        """The text as syllable codes, one per character (its main reading); NO_SYLLABLE where there is none."""
        table = self._codes
        coded = norm.translate(table)
        unread = UNREAD.findall(coded)
        if unread:  # characters met for the first time: learn them once, then translate again
            for char in unread:
                readings = char_readings(char)
                table[ord(char)] = self._syllable_codes.get(readings[0], NO_SYLLABLE) if readings else NO_SYLLABLE
            coded = norm.translate(table)
        return coded

    def find(self, norm: str) -> tuple[dict[Term, int], dict[Term, Hit]]:
        """Every keyword found: exact ones with the last position of their first occurrence, in the order they
        first end; then fuzzy and homophone ones with their strength and span, in the order they were found."""
        exact: dict[Term, int] = {}
        codes = self.read(norm) if self._sounds is not None else None
        if self._exact is not None:
            terms = self._exact.values
            found = self._exact.found(norm)
            if codes is None:
                for key, _, end in found:
                    term = terms[key]
                    if term not in exact:
                        exact[term] = end - 1
            elif found:
                # Characters an exact keyword already claims are not read again as a homophone of another: in
                # 5号楼电梯坏了 the 电 of 电梯坏 is not also the 电 of 漏电 (楼电 sounds like 漏电). So the first
                # occurrence of each is read as NO_SYLLABLE, which no sound key holds: one pass of the automaton
                # over the text finds only matches lying wholly in stretches no exact keyword covers. Masked in
                # the same pass that collects the keywords: one Python loop over them, not two.
                masked = list(codes)
                for key, _, end in found:
                    term = terms[key]
                    if term not in exact:
                        exact[term] = end - 1
                        masked[end - term.claimed:end] = term.unread
                codes = "".join(masked)
        inexact: dict[Term, Hit] = {}
        if self._pieces is not None and len(norm) >= FUZZY_MIN_CHARS:
            self._find_fuzzy(norm, exact, inexact)
        if codes is not None:
            self._find_sounds(norm, codes, exact, inexact)
        return exact, inexact

    def _find_fuzzy(self, norm: str, exact: dict[Term, int], inexact: dict[Term, Hit]) -> None:
        """Long keywords with one wrong, missing or extra character (two in 8+), around an intact piece."""
        length = len(norm)
        tried: set[tuple[Term, int]] = set()
        entries_of = self._pieces.values
        for key, _, stop in self._pieces.found(norm):
            for term, piece_end, keys, size, others, spare in entries_of[key]:
                if term in exact or term in inexact or size > length:
                    continue
                start = stop - piece_end
                left = start - 1 if start else 0
                around = norm[left:start + size + 1]
                if keys:  # `in` per character: frozenset.isdisjoint(str) makes a string of every character
                    for char in keys:
                        if char in around:
                            break
                    else:
                        continue
                # Most windows lack too many of the keyword's characters to be a typo of it (70 of 78 candidates
                # in 400-character texts): that costs a few `in` tests, where rapidfuzz costs ~1.2 us. Not when the
                # window is cut to the keyword's size at the text's end: rapidfuzz then also aligns parts of the
                # keyword with the whole window (去广场跳舞 for 广场舞比赛), which that test does not bound.
                if len(around) > size and lacks_too_many(others, spare, around) or (term, start) in tried:
                    continue
                tried.add((term, start))
                # Text holding 居住证 exactly is about 居住证, not a misspelt 居住证明.
                if term.shorter and any(other in exact for other in term.shorter):
                    continue
                found = partial_ratio_alignment(term.word, around, score_cutoff=FUZZY_CUTOFF)
                # Windows cut short at either end of the text match a keyword's prefix (电动车 for 电动车上楼):
                # only full-length windows count.
                if found is None or found.dest_end - found.dest_start != term.size:
                    continue
                window = norm[left + found.dest_start:left + found.dest_end]
                if window == term.word or term.key_chars.isdisjoint(window) \
                        or any(c in POLARITY_CHARS and c not in window for c in term.word):
                    continue
                inexact[term] = (FUZZY_FACTOR * found.score / 100.0, left + found.dest_start, left + found.dest_end)

    def _find_sounds(self, norm: str, codes: str, exact: dict[Term, int], inexact: dict[Term, Hit]) -> None:
        """Keywords spelled with homophones: same syllables, at least half the characters identical. `codes` is
        the text as read(), with what exact keywords claim masked."""
        by_word = self._by_word
        for end, terms in self._sounds.iter(codes):
            for term in terms:
                if term in exact or inexact.get(term, _NO_HIT)[0] >= PINYIN_FACTOR:
                    continue
                start = end + 1 - term.size
                window = norm[start:start + term.size]
                same = sum(a == b for a, b in zip(window, term.word, strict=True))
                if same == term.size or 2 * same < term.size:
                    continue
                # As with fuzzy matching: text holding 电梯 exactly followed by 都 is not a misspelt 电梯抖.
                if held_exactly(by_word.get(window[:-1]), exact) or held_exactly(by_word.get(window[1:]), exact):
                    continue
                inexact[term] = (PINYIN_FACTOR, start, start + term.size)



class Scorer:
    """Scores texts against numbered rules, intents first (numbered below len(intents)), then categories;
    immutable once built."""

    def __init__(self, keywords: Iterable[tuple[int, str, float]], negatives: Iterable[tuple[int, str]],
                 courtesy: Iterable[str], intents: tuple[Hashable, ...], tie_order: tuple[Hashable, ...]) -> None:
        """keywords: (rule, keyword as written, weight); negatives: (category rule, keyword as written) vetoing
        it; intents: each intent rule's key in Scores.totals, whose keys are tie_order's, in that order."""
        self._intents, self._tie_order = intents, tie_order
        self._first_category = len(intents)
        vetoes: dict[str, list[int]] = {}
        for bucket, written in negatives:
            if word := normalize(written):
                vetoes.setdefault(word, []).append(bucket)
        self._vetoes = automaton({word: tuple(buckets) for word, buckets in vetoes.items()})
        self._courtesy = tuple(sorted({w for w in map(normalize, courtesy) if w}, key=len, reverse=True))
        self._any_courtesy = automaton(dict.fromkeys(self._courtesy))
        terms = self._collect_terms(keywords)
        self.keyword_count = len(terms)
        # The longest span a match can have: a keyword plus the extra characters a fuzzy match may take.
        self._longest = max((term.size for term in terms), default=0) + 2
        self._index = KeywordIndex(terms)
        per_rule = Counter(bucket for term in terms for bucket, _, _ in term.owners)
        most = max(per_rule.values(), default=0)
        # The factor of a rule's n-th strongest contribution (the same powers of two the rule states).
        self._saturated = tuple(1.0 if n < FULL_CONTRIBUTIONS else SATURATION ** (n + 1 - FULL_CONTRIBUTIONS)
                                for n in range(most))

    def _collect_terms(self, keywords: Iterable[tuple[int, str, float]]) -> list[Term]:
        """Distinct normalised keywords with their owners; keywords that normalise to nothing are skipped."""
        by_word: dict[str, Term] = {}
        for bucket, written, weight in keywords:
            word = normalize(written)
            if word:
                by_word.setdefault(word, Term(word)).owners.append((bucket, weight, written))
        for term in by_word.values():
            term.buckets = frozenset(b for b, _, _ in term.owners)
            term.families = frozenset(b < self._first_category for b in term.buckets)
            term.contributions = tuple((weight, bucket, written) for bucket, weight, written in term.owners)
            term.head_contributions = tuple((weight * HEAD_FACTOR, bucket, written) for weight, bucket, written
                                            in term.contributions)
        return list(by_word.values())

    def score(self, norm: str) -> Scores:
        """Intent cue totals, and the categories that scored, best first (file order on ties)."""
        totals = dict.fromkeys(self._tie_order, 0.0)
        if len(norm) >= LONG_TEXT_CHARS:
            norm = self._without_courtesy(norm)
        if len(norm) < MIN_CHARS:
            return Scores(totals, [], (), ())
        contributions = self._contributions(norm)
        if not contributions:
            return Scores(totals, [], (), ())
        contributions.sort(key=itemgetter(0), reverse=True)  # stable: equal values keep their order
        contributions.sort(key=itemgetter(1))  # stable: each rule's contributions stay strongest first
        values, buckets, written = zip(*contributions, strict=True)
        vetoed = {bucket for _, buckets in self._vetoes.iter(norm) for bucket in buckets} if self._vetoes else ()
        first_category, intents, saturated = self._first_category, self._intents, self._saturated
        ranking: list[tuple[float, int]] = []
        at = 0
        # Each rule (ascending) with the end of its run of contributions: a dict keeps a key's first place and its
        # last value, all in C (Counter costs a Python-level __init__ per text).
        for bucket, end in dict(zip(buckets, count(1))).items():
            if end - at == 1:
                score = values[at]
            else:  # added one by one, strongest first, as the saturation rule reads: the same float sum every time
                score = reduce(add, map(mul, values[at:end], saturated))
            at = end
            if bucket < first_category:
                totals[intents[bucket]] = score
            elif bucket not in vetoed:
                shown = _ROUNDED.get(score)
                if shown is None:
                    if len(_ROUNDED) >= ROUNDED_KEPT:
                        _ROUNDED.clear()
                    shown = _ROUNDED[score] = round(score, 4)
                ranking.append((-shown, bucket))
        ranking.sort()
        return Scores(totals, ranking, buckets, written)

    def _contributions(self, norm: str) -> list[tuple[float, int, str]]:
        """Every (weight, rule, keyword as written) the text earns: scaled by match strength, by place (a long
        text's first sentence counts more) and by containment in a longer match."""
        exact, inexact = self._index.find(norm)
        head = head_length(norm)
        # Positions inside an inexact match: an exact match elsewhere cannot be held by one, and an exact match
        # can only be held by an exact match of a longer keyword containing it, so most skip holders().
        inside = None
        if inexact:
            inside = bytearray(len(norm) + 1)
            for _, start, end in inexact.values():
                inside[start:end] = b"\x01" * (end - start)
        contributions: list[tuple[float, int, str]] = []
        by_start = found = None
        for term, last in exact.items():
            start = last - term.size + 1
            if inside is not None and inside[start]:
                if by_start is None:
                    by_start = spans_by_start(exact, inexact, self._longest, len(norm))
                others = holders(term, start, last + 1, by_start, self._longest)
            elif term.supers:
                if found is None:
                    found = set(exact)  # so that & runs in C over the smaller side (a short term has many supers)
                others = [other for other in term.super_set & found
                          if exact[other] >= last and exact[other] - other.size < start]
                if len(others) == 1:
                    held = term.held.get(others[0])
                    if held is None:  # worked out once per pair met, not for every pair at build (memory, GC)
                        held = term.held[others[0]] = (contained(term, 1.0, others, self._first_category),
                                                       contained(term, HEAD_FACTOR, others, self._first_category))
                    contributions += held[start < head]
                    continue
            else:
                others = None
            if others:
                contributions += contained(term, HEAD_FACTOR if start < head else 1.0, others, self._first_category)
            elif start < head:
                contributions += term.head_contributions
            else:
                contributions += term.contributions
        for term, (strength, start, end) in inexact.items():
            if by_start is None:
                by_start = spans_by_start(exact, inexact, self._longest, len(norm))
            others = holders(term, start, end, by_start, self._longest)
            scale = strength * (HEAD_FACTOR if start < head else 1.0)
            if others:
                contributions += contained(term, scale, others, self._first_category)
            else:
                contributions.extend((weight * scale, bucket, written) for weight, bucket, written in term.contributions)
        return contributions

    def _without_courtesy(self, norm: str) -> str:
        """The text without greetings and sign-offs, unless little else is left."""
        if self._any_courtesy is None or not self._any_courtesy.found(norm):  # most texts have none: one pass
            return norm
        stripped = norm
        for phrase in self._courtesy:
            if phrase in stripped:
                stripped = stripped.replace(phrase, " ")
        return stripped if len(stripped.replace(" ", "")) >= COURTESY_MIN_REST else norm


def head_length(norm: str) -> int:
    """How many leading characters of a long text form its title or first sentence; 0 for a short text."""
    if len(norm) < LONG_TEXT_CHARS:
        return 0
    end = SENTENCE_END.search(norm, 4)
    return min(end.start() if end else HEAD_MAX_CHARS, HEAD_MAX_CHARS)


def held_exactly(term: Term | None, exact: dict[Term, int]) -> bool:
    """Whether a keyword of two or more characters was found exactly."""
    return term is not None and term.size >= 2 and term in exact


def fuzzy_spare(size: int) -> int:
    """How many of a keyword's characters a window of its size may lack and still reach FUZZY_CUTOFF: the Indel
    ratio of two strings of that size is 100 * (longest common subsequence) / size."""
    return int(size * (100.0 - FUZZY_CUTOFF) / 100.0 + 1e-9)


def lacks_too_many(others: str, spare: int, around: str) -> bool:
    """Whether more than `spare` of the characters `others` (a keyword but for its intact piece) are missing
    from `around`, so that no window in it can reach FUZZY_CUTOFF (each character absent from `around` is
    absent from every window, and a common subsequence holds each of its characters)."""
    for char in others:
        if char not in around:
            if not spare:
                return True
            spare -= 1
    return False


def split_pieces(word: str, errors: int) -> list[tuple[int, str]]:
    """The word cut into errors + 1 near-equal pieces with their offsets: one survives `errors` substitutions."""
    count = errors + 1
    bounds = [round(i * len(word) / count) for i in range(count + 1)]
    return [(bounds[i], word[bounds[i]:bounds[i + 1]]) for i in range(count)]


def mark_key_chars(terms: list[Term]) -> None:
    """Records each term's rarest characters across all terms: 困 in 困在电梯, not the common 电梯."""
    frequency: dict[str, int] = {}
    for term in terms:
        for char in set(term.word):
            frequency[char] = frequency.get(char, 0) + 1
    for term in terms:
        rarest = min(frequency[char] for char in term.word)
        term.key_chars = frozenset(char for char in term.word if frequency[char] == rarest)


def spans_by_start(exact: dict[Term, int], inexact: dict[Term, Hit], longest: int,
                   length: int) -> dict[int, list[tuple[Term, int]]]:
    """The matches holders() can be asked about, by first position, with their end: every inexact match, and the
    exact ones starting at most `longest` characters before an inexact one (holders are only sought for an
    inexact match or a match inside one)."""
    near = bytearray(length + 1)
    for _, start, end in inexact.values():
        near[max(0, start - longest):end] = b"\x01" * (end - max(0, start - longest))
    by_start: dict[int, list[tuple[Term, int]]] = {}
    for term, last in exact.items():
        start = last - term.size + 1
        if near[start]:
            by_start.setdefault(start, []).append((term, last + 1))
    for term, (_, start, end) in inexact.items():
        by_start.setdefault(start, []).append((term, end))
    return by_start


def holders(term: Term, start: int, end: int, by_start: dict[int, list[tuple[Term, int]]], longest: int) -> list[Term]:
    """The found matches that hold this one: a longer span around it, starting at most `longest` characters
    before its end (no match is longer), so only a few positions are looked at whatever the text's length."""
    size = end - start
    held = []
    for other_start in range(max(0, end - longest), start + 1):
        for other, other_end in by_start.get(other_start, ()):
            if other is not term and end <= other_end and other_end - other_start > size:
                held.append(other)
    return held


def contained(term: Term, scale: float, holding: list[Term], first_category: int) -> tuple[tuple[float, int, str], ...]:
    """A match's (weight, rule, keyword as written) inside longer matches: each owner's weight times `scale` and
    containment() (rules numbered below `first_category` are intents)."""
    found = []
    for bucket, weight, written in term.owners:
        factor = containment(bucket, bucket < first_category, holding)
        if factor > 0:
            found.append((weight * scale * factor, bucket, written))
    return tuple(found)


def containment(bucket: int, is_intent: bool, holding: list[Term]) -> float:
    """How much a match counts inside longer matches: nothing inside its own rule's, less inside a rival's.

    Rivals are of the same family only: an intent cue inside a category keyword (不亮 in 路灯不亮) still counts.
    """
    factor = 1.0
    for other in holding:
        if bucket in other.buckets:
            return 0.0
        if is_intent in other.families:
            factor = CONTAINED_FACTOR
    return factor

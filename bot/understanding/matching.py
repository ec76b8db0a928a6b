"""Finding keywords in normalised text three ways (exactly, fuzzily and by sound) and scoring the rules owning them.

One Aho-Corasick automaton finds every exact keyword, so the cost grows with the text, not the rule count; in the
same pass it finds the pieces of long keywords (with one wrong character in k+1 pieces, one piece is intact),
fuzzy candidates confirmed by rapidfuzz on a window the size of the keyword, and negative keywords. Homophones go
through a second automaton over syllable codes: the text is read as one syllable per character.

setup.py compiles this module with Cython (C types in matching.pxd); it runs as plain Python too.
"""

from __future__ import annotations

import re
import sys
from array import array
from bisect import bisect_left, bisect_right
from codecs import utf_16_be_decode, utf_16_be_encode, utf_16_le_decode, utf_16_le_encode
from collections import Counter
from collections.abc import Hashable, Iterable
from functools import reduce
from itertools import product
from operator import add, itemgetter, mul

from ahocorasick_rs import AhoCorasick
from rapidfuzz.fuzz import partial_ratio_alignment

try:
    import cython
except ImportError:  # only compiling this module needs Cython (bot/understanding/compiled.py)
    from bot.understanding import cython_stub as cython

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
# round(value, 4) goes through float-to-decimal conversion (~2,000 instructions, 3% of an 80-character text's);
# scores are sums of a few rule weights, so most recur (80-89% of the bench's texts' on their first pass), and so
# do the confidences worked out from them (see rounded()).
_ROUNDED: dict[float, float] = {}
ROUNDED_KEPT = 1 << 16

# Characters a syllable reading has not yet been looked up for. Codes live in the BMP's private use area, which
# normalize() drops and which holds 6,400 codes (pypinyin has ~420 tone-less syllables): 3 bytes in the UTF-8
# the automaton reads and 2 in a Python string, where plane 15 took 4 and made every coded string 4 per character.
UNREAD = re.compile("[^\ue000-\uf8ff\x00]")
Hit = tuple[float, int, int]  # strength (1.0 exact), start, end in the normalised text
_NO_HIT: Hit = (0.0, 0, 0)
# array("H") of UTF-16 code units to text and back, in the machine's byte order (called directly: bytes.decode
# looks "utf-16-le" up in the codec registry and calls a Python function).
units_text, text_units = ((utf_16_le_decode, utf_16_le_encode) if sys.byteorder == "little"
                          else (utf_16_be_decode, utf_16_be_encode))
UNREAD_UNIT = 0xFFFF  # a character whose reading is not looked up yet (codes are U+0000 and U+E000-U+F8FF)
_UNREAD: dict[int, array] = {}  # one mask per keyword length, shared (only ever read)


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
        self.unread = _UNREAD.setdefault(self.claimed, array("H", [ord(NO_SYLLABLE)] * self.claimed))


class Piece:
    """A piece of a long keyword, for fuzzy matching: where it ends in the keyword, and what a window around a match
    of it must hold to be worth rapidfuzz."""

    __slots__ = ("end", "keys", "others", "spare", "term")

    def __init__(self, term: Term, end: int, keys: str, others: str, spare: int) -> None:
        self.term, self.end = term, end
        self.keys = keys  # the keyword's key characters, one of which the window needs ("" when the piece has one)
        self.others = others  # the keyword's characters outside the piece, at most `spare` of them missing
        self.spare = spare


class Automaton:
    """Every occurrence of a set of keys in a text, overlapping, by last position and the longest key first.

    Aho-Corasick in Rust (ahocorasick_rs): pyahocorasick, used before, looks through a node's children one by one,
    and the root of 2,000 Chinese keywords has 700, so a 400-character text cost it ~35 µs per automaton.
    Compiled, CharAutomaton finds the same occurrences in C.
    """

    __slots__ = ("_chars", "_search", "values")

    def __init__(self, entries: dict[str, object]) -> None:
        self.values = list(entries.values())
        self._chars = self._search = None
        if cython.compiled:
            try:
                self._chars = CharAutomaton(list(entries))
            except ValueError:  # more keys or characters than its tables take: ahocorasick_rs takes them
                pass
        if self._chars is None:
            self._search = AhoCorasick(list(entries)).find_matches_as_indexes

    def found(self, text: str) -> list[tuple[int, int, int]]:
        """(key number, start, end) of every occurrence; the value of a key number is in `values`."""
        if self._chars is not None:
            return self._chars.found(text)
        return self._search(text, True)  # overlapping; passed by keyword, it costs a quarter of a short search


class CharAutomaton:
    """What ahocorasick_rs finds (find_matches_as_indexes(text, overlapping=True)), found in C by the compiled
    module: one step per character (the Rust automaton takes one per UTF-8 byte, three for Chinese), and no text
    converted or lock released and taken again per call. Too slow in plain Python, which does not build it.

    Its tables are kept small, for the caches: a character's symbol (1, 2, ...; 0: in no key) is looked up in
    an array over the BMP characters from the lowest to the highest any key holds. States are numbered as the trie
    grows, the root 0, each with four numbers side by side in `states`: its failure state, the key ending there
    (-1: none), the next state on its failure chain where a key ends (0: none) and its depth. A transition from
    the root is looked up in an array by symbol, any other in an open-addressing table of (state * stride +
    symbol) << 24 | target state. Fewer than 2**16 symbols, 2**24 states and 2**39 keys of that table (checked;
    ValueError otherwise) keep the tables' numbers and the hash within their types.
    """

    __slots__ = ("_astral", "_low", "_mask", "_root", "_slots", "_states", "_stride", "_symbols")

    def __init__(self, keys: list[str]) -> None:
        symbols: dict[str, int] = {}  # each character of a key, numbered from 1 (0: in no key)
        for key in keys:
            for char in key:
                symbols.setdefault(char, len(symbols) + 1)
        if len(symbols) >= 0xFFFF:
            raise ValueError("too many characters for one automaton")
        self._stride = len(symbols) + 1
        codes = [ord(char) for char in symbols if ord(char) <= 0xFFFF] or [0]
        self._low = min(codes)
        table = array("H", bytes(2 * (max(codes) - self._low + 1)))
        self._astral: dict[int, int] = {}  # characters outside the BMP
        for char, symbol in symbols.items():
            if ord(char) <= 0xFFFF:
                table[ord(char) - self._low] = symbol
            else:
                self._astral[ord(char)] = symbol
        self._symbols = table
        children: list[dict[int, int]] = [{}]
        out, depth = [-1], [0]
        for number, key in enumerate(keys):
            if not key:
                raise ValueError("an automaton's keys cannot be empty")  # as ahocorasick_rs
            state = 0
            for char in key:
                nxt = children[state].get(symbols[char])
                if nxt is None:
                    nxt = children[state][symbols[char]] = len(children)
                    children.append({})
                    out.append(-1)
                    depth.append(depth[state] + 1)
                state = nxt
            out[state] = number
        if len(children) >= 1 << 24 or len(children) * self._stride >= 1 << 39:
            raise ValueError("too many keys for one automaton")
        # Failure states (the longest proper suffix that is a state) and output links, breadth first, so that a
        # state's are set before its children need them.
        fail, link = [0] * len(children), [0] * len(children)
        queue = list(children[0].values())
        for state in queue:
            for symbol, child in children[state].items():
                suffix = fail[state]
                while suffix and symbol not in children[suffix]:
                    suffix = fail[suffix]
                target = children[suffix].get(symbol, 0) if state else 0
                fail[child] = target
                link[child] = target if out[target] >= 0 else link[target]
                queue.append(child)
        self._states = array("i", [number for state in range(len(children))
                                   for number in (fail[state], out[state], link[state], depth[state])])
        root = array("i", bytes(4 * self._stride))
        for symbol, child in children[0].items():
            root[symbol] = child
        self._root = root
        edges = [(state * self._stride + symbol, child) for state in range(1, len(children))
                 for symbol, child in children[state].items()]
        size = 2
        while 3 * size < 4 * len(edges):  # filled at most to three quarters
            size *= 2
        self._mask = size - 1
        slots = array("q", [-1]) * size
        for wanted, child in edges:
            at = wanted * 40503 >> 8 & self._mask
            while slots[at] != -1:
                at = at + 1 & self._mask
            slots[at] = wanted << 24 | child
        self._slots = slots

    def found(self, text: str) -> list[tuple[int, int, int]]:
        """(key number, start, end) of every occurrence, by end and the longest key first."""
        found = []
        symbols, low, astral, stride, mask = self._symbols, self._low, self._astral, self._stride, self._mask
        slots, root, states = self._slots, self._root, self._states
        high = low + len(symbols) - 1
        state = 0
        for end, char in enumerate(text, 1):
            if low <= ord(char) <= high:
                symbol = symbols[ord(char) - low]
            else:
                symbol = astral.get(ord(char), 0) if ord(char) > 0xFFFF else 0
            if symbol == 0:  # in no key: back to the root
                state = 0
                continue
            while state:  # follow failure states until one has a transition on the symbol
                wanted = state * stride + symbol
                at = wanted * 40503 >> 8 & mask
                while slots[at] != -1 and slots[at] >> 24 != wanted:
                    at = at + 1 & mask
                if slots[at] != -1:
                    state = slots[at] & 0xFFFFFF
                    break
                state = states[4 * state]
            else:
                state = root[symbol]
            match = state if states[4 * state + 1] >= 0 else states[4 * state + 2]
            while match:
                found.append((states[4 * match + 1], end - states[4 * match + 3], end))
                match = states[4 * match + 2]
        return found


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
    """The automata over a rule set's distinct keywords and negative keywords; immutable once built."""

    def __init__(self, terms: list[Term], negatives: dict[str, tuple[int, ...]]) -> None:
        """negatives: the categories (rule numbers) each normalised negative keyword vetoes."""
        mark_key_chars(terms)
        self._by_word = {term.word: term for term in terms}
        pieces: dict[str, list[Piece]] = {}
        self._codes: dict[int, str] = {ord(c): NO_SYLLABLE for c in map(chr, range(0x80))}
        self._units = array("H", [ord(NO_SYLLABLE)] * 0x80 + [UNREAD_UNIT] * (0x10000 - 0x80))
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
                    pieces.setdefault(piece, []).append(Piece(term, offset + len(piece), keys, others, spare))
            if term.size >= (PINYIN_MIN_CHARS_CUE if only_cue else 2) and all(char_readings(c) for c in term.word):
                term.syllables = tuple(lazy_pinyin(term.word, style=Style.NORMAL))
                if len(term.syllables) == term.size:
                    for key in self._sound_keys(term):
                        sounds.setdefault(key, []).append(term)
        # Keywords, their fuzzy pieces and negative keywords are read from the same text: one automaton finds them
        # all in one pass, each key numbering its keyword, pieces and vetoes in the three lists.
        keys = list(dict.fromkeys([*self._by_word, *pieces, *negatives]))
        self._terms_of = [self._by_word.get(key) for key in keys]
        self._pieces_of = [tuple(pieces.get(key, ())) for key in keys]
        self._vetoes_of = [negatives.get(key, ()) for key in keys]
        self._words = automaton(dict.fromkeys(keys))
        if self._words is not None:
            for term in terms:
                for key, _, _ in self._words.found(term.word):
                    inner = self._terms_of[key]
                    if inner is not None and inner is not term:
                        inner.supers += (term,)
                        if inner.size == term.size - 1:
                            term.shorter += (inner,)
            for term in terms:
                term.super_set = frozenset(term.supers)
        self._fuzzy = bool(pieces)
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

    def read(self, norm: str) -> array:
        """The text as syllable codes, one per character (its main reading; NO_SYLLABLE where there is none), as
        UTF-16 code units: all codes lie in the BMP."""
        if cython.compiled:  # one C loop over the characters, the BMP's codes in an array
            units = array("H", bytes(2 * len(norm)))
            out, table, unread = units, self._units, UNREAD_UNIT
            for at, char in enumerate(norm):
                unit = table[ord(char)] if ord(char) <= 0xFFFF else unread
                if unit == unread:
                    unit = ord(self._learn(char))
                out[at] = unit
        else:
            coded = norm.translate(self._codes)
            unread = UNREAD.findall(coded)
            if unread:  # characters met for the first time: learn them once, then translate again
                for char in unread:
                    self._learn(char)
                coded = norm.translate(self._codes)
            units = array("H", text_units(coded)[0])
        return units

    def _learn(self, char: str) -> str:
        """The code of a character's main reading, looked up once and kept in both tables."""
        readings = char_readings(char)
        code = self._syllable_codes.get(readings[0], NO_SYLLABLE) if readings else NO_SYLLABLE
        self._codes[ord(char)] = code
        if ord(char) <= 0xFFFF:
            self._units[ord(char)] = ord(code)
        return code

    def find(self, norm: str) -> tuple[dict[Term, int], dict[Term, Hit], set[int]]:
        """Every keyword found: exact ones with the last position of their first occurrence, in the order they
        first end; then fuzzy and homophone ones with their strength and span, in the order they were found;
        then the categories a negative keyword vetoes."""
        exact: dict[Term, int] = {}
        inexact: dict[Term, Hit] = {}
        if self._words is None:
            return exact, inexact, set()
        found = self._words.found(norm)
        terms = self._terms_of
        units = self.read(norm) if self._sounds is not None else None
        if units is None:
            for key, _, end in found:
                term = terms[key]
                if term is not None and term not in exact:
                    exact[term] = end - 1
        else:
            # Characters an exact keyword already claims are not read again as a homophone of another: in
            # 5号楼电梯坏了 the 电 of 电梯坏 is not also the 电 of 漏电 (楼电 sounds like 漏电). So the first
            # occurrence of each is read as NO_SYLLABLE, which no sound key holds: one pass of the automaton
            # over the text finds only matches lying wholly in stretches no exact keyword covers. Masked in
            # the same pass that collects the keywords: one loop over them, not two.
            masked = units
            for key, _, end in found:
                term = terms[key]
                if term is not None and term not in exact:
                    exact[term] = end - 1
                    if cython.compiled:  # a C loop: a memoryview copy costs more than these few characters
                        for at in range(end - term.claimed, end):
                            masked[at] = 0
                    else:
                        masked[end - term.claimed:end] = term.unread
        if self._fuzzy and len(norm) >= FUZZY_MIN_CHARS:
            self._find_fuzzy(norm, found, exact, inexact)
        if units is not None:
            self._find_sounds(norm, units_text(units)[0], exact, inexact)
        vetoes = self._vetoes_of
        return exact, inexact, {bucket for key, _, _ in found for bucket in vetoes[key]}

    def _find_fuzzy(self, norm: str, found: list[tuple[int, int, int]], exact: dict[Term, int],
                    inexact: dict[Term, Hit]) -> None:
        """Long keywords with one wrong, missing or extra character (two in 8+), around an intact piece."""
        length = len(norm)
        tried: set[tuple[Term, int]] = set()
        entries_of = self._pieces_of
        for key, _, stop in found:
            for piece in entries_of[key]:
                term, size = piece.term, piece.term.size
                if term in exact or term in inexact or size > length:
                    continue
                start = stop - piece.end
                left = start - 1 if start else 0
                around = norm[left:start + size + 1]
                if piece.keys:  # `in` per character: frozenset.isdisjoint(str) makes a string of every character
                    for char in piece.keys:
                        if char in around:
                            break
                    else:
                        continue
                # Most windows lack too many of the keyword's characters to be a typo of it (70 of 78 candidates
                # in 400-character texts): that costs a few `in` tests, where rapidfuzz costs ~1.2 us. Not when the
                # window is cut to the keyword's size at the text's end: rapidfuzz then also aligns parts of the
                # keyword with the whole window (去广场跳舞 for 广场舞比赛), which that test does not bound.
                if len(around) > size and lacks_too_many(piece.others, piece.spare, around) or (term, start) in tried:
                    continue
                tried.add((term, start))
                # Text holding 居住证 exactly is about 居住证, not a misspelt 居住证明.
                if term.shorter and any(other in exact for other in term.shorter):
                    continue
                aligned = partial_ratio_alignment(term.word, around, score_cutoff=FUZZY_CUTOFF)
                # Windows cut short at either end of the text match a keyword's prefix (电动车 for 电动车上楼):
                # only full-length windows count.
                if aligned is None or aligned.dest_end - aligned.dest_start != term.size:
                    continue
                window = norm[left + aligned.dest_start:left + aligned.dest_end]
                if window == term.word or term.key_chars.isdisjoint(window) \
                        or any(c in POLARITY_CHARS and c not in window for c in term.word):
                    continue
                inexact[term] = (FUZZY_FACTOR * aligned.score / 100.0, left + aligned.dest_start,
                                 left + aligned.dest_end)

    def _find_sounds(self, norm: str, codes: str, exact: dict[Term, int], inexact: dict[Term, Hit]) -> None:
        """Keywords spelled with homophones: same syllables, at least half the characters identical. `codes` is
        the text as read(), with what exact keywords claim masked."""
        by_word, terms_of = self._by_word, self._sounds.values
        for key, _, stop in self._sounds.found(codes):
            for term in terms_of[key]:
                if term in exact or inexact.get(term, _NO_HIT)[0] >= PINYIN_FACTOR:
                    continue
                start, word = stop - term.size, term.word
                same = 0
                for at in range(term.size):
                    if norm[start + at] == word[at]:
                        same += 1
                if same == term.size or 2 * same < term.size:
                    continue
                window = norm[start:stop]
                # As with fuzzy matching: text holding 电梯 exactly followed by 都 is not a misspelt 电梯抖.
                if held_exactly(by_word.get(window[:-1]), exact) or held_exactly(by_word.get(window[1:]), exact):
                    continue
                inexact[term] = (PINYIN_FACTOR, start, stop)



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
        self._courtesy = tuple(sorted({w for w in map(normalize, courtesy) if w}, key=len, reverse=True))
        self._any_courtesy = automaton(dict.fromkeys(self._courtesy))
        terms = self._collect_terms(keywords)
        self.keyword_count = len(terms)
        # The longest span a match can have: a keyword plus the extra characters a fuzzy match may take.
        self._longest = max((term.size for term in terms), default=0) + 2
        self._index = KeywordIndex(terms, {word: tuple(buckets) for word, buckets in vetoes.items()})
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
        exact, inexact, vetoed = self._index.find(norm)
        contributions = self._contributions(norm, exact, inexact)
        if not contributions:
            return Scores(totals, [], (), ())
        contributions.sort(key=itemgetter(0), reverse=True)  # stable: equal values keep their order
        contributions.sort(key=itemgetter(1))  # stable: each rule's contributions stay strongest first
        values, buckets, written = zip(*contributions, strict=True)
        first_category, intents, saturated = self._first_category, self._intents, self._saturated
        ranking: list[tuple[float, int]] = []
        at, runs_end = 0, len(buckets)
        while at < runs_end:  # each rule (ascending) with its run of contributions, values[at:end]
            bucket = buckets[at]
            end = at + 1
            while end < runs_end and buckets[end] == bucket:
                end += 1
            if end - at == 1:
                score = values[at]
            elif cython.compiled:  # the same additions in the same order, in C
                total = values[at]
                for n in range(at + 1, end):
                    total += values[n] * saturated[n - at]
                score = total
            else:  # added one by one, strongest first, as the saturation rule reads: the same float sum every time
                score = reduce(add, map(mul, values[at:end], saturated))
            at = end
            if bucket < first_category:
                totals[intents[bucket]] = score
            elif bucket not in vetoed:
                ranking.append((-rounded(score), bucket))
        ranking.sort()
        return Scores(totals, ranking, buckets, written)

    def _contributions(self, norm: str, exact: dict[Term, int],
                       inexact: dict[Term, Hit]) -> list[tuple[float, int, str]]:
        """Every (weight, rule, keyword as written) the text earns: scaled by match strength, by place (a long
        text's first sentence counts more) and by containment in a longer match."""
        head = head_length(norm)
        # Positions inside an inexact match: an exact match elsewhere cannot be held by one, and an exact match
        # can only be held by an exact match of a longer keyword containing it, so most skip holders().
        inside = None
        if inexact:
            inside = bytearray(len(norm) + 1)
            for _, start, end in inexact.values():
                inside[start:end] = b"\x01" * (end - start)
        contributions: list[tuple[float, int, str]] = []
        by_start = None
        for term, last in exact.items():
            start = last - term.size + 1
            if inside is not None and inside[start]:
                if by_start is None:
                    by_start = spans_by_start(exact, inexact, self._longest, len(norm))
                others = holders(term, start, last + 1, by_start, self._longest)
            elif term.supers:
                # Through the smaller side: a short keyword can have hundreds of longer ones (20,000 keywords).
                supers = term.supers if len(term.supers) <= len(exact) \
                    else [other for other in exact if other in term.super_set]
                others = [other for other in supers
                          if other in exact and exact[other] >= last and exact[other] - other.size < start]
                if len(others) == 1:
                    held = term.held.get(others[0])
                    if held is None:  # worked out once per pair met, not for every pair at build (memory, GC)
                        held = term.held[others[0]] = (contained(term, 1.0, others, self._first_category),
                                                       contained(term, HEAD_FACTOR, others, self._first_category))
                    contributions.extend(held[start < head])
                    continue
            else:
                others = None
            if others:
                scale = HEAD_FACTOR if start < head else 1.0
                contributions.extend(contained(term, scale, others, self._first_category))
            elif start < head:
                contributions.extend(term.head_contributions)
            else:
                contributions.extend(term.contributions)
        for term, (strength, start, end) in inexact.items():
            if by_start is None:
                by_start = spans_by_start(exact, inexact, self._longest, len(norm))
            others = holders(term, start, end, by_start, self._longest)
            scale = strength * (HEAD_FACTOR if start < head else 1.0)
            if others:
                contributions.extend(contained(term, scale, others, self._first_category))
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


def rounded(value: float) -> float:
    """round(value, 4), remembered (at most ROUNDED_KEPT values)."""
    shown = _ROUNDED.get(value)
    if shown is None:
        if len(_ROUNDED) >= ROUNDED_KEPT:
            _ROUNDED.clear()
        shown = _ROUNDED[value] = round(value, 4)
    return shown


def head_length(norm: str) -> int:
    """How many leading characters of a long text form its title or first sentence; 0 for a short text."""
    if len(norm) < LONG_TEXT_CHARS:
        return 0
    end = SENTENCE_END.search(norm, 4, HEAD_MAX_CHARS)
    return end.start() if end else HEAD_MAX_CHARS


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

"""Fuzzy keyword classifier: a resident's message to an intent and a case category, with a confidence.

Keywords match three ways, strongest first: exactly (after normalisation), fuzzily (one wrong character in a
keyword of 4+ characters, rapidfuzz Indel partial ratio), and by tone-less pinyin (homophone typos such as
路等 for 路灯). Category scores are weighted sums of matched keywords; a category's negative keyword vetoes it.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import reduce
from itertools import count
from operator import add, itemgetter, mul
from pathlib import Path
from typing import NamedTuple

from bot.cases import numbers as case_numbers
from bot.understanding.matching import (
    KeywordIndex,
    Scores,
    Term,
    automaton,
    contained,
    holders,
    spans_by_start,
)
from bot.understanding.rules import (
    CASE_KINDS,
    CHATTER,
    INTENT_NAMES,
    Category,
    RulesError,
    RuleSet,
    load_rules,
)
from bot.understanding.text import char_readings, normalize

__all__ = ["CategoryMatch", "Classification", "Classifier", "Intent", "ReloadingClassifier", "char_readings",
           "normalize"]


class Intent(StrEnum):
    REPORT = "report"
    WISH = "wish"
    APPOINTMENT = "appointment"
    STATUS = "status"
    RATING = "rating"
    HELP = "help"
    CANCEL = "cancel"
    CHATTER = "not_for_bot"


CASE_INTENTS = (Intent.REPORT, Intent.WISH, Intent.APPOINTMENT)
# Equal totals go to the first intent here: a conversational reply beats a new case, chatter beats a case
# (a wrong case annoys a whole group), a report beats a wish.
TIE_ORDER = (Intent.STATUS, Intent.CANCEL, Intent.RATING, Intent.CHATTER, Intent.REPORT, Intent.APPOINTMENT,
             Intent.WISH, Intent.HELP)

MIN_CHARS = 2  # a single character ("好", "1", "?") is never evidence of anything
MIN_CASE_SCORE = 2.0  # cues + best category a message needs to be anything but chatter (see config/rules.yaml)
# Long texts (message-board posts, hotline work orders) are read differently from chat lines: their first
# sentence, usually a title or the gist, counts more; a rule's score saturates instead of growing with every
# repetition; courtesy phrases (您好, 谢谢, 望领导重视) are left out so they never decide the intent.
LONG_TEXT_CHARS = 40
HEAD_FACTOR = 1.5
HEAD_MAX_CHARS = 40
FULL_CONTRIBUTIONS = 3  # a rule's strongest matches counted in full; the n-th after them counts SATURATION**n
SATURATION = 0.5
SUGGESTIONS = 3  # categories kept as candidates, best first
COURTESY_MIN_REST = 8  # courtesy phrases are dropped only when this many characters remain without them
SENTENCE_END = re.compile(r"[。！？!?；;\n]")
# round(score, 4) goes through float-to-decimal conversion (~2,000 instructions, 3% of an 80-character text's);
# scores are sums of a few rule weights, so most recur (80-89% of the bench's texts' on their first pass).
_ROUNDED: dict[float, float] = {}
ROUNDED_KEPT = 1 << 16
COMMAND = re.compile(r"^/([a-z][a-z0-9_]*)(?:@[a-z0-9_]+)?(?![a-z0-9_@])\s*")

class CategoryMatch(NamedTuple):
    """A category a message scored for, with the keywords (as written) that matched it, strongest first."""

    category: Category
    score: float
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    """What a message is. For report/wish/appointment the confidence is that of the category (0 when none)."""

    intent: Intent
    category: Category | None
    confidence: float
    keywords: tuple[str, ...]
    candidates: tuple[CategoryMatch, ...]

    def as_dict(self) -> dict:
        """A JSON-ready summary for case records and staff views."""
        category = {"code": self.category.code, "name": self.category.name} if self.category else None
        return {"intent": self.intent.value, "category": category, "confidence": round(self.confidence, 2),
                "keywords": list(self.keywords)}


class Classifier:
    """Classifies messages against one RuleSet; immutable once built, safe to share."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._intents = tuple(Intent(name) for name in (*INTENT_NAMES, CHATTER) if name in rules.intents)
        self._categories = rules.categories
        self._first_category = len(self._intents)
        self._commands = {cmd: Intent(name) for name, rule in rules.intents.items() for cmd in rule.commands}
        self._hashtags = sorted(((tag, Intent(name)) for name, rule in rules.intents.items() for tag in rule.hashtags),
                                key=lambda item: -len(item[0]))
        self.hashtags = tuple(tag for tag, _ in self._hashtags)  # every intent's hashtags, longest first
        vetoes: dict[str, list[int]] = {}
        for index, category in enumerate(self._categories, self._first_category):
            for word in filter(None, map(normalize, category.negative)):
                vetoes.setdefault(word, []).append(index)
        self._vetoes = automaton({word: tuple(buckets) for word, buckets in vetoes.items()})
        self._courtesy = tuple(sorted({w for w in map(normalize, rules.courtesy) if w}, key=len, reverse=True))
        self._any_courtesy = automaton(dict.fromkeys(self._courtesy))
        terms = self._collect_terms()
        self.keyword_count = len(terms)
        # The longest span a match can have: a keyword plus the extra characters a fuzzy match may take.
        self._longest = max((term.size for term in terms), default=0) + 2
        self._index = KeywordIndex(terms)
        self._kinds = [()] * self._first_category + [tuple(i for i in CASE_INTENTS if i.value in c.kinds)
                                                      for c in self._categories]
        self._kinds_ruled = len({intent for kinds in self._kinds for intent in kinds})  # kinds some category has
        per_rule = Counter(bucket for term in terms for bucket, _, _ in term.owners)
        most = max(per_rule.values(), default=0)
        # The factor of a rule's n-th strongest contribution (the same powers of two the rule states).
        self._saturated = tuple(1.0 if n < FULL_CONTRIBUTIONS else SATURATION ** (n + 1 - FULL_CONTRIBUTIONS)
                                for n in range(most))

    def _collect_terms(self) -> list[Term]:
        """Distinct normalised keywords with their owners; keywords that normalise to nothing are skipped."""
        by_word: dict[str, Term] = {}
        sources: list[tuple[int, Iterable]] = [(i, self.rules.intents[intent.value].keywords)
                                              for i, intent in enumerate(self._intents)]
        sources += [(i, c.keywords) for i, c in enumerate(self._categories, self._first_category)]
        for bucket, keywords in sources:
            for keyword in keywords:
                word = normalize(keyword.word)
                if word:
                    by_word.setdefault(word, Term(word)).owners.append((bucket, keyword.weight, keyword.word))
        for term in by_word.values():
            term.buckets = frozenset(b for b, _, _ in term.owners)
            term.families = frozenset(b < self._first_category for b in term.buckets)
            term.contributions = tuple((weight, bucket, written) for bucket, weight, written in term.owners)
            term.head_contributions = tuple((weight * HEAD_FACTOR, bucket, written) for weight, bucket, written
                                            in term.contributions)
        return list(by_word.values())

    # --- public API -------------------------------------------------------------------------------------

    def classify(self, text: str) -> Classification:
        """The intent of a message and, for reports, wishes and appointments, its category."""
        norm = normalize(text if isinstance(text, str) else str(text or ""))
        command = COMMAND.match(norm)
        if command:
            return self._by_command(command.group(1), norm[command.end():])
        for tag, intent in self._hashtags:
            if tag in norm:
                return self._by_trigger(intent, norm.replace(tag, " "))
        return self._by_keywords(norm)

    def categorize(self, text: str, kind: str) -> Classification:
        """The best category of a given case kind for a message the conversation already knows the kind of."""
        if kind not in CASE_KINDS:
            raise ValueError(f"not a case kind: {kind!r}")
        norm = normalize(text if isinstance(text, str) else str(text or ""))
        command = COMMAND.match(norm)
        if command:
            norm = norm[command.end():]
        for tag, _ in self._hashtags:
            norm = norm.replace(tag, " ")
        return self._by_trigger(Intent(kind), norm)

    # --- decisions --------------------------------------------------------------------------------------

    def _by_command(self, name: str, rest: str) -> Classification:
        """A /command fixes the intent; unknown commands get help; text after a case command is categorised."""
        intent = self._commands.get("/" + name)
        if intent is None:
            return Classification(Intent.HELP, None, 0.5, (), ())
        return self._by_trigger(intent, rest)

    def _by_trigger(self, intent: Intent, norm: str) -> Classification:
        """The intent is given (command, hashtag or conversation); only the category is scored."""
        if intent not in CASE_INTENTS:
            return Classification(intent, None, 1.0, (), ())
        ranked = self._ranked(self._score(norm.strip()), intent.value)
        if not ranked:
            return Classification(intent, None, 0.0, (), ())
        best = ranked[0]
        return Classification(intent, best.category, category_confidence(ranked), best.keywords, tuple(ranked))

    def _by_keywords(self, norm: str) -> Classification:
        """Free text: intent cues and category scores decide together."""
        scores = self._score(norm)
        totals = scores.totals
        if case_numbers.may_name_a_case(norm):
            if case_numbers.NAMED.search(norm):
                totals[Intent.STATUS] += 2.5
            elif case_numbers.NUMBERED.search(norm):
                totals[Intent.STATUS] += 1.0
        for intent, best in self._best_by_kind(scores.ranking).items():
            totals[intent] += best
        intent = max(totals, key=totals.__getitem__)  # the first of TIE_ORDER among equal totals
        best_total = totals[intent]
        if intent is Intent.CHATTER or best_total < MIN_CASE_SCORE:
            evidence = max(t for i, t in totals.items() if i is not Intent.CHATTER)
            return Classification(Intent.CHATTER, None, round(math.exp(-evidence / 2.5), 4), (),
                                  tuple(self._ranked(scores, None)))
        cues = scores.words(self._intents.index(intent)) if intent in self._intents else ()
        if intent not in CASE_INTENTS:
            rival = max(t for i, t in totals.items() if i is not intent)
            return Classification(intent, None, intent_confidence(best_total, rival), cues, ())
        ranked = self._ranked(scores, intent.value)
        if not ranked:
            return Classification(intent, None, 0.0, cues, ())
        confidence = min(category_confidence(ranked), 1.0 - math.exp(-best_total / 2.5))
        best = ranked[0]
        keywords = tuple(dict.fromkeys(best.keywords + cues))
        return Classification(intent, best.category, round(confidence, 4), keywords, tuple(ranked))

    def _best_by_kind(self, ranking: list[tuple[float, int]]) -> dict[Intent, float]:
        """The best category score of each case kind that has one."""
        best: dict[Intent, float] = {}
        for negative_score, bucket in ranking:
            for intent in self._kinds[bucket]:
                if intent not in best:
                    best[intent] = -negative_score
            if len(best) == self._kinds_ruled:
                break
        return best

    def _ranked(self, scores: Scores, kind: str | None) -> list[CategoryMatch]:
        """The best SUGGESTIONS categories of a case kind (of any kind with None), best first."""
        ranked: list[CategoryMatch] = []
        first_category = self._first_category
        for negative_score, bucket in scores.ranking:
            category = self._categories[bucket - first_category]
            if kind is None or kind in category.kinds:
                ranked.append(CategoryMatch(category, -negative_score, scores.words(bucket)))
                if len(ranked) == SUGGESTIONS:
                    break
        return ranked

    # --- matching ---------------------------------------------------------------------------------------

    def _score(self, norm: str) -> Scores:
        """Intent cue totals, and the categories that scored, best first (file order on ties)."""
        totals = dict.fromkeys(TIE_ORDER, 0.0)
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


def category_confidence(ranked: list[CategoryMatch]) -> float:
    """High for a strong single match, at most half the strength when the top two tie."""
    best = ranked[0].score
    second = ranked[1].score if len(ranked) > 1 else 0.0
    strength = 1.0 - math.exp(-best / 0.8)
    return round(strength * (0.5 + 0.5 * (best - second) / best), 4)


def intent_confidence(best: float, second: float) -> float:
    """High for strong cues with no rival intent."""
    strength = 1.0 - math.exp(-best / 1.5)
    return round(strength * (0.5 + 0.5 * (best - second) / best), 4) if best > 0 else 0.0


class ReloadingClassifier:
    """Holds the current Classifier; reloads the YAML when its mtime changes; an invalid new file keeps the old rules and records the error."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stamp = self._file_stamp()
        self._classifier = Classifier(load_rules(self.path))
        self.last_error: str | None = None

    def current(self) -> Classifier:
        """The classifier for the file as it is now; a failed reload is not retried until the file changes."""
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._classifier = Classifier(load_rules(self.path))
                self.last_error = None
            except RulesError as exc:
                self.last_error = str(exc)
        return self._classifier

    def _file_stamp(self) -> tuple[int, int] | None:
        """Modification time and size, or None when the file cannot be seen."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

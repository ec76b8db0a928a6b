"""Fuzzy keyword classifier: a resident's message to an intent and a case category, with a confidence.

Keywords match three ways, strongest first: exactly (after normalisation), fuzzily (one wrong character in a
keyword of 4+ characters, rapidfuzz Indel partial ratio), and by tone-less pinyin (homophone typos such as
路等 for 路灯). Category scores are weighted sums of matched keywords; a category's negative keyword vetoes it.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import NamedTuple

from bot.cases import numbers as case_numbers
from bot.understanding.matching import Scorer, Scores, rounded
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

MIN_CASE_SCORE = 2.0  # cues + best category a message needs to be anything but chatter (see config/rules.yaml)
SUGGESTIONS = 3  # categories kept as candidates, best first
COMMAND = re.compile(r"^/([a-z][a-z0-9_]*)(?:@[a-z0-9_]+)?(?![a-z0-9_@])\s*")

class CategoryMatch(NamedTuple):
    """A category a message scored for, with the keywords (as written) that matched it, strongest first."""

    category: Category
    score: float
    keywords: tuple[str, ...]


# A CategoryMatch made without NamedTuple's generated __new__, a Python function: the same tuple, made in C.
category_match = partial(tuple.__new__, CategoryMatch)


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
        first_category = len(self._intents)
        keywords = [(bucket, keyword.word, keyword.weight)
                    for bucket, rule in enumerate((*(rules.intents[i.value] for i in self._intents), *self._categories))
                    for keyword in rule.keywords]
        negatives = [(bucket, word) for bucket, category in enumerate(self._categories, first_category)
                     for word in category.negative]
        self._scorer = Scorer(keywords, negatives, rules.courtesy, self._intents, TIE_ORDER)
        self._score = self._scorer.score
        self.keyword_count = self._scorer.keyword_count
        self._kinds = [()] * first_category + [tuple(i for i in CASE_INTENTS if i.value in c.kinds)
                                               for c in self._categories]
        self._kinds_ruled = len({intent for kinds in self._kinds for intent in kinds})  # kinds some category has

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
        ranked = self._ranked(self._score(norm.strip()), intent)
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
        chatter = Intent.CHATTER  # an Enum's members are looked up through its metaclass's __getattr__ (3.11)
        if intent is chatter or best_total < MIN_CASE_SCORE:
            evidence = max(t for i, t in totals.items() if i is not chatter)
            return Classification(chatter, None, rounded(math.exp(-evidence / 2.5)), (),
                                  tuple(self._ranked(scores, None)))
        cues = scores.words(self._intents.index(intent)) if intent in self._intents else ()
        if intent not in CASE_INTENTS:
            rival = max(t for i, t in totals.items() if i is not intent)
            return Classification(intent, None, intent_confidence(best_total, rival), cues, ())
        ranked = self._ranked(scores, intent)
        if not ranked:
            return Classification(intent, None, 0.0, cues, ())
        confidence = min(category_confidence(ranked), 1.0 - math.exp(-best_total / 2.5))
        best = ranked[0]
        keywords = tuple(dict.fromkeys(best.keywords + cues))
        return Classification(intent, best.category, rounded(confidence), keywords, tuple(ranked))

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
        """The best SUGGESTIONS categories of a case kind (of any kind with None), best first. An Intent is its
        kind: a StrEnum equals its value, without the cost of .value."""
        ranked: list[CategoryMatch] = []
        first_category = self._first_category
        for negative_score, bucket in scores.ranking:
            category = self._categories[bucket - first_category]
            if kind is None or kind in category.kinds:
                ranked.append(category_match((category, -negative_score, scores.words(bucket))))
                if len(ranked) == SUGGESTIONS:
                    break
        return ranked

def category_confidence(ranked: list[CategoryMatch]) -> float:
    """High for a strong single match, at most half the strength when the top two tie."""
    best = ranked[0].score
    second = ranked[1].score if len(ranked) > 1 else 0.0
    strength = 1.0 - math.exp(-best / 0.8)
    return rounded(strength * (0.5 + 0.5 * (best - second) / best))


def intent_confidence(best: float, second: float) -> float:
    """High for strong cues with no rival intent."""
    strength = 1.0 - math.exp(-best / 1.5)
    return rounded(strength * (0.5 + 0.5 * (best - second) / best)) if best > 0 else 0.0


# The classifier last built from each rules file, by the file's stamp: a process that starts the service more than
# once (the CLI's commands in turn, a test run) builds one file's automata once. Classifiers are immutable.
_BUILT: dict[Path, tuple[tuple[int, int] | None, Classifier]] = {}


def built_classifier(path: Path, stamp: tuple[int, int] | None) -> Classifier:
    """The classifier of a rules file as of its stamp (mtime, size), built unless this process has it already."""
    key = path.resolve()
    known = _BUILT.get(key)
    if stamp is not None and known is not None and known[0] == stamp:
        return known[1]
    classifier = Classifier(load_rules(path))
    _BUILT[key] = (stamp, classifier)
    return classifier


class ReloadingClassifier:
    """Holds the current Classifier; reloads the YAML when its mtime changes; an invalid new file keeps the old rules and records the error."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stamp = self._file_stamp()
        self._classifier = built_classifier(self.path, self._stamp)
        self.last_error: str | None = None

    def current(self) -> Classifier:
        """The classifier for the file as it is now; a failed reload is not retried until the file changes."""
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._classifier = built_classifier(self.path, stamp)
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

"""Rules mined from a district's labelled case history: readable keywords per label, measured on held-out cases.

Features are the words of the normalised text (jieba, when installed) and pairs of adjacent words, so every
keyword is something a person would write; without jieba, character 2-4-grams. Two methods: `chi2` keeps each label's n-grams most associated with it (chi-square) and refits one weight each
from its log-odds; `boosted` starts from the strongest few and greedily adds the n-gram that fixes the most
training cases the current rules place wrongly, then adds negatives where a label keeps stealing cases.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.understanding.classifier import Classifier
from bot.understanding.offers import (
    ASKED_FROM,
    ASKED_KIND_FROM,
    FIRM_VETO_BELOW,
    LONG_FIRM_REPORT_VETO_BELOW,
    LONG_LINE,
    OVERRULE_FROM,
    TAKE_FROM,
    VETO_BELOW,
    grammar_reading,
)
from bot.understanding.pinyin import lazy_pinyin, load_phrases_within
from bot.understanding.text import normalize

NGRAM_SIZES = (2, 3, 4)
MIN_DF = 2  # an n-gram seen in a single case is an anecdote, not a rule
MIN_WEIGHT, MAX_WEIGHT = 0.5, 3.0
# Labels naming an office rather than a matter are routed to that department.
DEPARTMENT_SUFFIXES = ("局", "委", "办", "所", "中心", "公司", "部", "院", "站", "队", "厅", "处", "科", "管委会")
NOISE = re.compile(r"[\d\sa-z,.!?;:，。！？；：、\"'“”‘’()（）【】\[\]《》<>\-_/#@*]+")
Progress = Callable[[Iterable], Iterable]


class MiningError(Exception):
    """The history cannot be mined; the message says why in one line."""


@dataclass(frozen=True)
class LabelledCase:
    text: str
    label: str


@dataclass
class MinedLabel:
    label: str
    code: str
    keywords: dict[str, float] = field(default_factory=dict)
    negative: list[str] = field(default_factory=list)


def read_history(path: Path) -> tuple[list[LabelledCase], str]:
    """Labelled cases from a CSV with `text` and `label` columns, and the encoding it was read with.

    Excel in China saves CSV either as UTF-8 (with a BOM) or in the ANSI code page, GBK; GB18030 decodes every
    GBK file. Strict UTF-8 almost never accepts GBK bytes, so trying it first and GB18030 second is exact,
    needs no guessing library, and works on a file of any size.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise MiningError(f"cannot read {path}: {exc.strerror or exc}") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            source = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise MiningError(f"{path} is neither UTF-8 nor GB18030/GBK text")
    reader = csv.DictReader(io.StringIO(source, newline=""))
    columns = [name.strip().lower() for name in reader.fieldnames or ()]
    if "text" not in columns or "label" not in columns:
        raise MiningError(f"{path} needs the columns text and label (found: {', '.join(columns) or 'none'})")
    reader.fieldnames = columns
    cases = [LabelledCase(row["text"].strip(), row["label"].strip()) for row in reader
             if (row.get("text") or "").strip() and (row.get("label") or "").strip()]
    if len({case.label for case in cases}) < 2:
        raise MiningError(f"{path} needs labelled cases of at least two labels")
    return cases, "utf-8" if encoding == "utf-8-sig" else "gb18030"


def split_held_out(cases: list[LabelledCase], share: float = 0.2) -> tuple[list[LabelledCase], list[LabelledCase]]:
    """A stable split by a hash of the text: the same case always lands on the same side."""
    train, held = [], []
    for case in cases:
        (held if zlib.crc32(case.text.encode()) % 1000 < share * 1000 else train).append(case)
    return train, held


def ngrams(text: str) -> set[str]:
    """A text's candidate keywords: words of 2+ characters and adjacent word pairs of up to 6 characters, from
    each run of Chinese (digits and punctuation split); character 2-4-grams when jieba is not installed."""
    grams: set[str] = set()
    words = _segmenter()
    for run in NOISE.split(normalize(text)):
        if words is None:
            for size in NGRAM_SIZES:
                grams.update(run[i:i + size] for i in range(len(run) - size + 1))
            continue
        tokens = words(run)
        grams.update(t for t in tokens if len(t) >= 2)
        grams.update(a + b for a, b in zip(tokens, tokens[1:], strict=False) if 2 <= len(a + b) <= 6)
    return grams


_SEGMENT: list = []


def _segmenter():  # type: ignore[no-untyped-def]
    """jieba's word cutter (loaded once, quietly), or None: jieba is needed only for mining, never to classify."""
    if not _SEGMENT:
        try:
            import logging

            import jieba
        except ImportError:
            _SEGMENT.append(None)
        else:
            jieba.setLogLevel(logging.WARNING)
            _SEGMENT.append(jieba.lcut)
    return _SEGMENT[0]


def label_code(label: str, taken: set[str]) -> str:
    """A rule code for a label: its pinyin in lower-case latin, made unique."""
    load_phrases_within((label.lower(),))
    base = "_".join(re.sub(r"[^a-z0-9]", "", s) for s in lazy_pinyin(label.lower()) if re.sub(r"[^a-z0-9]", "", s))
    base = (base or "label")[:40].strip("_")
    if not base[0].isalpha():
        base = "l_" + base
    code, n = base, 2
    while code in taken:
        code, n = f"{base}_{n}", n + 1
    taken.add(code)
    return code


def is_department(label: str) -> bool:
    """Whether a label names an office (城管局, 住建委) rather than a matter."""
    return label.endswith(DEPARTMENT_SUFFIXES)


class Miner:
    """Document frequencies of n-grams per label over training cases, and the mining methods built on them."""

    def __init__(self, cases: list[LabelledCase], progress: Progress = lambda items: items) -> None:
        self.labels = sorted({case.label for case in cases})
        load_phrases_within(label.lower() for label in self.labels)  # once for all: label_code reads them
        self.docs = [(ngrams(case.text), case.label) for case in progress(cases)]
        self.size = Counter(label for _, label in self.docs)
        self.df: dict[str, Counter[str]] = {}
        for grams, label in self.docs:
            for gram in grams:
                self.df.setdefault(gram, Counter())[label] += 1
        self.df = {gram: counts for gram, counts in self.df.items() if sum(counts.values()) >= MIN_DF}
        self.postings: dict[str, list[int]] = {}
        for i, (grams, _) in enumerate(self.docs):
            for gram in grams:
                if gram in self.df:
                    self.postings.setdefault(gram, []).append(i)

    def log_odds(self, gram: str, label: str) -> float:
        """How much more often the n-gram appears in the label's cases than in the others' (smoothed)."""
        counts = self.df[gram]
        inside = (counts[label] + 0.5) / (self.size[label] + 1)
        outside = (sum(counts.values()) - counts[label] + 0.5) / (len(self.docs) - self.size[label] + 1)
        return math.log(inside / outside)

    def weight(self, gram: str, label: str) -> float:
        """One rule weight from the log-odds, kept in the range the shipped rules use."""
        return round(min(MAX_WEIGHT, max(MIN_WEIGHT, self.log_odds(gram, label) / 1.5)) * 2) / 2

    def chi2(self, gram: str, label: str) -> float:
        """Chi-square of n-gram presence against the label, zero when the n-gram is rarer inside the label."""
        counts, total = self.df[gram], len(self.docs)
        a = counts[label]
        b = sum(counts.values()) - a
        c = self.size[label] - a
        d = total - a - b - c
        if a * d <= b * c:
            return 0.0
        return total * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d) or 1)

    def ranked(self, label: str) -> list[str]:
        """The label's candidate n-grams, most associated first, without ones covered by a longer pick."""
        scored = sorted(((self.chi2(g, label), -len(g), g) for g in self.df if self.df[g][label] >= MIN_DF),
                        reverse=True)
        picked: list[str] = []
        for score, _, gram in scored:
            if score <= 0:
                break
            # 垃圾桶 and 垃圾 found in the same cases say the same thing: keep the first (stronger) one.
            if any((gram in p or p in gram) and self.df[p][label] == self.df[gram][label] for p in picked):
                continue
            picked.append(gram)
        return picked

    def mine_chi2(self, per_label: int, progress: Progress = lambda items: items) -> list[MinedLabel]:
        """Each label's top n-grams by chi-square, each with its refitted weight."""
        mined, taken = [], set()
        for label in progress(self.labels):
            rule = MinedLabel(label, label_code(label, taken))
            rule.keywords = {g: self.weight(g, label) for g in self.ranked(label)[:per_label]}
            mined.append(rule)
        return mined

    def mine_boosted(self, per_label: int, progress: Progress = lambda items: items) -> list[MinedLabel]:
        """Greedy: start with each label's 3 best n-grams, then repeatedly add the one fixing most misplaced cases."""
        taken: set[str] = set()
        pool = {label: self.ranked(label)[:per_label * 4] for label in self.labels}
        rules = {label: MinedLabel(label, label_code(label, taken)) for label in self.labels}
        for label, rule in rules.items():
            rule.keywords = {g: self.weight(g, label) for g in pool[label][:3]}
        scores = [self._scores(grams, rules) for grams, _ in self.docs]
        for _ in progress(range(per_label * len(self.labels))):
            best_gain, best = 0.0, None
            for label in self.labels:
                if len(rules[label].keywords) >= per_label:
                    continue
                for gram in pool[label]:
                    if gram in rules[label].keywords:
                        continue
                    gain = self._gain(gram, label, self.weight(gram, label), scores)
                    if gain > best_gain:
                        best_gain, best = gain, (gram, label)
            if best is None:
                break
            gram, label = best
            weight = rules[label].keywords[gram] = self.weight(gram, label)
            for i in self.postings[gram]:
                scores[i][label] = scores[i].get(label, 0.0) + weight
        self._add_negatives(rules, scores)
        return list(rules.values())

    def _scores(self, grams: set[str], rules: dict[str, MinedLabel]) -> dict[str, float]:
        return {label: s for label, rule in rules.items() if (s := sum(w for g, w in rule.keywords.items() if g in grams))}

    def _gain(self, gram: str, label: str, weight: float, scores: list[dict[str, float]]) -> float:
        """Cases set right minus cases set wrong by adding the n-gram to the label, plus a little for each of the
        label's cases it backs up that still rest on less than one strong keyword (margin for unseen wording)."""
        gain = 0.0
        for i in self.postings[gram]:
            truth = self.docs[i][1]
            before = _winner(scores[i]) == truth
            trial = dict(scores[i])
            trial[label] = trial.get(label, 0.0) + weight
            gain += (_winner(trial) == truth) - before
            if truth == label and scores[i].get(label, 0.0) < MAX_WEIGHT:
                gain += 0.1
            elif truth != label:
                gain -= 0.05
        return gain

    def _add_negatives(self, rules: dict[str, MinedLabel], scores: list[dict[str, float]]) -> None:
        """A label that wins cases of another through an n-gram its own cases never contain gets it as a negative."""
        stolen: dict[str, Counter[str]] = {label: Counter() for label in self.labels}
        for i, (grams, truth) in enumerate(self.docs):
            winner = _winner(scores[i])
            if winner and winner != truth:
                stolen[winner].update(g for g in grams if len(g) >= 2 and g in self.df)
        for label, counts in stolen.items():
            for gram, count in counts.most_common(50):
                if count >= 3 and self.df[gram][label] == 0 and len(rules[label].negative) < 5 \
                        and not any(gram in n or n in gram for n in rules[label].negative):
                    rules[label].negative.append(gram)


def _winner(scores: dict[str, float]) -> str | None:
    return max(scores, key=scores.__getitem__) if scores else None


def naive_bayes_accuracy(train: list[LabelledCase], held: list[LabelledCase]) -> float:
    """A supervised reference, not rules: naive Bayes over the same features, its held-out accuracy."""
    if not held:
        return 0.0
    miner = Miner(train)
    vocabulary = len(miner.df) + 1
    totals = {label: sum(c[label] for c in miner.df.values()) for label in miner.labels}
    prior = {label: math.log(miner.size[label] / len(miner.docs)) for label in miner.labels}
    right = 0
    for case in held:
        grams = [g for g in ngrams(case.text) if g in miner.df]
        best = max(miner.labels, key=lambda label: prior[label] + sum(
            math.log((miner.df[g][label] + 1) / (totals[label] + vocabulary)) for g in grams))
        right += best == case.label
    return right / len(held)


# Group offers' evidence (bot/understanding/offers.py): a logistic regression over the character 1-3-grams of the
# normalised line, each counted once. Its figures were chosen on bench/group_offers.py --lobo's held-out parts.
EVIDENCE_NGRAMS = (1, 3)
EVIDENCE_MIN_DF = 2  # seen in one line only it is that line's phrasing, not a way people talk
# The regression's inverse regularisation: with 250 parts to learn from, less of it. Chosen on two splits, each learnt
# without its parts and the unmined batches: fresh231-254 1.25% / 94.9% (C 1) -> 1.13 / 95.2 (2) -> 1.10 / 95.5 (4)
# -> 1.05 / 95.7 (8) -> 1.09 / 95.8 (16); fresh159-190 1.09% / 97.6% (1) -> 1.04 / 97.8 (2) -> 0.99 / 98.0 (8). From
# 4 up the tests' own hand-written lines moved (这栋楼的水时有时无的 vetoed, 收音机的电台不灵了 offered at 4; six at 8),
# so 2: the unmined fresh199-206 43 -> 44 of 4,031 chatter lines offered, 1,631 -> 1,629 of 1,703 real heard.
EVIDENCE_C = 2.0
EVIDENCE_MIN_WEIGHT = 0.05  # lighter words change no decision and only lengthen the file staff read
# A line the grammar offers counts as this many in the regression: the evidence mostly judges those lines (its veto),
# so it learns most from them. Chosen on scores learnt in ten folds without each fold's parts (never fresh109-114):
# over the blind batches 1.61% -> 1.31% chatter offered with real heard 96.4% -> 96.5%, over every part 1.19% -> 0.98%
# with 96.4% heard unchanged; 3 took half of that, 10 no more.
EVIDENCE_OFFERED_WEIGHT = 6.0


@dataclass(frozen=True, slots=True)
class MinedEvidence:
    """The words a regression learnt, each with what it adds to the log-odds of a real matter, and the bias."""

    weights: list[tuple[str, float]]
    bias: float


def evidence_words(norm: str) -> set[str]:
    """The words the evidence weighs in a normalised line: every character n-gram without a space, once each."""
    low, high = EVIDENCE_NGRAMS
    return {gram for size in range(low, high + 1) for start in range(len(norm) - size + 1)
            if " " not in (gram := norm[start:start + size])}


def mine_offer_evidence(lines: list[tuple[str, bool]], offered: Sequence[bool] | None = None) -> MinedEvidence:
    """Evidence from labelled group lines (text, real or not): a logistic regression (scikit-learn, the mining
    extra) over the character n-grams of each normalised line, classes weighed equally; `offered` says for each line
    whether the offer grammar offers it (grammar_offers), those weighed EVIDENCE_OFFERED_WEIGHT. Strongest words first."""
    texts = [normalize(text) for text, _ in lines]
    labels = [real for _, real in lines]
    if all(labels) or not any(labels):
        raise MiningError("evidence needs both real and chatter lines")
    try:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise MiningError("mining the offers' evidence needs scikit-learn: pip install -e '.[mining]'") from exc
    vectorizer = CountVectorizer(analyzer=evidence_words, binary=True, min_df=EVIDENCE_MIN_DF)
    features = vectorizer.fit_transform(texts)
    regression = LogisticRegression(C=EVIDENCE_C, class_weight="balanced", max_iter=5000)
    emphasis = None if offered is None else [EVIDENCE_OFFERED_WEIGHT if was else 1.0 for was in offered]
    regression.fit(features, labels, sample_weight=emphasis)
    weights = [(gram, round(float(weight), 2)) for gram, weight in
               zip(vectorizer.get_feature_names_out(), regression.coef_[0], strict=True)
               if abs(weight) >= EVIDENCE_MIN_WEIGHT]
    weights.sort(key=lambda item: (-abs(item[1]), item[0]))
    return MinedEvidence(weights, round(float(regression.intercept_[0]), 2))


def grammar_offers(classifier: Classifier, text: str) -> bool:
    """Whether the offer grammar alone offers the line: a kind read and nothing silencing it."""
    reading = grammar_reading(classifier, text)
    return reading is not None and reading.kind is not None and not reading.silenced


def write_offer_evidence(path: Path, evidence: MinedEvidence, source: str) -> None:
    """The evidence as the YAML file offers.py reads: the bias, then a `real` and a `chatter` mapping of word to
    weight, strongest first, headed by how it was mined and how it is read."""
    real = [(word, weight) for word, weight in evidence.weights if weight > 0]
    chatter = [(word, weight) for word, weight in evidence.weights if weight < 0]
    path.write_text(
        "# Group offers' second opinion (bot/understanding/offers.py): words learnt from labelled group lines by a\n"
        "# logistic regression, each with what it adds to the log-odds that a line is a real report, wish or booking\n"
        "# (real) or takes from it (chatter). A line's score is the bias plus the weight of every word in it, each word\n"
        f"# once; as a probability, 1 / (1 + e^-score). Below {VETO_BELOW} it vetoes an offer the grammar did not read\n"
        f"# firmly (below {LONG_FIRM_REPORT_VETO_BELOW} a report read firmly and told in more than {LONG_LINE} characters, below\n"
        f"# {FIRM_VETO_BELOW} any other firm one); from {TAKE_FROM} it takes a line the grammar read no kind in, from\n"
        f"# {ASKED_KIND_FROM} one the grammar silenced only for being put as a question ({ASKED_FROM} when it read no kind in\n"
        f"# it), and from {OVERRULE_FROM} one it silenced\n"
        "# otherwise (a supposition, a denial, hearsay, a home elsewhere, a likeness ...). The lines the grammar offers\n"
        f"# counted {EVIDENCE_OFFERED_WEIGHT:g} times in learning, as the evidence mostly judges those. Edit freely: delete a word\n"
        "# that misleads, change a weight; `python bench/group_offers.py --mine` writes it afresh.\n"
        f"# Mined from {source}.\n"
        + yaml.safe_dump({"bias": evidence.bias, "real": dict(real), "chatter": {w: -x for w, x in chatter}},
                         allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")

"""Classifier throughput on one core: shipped rules and a synthetic 5,000-keyword rule set; prints one JSON line."""

from __future__ import annotations

import csv
import json
import os
import platform
import random
import time
from dataclasses import replace
from pathlib import Path

from bot.understanding.classifier import Classifier
from bot.understanding.rules import Keyword, RuleSet, load_rules

ROOT = Path(__file__).resolve().parent.parent

RULES = ROOT / "config" / "rules.yaml"
CASES = ROOT / "tests" / "data" / "classifier_cases.csv"
SECONDS_PER_RUN = 3.0
SYNTHETIC_KEYWORDS = 5000
SYNTHETIC_CATEGORIES = 100
# Characters common in residents' complaints, so synthetic keywords collide with real messages as real ones do.
COMMON = ("路灯电梯水暖气垃圾停车楼道物业噪音漏坏堵臭吵乱门窗墙顶管线井盖树草狗猫车位消防通道充电"
          "老人孩子医保社保证明户口低保残疾就业工资油烟烧烤摊贩违建屋顶下雨天晚上小区单元邻居楼上楼下")


def pin_to_one_core() -> None:
    """Restricts the process to its first allowed CPU where the OS supports it."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def workload() -> list[str]:
    """The texts of the labelled test table."""
    with CASES.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def longer_messages(messages: list[str], count: int = 500) -> list[str]:
    """Pairs of table messages joined into 30-40 character texts, the long end of what residents type."""
    rng = random.Random(7)
    joined: list[str] = []
    while len(joined) < count:
        text = f"{rng.choice(messages)}，{rng.choice(messages)}"
        if 30 <= len(text) <= 40:
            joined.append(text)
    return joined


def synthetic_rules(shipped: RuleSet) -> RuleSet:
    """The shipped intents plus 100 categories of 50 generated 2-5 character keywords each (5,000 in all)."""
    rng = random.Random(20240601)
    words: set[str] = set()
    while len(words) < SYNTHETIC_KEYWORDS:
        words.add("".join(rng.choice(COMMON) for _ in range(rng.randint(2, 5))))
    ordered = sorted(words)
    template = shipped.categories[0]
    per_category = SYNTHETIC_KEYWORDS // SYNTHETIC_CATEGORIES
    categories = tuple(
        replace(template, code=f"synthetic_{n}", name=f"合成类别{n}", negative=(),
                keywords=tuple(Keyword(w, rng.choice((0.5, 1.0, 1.5, 2.0, 3.0)))
                               for w in ordered[n * per_category:(n + 1) * per_category]))
        for n in range(SYNTHETIC_CATEGORIES)
    )
    return RuleSet(source=Path("synthetic"), intents=shipped.intents, categories=categories)


def throughput(classifier: Classifier, messages: list[str]) -> float:
    """Messages classified per second, over repeated passes of the workload for about SECONDS_PER_RUN."""
    for text in messages:  # warm the per-character pinyin cache, as a running service would have it
        classifier.classify(text)
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SECONDS_PER_RUN:
        for text in messages:
            classifier.classify(text)
        done += len(messages)
    return done / elapsed


def main() -> None:
    """Runs both measurements and prints the JSON line."""
    pin_to_one_core()
    shipped = load_rules(RULES)
    messages = workload()
    shipped_classifier = Classifier(shipped)
    synthetic_classifier = Classifier(synthetic_rules(shipped))
    print(json.dumps({
        "bench": "classifier",
        "shipped_rules_msgs_per_s": round(throughput(shipped_classifier, messages)),
        "synthetic_5000_keywords_msgs_per_s": round(throughput(synthetic_classifier, messages)),
        "shipped_rules_30_40_chars_msgs_per_s": round(throughput(shipped_classifier, longer_messages(messages))),
        "messages": len(messages),
        "mean_message_chars": round(sum(map(len, messages)) / len(messages), 1),
        "keywords_shipped": shipped_classifier.keyword_count,
        "keywords_synthetic": synthetic_classifier.keyword_count,
        "python": ".".join(platform.python_version_tuple()[:2]),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()

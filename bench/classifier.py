"""Classifier throughput on one core at 15, 80 and 400 characters (shipped rules) and at 1k, 5k and 20k keywords.

Each figure is the best of several runs, with the spread (worst/best) beside it: the machine is shared. Beside the
wall clock's figure, the thread's CPU clock's (cpu_best), which other processes on the core bend less. Runs the
compiled modules where they are current (bot/understanding/compiled.py; GRIDBOT_PURE_PYTHON=1: plain Python).
Prints one JSON line.
"""

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
from bot.understanding.compiled import running
from bot.understanding.rules import Keyword, RuleSet, load_rules

ROOT = Path(__file__).resolve().parent.parent

RULES = ROOT / "config" / "rules.yaml"
CASES = ROOT / "tests" / "data" / "classifier_cases.csv"
SECONDS_PER_RUN = 1.0
RUNS = 3
LENGTHS = (15, 80, 400)
KEYWORD_COUNTS = (1000, 5000, 20000)
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


def messages_of_length(rows: list[str], chars: int, count: int = 300) -> list[str]:
    """Table messages joined into sentences of texts exactly `chars` characters long (cut at the end)."""
    rng = random.Random(chars)
    texts: list[str] = []
    while len(texts) < count:
        text = rng.choice(rows)
        while len(text) < chars:
            text += "。" + rng.choice(rows)
        texts.append(text[:chars])
    return texts


def synthetic_rules(shipped: RuleSet, keywords: int) -> RuleSet:
    """The shipped intents plus 100 categories sharing `keywords` generated 2-5 character keywords."""
    rng = random.Random(20240601)
    words: set[str] = set()
    while len(words) < keywords:
        words.add("".join(rng.choice(COMMON) for _ in range(rng.randint(2, 5))))
    ordered = sorted(words)
    template = shipped.categories[0]
    per_category = keywords // SYNTHETIC_CATEGORIES
    categories = tuple(
        replace(template, code=f"synthetic_{n}", name=f"合成类别{n}", negative=(),
                keywords=tuple(Keyword(w, rng.choice((0.5, 1.0, 1.5, 2.0, 3.0)))
                               for w in ordered[n * per_category:(n + 1) * per_category]))
        for n in range(SYNTHETIC_CATEGORIES)
    )
    return RuleSet(source=Path("synthetic"), intents=shipped.intents, categories=categories)


def throughput(classifier: Classifier, messages: list[str]) -> dict[str, float]:
    """Messages classified per second: the best of RUNS runs of about SECONDS_PER_RUN by the wall clock, and
    worst/best; the best by the thread's CPU clock."""
    for message in messages:  # warm the per-character pinyin cache, as a running service would have it
        classifier.classify(message)
    rates, cpu_rates = [], []
    for _ in range(RUNS):
        done, started, cpu_started = 0, time.perf_counter(), time.thread_time()
        while (elapsed := time.perf_counter() - started) < SECONDS_PER_RUN:
            for message in messages:
                classifier.classify(message)
            done += len(messages)
        rates.append(done / elapsed)
        cpu_rates.append(done / (time.thread_time() - cpu_started))
    return {"best": round(max(rates)), "spread": round(min(rates) / max(rates), 2), "cpu_best": round(max(cpu_rates))}


def main() -> None:
    """Runs every measurement and prints the JSON line."""
    pin_to_one_core()
    shipped = load_rules(RULES)
    rows = workload()
    shipped_classifier = Classifier(shipped)
    figures: dict[str, object] = {"bench": "classifier", "keywords_shipped": shipped_classifier.keyword_count,
                                  "compiled": running()}
    for chars in LENGTHS:
        figures[f"shipped_{chars}_chars_msgs_per_s"] = throughput(shipped_classifier, messages_of_length(rows, chars))
    at_80 = messages_of_length(rows, 80)
    for count in KEYWORD_COUNTS:
        started = time.perf_counter()
        classifier = Classifier(synthetic_rules(shipped, count))
        figures[f"keywords_{count}_build_s"] = round(time.perf_counter() - started, 2)
        figures[f"keywords_{count}_80_chars_msgs_per_s"] = throughput(classifier, at_80)
    figures.update(runs=RUNS, seconds_per_run=SECONDS_PER_RUN, python=".".join(platform.python_version_tuple()[:2]),
                   machine=f"{platform.machine()} {platform.processor() or platform.system()}, {os.cpu_count()} cores")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""The classifier of this checkout against the one of another commit, in one process, on a loaded machine.

Both classify the same texts with the same (this checkout's) rules, in alternating batches; each figure is the
best batch by thread time, so other processes' load bends both alike. The other commit's classifier.py,
matching.py and text.py are taken with `git show` and run as plain Python (the rest of bot/understanding is
shared); this checkout's run compiled where they are current (bot/understanding/compiled.py). Prints one JSON
line.
Usage: python -m bench.classifier_ab [--against main] [--batches 20]
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.classifier import (
    KEYWORD_COUNTS,
    LENGTHS,
    RULES,
    messages_of_length,
    pin_to_one_core,
    synthetic_rules,
    workload,
)
from bot.understanding.classifier import Classifier
from bot.understanding.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 100


def other_classifier(commit: str, folder: Path) -> type:
    """The Classifier class of another commit, importable beside this checkout's."""
    package = folder / "other_understanding"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("classifier", "matching", "text"):
        source = subprocess.run(["git", "show", f"{commit}:bot/understanding/{name}.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
        for module in ("matching", "text"):
            source = source.replace(f"bot.understanding.{module}", f"other_understanding.{module}")
        (package / f"{name}.py").write_text(source)
    sys.path.insert(0, str(folder))
    return importlib.import_module("other_understanding.classifier").Classifier


def best_rate(classifier: object, messages: list[str]) -> float:
    """Messages per second of one batch, by thread time."""
    started = time.thread_time()
    for text in messages:
        classifier.classify(text)  # type: ignore[attr-defined]
    return len(messages) / max(time.thread_time() - started, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", default="main")
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    pin_to_one_core()
    shipped = load_rules(RULES)
    rows = workload()
    figures: dict[str, object] = {"bench": "classifier_ab", "against": args.against}
    with tempfile.TemporaryDirectory() as folder:
        other = other_classifier(args.against, Path(folder))
        cases = [(f"shipped_{n}_chars", shipped, n) for n in LENGTHS]
        cases += [(f"keywords_{k}_80_chars", synthetic_rules(shipped, k), 80) for k in KEYWORD_COUNTS]
        for name, rules, chars in cases:
            messages = messages_of_length(rows, chars, MESSAGES)
            pair = {"this": Classifier(rules), "other": other(rules)}
            for classifier in pair.values():
                for text in messages:  # warm the per-character pinyin cache
                    classifier.classify(text)
            rates: dict[str, float] = {"this": 0.0, "other": 0.0}
            for _ in range(args.batches):
                for side, classifier in pair.items():
                    rates[side] = max(rates[side], best_rate(classifier, messages))
            figures[name] = {"this": round(rates["this"]), "other": round(rates["other"]),
                             "ratio": round(rates["this"] / rates["other"], 2)}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

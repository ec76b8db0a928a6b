"""Shipped rules on the hand-written hotline set (tests/data/hotline_*.csv): first-level class and department
accuracy, overall and on long texts, and the share placed automatically by margin; prints one JSON line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bot.understanding.classifier import Classifier, Intent
from bot.understanding.decision import placement
from bot.understanding.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
LONG = 150  # characters from which a work order counts as long
MARGIN = 0.3


def main() -> None:
    """Measures the shipped rules on the training and the held-out file."""
    rules = load_rules(ROOT / "config" / "rules.yaml")
    classifier = Classifier(rules)
    figures: dict[str, object] = {"bench": "rules_hotline", "categories": len(rules.categories)}
    for part in ("train", "heldout"):
        with (ROOT / "tests" / "data" / f"hotline_{part}.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        right = long_right = long_total = report = auto = auto_right = 0
        for row in rows:
            result = classifier.classify(row["text"])
            report += result.intent is Intent.REPORT
            placed = classifier.categorize(row["text"], "report")
            domain = rules.taxonomy.get(placed.category.code, "") if placed.category else ""
            ok = domain == row["domain"]
            right += ok
            if len(row["text"]) >= LONG:
                long_total += 1
                long_right += ok
            decision = placement(placed, MARGIN)
            if decision.automatic:
                auto += 1
                auto_right += ok
        figures[part] = {"cases": len(rows), "intent_report": round(report / len(rows), 3),
                         "class_accuracy": round(right / len(rows), 3),
                         "long_cases": long_total, "long_class_accuracy": round(long_right / max(long_total, 1), 3),
                         f"automatic_share_at_margin_{MARGIN}": round(auto / len(rows), 3),
                         "automatic_class_precision": round(auto_right / max(auto, 1), 3)}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

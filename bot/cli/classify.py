"""`classify`: one message to a JSON object, or a CSV with a text column to a CSV with the classification."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from config.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Adds classify."""
    classify = commands.add_parser("classify", help="classify a message, or a CSV with a text column")
    classify.add_argument("text", nargs="?")
    classify.add_argument("--file", type=Path)
    classify.add_argument("--out", type=Path)
    classify.set_defaults(run=classify_command)


def classify_command(settings: Settings, args: argparse.Namespace) -> int:
    """Prints one JSON object for a text, or writes a CSV with intent, category and confidence columns."""
    from bot.understanding.classifier import Classifier
    from bot.understanding.rules import RulesError, load_rules

    try:
        classifier = Classifier(load_rules(settings.rules_path))
    except RulesError as exc:
        print(f"gridbot: {exc}", file=sys.stderr)
        return 2
    if args.file is None:
        if args.text is None:
            print("gridbot: give a text or --file in.csv --out out.csv", file=sys.stderr)
            return 2
        print(json.dumps(classifier.classify(args.text).as_dict(), ensure_ascii=False))
        return 0
    if args.out is None:
        print("gridbot: --file needs --out", file=sys.stderr)
        return 2
    with args.file.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.DictReader(source)
        if not reader.fieldnames or "text" not in reader.fieldnames:
            print(f"gridbot: {args.file} has no 'text' column", file=sys.stderr)
            return 2
        columns = [*reader.fieldnames, *(c for c in ("intent", "category", "category_name", "confidence")
                                         if c not in reader.fieldnames)]
        with args.out.open("w", encoding="utf-8", newline="") as target:
            writer = csv.DictWriter(target, fieldnames=columns)
            writer.writeheader()
            for row in reader:
                result = classifier.classify(row["text"] or "")
                row.update(intent=result.intent.value, category=result.category.code if result.category else "",
                           category_name=result.category.name if result.category else "",
                           confidence=f"{result.confidence:.3f}")
                writer.writerow(row)
    return 0

"""`classify`: one message to a JSON object, or a CSV with a text column to a CSV with the classification."""

from __future__ import annotations

import argparse
import csv
import io
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
    classify.add_argument("--rules", type=Path, help="classify with this rules file instead of the live rules")
    classify.set_defaults(run=classify_command)


def classify_command(settings: Settings, args: argparse.Namespace) -> int:
    """Prints one JSON object for a text, or writes a CSV with intent, category and confidence columns."""
    from bot.understanding.classifier import Classifier
    from bot.understanding.rules import RulesError, load_rules

    try:
        classifier = Classifier(load_rules(args.rules or settings.rules_path))
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
    try:
        source = io.StringIO(decode_csv(args.file.read_bytes()), newline="")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"gridbot: cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    with source:
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


def decode_csv(raw: bytes) -> str:
    """A CSV's text: UTF-8 (with or without BOM) or, as Excel in China saves it, GB18030/GBK."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")

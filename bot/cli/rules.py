"""`rules suggest | check | merge`: rules mined from case history or staff corrections, checked, and combined."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from config.settings import Settings

METHODS = ("boosted", "chi2")


def register(commands: argparse._SubParsersAction) -> None:
    """Adds rules suggest, rules check and rules merge."""
    rules = commands.add_parser("rules", help="mine, check and merge classification rules")
    actions = rules.add_subparsers(dest="rules_action", required=True)
    suggest = actions.add_parser("suggest", help="mine rules from labelled cases, or propose changes from corrections")
    source = suggest.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="history", type=Path, help="CSV with text and label columns (UTF-8 or GBK)")
    source.add_argument("--from-corrections", action="store_true", help="staff re-categorisations in the database")
    suggest.add_argument("--out", type=Path, help="where to write the mined rules (or the diff, for corrections)")
    suggest.add_argument("--per-category", type=int, default=25, help="keywords per label at most (default 25)")
    suggest.add_argument("--method", choices=(*METHODS, "best"), default="best",
                         help="mining method; best: try each on the held-out cases and keep the better")
    suggest.add_argument("--held-out", type=Path,
                         help="measure on this labelled CSV instead of a fifth of --from held out")
    suggest.add_argument("--rules", type=Path, help="the rules whose intents are kept (default: the live rules)")
    suggest.set_defaults(run=suggest_command)
    check = actions.add_parser("check", help="validate a rules file; errors name file and line")
    check.add_argument("path", type=Path)
    check.set_defaults(run=check_command)
    merge = actions.add_parser("merge", help="add mined categories to a rules file, keeping its intents")
    merge.add_argument("mined", type=Path, help="a rules file written by rules suggest")
    merge.add_argument("--into", type=Path, help="the rules to merge into (default: the live rules)")
    merge.add_argument("--out", type=Path, required=True)
    merge.add_argument("--replace", action="store_true", help="drop the base's categories, keep only the mined ones")
    merge.set_defaults(run=merge_command)


def _load(path: Path):  # type: ignore[no-untyped-def]
    """A checked rule set, or the one-line error."""
    from bot.cli import CommandError
    from bot.understanding.rules import RulesError, load_rules

    try:
        return load_rules(path)
    except RulesError as exc:
        raise CommandError(str(exc)) from None


def check_command(settings: Settings, args: argparse.Namespace) -> int:
    """Prints a one-line summary of a valid rules file; an invalid one fails with file:line."""
    rules = _load(args.path)
    keywords = sum(len(i.keywords) for i in rules.intents.values()) + sum(len(c.keywords) for c in rules.categories)
    print(f"{args.path}: ok — {len(rules.intents)} intents, {len(rules.categories)} categories, {keywords} keywords")
    return 0


def merge_command(settings: Settings, args: argparse.Namespace) -> int:
    """Writes the base rules with the mined file's categories added (or instead, with --replace), checked."""
    from bot.understanding.rulefile import dump_rules, read_data, with_categories

    base_path = args.into or settings.rules_path
    _load(base_path)
    _load(args.mined)
    merged = with_categories(read_data(base_path), read_data(args.mined).get("categories", []), replace=args.replace)
    _write_checked(dump_rules(merged), args.out)
    print(f"merged rules written to {args.out}")
    return 0


def _write_checked(text: str, out: Path) -> None:
    """Writes a rules file only after it loads cleanly."""
    from bot.cli import CommandError

    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / "rules.yaml"
        trial.write_text(text, encoding="utf-8")
        _load(trial)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None


def suggest_command(settings: Settings, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Mines rules from a CSV, or proposes a diff from recorded corrections."""
    from bot.cli import CommandError

    if args.per_category < 1:
        raise CommandError("--per-category must be at least 1")
    if args.from_corrections:
        return suggest_from_corrections(settings, args)
    if args.out is None:
        raise CommandError("--from needs --out rules.yaml")
    return suggest_from_history(settings, args)


def suggest_from_history(settings: Settings, args: argparse.Namespace) -> int:
    """Mines each method on the training part, reports it on the held-out part, writes the better one mined on all."""
    from tqdm import tqdm

    from bot.cli import CommandError
    from bot.understanding.evaluation import report_lines
    from bot.understanding.mining import (
        Miner,
        MiningError,
        naive_bayes_accuracy,
        read_history,
        split_held_out,
    )
    from bot.understanding.rulefile import dump_rules, mined_categories, read_data, with_categories

    base_path = args.rules or settings.rules_path
    _load(base_path)
    base = read_data(base_path)
    try:
        cases, encoding = read_history(args.history)
    except MiningError as exc:
        raise CommandError(str(exc)) from None
    if args.held_out is not None:
        try:
            train, (held, _) = cases, read_history(args.held_out)
        except MiningError as exc:
            raise CommandError(str(exc)) from None
    else:
        train, held = split_held_out(cases)
    if len(held) < 5 or len(train) < 10:
        raise CommandError(f"{args.history}: {len(cases)} labelled cases are too few to mine and measure (need 50+)")

    def bar(description: str):  # type: ignore[no-untyped-def]
        return lambda items: tqdm(items, desc=description, unit="", leave=False, file=sys.stderr)

    print(f"{args.history}: {len(cases)} cases ({encoding}), {len({c.label for c in cases})} labels; "
          f"mined on {len(train)}, measured on {len(held)} held out")
    methods = METHODS if args.method == "best" else (args.method,)
    mined_by, results = {}, {}
    for method, mined, evaluation in mine_and_measure(train, held, base, args.per_category, methods, bar):
        mined_by[method], results[method] = mined, evaluation
        print("\n".join(report_lines(evaluation, f"方法 {method}")))
    reference = naive_bayes_accuracy(train, held)
    chosen = max(results, key=lambda m: (results[m].accuracy, results[m].macro_f1))
    print(f"参照：朴素贝叶斯（同样的特征，非规则）留出准确率 {reference:.1%}；"
          f"选用 {chosen}，达到其 {results[chosen].accuracy / reference:.0%}" if reference else f"选用 {chosen}")
    final = mined_by[chosen] if args.held_out is not None else \
        getattr(Miner(cases, bar("全部案例")), f"mine_{chosen}")(args.per_category, bar("最终挖掘"))
    _write_checked(dump_rules(with_categories(base, mined_categories(final), replace=True)), args.out)
    print(f"rules written to {args.out} (method {chosen}, mined on {len(cases)} cases); "
          f"review them, then `rules merge {args.out} --out ...`")
    return 0


def mine_and_measure(train, held, base, per_category, methods, bar=lambda description: lambda items: items):  # type: ignore[no-untyped-def]
    """Yields (method, mined labels, held-out evaluation) for each method, the mined categories replacing the base's."""
    from bot.understanding.classifier import Classifier
    from bot.understanding.evaluation import evaluate
    from bot.understanding.mining import Miner
    from bot.understanding.rulefile import dump_rules, mined_categories, with_categories

    miner = Miner(train, bar("读取案例"))
    for method in methods:
        mined = getattr(miner, f"mine_{method}")(per_category, bar(f"挖掘（{method}）"))
        classifier = _classifier_of(dump_rules(with_categories(base, mined_categories(mined), replace=True)), Classifier)
        yield method, mined, evaluate(classifier, held, {rule.code: rule.label for rule in mined})


def _classifier_of(text: str, classifier_type):  # type: ignore[no-untyped-def]
    """A classifier over rules given as text."""
    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / "rules.yaml"
        trial.write_text(text, encoding="utf-8")
        return classifier_type(_load(trial))


async def suggest_from_corrections(settings: Settings, args: argparse.Namespace) -> int:
    """Prints (or writes) a diff of the rules learnt from staff corrections, with its effect; applies nothing."""
    import asyncio

    from bot.understanding.corrections import recorded_corrections, suggest
    from models.db import create_engine, migrate, session_factory

    rules_path = args.rules or settings.rules_path
    _load(rules_path)
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session:
            rows = await recorded_corrections(session)
    finally:
        await engine.dispose()
    if not rows:
        print("no corrections recorded yet: staff correct a case with 「改类 编号 类别」 or re-route it")
        return 0
    proposal = await asyncio.to_thread(suggest, rules_path, [(row.text, row.new_code, row.old_code) for row in rows])
    print(f"{proposal.cases} corrected cases: the rules place {proposal.before:.0%} as staff did now, "
          f"{proposal.after:.0%} with this change. Nothing was changed; review and apply the diff yourself.")
    if not proposal.additions:
        print("no keyword addition helps; consider editing the categories by hand")
        return 0
    if args.out is not None:
        args.out.write_text(proposal.diff, encoding="utf-8")
        print(f"diff written to {args.out} (apply with `git apply` or `patch -p1`)")
    else:
        print(proposal.diff, end="")
    return 0

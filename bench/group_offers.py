"""Group offers measured on the labelled group-chat sets (tests/data/group_chat*.tsv) through the real dispatcher.

Each line is sent as a plain group message (no @, no hashtag) by its own sender in a bound demo group, on a fresh
SQLite database. Prints one JSON line: per part, the share of chatter lines that got an offer (goal <= 1%) and the
share of real problems, wishes and bookings offered or handled (goal >= 90%).

The parts: group_chat.tsv split by a hash into a tuning and a held-out half, and one batch per later file, each
written and committed before the rules were run on it. The grammar (bot/understanding/offers.py, config/rules.yaml)
was tuned on the tuning half and TUNED_BATCHES, whose misses were read; the lines of HELD_OUT_BATCHES and the
held-out half are never printed. BLIND_BATCHES were written by hands that never read the rules, the evidence or an
earlier batch; nothing is chosen on one before its first contact is in the history, and the round's newest
(fresh263-270) choose nothing at all. The evidence (config/offer_evidence.yaml, learnt by a logistic regression) is
mined from MINED_PARTS, every part but UNMINED_BATCHES: those are residents' text that neither the grammar nor the
evidence ever saw, so their figures here are end to end on text never seen (their first contacts are in the
history). Every other part's honest figure is --lobo's: the evidence learnt without the part measured.

Figures at each round, and what each batch's writer had seen, are in docs/group-offers-history.md.

Usage: python bench/group_offers.py [--errors | --lobo | --independent | --mine]   (--errors: also list the misses of the tuning
half and of the tuned batches on stderr. --lobo: leave-one-batch-out figures of the grammar alone and with evidence
learnt without the batch measured (from MINED_PARTS, as shipped, and from every other part), from offer_kind's
decisions, which are the dispatcher's; pooled over the held-out parts that are not blind, and over the blind ones.
--independent: the batches a third hand labelled afresh, measured by either labels and on the lines both agree on.
--mine: write config/offer_evidence.yaml afresh from MINED_PARTS)
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import tempfile
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path

from bot.pipeline.messages import Inbound
from bot.runtime import start
from bot.understanding.classifier import Classifier
from bot.understanding.mining import MinedEvidence, grammar_offers, mine_offer_evidence, write_offer_evidence
from bot.understanding.offers import EVIDENCE_FILE, OfferEvidence, offer_kind
from bot.understanding.rules import load_rules
from config.settings import load_settings

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "group_chat.tsv"
TUNED_BATCHES = {name: DATA.with_name(f"group_chat_{name}.tsv") for name in ("fresh", "fresh4", "fresh5", "fresh8", "fresh9", "fresh11", "fresh12", "fresh13", "fresh14", "fresh15", "fresh16", "fresh19", "fresh20", "fresh21", "fresh22", "fresh23", "fresh24", "fresh27", "fresh28", "fresh33", "fresh34", "fresh35", "fresh36", "fresh39", "fresh40", "fresh42", "fresh43", "fresh44", "fresh46", "fresh47", "fresh48", "fresh49", "fresh50", "fresh53", "fresh54", "fresh56", "fresh57", "fresh59", "fresh60", "fresh61", "fresh63", "fresh64", "fresh66", "fresh67", "fresh69", "fresh70", "fresh72", "fresh73", "fresh75", "fresh76", "fresh78", "fresh79", "fresh81", "fresh82", "fresh84", "fresh85", "fresh87", "fresh88", "fresh90", "fresh91", "fresh93", "fresh94", "fresh96", "fresh97", "fresh98", "fresh100", "fresh101", "fresh103", "fresh104", "fresh106", "fresh107", "fresh110", "fresh111", "fresh112", "fresh113", "fresh115", "fresh117", "fresh118", "fresh120", "fresh207", "fresh208", "fresh209", "fresh210", "fresh211", "fresh212", "fresh213", "fresh214", "fresh215", "fresh216", "fresh217", "fresh218", "fresh219", "fresh220", "fresh221", "fresh222", "fresh223", "fresh224", "fresh225", "fresh226", "fresh227", "fresh228", "fresh229", "fresh230")}  # tuned on
HELD_OUT_BATCHES = {name: DATA.with_name(f"group_chat_{name}.tsv") for name in ("fresh2", "fresh3", "fresh6", "fresh7", "fresh10", "fresh17", "fresh18", "fresh25", "fresh26", "fresh29", "fresh30", "fresh31", "fresh32", "fresh37", "fresh38", "fresh41", "fresh45", "fresh51", "fresh52", "fresh55", "fresh58", "fresh62", "fresh65", "fresh68", "fresh71", "fresh74", "fresh77", "fresh80", "fresh83", "fresh86", "fresh89", "fresh92", "fresh95", "fresh99", "fresh102", "fresh105", "fresh108", "fresh109", "fresh114", "fresh116", "fresh119", "fresh127", "fresh128", "fresh129", "fresh130", "fresh131", "fresh132", "fresh133", "fresh134", "fresh135", "fresh136", "fresh137", "fresh138", "fresh139", "fresh140", "fresh141", "fresh142", "fresh143", "fresh144", "fresh145", "fresh146", "fresh147", "fresh148", "fresh149", "fresh150", "fresh151", "fresh152", "fresh153", "fresh154", "fresh155", "fresh156", "fresh157", "fresh158", "fresh159", "fresh160", "fresh161", "fresh162", "fresh163", "fresh164", "fresh165", "fresh166", "fresh167", "fresh168", "fresh169", "fresh170", "fresh171", "fresh172", "fresh173", "fresh174", "fresh175", "fresh176", "fresh177", "fresh178", "fresh179", "fresh180", "fresh181", "fresh182", "fresh183", "fresh184", "fresh185", "fresh186", "fresh187", "fresh188", "fresh189", "fresh190", "fresh191", "fresh192", "fresh193", "fresh194", "fresh195", "fresh196", "fresh197", "fresh198", "fresh231", "fresh232", "fresh233", "fresh234", "fresh235", "fresh236", "fresh237", "fresh238", "fresh239", "fresh240", "fresh241", "fresh242", "fresh243", "fresh244", "fresh245", "fresh246", "fresh247", "fresh248", "fresh249", "fresh250", "fresh251", "fresh252", "fresh253", "fresh254", "fresh121", "fresh122", "fresh123", "fresh124", "fresh125", "fresh126", "fresh199", "fresh200", "fresh201", "fresh202", "fresh203", "fresh204", "fresh205", "fresh206", "fresh255", "fresh256", "fresh257", "fresh258", "fresh259", "fresh260", "fresh261", "fresh262", "fresh263", "fresh264", "fresh265", "fresh266", "fresh267", "fresh268", "fresh269", "fresh270")}  # never printed (but for ~120 lines of fresh25 and the first 56 of fresh109: see the history)
INDEPENDENT = DATA.parent / "independent"  # batches labelled afresh by a third hand (docs/labelled-batches.md)
GROUP = "group:JT-TTC-01"  # a demo group bound to 铁塔厂家属院
BLIND_BATCHES = ("fresh10", "fresh17", "fresh18", "fresh25", "fresh26", "fresh29", "fresh30", "fresh31", "fresh32", "fresh37", "fresh38", "fresh41", "fresh45", "fresh51", "fresh52", "fresh55", "fresh58", "fresh62", "fresh65", "fresh68", "fresh71", "fresh74", "fresh77", "fresh80", "fresh83", "fresh86", "fresh89", "fresh91", "fresh92", "fresh93", "fresh94", "fresh95", "fresh96", "fresh97", "fresh98", "fresh99", "fresh100", "fresh101", "fresh102", "fresh103", "fresh104", "fresh105", "fresh106", "fresh107", "fresh108", "fresh109", "fresh110", "fresh111", "fresh112", "fresh113", "fresh114", "fresh115", "fresh116", "fresh117", "fresh118", "fresh119", "fresh120", "fresh127", "fresh128", "fresh129", "fresh130", "fresh131", "fresh132", "fresh133", "fresh134", "fresh135", "fresh136", "fresh137", "fresh138", "fresh139", "fresh140", "fresh141", "fresh142", "fresh143", "fresh144", "fresh145", "fresh146", "fresh147", "fresh148", "fresh149", "fresh150", "fresh151", "fresh152", "fresh153", "fresh154", "fresh155", "fresh156", "fresh157", "fresh158", "fresh159", "fresh160", "fresh161", "fresh162", "fresh163", "fresh164", "fresh165", "fresh166", "fresh167", "fresh168", "fresh169", "fresh170", "fresh171", "fresh172", "fresh173", "fresh174", "fresh175", "fresh176", "fresh177", "fresh178", "fresh179", "fresh180", "fresh181", "fresh182", "fresh183", "fresh184", "fresh185", "fresh186", "fresh187", "fresh188", "fresh189", "fresh190", "fresh191", "fresh192", "fresh193", "fresh194", "fresh195", "fresh196", "fresh197", "fresh198", "fresh207", "fresh208", "fresh209", "fresh210", "fresh211", "fresh212", "fresh213", "fresh214", "fresh215", "fresh216", "fresh217", "fresh218", "fresh219", "fresh220", "fresh221", "fresh222", "fresh223", "fresh224", "fresh225", "fresh226", "fresh227", "fresh228", "fresh229", "fresh230", "fresh231", "fresh232", "fresh233", "fresh234", "fresh235", "fresh236", "fresh237", "fresh238", "fresh239", "fresh240", "fresh241", "fresh242", "fresh243", "fresh244", "fresh245", "fresh246", "fresh247", "fresh248", "fresh249", "fresh250", "fresh251", "fresh252", "fresh253", "fresh254", "fresh121", "fresh122", "fresh123", "fresh124", "fresh125", "fresh126", "fresh199", "fresh200", "fresh201", "fresh202", "fresh203", "fresh204", "fresh205", "fresh206", "fresh255", "fresh256", "fresh257", "fresh258", "fresh259", "fresh260", "fresh261", "fresh262", "fresh263", "fresh264", "fresh265", "fresh266", "fresh267", "fresh268", "fresh269", "fresh270")  # written by hands that never read the rules or an earlier batch
UNMINED_BATCHES = ("fresh199", "fresh200", "fresh201", "fresh202", "fresh203", "fresh204", "fresh205", "fresh206", "fresh255", "fresh256", "fresh257", "fresh258", "fresh259", "fresh260", "fresh261", "fresh262", "fresh263", "fresh264", "fresh265", "fresh266", "fresh267", "fresh268", "fresh269", "fresh270")  # the shipped evidence never saw them: measured end to end as residents' text
TUNING_PARTS = ("tuning", *TUNED_BATCHES)  # the lines the grammar was tuned on
MINED_PARTS = ("tuning", "held_out", *(name for name in TUNED_BATCHES | HELD_OUT_BATCHES if name not in UNMINED_BATCHES))


def half(text: str) -> str:
    """The fixed split: 'tuning' or 'held_out', by a hash of the line."""
    return "tuning" if zlib.crc32(text.encode()) % 2 == 0 else "held_out"


def labelled_rows() -> list[tuple[str, dict[str, str]]]:
    """Every labelled line with its part: the tuning or held-out half, or its batch's name."""
    rows = [(half(row["text"]), row) for row in csv.DictReader(DATA.open(encoding="utf-8"), delimiter="\t")]
    for name, path in (TUNED_BATCHES | HELD_OUT_BATCHES).items():
        rows += [(name, row) for row in csv.DictReader(path.open(encoding="utf-8"), delimiter="\t")]
    return rows


def grammar_offered(rows: list[tuple[str, dict[str, str]]], classifier: Classifier) -> list[bool]:
    """For each labelled line whether the offer grammar alone offers it (read once; the evidence weighs those more)."""
    return [grammar_offers(classifier, row["text"]) for _, row in rows]


def mined_evidence(rows: list[tuple[str, dict[str, str]]], parts: tuple[str, ...], offered: list[bool]) -> MinedEvidence:
    """The evidence mined from the lines of these parts; `offered`: grammar_offered's flags for every row."""
    chosen = [(row, was) for (part, row), was in zip(rows, offered, strict=True) if part in parts]
    return mine_offer_evidence([(row["text"], row["label"] != "chatter") for row, _ in chosen],
                               [was for _, was in chosen])


def leave_one_batch_out(rows: list[tuple[str, dict[str, str]]], rules: Path) -> dict:
    """Each part measured with the grammar alone and with evidence mined without it: from the parts the shipped
    evidence is mined from and from every other part; offer_kind's decisions, which are the dispatcher's (bench figures agree)."""
    classifier = Classifier(load_rules(rules))
    offered = grammar_offered(rows, classifier)
    parts = list(dict.fromkeys(part for part, _ in rows))
    result: dict = {}
    for regime, training in (("grammar", None), ("evidence_as_shipped", MINED_PARTS), ("evidence_from_others", parts)):
        figures = {}
        for held in parts:
            mined = None if training is None else mined_evidence(rows, tuple(p for p in training if p != held), offered)
            evidence = OfferEvidence() if mined is None else OfferEvidence(dict(mined.weights), mined.bias)
            batch = [row for part, row in rows if part == held]
            figures[held] = _tally([row["label"] != "chatter" for row in batch],
                                   [offer_kind(classifier, row["text"], evidence) is not None for row in batch])
        result[regime] = _figures(figures, parts)
    return result


def independent_reading(rows: list[tuple[str, dict[str, str]]], rules: Path) -> dict:
    """For each batch a third hand labelled afresh without seeing any label (INDEPENDENT/group_chat_NAME.tsv: the
    line's number and its label), the figures by the batch's labels, by the independent reader's and on the lines
    both call chatter or both call real, and how many lines they agree on; offer_kind's decisions, which are the
    dispatcher's."""
    classifier = Classifier(load_rules(rules))
    regimes = ("batch_labels", "independent_labels", "agreed_lines")
    tallies: dict[str, dict[str, dict[str, int]]] = {}
    agreed: dict[str, str] = {}
    for path in sorted(INDEPENDENT.glob("group_chat_*.tsv")):
        name = path.stem.removeprefix("group_chat_")
        batch = [row for part, row in rows if part == name]
        readings = [row["label"] for row in csv.DictReader(path.open(encoding="utf-8"), delimiter="\t")]
        if len(readings) != len(batch):
            raise SystemExit(f"{path}: {len(readings)} labels for {len(batch)} lines of {name}; relabel the batch")
        offered = [offer_kind(classifier, row["text"]) is not None for row in batch]
        ours = [row["label"] != "chatter" for row in batch]
        theirs = [label != "chatter" for label in readings]
        both = [a if a == b else None for a, b in zip(ours, theirs, strict=True)]  # None: the readers disagree
        tallies[name] = {regime: _tally(reals, offered) for regime, reals in zip(regimes, (ours, theirs, both),
                                                                                    strict=True)}
        agreed[name] = f"{sum(real is not None for real in both)}/{len(batch)}"
    pooled = {regime: {key: sum(tally[regime][key] for tally in tallies.values()) for key in _tally([], [])}
              for regime in regimes}
    return {**{name: {**{regime: _pct(tally[regime], 2) for regime in regimes}, "agreed": agreed[name]}
               for name, tally in tallies.items()},
            "pooled": {regime: _pct(tally, 2) for regime, tally in pooled.items()}}


def _tally(reals: list[bool | None], offered: list[bool]) -> dict[str, int]:
    """Chatter and real lines (None: left out), and how many of each were offered."""
    tally = {"chatter": 0, "chatter_offered": 0, "real": 0, "real_heard": 0}
    for real, was_offered in zip(reals, offered, strict=True):
        if real is not None:
            tally["real" if real else "chatter"] += 1
            tally["real_heard" if real else "chatter_offered"] += was_offered
    return tally


def _pct(tally: dict[str, int], chatter_places: int = 1) -> list:
    """Chatter offered and real heard, in per cent."""
    return [round(100 * tally["chatter_offered"] / tally["chatter"], chatter_places),
            round(100 * tally["real_heard"] / tally["real"], 1)]


def _figures(tallies: dict[str, dict[str, int]], parts: list[str]) -> dict:
    """Per part and pooled over the held-out parts and over all: chatter offered and real heard, in per cent."""
    def pooled(names: list[str]) -> dict[str, int]:
        return {key: sum(tallies[name][key] for name in names) for key in tallies[names[0]]}

    held_out = [p for p in parts if p not in TUNING_PARTS and p not in BLIND_BATCHES]
    return {**{part: _pct(tallies[part]) for part in parts}, "pooled_held_out": _pct(pooled(held_out)),
            "pooled_blind": _pct(pooled(list(BLIND_BATCHES))), "pooled_all": _pct(pooled(parts))}


async def run(errors: bool = False) -> dict:
    rows = labelled_rows()
    counts = {name: {"chatter": 0, "chatter_offered": 0, "real": 0, "real_heard": 0}
              for name in ("tuning", "held_out", *TUNED_BATCHES, *HELD_OUT_BATCHES)}
    with tempfile.TemporaryDirectory() as work:
        runtime = await start(load_settings({}, database_url=f"sqlite+aiosqlite:///{work}/offers.db"))
        try:
            for number, (part, row) in enumerate(rows):
                sender = f"bench-{number}"
                replies = await runtime.dispatcher.handle(Inbound(
                    channel="console", chat_id=GROUP, is_group=True, sender_id=sender, sender_name=sender,
                    text=row["text"], message_id=uuid.uuid4().hex, sent_at=datetime.now(UTC)))
                tally = counts[part]
                if errors and (part == "tuning" or part in TUNED_BATCHES) and bool(replies) == (row["label"] == "chatter"):
                    print(f"{part}\t{row['label']}\t{row['text']}", file=sys.stderr)
                if row["label"] == "chatter":
                    tally["chatter"] += 1
                    tally["chatter_offered"] += bool(replies)
                else:
                    tally["real"] += 1
                    tally["real_heard"] += bool(replies)
        finally:
            await runtime.close()
    result: dict = {"bench": "group_offers", "lines": len(rows)}
    for name, tally in counts.items():
        result[name] = {
            "chatter": tally["chatter"], "real": tally["real"],
            "chatter_offered_pct": round(100 * tally["chatter_offered"] / tally["chatter"], 1),
            "real_offered_or_handled_pct": round(100 * tally["real_heard"] / tally["real"], 1),
        }
    return result


if __name__ == "__main__":
    if "--mine" in sys.argv[1:]:
        lines = labelled_rows()
        rules_path = load_settings({}).rules_path
        evidence = mined_evidence(lines, MINED_PARTS, grammar_offered(lines, Classifier(load_rules(rules_path))))
        target = rules_path.with_name(EVIDENCE_FILE)
        write_offer_evidence(target, evidence, "tests/data/group_chat*.tsv but the batches kept unseen (" + ", ".join(
            f"{part}: {sum(p == part for p, _ in lines)} lines" for part in MINED_PARTS) + ")")
        print(json.dumps({"bench": "group_offers_mine", "written": str(target), "words": len(evidence.weights)}))
    elif "--independent" in sys.argv[1:]:
        print(json.dumps({"bench": "group_offers_independent", "figures": "[chatter offered %, real heard %]",
                          **independent_reading(labelled_rows(), load_settings({}).rules_path)}, ensure_ascii=False))
    elif "--lobo" in sys.argv[1:]:
        print(json.dumps({"bench": "group_offers_lobo", "figures": "[chatter offered %, real heard %]",
                          **leave_one_batch_out(labelled_rows(), load_settings({}).rules_path)}, ensure_ascii=False))
    else:
        print(json.dumps(asyncio.run(run("--errors" in sys.argv[1:])), ensure_ascii=False))

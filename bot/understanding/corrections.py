"""Corrections teach the rules: staff re-categorisations are recorded, and keyword additions proposed from them.

Nothing here changes the live rules: a suggestion is a diff of the YAML with its measured effect, for a
person to read and apply.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.actions import staff_may_act
from bot.cases.lifecycle import apply_assignment
from bot.cases.queries import load_case
from bot.grid.directory import GridDirectory
from bot.grid.routing import Assignment, category_duty, route
from bot.pipeline.identities import Actor
from bot.understanding.classifier import Classifier
from bot.understanding.mining import MAX_WEIGHT, ngrams
from bot.understanding.reroutes import category_of_duty, is_duty
from bot.understanding.rulefile import add_keywords, diff
from bot.understanding.rules import Category, RuleSet, load_rules
from models import Case, CaseEvent, CaseStatus, CategoryCorrection, EventKind

RECATEGORISE = EventKind.RECATEGORISE  # the case event of a correction (改类)
MAX_ADDITIONS = 20
TRIAGE_STATUSES = (CaseStatus.NEW, CaseStatus.RETURNED)  # the cases the triage queue shows


class CorrectionRefused(Exception):
    """The correction is not allowed or names nothing known; the message is the Chinese answer to staff."""


def find_category(rules: RuleSet, words: str) -> Category | None:
    """A category by code or by its Chinese name (exact, else the only one whose name contains the words)."""
    words = words.strip()
    exact = next((c for c in rules.categories if words in (c.code, c.name)), None)
    if exact is not None:
        return exact
    partial = [c for c in rules.categories if words and words in c.name]
    return partial[0] if len(partial) == 1 else None


async def recategorise(session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int,
                       category: Category, *, now: datetime) -> tuple[Case, str | None]:
    """Sets a case's category as staff decided, with its audit event and a correction row; returns the old code."""
    case = await load_case(session, case_id)
    if case is None or not (staff_may_act(directory, actor, case, "assign")
                            or staff_may_act(directory, actor, case, "progress")):
        raise CorrectionRefused(f"未找到您可修改的工单 #{case_id}。")
    old_code, old_name = case.category_code, case.category_name
    if old_code == category.code:
        raise CorrectionRefused(f"{case.number} 已是「{category.name}」，无需修改。")
    case.category_code, case.category_name = category.code, category.name
    session.add(CaseEvent(case_id=case.id, at=now, actor_kind="staff", actor_id=actor.id, actor_name=actor.name,
                          action=RECATEGORISE, from_status=case.status.value, to_status=case.status.value,
                          note=f"类别：{old_name or '未分类'} → {category.name}"))
    session.add(CategoryCorrection(case_id=case.id, at=now, staff_id=actor.id, staff_name=actor.name,
                                   old_code=old_code, new_code=category.code, text=case.text))
    return case, old_code


async def place_from_triage(session: AsyncSession, directory: GridDirectory, actor: Actor, case_id: int,
                            category: Category, *, now: datetime) -> tuple[Case, Assignment]:
    """A triage pick (分拣): the category staff chose (a correction when it differs) and the case routed by it."""
    case = await load_case(session, case_id)
    if case is None or not staff_may_act(directory, actor, case, "assign"):
        raise CorrectionRefused(f"未找到您可分拣的工单 #{case_id}。")
    if case.status not in TRIAGE_STATUSES:
        raise CorrectionRefused(f"{case.number} 当前状态为「{case.status.label}」，已不在待分拣中。")
    if case.category_code != category.code:
        case, _ = await recategorise(session, directory, actor, case_id, category, now=now)
    duty, accept_hours, _ = category_duty(category)
    assignment = await route(session, directory, directory.unit(case.unit_id), duty)
    await apply_assignment(session, directory, case, assignment, actor, "assign", now, sla_accept_hours=accept_hours,
                           note=f"人工分拣为「{category.name}」")
    return case, assignment


async def recorded_corrections(session: AsyncSession) -> list[CategoryCorrection]:
    """Every correction, latest per case only (a case corrected twice counts with its final category)."""
    rows = (await session.scalars(select(CategoryCorrection).order_by(CategoryCorrection.id))).all()
    return list({row.case_id: row for row in rows}.values())


@dataclass
class Suggestion:
    additions: dict[str, dict[str, float]]  # category code -> {keyword: weight}
    diff: str
    before: float  # share of recorded corrections the rules place as staff did, now
    after: float  # the same with the suggestion applied
    cases: int


def suggest(rules_path: Path, corrections: list[tuple[str, str, str | None]]) -> Suggestion:
    """Keyword additions that make the rules place corrected cases (text, new code, old code) as staff did, as a
    diff; a re-route's new code names a duty, read as the category of these rules that handles it."""
    rules = load_rules(rules_path)
    classifier = Classifier(rules)
    known = []
    for text, code, old_code in corrections:
        wanted = category_of_duty(rules, classifier, text, code, old_code) if is_duty(code) else code
        if wanted is not None and rules.category(wanted) is not None:
            known.append((text, wanted))
    gaps: list[tuple[set[str], str, float]] = []  # n-grams, wanted code, score the wanted category lacks
    for text, code in known:
        result = classifier.categorize(text, "report")
        scores = {m.category.code: m.score for m in result.candidates}
        best = result.candidates[0].score if result.candidates else 0.0
        if result.category is None or result.category.code != code:
            gaps.append((ngrams(text), code, best - scores.get(code, 0.0) + 0.5))
    existing = {c.code: {k.word for k in c.keywords} for c in rules.categories}
    additions: dict[str, dict[str, float]] = {}
    seen: dict[str, Counter[str]] = {}  # n-gram -> wanted codes of the recorded texts holding it
    for text, code in known:
        for gram in ngrams(text):
            seen.setdefault(gram, Counter())[code] += 1
    while gaps and sum(map(len, additions.values())) < MAX_ADDITIONS:
        gain: Counter[tuple[str, str]] = Counter()
        for grams, code, _ in gaps:
            for gram in grams:
                if gram not in existing.get(code, ()) and gram not in additions.get(code, {}):
                    gain[(gram, code)] += 1
        # Net effect: texts it would set right, minus recorded texts of other categories it would pull over.
        net = {key: fixed - (sum(seen[key[0]].values()) - seen[key[0]][key[1]]) for key, fixed in gain.items()}
        ranked = sorted(net.items(), key=lambda item: (-item[1], -len(item[0][0]), item[0]))
        if not ranked or ranked[0][1] <= 0:
            break
        (gram, code), _ = ranked[0]
        fixed = [gap for gap in gaps if gap[1] == code and gram in gap[0]]
        weight = min(MAX_WEIGHT, max(1.0, round(max(g[2] for g in fixed) * 2) / 2))
        additions.setdefault(code, {})[gram] = weight
        gaps = [gap for gap in gaps if gap not in fixed]
    before_text = Path(rules_path).read_text(encoding="utf-8")
    after_text = add_keywords(before_text, additions)
    before = placed_as_staff_did(classifier, known)
    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / "rules.yaml"
        trial.write_text(after_text, encoding="utf-8")
        after = placed_as_staff_did(Classifier(load_rules(trial)), known)
    return Suggestion(additions, diff(before_text, after_text, Path(rules_path).name), before, after, len(known))


def placed_as_staff_did(classifier: Classifier, cases: list[tuple[str, str]]) -> float:
    """The share of (text, code) pairs the classifier places in that category."""
    if not cases:
        return 0.0
    right = 0
    for text, code in cases:
        result = classifier.categorize(text, "report")
        right += result.category is not None and result.category.code == code
    return right / len(cases)

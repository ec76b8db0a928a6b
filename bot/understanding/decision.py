"""Selective automation: a case is placed automatically only when its best category leads the second by margin."""

from __future__ import annotations

from dataclasses import dataclass

from bot.understanding.classifier import Classification
from bot.understanding.rules import Category

SUGGESTIONS = 3  # categories offered to the person who places a case by hand, best first


@dataclass(frozen=True)
class Placement:
    """自动分类 or 人工分拣: the category when automatic, and the suggestions a person picks from otherwise."""

    automatic: bool
    category: Category | None
    margin: float
    suggestions: tuple[Category, ...]


def margin(result: Classification) -> float:
    """How far the best category leads the second, as a share of the best score (1.0 with no rival, 0 for none)."""
    if not result.candidates:
        return 0.0
    best = result.candidates[0].score
    second = result.candidates[1].score if len(result.candidates) > 1 else 0.0
    return (best - second) / best if best > 0 else 0.0


def placement(result: Classification, min_margin: float) -> Placement:
    """Automatic when the margin reaches `min_margin` (a setting); otherwise triage with the top suggestions."""
    lead = margin(result)
    suggestions = tuple(match.category for match in result.candidates[:SUGGESTIONS])
    if result.category is not None and lead >= min_margin:
        return Placement(True, result.category, lead, suggestions)
    return Placement(False, None, lead, suggestions)

"""Re-routes teach the rules as corrections do: a case handed to another department or role is recorded with the
duty it went to (部门:城管, 角色:grid_worker); `rules suggest --from-corrections` maps that duty to a category of the
rules being improved, since only the rules know which category a department or role handles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.pipeline.identities import Actor
from bot.understanding.classifier import Classifier
from bot.understanding.rules import Category, RuleSet
from models import Case, CategoryCorrection, StaffRole

DEPARTMENT_DUTY = "部门:"
ROLE_DUTY = "角色:"


def duty_code(department: str | None, role: StaffRole | None) -> str | None:
    """The duty a case was handed to, as a correction's new code: its department, else its assignee's role."""
    if department:
        return (DEPARTMENT_DUTY + department)[:64]
    return ROLE_DUTY + role.value if role is not None else None


def record_reroute(session: AsyncSession, actor: Actor, case: Case, before: str | None, *, now: datetime) -> bool:
    """Records a correction when a re-route changed the duty (department, or role without one); True if so."""
    after = duty_code(case.department, case.assignee.role if case.assignee is not None else None)
    if before is None or after is None or after == before:
        return False
    session.add(CategoryCorrection(case_id=case.id, at=now, staff_id=actor.id, staff_name=actor.name,
                                   old_code=case.category_code, new_code=after, text=case.text))
    return True


def handles(category: Category, duty: str) -> bool:
    """Whether the category's cases go to that duty."""
    if duty.startswith(DEPARTMENT_DUTY):
        return category.department == duty[len(DEPARTMENT_DUTY):]
    return not category.department and (category.role or StaffRole.GRID_WORKER.value) == duty[len(ROLE_DUTY):]


def category_of_duty(rules: RuleSet, classifier: Classifier, text: str, duty: str, old_code: str | None) -> str | None:
    """The category a re-routed text belongs to under these rules: of those the duty handles, the one the
    classifier ranks highest (or the only one); None when the old category already goes there or none fits."""
    fitting = [c for c in rules.categories if handles(c, duty)]
    if not fitting or any(c.code == old_code for c in fitting):
        return None
    if len(fitting) == 1:
        return fitting[0].code
    codes = {c.code for c in fitting}
    ranked = [m.category.code for m in classifier.categorize(text, "report").candidates if m.category.code in codes]
    return ranked[0] if ranked else None


def is_duty(code: str) -> bool:
    """Whether a recorded correction names a duty (a re-route) rather than a category (改类)."""
    return code.startswith((DEPARTMENT_DUTY, ROLE_DUTY))

"""Who may do what to a case, and when not, the real reason with what would work instead.

A staff member acts on their own cases, and on cases in their units that nobody else holds. A case someone else
holds is theirs: only the community's supervisors (社区书记, 社区工作人员, 街道干部: routing's TRIAGE_ROLES) act on it
for them, and the holder is told (bot.cases.actions). Triage (分派, 不予受理) is the supervisors' alone. A
department acts on its department's cases. Department-only matters never go to grid workers."""

from __future__ import annotations

from bot.cases.lifecycle import ASSIGNEE_ACTIONS, TRANSITIONS, TRIAGE_ACTIONS, S
from bot.grid.directory import GridDirectory
from bot.grid.routing import TRIAGE_ROLES
from bot.pipeline.identities import Actor
from models import Case, CaseKind, StaffRole

SUPERVISORS = frozenset(TRIAGE_ROLES)


def staff_may_act(directory: GridDirectory, actor: Actor, case: Case, action: str) -> bool:
    """Whether the staff member may apply `action` to the case (its status aside)."""
    return why_not(directory, actor, case, action) is None


def why_not(directory: GridDirectory, actor: Actor, case: Case, action: str) -> str | None:
    """None when the staff member may apply `action` to the case; else the refusal, saying why and what would work."""
    label = TRANSITIONS[action].label
    if not actor.is_staff or actor.role is None:
        return "只有工作人员可以处理工单。"
    if case.assignee_id == actor.id and action in ASSIGNEE_ACTIONS:
        return None
    if action in TRIAGE_ACTIONS and actor.role not in SUPERVISORS and actor.role is not StaffRole.DEPARTMENT:
        return f"{actor.role.label}无权{label}：{_triage_advice(case, actor, action)}"
    if actor.role is StaffRole.DEPARTMENT:
        if actor.department and case.department == actor.department:
            return None
        return f"您无权处理 {case.number}：它不属于{actor.department or '您的部门'}，也未派给您。"
    if actor.unit_id is None or not directory.unit(actor.unit_id).contains(directory.unit(case.unit_id)):
        return f"您无权处理 {case.number}：它不在您负责的网格内，也未派给您。"
    if action == "claim":
        return None if case.kind is CaseKind.WISH else f"只有微心愿可以认领；{case.number} 请用「接单 {case.id}」。"
    if actor.role is StaffRole.VOLUNTEER:
        return f"志愿者无权{label}工单，请联系社区工作人员。"
    holder = case.assignee
    if holder is not None and holder.id != actor.id and actor.role not in SUPERVISORS:
        return (f"您无权{label} {case.number}：它已派给{holder.role.label}{holder.name}，只有承办人或社区书记可以"
                f"{label}；如需接手，请社区书记「转派 {case.id} {actor.name}」。")
    return None


def _triage_advice(case: Case, actor: Actor, action: str) -> str:
    if action == "reject" and case.assignee_id == actor.id:
        return f"如不属于您处理，请「退回 {case.id} 原因」，由社区书记决定是否受理。"
    return "请联系社区书记或社区工作人员处理。"


def wrong_state(case: Case, action: str) -> str:
    """Why the case's status does not allow the action, and the step that comes first."""
    transition = TRANSITIONS[action]
    if action == "resolve" and case.status in {S.ASSIGNED, S.TRANSFERRED, S.REOPENED}:
        return f"{case.number} 还未接单，请先回复「接单 {case.id}」。"
    if action in TRIAGE_ACTIONS and case.assignee is not None and case.status.is_open:
        holder = f"{case.assignee.role.label}{case.assignee.name}"
        return (f"{case.number} 已派给{holder}（{case.status.label}），不能直接{transition.label}："
                f"请先「退回 {case.id} 原因」，再「{transition.label} {case.id} …」。")
    return f"{case.number} 当前状态为「{case.status.label}」，不能{transition.label}。"

"""The Open311 services: one per category residents may report, grouped by its first-level class."""

from __future__ import annotations

from typing import Any

from bot.understanding.rules import Category, RuleSet
from models import CaseKind

BUILDING_ATTRIBUTE = "building"
KEYWORDS_SHOWN = 8


def reportable(rules: RuleSet) -> list[Category]:
    """The categories a resident may report, in the rules file's order."""
    return [c for c in rules.categories if CaseKind.REPORT.value in c.kinds]


def category_group(rules: RuleSet, category: Category) -> str:
    """The first-level class a category belongs to (the rules file's `taxonomy:`), or 其他."""
    return rules.taxonomy.get(category.code) or "其他"


def needs_building(category: Category) -> bool:
    """Grid matters are handled per building, so their services ask which one; department matters do not."""
    return not category.department_only


def service(rules: RuleSet, category: Category) -> dict[str, Any]:
    """One entry of services.json."""
    group = category_group(rules, category)
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{group} / {category.name}",
        "metadata": needs_building(category),
        "type": "realtime",
        "keywords": ",".join(k.word for k in category.keywords[:KEYWORDS_SHOWN]),
        "group": group,
    }


def definition(category: Category) -> dict[str, Any]:
    """services/{code}.json: the attributes a client should ask for."""
    attributes = []
    if needs_building(category):
        attributes.append({
            "variable": True, "code": BUILDING_ATTRIBUTE, "datatype": "string", "required": False,
            "datatype_description": "楼栋号，例如 3号楼", "order": 1,
            "description": "问题所在的楼栋（小区内的问题请填写）", "values": [],
        })
    return {"service_code": category.code, "attributes": attributes}

"""Writing rules files people can read and edit: mined categories, merged rule sets, suggested changes as diffs."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import yaml

from bot.understanding.mining import MinedLabel, is_department
from config import yamlfile

MINED_SLA = {"accept": 24, "resolve": 120}
MINED_ROLE = "community_staff"  # a matter label is placed by the community; a department label goes to it
KEYWORDS_PER_LINE = 8


def _scalar(value: object) -> str:
    """A YAML scalar in flow style: plain where safe, JSON-quoted otherwise."""
    text = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and re.fullmatch(r"[\w\u3400-\u9fff][\w\u3400-\u9fff·.-]*", value) \
            and yamlfile.safe_load(value) == value:
        return value
    return text


def _flow(items: list[str], indent: int) -> str:
    """A flow list wrapped every KEYWORDS_PER_LINE entries, continuation lines aligned under the first."""
    lines = [", ".join(items[i:i + KEYWORDS_PER_LINE]) for i in range(0, len(items), KEYWORDS_PER_LINE)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def keyword_list(keywords: list[dict | str] | dict[str, float], indent: int) -> str:
    """Keywords as written in config/rules.yaml: `word` for weight 1, `word: weight` otherwise."""
    pairs = keywords.items() if isinstance(keywords, dict) else \
        [(next(iter(k)), next(iter(k.values()))) if isinstance(k, dict) else (k, 1) for k in keywords]
    items = [_scalar(w) if float(weight) == 1.0 else f"{_scalar(w)}: {_number(weight)}" for w, weight in pairs]
    return _flow(items, indent)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def mined_categories(mined: list[MinedLabel]) -> list[dict]:
    """Mined labels as category entries: the label is the name; department labels route to that department."""
    entries = []
    for rule in mined:
        if not rule.keywords:
            continue
        entry: dict = {"code": rule.code, "name": rule.label, "kinds": ["report"]}
        if is_department(rule.label):
            entry.update(role="department", department=rule.label, department_only=True)
        else:
            entry["role"] = MINED_ROLE
        entry.update(sla_hours=dict(MINED_SLA), keywords=[{w: weight} for w, weight in rule.keywords.items()])
        if rule.negative:
            entry["negative"] = list(rule.negative)
        entries.append(entry)
    return entries


def dump_rules(data: dict) -> str:
    """A whole rules file in the shipped file's layout (flow lists of keywords), any unknown section kept."""
    out = ["# gridbot classification rules (written by `gridbot rules`; edit freely, check with `rules check`).",
           f"version: {data.get('version', 1)}", "", "intents:"]
    for name, intent in data.get("intents", {}).items():
        out.append(f"  {name}:")
        for field in ("commands", "hashtags"):
            if field in intent:
                out.append(f"    {field}: [{', '.join(json.dumps(t, ensure_ascii=False) for t in intent[field])}]")
        for grade, words in (intent.get("grades") or {}).items():  # the rating's grades (网上评)
            out += ["    grades:"] if grade == next(iter(intent["grades"])) else []
            out.append(f"      {grade}: " + keyword_list(words, 8 + len(grade)))
        if intent.get("keywords"):
            out.append("    keywords: " + keyword_list(intent["keywords"], 14))
    for key, value in data.items():
        if key not in {"version", "intents", "categories", "taxonomy", "courtesy"}:
            out += ["", yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False).rstrip()]
    if data.get("courtesy"):
        out += ["", "courtesy: " + _flow([_scalar(c) for c in data["courtesy"]], 10)]
    out += ["", "categories:"]
    for category in data.get("categories", []):
        out.append(f"  - code: {category['code']}")
        for field in ("name", "kinds", "role", "department", "department_only", "sla_hours"):
            if field in category and category[field] is not None:
                value = category[field]
                if isinstance(value, dict):
                    text = "{" + ", ".join(f"{k}: {_number(v)}" for k, v in value.items()) + "}"
                elif isinstance(value, list):
                    text = "[" + ", ".join(map(_scalar, value)) + "]"
                elif isinstance(value, bool):
                    text = "true" if value else "false"
                else:
                    text = _scalar(value)
                out.append(f"    {field}: {text}")
        out.append("    keywords: " + keyword_list(category["keywords"], 14))
        if category.get("negative"):
            out.append("    negative: " + _flow([_scalar(n) for n in category["negative"]], 14))
        out.append("")
    if data.get("taxonomy"):
        out.append("taxonomy:")
        out += [f"  {name}: [{', '.join(codes)}]" for name, codes in data["taxonomy"].items()]
    return "\n".join(out).rstrip() + "\n"


def read_data(path: Path) -> dict:
    """A rules file as plain data (already checked with load_rules by the caller)."""
    return yamlfile.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def with_categories(base: dict, categories: list[dict], *, replace: bool) -> dict:
    """The base rules (intents, courtesy, every other section) with the given categories added or instead.

    A category whose code the base already uses replaces the base's; with `replace` the base's categories go
    and the taxonomy and the group offers' wrong_categories forget them.
    """
    data = dict(base)
    new_codes = {c["code"] for c in categories}
    kept = [] if replace else [c for c in base.get("categories", []) if c["code"] not in new_codes]
    data["categories"] = kept + categories
    codes = {c["code"] for c in data["categories"]}
    taxonomy = {name: [c for c in members if c in codes] for name, members in (base.get("taxonomy") or {}).items()}
    data["taxonomy"] = {name: members for name, members in taxonomy.items() if members}
    if (offers := base.get("offers")) and "wrong_categories" in offers:
        data["offers"] = {**offers, "wrong_categories": [c for c in offers["wrong_categories"] if c in codes]}
    return data


def add_keywords(source: str, additions: dict[str, dict[str, float]]) -> str:
    """The rules file text with keywords appended to named categories' lists, everything else untouched."""
    lines = source.splitlines(keepends=True)
    for code, keywords in additions.items():
        start = next((i for i, line in enumerate(lines) if re.match(rf"\s*-\s*code:\s*{re.escape(code)}\s*$", line)), None)
        if start is None or not keywords:
            continue
        at = next(i for i in range(start, len(lines)) if re.match(r"\s*keywords:\s*\[", lines[i]))
        end = next(i for i in range(at, len(lines)) if lines[i].rstrip().endswith("]"))
        extra = ", ".join(f"{_scalar(w)}: {_number(weight)}" for w, weight in keywords.items())
        lines[end] = lines[end].rstrip()[:-1] + f", {extra}]\n"
    return "".join(lines)


def diff(before: str, after: str, name: str) -> str:
    """A unified diff of a rules file, for a person to read and apply."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))

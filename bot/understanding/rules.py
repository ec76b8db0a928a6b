"""Classification rules: intents and case categories, loaded from YAML and checked with line-exact errors."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from config import yamlfile
from models import Rating, StaffRole

CASE_KINDS = frozenset({"report", "wish", "appointment"})
INTENT_NAMES = ("report", "wish", "appointment", "status", "rating", "help", "cancel")
CHATTER = "not_for_bot"  # optional rule: cues that a message is group chatter (通知, 拼车, 出售)
STAFF_ROLES = frozenset(role.value for role in StaffRole)
CATEGORY_FIELDS = frozenset({
    "code", "name", "kinds", "role", "department", "department_only", "sla_hours", "keywords", "negative",
})
INTENT_FIELDS = frozenset({"keywords", "commands", "hashtags", "grades"})
TOP_FIELDS = frozenset({"version", "intents", "categories", "courtesy", "taxonomy", "offers"})
OFFER_LISTS = frozenset({  # the word lists bot/understanding/offers.py reads (group offers)
    "shared_things", "shared_places", "personal_things", "problem_states", "calls_to_act", "wish_frames",
    "wish_actions", "service_things", "service_asks", "hearsay", "resolved", "promised", "notice_wording", "praise",
    "asking_neighbours", "lost_and_found", "trade", "own_doing", "advice", "extents", "nuisances", "harms",
    "wants", "hardships", "wrong_categories", "weather", "home_fittings"})
CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
COMMAND_PATTERN = re.compile(r"/[a-z][a-z0-9_]*")


class RulesError(Exception):
    """The rules file is unusable; the message names file, line and rule."""


@dataclass(frozen=True)
class Keyword:
    word: str
    weight: float = 1.0


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    kinds: frozenset[str]
    keywords: tuple[Keyword, ...]
    negative: tuple[str, ...]
    role: str | None
    department: str | None
    department_only: bool
    sla_accept_hours: float
    sla_resolve_hours: float
    line: int


@dataclass(frozen=True)
class IntentRule:
    name: str
    keywords: tuple[Keyword, ...]
    commands: tuple[str, ...]
    hashtags: tuple[str, ...]
    grades: tuple[tuple[Rating, tuple[str, ...]], ...] = ()  # the rating intent's grades, in the order to read them


@dataclass(frozen=True)
class RuleSet:
    source: Path
    intents: dict[str, IntentRule]
    categories: tuple[Category, ...]
    courtesy: tuple[str, ...] = ()  # greetings and sign-offs that never decide an intent in a long text
    taxonomy: dict[str, str] = field(default_factory=dict)  # category code -> first-level class (城乡建设, ...)
    offers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group offers' word lists by name

    def category(self, code: str) -> Category | None:
        """The category with this code, if any."""
        return next((c for c in self.categories if c.code == code), None)

    @property
    def grades(self) -> tuple[tuple[Rating, tuple[str, ...]], ...]:
        """The rating intent's grades; a rules file without them grades by the labels alone (不满意 first)."""
        return self.intents["rating"].grades or tuple((r, (r.label,)) for r in _LABEL_ORDER)

    def grade_in(self, text: str) -> Rating | None:
        """The grade a resident's words give (网上评), read in the rules file's order: 不满意 before 满意."""
        return next((grade for grade, words in self.grades if any(w in text for w in words)), None)

    def grade_words(self) -> tuple[str, ...]:
        """Every grade word, longest first (what is left of 满意 12 很及时 once they are taken out is the comment)."""
        return tuple(sorted((w for _, words in self.grades for w in words), key=len, reverse=True))


_LABEL_ORDER = (Rating.DISSATISFIED, Rating.BASICALLY_SATISFIED, Rating.SATISFIED)


_SCALARS = yaml.constructor.SafeConstructor()


class _Reader:
    """Turns YAML nodes into values, raising RulesError that point at the node's line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: Node, where: str, problem: str) -> RulesError:
        """An error naming file, line of `node`, the rule being read and the problem."""
        prefix = f"{where}: " if where else ""
        return RulesError(f"{self.path}:{line_of(node)}: {prefix}{problem}")

    def mapping(self, node: Node, where: str, what: str, allowed: frozenset[str]) -> dict[str, tuple[Node, Node]]:
        """A mapping's entries by key, each with its key node; unknown and repeated keys are errors."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, where, f"{what} must be a mapping")
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, where, f"a key in {what}")
            if not isinstance(key, str):
                raise self.fail(key_node, where, f"{what}: key {key!r} must be text")
            if allowed and key not in allowed:
                raise self.fail(key_node, where, f"{what}: unknown field {key!r} (expected one of {sorted(allowed)})")
            if key in entries:
                raise self.fail(key_node, where, f"{what}: {key!r} given twice")
            entries[key] = (key_node, value_node)
        return entries

    def scalar(self, node: Node, where: str, what: str) -> object:
        """A plain value (text, number, bool, null)."""
        if not isinstance(node, ScalarNode):
            raise self.fail(node, where, f"{what} must be a single value")
        return _SCALARS.construct_object(node)

    def text(self, node: Node, where: str, what: str) -> str:
        """A non-empty string; numbers are not accepted as text."""
        value = self.scalar(node, where, what)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, where, f"{what} must be non-empty text")
        return value.strip()

    def number(self, node: Node, where: str, what: str) -> float:
        """A finite number greater than zero."""
        value = self.scalar(node, where, what)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(node, where, f"{what} must be a number")
        if value <= 0:
            raise self.fail(node, where, f"{what} must be > 0")
        return float(value)

    def flag(self, node: Node, where: str, what: str) -> bool:
        """true or false."""
        value = self.scalar(node, where, what)
        if not isinstance(value, bool):
            raise self.fail(node, where, f"{what} must be true or false")
        return value

    def items(self, node: Node, where: str, what: str) -> list[Node]:
        """The nodes of a sequence."""
        if not isinstance(node, SequenceNode):
            raise self.fail(node, where, f"{what} must be a list")
        return list(node.value)

    def texts(self, node: Node, where: str, what: str) -> tuple[str, ...]:
        """A list of distinct non-empty strings."""
        values: list[str] = []
        for item in self.items(node, where, what):
            value = self.text(item, where, f"an entry of {what}")
            if value in values:
                raise self.fail(item, where, f"{what}: {value!r} listed twice")
            values.append(value)
        return tuple(values)

    def keywords(self, node: Node, where: str) -> tuple[Keyword, ...]:
        """Keywords written as `word` or `word: weight`; an empty list or a repeated word is an error."""
        found: dict[str, Keyword] = {}
        for item in self.items(node, where, "keywords"):
            weight_node: Node | None = None
            if isinstance(item, MappingNode) and len(item.value) == 1:
                item, weight_node = item.value[0]
            word = self.text(item, where, "a keyword")
            weight = self.number(weight_node, where, f"weight of keyword {word!r}") if weight_node else 1.0
            if word.lower() in found:
                raise self.fail(item, where, f"keyword {word!r} listed twice")
            found[word.lower()] = Keyword(word, weight)
        if not found:
            raise self.fail(node, where, "keywords must not be empty")
        return tuple(found.values())


def line_of(node: Node) -> int:
    """The 1-based line where a node starts."""
    return node.start_mark.line + 1


def load_rules(path: Path) -> RuleSet:
    """Reads and checks a rules file; any problem raises RulesError naming file, line and rule."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}:0: cannot read rules: {exc}") from None
    try:
        root = yamlfile.compose(source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise RulesError(f"{path}:{line}: malformed YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}:0: malformed YAML: {exc}") from None
    if root is None:
        raise RulesError(f"{path}:1: the rules file is empty")
    reader = _Reader(path)
    top = reader.mapping(root, "", "the rules file", TOP_FIELDS)
    for required in ("intents", "categories"):
        if required not in top:
            raise reader.fail(root, "", f"missing {required!r}")
    intents = read_intents(reader, *top["intents"])
    categories = read_categories(reader, *top["categories"])
    courtesy = reader.texts(top["courtesy"][1], "", "courtesy") if "courtesy" in top else ()
    taxonomy = read_taxonomy(reader, top["taxonomy"][1], categories) if "taxonomy" in top else {}
    offers = read_offers(reader, top["offers"][1], categories) if "offers" in top else {}
    return RuleSet(source=path, intents=intents, categories=categories, courtesy=courtesy, taxonomy=taxonomy,
                   offers=offers)


def read_offers(reader: _Reader, node: Node, categories: tuple[Category, ...]) -> dict[str, tuple[str, ...]]:
    """The group offers' word lists by name; wrong_categories must name categories."""
    known = {category.code for category in categories}
    offers: dict[str, tuple[str, ...]] = {}
    for name, (_, words) in reader.mapping(node, "", "offers", OFFER_LISTS).items():
        offers[name] = reader.texts(words, "offers", name)
        if name == "wrong_categories":
            for code, item in zip(offers[name], reader.items(words, "offers", name), strict=True):
                if code not in known:
                    raise reader.fail(item, "offers", f"unknown category {code!r}")
    return offers


def read_taxonomy(reader: _Reader, node: Node, categories: tuple[Category, ...]) -> dict[str, str]:
    """First-level classes (城乡建设: [codes]); every code must be a category, listed under one class only."""
    known = {category.code for category in categories}
    taxonomy: dict[str, str] = {}
    for name, (_, codes_node) in reader.mapping(node, "", "taxonomy", frozenset()).items():
        where = f"taxonomy '{name}'"
        for code, item in zip(reader.texts(codes_node, where, "codes"), reader.items(codes_node, where, "codes"),
                              strict=True):
            if code not in known:
                raise reader.fail(item, where, f"unknown category {code!r}")
            if code in taxonomy:
                raise reader.fail(item, where, f"{code!r} already belongs to {taxonomy[code]!r}")
            taxonomy[code] = name
    return taxonomy


def read_intents(reader: _Reader, key: Node, node: Node) -> dict[str, IntentRule]:
    """All intents; each known intent must be present, and a command or hashtag belongs to one intent only."""
    entries = reader.mapping(node, "", "intents", frozenset((*INTENT_NAMES, CHATTER)))
    missing = [name for name in INTENT_NAMES if name not in entries]
    if missing:
        raise reader.fail(key, "", f"intents: missing {', '.join(missing)}")
    intents: dict[str, IntentRule] = {}
    owner: dict[str, str] = {}
    for name, (key_node, value_node) in entries.items():
        intent = read_intent(reader, name, key_node, value_node)
        if name == CHATTER and (intent.commands or intent.hashtags):
            raise reader.fail(key_node, f"intent '{name}'", "chatter takes keywords only, no commands or hashtags")
        for trigger in intent.commands + intent.hashtags:
            if trigger in owner:
                raise reader.fail(key_node, f"intent '{name}'", f"{trigger!r} already belongs to intent '{owner[trigger]}'")
            owner[trigger] = name
        intents[name] = intent
    return intents


def read_intent(reader: _Reader, name: str, key_node: Node, node: Node) -> IntentRule:
    """One intent's keywords, commands and hashtags."""
    where = f"intent '{name}'"
    fields = reader.mapping(node, where, "the intent", INTENT_FIELDS)
    keywords = reader.keywords(fields["keywords"][1], where) if "keywords" in fields else ()
    commands = read_triggers(reader, where, fields, "commands")
    hashtags = read_triggers(reader, where, fields, "hashtags")
    grades: tuple[tuple[Rating, tuple[str, ...]], ...] = ()
    if "grades" in fields:
        if name != "rating":
            raise reader.fail(fields["grades"][0], where, "only the rating intent has grades")
        grades, cues = read_grades(reader, where, fields["grades"][1])
        listed = {k.word.lower() for k in keywords}
        for cue in cues:
            if cue.word.lower() in listed:
                raise reader.fail(fields["grades"][1], where, f"keyword {cue.word!r} listed twice (grades and keywords)")
        keywords = (*keywords, *cues)
    if not (keywords or commands or hashtags):
        raise reader.fail(key_node, where, "needs keywords, commands or hashtags")
    return IntentRule(name=name, keywords=keywords, commands=commands, hashtags=tuple(t.lower() for t in hashtags),
                      grades=grades)


def read_grades(reader: _Reader, where: str, node: Node) -> tuple[tuple[tuple[Rating, tuple[str, ...]], ...],
                                                                   tuple[Keyword, ...]]:
    """The rating's grades (satisfied | basically_satisfied | dissatisfied: words), each word written `word` (it
    grades only) or `word: weight` (it is also a cue of the rating intent with that weight)."""
    entries = reader.mapping(node, where, "grades", frozenset(r.value for r in Rating))
    if set(entries) != {r.value for r in Rating}:
        raise reader.fail(node, where, f"grades must name each of {sorted(r.value for r in Rating)}")
    grades, cues = [], []
    for grade, (_, words_node) in entries.items():
        words = reader.keywords(words_node, f"{where} grade '{grade}'")
        explicit = [isinstance(item, MappingNode) for item in reader.items(words_node, where, "grade words")]
        cues += [word for word, weighted in zip(words, explicit, strict=True) if weighted]
        grades.append((Rating(grade), tuple(w.word for w in words)))
    return tuple(grades), tuple(cues)


def read_triggers(reader: _Reader, where: str, fields: dict[str, tuple[Node, Node]], field: str) -> tuple[str, ...]:
    """An intent's commands (/name) or hashtags (#word)."""
    if field not in fields:
        return ()
    node = fields[field][1]
    triggers = reader.texts(node, where, field)
    for trigger, item in zip(triggers, reader.items(node, where, field), strict=True):
        if field == "commands" and not COMMAND_PATTERN.fullmatch(trigger):
            raise reader.fail(item, where, f"command {trigger!r} must look like /name (lower-case latin)")
        if field == "hashtags" and (not trigger.startswith("#") or len(trigger) < 2):
            raise reader.fail(item, where, f"hashtag {trigger!r} must start with #")
    return triggers


def read_categories(reader: _Reader, key: Node, node: Node) -> tuple[Category, ...]:
    """All categories, in file order; codes are unique."""
    categories: list[Category] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(reader.items(node, "", "categories"), 1):
        category, code_node = read_category(reader, index, item)
        if category.code in seen:
            raise reader.fail(code_node, f"category '{category.code}'",
                              f"code already used by the category at line {seen[category.code]}")
        seen[category.code] = category.line
        categories.append(category)
    if not categories:
        raise reader.fail(key, "", "categories must not be empty")
    return tuple(categories)


def read_category(reader: _Reader, index: int, node: Node) -> tuple[Category, Node]:
    """One category and the node of its code (for duplicate reports)."""
    fields = reader.mapping(node, f"category #{index}", "the category", CATEGORY_FIELDS)
    if "code" not in fields:
        raise reader.fail(node, f"category #{index}", "missing 'code'")
    code_node = fields["code"][1]
    code = reader.text(code_node, f"category #{index}", "code")
    where = f"category '{code}'"
    if not CODE_PATTERN.fullmatch(code):
        raise reader.fail(code_node, where, "code must be lower-case latin letters, digits and _")
    for required in ("name", "kinds", "keywords", "sla_hours"):
        if required not in fields:
            raise reader.fail(node, where, f"missing {required!r}")
    role, department = read_duty(reader, where, node, fields)
    department_only = reader.flag(fields["department_only"][1], where, "department_only") \
        if "department_only" in fields else False
    if department_only and department is None:
        raise reader.fail(fields["department_only"][1], where, "department_only needs a department")
    if department_only and role in {StaffRole.GRID_WORKER.value, StaffRole.BUILDING_LEAD.value,
                                    StaffRole.HOUSEHOLD_LEAD.value}:
        raise reader.fail(fields["role"][1], where, f"a department-only matter cannot have role {role!r}")
    accept, resolve = read_sla(reader, where, fields["sla_hours"][1])
    negative = reader.texts(fields["negative"][1], where, "negative") if "negative" in fields else ()
    category = Category(
        code=code, name=reader.text(fields["name"][1], where, "name"),
        kinds=read_kinds(reader, where, fields["kinds"][1]),
        keywords=reader.keywords(fields["keywords"][1], where), negative=negative,
        role=role, department=department, department_only=department_only,
        sla_accept_hours=accept, sla_resolve_hours=resolve, line=line_of(node),
    )
    return category, code_node


def read_duty(reader: _Reader, where: str, node: Node, fields: dict[str, tuple[Node, Node]]) -> tuple[str | None, str | None]:
    """The responsible role and department; at least one is required, and the role must be a staff role."""
    role = department = None
    if "role" in fields and not is_null(fields["role"][1]):
        role = reader.text(fields["role"][1], where, "role")
        if role not in STAFF_ROLES:
            raise reader.fail(fields["role"][1], where, f"unknown role {role!r} (expected one of {sorted(STAFF_ROLES)})")
    if "department" in fields and not is_null(fields["department"][1]):
        department = reader.text(fields["department"][1], where, "department")
    if role is None and department is None:
        raise reader.fail(node, where, "needs a responsible role or department")
    return role, department


def read_kinds(reader: _Reader, where: str, node: Node) -> frozenset[str]:
    """The case kinds a category applies to."""
    kinds = reader.texts(node, where, "kinds")
    for kind, item in zip(kinds, reader.items(node, where, "kinds"), strict=True):
        if kind not in CASE_KINDS:
            raise reader.fail(item, where, f"unknown kind {kind!r} (expected one of {sorted(CASE_KINDS)})")
    if not kinds:
        raise reader.fail(node, where, "kinds must not be empty")
    return frozenset(kinds)


def read_sla(reader: _Reader, where: str, node: Node) -> tuple[float, float]:
    """Hours to accept and to resolve; both positive, resolving no sooner than accepting."""
    fields = reader.mapping(node, where, "sla_hours", frozenset({"accept", "resolve"}))
    for required in ("accept", "resolve"):
        if required not in fields:
            raise reader.fail(node, where, f"sla_hours: missing {required!r}")
    accept = reader.number(fields["accept"][1], where, "sla_hours.accept")
    resolve = reader.number(fields["resolve"][1], where, "sla_hours.resolve")
    if resolve < accept:
        raise reader.fail(fields["resolve"][1], where, "sla_hours.resolve must not be shorter than sla_hours.accept")
    return accept, resolve


def is_null(node: Node) -> bool:
    """Whether a node is an explicit YAML null."""
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


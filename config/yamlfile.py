"""YAML read through libyaml's C parser where PyYAML was built with it (ten times faster: the rules file alone took
1.5 s of every start in pure Python), else through PyYAML's own; both build plain data only."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """The plain data of a YAML document."""
    return yaml.load(text, Loader=SafeLoader)


def compose(text: str) -> yaml.Node | None:
    """The node tree of a YAML document, each node with its line (for errors that name it)."""
    return yaml.compose(text, Loader=SafeLoader)


NULLS = frozenset(("~", "null", "Null", "NULL"))


def scalar_mappings(text: str) -> dict[str, str | dict[str, str]] | None:
    """The document as a mapping whose values are scalars or mappings of scalars, every scalar as written (a string),
    read event by event: a node tree of the group offers' 68,000 scalars peaks 30 MiB above the data it yields.
    None for a document of any other shape (sequences, aliases, deeper nesting): read it with safe_load."""
    top: dict[str, str | dict[str, str]] = {}
    inner: dict[str, str] | None = None  # the value mapping being read, when two deep
    key: str | None = None  # a key read, its value still to come
    opened = False  # the document's own mapping has begun
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentStartEvent,
                              yaml.DocumentEndEvent)):
            continue
        if isinstance(event, yaml.ScalarEvent) and opened:
            target = top if inner is None else inner
            if key is None:
                key = event.value
            else:  # a plain null (~, null) is empty, as the whole-document loader reads it
                target[key], key = "" if event.implicit[0] and event.value in NULLS else event.value, None
        elif isinstance(event, yaml.MappingStartEvent) and inner is None and key is not None:
            inner = top[key] = {}
            key = None
        elif isinstance(event, yaml.MappingStartEvent) and not opened:
            opened = True
        elif isinstance(event, yaml.MappingEndEvent):
            inner = None
        else:
            return None
    return top

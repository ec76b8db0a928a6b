"""Reading a district's YAML with the line of every mapping and key, for errors that name file and line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.grid.district.spec import Where
from config import yamlfile


class LineMapping(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LineLoader(yamlfile.SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader whose mappings carry line numbers and refuse duplicate keys."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineMapping:
    loader.flatten_mapping(node)
    mapping = LineMapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = key_node.start_mark.line + 1
    return mapping


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class Entry:
    """One record (a YAML mapping or a CSV row) with where each of its fields was written."""

    values: Mapping[str, Any]
    file: str
    line: int
    key_lines: Mapping[str, int] = field(default_factory=dict)

    def at(self, key: str | None = None) -> Where:
        return Where(self.file, self.key_lines.get(key, self.line) if key else self.line)

    def get(self, key: str) -> Any:
        return self.values.get(key)


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)

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

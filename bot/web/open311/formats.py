"""Open311 GeoReport v2 responses in the spec's two formats: XML (required) and JSON (bare arrays)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

from aiohttp import web

FORMATS = {"json": "application/json", "xml": "text/xml"}


class Open311Error(Exception):
    """A request the spec answers with an error array: the HTTP status and a description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill(parent: ElementTree.Element, tag: str, value: Any, item_tags: Mapping[str, str]) -> None:
    element = ElementTree.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _fill(element, key, inner, item_tags)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for inner in value:
            _fill(element, item_tags.get(tag, "item"), inner, item_tags)
    else:
        element.text = _text(value)


def to_xml(root: str, item: str | None, payload: Any, item_tags: Mapping[str, str] | None = None) -> bytes:
    """The payload as the spec's XML: a list becomes <root><item>…</item></root>, a mapping <root>…</root>."""
    tags = {root: item or "item", **(item_tags or {})}
    element = ElementTree.Element(root)
    if isinstance(payload, Mapping):
        for key, inner in payload.items():
            _fill(element, key, inner, tags)
    else:
        for inner in payload:
            _fill(element, tags[root], inner, tags)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(element, encoding="utf-8")


def respond(fmt: str, payload: Any, *, root: str, item: str | None = None, status: int = 200,
            item_tags: Mapping[str, str] | None = None) -> web.Response:
    """A response in the format the path asked for."""
    if fmt == "xml":
        body = to_xml(root, item, payload, item_tags)
    else:
        body = json.dumps(payload, ensure_ascii=False).encode()
    return web.Response(body=body, status=status, content_type=FORMATS[fmt], charset="utf-8")


def error_response(fmt: str, error: Open311Error) -> web.Response:
    """The spec's error array: [{"code": status, "description": …}] or <errors><error>…</error></errors>."""
    return respond(fmt, [{"code": error.status, "description": error.description}], root="errors", item="error",
                   status=error.status)

"""Operations of the JSON API as data, and the OpenAPI 3.1 document generated from them and their models."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.web.api.schema import ErrorBody

REF = "#/components/schemas/{model}"
ERROR_STATUSES = {400: "the request is malformed or a value is invalid", 401: "no valid API key",
                  403: "the key may not do this", 404: "no such thing in the key's scope",
                  409: "the case is not in a state that allows this", 413: "the body is too large",
                  429: "too many requests for this key"}


@dataclass(frozen=True)
class Operation:
    """One endpoint: its method and path (OpenAPI template), models, and the handler that serves it."""

    method: str
    path: str
    summary: str
    handler: Callable[[web.Request], Awaitable[web.Response]]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    response_list: bool = False
    status: int = 200
    path_params: dict[str, str] = field(default_factory=dict)  # name -> description (integers)


def document(operations: list[Operation], *, title: str, version: str, server: str) -> dict[str, Any]:
    """The OpenAPI document of these operations; every schema comes from a pydantic model."""
    models = {ErrorBody}
    for op in operations:
        models.update(m for m in (op.query, op.body, op.response) if m is not None)
    refs, schemas = models_json_schema([(m, "validation" if m in _inputs(operations) else "serialization")
                                        for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item: dict[str, Any] = {"summary": op.summary, "operationId": op.handler.__name__,
                                "security": [{"bearer": []}, {"apiKey": []}], "parameters": []}
        for name, description in op.path_params.items():
            item["parameters"].append({"name": name, "in": "path", "required": True, "description": description,
                                       "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}})
        if op.query is not None:
            schema = op.query.model_json_schema(ref_template=REF)
            required = set(schema.get("required", []))
            for name, prop in schema["properties"].items():
                item["parameters"].append({"name": name, "in": "query", "required": name in required,
                                           "description": prop.get("description", ""), "schema": prop})
        if op.body is not None:
            item["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": REF.format(model=op.body.__name__)}}}}
        responses: dict[str, Any] = {}
        if op.response is not None:
            ref = {"$ref": REF.format(model=op.response.__name__)}
            schema = {"type": "array", "items": ref} if op.response_list else ref
            responses[str(op.status)] = {"description": "OK", "content": {"application/json": {"schema": schema}}}
        for status, description in ERROR_STATUSES.items():
            responses[str(status)] = {"description": description, "content": {"application/json": {
                "schema": {"$ref": REF.format(model="ErrorBody")}}}}
        item["responses"] = responses
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "gridbot's JSON API: cases, categories, grid units and statistics, with the scope "
                                "rules of the staff dashboard. Authenticate with `Authorization: Bearer <key>`."},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {}), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
    }


def _inputs(operations: list[Operation]) -> set[type[BaseModel]]:
    return {m for op in operations for m in (op.query, op.body) if m is not None}

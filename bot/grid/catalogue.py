"""The services residents can book, loaded from config/services.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from bot.grid.routing import Responsibility
from config import yamlfile
from models import StaffRole


class CatalogueError(Exception):
    """The services file is malformed; the message names the file and the service."""


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    name: str
    aliases: tuple[str, ...]
    duty: Responsibility
    sla_accept_hours: float
    sla_resolve_hours: float


@dataclass(frozen=True)
class Catalogue:
    services: tuple[Service, ...]

    def find(self, text: str) -> Service | None:
        """The service a resident named: a number from the list, a word from its aliases, or a close spelling."""
        text = text.strip()
        if text.isdigit() and 1 <= int(text) <= len(self.services):
            return self.services[int(text) - 1]
        for service in self.services:
            if service.name in text or any(alias in text for alias in service.aliases):
                return service
        names = {service.code: service.name for service in self.services}
        best = process.extractOne(text, names, scorer=fuzz.partial_ratio, score_cutoff=80) if len(text) >= 2 else None
        return next(s for s in self.services if s.code == best[2]) if best else None

    def menu(self) -> str:
        return "\n".join(f"{i}. {s.name}" for i, s in enumerate(self.services, 1))


def load_catalogue(path: Path) -> Catalogue:
    """Reads and checks the services file."""
    try:
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path}: cannot read services: {exc}".replace("\n", " ")) from None
    services = []
    for index, item in enumerate(raw.get("services") or [], 1):
        where = f"{path}: service #{index} ({item.get('code', '?')})"
        role, department = item.get("role"), item.get("department")
        if role is not None and role not in {r.value for r in StaffRole}:
            raise CatalogueError(f"{where}: unknown role {role!r}")
        if not (role or department):
            raise CatalogueError(f"{where}: needs a role or a department")
        sla = item.get("sla_hours") or {}
        try:
            services.append(Service(
                code=str(item["code"]), name=str(item["name"]), aliases=tuple(map(str, item.get("aliases") or [])),
                duty=Responsibility(role, department, bool(department)),
                sla_accept_hours=float(sla.get("accept", 24)), sla_resolve_hours=float(sla.get("resolve", 72)),
            ))
        except KeyError as exc:
            raise CatalogueError(f"{where}: missing {exc.args[0]}") from None
    if not services:
        raise CatalogueError(f"{path}: no services defined")
    return Catalogue(tuple(services))

"""The field readers of a district file: each checks one value, records a problem and carries on."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from bot.grid.district.source import Entry, LineLoader, LineMapping, display_path
from bot.grid.district.spec import (
    _CODE,
    _FALSE,
    _PHONE,
    _TRUE,
    CHANNELS,
    LEVEL_WORDS,
    ROLE_WORDS,
    DistrictError,
    Where,
)
from models import StaffRole, UnitLevel


class FieldReader:
    """Reads a district file's records and fields, collecting every problem instead of stopping at the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = display_path(path)
        self.problems: list[str] = []

    def problem(self, where: Where, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def _load_yaml(self) -> LineMapping:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DistrictError([f"{self.file}:1: cannot read the district file: {exc.strerror}"]) from None
        try:
            root = yaml.load(text, Loader=LineLoader)  # a SafeLoader subclass: builds plain data only
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            raise DistrictError([f"{self.file}:{line}: invalid YAML: {exc.problem or exc.context}"]) from None
        if not isinstance(root, LineMapping):
            raise DistrictError([f"{self.file}:1: a district file must be a mapping with a 'district' key"])
        return root

    def _entry(self, mapping: LineMapping) -> Entry:
        return Entry(mapping, self.file, mapping.line, mapping.key_lines)

    def _records(self, parent: Entry, key: str) -> Iterator[Entry]:
        items = parent.get(key)
        if items is None:
            return
        if not isinstance(items, list):
            self.problem(parent.at(key), f"'{key}' must be a list")
            return
        for item in items:
            if isinstance(item, LineMapping):
                yield self._entry(item)
            else:
                self.problem(parent.at(key), f"every item of '{key}' must be a mapping, got {item!r}")

    def _unknown_keys(self, entry: Entry, allowed: frozenset[str], what: str) -> None:
        for key in entry.values:
            if key not in allowed:
                self.problem(entry.at(str(key)), f"{what}: unknown key {key!r} (expected one of "
                                                 f"{', '.join(sorted(allowed))})")

    def _text(self, entry: Entry, key: str, what: str, *, required: bool = True) -> str | None:
        value = entry.get(key)
        if value is None or value == "":
            if required:
                self.problem(entry.at(key), f"{what}: '{key}' is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.problem(entry.at(key), f"{what}: '{key}' must be text, got {value!r}")
            return None
        return str(value).strip()

    def _departments(self, root: Entry) -> set[str] | None:
        names = root.get("departments")
        if names is None:
            return None
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            self.problem(root.at("departments"), "'departments' must be a list of names")
            return None
        return {n.strip() for n in names}

    def _code(self, entry: Entry, key: str, what: str) -> str | None:
        code = self._text(entry, key, what)
        if code is not None and not _CODE.match(code):
            self.problem(entry.at(key), f"{what}: code {code!r} may hold only letters, digits, '-', '_', '.'")
            return None
        return code

    def _level(self, entry: Entry, what: str) -> UnitLevel | None:
        word = entry.get("level")
        if word is None:
            return None
        level = LEVEL_WORDS.get(str(word).strip())
        if level is None:
            self.problem(entry.at("level"), f"{what}: unknown level {word!r} (expected one of "
                                            f"{', '.join(v.value for v in UnitLevel)})")
        return level

    def _location(self, entry: Entry, what: str) -> tuple[float, float] | None:
        """`location: [latitude, longitude]` in degrees, when the file gives one."""
        raw = entry.get("location")
        if raw is None:
            return None
        if (not isinstance(raw, list) or len(raw) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
                or not (-90 <= raw[0] <= 90 and -180 <= raw[1] <= 180)):
            self.problem(entry.at("location"), f"{what}: 'location' must be [latitude, longitude] in degrees")
            return None
        return float(raw[0]), float(raw[1])

    def _aliases(self, entry: Entry, what: str) -> tuple[str, ...]:
        raw = entry.get("aliases")
        if raw is None:
            return ()
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(a, str) for a in items):
            self.problem(entry.at("aliases"), f"{what}: 'aliases' must be a list of names")
            return ()
        aliases = tuple(dict.fromkeys(a.strip() for a in items))
        for alias in aliases:
            if len(alias) < 2:  # one character would match half of all chatter
                self.problem(entry.at("aliases"), f"{what}: alias {alias!r} is shorter than two characters")
        return aliases

    def _role(self, entry: Entry, what: str) -> StaffRole | None:
        word = self._text(entry, "role", what)
        if word is None:
            return None
        role = ROLE_WORDS.get(word)
        if role is None:
            self.problem(entry.at("role"), f"{what}: unknown role {word!r} (expected one of "
                                           f"{', '.join(r.value for r in StaffRole)})")
        return role

    def _phone(self, entry: Entry, what: str) -> str | None:
        raw = self._text(entry, "phone", what, required=False)
        if raw is None:
            return None
        phone = re.sub(r"\s", "", raw)
        if not _PHONE.match(phone):
            self.problem(entry.at("phone"), f"{what}: malformed phone {raw!r} (expected an 11-digit mobile "
                                            f"number or an area-code landline such as 0917-3212345)")
            return None
        return phone

    def _flag(self, entry: Entry, key: str, what: str, *, default: bool) -> bool:
        value = entry.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        self.problem(entry.at(key), f"{what}: '{key}' must be true or false, got {value!r}")
        return default

    def _channel(self, entry: Entry, key: str, what: str) -> str | None:
        channel = self._text(entry, key, what)
        if channel is not None and channel not in CHANNELS:
            self.problem(entry.at(key), f"{what}: unknown channel {channel!r} (expected one of "
                                        f"{', '.join(sorted(CHANNELS))})")
            return None
        return channel

    def _identities(self, entry: Entry, what: str) -> tuple[tuple[str, str], ...]:
        """`identities: {telegram: 12345, wecom: lisi}` in YAML, `telegram:12345;wecom:lisi` in CSV."""
        raw = entry.get("identities")
        if raw is None or raw == "":
            return ()
        if isinstance(raw, str):
            pairs = [part.split(":", 1) for part in raw.split(";") if part.strip()]
            if not all(len(p) == 2 for p in pairs):
                self.problem(entry.at("identities"), f"{what}: identities must read 'channel:user_id;…'")
                return ()
            raw = {c.strip(): u.strip() for c, u in pairs}
        if not isinstance(raw, Mapping):
            self.problem(entry.at("identities"), f"{what}: 'identities' must map channel to user id")
            return ()
        found = []
        for channel, user_id in raw.items():
            if channel not in CHANNELS:
                self.problem(entry.at("identities"), f"{what}: unknown channel {channel!r} (expected one of "
                                                     f"{', '.join(sorted(CHANNELS))})")
            elif isinstance(user_id, bool) or not isinstance(user_id, str | int) or not str(user_id).strip():
                self.problem(entry.at("identities"), f"{what}: {channel} user id must be text")
            else:
                found.append((str(channel), str(user_id).strip()))
        return tuple(found)

    # CSV

    def _csv(self, root: Entry, key: str, columns: frozenset[str],
             required: frozenset[str]) -> Iterator[Entry]:
        """Rows of a CSV named by `key`, beside the YAML; errors name the CSV file and the row's line."""
        name = root.get(key)
        if name is None:
            return
        if not isinstance(name, str) or not name.strip():
            self.problem(root.at(key), f"'{key}' must name a CSV file beside the district file")
            return
        path = self.path.parent / name
        display = display_path(path)
        try:
            handle = path.open(encoding="utf-8-sig", newline="")
        except OSError as exc:
            self.problem(root.at(key), f"'{key}': cannot read {display}: {exc.strerror}")
            return
        with handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            unknown = [h for h in header if h not in columns]
            missing = sorted(required - set(header))
            if unknown or missing:
                self.problem(Where(display, 1), f"{key}: " + "; ".join(filter(None, [
                    f"unknown columns {', '.join(unknown)}" if unknown else "",
                    f"missing columns {', '.join(missing)}" if missing else "",
                ])))
                return
            reader.fieldnames = header
            for row in reader:
                if None in row:
                    self.problem(Where(display, reader.line_num), f"{key}: more fields than columns")
                    continue
                values = {k: v.strip() for k, v in row.items() if v is not None and v.strip()}
                if values:
                    yield Entry(values, display, reader.line_num)

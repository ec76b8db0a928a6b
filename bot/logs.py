"""The service's log: one JSON object per line (serve, scheduler) or the human format (terminal commands).

What is logged at INFO names things (channel, outcome, row ids, paths, job slots), never what a resident wrote;
every secret of the settings is masked in the message, the fields and the traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from config.settings import RedactSecrets, Settings, holds_any, scrub

HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LONG_RUNNING = frozenset({"serve", "scheduler"})  # `log_format: auto` writes JSON for these commands
# Third-party loggers that say at INFO what we say better: httpx logs every Bot API URL (the token is in its path).
QUIETER = ("alembic", "httpx", "httpcore", "apscheduler.scheduler", "apscheduler.executors.default")
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, the record's `extra` fields, and exc when raised."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = frozenset(secrets)
        # Made once, not per line: json.dumps builds a new encoder for every call with options, and so does
        # JSONEncoder.encode for its C part, which alone is kept (its values are plain: see format).
        self._encoder = json.JSONEncoder(ensure_ascii=False, default=str)
        self._encode = (json.encoder.c_make_encoder(None, str, json.encoder.encode_basestring, None, ": ", ", ",
                                                    False, False, True)
                        if json.encoder.c_make_encoder is not None else None)
        # A C-level search per secret tells a value that holds none (almost every one) from one scrub must mask.
        self._holds_secret = holds_any(self.secrets) if self.secrets else None
        # A secret JSON writes as itself shows in the encoded line wherever a value holds it: one search of the
        # line then clears it all. A secret JSON would escape (a quote, a backslash, a control character) cannot
        # be found that way, and every value is searched instead.
        self._line_searchable = all(json.encoder.encode_basestring(s)[1:-1] == s for s in self.secrets)

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "msg": record.getMessage(),
        }
        line.update({key: value if type(value) in _PLAIN else _plain(value) for key, value in fields.items()
                     if key not in _RECORD_FIELDS and not key.startswith("_")})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        if self._holds_secret is None or self._line_searchable:
            encoded = "".join(self._encode(line, 0)) if self._encode is not None else self._encoder.encode(line)
            if self._holds_secret is None or not self._holds_secret(encoded):
                return encoded
        return self._encoder.encode({key: self._clean(value) for key, value in line.items()})

    def _clean(self, value: object) -> object:
        if isinstance(value, str):
            return scrub(value, self.secrets) if self._holds_secret and self._holds_secret(value) else value
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self._clean(str(value))


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain(value: object) -> object:
    """A value as the line shows it: a str, a number, a bool or None as itself, anything else as its str."""
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


class ServiceHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs; a second call replaces it instead of adding another."""


def wants_json(settings: Settings, command: str | None) -> bool:
    """JSON lines when the setting says json, or says auto and the command is a long-running service."""
    return settings.log_format == "json" or (settings.log_format == "auto" and command in LONG_RUNNING)


def configure_logging(settings: Settings, *, command: str | None = None, stream: TextIO | None = None) -> None:
    """Logs at the configured level to stderr (or `stream`), as JSON lines or text, every secret masked.

    As logging.basicConfig, without a `stream` it leaves a root logger that something else already equipped
    (a program embedding the CLI, a test runner) to its owner, and only adds the masking filter."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if isinstance(handler, ServiceHandler)]
    secrets = settings.secret_values()
    if stream is not None or len(ours) == len(root.handlers):
        for old in ours:
            root.removeHandler(old)
            old.close()
        handler = ServiceHandler(stream or sys.stderr)
        handler.setFormatter(JsonLines(secrets) if wants_json(settings, command) else logging.Formatter(HUMAN_FORMAT))
        if wants_json(settings, command):
            # What neither format shows is not gathered for each record (the logging HOWTO's "Optimization"):
            # the caller's file and line (a frame walk), the thread's and the process's names.
            logging._srcfile = None
            logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
        root.addHandler(handler)
        root.setLevel(settings.log_level)
    for name in QUIETER:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    redact = RedactSecrets(secrets)
    for each in root.handlers:
        for old_filter in [f for f in each.filters if isinstance(f, RedactSecrets)]:
            each.removeFilter(old_filter)
        each.addFilter(redact)

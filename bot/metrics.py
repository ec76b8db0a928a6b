"""The service's counters, rendered for GET /metrics in the Prometheus text format (version 0.0.4)."""

from __future__ import annotations

import logging
from collections import defaultdict

events = logging.getLogger("gridbot.events")


class Counter:
    """A monotonically increasing count per label values; each increment is also one INFO event in the log."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...], *,
                 event: str | None = None) -> None:
        self.name = name
        self.help = help_text
        self.labels = labels
        self.event = event or name.removeprefix("gridbot_").removesuffix("_total")
        self.values: defaultdict[tuple[str, ...], float] = defaultdict(float)
        # Each label values' event line, made the first time: label values are few, increments many.
        self._lines: dict[tuple[str, ...], tuple[str, dict[str, str]]] = {}

    def inc(self, *values: str, amount: float = 1.0) -> None:
        self.values[values] += amount
        if events.isEnabledFor(logging.INFO):
            line = self._lines.get(values)
            if line is None:
                fields = dict(zip(self.labels, values, strict=True))
                said = " ".join(f"{k}={v}" for k, v in fields.items())
                line = self._lines[values] = (f"{self.event} {said}", {"event": self.event, **fields})
            events.info(line[0], extra=line[1])

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        for values, count in sorted(self.values.items()):
            lines.append(f"{self.name}{{{_labels(self.labels, values)}}} {count:g}")
        return lines


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    escaped = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for v in values)
    return ",".join(f'{n}="{v}"' for n, v in zip(names, escaped, strict=True))


MESSAGES_IN = Counter("gridbot_messages_in_total", "Inbound messages by channel and outcome.", ("channel", "outcome"),
                      event="message_in")
SENDS = Counter("gridbot_sends_total", "Outbox sends by channel, kind (reply or notice) and result.",
                ("channel", "kind", "result"), event="send")
COUNTERS = (MESSAGES_IN, SENDS)


def gauge(name: str, help_text: str, samples: dict[tuple[tuple[str, str], ...], float]) -> list[str]:
    """A gauge's lines from {((label, value), ...): sample}."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for labels, value in sorted(samples.items()):
        names, values = zip(*labels, strict=True) if labels else ((), ())
        lines.append(f"{name}{{{_labels(names, values)}}} {value:g}" if labels else f"{name} {value:g}")
    return lines


def render(extra: list[str]) -> str:
    """Every counter, then the gauges computed at scrape time."""
    return "\n".join([line for counter in COUNTERS for line in counter.render()] + extra) + "\n"

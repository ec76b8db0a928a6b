"""Prints the benches' JSON lines (bench/run_all.sh's results file) as one Markdown table: what, the command,
the headline figures; with the commit, the machine and the load average, so a figure says where it came from.
Usage: python bench/table.py RESULTS.jsonl [--commit C]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

# The figures worth a column: throughput, latency, CPU per update, memory, losses, accuracy on labelled sets.
HEADLINE = ("per_s", "p50", "p99", "rss_mib", "cpu_ms", "lost", "failures", "accuracy", "macro_f1")


def leaves(figures: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Every number in a bench's line, nested keys joined with dots."""
    found: list[tuple[str, Any]] = []
    for key, value in figures.items():
        if isinstance(value, dict):
            found += leaves(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found.append((f"{prefix}{key}", value))
    return found


def headline(figures: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value:g}" for key, value in leaves(figures)
                     if any(word in key for word in HEADLINE) and not key.endswith("spread"))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return f"{os.cpu_count()} CPU {platform.machine()} ({cpu}), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--commit", default="?")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"commit {args.commit} · {machine()} · load average now {load:.1f}\n")
    print("| bench | command | figures |\n| --- | --- | --- |")
    for line in args.results.read_text().splitlines():
        figures = json.loads(line)
        command = figures.pop("command", "")
        print(f"| {figures.pop('bench', '?')} | `{command}` | {headline(figures)} |")


if __name__ == "__main__":
    main()

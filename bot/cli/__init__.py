"""gridbot's command line (`python run.py ...` and the `gridbot` console script are the same program).

Every module of this package that has `register(commands)` is a command module: it adds its parser and sets
the function to run. This module finds them, parses, loads the settings once and turns every expected failure
into one line.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import pkgutil
import sys

from bot.cli.errors import CommandError
from config.settings import SettingsError, load_settings


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="gridbot", description="gridbot: resident requests on the community grid")
    commands = parser.add_subparsers(dest="command", required=True)
    for info in pkgutil.iter_modules(__path__):  # every command module; loaded here so each may import CommandError
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one command and returns its exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"gridbot: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    try:
        outcome = args.run(settings, args)
        if inspect.iscoroutine(outcome):
            outcome = asyncio.run(outcome)
    except CommandError as exc:
        print(f"gridbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(outcome or 0)

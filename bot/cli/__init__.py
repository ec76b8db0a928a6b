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
import os
import pkgutil
import sys

from bot.cli.errors import CommandError
from bot.logs import configure_logging
from config.settings import SettingsError, load_settings
from models.db import DriverInternalsMissing


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
    configure_logging(settings, command=args.command)
    try:
        outcome = args.run(settings, args)
        if inspect.iscoroutine(outcome):
            outcome = asyncio.run(outcome)
    except (CommandError, DriverInternalsMissing) as exc:
        print(f"gridbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): what it wanted was printed
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail again
        return 0
    return int(outcome or 0)

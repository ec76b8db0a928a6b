"""`settings`: the settings in effect (secrets masked), or the reference table the operations guide carries."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.errors import CommandError
from config.reference import env_value, settings_markdown, with_table
from config.settings import ENV_PREFIX, Settings, mask


def register(commands: argparse._SubParsersAction) -> None:
    """Adds settings."""
    settings = commands.add_parser("settings", help="print the settings in effect, or the reference table")
    settings.add_argument("--markdown", action="store_true",
                          help="print every setting with its default and meaning as a Markdown table")
    settings.add_argument("--write", type=Path, metavar="DOC",
                          help="with --markdown: replace the table between the settings markers in DOC")
    settings.set_defaults(run=settings_command)


def settings_command(settings: Settings, args: argparse.Namespace) -> int:
    """Prints NAME=value per setting in effect, or the Markdown reference (into a document with --write)."""
    if args.write and not args.markdown:
        raise CommandError("--write goes with --markdown")
    if not args.markdown:
        for name in type(settings).model_fields:
            print(f"{ENV_PREFIX}{name.upper()}={env_value(mask(name, getattr(settings, name)))}")
        return 0
    if args.write is None:
        print(settings_markdown(), end="")
        return 0
    try:
        document = args.write.read_text(encoding="utf-8")
        updated = with_table(document)
    except OSError as exc:
        raise CommandError(f"cannot read {args.write}: {exc.strerror}") from None
    except ValueError as exc:
        raise CommandError(f"{args.write}: {exc}") from None
    if updated != document:
        args.write.write_text(updated, encoding="utf-8")
    print(f"{args.write}: settings table {'updated' if updated != document else 'already current'}")
    return 0

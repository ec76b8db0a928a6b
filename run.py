#!/usr/bin/env python3
"""gridbot command line; the same program as the `gridbot` console script (see bot/cli)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())

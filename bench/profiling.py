"""CPU profiles of a bench's measured phase: cProfile on the service's thread CPU clock, so that a loaded machine
(other processes taking the cores) does not blame whatever happened to be waiting. `--profile FILE` writes pstats."""

from __future__ import annotations

import contextlib
import cProfile
import time
from collections.abc import Iterator


@contextlib.contextmanager
def profiled(path: str | None) -> Iterator[None]:
    """Profiles the block into `path` (pstats format) on the thread's CPU time; does nothing without a path."""
    if not path:
        yield
        return
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)

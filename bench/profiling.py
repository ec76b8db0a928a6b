"""CPU profiles of a bench's measured phase. `--profile FILE` writes pstats: cProfile on the service's thread CPU
clock, so that a loaded machine (other processes taking the cores) does not blame whatever happened to be waiting.
`--profile FILE.txt` samples the process with py-spy instead (collapsed stacks, one per line with its count, the
format flamegraph.pl reads): it does not slow each call down as cProfile does, which makes code with many small
calls (PTB's objects, SQLAlchemy) look dearer than it is; it needs py-spy (the bench extra) and ptrace rights."""

from __future__ import annotations

import contextlib
import cProfile
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SAMPLES_PER_S = 250


@contextlib.contextmanager
def profiled(path: str | None) -> Iterator[None]:
    """Profiles the block into `path` (pstats, or py-spy's collapsed stacks for a .txt); nothing without a path."""
    if not path:
        yield
        return
    if path.endswith(".txt"):
        with _sampled(path):
            yield
        return
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)


@contextlib.contextmanager
def _sampled(path: str) -> Iterator[None]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("--profile FILE.txt needs py-spy: pip install py-spy (it is in the bench extra)")
    sampler = subprocess.Popen([spy, "record", "--pid", str(os.getpid()), "--rate", str(SAMPLES_PER_S), "--format",
                                "raw", "--output", path], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    time.sleep(1.0)  # py-spy attaches before the block starts (a blocking sleep: the loop must not run meanwhile)
    if sampler.poll() is not None:
        raise SystemExit(f"py-spy could not sample this process: {sampler.stderr.read().decode().strip()[:300]}")
    try:
        yield
    finally:
        sampler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        sampler.wait(30)


@contextlib.contextmanager
def counted(on: bool) -> Iterator[None]:
    """Callgrind's instrumentation on for the block, when this process runs under it (see under_callgrind)."""
    if on:
        subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
    try:
        yield
    finally:
        if on:
            subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)


def instructions_so_far(on: bool) -> dict[str, int]:
    """Instructions callgrind has counted so far in this process, per thread ("Th 1" is the event loop's), when it
    runs under callgrind (see under_callgrind); empty otherwise. A phase's count is the difference of two readings."""
    if not on:
        return {}
    shown = subprocess.run(["callgrind_control", "-e", str(os.getpid())], check=True, capture_output=True,
                           text=True).stdout
    return {f"Th {number}": int(count.replace(",", ""))
            for number, count in re.findall(r"Th\s+(\d+)\s+([\d,]+)", shown)}


def counted_run(script: str, backend: str, arguments: list[str]) -> tuple[int, dict[str, Any]]:
    """The bench script run once under callgrind on one backend: the instructions counted, and the figures its
    JSON line gives for that backend."""
    if backend == "both":
        raise SystemExit("--instructions takes one --backend")
    count, output = under_callgrind(script, ["--backend", backend, *arguments])
    return count, json.loads(output.strip().splitlines()[-1])[backend]


def under_callgrind(script: str, arguments: list[str]) -> tuple[int, str]:
    """Runs the bench script again under valgrind's callgrind with --under-callgrind (its measured block inside
    `counted`; a peer process runs natively: valgrind does not follow children); returns the instructions counted
    in every thread of the service's process, and the script's output."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    run = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
                          sys.executable, script, *arguments, "--under-callgrind"], capture_output=True, text=True)
    collected = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode or collected is None:
        raise SystemExit(f"the bench failed under callgrind: {run.stderr.strip().splitlines()[-5:]}")
    return int(collected.group(1)), run.stdout

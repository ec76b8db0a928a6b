"""Memory of one `run.py serve` process with the synthetic Weibin district loaded (9,013 units, 1,255 staff,
639 groups) on SQLite: migrate, seed --synthetic, serve, wait for /healthz, read VmRSS (and the peak, VmHWM)
from /proc. Linux only. Prints one JSON line.
Usage: python bench/serve_memory.py [--settle SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after the first /healthz before reading")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (before/after comparisons)")
    args = parser.parse_args()
    root = args.root.resolve()
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        env = {**os.environ, "GRIDBOT_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/memory.db",
               "GRIDBOT_PORT": str(port), "PYTHONPATH": str(root)}
        run = [sys.executable, str(root / "run.py")]
        for command in (["migrate"], ["seed", "--synthetic"]):
            subprocess.run(run + command, env=env, cwd=root, check=True, capture_output=True)
        serve = subprocess.Popen(run + ["serve"], env=env, cwd=root, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            began = time.monotonic()
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                if serve.poll() is not None or time.monotonic() - began > 180:
                    raise SystemExit("serve did not answer /healthz")
                time.sleep(0.5)
            ready = time.monotonic() - began
            time.sleep(args.settle)
            rss, peak = status_kib(serve.pid, "VmRSS"), status_kib(serve.pid, "VmHWM")
        finally:
            serve.terminate()
            serve.wait(30)
    print(json.dumps({"bench": "serve_memory", "python": platform.python_version(), "machine": platform.machine(),
                      "checkout": str(root), "district": "synthetic Weibin", "backend": "sqlite", "rss_mib": round(rss / 1024, 1),
                      "peak_rss_mib": round(peak / 1024, 1), "seconds_to_healthz": round(ready, 1)}))


if __name__ == "__main__":
    main()

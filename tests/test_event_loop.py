"""serve and scheduler run on uvloop, as the benches that give the README's figures do, unless turned off."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_starts_on_uvloop_and_answers(tmp_path):
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/gridbot.db", "GRIDBOT_PORT": str(port),
           "GRIDBOT_SCHEDULER_IN_SERVE": "false"}
    service = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "serve"], cwd=ROOT, env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in service.stderr:  # start-up logs until the service listens (or the process ends)
            seen.append(line)
            if "serving on" in line:
                break
        assert "serving on" in seen[-1], "".join(seen)
        assert "(event loop: uvloop)" in seen[-1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
            assert response.status == 200
    finally:
        service.send_signal(signal.SIGINT)
        service.communicate(timeout=60)
    assert service.returncode == 0  # SIGINT stops serve gracefully


@pytest.mark.parametrize(("setting", "loop"), [(None, "uvloop"), ("asyncio", "asyncio")])
def test_the_scheduler_runs_on_uvloop_unless_turned_off(database_url, monkeypatch, caplog, setting, loop):
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", database_url)
    if setting:
        monkeypatch.setenv("GRIDBOT_EVENT_LOOP", setting)
    with caplog.at_level(logging.INFO, logger="gridbot"):
        assert main(["scheduler", "--once"]) == 0
    assert f"scheduler started (event loop: {loop})" in caplog.text

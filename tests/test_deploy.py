"""The deployment files in deploy/ and the settings reference in docs/operations.md match the program they run."""

from __future__ import annotations

import configparser
import logging
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser, main
from bot.understanding.compiled import PURE_PYTHON
from config.reference import BEGIN, END, meanings, with_table
from config.settings import ENV_PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
OPERATIONS = ROOT / "docs" / "operations.md"
SETTING_NAME = re.compile(r"\bGRIDBOT_[A-Z0-9_]+\b")
# Settings, the file naming them, and the import-time switch to the plain classifier modules (not a setting).
KNOWN = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | {ENV_PREFIX + "CONFIG", PURE_PYTHON}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def interpolate(value: str) -> str:
    """Compose's ${NAME:-default} and ${NAME:?message}, with a stand-in for every value the operator sets."""
    def one(match: re.Match[str]) -> str:
        name, operator, default = match.group(1), match.group(2), match.group(3)
        stand_in = {"GRIDBOT_WEB_SECRET": "w" * 40, "POSTGRES_PASSWORD": "pg-secret"}.get(name, "set-by-operator")
        return default if operator == ":-" else stand_in
    return re.sub(r"\$\{([A-Z0-9_]+)(:-|:\?)?([^}]*)\}", one, value)


def runs_a_real_command(argv: list[str]) -> None:
    """The program is the `gridbot` console script and its arguments parse as one of its commands."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert Path(argv[0]).name in scripts, argv
    build_parser().parse_args(argv[1:])  # exits (SystemExit) on an unknown command or option


def test_compose_runs_two_services_a_scheduler_and_postgresql_with_real_commands_and_settings():
    services = compose()["services"]
    commands = {name: spec.get("command") for name, spec in services.items() if "command" in spec}
    assert sorted(commands.values()) == [["gridbot", "scheduler"], ["gridbot", "serve"], ["gridbot", "serve"]]
    for argv in commands.values():
        runs_a_real_command(argv)
    assert services["postgres"]["image"].startswith("postgres:")
    for name in commands:
        environment = services[name]["environment"]
        assert set(environment) <= KNOWN, set(environment) - KNOWN
        settings = load_settings({key: interpolate(str(value)) for key, value in environment.items()})
        assert not settings.is_sqlite and settings.telegram_mode == "webhook"  # several instances: webhooks
        assert settings.scheduler_in_serve is False  # the scheduler service runs the jobs
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        host = settings.database_url.split("@", 1)[1].split(":", 1)[0]
        assert host in services
    for spec in services.values():
        for dependency in spec.get("depends_on", []):
            assert dependency in services
    upstreams = re.findall(r"server\s+([\w-]+):(\d+)", (DEPLOY / "nginx.conf").read_text(encoding="utf-8"))
    assert sorted(upstreams) == [(name, "8080") for name, argv in sorted(commands.items()) if argv[1] == "serve"]


def test_the_env_example_names_only_real_settings():
    lines = (DEPLOY / "gridbot.env.example").read_text(encoding="utf-8").splitlines()
    names = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    assert {name for name in names if name.startswith(ENV_PREFIX)} <= KNOWN
    assert "POSTGRES_PASSWORD" in names


@pytest.mark.parametrize("unit", sorted(path.name for path in (DEPLOY / "systemd").glob("*.service")))
def test_systemd_units_run_a_real_command_and_stop_gracefully(unit: str, tmp_path: Path):
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(DEPLOY / "systemd" / unit, encoding="utf-8")
    service = parser["Service"]
    argv = shlex.split(service["ExecStart"])
    runs_a_real_command(argv)
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > Settings().shutdown_grace_seconds
    environment = dict(pair.split("=", 1) for pair in shlex.split(service.get("Environment", "")))
    assert set(environment) <= KNOWN
    if systemd_analyze := shutil.which("systemd-analyze"):  # the unit as installed, run by this checkout's program
        text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
        (tmp_path / unit).write_text(text.replace(argv[0], str(Path(sys.executable).parent / "gridbot")))
        instance = unit.replace("@.", "@8081.")  # a template is verified as one of its instances
        result = subprocess.run([systemd_analyze, "verify", "--man=no", f"./{instance}"], capture_output=True,
                                text=True, timeout=60, cwd=tmp_path)
        complaints = [line for line in result.stderr.splitlines() if unit.split("@")[0].split(".")[0] in line]
        assert result.returncode == 0 and not complaints, result.stderr


def test_the_operations_guide_carries_every_setting_as_the_model_defines_it():
    document = OPERATIONS.read_text(encoding="utf-8")
    assert BEGIN in document and END in document
    assert with_table(document) == document, (
        "docs/operations.md is out of date: run `python run.py settings --markdown --write docs/operations.md`")
    assert all(meanings().values()), [name for name, meaning in meanings().items() if not meaning]


@pytest.mark.parametrize("path", ["README.md", "docs/operations.md", "deploy/docker-compose.yml",
                                  "deploy/systemd/gridbot@.service"])
def test_documents_name_only_settings_that_exist(path: str):
    named = set(SETTING_NAME.findall((ROOT / path).read_text(encoding="utf-8")))
    prefixes = {name for name in named if name.endswith("_")}  # "GRIDBOT_EMERGENCY_ACCEPT_MINUTES / _RESOLVE…"
    assert named - prefixes <= KNOWN, sorted(named - prefixes - KNOWN)


@pytest.fixture
def root_logger_kept() -> Iterator[None]:
    """The CLI configures the root logger; it is put back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    for handler in root.handlers:
        handler.filters.clear()
    root.setLevel(level)


def test_the_settings_command_prints_the_table_and_masks_secrets_in_effect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], root_logger_kept: None):
    doc = tmp_path / "ops.md"
    doc.write_text(f"# Ops\n\n{BEGIN}\nold\n{END}\n\nafter\n", encoding="utf-8")
    monkeypatch.setenv("GRIDBOT_TELEGRAM_TOKEN", "123:secret-token-value")
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", "postgresql://app:pg-pass-word@db/gridbot")
    assert main(["settings", "--markdown", "--write", str(doc)]) == 0
    assert "| `GRIDBOT_TELEGRAM_TOKEN` (secret) | `(unset)` |" in doc.read_text(encoding="utf-8")
    assert doc.read_text(encoding="utf-8").endswith(f"{END}\n\nafter\n")
    assert main(["settings", "--markdown", "--write", str(doc)]) == 0
    assert "already current" in capsys.readouterr().out
    assert main(["settings"]) == 0
    shown = capsys.readouterr().out
    assert "GRIDBOT_TELEGRAM_TOKEN=***" in shown
    assert "GRIDBOT_DATABASE_URL=postgresql+asyncpg://app:***@db/gridbot" in shown
    assert "secret-token-value" not in shown and "pg-pass-word" not in shown
    assert main(["settings", "--write", str(doc)]) == 2
    refused = capsys.readouterr().err
    assert refused.count("\n") == 1 and "--markdown" in refused

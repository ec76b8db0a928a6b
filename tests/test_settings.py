"""Settings come from GRIDBOT_* variables and an optional config file; bad values stop start-up in one line."""

import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_sqlite_shanghai_localhost():
    settings = load_settings({})
    assert settings.database_url == "sqlite+aiosqlite:///var/gridbot.db"
    assert settings.timezone == "Asia/Shanghai"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)


def test_environment_overrides_and_plain_urls_get_async_drivers():
    settings = load_settings({"GRIDBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1/test", "GRIDBOT_PORT": "9000"})
    assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1/test"
    assert settings.port == 9000


def test_config_file_is_read_and_environment_wins(tmp_path):
    config = tmp_path / "gridbot.yaml"
    config.write_text("port: 8181\ntimezone: Asia/Urumqi\n", encoding="utf-8")
    settings = load_settings({"GRIDBOT_CONFIG": str(config), "GRIDBOT_PORT": "8282"})
    assert settings.timezone == "Asia/Urumqi"
    assert settings.port == 8282


@pytest.mark.parametrize(("environ", "named"), [
    ({"GRIDBOT_PORT": "eighty"}, "GRIDBOT_PORT"),
    ({"GRIDBOT_PORT": "70000"}, "GRIDBOT_PORT"),
    ({"GRIDBOT_TIMEZONE": "Mars/Olympus"}, "GRIDBOT_TIMEZONE"),
    ({"GRIDBOT_DATABASE_URL": "mysql://x"}, "GRIDBOT_DATABASE_URL"),
    ({"GRIDBOT_LOG_LEVEL": "LOUD"}, "GRIDBOT_LOG_LEVEL"),
])
def test_invalid_setting_names_the_variable_in_one_line(environ, named):
    with pytest.raises(SettingsError) as error:
        load_settings(environ)
    message = str(error.value)
    assert named in message and "\n" not in message


def test_unreadable_config_file_is_one_clear_line(tmp_path):
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings({"GRIDBOT_CONFIG": str(tmp_path / "missing.yaml")})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="mapping"):
        load_settings({"GRIDBOT_CONFIG": str(bad)})


def test_cli_refuses_to_start_with_an_invalid_setting():
    result = subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT, capture_output=True, text=True,
                            env={"GRIDBOT_PORT": "abc", "PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "GRIDBOT_PORT" in result.stderr

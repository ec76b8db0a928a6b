"""Settings come from GRIDBOT_* variables and an optional config file; bad values stop start-up in one line."""

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs import configure_logging
from config.settings import Settings, SettingsError, load_settings, secret_kind

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


SECRET_VALUES = [
    ({"GRIDBOT_DATABASE_URL": "mysql://admin:hunter2@db/prod"}, "hunter2", "mysql://admin:***@db/prod"),
    ({"GRIDBOT_DATABASE_URL": "mssql://db/prod?user=admin&password=hunter2"}, "hunter2", "password=***"),
    ({"GRIDBOT_WECOM_AES_KEY": "hunter2hunter2"}, "hunter2", "'***'"),
    ({"GRIDBOT_WECHAT_AES_KEY": ["hunter2", "x"]}, "hunter2", "'***'"),
    ({"GRIDBOT_WECOM_SECRET": 12345678}, "12345678", "'***'"),
]


@pytest.mark.parametrize(("environ", "secret", "shown"), SECRET_VALUES)
def test_an_invalid_secret_setting_is_named_but_never_echoed(environ, secret, shown):
    with pytest.raises(SettingsError) as error:
        load_settings(environ)
    message = str(error.value)
    assert secret not in message
    assert shown in message and "\n" not in message


def test_a_config_file_with_a_syntax_error_on_a_secret_line_does_not_quote_it(tmp_path):
    config = tmp_path / "gridbot.yaml"
    config.write_text("port: 8181\ndatabase_url: postgresql://admin:hunter2@db: prod\n", encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings({"GRIDBOT_CONFIG": str(config)})
    message = str(error.value)
    assert "hunter2" not in message
    assert "line 2" in message and "\n" not in message


def test_every_credential_setting_is_marked_secret_beside_its_field():
    credentials = [name for name in Settings.model_fields if re.search(r"token|secret|aes_key|password", name)]
    assert credentials
    assert all(secret_kind(name) is not None for name in credentials), credentials
    assert secret_kind("database_url").url
    assert secret_kind("wechat_appid") is None


def test_the_cli_refuses_a_bad_database_url_without_showing_its_password():
    result = subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT, capture_output=True, text=True,
                            env={"GRIDBOT_DATABASE_URL": "mysql://admin:hunter2@db/prod", "PATH": "/usr/bin:/bin"},
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "GRIDBOT_DATABASE_URL" in result.stderr and "mysql://admin:***@db/prod" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_logs_mask_the_secrets_in_messages_and_tracebacks(caplog):
    token, password = "123456:AAE-hunter2-token", "pg-hunter2"
    configure_logging(load_settings({}, telegram_token=token, database_url=f"postgresql://app:{password}@db/gb"))
    log = logging.getLogger("telegram.ext")
    with caplog.at_level(logging.INFO):
        log.info("HTTP Request: POST %s", f"https://api.telegram.org/bot{token}/getUpdates")
        try:
            raise ConnectionError(f"cannot reach postgresql://app:{password}@db/gb")
        except ConnectionError:
            log.exception("database down")
    assert "https://api.telegram.org/bot***/getUpdates" in caplog.text and "database down" in caplog.text
    assert "ConnectionError: cannot reach postgresql://app:***@db/gb" in caplog.text
    assert token not in caplog.text and password not in caplog.text

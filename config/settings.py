"""Service settings: GRIDBOT_* environment variables, optionally a YAML config file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CONFIG_DIR = Path(__file__).resolve().parent
ENV_PREFIX = "GRIDBOT_"


class SettingsError(Exception):
    """A setting is invalid; the message is one line naming the variable."""


class Settings(BaseModel):
    """Everything the service reads from its environment, validated once at start."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    database_url: str = "sqlite+aiosqlite:///var/gridbot.db"
    timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    rules_path: Path = CONFIG_DIR / "rules.yaml"
    district_path: Path = CONFIG_DIR / "district" / "demo.yaml"
    services_path: Path = CONFIG_DIR / "services.yaml"
    bot_name: str = "gridbot"
    max_text_chars: int = Field(2000, ge=100, le=100_000)
    confidence_threshold: float = Field(0.6, ge=0.0, le=1.0)
    duplicate_window_hours: float = Field(72.0, ge=0.0)
    duplicate_similarity: float = Field(60.0, ge=0.0, le=100.0)
    conversation_ttl_minutes: int = Field(30, ge=1)
    log_level: str = "INFO"
    public_url: str | None = None  # where platforms reach this service's webhooks, e.g. https://gridbot.example.cn

    # --- telegram (issue 3) ---
    telegram_token: str | None = None
    telegram_mode: str = "polling"
    telegram_api_base: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: str | None = None

    # --- wechat (issue 4) ---
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_token: str | None = None
    wechat_aes_key: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_robot_token: str | None = None
    wecom_robot_aes_key: str | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com"

    # --- schedule and delivery (issue 5) ---

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("sqlite:///") or value == "sqlite://":
            value = value.replace("sqlite://", "sqlite+aiosqlite://", 1)
        elif value.startswith(("postgresql://", "postgres://")):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Builds settings from a config file (GRIDBOT_CONFIG), the environment and explicit overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        values.update(_read_config_file(Path(config_file)))
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            values[key[len(ENV_PREFIX):].lower()] = value
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ENV_PREFIX + ".".join(str(p) for p in first["loc"]).upper()
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {name}: {message} (got {first.get('input')!r})") from None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"config file {path} is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(loaded, dict):
        raise SettingsError(f"config file {path} must hold a mapping of setting names to values")
    return {str(k).lower(): v for k, v in loaded.items()}

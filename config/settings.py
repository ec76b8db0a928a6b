"""Service settings: GRIDBOT_* environment variables, optionally a YAML config file."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config import yamlfile

CONFIG_DIR = Path(__file__).resolve().parent
ENV_PREFIX = "GRIDBOT_"


class SettingsError(Exception):
    """A setting is invalid; the message is one line naming the variable."""


class Secret:
    """Marks a setting that never appears in errors or logs; of a URL, only the password is hidden."""

    def __init__(self, *, url: bool = False) -> None:
        self.url = url


SECRET = Secret()
SECRET_URL = Secret(url=True)
MASK = "***"


class Settings(BaseModel):
    """Everything the service reads from its environment, validated once at start."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    database_url: Annotated[str, SECRET_URL] = "sqlite+aiosqlite:///var/gridbot.db"
    # fast: the fair pool and inline SQLite driver (models/pool.py, models/sqlite_driver.py), which reach into
    # private parts of the pinned SQLAlchemy and aiosqlite; stock: SQLAlchemy's own pool and adapters.
    database_drivers: Literal["fast", "stock"] = "fast"
    # PostgreSQL connections one serve or scheduler process keeps open once a burst has opened them (SQLite: one).
    database_pool_size: int = Field(30, ge=1, le=500)
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"  # serve and scheduler; asyncio where uvloop is missing
    timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    rules_path: Path = CONFIG_DIR / "rules.yaml"
    district_path: Path = CONFIG_DIR / "district" / "demo.yaml"
    services_path: Path = CONFIG_DIR / "services.yaml"
    bot_name: str = "gridbot"
    max_text_chars: int = Field(2000, ge=100, le=100_000)
    confidence_threshold: float = Field(0.6, ge=0.0, le=1.0)
    # Selective automation: a category is taken without asking only when it leads the second by this share of
    # its score (0: any lead); `rules suggest` prints the share placed and precision at each margin.
    auto_route_margin: float = Field(0.0, ge=0.0, le=1.0)
    duplicate_window_hours: float = Field(72.0, ge=0.0)
    duplicate_similarity: float = Field(60.0, ge=0.0, le=100.0)
    conversation_ttl_minutes: int = Field(30, ge=1)
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"  # auto: JSON lines for serve and scheduler, text otherwise
    public_url: str | None = None  # where platforms reach this service's webhooks, e.g. https://gridbot.example.cn

    # --- group offers (issue 11): a report overheard in a group gets one offer to file it ---
    group_offer_window_minutes: int = Field(120, ge=0)  # at most one offer per sender per group in this window
    group_offer_ttl_minutes: int = Field(30, ge=1)  # an offer nobody takes lapses, and its text is dropped
    group_offer_private: bool = False  # make the offer in a private chat where the channel can reach the sender there
    # --- the case as a conversation (issue 11): 催办 and ratings ---
    urge_interval_hours: float = Field(12.0, ge=0.0)  # a 催办 within this long of the last one tells nobody again
    rating_change_hours: float = Field(24.0, ge=0.0)  # a rating can be changed this long after it was given
    # --- emergencies (issue 11): the numbers residents are told at once, and the SLA in minutes ---
    emergency_numbers: dict[str, str] = {"police": "110", "fire": "119", "ambulance": "120", "gas": "119",
                                         "lift": "96333"}
    emergency_accept_minutes: int = Field(10, ge=1, le=600)
    emergency_resolve_minutes: int = Field(120, ge=1, le=1440)

    @field_validator("emergency_numbers", mode="before")
    @classmethod
    def _emergency_numbers(cls, value: Any) -> Any:
        if isinstance(value, str):  # police:110,fire:119,ambulance:120,gas:0917-1234567,lift:96333
            pairs = [part.split(":", 1) for part in value.split(",") if part.strip()]
            if any(len(pair) != 2 or not re.fullmatch(r"[\d-]{3,20}", pair[1].strip()) for pair in pairs):
                raise ValueError("write kind:number pairs separated by commas, e.g. police:110,gas:0917-1234567")
            value = {"police": "110", "fire": "119", "ambulance": "120", "gas": "119", "lift": "96333",
                     **{kind.strip(): number.strip() for kind, number in pairs}}
        return value

    # --- telegram (issue 3) ---
    telegram_token: Annotated[str | None, SECRET] = None
    telegram_mode: str = "polling"
    telegram_api_base: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: Annotated[str | None, SECRET] = None

    @field_validator("telegram_mode")
    @classmethod
    def _telegram_mode(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in {"polling", "webhook"}:
            raise ValueError("must be polling or webhook")
        return value

    @field_validator("telegram_token", "telegram_webhook_secret")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    # --- wechat (issue 4) ---
    wechat_appid: str | None = None
    wechat_secret: Annotated[str | None, SECRET] = None
    wechat_token: Annotated[str | None, SECRET] = None
    wechat_aes_key: Annotated[str | None, SECRET] = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: Annotated[str | None, SECRET] = None
    wecom_token: Annotated[str | None, SECRET] = None
    wecom_aes_key: Annotated[str | None, SECRET] = None
    wecom_robot_token: Annotated[str | None, SECRET] = None
    wecom_robot_aes_key: Annotated[str | None, SECRET] = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    wechat_template_id: str | None = None  # template message used when the 48-hour customer-service window is closed
    wechat_template_field: str = "thing1"  # the template's field that carries the notice text
    wechat_reply_window_seconds: float = Field(4.0, gt=0.0, le=4.8)  # passive replies must leave within 5 s
    wechat_api_timeout_seconds: float = Field(10.0, gt=0.0, le=60.0)

    @field_validator("wechat_appid", "wechat_secret", "wechat_token", "wechat_aes_key", "wecom_corp_id",
                     "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key", "wecom_robot_token",
                     "wecom_robot_aes_key", "wechat_template_id")
    @classmethod
    def _wechat_blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("wechat_aes_key", "wecom_aes_key", "wecom_robot_aes_key")
    @classmethod
    def _encoding_aes_key(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 43 and value.isascii() and value.isalnum()):
            raise ValueError("must be the 43-character EncodingAESKey (letters and digits)")
        return value

    @field_validator("wecom_agent_id")
    @classmethod
    def _agent_id(cls, value: str | None) -> str | None:
        if value is not None and not value.isdigit():
            raise ValueError("must be the app's numeric AgentId")
        return value

    # --- schedule and delivery (issue 5) ---
    scheduler_in_serve: bool = True  # serve also runs the cron jobs; JobRun slots keep them once per slot
    delivery_tick_seconds: float = Field(1.0, gt=0.0, le=60.0)
    delivery_rates: dict[str, float] = {"telegram": 30.0, "wechat": 20.0, "wecom": 20.0, "console": 100.0}
    delivery_chat_per_minute: dict[str, int] = {"telegram": 20, "wecom": 20}  # per group chat (WeCom: its robot)
    sla_sweep_minutes: int = Field(5, ge=1, le=60)
    sla_reminder_hours: float = Field(2.0, ge=0.0)  # remind this long before a deadline (at most 1/4 of the SLA)
    sla_escalation_step_hours: float = Field(24.0, gt=0.0)  # from community secretary up to street officer
    sla_natural_below_hours: float = Field(12.0, ge=0.0)  # shorter SLAs run round the clock (urgent matters)
    work_hours: str = "09:00-12:00,14:00-18:00"
    work_weekdays: str = "mon-fri"
    holidays: list[str] = []  # YYYY-MM-DD, 法定节假日
    extra_workdays: list[str] = []  # YYYY-MM-DD, 调休上班 weekend days
    digest_time: str = "08:30"
    weekly_report_at: str = "mon 09:00"
    wish_campaign_at: str = "01-05 09:00"  # MM-DD HH:MM, every year
    wish_campaign_deadline: str = "01-31"  # MM-DD: the annual call closes then, and its summary goes out
    wish_claim_remind_days: float = Field(3.0, gt=0.0)  # a claim without progress this long is reminded
    wish_claim_release_days: float = Field(7.0, gt=0.0)  # ... and released after this long
    rating_followup_hours: float = Field(24.0, gt=0.0)
    rating_autoclose_days: float = Field(7.0, gt=0.0)
    # --- web (issue 16) ---
    web_secret: Annotated[str | None, SECRET] = None  # 32+ characters; encrypts session cookies. Unset: a new one per start
    web_cookie_secure: bool = True  # Secure cookies; browsers accept them on https and on 127.0.0.1/localhost
    web_login_minutes: int = Field(15, ge=1, le=1440)  # how long a login link stays valid
    web_session_hours: int = Field(12, ge=1, le=24 * 30)
    web_public_cache_seconds: float = Field(60.0, ge=0.0, le=3600.0)
    photo_dir: Path = Path("var/photos")
    photo_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)

    @field_validator("web_secret")
    @classmethod
    def _web_secret(cls, value: str | None) -> str | None:
        value = value.strip() or None if value is not None else None
        if value is not None and len(value) < 32:
            raise ValueError("must be at least 32 characters (e.g. the output of `openssl rand -hex 32`)")
        return value

    # --- reliability (issue 10): durable replies, sends, shutdown ---
    reply_lease_seconds: float = Field(60.0, ge=1.0, le=600.0)  # a reply's writer owns it this long; then any runner
    send_timeout_seconds: float = Field(40.0, gt=0.0, le=300.0)  # one send; above the platforms' slowest answer
    delivery_private_per_second: dict[str, float] = {"telegram": 1.0}  # per private chat, as the platform allows
    delivery_shared_budget: bool | None = None  # delivery_rates per bot across instances (database); None: on for PG
    callback_window_seconds: float = Field(300.0, ge=30.0, le=3600.0)  # WeChat/WeCom callback timestamps: ± this
    wechat_allow_plaintext: bool = False  # the OA's plaintext mode: its signature does not cover the body (unsafe)
    inbound_per_sender_per_minute: int = Field(0, ge=0, le=10_000)  # to the bot; more are kept, not handled; 0: off
    inbound_per_source_per_minute: int = Field(0, ge=0, le=1_000_000)  # webhook POSTs from one address; 429; 0: off
    inbound_per_path_per_minute: int = Field(0, ge=0, le=1_000_000)  # POSTs into one webhook path; 429; 0: off
    shutdown_grace_seconds: float = Field(20.0, gt=0.0, le=300.0)  # SIGTERM: how long work in flight may finish

    @field_validator("holidays", "extra_workdays", mode="before")
    @classmethod
    def _date_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for day in value or []:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(day)):
                raise ValueError(f"dates are written YYYY-MM-DD, not {day!r}")
        return [str(day) for day in value or []]

    @field_validator("delivery_rates", "delivery_chat_per_minute", "delivery_private_per_second", mode="before")
    @classmethod
    def _channel_numbers(cls, value: Any) -> Any:
        if isinstance(value, str):  # telegram:30,wecom:20
            pairs = [part.split(":", 1) for part in value.split(",") if part.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("write channel:number pairs separated by commas, e.g. telegram:30,wecom:20")
            value = {name.strip(): number.strip() for name, number in pairs}
        return value

    @field_validator("work_hours")
    @classmethod
    def _work_hours(cls, value: str) -> str:
        if not re.fullmatch(r"\d{2}:\d{2}-\d{2}:\d{2}(,\d{2}:\d{2}-\d{2}:\d{2})*", value.replace(" ", "")):
            raise ValueError("write periods as HH:MM-HH:MM separated by commas")
        return value.replace(" ", "")

    @field_validator("digest_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("write a time of day as HH:MM")
        return value

    @field_validator("weekly_report_at")
    @classmethod
    def _weekly_at(cls, value: str) -> str:
        if not re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d", value.lower()):
            raise ValueError("write a weekday and a time, e.g. 'mon 09:00'")
        return value.lower()

    @field_validator("wish_campaign_at")
    @classmethod
    def _yearly_at(cls, value: str) -> str:
        if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("write a date and a time, e.g. '01-05 09:00'")
        return value

    @field_validator("wish_campaign_deadline")
    @classmethod
    def _month_day(cls, value: str) -> str:
        if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", value):
            raise ValueError("write a month and day, e.g. '01-31'")
        return value

    @field_validator("work_weekdays")
    @classmethod
    def _weekdays(cls, value: str) -> str:
        if not re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?"
                            r"(,(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?)*", value.lower()):
            raise ValueError("write weekdays as e.g. 'mon-fri' or 'mon-fri,sat'")
        return value.lower()

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

    @field_validator("database_drivers", "event_loop", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

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

    def secret_values(self) -> set[str]:
        """The secret strings these settings hold (of a URL, its password), for scrubbing logs."""
        values: set[str] = set()
        for name in type(self).model_fields:
            kind, value = secret_kind(name), getattr(self, name, None)
            if kind is None or value is None:
                continue
            values.update(_url_passwords(str(value)) if kind.url else {str(value)})
        return {value for value in values if len(value) >= MIN_SCRUBBED}


MIN_SCRUBBED = 4  # shorter values would blot out ordinary words of a log line; errors mask them all the same


def secret_kind(name: str) -> Secret | None:
    """How the setting `name` is secret, None for an ordinary one."""
    field = Settings.model_fields.get(name)
    return next((mark for mark in field.metadata if isinstance(mark, Secret)), None) if field else None


_NETLOC = re.compile(r"^(?P<head>[A-Za-z][\w+.-]*://)(?P<netloc>[^/?#]*)")
_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:password|passwd|pwd)=)[^&#]*")


def _url_passwords(url: str) -> set[str]:
    found = set()
    netloc = _NETLOC.match(url)
    if netloc and "@" in netloc["netloc"]:
        userinfo = netloc["netloc"].rsplit("@", 1)[0]
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
    found.update(match.group(0).split("=", 1)[1] for match in _QUERY_PASSWORD.finditer(url))
    return {value for value in found if value}


def mask(name: str, value: Any) -> Any:
    """The value of setting `name` as errors may show it: a secret's hidden, a URL's password hidden."""
    kind = secret_kind(name)
    if kind is None or value is None:
        return value
    if not kind.url:
        return MASK
    text = str(value)
    netloc = _NETLOC.match(text)
    if netloc and "@" in netloc["netloc"]:
        userinfo, host = netloc["netloc"].rsplit("@", 1)
        user = userinfo.split(":", 1)[0] + (":" + MASK if ":" in userinfo else "")
        text = netloc["head"] + user + "@" + host + text[netloc.end():]
    return _QUERY_PASSWORD.sub(lambda match: match.group(1) + MASK, text)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by the mask."""
    for secret in sorted(secrets, key=len, reverse=True):  # a secret that contains another goes first
        text = text.replace(secret, MASK)
    return text


def holds_any(secrets: Iterable[str]) -> Callable[[str], bool]:
    """A test of whether a text holds any of `secrets`, run on every log line: a C-level substring search per secret
    (for a few secrets, about half the instructions of one regular expression of them all)."""
    kept = tuple(secrets)
    return lambda text: any(map(text.__contains__, kept))


class RedactSecrets(logging.Filter):
    """A log filter that masks the settings' secrets in every record's message and traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = frozenset(secrets)
        self._holds_secret = holds_any(self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if self._holds_secret(message):
            record.msg, record.args = scrub(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, self.secrets)
        return True


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
        field, given = str(first["loc"][0]), first.get("input")
        if secret_kind(field) is not None and given is not None:
            message = scrub(message, {str(given), *_url_passwords(str(given))})
        raise SettingsError(f"invalid setting {name}: {message} (got {mask(field, given)!r})") from None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        # Only the problem and its place: PyYAML's own message quotes the line, which may hold a secret.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "unreadable"
        raise SettingsError(f"config file {path} is not valid YAML{where}: {problem}") from None
    if not isinstance(loaded, dict):
        raise SettingsError(f"config file {path} must hold a mapping of setting names to values")
    return {str(k).lower(): v for k, v in loaded.items()}

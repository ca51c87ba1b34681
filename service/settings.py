"""Every setting of the service, read once from ZIZHU_* environment variables into one frozen object.

The README's configuration table lists the same variables; keep the two in step.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from service.clientaddress import IpNetwork, parse_networks
from service.datadir import generated_key
from service.money import MoneyFormatError, parse_yuan
from service.passwords import password_problem


class SettingsError(ValueError):
    """A ZIZHU_* variable holds a value the service cannot use."""


def _int(env: dict[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _yuan(env: dict[str, str], name: str, default: str) -> int:
    """An amount of money in yuan ("1000.00"), as fen; never negative."""
    raw = (env.get(name) or default).strip()
    try:
        return parse_yuan(raw)
    except MoneyFormatError:
        raise SettingsError(f"{name} must be an amount in yuan such as 1000.00, got {raw!r}") from None


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class NotifySettings:
    """Reminders and their channels (README: ZIZHU_SMS_*, ZIZHU_SMTP_*, ZIZHU_WEBHOOK_*, ZIZHU_NOTIFY_*)."""

    sms_url: str | None = None
    sms_token: str = field(default="", repr=False)
    sms_concurrency: int = 32
    sms_timeout_seconds: int = 10
    sms_daily_cap: int = 3  # SMS per recipient per local day
    quiet_hours: tuple[int, int] | None = (21 * 60, 8 * 60)  # minutes of the day: no SMS from … until …
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = "zizhu@localhost"
    webhook_url: str | None = None
    webhook_secret: str = field(default="", repr=False)
    max_attempts: int = 8
    retry_base_seconds: int = 30
    retry_max_seconds: int = 3600
    lease_seconds: int = 120
    dispatch_every_seconds: int = 5
    language: str = "zh-CN"


def _quiet_hours(raw: str) -> tuple[int, int] | None:
    if raw.strip().lower() in {"", "off", "none"}:
        return None
    try:
        start, end = (int(h) * 60 + int(m) for h, m in (part.strip().split(":") for part in raw.split("-")))
    except ValueError:
        raise SettingsError(f"ZIZHU_SMS_QUIET_HOURS must read like 21:00-08:00 (or off), got {raw!r}") from None
    if not (0 <= start < 1440 and 0 <= end < 1440):
        raise SettingsError(f"ZIZHU_SMS_QUIET_HOURS must read like 21:00-08:00 (or off), got {raw!r}")
    return start, end


def _notify_settings(env: dict[str, str]) -> NotifySettings:
    language = env.get("ZIZHU_NOTIFY_LANGUAGE") or "zh-CN"
    if language not in {"zh-CN", "en"}:
        raise SettingsError(f"ZIZHU_NOTIFY_LANGUAGE must be zh-CN or en, got {language!r}")
    return NotifySettings(
        sms_url=env.get("ZIZHU_SMS_URL") or None,
        sms_token=env.get("ZIZHU_SMS_TOKEN", ""),
        sms_concurrency=_int(env, "ZIZHU_SMS_CONCURRENCY", 32, minimum=1),
        sms_timeout_seconds=_int(env, "ZIZHU_SMS_TIMEOUT_SECONDS", 10, minimum=1),
        sms_daily_cap=_int(env, "ZIZHU_SMS_DAILY_CAP", 3, minimum=1),
        quiet_hours=_quiet_hours(env.get("ZIZHU_SMS_QUIET_HOURS", "21:00-08:00")),
        smtp_host=env.get("ZIZHU_SMTP_HOST") or None,
        smtp_port=_int(env, "ZIZHU_SMTP_PORT", 25, minimum=1),
        smtp_user=env.get("ZIZHU_SMTP_USER") or None,
        smtp_password=env.get("ZIZHU_SMTP_PASSWORD", ""),
        smtp_from=env.get("ZIZHU_SMTP_FROM") or "zizhu@localhost",
        webhook_url=env.get("ZIZHU_WEBHOOK_URL") or None,
        webhook_secret=env.get("ZIZHU_WEBHOOK_SECRET", ""),
        max_attempts=_int(env, "ZIZHU_NOTIFY_MAX_ATTEMPTS", 8, minimum=1),
        retry_base_seconds=_int(env, "ZIZHU_NOTIFY_RETRY_BASE_SECONDS", 30, minimum=1),
        retry_max_seconds=_int(env, "ZIZHU_NOTIFY_RETRY_MAX_SECONDS", 3600, minimum=1),
        lease_seconds=_int(env, "ZIZHU_NOTIFY_LEASE_SECONDS", 120, minimum=1),
        dispatch_every_seconds=_int(env, "ZIZHU_DISPATCH_EVERY_SECONDS", 5, minimum=1),
        language=language,
    )


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    database_schema: str | None
    admin_password: str | None
    secret_key: str = field(repr=False)
    timezone: str
    token_ttl_minutes: int
    login_max_failures: int
    login_lock_minutes: int
    centre_name: str
    county_code: str
    public_url: str
    log_level: str
    sql_echo: bool
    scheduler_enabled: bool
    centre_phone: str = ""
    audit_key: str = field(default="", repr=False)  # the audit chain's HMAC key (service.audit_chain)
    audit_seal_seconds: int = 10  # how often the scheduler seals new audit records into the chain
    import_max_rows: int = 200_000  # a contract sheet taller than this is refused before it is loaded
    import_background_rows: int = 20_000  # an upload with more rows is imported as a background job (202)
    objections_per_hour: int = 3  # objections one client address may lodge against one notice in an hour
    login_address_max_failures: int = 30  # sign-in attempts from one address (any names) per window
    trusted_proxies: tuple[IpNetwork, ...] = ()  # whose X-Forwarded-For is believed (service.clientaddress)
    repayment_max_credit: int = 100_000  # fen a repayment may leave held beyond what the contract owes
    notify: NotifySettings = field(default_factory=lambda: NotifySettings())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self) -> date:
        """The centre's business date: today in its time zone (the one wall-clock read; jobs and tests pass
        dates as arguments, and time-machine moves this one)."""
        return datetime.now(self.tz).date()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_file(self) -> Path | None:
        """The embedded database's file; None on PostgreSQL and for an SQLite database in memory."""
        if not self.is_sqlite:
            return None
        from sqlalchemy.engine import make_url

        database = make_url(self.database_url).database
        return None if not database or database == ":memory:" or database.startswith("file:") else Path(database)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("ZIZHU_DATA_DIR") or "./var").resolve()
        database_url = env.get("ZIZHU_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'zizhu.db'}"
        if not (database_url.startswith("sqlite+aiosqlite://") or database_url.startswith("postgresql+asyncpg://")):
            raise SettingsError("ZIZHU_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        schema = env.get("ZIZHU_DATABASE_SCHEMA") or None
        if schema is not None and not schema.replace("_", "").isalnum():
            raise SettingsError("ZIZHU_DATABASE_SCHEMA may hold letters, digits and underscores only")
        timezone = env.get("ZIZHU_TIMEZONE") or "Asia/Shanghai"
        try:
            ZoneInfo(timezone)
        except Exception:
            raise SettingsError(f"ZIZHU_TIMEZONE is not a known time zone: {timezone!r}") from None
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            database_schema=schema,
            admin_password=_admin_password(env.get("ZIZHU_ADMIN_PASSWORD") or None),
            secret_key=env.get("ZIZHU_SECRET_KEY") or _secret_from_data_dir(data_dir),
            timezone=timezone,
            token_ttl_minutes=_int(env, "ZIZHU_TOKEN_TTL_MINUTES", 480, minimum=1),
            login_max_failures=_int(env, "ZIZHU_LOGIN_MAX_FAILURES", 5, minimum=1),
            login_lock_minutes=_int(env, "ZIZHU_LOGIN_LOCK_MINUTES", 15, minimum=1),
            centre_name=env.get("ZIZHU_CENTRE_NAME") or "示范县学生资助管理中心",
            county_code=_county_code(env.get("ZIZHU_COUNTY_CODE") or "150430"),
            public_url=(env.get("ZIZHU_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            log_level=(env.get("ZIZHU_LOG_LEVEL") or "INFO").upper(),
            sql_echo=_bool(env, "ZIZHU_SQL_ECHO", False),
            scheduler_enabled=_bool(env, "ZIZHU_SCHEDULER", True),
            centre_phone=env.get("ZIZHU_CENTRE_PHONE", "").strip(),
            audit_key=env.get("ZIZHU_AUDIT_KEY") or _audit_key_from_data_dir(data_dir),
            audit_seal_seconds=_int(env, "ZIZHU_AUDIT_SEAL_SECONDS", 10, minimum=1),
            import_max_rows=_int(env, "ZIZHU_IMPORT_MAX_ROWS", 200_000, minimum=1),
            import_background_rows=_int(env, "ZIZHU_IMPORT_BACKGROUND_ROWS", 20_000, minimum=0),
            objections_per_hour=_int(env, "ZIZHU_OBJECTIONS_PER_HOUR", 3, minimum=1),
            login_address_max_failures=_int(env, "ZIZHU_LOGIN_ADDRESS_MAX_FAILURES", 30, minimum=1),
            trusted_proxies=_networks(env.get("ZIZHU_TRUSTED_PROXIES", "")),
            repayment_max_credit=_yuan(env, "ZIZHU_REPAYMENT_MAX_CREDIT", "1000.00"),
            notify=_notify_settings(env),
        )


def _county_code(value: str) -> str:
    if not (len(value) == 6 and value.isdigit()):
        raise SettingsError(f"ZIZHU_COUNTY_CODE must be the county's 6-digit administrative code, got {value!r}")
    return value


def _admin_password(password: str | None) -> str | None:
    why = password_problem(password, "admin") if password is not None else None
    if why:  # the first admin's password keeps the rules every other password keeps
        raise SettingsError(f"ZIZHU_ADMIN_PASSWORD: {why[1]}")
    return password


def _networks(raw: str) -> tuple[IpNetwork, ...]:
    try:
        return parse_networks(raw)
    except ValueError:
        raise SettingsError(
            f"ZIZHU_TRUSTED_PROXIES must list addresses or networks separated by commas, got {raw!r}"
        ) from None


def _secret_from_data_dir(data_dir: Path) -> str:
    """Embedded mode: a random signing key made once and kept under the data folder (mode 0600),
    so tokens survive a restart without anyone having to invent a secret."""
    return generated_key(data_dir / "secret.key", lambda: secrets.token_urlsafe(48))


def _audit_key_from_data_dir(data_dir: Path) -> str:
    """Embedded mode: the audit chain's key, made once beside the signing key. It must stay out of the database:
    whoever can change the database but not read this key cannot rewrite the chain so that it verifies."""
    return generated_key(data_dir / "audit.key", lambda: secrets.token_urlsafe(48))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()

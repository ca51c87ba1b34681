"""Every setting of the service, read once from ZIZHU_* environment variables into one frozen object.

The README's configuration table lists the same variables; keep the two in step.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo


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

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("ZIZHU_DATA_DIR") or "./var").resolve()
        database_url = env.get("ZIZHU_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'zizhu.db'}"
        if not (database_url.startswith("sqlite+aiosqlite://") or database_url.startswith("postgresql+asyncpg://")):
            raise SettingsError(
                "ZIZHU_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
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
            admin_password=env.get("ZIZHU_ADMIN_PASSWORD") or None,
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
        )


def _county_code(value: str) -> str:
    if not (len(value) == 6 and value.isdigit()):
        raise SettingsError(f"ZIZHU_COUNTY_CODE must be the county's 6-digit administrative code, got {value!r}")
    return value


def _secret_from_data_dir(data_dir: Path) -> str:
    """Embedded mode: a random signing key made once and kept under the data folder (mode 0600),
    so tokens survive a restart without anyone having to invent a secret."""
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker process made it a moment ago
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()

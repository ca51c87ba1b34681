"""Settings come from ZIZHU_* variables, with defaults for the embedded mode and clear errors."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError


def test_embedded_defaults(tmp_path):
    s = Settings.from_env({"ZIZHU_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'zizhu.db'}"
    assert s.is_sqlite and s.timezone == "Asia/Shanghai" and s.token_ttl_minutes == 480
    key = (tmp_path / "secret.key").read_text().strip()
    assert s.secret_key == key and len(key) >= 48
    assert oct((tmp_path / "secret.key").stat().st_mode)[-3:] == "600"
    assert Settings.from_env({"ZIZHU_DATA_DIR": str(tmp_path)}).secret_key == key  # kept across restarts
    assert "secret_key" not in repr(s)
    audit_key = (tmp_path / "audit.key").read_text().strip()  # the audit chain's key: its own, beside it
    assert s.audit_key == audit_key != key and len(audit_key) >= 48 and s.audit_seal_seconds == 10
    assert oct((tmp_path / "audit.key").stat().st_mode)[-3:] == "600" and audit_key not in repr(s)
    assert Settings.from_env({"ZIZHU_DATA_DIR": str(tmp_path)}).audit_key == audit_key


def test_explicit_values(tmp_path):
    s = Settings.from_env(
        {
            "ZIZHU_DATA_DIR": str(tmp_path),
            "ZIZHU_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "ZIZHU_DATABASE_SCHEMA": "county_1",
            "ZIZHU_SECRET_KEY": "k" * 40,
            "ZIZHU_TIMEZONE": "Asia/Urumqi",
            "ZIZHU_TOKEN_TTL_MINUTES": "60",
            "ZIZHU_SCHEDULER": "off",
            "ZIZHU_LOGIN_ADDRESS_MAX_FAILURES": "12",
            "ZIZHU_TRUSTED_PROXIES": "127.0.0.1,10.0.0.0/8",
        }
    )
    assert s.login_address_max_failures == 12 and [str(n) for n in s.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert not s.is_sqlite and s.database_schema == "county_1" and s.secret_key == "k" * 40
    assert s.tz.key == "Asia/Urumqi" and s.token_ttl_minutes == 60 and s.scheduler_enabled is False
    assert not (tmp_path / "secret.key").exists()
    fixed = tmp_path / "fixed"
    audited = Settings.from_env(
        {"ZIZHU_DATA_DIR": str(fixed), "ZIZHU_AUDIT_KEY": "a" * 40, "ZIZHU_AUDIT_SEAL_SECONDS": "3"}
    )
    assert (audited.audit_key, audited.audit_seal_seconds) == ("a" * 40, 3) and not (fixed / "audit.key").exists()


@pytest.mark.parametrize(
    "name,value,needle",
    [
        ("ZIZHU_DATABASE_URL", "mysql://x", "ZIZHU_DATABASE_URL"),
        ("ZIZHU_TIMEZONE", "Mars/Olympus", "ZIZHU_TIMEZONE"),
        ("ZIZHU_TOKEN_TTL_MINUTES", "soon", "whole number"),
        ("ZIZHU_TOKEN_TTL_MINUTES", "0", "at least 1"),
        ("ZIZHU_SCHEDULER", "maybe", "true or false"),
        ("ZIZHU_DATABASE_SCHEMA", "x; drop", "letters, digits"),
        ("ZIZHU_TRUSTED_PROXIES", "proxy.example", "ZIZHU_TRUSTED_PROXIES"),
        ("ZIZHU_ADMIN_PASSWORD", " " * 8, "ZIZHU_ADMIN_PASSWORD: The password needs at least 10"),
        ("ZIZHU_ADMIN_PASSWORD", "admin-admin-2026", "must not contain the user name"),
        ("ZIZHU_LOGIN_ADDRESS_MAX_FAILURES", "0", "at least 1"),
    ],
)
def test_bad_values_are_named(tmp_path, name, value, needle):
    with pytest.raises(SettingsError, match=needle):
        Settings.from_env({"ZIZHU_DATA_DIR": str(tmp_path), "ZIZHU_SECRET_KEY": "k", name: value})

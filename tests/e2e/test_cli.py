"""The `zizhu` command as a newcomer uses it: migrations, demo, users, audit verification (--help: test_cli_help)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from service.db import create_engine, write_intent
from service.migrate import head_revision
from service.settings import Settings
from tests.e2e.conftest import zizhu


def test_upgrade_demo_users_and_audit(cli_env):
    up = zizhu(cli_env, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert head_revision() in up.stdout
    assert zizhu(cli_env, "db", "upgrade").returncode == 0  # idempotent

    demo = zizhu(cli_env, "demo", "--students", "40")
    assert demo.returncode == 0, demo.stderr
    assert "zizhu-demo" in demo.stdout
    again = zizhu(cli_env, "demo")
    assert again.returncode != 0 and "not empty" in again.stderr

    add = zizhu(cli_env, "users", "add", "clerk2", "--role", "officer", "--password", "long-enough-pw")
    assert add.returncode == 0, add.stderr
    dup = zizhu(cli_env, "users", "add", "clerk2", "--role", "officer", "--password", "long-enough-pw")
    assert dup.returncode != 0 and "taken" in dup.stderr
    nodonor = zizhu(
        cli_env, "users", "add", "d1", "--role", "donor", "--donor-id", "999", "--password", "long-enough-pw"
    )
    assert nodonor.returncode != 0 and "Donor 999 does not exist" in nodonor.stderr
    short = zizhu(cli_env, "users", "add", "clerk3", "--role", "officer", "--password", "short")
    assert short.returncode != 0 and "10 characters" in short.stderr

    run = zizhu(cli_env, "batch", "run", "--as-of", "2026-11-01")
    assert run.returncode == 0 and "close of business" in run.stdout, run.stderr
    assert "nothing to do" in zizhu(cli_env, "batch", "run", "--as-of", "2026-11-01").stdout
    assert zizhu(cli_env, "batch", "run", "--as-of", "2999-01-01").returncode != 0

    waiting = zizhu(cli_env, "audit", "verify", "--no-seal")  # nothing sealed yet: said so, not hidden
    said = " ".join(waiting.stdout.split())
    assert waiting.returncode == 0 and "not sealed yet" in said and "0 sealed records" in said, said
    ok = zizhu(cli_env, "audit", "verify")
    said = " ".join(ok.stdout.split())
    assert ok.returncode == 0 and "intact" in said and "not sealed yet" not in said, ok.stdout + ok.stderr
    asyncio.run(_tamper(Settings.from_env(cli_env)))
    broken = zizhu(cli_env, "audit", "verify")
    assert broken.returncode == 1 and "broken at record" in broken.stdout


async def _tamper(settings: Settings) -> None:
    engine = create_engine(settings)
    write_intent.set(True)
    async with engine.begin() as conn:
        first = (await conn.execute(text("SELECT min(id) FROM audit_log"))).scalar_one()
        await conn.execute(text("UPDATE audit_log SET action = 'nothing-to-see' WHERE id = :i"), {"i": first})
    await engine.dispose()


def test_bad_setting_is_a_clear_error(cli_env):
    result = zizhu({**cli_env, "ZIZHU_DATABASE_URL": "mysql://nope"}, "db", "upgrade")
    assert result.returncode != 0 and "ZIZHU_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr

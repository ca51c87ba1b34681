"""Test set-up: a throw-away database for the whole run, emptied before each test that uses it.

SQLite in a temporary folder by default; ZIZHU_TEST_DATABASE_URL names another database (CI: the local
PostgreSQL), in which the run gets a fresh schema of its own that is dropped at the end.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="zizhu-test-"))
_TEST_URL = os.environ.get("ZIZHU_TEST_DATABASE_URL", "").strip()
os.environ["ZIZHU_DATA_DIR"] = str(_TMP)
os.environ["ZIZHU_SECRET_KEY"] = "test-secret-key-that-is-long-enough-for-hs256-0123456789"
os.environ["ZIZHU_SCHEDULER"] = "false"
os.environ.pop("ZIZHU_ADMIN_PASSWORD", None)
if _TEST_URL:
    os.environ["ZIZHU_DATABASE_URL"] = _TEST_URL
    os.environ["ZIZHU_DATABASE_SCHEMA"] = f"zizhu_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
else:
    os.environ["ZIZHU_DATABASE_URL"] = f"sqlite+aiosqlite:///{_TMP / 'test.db'}"
    os.environ.pop("ZIZHU_DATABASE_SCHEMA", None)

from litestar import Litestar  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402
from sqlalchemy import delete, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from notifications.rules import reset_rules  # noqa: E402
from service.app import create_app  # noqa: E402
from service.audit_chain import CHECKPOINT_FILE  # noqa: E402
from service.auth import User, hash_password, issue_token  # noqa: E402
from service.db import create_engine, session_factory, write_session  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import metadata  # noqa: E402
from service.settings import Settings  # noqa: E402

TEST_PASSWORD = "correct-horse-battery"
SEEDED_BY_MIGRATIONS = {"loan_policy"}


def pytest_report_header(config: pytest.Config) -> str:
    return f"zizhu test database: {'PostgreSQL ' + os.environ['ZIZHU_DATABASE_SCHEMA'] if _TEST_URL else 'SQLite (temporary)'}"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(settings)
    await upgrade(eng, settings)
    yield eng
    if not settings.is_sqlite and settings.database_schema:
        async with eng.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    await eng.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncEngine:
    """An empty, migrated database (every table emptied; the schema and migrations stay)."""
    async with write_session(engine) as session:
        for table in reversed(metadata.sorted_tables):
            if table.name in SEEDED_BY_MIGRATIONS:  # keep the seed, drop what tests added
                await session.execute(delete(table).where(~table.c.created_by.startswith("migration")))
            else:
                await session.execute(delete(table))
        await reset_rules(session)  # the reminder rules as the migration seeds them
    # The audit log was emptied on purpose: its checkpoint outside the database goes with it.
    (_TMP / CHECKPOINT_FILE).unlink(missing_ok=True)
    return engine


@pytest.fixture
def app(db: AsyncEngine, settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as c:
        yield c


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(TEST_PASSWORD)  # argon2 is slow on purpose: hash once per run


MakeUser = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def make_user(db: AsyncEngine, app: Litestar, settings: Settings, password_hash: str) -> MakeUser:
    """Create a user with a role (and scope) and return the Authorization header for it."""

    async def make(role: str, username: str | None = None, **scope: Any) -> dict[str, str]:
        async with write_session(db) as session:
            user = User(
                username=username or f"{role}-{uuid.uuid4().hex[:6]}", password_hash=password_hash, role=role, **scope
            )
            session.add(user)
            await session.flush()
        token = issue_token(app.state.jwt_auth, user, settings.token_ttl_minutes)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def sessions(db: AsyncEngine) -> Any:
    return session_factory(db)

"""How a request's session ends (service.db.end_request_session): reads never commit, writes commit only on success."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from service.audit import AuditRecord
from service.auth import User
from service.db import READ_ONLY_OPTION, SESSION_SCOPE_KEY, ReadOnlyWriteError, end_request_session
from service.throttle import LoginThrottle, subject_of
from tests.integration.test_registry_api import _setup, student_body


class _Commits:
    """Counts COMMITs on the app's engine."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        self._target = engine.sync_engine
        event.listen(self._target, "commit", self._on_commit)

    def _on_commit(self, _connection: Any) -> None:
        self.count += 1

    def remove(self) -> None:
        event.remove(self._target, "commit", self._on_commit)


@pytest.fixture
def commits(app):
    counter = _Commits(app.state.engine)
    yield counter
    counter.remove()


async def test_a_get_that_used_the_session_does_not_commit(client, make_user, commits):
    officer = await _setup(client, make_user)
    commits.count = 0
    for path in ("/api/v1/universities", "/api/v1/universities/10126", "/api/v1/students"):
        assert (await client.get(path, headers=officer)).status_code == 200
    assert commits.count == 0


async def test_a_get_runs_outside_a_transaction(app, client, make_user):
    """No BEGIN for a read request: PostgreSQL's AUTOCOMMIT, on SQLite our begin listener stands aside (and with no
    transaction open, nothing is rolled back either)."""
    officer = await _setup(client, make_user)
    engine = app.state.engine.sync_engine
    seen: list[tuple[bool, str]] = []

    def on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        seen.append((bool(options.get(READ_ONLY_OPTION)) or options.get("isolation_level") == "AUTOCOMMIT", "begin"))

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((not statement.lstrip().upper().startswith("BEGIN"), statement))

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        for path in ("/api/v1/universities/10126", "/api/v1/students"):
            assert (await client.get(path, headers=officer)).status_code == 200
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "before_cursor_execute", on_statement)
    assert seen and all(ok for ok, _ in seen), [s for ok, s in seen if not ok]


async def test_a_read_only_session_refuses_to_write(app, client, make_user, sessions):
    await make_user("officer", username="reader")
    plugin = next(p for p in app.plugins if hasattr(p, "read_sessions"))
    async with plugin.read_sessions() as session:
        user = await session.scalar(select(User).where(User.username == "reader"))
        user.token_version = 7
        with pytest.raises(ReadOnlyWriteError):
            await session.flush()
        await session.rollback()
        with pytest.raises(ReadOnlyWriteError):
            await session.execute(update(User).values(token_version=9))
    async with sessions() as s:
        assert await s.scalar(select(User.token_version).where(User.username == "reader")) == 1


async def test_a_successful_write_commits_once_and_a_failed_one_changes_nothing(client, make_user, commits, sessions):
    officer = await _setup(client, make_user)
    commits.count = 0
    assert (await client.post("/api/v1/students", json=student_body(), headers=officer)).status_code == 201
    assert commits.count == 1
    async with sessions() as s:
        audited = await s.scalar(select(func.count()).select_from(AuditRecord))
    duplicate = await client.post("/api/v1/students", json=student_body(), headers=officer)
    assert duplicate.status_code == 409
    assert commits.count == 1
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AuditRecord)) == audited


async def test_a_failed_login_still_counts_the_failure(client, make_user, sessions, settings):
    await make_user("officer", username="forgetful")
    r = await client.post("/api/v1/auth/login", json={"username": "forgetful", "password": "wrong-password"})
    assert r.status_code == 401
    async with sessions() as s:
        counted = select(LoginThrottle.attempts).where(
            LoginThrottle.subject == subject_of("forgetful", settings.secret_key)
        )
        assert await s.scalar(counted) == 1


class _Session:
    def __init__(self, fail_commit: bool = False) -> None:
        self.calls: list[str] = []
        self.fail_commit = fail_commit

    async def commit(self) -> None:
        self.calls.append("commit")
        if self.fail_commit:
            raise RuntimeError("disk full")

    async def rollback(self) -> None:
        self.calls.append("rollback")

    async def close(self) -> None:
        self.calls.append("close")


def _scope(method: str, session: _Session | None) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": "http", "method": method}
    if session is not None:
        scope[SESSION_SCOPE_KEY] = session  # where the db_session dependency leaves the request's session
    return scope


@pytest.mark.parametrize(
    ("method", "status", "expected"),
    [
        ("GET", 200, ["rollback", "close"]),
        ("HEAD", 200, ["rollback", "close"]),
        ("POST", 201, ["commit", "close"]),
        ("PATCH", 302, ["commit", "close"]),
        ("POST", 409, ["rollback", "close"]),
        ("DELETE", 500, ["rollback", "close"]),
    ],
)
async def test_handler_decides_by_method_and_status(method, status, expected):
    session = _Session()
    scope = _scope(method, session)
    handler = end_request_session
    await handler({"type": "http.response.start", "status": status, "headers": []}, scope)
    assert session.calls == expected
    await handler({"type": "http.response.body", "body": b""}, scope)  # the session is gone from the scope
    assert session.calls == expected


async def test_handler_lets_a_failed_commit_through_and_still_closes():
    session = _Session(fail_commit=True)
    with pytest.raises(RuntimeError):
        await end_request_session(
            {"type": "http.response.start", "status": 200, "headers": []}, _scope("POST", session)
        )
    assert session.calls == ["commit", "close"]


async def test_handler_without_a_session_does_nothing():
    await end_request_session({"type": "http.response.start", "status": 200, "headers": []}, _scope("POST", None))


async def test_a_streamed_read_in_a_read_only_session_gets_a_transaction(app, make_user):
    """A server-side cursor (the xlsx exports) needs a transaction on PostgreSQL: it gets one of its own."""
    await make_user("officer", username="streamer")
    plugin = next(p for p in app.plugins if hasattr(p, "read_sessions"))
    async with plugin.read_sessions() as session:
        result = await session.stream(select(User.username).execution_options(yield_per=10))
        names = [name async for name in result.scalars()]
    assert "streamer" in names

"""The sign-in page lists demo accounts only when they exist in the database, with a plain warning (issue #16,
finding 8): not on a real installation whose users happen to be called `officer`, not once they are deactivated."""

from __future__ import annotations

from sqlalchemy import update

from service.auth import User
from service.db import write_session
from service.meta import set_meta

WARNING_ZH = "本数据库中存在演示账号"
WARNING_EN = "this database has demo accounts"


def listed(page: str, username: str) -> bool:
    """A demo account's row on the sign-in page: its user name, then the published password."""
    return f"<code>{username}</code></td><td><code>zizhu-demo</code>" in page


async def test_no_demo_accounts_listed_without_demo_users(client, make_user, db):
    await make_user("officer", username="officer")  # a real installation's own `officer`
    page = (await client.get("/")).text
    assert not listed(page, "officer") and "zizhu-demo" not in page and WARNING_ZH not in page


async def test_demo_accounts_listed_with_a_warning_while_they_exist(client, make_user, db):
    await make_user("officer", username="officer")
    await make_user("reviewer", username="reviewer")
    async with write_session(db) as session:
        await set_meta(session, "demo", "seed=2026; students=0")
    page = (await client.get("/")).text
    assert WARNING_ZH in page and listed(page, "officer") and listed(page, "reviewer")
    assert not listed(page, "admin") and not listed(page, "auditor")  # not in this database: not listed
    english = (await client.get("/", params={"lang": "en"})).text
    assert WARNING_EN in english

    async with write_session(db) as session:
        await session.execute(update(User).where(User.username.in_(["officer", "reviewer"])).values(active=False))
    page = (await client.get("/")).text
    assert not listed(page, "officer") and "zizhu-demo" not in page and WARNING_ZH not in page

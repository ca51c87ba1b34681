"""A large SQLite write's checkpoint, moved off its commit into a thread of its own.

In WAL mode a commit appends pages to the write-ahead log; once the log passes 1,000 pages, the connection that
commits copies them into the database file before its COMMIT returns (the "auto-checkpoint"). For a 100,000-row
import that is ~70 MB copied, a third of a second or more the clerk waits for while nothing remains to decide. A
write that knows it is large (`defer_checkpoint`) turns the auto-checkpoint off on its own connection; when the
connection comes back to the pool after the commit (service.db's reset listener calls `after_return`), it is
turned on again and a background thread copies the log into the database (PRAGMA wal_checkpoint(PASSIVE), on a
connection of its own: it waits for no one, and no one waits for it). Until then readers find the new pages in
the log, as they do for any commit not yet checkpointed; should the process end first, the next connection to
commit past 1,000 pages, or the last one to close, checkpoints instead.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

log = logging.getLogger("zizhu.db")

AUTO_CHECKPOINT_PAGES = 1000  # SQLite's default (PRAGMA wal_autocheckpoint)
_MARK = "zizhu_checkpoint_after"  # in the pooled connection's info: the database file to checkpoint


async def defer_checkpoint(connection: Any) -> None:
    """For the rest of this connection's transaction: no auto-checkpoint at its commit, one in the background
    once the connection is back in the pool. Only for a SQLite database file; nothing otherwise."""
    path = connection.engine.url.database
    if connection.dialect.name != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return
    await connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
    connection.info[_MARK] = path


def after_return(dbapi_connection: Any, info: dict[str, Any]) -> None:
    """On a connection back in the pool (its transaction ended): if a write deferred its checkpoint, turn the
    auto-checkpoint on again and start the checkpoint in a thread."""
    path = info.pop(_MARK, None)
    if path is None:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA wal_autocheckpoint={AUTO_CHECKPOINT_PAGES}")
    cursor.close()
    threading.Thread(target=checkpoint, args=(path,), name="sqlite-checkpoint", daemon=True).start()


def checkpoint(path: str) -> tuple[int, int, int] | None:
    """PRAGMA wal_checkpoint(PASSIVE) on a connection of its own: (busy, log pages, pages copied), None on error."""
    try:
        connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            result = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:  # the next auto-checkpoint does it
        log.warning("background checkpoint of the SQLite database failed: %s", exc)
        return None
    return tuple(result) if result else None

"""`zizhu backup` and `zizhu restore`: a copy of the whole database, and a fingerprint to prove a restore.

SQLite (the embedded database): an online backup through SQLite's own backup API, consistent while the
service keeps running and writing; restore checks the copy (integrity, a Zizhu schema) and swaps it in
atomically, with the service stopped. PostgreSQL: pg_dump's custom format and pg_restore, when the client
tools are on the PATH (README: "Backup and restore" shows the commands to run by hand).

The fingerprint is a SHA-256 per table over every row in primary-key order, printed after a backup and after
a restore: equal fingerprints mean the ledger, the audit chain and everything else came back as they were.
Every file written here is 0600 from its first byte (service.datadir): a backup is the whole database.
Like cli.py, a composition module: the fingerprint covers every domain's tables (service.models).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.audit_chain import reset_checkpoint_file
from service.datadir import make_private, private_dir, private_file
from service.runner import run_job
from service.settings import Settings

console = Console(highlight=False, soft_wrap=True)


async def fingerprint(engine: AsyncEngine) -> dict[str, str]:
    """Table name → SHA-256 of its rows in primary-key order (values as text), for every table of the service."""
    from service.models import metadata  # composition: every domain's tables

    digests: dict[str, str] = {}
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            result = await conn.stream(select(table).order_by(*order))
            async for row in result:
                digest.update(repr(tuple(str(v) for v in row)).encode())
            digests[table.name] = digest.hexdigest()
    return digests


def combined(digests: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{k}={v};" for k, v in sorted(digests.items())).encode()).hexdigest()


def _sqlite_path(settings: Settings) -> Path:
    database = settings.sqlite_file
    if database is None:
        raise click.ClickException("this SQLite database is in memory: nothing to back up")
    return database


def sqlite_backup(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while the service writes (it restarts on a change)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    private_file(partial)  # a backup holds everything the database does: 0600 before its first page is written
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(partial) as dst:
        src.backup(dst, pages=4096)
    src.close()
    dst.close()
    os.replace(partial, target)


def sqlite_check(path: Path) -> None:
    """Refuse a file that is not a sound SQLite database holding a Zizhu schema."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise click.ClickException(f"{path}: the database fails SQLite's integrity check")
            if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'").fetchone()[0] != 1:
                raise click.ClickException(f"{path}: not a Zizhu database (no migration history)")
        conn.close()
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{path}: not a SQLite database ({exc})") from exc


def sqlite_restore(backup: Path, live: Path) -> None:
    """Put a checked backup in place of the live database file, atomically; the WAL of the old one goes."""
    sqlite_check(backup)
    live.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(prefix=live.name + ".", suffix=".restoring", dir=live.parent)  # made 0600
    os.close(fd)
    shutil.copyfile(backup, staged)  # into the file mkstemp made: its mode stays
    for suffix in ("-wal", "-shm"):
        Path(str(live) + suffix).unlink(missing_ok=True)
    os.replace(staged, live)


def _pg_args(settings: Settings) -> tuple[str, list[str]]:
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url).set(drivername="postgresql")
    schema = ["--schema", settings.database_schema] if settings.database_schema else []
    return url.render_as_string(hide_password=False), schema


def _run_tool(args: list[str]) -> None:
    if shutil.which(args[0]) is None:
        raise click.ClickException(f"{args[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"{args[0]} failed: {done.stderr.strip()[:500]}")


async def _print_fingerprint(settings: Settings, engine: Any) -> str:
    digests = await fingerprint(engine)
    return combined(digests)


@click.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(target: Path) -> None:
    """Write a backup of the whole database to TARGET (SQLite: while the service runs)."""
    settings = Settings.from_env()
    if target.resolve().is_relative_to(settings.data_dir):  # var/backups/…: a folder of the data folder, 0700
        private_dir(target.resolve().parent)
    if settings.is_sqlite:
        sqlite_backup(_sqlite_path(settings), target)
    else:
        url, schema = _pg_args(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        private_file(target)  # pg_dump truncates and fills the file it finds, keeping its mode 0600
        _run_tool(["pg_dump", "--format=custom", "--no-owner", *schema, "--file", str(target), url])
        make_private(target)
    console.print(f"backup written to [bold]{target}[/bold] ({target.stat().st_size:,} bytes)")
    console.print(f"fingerprint of the database: {run_job(_print_fingerprint)}")


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: the current database is replaced.")
def restore(source: Path, yes: bool) -> None:
    """Replace the database with the backup SOURCE. Stop the service (and workers) first."""
    settings = Settings.from_env()
    if not yes:
        click.confirm("This replaces the current database with the backup. Is the service stopped?", abort=True)
    if settings.is_sqlite:
        sqlite_restore(source, _sqlite_path(settings))
    else:
        url, schema = _pg_args(settings)
        _run_tool(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *schema,
                "--dbname",
                url,
                str(source),
            ]
        )
    console.print(f"restored from [bold]{source}[/bold]")
    # A restore rewinds the audit log on purpose: the data folder's checkpoint file follows it (and says so in the log).
    console.print(f"audit checkpoint file reset to {run_job(lambda s, e: reset_checkpoint_file(e, s))} sealed records")
    console.print(f"fingerprint of the database: {run_job(_print_fingerprint)}")

"""The `zizhu` command: serve, db, demo, users, batch, audit, and the domains' import and export."""

from __future__ import annotations

import getpass
import os
import signal
import sys
from typing import Any

import click
from rich.console import Console

from donations.commands import receipts_group
from loans.commands import export_group, import_group
from service.backup import backup, restore
from service.db import write_session
from service.runner import cli_settings, run_job
from service.settings import Settings

console = Console(highlight=False, soft_wrap=True)
_run = run_job


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Zizhu (资助): the county student-aid centre's service."""


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from service.migrate import upgrade

    async def job(settings: Settings, engine: Any) -> str | None:
        return await upgrade(engine, settings, revision)

    console.print(f"database at revision [bold]{_run(job)}[/bold]")


@db.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    from service.migrate import current_revision, head_revision

    async def job(settings: Settings, engine: Any) -> str | None:
        return await current_revision(engine)

    console.print(f"current: {_run(job)}  head: {head_revision()}")


async def _load_demo(session: Any, settings: Settings, students: int) -> list[Any]:
    """The demo county: registry and users (service.demo), then the domains' demo data."""

    from donations.demo import load_donation_demo
    from loans.demo import load_loan_demo
    from service.demo import load_demo

    made = await load_demo(session, students=students, admin_password=settings.admin_password)
    await load_loan_demo(session, county=settings.county_code, secret=settings.secret_key, today=settings.today())
    await load_donation_demo(session, settings, today=settings.today())
    return made


async def _prepare(settings: Settings, engine: Any, demo: bool, students: int = 300) -> list[Any]:
    """Migrate; load the demo into an empty database (if asked); create the first admin. Returns the demo accounts
    the database has (made now or before), for the banner."""
    from service.auth import ensure_admin
    from service.demo import database_is_empty, demo_accounts
    from service.migrate import upgrade

    await upgrade(engine, settings)
    async with write_session(engine) as session:
        if demo and await database_is_empty(session):
            await _load_demo(session, settings, students)
        else:
            await ensure_admin(session, settings.admin_password)
        return await demo_accounts(session, settings.admin_password is not None)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes.")
@click.option(
    "--demo/--no-demo",
    default=None,
    help="Load demo data, with demo users whose passwords are published, into an empty database. "
    "Default: only on the embedded SQLite database served on a loopback address; "
    "PostgreSQL or any other address never gets them unless --demo is given.",
)
def serve(host: str, port: int, workers: int, demo: bool | None) -> None:
    """Migrate the database, load the demo into an empty one (see --demo), and serve on HOST:PORT."""
    from granian import Granian
    from granian.constants import Interfaces

    from service.demo import demo_wanted

    settings = cli_settings()
    wanted = demo_wanted(demo, sqlite=settings.is_sqlite, host=host)
    accounts = _run(lambda s, e: _prepare(s, e, demo=wanted))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(f"\n[bold green]Zizhu (资助)[/bold green] on {url}")
    console.print(f"  API docs:  {url}/schema    health: {url}/health")
    if accounts:
        console.print("  [bold red]Demo users exist in this database; their passwords are published.[/bold red]")
        console.print("  Sign in (POST /api/v1/auth/login) as:")
        for u in accounts:
            console.print(f"    {u.role:<9} {u.username:<9} password [bold]{u.password}[/bold]")
    elif demo is None and not wanted:
        console.print("  No demo data (PostgreSQL or a non-loopback address): --demo loads it into an empty database.")
    console.print()
    sys.stdout.flush()
    # Granian's main process stops its workers on SIGINT and SIGTERM; worker_app makes them follow it on any death.
    Granian(
        "service.cli:worker_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        log_access=False,
    ).serve()


def worker_app() -> Any:
    """The app as each Granian worker process builds it. First the worker asks Linux to send it SIGTERM when the
    server's main process dies, however it dies (kill -9, the OOM killer): no worker is left holding the port.
    A worker still being spawned when its main process is killed outright may not get that far (seen once under
    heavy load); a SIGTERM or SIGINT to the main process stops every worker in order."""
    import multiprocessing

    from service.app import create_app

    parent = multiprocessing.parent_process()
    if sys.platform.startswith("linux") and parent is not None:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent.pid:  # the main process died before the request took hold
            sys.exit(1)
    return create_app()


@main.command()
@click.option("--students", default=300, show_default=True, type=int)
def demo(students: int) -> None:
    """Load demo data (only into an empty database)."""
    from service.demo import database_is_empty
    from service.migrate import upgrade

    async def job(settings: Settings, engine: Any) -> int:
        await upgrade(engine, settings)
        async with write_session(engine) as session:
            if not await database_is_empty(session):
                raise click.ClickException("the database is not empty; demo data goes into an empty one only")
            made = await _load_demo(session, settings, students)
        for u in made:
            console.print(f"{u.role:<9} {u.username:<9} {u.password}")
        return len(made)

    _run(job)


@main.group()
def users() -> None:
    """User accounts."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "officer", "reviewer", "school", "donor", "graduate", "auditor"]),
)
@click.option("--password", envvar="ZIZHU_NEW_USER_PASSWORD", help="Asked for when not given.")
@click.option("--donor-id", type=int)
@click.option("--student-id", type=int)
@click.option("--university-code")
def users_add(
    username: str,
    role: str,
    password: str | None,
    donor_id: int | None,
    student_id: int | None,
    university_code: str | None,
) -> None:
    """Create a user (the password is asked for unless given)."""
    from donations.funding import donor_exists
    from service.errors import Problem
    from service.migrate import upgrade
    from service.users import create_user

    if password is None:
        password = getpass.getpass("password: ")

    async def job(settings: Settings, engine: Any) -> int:
        await upgrade(engine, settings)
        async with write_session(engine) as session:
            try:
                user = await create_user(
                    session,
                    f"cli:{os.environ.get('USER', 'unknown')}",
                    username=username,
                    password=password,
                    role=role,
                    donor_id=donor_id,
                    student_id=student_id,
                    university_code=university_code,
                    donor_exists=donor_exists,
                )
            except Problem as exc:
                raise click.ClickException(exc.detail_en) from None
            return user.id

    console.print(f"user {username} ({role}) created with id {_run(job)}")


@main.group()
def batch() -> None:
    """The nightly batch (close of business)."""


@batch.command("run")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Business date (default: today).")
def batch_run(as_of: Any) -> None:
    """Run close of business for a date, catching up every day since the last run."""

    from loans.batch.close_of_business import close_of_business
    from service.migrate import upgrade

    async def job(settings: Settings, engine: Any) -> Any:
        await upgrade(engine, settings)
        today = settings.today()
        day = as_of.date() if as_of else today
        if day > today:
            raise click.ClickException(f"{day} is after today ({today}): the batch does not run ahead")
        async with write_session(engine) as session:
            return await close_of_business(session, day, f"cli:{os.environ.get('USER', 'unknown')}")

    report = _run(job)
    if not report.days_run:
        console.print(f"close of business for {report.as_of} has already run: nothing to do")
        return
    console.print(
        f"close of business {report.days_run[0]} … {report.as_of} ({len(report.days_run)} days): "
        f"{report.interest_entries} interest entries, {report.lines_due} lines due, "
        f"{report.lines_overdue} lines overdue, contracts moved: {report.status_changes or 'none'}"
    )


@main.command()
@click.option(
    "--business-dates",
    "business_dates",
    metavar="FROM..TO",
    help="Replay past days and exit: for each business date FROM … TO (each before today), run every daily "
    "job once as its nightly trigger would the day after. For tests and catching up by hand.",
)
def worker(business_dates: str | None) -> None:
    """Run the scheduled jobs until stopped: nightly batch, reminder scan, dispatcher (PostgreSQL: several may run)."""
    from datetime import date, timedelta

    from service.app import nightly_jobs
    from service.logs import configure_logging
    from service.migrate import upgrade
    from service.scheduler import run_daily_jobs_once, run_until_signalled

    async def job(settings: Settings, engine: Any) -> None:
        configure_logging(settings.log_level)
        await upgrade(engine, settings)
        if not business_dates:
            await run_until_signalled(settings, engine, nightly_jobs(settings, engine))
            return
        first, _, last = business_dates.partition("..")
        try:
            day, end = date.fromisoformat(first), date.fromisoformat(last or first)
        except ValueError as exc:
            raise click.BadParameter(f"{business_dates}: expected YYYY-MM-DD..YYYY-MM-DD") from exc
        if end >= settings.today():
            raise click.BadParameter(f"{end} is not before today: the batch does not run ahead")
        clock = [day]
        jobs = nightly_jobs(settings, engine, today=lambda: clock[0] + timedelta(days=1))  # the job runs "yesterday"
        try:
            while clock[0] <= end:
                await run_daily_jobs_once(engine, jobs)
                clock[0] += timedelta(days=1)
        finally:
            for j in jobs:
                if j.close is not None:
                    await j.close()

    _run(job)


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@click.option("--no-seal", is_flag=True, help="Check only: do not seal the records waiting first.")
def audit_verify(no_seal: bool) -> None:
    """Seal the records waiting, then check the keyed chain and its checkpoints; name the first break."""
    from service.audit_chain import seal, verify_chain
    from service.db import session_factory

    async def job(settings: Settings, engine: Any) -> Any:
        sealed = None if no_seal else await seal(engine, settings)
        async with session_factory(engine)() as session:
            return sealed, await verify_chain(session, settings)

    sealed, report = _run(job)
    if sealed is not None and sealed.sealed:
        console.print(f"sealed {sealed.sealed} records waiting")
    file_note = (
        "no checkpoint file" if report.file_checkpoint is None else f"file checkpoint at {report.file_checkpoint}"
    )
    if report.unsealed:
        console.print(
            f"[yellow]{report.unsealed} records not sealed yet[/yellow] (appended, not yet chained: not vouched for)"
        )
    if report.ok:
        console.print(
            f"[green]audit chain intact[/green]: {report.records} sealed records, "
            f"{report.checkpoints} checkpoints, {file_note}"
        )
        return
    where = (
        f"at record {report.first_broken_id}"
        if report.first_broken_id is not None
        else f"after {report.records} records"
    )
    console.print(f"[red]audit chain broken {where}[/red]: {report.reason}")
    sys.exit(1)


# The domains' own command groups (this module is the composition root: it may import them).
main.add_command(import_group)
main.add_command(export_group)
main.add_command(backup)
main.add_command(restore)
main.add_command(receipts_group)


if __name__ == "__main__":
    main()

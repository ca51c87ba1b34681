"""`zizhu import contracts FILE` and `zizhu export contracts OUT.xlsx`: the spreadsheet work from a shell.

These run on their own engine through service.runner, like the rest of the `zizhu` command (a domain
package never imports the composition root, service.cli).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from loans.imports.importer import ImportResult, import_contracts
from loans.lifecycle import LoanStatus
from service.auth import User
from service.datadir import private_file
from service.db import session_factory, write_session
from service.errors import Problem
from service.runner import run_job
from service.settings import Settings

console = Console(highlight=False, soft_wrap=True)
SHOWN_ERRORS = 50
PHASES = {"reading": "读取 reading", "checking": "检查 checking", "writing": "写入 writing"}


_run = run_job


async def importing_user(engine: AsyncEngine, username: str | None) -> User:
    """The user the rows are recorded under: --as USERNAME, or else the first active admin."""
    async with session_factory(engine)() as session:
        query = select(User).where(User.active.is_(True))
        if username:
            user = await session.scalar(query.where(User.username == username))
            if user is None:
                raise click.ClickException(f"没有名为 {username} 的有效用户 (no active user {username!r})")
            if user.role not in ("officer", "admin"):
                raise click.ClickException(
                    f"{username} 的角色是 {user.role}，只有经办人或管理员可以导入 "
                    f"(only an officer or an admin may import)"
                )
            return user
        user = await session.scalar(query.where(User.role == "admin").order_by(User.id).limit(1))
        if user is None:
            raise click.ClickException("没有管理员用户，请用 --as 指定经办人 (no admin user: name one with --as)")
        return user


def print_errors(result: ImportResult) -> None:
    for e in result.errors[:SHOWN_ERRORS]:
        console.print(
            f"  第 {e.row} 行 {e.column} 列 {e.header}：{e.message_zh}"
            f"  [dim](row {e.row}, column {e.column}: {e.message_en})[/dim]"
        )
    more = len(result.errors) - SHOWN_ERRORS
    if more > 0:
        console.print(f"  … 以及另外 {more} 条 (and {more} more)")


def print_summary(result: ImportResult) -> None:
    table = Table(title=f"{result.file}", show_header=False)
    for label, value in (
        ("数据行 rows", result.rows),
        ("正确 valid", result.valid),
        ("有误 invalid", result.invalid),
        ("导入合同 contracts imported", result.imported),
        ("新建学生 students created", result.students_created),
        ("新建共同借款人 co-borrowers created", result.co_borrowers_created),
        ("放款记录 payouts", result.payouts),
    ):
        table.add_row(label, str(value))
    console.print(table)


@click.group("import")
def import_group() -> None:
    """Import the centre's spreadsheets (导入)."""


@import_group.command("contracts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--valid-only", is_flag=True, help="Import the valid rows and skip the invalid ones.")
@click.option("--dry-run", is_flag=True, help="Check every row; write nothing.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the workbook annotated with its errors to this .xlsx.",
)
@click.option("--as", "as_user", metavar="USERNAME", help="Record the import as this officer (default: first admin).")
def import_contracts_command(
    file: Path, valid_only: bool, dry_run: bool, report: Path | None, as_user: str | None
) -> None:
    """Import contracts and students from FILE (the template's columns); stop on any invalid row."""
    from loans.imports.workbooks import error_report

    async def job(settings: Settings, engine: AsyncEngine) -> ImportResult:
        user = await importing_user(engine, as_user)
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            tasks: dict[str, Any] = {"reading": bar.add_task(PHASES["reading"], total=None)}

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total)
                bar.update(tasks[phase], completed=done, total=total)

            async with write_session(engine) as session:
                result = await import_contracts(
                    session,
                    file,
                    filename=file.name,
                    user_id=user.id,
                    actor=f"cli:{user.username}",
                    secret=settings.secret_key,
                    valid_only=valid_only,
                    dry_run=dry_run,
                    progress=progress,
                    max_rows=settings.import_max_rows,
                    county=settings.county_code,
                    today=settings.today(),
                )
        if report:
            sheet = error_report(file, result.errors, settings.import_max_rows)
            private_file(report).write_bytes(sheet)  # 0600: it quotes the rows it refused
        return result

    try:
        result = _run(job)
    except IntegrityError:  # another import or a clerk wrote the same key after our checks
        console.print(
            "[red]写入时与刚刚保存的其他数据冲突，未导入任何数据，请重新导入。[/red]\n"
            "The write clashed with data saved meanwhile; nothing was imported. Run it again."
        )
        sys.exit(1)
    except Problem as exc:
        console.print(f"[red]{exc.detail_zh}[/red]\n{exc.detail_en}")
        for key in ("missing", "unknown", "repeated"):
            if exc.extra.get(key):
                console.print(f"  {key}: {'、'.join(exc.extra[key])}")
        sys.exit(1)
    print_summary(result)
    if report:
        console.print(f"错误标注工作簿 (annotated workbook): {report}")
    if result.errors:
        console.print(f"[yellow]{result.invalid} 行有误 (invalid rows):[/yellow]")
        print_errors(result)
    if result.stopped:
        console.print("[red]有错误的行，未导入任何数据 (invalid rows: nothing was imported)[/red]")
        sys.exit(1)
    if dry_run:
        console.print("[green]检查通过，未写入（试运行）(dry run: all checks passed, nothing written)[/green]")
    elif result.invalid:
        console.print(
            f"[yellow]已导入 {result.imported} 行，跳过 {result.invalid} 行有误的行 "
            f"(imported {result.imported}, skipped {result.invalid})[/yellow]"
        )
    else:
        console.print(f"[green]已导入 {result.imported} 份合同 (imported {result.imported} contracts)[/green]")
    if result.batch_id is not None:
        console.print(
            f"导入批次 {result.batch_id} 待另一位复核人接受后生效 "
            f"(batch {result.batch_id} counts once another user, a reviewer, accepts it)"
        )


@click.group("export")
def export_group() -> None:
    """Export to spreadsheets (导出)."""


@export_group.command("contracts")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--academic-year", type=int, help="Only this academic year.")
@click.option("--status", type=click.Choice([s.value for s in LoanStatus]), help="Only this status.")
def export_contracts_command(out: Path, academic_year: int | None, status: str | None) -> None:
    """Write every contract to OUT.xlsx (ID numbers and phones masked)."""
    from loans.imports.workbooks import export_contracts

    async def job(settings: Settings, engine: AsyncEngine) -> bytes:
        async with session_factory(engine)() as session:
            return await export_contracts(session, academic_year, status)

    workbook = _run(job)
    private_file(out).write_bytes(workbook)  # 0600: a list of people, whoever's umask
    console.print(f"已导出 (exported): {out}")

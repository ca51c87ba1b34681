"""`zizhu receipts export --year YYYY`: every receipt of a year as PDFs in one zip, with a progress bar.

The receipts are reprints from their stored fields, so each is marked 副本 (the original went to the
donor); voided ones print with 作废 and their reason, so the archive shows the whole gapless series.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from donations.models import Receipt
from donations.papers.receipt import render_receipt
from donations.receipts import receipt_data
from service.db import session_factory
from service.runner import run_job
from service.settings import Settings

console = Console(highlight=False, soft_wrap=True)
BATCH = 500


async def export_year(engine: AsyncEngine, settings: Settings, year: int, out: Path, progress: Any = None) -> int:
    """Write the year's receipts, in serial order, into the zip at `out`; returns how many."""
    async with session_factory(engine)() as session:
        total = int(await session.scalar(select(func.count()).select_from(Receipt).where(Receipt.year == year)) or 0)
        task = progress.add_task(f"{year} 年收据 receipts", total=total) if progress is not None else None
        written, last_seq = 0, 0
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
            while True:  # keyset pages: a year may hold tens of thousands
                page = (
                    await session.scalars(
                        select(Receipt)
                        .where(Receipt.year == year, Receipt.seq > last_seq)
                        .order_by(Receipt.seq)
                        .limit(BATCH)
                    )
                ).all()
                if not page:
                    break
                for r in page:
                    archive.writestr(f"{r.receipt_no}.pdf", render_receipt(receipt_data(r, settings.public_url, True)))
                    written += 1
                    if task is not None:
                        progress.advance(task)
                last_seq = page[-1].seq
                session.expunge_all()
    return written


@click.group("receipts")
def receipts_group() -> None:
    """Donation receipts (捐赠收据)."""


@receipts_group.command("export")
@click.option("--year", type=int, required=True, help="The receipts' year (the JZ-<year>- series).")
@click.option(
    "--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Zip file (default: receipts-YEAR.zip)."
)
def export(year: int, out: Path | None) -> None:
    """Write every receipt of YEAR as PDF into one zip file."""
    target = out or Path(f"receipts-{year}.zip")

    async def job(settings: Settings, engine: AsyncEngine) -> int:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress:
            return await export_year(engine, settings, year, target, progress)

    count = run_job(job)
    console.print(f"{count} 张收据已写入 {target} ({count} receipts written to {target})")

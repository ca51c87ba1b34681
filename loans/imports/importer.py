"""Importing the centre's contract spreadsheet, the one use case: read, check, look up, write.

1. read: python-calamine loads the first sheet (after service.uploads measured it), and every cell is typed
   (rows.read_rows), in a worker thread;
2. check: the rules within a row, the policy's limits and terms, and the rules across rows (rows.py), once, over
   the whole file, in the same thread;
3. look up: the rules against the database, a query per kind of fact (lookups.py);
4. write: when every row passed (or `valid_only` asks for the good ones), everything in bulk (write.py) in the
   caller's transaction, with one audit record. A file with a wrong row writes nothing: all or nothing.
   What is written is a batch (loan_imports) whose contracts count for nothing until a reviewer other than the
   importer accepts it (review.py): money never enters the books on one person's word.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from loans.imports.lookups import database_rules
from loans.imports.rows import Progress, Row, read_rows
from loans.imports.sheet_rules import PolicyCheck, cross_rules, number_rules, policy_rules
from loans.imports.template import DEFAULT_MAX_ROWS, FIELDS, RowError, Sheet
from loans.imports.write import Plans, write
from loans.models import LoanImport
from loans.origination.applications import policy_rows
from service import audit


@dataclass
class ImportResult:
    file: str
    digest: str
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    imported: int = 0
    students_created: int = 0
    co_borrowers_created: int = 0
    payouts: int = 0
    batch_id: int | None = None  # the batch awaiting a reviewer's acceptance (loans.imports.review)
    dry_run: bool = False
    valid_only: bool = False
    errors: list[RowError] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        """Invalid rows kept the whole file out (nothing written)."""
        return self.invalid > 0 and (not self.valid_only or self.valid == 0)

    def summary(self, max_errors: int | None = None) -> dict[str, Any]:
        shown = self.errors if max_errors is None else self.errors[:max_errors]
        return {
            "file": self.file,
            "rows": self.rows,
            "valid": self.valid,
            "invalid": self.invalid,
            "imported": self.imported,
            "students_created": self.students_created,
            "co_borrowers_created": self.co_borrowers_created,
            "payouts": self.payouts,
            "batch_id": self.batch_id,
            "dry_run": self.dry_run,
            "valid_only": self.valid_only,
            "errors_total": len(self.errors),
            "errors": [e.as_dict() for e in shown],
        }


def file_digest(source: bytes | Path) -> str:
    h = hashlib.sha256()
    if isinstance(source, bytes):
        h.update(source)
    else:
        with Path(source).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def check_rows(
    sheet: Sheet, rows: list[Row], errors: list[RowError], policy: PolicyCheck, county: str | None = None
) -> Plans:
    """Step 2's rules that need the whole file: the policy's limits and terms, the contract numbers' county and year,
    and the rules across rows (those within a row ran as the rows were typed); the plans (limits and terms) of the
    rows that have them."""
    plans = policy_rules(sheet, rows, policy, errors)
    number_rules(sheet, rows, errors, county)
    cross_rules(sheet, rows, errors)
    return plans


async def import_contracts(
    session: AsyncSession,
    source: bytes | Path,
    *,
    filename: str,
    user_id: int,
    actor: str,
    secret: str,
    valid_only: bool = False,
    dry_run: bool = False,
    today: date,
    progress: Progress | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    county: str | None = None,
) -> ImportResult:
    """Check a contract spreadsheet and, when it passes (or `valid_only`), write it in the caller's transaction.
    File-level problems (not a workbook, too large, wrong columns, no rows) raise Problem. `progress` is called
    from a worker thread too. `county`: the centre's county code, which every contract number must carry (None: not
    checked)."""
    result = ImportResult(file=filename, digest=file_digest(source), dry_run=dry_run, valid_only=valid_only)
    # Read before the first query: on SQLite a write transaction holds the database's one write lock from then on.
    sheet, rows, errors = await anyio.to_thread.run_sync(read_rows, source, today, progress, max_rows)
    if progress:
        progress("checking", 0, len(rows))
    policy = PolicyCheck(await policy_rows(session))
    plans = await anyio.to_thread.run_sync(check_rows, sheet, rows, errors, policy, county)
    known = await database_rules(session, sheet, rows, errors)
    order = {f: i for i, f in enumerate(FIELDS)}
    result.errors = sorted(set(errors), key=lambda e: (e.row, order[e.field], e.message_zh))
    bad = {e.row for e in result.errors}
    good = [r for r in rows if r.row not in bad]
    result.rows, result.valid, result.invalid = len(rows), len(good), len(rows) - len(good)
    if progress:
        progress("checking", len(rows), len(rows))
    if result.stopped or dry_run or not good:
        return result
    if progress:
        progress("writing", 0, len(good))

    def written(done: int) -> None:
        if progress:
            progress("writing", done, len(good))

    batch = LoanImport(
        status="pending",
        file=filename[:255],
        digest=result.digest,
        rows=len(good),
        principal=sum(r.principal or 0 for r in good),
        disbursed=sum(r.principal or 0 for r in good if r.disbursed_on is not None),
        imported_by=user_id,
        imported_by_name=actor,
    )
    session.add(batch)
    await session.flush()
    result.batch_id = batch.id
    result.students_created, result.co_borrowers_created, result.payouts = await write(
        session, good, plans, known, user_id, secret, written, batch.id
    )
    result.imported = len(good)
    await audit.record(
        session,
        actor,
        "import",
        "loan_import",
        batch.id,
        None,
        {
            "status": batch.status,
            "digest": result.digest,
            "rows": result.rows,
            "imported": result.imported,
            "students_created": result.students_created,
            "co_borrowers_created": result.co_borrowers_created,
            "payouts": result.payouts,
            "skipped": result.invalid,
            "file": filename,
        },
    )
    return result

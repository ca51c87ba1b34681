"""The whole-file import's reading (loans.import_stream.read_all) by the reader process, against read_rows.

PostgreSQL imports, dry runs and valid-rows-only imports check the whole file before they write; they read it
through the reader process (in chunks, for a large sheet) and must get exactly what read_rows gives in the service:
the same sheet layout, rows and errors, in the same order. No database is needed.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import pytest

from loans import import_stream
from loans.import_rules import PolicyCheck, read_rows
from loans.import_sources import ReaderProcess
from service.errors import Problem

from .test_loan_import import row, workbook

SECRET = "s" * 43


def rows_with_faults(count: int) -> list[dict[str, Any]]:
    """Valid rows, with a bad cell, a rule broken within a row and an empty required cell spread among them."""
    rows = [row(n, academic_year=2023 + n % 3, contract_no=f"150430-{2023 + n % 3}-{n:06d}",
                signed_on=date(2023 + n % 3, 9, 20)) for n in range(1, count + 1)]
    rows[3]["phone"] = "123"
    rows[count // 2]["disbursed_on"] = date(2020, 1, 1)  # before the signing: a rule within the row
    rows[-2]["name"] = None
    return rows


@pytest.mark.parametrize("chunked", [False, True], ids=["whole sheet", "in chunks"])
async def test_the_reader_process_reads_what_read_rows_reads(monkeypatch: pytest.MonkeyPatch, chunked: bool) -> None:
    monkeypatch.setattr(import_stream, "PROCESS_MIN_BYTES", 0)
    if chunked:
        monkeypatch.setattr(ReaderProcess, "chunk_bytes", 3_000)
    content = workbook(rows_with_faults(60))
    progress: list[tuple[str, int, int]] = []
    sheet, rows, errors = await import_stream.read_all(content, secret=SECRET, policy=PolicyCheck([]),
                                                       progress=lambda *step: progress.append(step))
    want_sheet, want_rows, want_errors = read_rows(content)
    assert (sheet.header_row, sheet.first_col, sheet.columns) == \
           (want_sheet.header_row, want_sheet.first_col, want_sheet.columns)
    assert rows == want_rows and errors == want_errors and len(errors) >= 3
    assert progress[0][:2] == ("reading", 0) and progress[-1][1] == rows[-1].row


async def test_a_reader_process_that_fails_leaves_read_rows_to_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_stream, "PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(ReaderProcess, "command", (sys.executable, "-c", "raise SystemExit(3)"))
    content = workbook(rows_with_faults(20))
    _, rows, errors = await import_stream.read_all(content, secret=SECRET, policy=PolicyCheck([]))
    assert (rows, errors) == read_rows(content)[1:]


async def test_a_file_without_rows_is_refused_through_the_reader_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_stream, "PROCESS_MIN_BYTES", 0)
    with pytest.raises(Problem) as caught:
        await import_stream.read_all(workbook([]), secret=SECRET, policy=PolicyCheck([]))
    assert "没有数据行" in caught.value.detail_zh

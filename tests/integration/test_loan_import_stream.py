"""A contract import written block by block as it is read (loans.import_stream) against the whole-file way.

The streamed way must leave the database exactly as the whole-file way does (the same rows, keys in the same
order, people with the facts of their latest row), and a file with any error must end with what the whole-file
way reports and nothing written. Blocks are made small so that a student's rows fall into several of them, and
the reader process (loans.import_reader) is used for files of any size, or made to fail. A sheet cut into chunks
that the reader and its helper process read in turn (loans.import_chunked) must do the same.
"""

from __future__ import annotations

import random
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from loans import import_rules, import_sources, import_stream
from loans.import_chunks import cut
from loans.imports import ImportResult, import_contracts
from loans.models import ContractCounter, Loan, LoanPayout
from service.auth import User
from service.db import session_factory, utcnow, write_intent
from service.errors import Problem
from service.registry.models import CoBorrower, Student, University
from service.sqlite_pipeline import SqlitePipeline

from .test_loan_import import person, row, workbook

SECRET = "s" * 43
FAULTS = ["cell", "repeat", "taken", "over_limit", "known_name", "co_borrows"]


@pytest.fixture(autouse=True)
def _streamed_on_sqlite_only(db: AsyncEngine) -> None:
    if db.dialect.name != "sqlite":
        pytest.skip("the streamed import is SQLite's (loans.imports); PostgreSQL imports the whole file")


@pytest.fixture(params=["process", "in-service"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(import_rules, "BLOCK", 7)
    if request.param == "process":
        monkeypatch.setattr(import_stream, "PROCESS_MIN_BYTES", 0)
    else:
        monkeypatch.setattr(import_stream, "PROCESS_MIN_BYTES", 10**12)
    return str(request.param)


async def prepare(db: AsyncEngine) -> int:
    """Two universities, an admin, and a student and a co-borrower who are in the database already."""
    async with session_factory(db)() as s, s.begin():
        now = utcnow()
        await s.execute(insert(University), [{"code": "10126", "name": "内蒙古大学", "province": "内蒙古", "created_at": now},
                                             {"code": "10027", "name": "北京师范大学", "province": "北京", "created_at": now}])
        user = User(username="importer", password_hash="x", role="admin")
        s.add(user)
        s.add(Student(name="学生3", id_number=person(3, date(2005, 1, 1), 11), phone="13800000003",
                      household_province="内蒙古", household_county="示范县", university_code="10126",
                      level="undergraduate", study_years=4, enrolled_on=date(2023, 9, 1),
                      expected_graduation=date(2027, 6, 30), categories=[]))
        s.add(CoBorrower(name="家长5", id_number=person(5, date(1975, 1, 1), 21), phone="13900000005"))
        await s.flush()
        return user.id


def contracts(seed: int = 7) -> list[dict[str, Any]]:
    """About 60 contracts of 25 students over academic years 2023-2025, shuffled so that a student's rows are
    spread over blocks, some latest years first; student 4 changed phone and university in 2025."""
    rng = random.Random(seed)
    rows = []
    seq = 0
    for n in range(1, 26):
        for year in range(2023, 2023 + rng.choice((1, 2, 3))):
            seq += 1
            over: dict[str, Any] = {"academic_year": year, "contract_no": f"150430-{year}-{seq:06d}",
                                    "signed_on": date(year, 9, 20), "enrolled_on": date(2023, 9, 1),
                                    "expected_graduation": date(2027, 6, 30),
                                    "principal": rng.choice((8000, 12000, 16000))}
            if year == 2025:
                over["disbursed_on"] = None if n % 3 == 0 else date(year, 11, 20)
                over["receipt_amount"] = None if n % 5 == 0 else 6000
            if n == 4 and year == 2025:
                over.update(phone="13712345678", university_code="10027")
            rows.append(row(n, **over))
    rng.shuffle(rows)
    return rows


async def run(db: AsyncEngine, user_id: int, content: bytes, **options: Any) -> tuple[ImportResult, dict[str, Any]]:
    """Import in a transaction, read back what it wrote, and roll it back."""
    token = write_intent.set(True)
    try:
        async with session_factory(db)() as s:
            transaction = await s.begin()
            result = await import_contracts(s, content, filename="x.xlsx", user_id=user_id, actor="test",
                                            secret=SECRET, **options)
            state = await written(s)
            await transaction.rollback()
            return result, state
    finally:
        write_intent.reset(token)


async def written(s: Any) -> dict[str, Any]:
    """The import's rows by their natural keys, and the order of their keys (ids compared by rank only: a
    PostgreSQL sequence does not go back on rollback)."""
    students = {r.id: r for r in (await s.scalars(select(Student).order_by(Student.id))).all()}
    cos = {r.id: r for r in (await s.scalars(select(CoBorrower).order_by(CoBorrower.id))).all()}
    loans = (await s.scalars(select(Loan).order_by(Loan.id))).all()
    contract_of = {loan.id: loan.contract_no for loan in loans}
    payouts = (await s.scalars(select(LoanPayout).order_by(LoanPayout.id))).all()
    skip = {"id", "created_at", "updated_at", "decided_at", "receipt_at", "student_id", "co_borrower_id",
            "prepared_by", "decided_by", "receipt_by"}

    def facts(obj: Any) -> dict[str, Any]:
        return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in skip}

    return {
        "students": [facts(r) for r in students.values()],
        "co_borrowers": [facts(r) for r in cos.values()],
        "loans": [(facts(loan), students[loan.student_id].id_number, cos[loan.co_borrower_id].id_number)
                  for loan in loans],
        "payouts": [(contract_of[p.loan_id], p.payee, p.amount, p.paid_on,
                     students[int(p.payee_ref)].id_number if p.payee == "student" else p.payee_ref) for p in payouts],
        "counters": sorted((c.county, c.year, c.last_seq)
                           for c in (await s.scalars(select(ContractCounter))).all()),
    }


async def test_streamed_import_writes_what_the_whole_file_import_writes(
        db: AsyncEngine, reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = await prepare(db)
    content = workbook(contracts())
    blocks: list[int] = []
    add = import_stream.StreamingWrite.add

    async def counted(self: Any, block: Any) -> None:
        await add(self, block)
        blocks.append(len(block.rows) if self.ok else -1)
        assert self.pipeline is not None  # the inserts queued beside the event loop (service.sqlite_pipeline)

    monkeypatch.setattr(import_stream.StreamingWrite, "add", counted)
    streamed, by_blocks = await run(db, user_id, content)
    assert len(blocks) == -(-len(contracts()) // 7) and min(blocks) > 0  # written block by block, never stopped
    whole, by_file = await run(db, user_id, content, valid_only=True)  # a clean file: the whole-file way
    assert streamed.errors == [] and streamed.imported == whole.imported == len(contracts())
    assert (streamed.students_created, streamed.co_borrowers_created, streamed.payouts) == \
           (whole.students_created, whole.co_borrowers_created, whole.payouts) == (24, 24, whole.payouts)
    assert by_blocks == by_file
    student4 = next(s for s in by_blocks["students"] if s["name"] == "学生4")
    assert student4["phone"] == "13712345678" and student4["university_code"] == "10027"  # its 2025 row


async def with_fault(db: AsyncEngine, user_id: int, fault: str) -> bytes:
    """The contracts with an error late in the file; for "taken", the database holds one of its contract numbers."""
    rows = contracts()
    last = rows[-1]
    if fault == "cell":
        last["phone"] = "123"
    elif fault == "repeat":
        last["contract_no"] = rows[0]["contract_no"]
    elif fault == "over_limit":
        last["principal"] = 99000
    elif fault == "known_name":
        rows.append(row(3, name="别人", contract_no="150430-2024-900001"))
    elif fault == "co_borrows":  # a co-borrower who is a borrower further down the file
        rows.append(row(90, co_id_number=rows[0]["id_number"], co_name=rows[0]["name"],
                        contract_no="150430-2024-900002"))
    if fault == "taken":  # the database has one of the file's contract numbers already
        async with session_factory(db)() as s, s.begin():
            await import_contracts(s, workbook([row(99, contract_no=last["contract_no"])]), filename="y.xlsx",
                                   user_id=user_id, actor="test", secret=SECRET)
    return workbook(rows)


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_file_with_an_error_late_in_it_writes_nothing_and_reports_what_the_whole_file_way_does(
        db: AsyncEngine, reader: str, fault: str) -> None:
    user_id = await prepare(db)
    content = await with_fault(db, user_id, fault)
    streamed, state = await run(db, user_id, content)
    checked, _ = await run(db, user_id, content, dry_run=True)  # the whole-file way, writing nothing
    assert streamed.errors and streamed.errors == checked.errors
    assert streamed.imported == 0 and len(state["loans"]) == (1 if fault == "taken" else 0)


async def test_a_reader_process_that_fails_leaves_the_service_to_read_the_file(
        db: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = await prepare(db)
    monkeypatch.setattr(import_stream, "PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(import_stream.ReaderProcess, "command", (sys.executable, "-c", "raise SystemExit(3)"))
    result, state = await run(db, user_id, workbook(contracts()))
    assert result.imported == len(contracts()) and len(state["loans"]) == len(contracts())


@pytest.mark.parametrize(("content", "phrase"), [(b"PK\x03\x04 not a zip at all", "损坏"), (b"hello", "不是 Excel")])
async def test_file_problems_come_back_from_the_reader_process(
        db: AsyncEngine, monkeypatch: pytest.MonkeyPatch, content: bytes, phrase: str) -> None:
    user_id = await prepare(db)
    monkeypatch.setattr(import_stream, "PROCESS_MIN_BYTES", 0)
    with pytest.raises(Problem) as caught:
        await run(db, user_id, content)
    assert phrase in caught.value.detail_zh and caught.value.kind.status == 422
    with pytest.raises(Problem) as caught:
        await run(db, user_id, workbook([]))
    assert "没有数据行" in caught.value.detail_zh


# --- a large sheet read in chunks by the reader process and its helper (loans.import_chunked) -----------------

CHUNK_BYTES = 2_000  # of sheet XML: the files here (50 to 60 rows) are cut into chunks of two rows or so
# The reader process's command, around its real entry point, with its chunks or its helper's made not to fit (a
# monkeypatch does not reach another process): the reader then meets a ChunkMismatch in its second chunk, or the
# helper in its first. "none" runs the same wrapper without a mismatch: both processes read every chunk.
_MISMATCH = ("import loans.import_chunked\n"
             "from loans.import_chunks import ChunkMismatch\n"
             "def laid_out(layout, loaded):\n"
             "    raise ChunkMismatch('made to fail')\n"
             "loans.import_chunked.laid_out = laid_out\n")
_READER = "from loans.import_reader import main\nmain()\n"


def _helper_command(patch: str) -> str:
    helper = patch + "from loans.import_chunked import helper\nhelper()\n"
    return ("import subprocess, sys\n"
            "popen = subprocess.Popen\n"
            f"subprocess.Popen = lambda command, **kw: popen([sys.executable, '-c', {helper!r}], **kw)\n")


READERS = {"none": _helper_command("") + _READER, "reader": _MISMATCH + _READER,
           "helper": _helper_command(_MISMATCH) + _READER}


@dataclass
class Chunked:
    folders: list[str]  # the temporary folders the service made for the chunks
    blocks: list[int]  # rows of each block the service was sent


@pytest.fixture
def chunked(monkeypatch: pytest.MonkeyPatch) -> Chunked:
    """Every file read by the reader process, its sheet cut into small chunks; blocks of up to 1,000 rows, so
    that a block is a chunk's rows (a whole file read, in the service or not, is one block)."""
    monkeypatch.setattr(import_stream, "PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(import_sources.ReaderProcess, "chunk_bytes", CHUNK_BYTES)
    monkeypatch.setattr(import_rules, "BLOCK", 1000)
    seen = Chunked([], [])
    mkdtemp, add = tempfile.mkdtemp, import_stream.StreamingWrite.add

    def recorded(*args: Any, **kwargs: Any) -> str:
        folder = mkdtemp(*args, **kwargs)
        if str(kwargs.get("prefix")).startswith(import_sources.CHUNK_FOLDER):  # the service's (ReaderProcess)
            seen.folders.append(folder)
        return folder

    async def counted(self: Any, block: Any) -> None:
        seen.blocks.append(len(block.rows))
        await add(self, block)

    monkeypatch.setattr(import_sources.tempfile, "mkdtemp", recorded)
    monkeypatch.setattr(import_stream.StreamingWrite, "add", counted)
    return seen


def chunk_count(content: bytes, folder: Path, chunk_bytes: int = CHUNK_BYTES) -> int:
    """How many chunks the reader cuts the file's sheet into."""
    chunks = cut(content, folder, chunk_bytes)
    assert chunks is not None
    return len(chunks.paths)


def helper_reads_the_last_row(content: bytes, folder: Path) -> int:
    """A chunk size near CHUNK_BYTES that cuts the file into an even number of chunks: the last, with the last
    rows, is the helper's (the reader reads chunks 0, 2, 4...)."""
    return next(size for size in range(CHUNK_BYTES, 2 * CHUNK_BYTES, 50)
                if chunk_count(content, folder, size) % 2 == 0)


def all_gone(folders: list[str]) -> bool:
    return bool(folders) and not any(Path(f).exists() for f in folders)


async def test_a_sheet_read_in_chunks_writes_what_the_whole_file_import_writes(
        db: AsyncEngine, chunked: Chunked, tmp_path: Path) -> None:
    user_id = await prepare(db)
    content = workbook(contracts())
    streamed, by_chunks = await run(db, user_id, content)
    assert len(chunked.blocks) == chunk_count(content, tmp_path) > 4 and min(chunked.blocks) > 0
    assert all_gone(chunked.folders)  # chunks the readers did not delete go with their folder
    whole, by_file = await run(db, user_id, content, valid_only=True)  # a clean file: the whole-file way
    assert streamed.errors == [] and streamed.imported == whole.imported == len(contracts())
    assert (streamed.students_created, streamed.co_borrowers_created, streamed.payouts) == \
           (whole.students_created, whole.co_borrowers_created, whole.payouts)
    assert by_chunks == by_file


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_sheet_read_in_chunks_with_an_error_late_in_it_reports_what_the_whole_file_way_does(
        db: AsyncEngine, chunked: Chunked, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fault: str) -> None:
    user_id = await prepare(db)
    content = await with_fault(db, user_id, fault)
    size = helper_reads_the_last_row(content, tmp_path)
    monkeypatch.setattr(import_sources.ReaderProcess, "chunk_bytes", size)
    chunked.blocks.clear()
    streamed, state = await run(db, user_id, content)
    assert len(chunked.blocks) == chunk_count(content, tmp_path, size)  # read in chunks, the last by the helper
    checked, _ = await run(db, user_id, content, dry_run=True)  # the whole-file way, writing nothing
    assert streamed.errors and streamed.errors == checked.errors
    assert streamed.imported == 0 and len(state["loans"]) == (1 if fault == "taken" else 0)
    assert all_gone(chunked.folders)


@pytest.mark.parametrize("failing", ["none", "reader", "helper"])
async def test_a_chunk_that_does_not_fit_leaves_the_service_to_read_the_file(
        db: AsyncEngine, chunked: Chunked, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, failing: str) -> None:
    user_id = await prepare(db)
    monkeypatch.setattr(import_sources.ReaderProcess, "command", (sys.executable, "-c", READERS[failing]))
    content = workbook(contracts())
    result, state = await run(db, user_id, content)
    if failing == "none":
        assert len(chunked.blocks) == chunk_count(content, tmp_path)  # the wrapped processes read every chunk
    else:
        *sent, read_here = chunked.blocks
        assert sent and sum(sent) < len(contracts())  # the reader's blocks up to the chunk that did not fit,
        assert read_here == len(contracts())  # then the file, read in the service
    _, by_file = await run(db, user_id, content, valid_only=True)
    assert result.errors == [] and result.imported == len(contracts())
    assert state == by_file
    assert all_gone(chunked.folders)


async def test_lookups_against_tables_empty_at_the_start_are_not_made(
        db: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """No loans are committed yet (and none can be while the import holds the write lock): the checks against
    them are skipped; the students and co-borrowers of the database are still looked up."""
    user_id = await prepare(db)
    monkeypatch.setattr(import_rules, "BLOCK", 7)
    monkeypatch.setattr(import_stream, "PROCESS_MIN_BYTES", 0)
    queries: list[str] = []
    read = SqlitePipeline.read

    def recorded(self: SqlitePipeline, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        queries.append(sql)
        return read(self, sql, parameters)

    monkeypatch.setattr(SqlitePipeline, "read", recorded)
    result, state = await run(db, user_id, workbook(contracts()))
    assert result.imported == len(contracts()) and len(state["loans"]) == len(contracts())
    assert queries and not any("FROM loans" in q or "JOIN loans" in q for q in queries)
    assert any("FROM students" in q for q in queries) and any("FROM co_borrowers" in q for q in queries)

"""Reading a contract workbook in a process of its own, on the other core, while the service writes what it has read.

Why: an import's own work is a python-calamine load (seconds, holding the interpreter lock), the typing of every
cell (Python), and the service's checks and inserts. In one process these queue behind each other: a thread
gains nothing, as the lock is the queue. Here the reader process loads the file, types its rows, applies the
rules within a row and the policy's limits and terms, and keeps a yes/no check across rows (CrossCheck); it sends
the rows a block at a time, and the service checks them against the database and inserts them as they arrive
(loans.import_stream). A very large sheet is cut into chunks and read with a helper process, a chunk each in turn
(loans.import_chunked), so that the rows start coming within a second. The reader imports nothing of the web
service, so that it starts in a fraction of a second. It signs the rows too (loans.check_code), with the secret
sent down its pipe.

The protocol, MessagePack frames each after its 4-byte big-endian length:
- service to reader (stdin): `Request` (the check codes' secret, the policy, the block size, where chunks may go,
  and the file's path, or none and a second frame with the file's bytes);
- reader to service (stdout): `SheetFrame` or `ProblemFrame` (the file cannot be used), then a `BlockFrame` per
  block of rows, then `EndFrame`.
A reader that fails in any other way exits non-zero, and the service reads the file itself. The service's side
is loans.import_sources.ReaderProcess. Run as `python -m loans.import_reader` (`--helper` for the helper).
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Any, BinaryIO

import msgspec

from loans.check_code import check_code
from loans.excel import RowError, Sheet, read_sheet
from loans.import_rules import PolicyCheck, Row, RowTyping, policy_rules, typed_blocks
from loans.policy import ContractTerms, PolicyRow
from service.problems import Problem

LENGTH = struct.Struct(">I")


class Request(msgspec.Struct):
    secret: str  # for the check codes: sent down the pipe, never on the command line or in the environment
    policy: list[PolicyRow]  # the service's policy rows, for the limits and terms of each row
    block: int  # rows a block
    path: str | None = None
    folder: str | None = None  # where a large sheet may be cut into chunks (loans.import_chunked); none: never
    chunk_bytes: int = 0  # of sheet XML a chunk (0: loans.import_chunks.CHUNK_BYTES)


class SheetFrame(msgspec.Struct, tag="sheet"):
    name: str
    header_row: int
    first_col: int
    columns: dict[str, int]
    total_rows: int
    report_col: int | None

    @classmethod
    def of(cls, sheet: Sheet) -> SheetFrame:
        return cls(sheet.name, sheet.header_row, sheet.first_col, sheet.columns, sheet.total_rows, sheet.report_col)

    def layout(self) -> Sheet:
        """The sheet as laid out, without its rows."""
        return Sheet(self.name, self.header_row, self.first_col, self.columns, self.total_rows, iter(()), [],
                     self.report_col)


class ProblemFrame(msgspec.Struct, tag="problem"):
    slug: str
    detail_zh: str
    detail_en: str
    field: str | None
    extra: dict[str, Any]


class BlockFrame(msgspec.Struct, tag="block"):
    rows: list[Row]
    errors: list[tuple[int, str, str, str, str, str]]  # of the cells and of the rules within a row
    codes: list[str | None]  # each row's check code (loans.check_code), None where a field it needs is missing
    plans: list[tuple[int, int, int] | None]  # per row: its two limit rows' ids and its terms' number, or None
    terms: list[ContractTerms]  # the terms first met in this block, numbered on from the previous blocks'
    over_limit: bool  # a row breaks the policy (loans.import_rules.policy_rules says which)


class EndFrame(msgspec.Struct, tag="end"):
    repeats: bool  # a rule across rows would fail (CrossCheck): the service checks the whole file, which says where


Frame = SheetFrame | ProblemFrame | BlockFrame | EndFrame


class CrossCheck:
    """Whether loans.import_rules.cross_rules would find anything, kept up row by row: a contract number or a
    student's academic year twice, an ID number under two names, a co-borrower who is a borrower in the file.
    Only yes or no; where, and the messages, come from cross_rules itself when the answer is yes.

    Contract numbers and ID numbers are remembered by their hash, not their text (a third of the reader's memory
    at the end of a 100,000-row file). Equal values have equal hashes, so nothing repeated is missed; two values
    whose hashes collide (about once in 10^9 files of 100,000 rows) give a yes that cross_rules then answers."""

    def __init__(self) -> None:
        self.found = False
        self._contracts: set[int] = set()
        self._years: set[int] = set()  # hashes of (ID number, academic year)
        self._names: dict[int, str | None] = {}  # ID number's hash -> name
        self._co_names: dict[int, str | None] = {}

    def add(self, rows: list[Row]) -> None:
        contracts, years, names, co_names = self._contracts, self._years, self._names, self._co_names
        found = self.found
        for r in rows:
            contract, year = hash(r.contract_no), hash((r.id_number, r.academic_year))
            if contract in contracts or year in years:
                found = True
            contracts.add(contract)
            years.add(year)
            if names.setdefault(hash(r.id_number), r.name) != r.name:
                found = True
            if co_names.setdefault(hash(r.co_id_number), r.co_name) != r.co_name:
                found = True
        # a co-borrower who borrows (in any row, before or after): both are in both dictionaries' keys
        self.found = found or not names.keys().isdisjoint(co_names.keys())


def sign(rows: list[Row], secret: str) -> list[str | None]:
    """Each row's check code; None for a row missing a field the code is made of (such a row fails anyway)."""
    return [check_code(secret, r.contract_no, r.id_number, r.principal, r.signed_on)
            if r.contract_no and r.id_number and r.principal is not None and r.signed_on else None for r in rows]


# --- the reader process ---------------------------------------------------------------------------------------

def _read_frame(stream: BinaryIO) -> bytes:
    head = stream.read(LENGTH.size)
    if len(head) < LENGTH.size:
        raise EOFError
    (size,) = LENGTH.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return body


class _Writer:
    """Frames out, each after its length."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.encoder = msgspec.msgpack.Encoder()

    def send(self, frame: Any) -> None:
        self.send_body(self.encoder.encode(frame))

    def send_body(self, body: bytes) -> None:
        self.stream.write(LENGTH.pack(len(body)))
        self.stream.write(body)
        self.stream.flush()


class _Blocks:
    """Typing a sheet's rows a block at a time into BlockFrames: the rules within a row, the policy, the check
    codes, and the contract terms numbered as first met (by this process: loans.import_chunked renumbers a
    helper's)."""

    def __init__(self, request: Request, layout: Sheet) -> None:
        self.request = request
        self.policy = PolicyCheck(request.policy)
        self.typing = RowTyping(layout)
        self.numbered: dict[ContractTerms, int] = {}
        self._by_object: dict[int, int] = {}  # id() of terms objects kept alive elsewhere -> their number

    def number(self, terms: ContractTerms) -> int:
        """The terms' number, the same for equal terms. Looked up by the object first: PolicyCheck gives the same
        object for the same signing date and graduation year, and hashing the terms' eight fields (Decimals among
        them) row by row was a tenth of the reader's own time. `terms` must stay alive (PolicyCheck keeps its)."""
        found = self._by_object.get(id(terms))
        if found is None:
            found = self._by_object[id(terms)] = self.numbered.setdefault(terms, len(self.numbered))
        return found

    def frames(self, sheet: Sheet) -> Iterator[BlockFrame]:
        numbered, number = self.numbered, self.number
        for rows, errors in typed_blocks(sheet, self.request.block, self.typing):
            broken: list[RowError] = []
            plans = policy_rules(sheet, rows, self.policy, broken)
            known = len(numbered)
            ids = [(p[0][0], p[0][1], number(p[1])) if (p := plans.get(r.row)) else None for r in rows]
            yield BlockFrame(rows, [(e.row, e.column, e.header, e.field, e.message_zh, e.message_en) for e in errors],
                             sign(rows, self.request.secret), ids, list(numbered)[known:], bool(broken))


def main() -> None:
    out = _Writer(sys.stdout.buffer)
    request = msgspec.msgpack.decode(_read_frame(sys.stdin.buffer), type=Request)
    source: bytes | Path = Path(request.path) if request.path else _read_frame(sys.stdin.buffer)
    if request.folder:
        from loans.import_chunked import read_in_chunks  # only a large sheet needs it

        if read_in_chunks(request, source, out):
            return
    try:
        sheet = read_sheet(source)
    except Problem as exc:
        out.send(ProblemFrame(exc.kind.slug, exc.detail_zh, exc.detail_en, exc.field, exc.extra))
        return
    del source
    cross = CrossCheck()
    out.send(SheetFrame.of(sheet))
    for frame in _Blocks(request, sheet).frames(sheet):
        cross.add(frame.rows)
        out.send(frame)
    out.send(EndFrame(cross.found))


NICENESS = 10  # the reader and its helper yield the cores to the service: see below


if __name__ == "__main__":
    # The service writes what the readers send, and its backlog is what remains when they are done: with the cores
    # shared alike it built one, then worked it off at the end on one core and a half (its two threads share
    # Python's lock). Yielding to it, the readers fill the gaps and finish with it: 7% less time, 5% less CPU, in
    # alternating runs. A busy web service's requests go first too. (The helper, started by the reader, inherits it.)
    if sys.argv[1:] == ["--helper"]:
        from loans.import_chunked import helper

        helper()
    else:
        if hasattr(os, "nice"):
            os.nice(NICENESS)
        main()

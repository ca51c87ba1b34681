"""Personal data stays in: a real `zizhu serve` (debug logging, the in-process scheduler sending SMS to a loopback
gateway) walks the demo flows — a loan from application to disbursement, a donation to a paid award, reminders
queued and sent — and is fed bad input full of ID numbers, phones and bank cards. Then its log, the public notice
(JSON and PDF), the donor's allocation report (JSON and PDF), the staff lists that promise masking and every error
answer are searched for any full ID number, mobile number or bank card of the people in the database (and any
18-character ID number with a valid check digit at all). A hit fails with where it was found.

Not searched: what must carry the full number (the SMS gateway's `to`, the auditor's cross-check export, the
record a clerk opens to register).
"""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pypdf import PdfReader
from sqlalchemy import text
from stdnum import luhn

from service.db import create_engine
from service.identity import make_id_number
from service.settings import Settings
from tests.e2e.conftest import free_port, start_server, stop_server, zizhu

STUDENT_ID = make_id_number("150430", date(2007, 5, 6), 77)
STUDENT_PHONE = "13987650077"
PARENT_ID = make_id_number("150430", date(1978, 8, 9), 79)
PARENT_PHONE = "15987650079"
DONOR_ID = make_id_number("150430", date(1970, 1, 2), 81)
DONOR_PHONE = "18687650081"
CARD = "6222020200112233" + luhn.calc_check_digit("6222020200112233")
ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _centre_today() -> str:
    """The server's business date (it runs on this machine's clock, in the centre's time zone)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _valid_id(candidate: str) -> bool:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(candidate[:17], weights, strict=True))
    return "10X98765432"[total % 11] == candidate[17].upper()


async def _people(settings: Settings) -> set[str]:
    """Every full ID number, phone and bank card the database holds."""
    engine = create_engine(settings)
    found: set[str] = set()
    try:
        async with engine.connect() as conn:
            for sql in (
                "SELECT id_number FROM students",
                "SELECT phone FROM students",
                "SELECT id_number FROM co_borrowers",
                "SELECT phone FROM co_borrowers",
                "SELECT id_number FROM donors",
                "SELECT bank_card FROM grant_applications",
                "SELECT bank_card FROM grant_awards",
                "SELECT phone FROM graduation_confirmations",
            ):
                found.update(v for v in (await conn.execute(text(sql))).scalars() if v)
    finally:
        await engine.dispose()
    return found


def _leaks(where: str, content: str, people: set[str]) -> list[str]:
    hits = [value for value in people if value in content]
    hits += [m for m in ID_RE.findall(content) if _valid_id(m) and m not in hits]
    out = []
    for hit in hits:
        at = content.index(hit)
        out.append(f"{where}: {hit} in …{content[max(0, at - 80) : at + 40]!r}…")
    return out


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


class Walk:
    """The requests of the flows, keeping every answer worth searching under a name that says where it came from."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base + "/api/v1", timeout=60)
        self.seen: dict[str, str] = {}
        self.tokens = {
            who: self.http.post("/auth/login", json={"username": who, "password": "zizhu-demo"}).json()["access_token"]
            for who in ("officer", "reviewer", "admin")
        }

    def call(
        self, who: str | None, method: str, path: str, expect: int | None = None, keep: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        r = self.http.request(method, path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
        if expect is not None:
            assert r.status_code == expect, (method, path, r.status_code, r.text[:500])
        if r.status_code >= 400:
            self.seen[f"error {r.status_code} from {method} {path}"] = r.text
        elif keep:
            self.seen[keep] = _pdf_text(r.content) if r.content.startswith(b"%PDF") else r.text
        return r


def _bad_input(w: Walk, student: dict[str, Any], university: str) -> None:
    """Wrong requests that carry personal data: none of it may come back or reach the log."""
    w.call(None, "POST", "/auth/login", json={"username": STUDENT_ID, "password": PARENT_PHONE}, expect=401)
    w.call(None, "POST", "/auth/login", json={"username": CARD, "password": STUDENT_PHONE}, expect=401)
    w.call("officer", "POST", "/students", json=student)  # the same ID number again: 409
    w.call("officer", "POST", "/students", json={**student, "id_number": STUDENT_ID[:17] + "0", "phone": "139"})
    w.call("officer", "POST", "/students", json={**student, "level": STUDENT_ID, "phone": STUDENT_PHONE})
    w.call(
        "officer",
        "POST",
        "/students",
        content=f'{{"id_number": "{STUDENT_ID}", "phone": {STUDENT_PHONE}',
        headers={"content-type": "application/json"},
    )  # not JSON
    w.call("officer", "GET", f"/students/{STUDENT_ID}")  # an ID number where the record id goes
    w.call("officer", "GET", f"/loan-contracts/{PARENT_ID}")
    w.call("officer", "GET", "/students", params={"q": STUDENT_ID, "limit": CARD})
    w.call(
        "officer",
        "POST",
        "/donors",
        json={"name": "某人", "kind": "individual", "id_number": DONOR_ID[:17] + "5", "contact": DONOR_PHONE},
    )
    w.call(
        "officer",
        "POST",
        "/loan-applications",
        json={
            "student_id": 999999,
            "academic_year": 2026,
            "amount": "1000.00",
            "co_borrower": {"name": "某某", "id_number": PARENT_ID, "phone": PARENT_PHONE, "relationship": "father"},
        },
    )
    w.call("officer", "POST", "/universities", json={"code": university, "name": STUDENT_ID, "province": CARD})


def _walk(w: Walk) -> None:
    university = w.call("officer", "GET", "/universities", expect=200).json()["items"][0]["code"]
    student = {
        "name": "隐私测",
        "id_number": STUDENT_ID,
        "phone": STUDENT_PHONE,
        "household_county": "示范县",
        "household_province": "内蒙古",
        "categories": ["registered_poor"],
        "university_code": university,
        "level": "undergraduate",
        "study_years": 4,
        "enrolled_on": "2026-09-01",
        "expected_graduation": "2030-06-30",
    }
    sid = w.call("officer", "POST", "/students", json=student, expect=201).json()["id"]
    w.call("officer", "GET", "/students", params={"q": "隐私测"}, expect=200, keep="student list")
    # a loan, application to disbursement
    app = w.call(
        "officer",
        "POST",
        "/loan-applications",
        expect=201,
        json={
            "student_id": sid,
            "academic_year": 2026,
            "amount": "16000.00",
            "co_borrower": {"name": "隐私父", "id_number": PARENT_ID, "phone": PARENT_PHONE, "relationship": "father"},
        },
    )
    w.call("reviewer", "POST", f"/loan-applications/{app.json()['id']}/approve", expect=200)
    no = w.call(
        "officer",
        "POST",
        f"/loan-applications/{app.json()['id']}/contract",
        json={"signed_on": "2026-09-10"},
        expect=201,
    ).json()["contract_no"]
    w.call("officer", "POST", f"/loan-contracts/{no}/receipt", json={"amount": "6500.00"}, expect=200)
    w.call("officer", "POST", f"/loan-contracts/{no}/disburse", json={"disbursed_on": "2026-09-20"}, expect=200)
    w.call("officer", "GET", "/loan-applications", expect=200, keep="loan application list")
    # a donation, to a paid award
    donor = w.call(
        "officer",
        "POST",
        "/donors",
        expect=201,
        json={"name": "隐私捐", "kind": "individual", "id_number": DONOR_ID, "contact": DONOR_PHONE},
    ).json()["id"]
    w.call("officer", "GET", "/donors", expect=200, keep="donor list")
    program = w.call(
        "officer",
        "POST",
        "/programs",
        expect=201,
        json={"name": "隐私助学金", "funding": "social", "rule": {"type": "fixed", "amount": "1000.00"}},
    ).json()["id"]
    w.call(
        "officer",
        "POST",
        "/donations",
        headers={"Idempotency-Key": "pd-1"},
        expect=201,
        json={
            "donor_id": donor,
            "program_id": program,
            "amount": "5000.00",
            "received_on": "2026-09-01",
            "method": "bank_transfer",
            "reference": "PD-BANK-1",
        },
    )
    grant = w.call(
        "officer",
        "POST",
        f"/programs/{program}/applications",
        expect=201,
        json={"student_id": sid, "academic_year": 2026, "bank_card": CARD},
    ).json()["id"]
    w.call("reviewer", "POST", f"/applications/{grant}/review", json={"approved": True}, expect=200)
    notice = w.call(
        "officer", "POST", f"/programs/{program}/notices", json={"starts_on": _centre_today()}, expect=201
    ).json()["id"]
    w.call(None, "GET", f"/notices/{notice}", expect=200, keep="public notice")
    w.call(None, "GET", f"/notices/{notice}", params={"format": "pdf"}, expect=200, keep="public notice PDF")
    w.call(
        None,
        "POST",
        f"/notices/{notice}/objections",
        json={
            "application_id": grant,
            "reason": f"举报人 {PARENT_PHONE}",
            "contact_name": "举报人",
            "contact_phone": PARENT_PHONE,
        },
        expect=201,
    )
    w.call("reviewer", "GET", f"/notices/{notice}/objections", expect=200, keep="objection list")
    award = w.call("officer", "POST", f"/programs/{program}/awards/finalize", json={}, expect=200).json()["awards"]
    if award:
        w.call(
            "officer",
            "POST",
            f"/awards/{award[0]['id']}/pay",
            expect=201,
            json={"paid_on": "2026-10-25", "reference": "PD-PAY-1", "bank_card": CARD},
        )
        w.call("officer", "GET", f"/programs/{program}/awards", expect=200, keep="award list")
    w.call("officer", "GET", f"/donors/{donor}/allocation-report", expect=200, keep="allocation report")
    w.call(
        "officer",
        "GET",
        f"/donors/{donor}/allocation-report",
        params={"format": "pdf"},
        expect=200,
        keep="allocation report PDF",
    )
    # reminders: close a past date of the demo portfolio; the in-process dispatcher sends them
    queued = w.call("officer", "POST", "/batch/close-of-business", json={"as_of": "2026-11-19"}, expect=200)
    assert queued.json()["reminders_queued"] > 0, queued.text
    _bad_input(w, student, university)


def test_no_full_id_phone_or_card_leaves_the_service(cli_env, tmp_path):
    gateway_port, port = free_port(), free_port()
    env = {
        **cli_env,
        "ZIZHU_LOG_LEVEL": "DEBUG",
        "ZIZHU_SCHEDULER": "true",
        "ZIZHU_SMS_QUIET_HOURS": "off",
        "ZIZHU_SMS_URL": f"http://127.0.0.1:{gateway_port}/sms",
        "ZIZHU_SMS_TOKEN": "pd-token",
        "ZIZHU_DISPATCH_EVERY_SECONDS": "1",
    }
    demo = zizhu(env, "demo", "--students", "60")
    assert demo.returncode == 0, demo.stderr
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "notifications.fake_gateway",
            "--port",
            str(gateway_port),
            "--log",
            str(tmp_path / "sms.jsonl"),
            "--token",
            "pd-token",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server = start_server(env, port, "--no-demo")
    try:
        w = Walk(f"http://127.0.0.1:{port}")
        _walk(w)
        deadline = time.monotonic() + 30
        while not w.call("officer", "GET", "/notifications", params={"status": "sent"}).json()["items"]:
            assert time.monotonic() < deadline, "no reminder was sent"
            time.sleep(0.5)
        w.call("officer", "GET", "/notifications", expect=200, keep="notification list")
    finally:
        log = stop_server(server)
        gateway.kill()
        gateway.wait(10)
    assert "DEBUG" in log and len(log) > 1000, log[:2000]  # the log was on, and said things
    assert (tmp_path / "sms.jsonl").read_text().strip()  # and the reminders really went out
    people = asyncio.run(_people(Settings.from_env(env)))
    assert {STUDENT_ID, PARENT_PHONE, DONOR_ID, CARD} <= people
    leaks = _leaks("server log", log, people)
    for where, content in w.seen.items():
        leaks += _leaks(where, content, people)
    assert not leaks, "\n".join(leaks)

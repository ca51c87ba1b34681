"""A receipt's first print is a write done exactly once (issue 16, finding 9), tried with real parallel requests
against real server processes: twenty first prints at once, while donations are written, give one original and
nineteen 副本 and never a 500 (SQLite: "database is locked"; PostgreSQL: two API processes, never two originals).

Real processes because the in-process AsyncTestClient runs one request at a time: its transport hands each request
to the app's thread and waits (litestar.testing.transport), so asyncio.gather over it never overlaps two requests.
"""

from __future__ import annotations

import asyncio
import os

import httpx
from sqlalchemy import text

from service.db import create_engine
from service.settings import Settings
from tests.e2e.conftest import free_port, start_server, stop_server, zizhu
from tests.integration.donation_fixtures import credit_code

N = 20
PASSWORD = "first-print-pass-1"
ON_POSTGRES = bool(os.environ.get("ZIZHU_TEST_DATABASE_URL", "").strip())


def _copy(answer: httpx.Response) -> bool:
    return "%E5%89%AF%E6%9C%AC" in answer.headers["content-disposition"]  # 副本 in the file name


def _receipt(base: str) -> tuple[dict[str, str], int, int, str]:
    token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "clerk", "password": PASSWORD}).json()
    officer = {"Authorization": f"Bearer {token['access_token']}"}
    with httpx.Client(base_url=f"{base}/api/v1", headers=officer, timeout=30) as api:
        donor = api.post(
            "/donors",
            json={
                "name": "示范县农村商业银行",
                "kind": "organization",
                "credit_code": credit_code(1),
                "contact": "0476-1234567",
            },
        )
        assert donor.status_code == 201, donor.text
        program = api.post(
            "/programs",
            json={
                "name": "草原情",
                "funding": "social",
                "rule": {"type": "by_level", "amounts": {"undergraduate": "3000.00"}},
            },
        )
        assert program.status_code == 201, program.text
        gift = api.post(
            "/donations",
            json={
                "donor_id": donor.json()["id"],
                "program_id": program.json()["id"],
                "amount": "500.00",
                "received_on": "2025-08-01",
                "method": "bank_transfer",
                "reference": "NSH-FIRST",
            },
        )
        assert gift.status_code == 201, gift.text
    return officer, donor.json()["id"], program.json()["id"], gift.json()["receipt_no"]


async def _storm(bases: list[str], officer: dict[str, str], donor: int, program: int, no: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=2 * N)
    async with httpx.AsyncClient(headers=officer, timeout=60, limits=limits) as http:

        def pdf(i: int):
            return http.get(f"{bases[i % len(bases)]}/api/v1/receipts/{no}", params={"format": "pdf"})

        def gift(i: int):  # other writers at the same moment
            body = {
                "donor_id": donor,
                "program_id": program,
                "amount": "10.00",
                "received_on": "2025-08-02",
                "method": "bank_transfer",
                "reference": f"NSH-DURING-{i}",
            }
            return http.post(f"{bases[i % len(bases)]}/api/v1/donations", json=body)

        return await asyncio.gather(*(pdf(i) for i in range(N)), *(gift(i) for i in range(N // 2)))


def test_twenty_parallel_first_prints_make_one_original(cli_env):
    assert zizhu(cli_env, "db", "upgrade").returncode == 0
    added = zizhu(cli_env, "users", "add", "clerk", "--role", "officer", "--password", PASSWORD)
    assert added.returncode == 0, added.stderr
    ports = [free_port() for _ in range(2 if ON_POSTGRES else 1)]
    servers = [start_server(cli_env, port, "--no-demo") for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        officer, donor, program, no = _receipt(bases[0])
        answers = asyncio.run(_storm(bases, officer, donor, program, no))
    finally:
        logs = [stop_server(proc) for proc in servers]
    prints, gifts = answers[:N], answers[N:]
    assert [a.status_code for a in prints] == [200] * N, ({a.status_code: a.text[:300] for a in prints}, logs)
    assert {a.status_code for a in gifts} == {201}, {a.status_code: a.text[:300] for a in gifts}
    assert sum(not _copy(a) for a in prints) == 1, "exactly one original"
    assert asyncio.run(_prints_audited(cli_env, no)) == 1
    verified = zizhu(cli_env, "audit", "verify")  # and the trail those writers left seals and verifies
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout + verified.stderr


async def _prints_audited(env: dict[str, str], no: str) -> int:
    engine = create_engine(Settings.from_env(env))
    try:
        async with engine.connect() as conn:
            sql = text("SELECT count(*) FROM audit_log WHERE action = 'print' AND entity_id = :no")
            return (await conn.execute(sql, {"no": no})).scalar_one()
    finally:
        await engine.dispose()

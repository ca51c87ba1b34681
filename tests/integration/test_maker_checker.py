"""Issue 16, findings 11 and 19: no one moves money alone, and imported contract numbers keep the centre's series.

An import is a batch whose contracts count for nothing (reports, ledger, payments) until a reviewer other than the
importer accepts it; a rejected batch leaves nothing behind. A payment goes to the card on file; another card needs
a change proposed by one user and approved by another. Imported numbers have the centre's form and never move the
counter of its own series.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from sqlalchemy import func, select

from loans.models import ContractCounter, LedgerEntry, Loan, LoanPayout
from loans.servicing.booking import book_unbooked
from service.audit import AuditRecord
from service.db import write_session
from tests.integration.console_fixtures import alert_of, console_as
from tests.integration.donation_fixtures import grant_world, on_day
from tests.integration.loan_fixtures import loan_world
from tests.integration.test_loan_import import row, upload, workbook

URL = "/api/v1/loan-imports"
CARD = "6222021234567890128"  # passes Luhn
OTHER = "6217000000000006"


async def _universities(client: Any, who: dict[str, str]) -> None:
    for code, name, prov in (("10126", "内蒙古大学", "内蒙古"), ("10027", "北京师范大学", "北京")):
        await client.post("/api/v1/universities", json={"code": code, "name": name, "province": prov}, headers=who)


async def _count(db: Any, model: Any, *where: Any) -> int:
    async with write_session(db) as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_an_import_counts_only_once_another_user_accepts_it(client, make_user, db):
    officer, reviewer, other = await make_user("officer"), await make_user("reviewer"), await make_user("reviewer")
    await _universities(client, officer)
    rows = [row(1), row(2, disbursed_on=None, receipt_amount=None)]
    r = await upload(client, officer, workbook(rows))
    assert r.status_code == 200, r.text
    batch = r.json()["batch_id"]

    contract = (await client.get("/api/v1/loan-contracts/150430-2024-000001", headers=officer)).json()
    assert contract["status"] == "pending_review"
    report = (await client.get("/api/v1/reports/loans", params={"year": 2024}, headers=officer)).json()
    assert report["contracts"] == 0 and report["amount"] == "0.00"  # not counted before acceptance
    paid = await client.post(
        "/api/v1/loan-contracts/150430-2024-000001/repayments",
        json={"amount": "100.00", "paid_on": "2024-12-01", "reference": "MC-1"},
        headers={**officer, "Idempotency-Key": "mc-1"},
    )
    assert paid.status_code == 409  # no money moves on an unaccepted contract
    async with write_session(db) as s:
        assert await book_unbooked(s, "test") == 0  # the nightly batch books none of it
    assert await _count(db, LedgerEntry) == 0

    queue = (await client.get(f"{URL}/batches", params={"status": "pending"}, headers=reviewer)).json()
    assert queue["total"] == 1 and queue["items"][0]["id"] == batch
    assert (queue["items"][0]["rows"], queue["items"][0]["principal"], queue["items"][0]["disbursed"]) == (
        2,
        "32000.00",
        "16000.00",
    )
    # the importer's role cannot decide; a reviewer cannot import; admin, importing, cannot accept its own
    assert (await client.post(f"{URL}/batches/{batch}/accept", headers=officer)).status_code == 403
    assert (await upload(client, reviewer, workbook([row(3)]))).status_code == 403
    admin = await make_user("admin")
    own = await upload(client, admin, workbook([row(4)]))
    assert own.status_code == 200, own.text
    refused = await client.post(f"{URL}/batches/{own.json()['batch_id']}/accept", headers=admin)
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/maker-checker"

    accepted = await client.post(f"{URL}/batches/{batch}/accept", headers=reviewer)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text
    again = await client.post(f"{URL}/batches/{batch}/accept", headers=other)
    assert again.status_code == 409 and again.json()["type"] == "/problems/invalid-transition"
    first = (await client.get("/api/v1/loan-contracts/150430-2024-000001", headers=officer)).json()
    second = (await client.get("/api/v1/loan-contracts/150430-2024-000002", headers=officer)).json()
    assert (first["status"], second["status"]) == ("in_school", "contracted")
    report = (await client.get("/api/v1/reports/loans", params={"year": 2024}, headers=officer)).json()
    assert report["contracts"] == 2 and report["amount"] == "32000.00"
    async with write_session(db) as s:
        assert await book_unbooked(s, "test") == 1  # now the disbursed one goes on the books
    records = await _count(db, AuditRecord, AuditRecord.entity == "loan_import", AuditRecord.action == "accept")
    assert records == 1


async def test_a_rejected_batch_leaves_nothing_and_can_be_imported_again(client, make_user, db):
    officer, reviewer = await make_user("officer"), await make_user("reviewer")
    await _universities(client, officer)
    content = workbook([row(1), row(2)])
    batch = (await upload(client, officer, content)).json()["batch_id"]
    assert await _count(db, LoanPayout) == 4
    no_reason = await client.post(f"{URL}/batches/{batch}/reject", json={}, headers=reviewer)
    assert no_reason.status_code == 400 and await _count(db, Loan) == 2  # bad input changes nothing
    r = await client.post(f"{URL}/batches/{batch}/reject", json={"reason": "金额与银行对账单不符"}, headers=reviewer)
    assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["reason"] == "金额与银行对账单不符"
    assert await _count(db, Loan) == 0 and await _count(db, LoanPayout) == 0 and await _count(db, LedgerEntry) == 0
    assert (await client.get("/api/v1/loan-contracts/150430-2024-000001", headers=officer)).status_code == 404
    async with write_session(db) as s:
        record = await s.scalar(
            select(AuditRecord).where(AuditRecord.entity == "loan_import", AuditRecord.action == "reject")
        )
        assert record is not None and record.after["contracts_removed"] == ["150430-2024-000001", "150430-2024-000002"]
    assert (await client.post(f"{URL}/batches/{batch}/accept", headers=reviewer)).status_code == 409
    again = await upload(client, officer, content)  # the corrected file goes in as a new batch
    assert again.status_code == 200 and again.json()["batch_id"] != batch


async def test_contract_numbers_must_have_the_centres_form_county_and_year(client, make_user):
    officer = await make_user("officer")
    await _universities(client, officer)
    rows = [
        row(1, contract_no="HT2024-1"),
        row(2, contract_no="150430-2024-1234567"),
        row(3, contract_no="150431-2024-000003"),  # another county's series
        row(4, contract_no="150430-2023-000004"),  # another year than the row's academic year
        row(5),
    ]
    r = await upload(client, officer, workbook(rows))
    assert r.status_code == 422
    errors = {(e["row"], e["field"]): e for e in r.json()["errors"]}
    assert set(errors) == {(2, "contract_no"), (3, "contract_no"), (4, "contract_no"), (5, "contract_no")}
    assert errors[(2, "contract_no")]["column"] == "R" and "本中心格式" in errors[(2, "contract_no")]["message_zh"]
    assert "本中心格式" in errors[(3, "contract_no")]["message_zh"]
    assert "150431" in errors[(4, "contract_no")]["message_zh"] and "150430" in errors[(4, "contract_no")]["message_zh"]
    assert "2023" in errors[(5, "contract_no")]["message_zh"] and "2024" in errors[(5, "contract_no")]["message_zh"]


async def test_imported_numbers_never_move_the_own_series_and_taken_ones_are_skipped(client, make_user, db):
    w = await loan_world(client, make_user)
    people = [
        row(11, contract_no="150430-2024-999999"),
        row(12, contract_no="150430-2024-000001"),
        row(13, contract_no="150430-2024-000002"),
        row(14, contract_no="150430-2024-000004"),
    ]
    r = await upload(client, w.officer, workbook(people))
    assert r.status_code == 200, r.text
    async with write_session(db) as s:
        assert (await s.scalars(select(ContractCounter))).all() == []
    numbers = [(await w.contract(student))["contract_no"] for student in ("ug", "pg", "jc")]
    assert numbers == ["150430-2024-000003", "150430-2024-000005", "150430-2024-000006"]  # six digits, none reused
    async with write_session(db) as s:
        counter = await s.scalar(select(ContractCounter.last_seq).where(ContractCounter.year == 2024))
    assert counter == 6


async def _award_with_card(w: Any, program: int) -> int:
    """An award whose card came with the application (entered by the officer, reviewed by the reviewer)."""
    app = await w.post(
        f"/programs/{program}/applications",
        {"student_id": w.students["ug"], "academic_year": 2025, "bank_card": CARD},
        expect=201,
    )
    await w.post(f"/applications/{app.json()['id']}/review", {"approved": True}, w.reviewer, expect=200)
    with on_day("2025-09-01"):  # the notice opens on its first day, is finalised on the centre's calendar
        await w.post(f"/programs/{program}/notices", {"starts_on": "2025-09-01"}, expect=201)
    with on_day("2025-09-08"):
        awards = (await w.post(f"/programs/{program}/awards/finalize", {"as_of": "2025-09-08"}, expect=200)).json()
    return awards["awards"][0]["id"]


async def test_a_payment_to_another_card_needs_a_change_approved_by_a_second_person(client, make_user, db):
    w = await grant_world(client, make_user)
    donor = await w.donor()
    program = (await w.program(funding="social", name="农商行助学"))["id"]
    await w.donate(donor, program, "10000.00", "2025-08-01")
    award = await _award_with_card(w, program)

    refused = await w.pay(award, expect=409, bank_card=OTHER)
    assert refused["type"] == "/problems/bank-card-not-on-file" and refused["field"] == "bank_card"
    assert OTHER not in json.dumps(refused) and CARD not in json.dumps(refused)
    assert (await w.get(f"/awards/{award}"))["award"]["status"] == "awarded"  # nothing paid

    proposed = await w.post(f"/awards/{award}/card-changes", {"bank_card": OTHER, "reason": "学生换卡"}, expect=201)
    change = proposed.json()
    assert change["status"] == "proposed" and change["bank_card"] == "621700******0006"
    assert change["previous_card"] == "622202*********0128"
    await w.pay(award, expect=409, bank_card=OTHER)  # proposed is not approved
    await w.post(f"/awards/{award}/card-changes", {"bank_card": OTHER, "reason": "again"}, expect=409)
    assert (await w.post(f"/card-changes/{change['id']}/decision", {"approved": True})).status_code == 403  # officer
    one_at_a_time = await w.post(f"/awards/{award}/card-changes", {"bank_card": OTHER, "reason": "x"}, expect=409)
    assert one_at_a_time.json()["type"] == "/problems/conflict"
    assert (
        await w.post(f"/awards/{award}/card-changes", {"bank_card": OTHER, "reason": "x"}, w.reviewer)
    ).status_code == 403

    approved = await w.post(f"/card-changes/{change['id']}/decision", {"approved": True}, w.reviewer, expect=200)
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"].startswith("reviewer-g")
    assert (await w.get(f"/awards/{award}"))["award"]["bank_card"] == "621700******0006"
    paid = await w.pay(award, bank_card=OTHER)
    assert paid["award"]["status"] == "paid" and paid["award"]["bank_card"] == "621700******0006"

    async with write_session(db) as s:
        trail = json.dumps(
            [(a.before, a.after) for a in (await s.scalars(select(AuditRecord))).all()], ensure_ascii=False
        )
    assert OTHER not in trail and CARD not in trail  # cards are audited masked


async def test_the_proposer_cannot_approve_and_a_rejected_change_is_never_used(client, make_user):
    w = await grant_world(client, make_user)
    donor = await w.donor()
    program = (await w.program(funding="social", name="农商行助学"))["id"]
    await w.donate(donor, program, "10000.00", "2025-08-01")
    award = await _award_with_card(w, program)
    admin = await make_user("admin")  # admin may do everything, but never both halves of one change
    change = (
        await w.post(f"/awards/{award}/card-changes", {"bank_card": OTHER, "reason": "换卡"}, admin, expect=201)
    ).json()
    own = await w.post(f"/card-changes/{change['id']}/decision", {"approved": True}, admin, expect=403)
    assert own.json()["type"] == "/problems/maker-checker"
    rejected = await w.post(
        f"/card-changes/{change['id']}/decision", {"approved": False, "note": "未核实"}, w.reviewer, expect=200
    )
    assert rejected.json()["status"] == "rejected"
    await w.pay(award, expect=409, bank_card=OTHER)
    paid = await w.pay(award, bank_card=CARD)  # the card on file, named or not, is always fine
    assert paid["award"]["bank_card"] == "622202*********0128"
    listed = await w.get("/card-changes", award_id=award)
    assert [c["status"] for c in listed["items"]] == ["rejected"]
    assert date.fromisoformat(listed["items"][0]["decided_at"][:10])


async def test_the_reviewer_accepts_and_rejects_batches_in_the_console(client, make_user, db):
    officer = await make_user("officer", username="importer-1")
    await make_user("reviewer", username="checker-1")
    await _universities(client, officer)
    first = (await upload(client, officer, workbook([row(1)]))).json()["batch_id"]
    second = (await upload(client, officer, workbook([row(2)]))).json()["batch_id"]
    async with console_as(client, "importer-1") as importer:
        page = await importer.client.get("/console/import/batches")
        assert page.status_code == 200 and f"#{first}" in page.text and "importer-1" in page.text
        assert f"/console/import/batches/{first}/accept" not in page.text  # no decision forms for the importer
        assert (await importer.post(f"/console/import/batches/{first}/accept")).status_code == 403
    assert await _count(db, Loan, Loan.status == "pending_review") == 2
    async with console_as(client, "checker-1") as checker:
        page = await checker.client.get("/console/import/batches")
        assert f"/console/import/batches/{first}/accept" in page.text and "16000.00" in page.text
        assert (await checker.post(f"/console/import/batches/{first}/accept")).status_code == 303
        missing = await checker.post(f"/console/import/batches/{second}/reject")
        assert missing.status_code == 422 and alert_of(missing.text)  # a rejection needs a reason
        assert (await checker.post(f"/console/import/batches/{second}/reject", {"reason": "重复"})).status_code == 303
        done = await checker.client.get("/console/import/batches?status=rejected")
        assert f"#{second}" in done.text and "重复" in done.text
    assert await _count(db, Loan, Loan.status == "in_school") == 1 and await _count(db, Loan) == 1


async def test_a_card_change_in_the_console(client, make_user, db):
    w = await grant_world(client, make_user)
    donor = await w.donor()
    program = (await w.program(funding="social", name="农商行助学"))["id"]
    await w.donate(donor, program, "10000.00", "2025-08-01")
    award = await _award_with_card(w, program)
    page = f"/console/awards/{award}"
    async with console_as(client, "officer-g") as officer:
        bad = await officer.post(f"{page}/card-changes", {"bank_card": OTHER[:-1] + "7", "reason": "换卡"})
        assert bad.status_code == 422 and alert_of(bad.text)  # Luhn
        assert (await officer.post(f"{page}/card-changes", {"bank_card": OTHER, "reason": "换卡"})).status_code == 303
        shown = (await officer.client.get(page)).text
        assert "621700******0006" in shown and OTHER not in shown and "/approve" not in shown
        title = re.search(r"<title>(.*?)</title>", shown, re.S).group(1)
        assert "<" not in title and shown.count('/card-changes"') == 1  # the section once, in the page body
    async with console_as(client, "reviewer-g") as reviewer:
        shown = (await reviewer.client.get(page)).text
        change = int(re.search(r"/console/card-changes/(\d+)/approve", shown).group(1))
        assert (await reviewer.post(f"/console/card-changes/{change}/approve")).status_code == 303
    assert (await w.get(f"/awards/{award}"))["award"]["bank_card"] == "621700******0006"


async def test_a_grant_is_paid_only_to_a_verified_card(client, make_user, db):
    """An application without a card gives an award with none on file: paying it (with a card named at payment or
    without one) is a 409 until a second person approves the card (issue 17: `bank_card: null` used to be paid)."""
    w = await grant_world(client, make_user)
    donor = await w.donor()
    program = (await w.program(funding="social", name="无卡资助"))["id"]
    await w.donate(donor, program, "10000.00", "2025-08-01")
    app = await w.apply(program, "ug", card=None)
    await w.post(f"/applications/{app['id']}/review", {"approved": True}, w.reviewer, expect=200)
    with on_day("2025-09-01"):
        await w.post(f"/programs/{program}/notices", {"starts_on": "2025-09-01"}, expect=201)
    with on_day("2025-09-08"):
        award = (await w.post(f"/programs/{program}/awards/finalize", {"as_of": "2025-09-08"}, expect=200)).json()
    award_id = award["awards"][0]["id"]
    for extra in ({}, {"bank_card": OTHER}):
        refused = await w.pay(award_id, expect=409, **extra)
        assert refused["type"] == "/problems/bank-card-not-verified" and refused["field"] == "bank_card"
    assert (await w.get(f"/awards/{award_id}"))["award"]["status"] == "awarded"  # nothing paid
    change = (await w.post(f"/awards/{award_id}/card-changes", {"bank_card": OTHER, "reason": "补登银行卡"})).json()
    await w.post(f"/card-changes/{change['id']}/decision", {"approved": True}, w.reviewer, expect=200)
    paid = await w.pay(award_id)
    assert paid["award"]["status"] == "paid" and paid["award"]["bank_card"] == "621700******0006"

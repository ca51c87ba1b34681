"""The console's grant pages: programmes, donations with their receipts, the review queue, notices, awards and
payments, the reports' downloads, the dashboard's reminders and donations, and the donor portal's scoping."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from donations.models import Application, Funding, Program, Receipt
from notifications.models import OutboxMessage
from tests.integration.console_fixtures import alert_of, console_as
from tests.integration.donation_fixtures import grant_world, on_day
from tests.integration.loan_fixtures import loan_world


def _location(r) -> str:
    assert r.status_code == 303, alert_of(r.text)
    return r.headers["location"]


async def test_officer_creates_a_programme_with_its_rule_and_bad_input_writes_nothing(client, make_user, sessions):
    await grant_world(client, make_user)
    async with console_as(client, "officer-g") as officer:
        assert "新建项目" in (await officer.client.get("/console/programs")).text
        form = {
            "name": "爱心助学金",
            "funding": "social",
            "pooling": "fifo",
            "rule_type": "by_level",
            "rule_undergraduate": "3000.00",
            "rule_junior_college": "2000",
            "notice_days": "7",
            "quota": "10",
        }
        r = await officer.post("/console/programs", {**form, "rule_undergraduate": "3千"})
        assert r.status_code == 422 and "规则金额" in alert_of(r.text) and 'value="爱心助学金"' in r.text
        r = await officer.post("/console/programs", {**form, "quota": "0"})
        assert r.status_code == 422 and alert_of(r.text)
        async with sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Program)) == 0
        page = _location(
            await officer.post("/console/programs", {**form, "levels": "undergraduate", "first_year_only": "on"})
        )
        r = await officer.client.get(page)
        assert "爱心助学金" in r.text and "3000.00" in r.text and "2000.00" in r.text
        assert "仅资助新生" in r.text  # the freshmen-only rule, as the API takes it
    async with console_as(client, "reviewer-g") as reviewer:
        assert (await reviewer.post("/console/programs", form)).status_code == 403  # officers create them


async def test_officer_records_a_donation_and_sees_its_receipt_number(client, make_user, sessions):
    world = await grant_world(client, make_user)
    donor = await world.donor()
    program = await world.program(name="金秋助学", funding="social")
    async with console_as(client, "officer-g") as officer:
        form = {
            "donor_id": str(donor),
            "program_id": str(program["id"]),
            "amount": "20000.00",
            "received_on": "2026-08-01",
            "method": "bank_transfer",
            "reference": "NSH0001",
            "idem": "k-1",
        }
        for bad, message in (
            ({"amount": "-5"}, "金额"),
            ({"amount": "12.345"}, "金额"),
            ({"directed_student_ids": "99999"}, "不存在"),
            ({"reference": ""}, "银行流水号"),
        ):
            r = await officer.post("/console/donations", {**form, **bad, "idem": f"bad-{len(message)}-{bad}"})
            assert r.status_code == 422 and message in alert_of(r.text), (bad, alert_of(r.text))
        r = await officer.client.post("/console/donations", data=form, follow_redirects=False)  # no CSRF token
        assert r.status_code == 403
        async with sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Funding)) == 0
            assert await s.scalar(select(func.count()).select_from(Receipt)) == 0
        receipt_page = _location(await officer.post("/console/donations", form))
        assert re.match(r"/console/receipts/JZ-\d{4}-\d+\?done=donation_recorded", receipt_page), receipt_page
        receipt_no = receipt_page.split("/")[-1].split("?")[0]
        r = await officer.client.get(receipt_page)
        assert (
            r.status_code == 200 and f'<span id="receipt-no">{receipt_no}</span>' in r.text and "捐赠已登记" in r.text
        )
        # the same form again (a second click) records nothing twice
        assert _location(await officer.post("/console/donations", form)) == receipt_page
        assert receipt_no in (await officer.client.get("/console/donations")).text
        first = await officer.client.get(f"/console/receipts/{receipt_no}/pdf")
        again = await officer.client.get(f"/console/receipts/{receipt_no}/pdf")
        assert first.content.startswith(b"%PDF") and "%E5%89%AF%E6%9C%AC" in again.headers["content-disposition"]
        assert "%E5%89%AF%E6%9C%AC" not in first.headers["content-disposition"]  # 副本 on reprints only
        r = await officer.post(f"/console/receipts/{receipt_no}/void", {})
        assert r.status_code == 422 and alert_of(r.text)
        replacement = _location(await officer.post(f"/console/receipts/{receipt_no}/void", {"reason": "抬头有误"}))
        r = await officer.client.get(replacement)
        assert f"/console/receipts/{receipt_no}" in r.text and "收据已作废" in r.text
        r = await officer.post(f"/console/receipts/{receipt_no}/void", {"reason": "again"})
        assert r.status_code == 409 and "已作废" in alert_of(r.text)
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Funding)) == 1
        assert await s.scalar(select(func.count()).select_from(Receipt)) == 2


async def test_grant_year_through_the_console_with_maker_checker(client, make_user, sessions):
    world = await grant_world(client, make_user)
    donor = await world.donor()
    program = await world.program(name="金秋助学", funding="social")
    pid = program["id"]
    await world.donate(donor, pid, "10000.00", received_on="2026-08-01")
    async with console_as(client, "officer-g") as officer:
        r = await officer.post(f"/console/programs/{pid}/applications", {"student_id": "abc", "academic_year": "2026"})
        assert r.status_code == 422 and alert_of(r.text)
        for key in ("ug", "jc"):
            _location(
                await officer.post(
                    f"/console/programs/{pid}/applications",
                    {
                        "student_id": str(world.students[key]),
                        "academic_year": "2026",
                        "bank_card": "6222021000000000017",
                    },
                )
            )
        with on_day("2026-09-01"):
            r = await officer.post(f"/console/programs/{pid}/notices", {"starts_on": "2026-09-01"})
        assert r.status_code == 422 and "待公示" in alert_of(r.text)  # nothing reviewed yet
        assert (await officer.post("/console/grants/applications/1/review", {"approved": "true"})).status_code == 403
    async with console_as(client, "reviewer-g") as reviewer:
        queue = await reviewer.client.get("/console/grants/applications?status=submitted")
        assert queue.text.count('action="/console/grants/applications/') == 4  # approve and reject, twice
        async with sessions() as s:
            ids = list((await s.scalars(select(Application.id).order_by(Application.id))).all())
        r = await reviewer.post(f"/console/grants/applications/{ids[1]}/review", {"approved": "false"})
        assert r.status_code == 422 and alert_of(r.text)  # a rejection gives its reason
        _location(await reviewer.post(f"/console/grants/applications/{ids[0]}/review", {"approved": "true"}))
        _location(
            await reviewer.post(
                f"/console/grants/applications/{ids[1]}/review", {"approved": "false", "reason": "材料不全"}
            )
        )
    async with console_as(client, "officer-g") as officer:
        r = await officer.post(f"/console/programs/{pid}/notices", {"starts_on": "2026-09-01"})
        assert r.status_code == 422 and "过去" in alert_of(r.text)  # not today: a notice never starts in the past
        with on_day("2026-09-01"):
            _location(await officer.post(f"/console/programs/{pid}/notices", {"starts_on": "2026-09-01"}))
        page = (await officer.client.get(f"/console/programs/{pid}")).text
        notice_id = re.search(r'href="/console/notices/(\d+)"', page).group(1)
        notice = await officer.client.get(f"/console/notices/{notice_id}")
        assert "张*丰" in notice.text and "张三丰" not in notice.text
        assert f"/api/v1/notices/{notice_id}?format=pdf" in notice.text
        assert (await client.get(f"/api/v1/notices/{notice_id}?format=pdf")).content.startswith(b"%PDF")
        with on_day("2026-09-07"):  # the last day: as_of the day after is in the future
            r = await officer.post(f"/console/programs/{pid}/finalize", {"as_of": "2026-09-08"})
            assert r.status_code == 422 and alert_of(r.text)
        with on_day("2026-09-08"):
            _location(await officer.post(f"/console/programs/{pid}/finalize", {"as_of": "2026-09-08"}))
        awards = await officer.client.get(f"/console/awards?program_id={pid}")
        award_id = re.search(r'action="/console/awards/(\d+)/pay"', awards.text).group(1)
        r = await officer.post(
            f"/console/awards/{award_id}/pay", {"paid_on": "2026-09-01", "reference": "FF1", "idem": "p1"}
        )
        assert r.status_code == 422 and "不能早于" in alert_of(r.text)
        done = _location(
            await officer.post(
                f"/console/awards/{award_id}/pay", {"paid_on": "2026-10-10", "reference": "FF2", "idem": "p2"}
            )
        )
        r = await officer.client.get(done)
        assert "已发放" in r.text and "3000.00" in r.text
        paid = await officer.client.get("/console/awards?status=paid")
        assert f'href="/console/awards/{award_id}"' in paid.text


async def test_donor_portal_is_scoped_to_its_own_donor(client, make_user):
    world = await grant_world(client, make_user)
    mine, theirs = await world.donor("甲公司", 1), await world.donor("乙公司", 2)
    program = await world.program(name="金秋助学", funding="social")
    own = await world.donate(mine, program["id"], "5000.00")
    other = await world.donate(theirs, program["id"], "7000.00")
    await make_user("donor", username="donor-a", donor_id=mine)
    async with console_as(client, "donor-a") as donor:
        assert donor.landed == "/console/donor"
        r = await donor.client.get("/console/donor")
        assert "甲公司" in r.text and own["receipt_no"] in r.text and other["receipt_no"] not in r.text
        assert "Allocation report" in (await donor.client.get("/console/donor?lang=en")).text
        pdf = await donor.client.get(f"/console/donors/{mine}/report.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert (await donor.client.get(f"/console/receipts/{own['receipt_no']}/pdf")).content.startswith(b"%PDF")
        for path in (
            f"/console/donors/{theirs}",
            f"/console/donors/{theirs}/report.pdf",
            f"/console/receipts/{other['receipt_no']}",
            f"/console/receipts/{other['receipt_no']}/pdf",
            "/console/donations",
            "/console/receipts",
            "/console/programs",
            "/console",
        ):
            assert (await donor.client.get(path)).status_code == 403, path
        r = await donor.post(f"/console/receipts/{own['receipt_no']}/void", {"reason": "x"})
        assert r.status_code == 403
    async with console_as(client, "auditor-g") as auditor:  # staff read any donor's report
        assert "乙公司" in (await auditor.client.get(f"/console/donors/{theirs}")).text
        assert (await auditor.post("/console/donations", {})).status_code == 403


async def test_reports_downloads_and_the_dashboard_figures(client, make_user, sessions):
    world = await grant_world(client, make_user)
    donor = await world.donor()
    program = await world.program(name="金秋助学", funding="social")
    await world.donate(donor, program["id"], "8000.00")
    async with sessions() as s:
        for n, status in enumerate(("sent", "delivered", "delivered", "failed")):
            s.add(
                OutboxMessage(
                    subject="C1",
                    kind=f"k{n}",
                    template="before_due",
                    due_on=date(2026, 9, 1),
                    occasion_on=date(2026, 9, 1),
                    recipient_role="graduate",
                    recipient="13912340000",
                    channel="sms",
                    status=status,
                )
            )
        await s.commit()
    async with console_as(client, "auditor-g") as auditor:
        r = await auditor.client.get("/console")
        assert r.status_code == 200 and "8000.00" in r.text
        assert "已发送提醒" in r.text and r.text.count("<svg") == 2
        page = await auditor.client.get("/console/reports?year=2025")
        assert page.status_code == 200 and "逾期账龄" in page.text and "合计" in page.text
        for path, magic in (
            ("/console/reports/grants.pdf?year=2025", b"%PDF"),
            ("/console/reports/aging.xlsx", b"PK"),
            ("/console/reports/loans.xlsx?year=2025", b"PK"),
            ("/console/reports/default-rate.xlsx?by=university", b"PK"),
            ("/console/reports/subsidy.xlsx?year=2025", b"PK"),
        ):
            r = await auditor.client.get(path)
            assert r.status_code == 200 and r.content.startswith(magic), path


async def test_the_contract_page_lists_the_reminders_sent_for_it(client, make_user, sessions):
    world = await loan_world(client, make_user)
    contract = await world.contract("ug")
    async with sessions() as s:
        for n, (no, status) in enumerate(((contract["contract_no"], "delivered"), ("OTHER-1", "sent"))):
            s.add(
                OutboxMessage(
                    subject=no,
                    kind=f"before_due_{n}",
                    template="before_due",
                    due_on=date(2027, 9, 1),
                    occasion_on=date(2027, 8, 25),
                    recipient_role="graduate",
                    recipient="13912345678",
                    channel="sms",
                    status=status,
                    student_id=world.students["ug"],
                    contract_no=no,
                )
            )
        await s.commit()
    async with console_as(client, "officer-1") as officer:
        page = (await officer.client.get(f"/console/contracts/{contract['contract_no']}")).text
        assert "before_due_0" in page and "before_due_1" not in page  # its own reminders only
        assert "139****5678" in page and "13912345678" not in page and "已送达" in page


async def test_who_took_a_grant_application_cannot_review_it(client, make_user, sessions):
    world = await grant_world(client, make_user)
    program = await world.program(name="金秋助学", funding="social")
    await make_user("admin", username="admin-g")
    async with console_as(client, "admin-g") as admin:
        _location(
            await admin.post(
                f"/console/programs/{program['id']}/applications",
                {"student_id": str(world.students["ug"]), "academic_year": "2026"},
            )
        )
        async with sessions() as s:
            app_id = await s.scalar(select(Application.id))
        r = await admin.post(f"/console/grants/applications/{app_id}/review", {"approved": "true"})
        assert r.status_code == 403 and "不能审核自己受理的申请" in alert_of(r.text)
    async with sessions() as s:
        assert (await s.get(Application, app_id)).status == "submitted"

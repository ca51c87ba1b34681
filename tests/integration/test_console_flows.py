"""A loan year through the console's forms, as the people at the centre, the university and home do it."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from loans.imports.workbooks import template_workbook
from loans.models import LedgerEntry
from service.identity import make_id_number
from tests.integration.console_fixtures import alert_of, console_as
from tests.integration.loan_fixtures import loan_world


async def test_register_apply_approve_sign_print_receipt_disburse_repay(app, client, make_user, sessions):
    await loan_world(client, make_user)
    await make_user("school", username="school-1", university_code="10126")
    async with console_as(client, "officer-1") as officer:
        r = await officer.post(
            "/console/students",
            {
                "name": "李雷",
                "id_number": make_id_number("150430", date(2006, 3, 3), 21),
                "phone": "13812345678",
                "household_province": "内蒙古",
                "household_county": "示范县",
                "university_code": "10126",
                "level": "undergraduate",
                "study_years": "4",
                "enrolled_on": "2024-09-01",
                "expected_graduation": "2028-06-30",
                "categories": ["registered_poor", "orphan"],
            },
        )
        assert r.status_code == 303, alert_of(r.text)
        student_page = r.headers["location"].split("?")[0]
        page = await officer.client.get(student_page)
        assert "李雷" in page.text and "孤儿、建档立卡" in page.text and "138****5678" in page.text
        r = await officer.post(
            f"{student_page}/applications",
            {
                "academic_year": "2024",
                "amount": "16000",
                "co_name": "李父",
                "co_id_number": "150430197505050017",
                "co_phone": "13900001111",
                "relationship": "father",
            },
        )
        assert r.status_code == 303, alert_of(r.text)
        application = r.headers["location"].split("?")[0]
    async with console_as(client, "reviewer-1") as reviewer:
        queue = await reviewer.client.get("/console/applications?status=submitted")
        assert application in queue.text
        assert (await reviewer.post(f"{application}/approve")).status_code == 303
    async with console_as(client, "officer-1") as officer:
        r = await officer.post(f"{application}/contract", {"signed_on": "2024-09-10"})
        assert r.status_code == 303
        contract = r.headers["location"].split("?")[0]
        number = contract.rsplit("/", 1)[1]
        pdf = await officer.client.get(f"{contract}/certificate.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert "attachment" in pdf.headers["content-disposition"]
    async with console_as(client, "school-1") as school:
        assert number in (await school.client.get("/console/school/receipts")).text
        r = await school.post(f"/console/school/receipts/{number}", {"amount": "99999.00"})
        assert r.status_code == 422 and "超过贷款金额" in alert_of(r.text)
        r = await school.post(f"/console/school/receipts/{number}", {"amount": "6500.00"})
        assert r.status_code == 303 and number not in (await school.client.get(r.headers["location"])).text
    async with console_as(client, "officer-1") as officer:
        assert (await officer.post(f"{contract}/disburse", {"disbursed_on": "2024-11-15"})).status_code == 303
        page = await officer.client.get(contract)
        assert "2024-12-20" in page.text and "登记还款" in page.text  # schedule, and the repayment form
        key = re.search(r'name="idem" value="([0-9a-f]+)"', page.text).group(1)
        repayment = {"amount": "300.00", "paid_on": "2024-12-01", "reference": "BANK-0001", "idem": key}
        assert (await officer.post(f"{contract}/repayments", repayment)).status_code == 303
        assert (await officer.post(f"{contract}/repayments", repayment)).status_code == 303  # a second click
        r = await officer.post(f"{contract}/repayments", {**repayment, "idem": "another-key"})
        assert r.status_code == 409 and "BANK-0001" in alert_of(r.text)
        assert "BANK-0001" in (await officer.client.get(contract)).text
    async with sessions() as s:
        posted = await s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "repayment"))
        assert posted == 1


async def test_graduate_updates_contact_and_confirms_graduation_the_school_reviews(app, client, make_user):
    world = await loan_world(client, make_user)
    await make_user("graduate", username="grad-1", student_id=world.students["ug"])
    await make_user("school", username="school-1", university_code="10126")
    await world.contract("ug")
    async with console_as(client, "grad-1") as graduate:
        page = await graduate.client.get("/console/me")
        assert "150430-2024-000001" in page.text and "支付宝" in page.text
        r = await graduate.post("/console/me/contact", {"phone": "12345", "address": "呼和浩特"})
        assert r.status_code == 422 and alert_of(r.text)
        r = await graduate.post("/console/me/contact", {"phone": "13698765432", "address": "呼和浩特市新城区"})
        assert r.status_code == 303 and "done=contact_saved" in r.headers["location"]
        page = await graduate.client.get(r.headers["location"])
        assert "联系方式已更新" in page.text and "136****5432" in page.text
        r = await graduate.post(
            "/console/me/graduation",
            {"grad_employer": "某公司", "grad_phone": "13698765432", "grad_address": "北京市海淀区"},
        )
        assert r.status_code == 303
    async with console_as(client, "school-1") as school:
        page = await school.client.get("/console/graduations")
        item = re.search(r"/console/graduations/(\d+)/review", page.text).group(1)
        r = await school.post(f"/console/graduations/{item}/review", {"decision": "approve", "note": "核实"})
        assert r.status_code == 303
        assert "已审批" in (await school.client.get("/console/graduations?status=approved")).text


async def test_import_shows_the_row_errors_and_reports_download(app, client, make_user):
    await loan_world(client, make_user)
    await make_user("auditor", username="auditor-1")
    wb = load_workbook(io.BytesIO(template_workbook()))
    wb.active.append(["张三", "150430200601090012"])  # a wrong check digit, most columns missing
    out = io.BytesIO()
    wb.save(out)
    async with console_as(client, "officer-1") as officer:
        files = {
            "file": ("合同.xlsx", out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        }
        r = await officer.client.post("/console/import", data={"_csrf_token": officer.token}, files=files)
        assert r.status_code == 422 and "未导入" in r.text and "<td>2</td>" in r.text
        r = await officer.client.post(
            "/console/import", data={"_csrf_token": officer.token, "annotated": "on"}, files=files
        )
        assert r.status_code == 422 and r.content.startswith(b"PK")  # the workbook with the errors marked
        assert (await officer.client.get("/console/import/template.xlsx")).content.startswith(b"PK")
        reports = await officer.client.get("/console/reports?year=2024")
        assert reports.status_code == 200 and "contracts.xlsx" in reports.text
        export = await officer.client.get("/console/reports/contracts.xlsx?year=2024")
        assert export.status_code == 200 and export.content.startswith(b"PK")
    async with console_as(client, "auditor-1") as auditor:
        log = await auditor.client.get("/console/audit?entity=student")
        assert log.status_code == 200 and "学生ug" in log.text
    assert Workbook  # openpyxl is what the import reads too

"""Importing and exporting contract spreadsheets over HTTP, with real workbooks built by openpyxl."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from loans.imports.template import COLUMNS
from loans.models import ContractCounter, Loan, LoanPayout
from service.audit import AuditRecord
from service.identity import make_id_number
from service.registry.models import CoBorrower, Student
from service.responses import XLSX_MEDIA_TYPE

URL = "/api/v1/loan-imports"
HEADERS = [c.header for c in COLUMNS]


def person(n: int, born: date, seq: int) -> str:
    return make_id_number("150430", born + timedelta(days=n), seq)


def row(n: int, **over: Any) -> dict[str, Any]:
    """One valid contract row (by field name): undergraduate, academic year 2024, disbursed."""
    base: dict[str, Any] = {
        "name": f"学生{n}",
        "id_number": person(n, date(2005, 1, 1), 11),
        "phone": f"138{n:08d}",
        "household_province": "内蒙古",
        "household_county": "示范县",
        "university_code": "10126",
        "level": "本科",
        "study_years": 4,
        "enrolled_on": date(2024, 9, 1),
        "expected_graduation": date(2028, 6, 30),
        "categories": "建档立卡、低保",
        "co_name": f"家长{n}",
        "co_id_number": person(n, date(1975, 1, 1), 21),
        "co_phone": f"139{n:08d}",
        "relationship": "父亲",
        "academic_year": 2024,
        "principal": 16000,
        "contract_no": f"150430-2024-{n:06d}",
        "signed_on": date(2024, 9, 20),
        "receipt_amount": 6000,
        "disbursed_on": date(2024, 11, 20),
    }
    base.update(over)
    return base


def workbook(rows: list[dict[str, Any]], headers: list[str] | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers or HEADERS)
    for r in rows:
        ws.append([r.get(c.field) for c in COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def upload(
    client: Any, headers: dict[str, str], content: bytes, name: str = "contracts.xlsx", **params: Any
) -> Any:
    query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()}
    return await client.post(URL, files={"file": (name, content, XLSX_MEDIA_TYPE)}, params=query, headers=headers)


async def setup(client: Any, make_user: Any) -> dict[str, str]:
    officer = await make_user("officer")
    for code, name, prov in (("10126", "内蒙古大学", "内蒙古"), ("10027", "北京师范大学", "北京")):
        r = await client.post(
            "/api/v1/universities", json={"code": code, "name": name, "province": prov}, headers=officer
        )
        assert r.status_code == 201, r.text
    return officer


async def count(sessions: Any, model: Any) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def accept(client: Any, make_user: Any, batch_id: int) -> None:
    """A reviewer (not the importer) accepts the batch: its contracts count from now on."""
    reviewer = await make_user("reviewer")
    r = await client.post(f"{URL}/batches/{batch_id}/accept", headers=reviewer)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text


def errors_by(body: dict[str, Any]) -> dict[tuple[int, str], str]:
    return {(e["row"], e["field"]): e["message_zh"] for e in body["errors"]}


async def test_good_file_imports_contracts_students_and_payouts(client, make_user, sessions):
    officer = await setup(client, make_user)
    a = dict(enrolled_on=date(2023, 9, 1), expected_graduation=date(2027, 6, 30))
    rows = [
        row(
            1,
            academic_year=2023,
            principal=16000,
            contract_no="150430-2023-000007",
            signed_on="2023/9/18",
            disbursed_on=20231115,
            **a,
        ),
        row(
            1,
            academic_year=2024,
            principal="20000",
            contract_no="150430-2024-000031",
            disbursed_on=None,
            receipt_amount=5200.5,
            **a,
        ),
        row(
            2,
            level="专科",
            study_years=3,
            expected_graduation=date(2027, 6, 30),
            receipt_amount=None,
            disbursed_on=None,
            categories=None,
            relationship="母亲",
            university_code=10027,
        ),
    ]
    r = await upload(client, officer, workbook(rows))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["valid"], body["invalid"], body["imported"]) == (3, 3, 0, 3)
    assert body["students_created"] == 2 and body["co_borrowers_created"] == 2 and body["errors"] == []
    pending = (await client.get("/api/v1/loan-contracts/150430-2023-000007", headers=officer)).json()
    assert pending["status"] == "pending_review"  # counts for nothing until a second person accepts the batch
    await accept(client, make_user, body["batch_id"])

    first = (await client.get("/api/v1/loan-contracts/150430-2023-000007", headers=officer)).json()
    assert first["status"] == "in_school" and first["principal"] == "16000.00"
    assert first["signed_on"] == "2023-09-18" and first["disbursed_on"] == "2023-11-15"
    assert {(p["payee"], p["amount"]) for p in first["payouts"]} == {("university", "6000.00"), ("student", "10000.00")}
    assert first["rate"] == "3.60" and first["maturity_date"] == "2042-09-20" and first["check_code"]
    second = (await client.get("/api/v1/loan-contracts/150430-2024-000031", headers=officer)).json()
    assert second["status"] == "receipt_confirmed" and second["receipt_amount"] == "5200.50"
    assert second["student_id"] == first["student_id"] and second["payouts"] == []
    third = (await client.get("/api/v1/loan-contracts/150430-2024-000002", headers=officer)).json()
    assert third["status"] == "contracted" and third["receipt_amount"] is None

    students = (await client.get("/api/v1/students", headers=officer)).json()
    assert students["total"] == 2
    one = next(s for s in students["items"] if s["name"] == "学生1")
    assert one["categories"] == ["minimum_allowance", "registered_poor"] and one["version"] == 1
    verified = await client.get(f"/api/v1/loan-contracts/verify/{first['check_code']}")
    assert verified.status_code == 200 and verified.json()["contract_no"] == "150430-2023-000007"
    async with sessions() as s:
        counters = {(c.county, c.year): c.last_seq for c in await s.scalars(select(ContractCounter))}
        assert counters == {}  # imported numbers never move the centre's own series
        loans = list(await s.scalars(select(Loan)))
        assert all(x.imported and x.decided_by and x.prepared_by != x.decided_by for x in loans)
        records = list(
            await s.scalars(select(AuditRecord).where(AuditRecord.entity == "loan_import").order_by(AuditRecord.id))
        )
        assert [r.action for r in records] == ["import", "accept"]
        assert records[0].after["imported"] == 3 and records[0].after["file"] == "contracts.xlsx"
    assert await count(sessions, LoanPayout) == 2


async def test_template_download_and_roles(client, make_user):
    officer = await make_user("officer")
    for role in ("officer", "reviewer", "auditor", "admin"):
        r = await client.get(f"{URL}/template", headers=await make_user(role))
        assert r.status_code == 200, role
    r = await client.get(f"{URL}/template", headers=officer)
    assert r.headers["content-type"].startswith(XLSX_MEDIA_TYPE)
    assert "attachment" in r.headers["content-disposition"] and ".xlsx" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["贷款合同", "说明"]
    assert [c.value for c in wb["贷款合同"][1]] == HEADERS and wb["贷款合同"].max_row == 1
    school = await make_user("school", university_code=None)
    assert (await client.get(f"{URL}/template", headers=school)).status_code == 403
    assert (await client.get(f"{URL}/template")).status_code == 401
    reviewer = await make_user("reviewer")
    assert (await upload(client, reviewer, workbook([row(1)]))).status_code == 403


async def test_wrong_columns_are_named_and_stop(client, make_user, sessions):
    officer = await setup(client, make_user)
    headers = [h for h in HEADERS if h not in ("合同编号", "放款日期")] + ["备注"]
    r = await upload(client, officer, workbook([], headers=headers))
    assert r.status_code == 422, r.text
    p = r.json()
    assert p["type"] == "/problems/loan-import-columns" and p["missing"] == ["合同编号", "放款日期"]
    assert p["unknown"] == ["备注"] and "合同编号" in p["detail_zh"] and p["detail_en"]
    assert await count(sessions, Loan) == 0


async def test_bad_id_numbers_and_cells_are_reported_by_row_and_column(client, make_user, sessions):
    officer = await setup(client, make_user)
    good = row(1)
    bad_check = good["id_number"][:-1] + ("0" if good["id_number"][-1] != "0" else "1")
    rows = [
        row(1, id_number=bad_check),
        row(2, co_id_number=float(row(2)["co_id_number"][:17] + "0")),
        row(3, phone="1381234", signed_on="2024-13-01", level="小学", relationship="舅舅"),
        row(4, relationship="配偶"),  # a known word, but a co-borrower is a parent or legal guardian
    ]
    r = await upload(client, officer, workbook(rows))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "/problems/loan-import-invalid-rows" and body["invalid"] == 4 and body["imported"] == 0
    found = errors_by(body)
    assert "校验位" in found[(2, "id_number")]
    assert "数字" in found[(3, "co_id_number")] and "X" in found[(3, "co_id_number")]
    assert {(4, "phone"), (4, "signed_on"), (4, "level"), (4, "relationship"), (5, "relationship")} <= set(found)
    first = next(e for e in body["errors"] if e["row"] == 2)
    assert (first["column"], first["header"]) == ("B", "学生身份证号") and first["message_en"]
    assert await count(sessions, Student) == 0 and await count(sessions, Loan) == 0


async def test_duplicates_across_rows(client, make_user, sessions):
    officer = await setup(client, make_user)
    rows = [
        row(1),
        row(2, contract_no=row(1)["contract_no"]),  # the same contract number twice
        row(3),
        row(3, contract_no="150430-2024-000099"),  # the same student and year twice
        row(4, academic_year=2025, signed_on=date(2025, 9, 20), contract_no="A-1", disbursed_on=None),
        row(4, name="别名", contract_no="A-2"),  # one ID, two names
        row(5, co_id_number=row(6)["id_number"]),
        row(6),
    ]  # a co-borrower who borrows
    r = await upload(client, officer, workbook(rows))
    assert r.status_code == 422
    found = errors_by(r.json())
    assert "重复" in found[(2, "contract_no")] and "重复" in found[(3, "contract_no")]
    assert "同一学年" in found[(4, "academic_year")] and "同一学年" in found[(5, "academic_year")]
    assert "不同姓名" in found[(6, "name")] and "不同姓名" in found[(7, "name")]
    assert "借款学生" in found[(8, "co_id_number")]
    assert r.json()["invalid"] == 7 and await count(sessions, Loan) == 0


async def test_amounts_over_the_limit_of_the_year_and_level(client, make_user, sessions):
    officer = await setup(client, make_user)
    y23 = dict(academic_year=2023, signed_on=date(2023, 9, 20), disbursed_on=None, enrolled_on=date(2023, 9, 1))
    rows = [
        row(1, principal=20001),
        row(2, principal=20000),
        row(3, principal=16001, contract_no="150430-2023-000003", **y23),
        row(4, principal=16000, contract_no="150430-2023-000004", **y23),
        row(5, principal=16000.5),
        row(6, receipt_amount=6000.123),
        row(7, principal=999),
        row(8, receipt_amount=17000),
    ]
    r = await upload(client, officer, workbook(rows))
    assert r.status_code == 422
    found = errors_by(r.json())
    assert "20000.00" in found[(2, "principal")] and "超出" in found[(2, "principal")]
    assert "16000.00" in found[(4, "principal")]
    assert "整元" in found[(6, "principal")] and "两位小数" in found[(7, "receipt_amount")]
    assert "不低于" in found[(8, "principal")] and "回执" in found[(9, "receipt_amount")]
    assert {e["row"] for e in r.json()["errors"]} == {2, 4, 6, 7, 8, 9}


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"", "空"),
        (b"name,id\n\xe5\xbc\xa0,1\n", ".xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, ".xls"),
    ],
)
async def test_not_a_workbook(client, make_user, sessions, content, phrase):
    officer = await setup(client, make_user)
    r = await upload(client, officer, content, name="x.xlsx")
    assert r.status_code == 422 and r.json()["type"] == "/problems/loan-import-file"
    assert phrase in r.json()["detail_zh"] and r.json()["detail_en"]


async def test_a_zip_that_is_no_workbook_and_a_truncated_one(client, make_user, sessions):
    officer = await setup(client, make_user)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    good = workbook([row(1)])
    for content in (buf.getvalue(), good[: len(good) // 2]):
        r = await upload(client, officer, content)
        assert r.status_code == 422 and r.json()["type"] == "/problems/loan-import-file", r.text
        assert "损坏" in r.json()["detail_zh"]
    assert await count(sessions, Loan) == 0


async def test_empty_workbook_and_header_only(client, make_user):
    officer = await setup(client, make_user)
    empty = io.BytesIO()
    openpyxl.Workbook().save(empty)
    r = await upload(client, officer, empty.getvalue())
    assert r.status_code == 422 and "空" in r.json()["detail_zh"]
    r = await upload(client, officer, workbook([]))
    assert r.status_code == 422 and "只有表头" in r.json()["detail_zh"] and "no data rows" in r.json()["detail_en"]


async def test_valid_only_imports_the_good_rows(client, make_user, sessions):
    officer = await setup(client, make_user)
    r = await upload(client, officer, workbook([row(1), row(2, principal=30000), row(3)]), valid_only=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["valid"], body["invalid"], body["imported"]) == (2, 1, 2) and body["errors"][0]["row"] == 3
    assert await count(sessions, Loan) == 2
    assert (await client.get("/api/v1/loan-contracts/150430-2024-000002", headers=officer)).status_code == 404


async def test_dry_run_writes_nothing(client, make_user, sessions):
    officer = await setup(client, make_user)
    r = await upload(client, officer, workbook([row(1), row(2)]), dry_run=True)
    assert r.status_code == 200 and r.json()["valid"] == 2 and r.json()["imported"] == 0
    assert await count(sessions, Loan) == 0 and await count(sessions, Student) == 0
    async with sessions() as s:
        assert (
            await s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.entity == "loan_import"))
            == 0
        )
    r = await upload(client, officer, workbook([row(1), row(2, phone="1")]), dry_run=True)
    assert r.status_code == 422


async def test_annotated_workbook_marks_the_bad_cells(client, make_user, sessions):
    officer = await setup(client, make_user)
    r = await upload(client, officer, workbook([row(1), row(2, phone="12", principal=25000)]), format="xlsx")
    assert r.status_code == 422 and r.headers["content-type"].startswith(XLSX_MEDIA_TYPE)
    assert r.headers["x-zizhu-import-invalid"] == "1"
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert ws.cell(1, len(HEADERS) + 1).value == "错误说明"
    phone, principal = ws["C3"], ws["Q3"]
    assert phone.fill.fgColor.rgb.endswith("FFC7CE") and phone.comment and "手机号" in phone.comment.text
    assert principal.comment and "上限" in principal.comment.text and principal.value == 25000
    assert "学生手机号" in ws.cell(3, len(HEADERS) + 1).value and ws.cell(2, len(HEADERS) + 1).value is None
    assert ws["B2"].value == row(1)["id_number"] and ws["B2"].comment is None
    assert await count(sessions, Loan) == 0
    # The clerk fixes the red cells in the report itself and uploads it again: 错误说明 is ignored.
    fixed = openpyxl.load_workbook(io.BytesIO(r.content))
    fixed.worksheets[0]["C3"], fixed.worksheets[0]["Q3"] = "13800000002", 20000
    buf = io.BytesIO()
    fixed.save(buf)
    again = await upload(client, officer, buf.getvalue(), format="xlsx")
    assert again.status_code == 200 and await count(sessions, Loan) == 2
    ws = openpyxl.load_workbook(io.BytesIO(again.content)).worksheets[0]
    assert ws.cell(1, len(HEADERS) + 1).value == "错误说明" and ws.cell(3, len(HEADERS) + 1).value is None
    assert ws.max_column == len(HEADERS) + 1


async def test_second_import_of_the_same_file_is_refused(client, make_user, sessions):
    officer = await setup(client, make_user)
    content = workbook([row(1), row(2)])
    assert (await upload(client, officer, content)).status_code == 200
    again = await upload(client, officer, content)
    assert again.status_code == 422
    found = errors_by(again.json())
    assert "已存在" in found[(2, "contract_no")] and "已有贷款" in found[(2, "academic_year")]
    assert await count(sessions, Loan) == 2 and await count(sessions, Student) == 2


async def test_rules_against_the_database(client, make_user, sessions):
    officer = await setup(client, make_user)
    assert (await upload(client, officer, workbook([row(1), row(2)]))).status_code == 200
    rows = [
        row(1, name="改名", academic_year=2025, signed_on=date(2025, 9, 20), contract_no="150430-2025-000001"),
        row(3, co_id_number=row(2)["id_number"], contract_no="150430-2024-000003"),
        row(4, co_name="另一个名字", co_id_number=row(2)["co_id_number"], contract_no="150430-2024-000004"),
        row(5, university_code="99999", contract_no="150430-2024-000005"),
        row(
            6,
            signed_on=date(2019, 9, 20),
            academic_year=2019,
            enrolled_on=date(2019, 9, 1),
            expected_graduation=date(2023, 6, 30),
            principal=8000,
            disbursed_on=None,
            contract_no="150430-2019-000006",
        ),
    ]
    r = await upload(client, officer, workbook(rows))
    assert r.status_code == 422
    found = errors_by(r.json())
    assert "已登记为学生" in found[(2, "name")]
    assert "有助学贷款" in found[(3, "co_id_number")]
    assert "已登记为共同借款人" in found[(4, "co_name")]
    assert "未登记" in found[(5, "university_code")]
    assert "政策" in found[(6, "signed_on")]
    fixed = [
        row(1, academic_year=2025, signed_on=date(2025, 9, 20), contract_no="150430-2025-000001", disbursed_on=None)
    ]
    r = await upload(client, officer, workbook(fixed))
    assert r.status_code == 200 and r.json()["students_created"] == 0 and r.json()["co_borrowers_created"] == 0
    assert await count(sessions, Student) == 2 and await count(sessions, CoBorrower) == 2


async def test_upload_over_20_mb_is_413(client, make_user):
    officer = await setup(client, make_user)
    r = await upload(client, officer, b"PK\x03\x04" + b"\0" * (20 * 1024 * 1024 + 10))
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")


async def test_missing_file_field_is_400(client, make_user):
    officer = await setup(client, make_user)
    r = await client.post(URL, files={"other": ("a.xlsx", b"x", XLSX_MEDIA_TYPE)}, headers=officer)
    assert r.status_code == 400


async def test_export_has_the_imported_contracts_masked(client, make_user):
    officer = await setup(client, make_user)
    rows = [
        row(1),
        row(
            2,
            academic_year=2023,
            signed_on=date(2023, 9, 20),
            principal=12345,
            disbursed_on=None,
            enrolled_on=date(2023, 9, 1),
            contract_no="150430-2023-000002",
        ),
    ]
    r = await upload(client, officer, workbook(rows))
    assert r.status_code == 200
    await accept(client, make_user, r.json()["batch_id"])
    auditor = await make_user("auditor")
    r = await client.get("/api/v1/loan-exports/contracts.xlsx", headers=auditor)
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX_MEDIA_TYPE)
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    values = list(ws.iter_rows(values_only=True))
    head, data = values[0], values[1:]
    assert head[0] == "合同编号" and len(data) == 2
    by_no = {v[0]: dict(zip(head, v, strict=True)) for v in data}
    one = by_no["150430-2024-000001"]
    assert one["学生身份证号"] == row(1)["id_number"][:6] + "********" + row(1)["id_number"][-4:]
    assert one["学生手机号"] == "138****0001" and one["合同金额(元)"] == 16000 and one["状态"] == "在校"
    assert by_no["150430-2023-000002"]["合同金额(元)"] == 12345 and by_no["150430-2023-000002"]["状态"] == "高校已回执"
    assert row(1)["id_number"].encode() not in r.content
    r = await client.get("/api/v1/loan-exports/contracts.xlsx", params={"academic_year": 2023}, headers=auditor)
    assert len(list(openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows())) == 2
    school = await make_user("school", university_code="10126")
    assert (await client.get("/api/v1/loan-exports/contracts.xlsx", headers=school)).status_code == 403


async def cli(*args: str) -> Any:
    """Run a loans CLI group in a thread: it starts its own event loop and engine, as `zizhu` would."""
    from click.testing import CliRunner

    from loans.commands import export_group, import_group

    group = {"import": import_group, "export": export_group}[args[0]]
    return await asyncio.to_thread(CliRunner().invoke, group, list(args[1:]))


async def test_command_line_import_report_and_export(client, make_user, sessions, tmp_path):
    await setup(client, make_user)
    await make_user("officer", username="clerk")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook([row(1), row(2, phone="12")]))
    report = tmp_path / "report.xlsx"
    r = await cli("import", "contracts", str(bad), "--as", "clerk", "--report", str(report))
    assert r.exit_code == 1, r.output
    assert "第 3 行 C 列" in r.output and "nothing was imported" in r.output
    assert openpyxl.load_workbook(report).worksheets[0]["C3"].comment is not None
    assert await count(sessions, Loan) == 0
    r = await cli("import", "contracts", str(bad), "--as", "clerk", "--valid-only")
    assert r.exit_code == 0 and "skipped 1" in r.output, r.output
    assert await count(sessions, Loan) == 1
    async with sessions() as s:
        actors = list(await s.scalars(select(AuditRecord.actor).where(AuditRecord.entity == "loan_import")))
    assert actors == ["cli:clerk"]
    r = await cli("import", "contracts", str(bad), "--as", "nobody")
    assert r.exit_code != 0 and "nobody" in r.output
    text_file = tmp_path / "notes.xlsx"
    text_file.write_text("hello")
    r = await cli("import", "contracts", str(text_file), "--as", "clerk")
    assert r.exit_code == 1 and "not an Excel workbook" in r.output
    out = tmp_path / "out.xlsx"
    r = await cli("export", "contracts", str(out))
    assert r.exit_code == 0, r.output
    assert [c.value for c in openpyxl.load_workbook(out).worksheets[0]["A"]][1:] == ["150430-2024-000001"]


async def test_many_errors_are_capped_in_json_but_all_in_the_workbook(client, make_user):
    officer = await setup(client, make_user)
    rows = [row(n, phone="1") for n in range(1, 1202)]
    r = await upload(client, officer, workbook(rows))
    body = r.json()
    assert r.status_code == 422 and body["errors_total"] == 1201 and len(body["errors"]) == 1000
    r = await upload(client, officer, workbook(rows), format="xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert ws["C1202"].comment is not None

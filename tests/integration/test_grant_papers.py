"""Receipts and reports on paper through HTTP: original then 副本, void and replacement, the public verify,
the acknowledgement, the public notice, the donor report, the annual summary and the yearly zip."""

from __future__ import annotations

import io
import zipfile

import time_machine
from pypdf import PdfReader

from donations.commands import export_year
from tests.integration.donation_fixtures import V1, grant_world
from tests.integration.test_grant_payments import _world


def text_of(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


async def test_receipt_original_then_copy_void_and_replacement(client, make_user):
    w = await grant_world(client, make_user)
    donor, program = await w.donor(), (await w.program(funding="social", name="草原情"))["id"]
    d = await w.donate(donor, program, "77500.00", "2025-08-01")
    no = d["receipt_no"]
    first = await client.get(f"{V1}/receipts/{no}", params={"format": "pdf"}, headers=w.officer)
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    text = text_of(first.content)
    assert no in text and "柒万柒仟伍佰元整" in text and "副本" not in text
    again = text_of((await client.get(f"{V1}/receipts/{no}", params={"format": "pdf"}, headers=w.officer)).content)
    assert "副本" in again and "柒万柒仟伍佰元整" in again

    with time_machine.travel("2025-09-01 10:00 +0800", tick=False):  # the replacement is numbered in the void's year
        r = await w.post(f"/receipts/{no}/void", {"reason": "捐赠方名称有误"}, expect=200)
    replacement = r.json()["replacement_no"]
    assert (r.json()["voided"], replacement) == (no, "JZ-2025-000002")
    assert (await w.post(f"/receipts/{no}/void", {"reason": "again"})).status_code == 409  # stays void
    old = await w.get(f"/receipts/{no}")
    assert old["status"] == "void" and old["void_reason"] == "捐赠方名称有误" and old["replaced_by_no"] == replacement
    new = await w.get(f"/receipts/{replacement}")
    assert new["status"] == "issued" and new["replaces_no"] == no and new["amount"] == "77500.00"
    voided_pdf = text_of((await client.get(f"{V1}/receipts/{no}", params={"format": "pdf"}, headers=w.officer)).content)
    assert "作废原因：捐赠方名称有误" in voided_pdf
    replacement_pdf = text_of(
        (await client.get(f"{V1}/receipts/{replacement}", params={"format": "pdf"}, headers=w.officer)).content
    )
    assert f"替代已作废的收据 {no}" in replacement_pdf
    verify = (await client.get(f"{V1}/receipts/verify/{old['verify_code']}")).json()
    assert verify["status"] == "void"
    donation = await w.get(f"/donations/{d['id']}")
    assert donation["receipt_no"] == replacement


async def test_acknowledgement_notice_and_reports_as_pdf(client, make_user):
    w, donor, p, _d, by = await _world(client, make_user)
    await w.pay(by["ug"], bank_card="6222021234567890128")
    ack = await client.get(f"{V1}/awards/{by['ug']}/acknowledgement", headers=w.officer)
    assert ack.status_code == 200
    text = text_of(ack.content)
    assert "受助回执" in text and "张三丰" in text and "叁仟元整" in text and "622202*********0128" in text
    assert (await client.get(f"{V1}/awards/{by['jc']}/acknowledgement", headers=w.officer)).status_code == 409
    other = await make_user("graduate", student_id=w.students["jc"])
    assert (await client.get(f"{V1}/awards/{by['ug']}/acknowledgement", headers=other)).status_code == 403

    app = (await w.get(f"/programs/{p}/applications"))["items"][0]
    notice = await client.get(f"{V1}/notices/{app['notice_id']}", params={"format": "pdf"})  # public
    text = text_of(notice.content)
    assert notice.status_code == 200 and "张*丰" in text and "张三丰" not in text and "公示" in text

    report = await client.get(f"{V1}/donors/{donor}/allocation-report", params={"format": "pdf"}, headers=w.officer)
    text = text_of(report.content)
    assert "捐赠资金使用情况报告" in text and "张*丰" in text and "3,000.00" in text and "校验码" in text
    annual = await client.get(f"{V1}/reports/annual", params={"year": 2025, "format": "pdf"}, headers=w.officer)
    text = text_of(annual.content)
    assert "2025年度学生资助工作统计" in text and "农商行助学" in text and "生源地信用助学贷款" in text


async def test_receipts_of_a_year_in_one_zip(client, make_user, db, settings, tmp_path):
    w = await grant_world(client, make_user)
    donor, program = await w.donor(), (await w.program(funding="social"))["id"]
    for i in range(3):
        await w.donate(donor, program, f"{100 + i}.00", f"2025-05-0{i + 1}")
    await w.donate(donor, program, "1.00", "2026-01-01")
    out = tmp_path / "r.zip"
    assert await export_year(db, settings, 2025, out) == 3
    with zipfile.ZipFile(out) as z:
        assert z.namelist() == ["JZ-2025-000001.pdf", "JZ-2025-000002.pdf", "JZ-2025-000003.pdf"]
        assert "副本" in text_of(z.read("JZ-2025-000002.pdf"))

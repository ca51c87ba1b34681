"""The grants' papers (pure renderers): read back with pypdf; one page rendered to PNG with pdftoppm.

pdftoppm comes with poppler-utils (`apt-get install poppler-utils`); without it that one test is skipped.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from donations.papers.receipt import AcknowledgementData, ReceiptData, render_acknowledgement, render_receipt
from donations.papers.reports import (
    DonorReportData,
    LoanSummary,
    NoticeEntryRow,
    ProgramLine,
    RecipientRow,
    render_annual,
    render_donor_report,
    render_notice,
)
from service.pdf import FONT_ENV, chinese_font


@pytest.fixture(autouse=True)
def default_font(monkeypatch):
    monkeypatch.delenv(FONT_ENV, raising=False)
    chinese_font.cache_clear()
    yield
    chinese_font.cache_clear()


def text_of(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def receipt(**kw) -> ReceiptData:
    base = dict(
        organisation="示范县学生资助管理中心",
        receipt_no="JZ-2025-000007",
        issued_on=date(2025, 8, 1),
        donor="示范县农村商业银行",
        amount_fen=7_750_000,
        purpose="新生入学资助",
        method="银行转账",
        reference="NSH2025001",
        issuer="officer",
        verify_code="ABCD-EFGH-IJKL",
        verify_url="http://127.0.0.1:8000/api/v1/receipts/verify/ABCD-EFGH-IJKL",
    )
    return ReceiptData(**{**base, **kw})


def test_receipt_fields_and_capitals():
    reader, text = text_of(render_receipt(receipt()))
    assert len(reader.pages) == 1
    for expected in (
        "捐赠收据",
        "JZ-2025-000007",
        "示范县农村商业银行",
        "77,500.00",
        "柒万柒仟伍佰元整",
        "新生入学资助",
        "银行转账",
        "2025年8月1日",
        "ABCD-EFGH-IJKL",
        "示范县学生资助管理中心",
    ):
        assert expected in text, expected
    assert "副" not in text and "作" not in text.replace("作为", "")


def test_reprint_is_marked_copy_and_void_shows_its_reason():
    _, text = text_of(render_receipt(receipt(copy=True)))
    assert "副本" in text and "副  本" in text
    _, text = text_of(render_receipt(receipt(void_reason="金额录入错误", copy=True)))
    assert "作废原因：金额录入错误" in text and "作  废" in text
    _, text = text_of(render_receipt(receipt(receipt_no="JZ-2025-000009", replaces_no="JZ-2025-000007")))
    assert "替代已作废的收据 JZ-2025-000007" in text


def test_acknowledgement_masks_and_refuses_a_full_id():
    data = AcknowledgementData(
        centre_name="示范县学生资助管理中心",
        award_id=12,
        student_name="张三丰",
        id_number_masked="150430********0012",
        university="内蒙古大学",
        level_zh="本科",
        program="县政府资助",
        academic_year=2025,
        amount_fen=300_000,
        paid_on=date(2025, 10, 10),
        bank_card_masked="622202*********0128",
        payment_reference="PAY1",
    )
    _, text = text_of(render_acknowledgement(data))
    for expected in ("受助回执", "张三丰", "150430********0012", "叁仟元整", "622202*********0128", "签字"):
        assert expected in text, expected
    with pytest.raises(ValueError):
        render_acknowledgement(AcknowledgementData(**{**data.__dict__, "id_number_masked": "150430200601010012"}))


def test_notice_lists_masked_entries_over_pages_with_repeated_headers():
    entries = [
        NoticeEntryRow(f"张*{i % 10}", "内蒙古大学" if i % 2 else "北京师范大学", "本科", 300_000) for i in range(120)
    ]
    reader, text = text_of(
        render_notice("示范县学生资助管理中心", "县政府资助", date(2025, 9, 1), date(2025, 9, 7), entries)
    )
    assert len(reader.pages) >= 3
    assert "2025年9月1日至2025年9月7日" in text and "共 7 天" in text
    for page in reader.pages:
        page_text = page.extract_text()
        if "张*" in page_text:
            assert "就读院校" in page_text  # the header row on every page of the table
        assert f"/ 共 {len(reader.pages)} 页" in page_text
    assert "合计：120 人，360,000.00 元（36 万元）" in text


def donor_report(n: int) -> DonorReportData:
    unis = ["内蒙古大学", "北京师范大学", "内蒙古机电职业技术学院（这是一个很长的院校名称用来检验换行）"]
    rows = [
        RecipientRow(
            f"JZ-2025-{1 + i // 10:06d}",
            "欧**娜",
            unis[i % 3],
            "本科" if i % 2 else "专科",
            "农商行金秋助学金" if i % 4 else "县政府资助",
            300_000 if i % 2 else 200_000,
            date(2025, 10, 10) if i % 7 else None,
        )
        for i in range(n)
    ]
    allocated = sum(r.amount_fen for r in rows)
    paid = sum(r.amount_fen for r in rows if r.paid_on)
    return DonorReportData(
        centre="示范县学生资助管理中心",
        donor="示范县农村商业银行",
        period="2025-01-01 至 2025-12-31",
        generated_on=date(2025, 12, 31),
        received=allocated + 123_400,
        allocated=allocated,
        paid=paid,
        unallocated=123_400,
        donations=n // 10 + 1,
        verify_code="0A1B2C3D4E5F",
        by_program={"农商行金秋助学金": allocated * 3 // 4, "县政府资助": allocated // 4},
        by_level={"本科": allocated // 2, "专科": allocated - allocated // 2},
        recipients=rows,
    )


def test_donor_report_cover_totals_chart_table_and_page_numbers():
    reader, text = text_of(render_donor_report(donor_report(200)))
    pages = len(reader.pages)
    assert pages >= 6
    for expected in (
        "捐赠资金使用情况报告",
        "示范县农村商业银行",
        "校验码",
        "0A1B2C3D4E5F",
        "未分配",
        "1,234.00",
        "按资助项目",
        "按学历层次",
        "受助学生名单",
        "欧**娜",
        "用来检验换行",
    ):
        assert expected in text, expected
    last = reader.pages[-1].extract_text()
    assert f"第 {pages} 页 / 共 {pages} 页" in last and "收据编号" in last
    assert "150430" not in text


def test_annual_summary_in_yuan_and_wan_with_loans():
    lines = [
        ProgramLine("新生入学资助", 121, 121, 7_750_000, 80, 5_000_000),
        ProgramLine("市政府特困大学生救助", 101, 101, 50_500_000, 60, 30_000_000),
    ]
    total = ProgramLine("合计", 200, 222, 58_250_000, 120, 35_000_000)
    loans = LoanSummary(300, 310, 500_000_000, 100, 160_000_000, 2000, 5600, 4_000_000_000)
    _, text = text_of(render_annual("示范县学生资助管理中心", 2025, lines, total, loans, date(2026, 1, 5)))
    for expected in (
        "2025年度学生资助工作统计",
        "新生入学资助",
        "77,500.00",
        "7.75",
        "50.5",
        "共资助大学生 200 人、222 人次",
        "累计贷款学生总数 2000 人，累计合同数 5600 笔",
        "建档立卡",
    ):
        assert expected in text, expected


def test_a_page_renders_to_png(tmp_path: Path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(render_receipt(receipt(copy=True)))
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000


def test_receipt_qr_code_scans_to_the_short_verify_url(tmp_path: Path):
    """Rendered as a printer would see it, the QR code on the page reads back as the short verify URL."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    zxingcpp = pytest.importorskip("zxingcpp")
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(render_receipt(receipt(qr_url="HTTP://127.0.0.1:8000/V/ABCD-EFGH-IJKL")))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    from PIL import Image

    found = zxingcpp.read_barcode(Image.open(next(tmp_path.glob("page*.png"))))
    assert found is not None and found.text == "HTTP://127.0.0.1:8000/V/ABCD-EFGH-IJKL"

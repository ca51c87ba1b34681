"""The 受理证明 PDF and the PDF kernel: render, read back with pypdf, check what is (and is not) printed."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from loans.origination.certificate import TITLE, CertificateData, render_certificate
from service.identity import make_id_number, mask_id_number
from service.pdf import CID_FONT, FONT_ENV, chinese_font, draw_qr, wrap_lines

FAST = settings(max_examples=100, deadline=None, database=None)
FULL_ID = make_id_number("150430", date(2006, 3, 14), 12)
# Chinese TrueType fonts often found on Linux hosts; the embedding test runs when one is present.
SYSTEM_TTF = [
    Path(p)
    for p in (
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    )
]


@pytest.fixture(autouse=True)
def default_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from the built-in font and leaves no cached font behind for the next."""
    monkeypatch.delenv(FONT_ENV, raising=False)
    chinese_font.cache_clear()
    yield
    chinese_font.cache_clear()


def sample(**changes: object) -> CertificateData:
    data = CertificateData(
        centre_name="示范县学生资助管理中心",
        contract_no="150430-2025-000123",
        student_name="李明",
        id_number_masked=mask_id_number(FULL_ID),
        university="内蒙古大学",
        level_zh="本科",
        academic_year=2025,
        principal_fen=2_000_000,
        rate_percent="2.55",
        term_years=15,
        signed_on=date(2025, 8, 20),
        maturity_date=date(2040, 9, 20),
        co_borrower_name="李建国",
        co_borrower_relationship_zh="父亲",
        check_code="ABCDE-FGHIJ",
        verify_url="https://zizhu.example.cn/verify/150430-2025-000123?code=ABCDE-FGHIJ",
    )
    return dataclasses.replace(data, **changes)


def read(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, "".join(page.extract_text() for page in reader.pages)


def test_certificate_is_one_page_pdf_with_metadata() -> None:
    pdf = render_certificate(sample())
    assert pdf.startswith(b"%PDF-")
    reader, _ = read(pdf)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    assert reader.metadata.creator == "Zizhu"
    assert reader.metadata.title == f"{TITLE} 150430-2025-000123"
    assert reader.metadata.author == "示范县学生资助管理中心"


def test_certificate_prints_every_field() -> None:
    _, text = read(render_certificate(sample()))
    for expected in [
        TITLE,
        "示范县学生资助管理中心",
        "150430-2025-000123",
        "李明",
        mask_id_number(FULL_ID),
        "内蒙古大学",
        "本科",
        "2025—2026 学年",
        "20,000.00 元",
        "人民币贰万元整",
        "2.55%",
        "15 年",
        "2025年8月20日",
        "2040年9月20日",
        "李建国（父亲）",
        "ABCDE-FGHIJ",
        "回执",
        "经办人签字",
        "盖章",
        "https://zizhu.example.cn/verify/150430-2025-000123?code=ABCDE-FGHIJ",
    ]:
        assert expected in text, expected


def test_certificate_never_shows_a_full_id_number() -> None:
    _, text = read(render_certificate(sample()))
    assert mask_id_number(FULL_ID) == FULL_ID[:6] + "********" + FULL_ID[-4:]
    assert mask_id_number(FULL_ID) in text
    assert FULL_ID not in text
    assert not re.search(r"\d{17}[\dX]", text)


def test_unmasked_id_is_refused_before_printing() -> None:
    with pytest.raises(ValueError, match="unmasked"):
        render_certificate(sample(id_number_masked=FULL_ID))


@pytest.mark.parametrize(
    ("fen", "figures", "capitals"),
    [
        (2_000_000, "20,000.00 元", "贰万元整"),
        (7_750_000, "77,500.00 元", "柒万柒仟伍佰元整"),
        (1_600_050, "16,000.50 元", "壹万陆仟元伍角"),
        (100_000_000, "1,000,000.00 元", "壹佰万元整"),
    ],
)
def test_amount_in_figures_and_capitals(fen: int, figures: str, capitals: str) -> None:
    _, text = read(render_certificate(sample(principal_fen=fen)))
    assert figures in text
    assert f"人民币{capitals}" in text


def test_rate_given_with_percent_sign_is_not_doubled() -> None:
    _, text = read(render_certificate(sample(rate_percent="2.55%")))
    assert "2.55%" in text and "%%" not in text


def test_long_values_wrap_inside_the_page() -> None:
    long_name = "中国人民解放军陆军工程大学（南京校区）国防教育与继续教育学院附属专业培训基地"
    reader, text = read(render_certificate(sample(university=long_name)))
    assert len(reader.pages) == 1
    assert long_name in text.replace("\n", "")


def test_missing_font_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "no-such-font.ttf"))
    with pytest.raises(ValueError, match=FONT_ENV):
        chinese_font()


def test_file_that_is_not_a_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font at all")
    monkeypatch.setenv(FONT_ENV, str(junk))
    with pytest.raises(ValueError, match=FONT_ENV):
        chinese_font()
    odd = tmp_path / "font.woff2"
    odd.write_bytes(b"wOF2")
    monkeypatch.setenv(FONT_ENV, str(odd))
    with pytest.raises(ValueError, match=r"\.ttf"):
        chinese_font()


def test_default_font_is_the_builtin_cid_font_and_is_cached() -> None:
    assert chinese_font() == CID_FONT
    assert chinese_font.cache_info().hits == 0
    chinese_font()
    assert chinese_font.cache_info().hits == 1


@pytest.mark.skipif(not any(p.is_file() for p in SYSTEM_TTF), reason="no Chinese TrueType font on this host")
def test_font_from_environment_is_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FONT_ENV, str(next(p for p in SYSTEM_TTF if p.is_file())))
    name = chinese_font()
    assert name != CID_FONT
    pdf = render_certificate(sample())
    assert b"/FontFile2" in pdf  # the TrueType program travels inside the PDF
    _, text = read(pdf)
    assert "150430-2025-000123" in text and "人民币贰万元整" in text


@FAST
@given(
    text=st.text(st.sampled_from("资助贷款合同，。（）ab 12-/:"), max_size=120),
    width=st.integers(min_value=30, max_value=400),
)
def test_wrapped_lines_fit_and_lose_nothing(text: str, width: int) -> None:
    font = chinese_font()
    lines = wrap_lines(text, font, 10, width)
    # Only a single glyph may be wider than a line (nothing narrower to cut it into).
    assert all(pdfmetrics.stringWidth(line, font, 10) <= width or len(line) == 1 for line in lines)
    # Breaks happen at spaces (dropped) or between characters: nothing else may go missing.
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_a_qr_code_fills_the_requested_square() -> None:
    """draw_qr scales the symbol and its 4-module quiet zone to exactly `size` points at (x, y)."""
    canvas = Canvas(io.BytesIO())
    draw_qr(canvas, "https://zizhu.example.cn/verify/X", 10, 20, 96)
    ops = canvas._code[-1].split("\n")  # what draw_qr added: "q 0 g u 0 0 u x y cm", the runs, "f Q"
    _, _, _, unit, _, _, _, x, y, _ = ops[0].split()
    qr = segno.make("https://zizhu.example.cn/verify/X", error="m", micro=False, boost_error=False)
    modules = qr.symbol_size()[0]  # the quiet zone included
    assert (float(x), float(y)) == (10, 20)
    assert abs(float(unit) * modules - 96) < 1e-3


def test_certificate_qr_code_scans_to_the_verify_url(tmp_path: Path) -> None:
    """Rendered as a printer would see it, the 受理证明's QR code reads back as its verify URL."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    data = sample()
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_certificate(data))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    found = zxingcpp.read_barcode(Image.open(next(tmp_path.glob("page*.png"))))
    assert found is not None and found.text == data.verify_url

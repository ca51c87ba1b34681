"""The 受理证明: acceptance certificate of an origin-based credit student loan contract.

A pure function over plain values: no session, no clock (the date printed is the signing date),
no settings. The caller masks the ID number, computes the check code and builds the verify URL;
this module only lays them out on one A4 page and returns the PDF bytes.

The student carries the paper to the university's aid office, which checks it (check code or QR
code) and enters the 回执 in the national system; only then is the loan disbursed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from service.identity import require_masked_id
from service.money import format_yuan_grouped, to_capitals
from service.pdf import PAGE_HEIGHT, PAGE_WIDTH, chinese_font, date_zh, draw_qr, draw_wrapped, new_canvas, wrap_lines

__all__ = ["TITLE", "CertificateData", "render_certificate"]

TITLE = "生源地信用助学贷款受理证明"
NOTE = (
    "说明：借款学生入学报到后，请将本证明交至就读院校学生资助管理部门。院校资助部门核对校验码无误后，"
    "在全国学生资助管理信息系统中录入回执；回执录入后，贷款方可发放。本证明仅用于办理生源地信用助学贷款，"
    "涂改无效。"
)

# Layout in points (1 pt = 1/72 in); A4 is 595 x 842.
MARGIN = 56.0
LEFT, RIGHT = MARGIN, PAGE_WIDTH - MARGIN
LABEL_W = 118.0
PAD = 7.0
BODY, LEADING = 11.0, 16.0
QR_SIZE = 104.0
CODE_FONT = "Courier-Bold"  # a standard PDF font: every reader has it, and it is unambiguous for codes

# A full 18-digit (or old 15-digit) ID number must never reach paper: masking is the caller's job,
# and this guard makes a forgotten mask fail loudly instead of printing the number.


@dataclass(frozen=True)
class CertificateData:
    centre_name: str
    contract_no: str
    student_name: str
    id_number_masked: str
    university: str
    level_zh: str
    academic_year: int
    principal_fen: int
    rate_percent: str
    term_years: int
    signed_on: date
    maturity_date: date
    co_borrower_name: str
    co_borrower_relationship_zh: str
    check_code: str
    verify_url: str


def _rows(d: CertificateData) -> list[tuple[str, str]]:
    rate = d.rate_percent.strip()
    return [
        ("合同编号", d.contract_no),
        ("借款学生", d.student_name),
        ("身份证号", d.id_number_masked),
        ("就读院校", d.university),
        ("学历层次", d.level_zh),
        ("贷款学年", f"{d.academic_year}—{d.academic_year + 1} 学年"),
        ("贷款金额（小写）", f"{format_yuan_grouped(d.principal_fen)} 元"),
        ("贷款金额（大写）", f"人民币{to_capitals(d.principal_fen)}"),
        ("年利率", rate if rate.endswith("%") else f"{rate}%"),
        ("期限", f"{d.term_years} 年"),
        ("签约日期", date_zh(d.signed_on)),
        ("到期日", date_zh(d.maturity_date)),
        ("共同借款人", f"{d.co_borrower_name}（{d.co_borrower_relationship_zh}）"),
    ]


def _table(c: Canvas, font: str, rows: list[tuple[str, str]], top: float) -> float:
    """Draw the two-column field table from ``top`` down; return its bottom edge."""
    value_w = RIGHT - LEFT - LABEL_W - 2 * PAD
    # Row height follows the wrapped value, so a long university name never runs into the next row.
    heights = [
        max(1, len(wrap_lines(value, font, BODY, value_w))) * LEADING + 2 * PAD - (LEADING - BODY) for _, value in rows
    ]
    bottom = top - sum(heights)
    # Shading first, rules and text after: shading drawn later would paint over half of each rule.
    c.setFillGray(0.93)
    c.rect(LEFT, bottom, LABEL_W, top - bottom, stroke=0, fill=1)
    c.setFillGray(0)
    c.setLineWidth(0.6)
    c.setFont(font, BODY)
    y = top
    for (label, value), height in zip(rows, heights, strict=True):
        baseline = y - PAD - BODY * 0.88
        c.drawString(LEFT + PAD, baseline, label)
        draw_wrapped(c, value, LEFT + LABEL_W + PAD, baseline, value_w, font, BODY, LEADING)
        y -= height
        c.line(LEFT, y, RIGHT, y)
    c.rect(LEFT, bottom, RIGHT - LEFT, top - bottom, stroke=1, fill=0)
    c.line(LEFT + LABEL_W, bottom, LEFT + LABEL_W, top)
    return bottom


def _check_block(c: Canvas, font: str, d: CertificateData, top: float) -> float:
    """Check code in large type on the left, QR code of the verify URL on the right."""
    bottom = top - QR_SIZE - 2 * PAD
    c.setLineWidth(0.6)
    c.setDash(3, 2)
    c.rect(LEFT, bottom, RIGHT - LEFT, top - bottom, stroke=1, fill=0)
    c.setDash()
    draw_qr(c, d.verify_url, RIGHT - PAD - QR_SIZE, bottom + PAD, QR_SIZE)
    text_w = RIGHT - LEFT - QR_SIZE - 4 * PAD
    x = LEFT + 2 * PAD
    c.setFont(font, BODY)
    c.drawString(x, top - PAD - 14, "校验码")
    code_size = 26.0
    # Shrink a longer-than-usual code rather than let it run under the QR code.
    while code_size > 12 and pdfmetrics.stringWidth(d.check_code, CODE_FONT, code_size) > text_w:
        code_size -= 1
    c.setFont(CODE_FONT, code_size)
    c.drawString(x, top - PAD - 20 - code_size, d.check_code)
    draw_wrapped(c, f"扫码或登录核验：{d.verify_url}", x, top - PAD - 38 - code_size, text_w, font, 9.5, 13)
    return bottom


def render_certificate(data: CertificateData) -> bytes:
    """The 受理证明 as a one-page A4 PDF (bytes)."""
    require_masked_id(data.id_number_masked)
    font = chinese_font()
    buffer = io.BytesIO()
    c = new_canvas(buffer, f"{TITLE} {data.contract_no}", data.centre_name)

    # A double frame makes the page read as a certificate, not as a printout of a screen.
    c.setLineWidth(1.2)
    c.rect(MARGIN - 22, MARGIN - 22, PAGE_WIDTH - 2 * (MARGIN - 22), PAGE_HEIGHT - 2 * (MARGIN - 22))
    c.setLineWidth(0.4)
    c.rect(MARGIN - 18, MARGIN - 18, PAGE_WIDTH - 2 * (MARGIN - 18), PAGE_HEIGHT - 2 * (MARGIN - 18))

    # STSong-Light has no bold face: fill and stroke the glyphs (render mode 2) for a bold title.
    title = c.beginText()
    title.setFont(font, 21)
    title.setTextRenderMode(2)
    c.setLineWidth(0.5)
    title.setTextOrigin((PAGE_WIDTH - pdfmetrics.stringWidth(TITLE, font, 21)) / 2, PAGE_HEIGHT - 100)
    title.textLine(TITLE)
    c.drawText(title)
    c.setFont(font, BODY)
    c.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 126, f"出具单位：{data.centre_name}")

    y = _table(c, font, _rows(data), PAGE_HEIGHT - 146)
    y = draw_wrapped(c, NOTE, LEFT, y - 22, RIGHT - LEFT, font, 10, 15)
    y = _check_block(c, font, data, y - 6)

    # Signature and stamp: room enough for a round official seal (about 42 mm) over the centre's name.
    c.setFont(font, BODY)
    sign_y = y - 56
    c.drawString(LEFT, sign_y, "经办人签字：")
    c.line(LEFT + 70, sign_y - 3, LEFT + 190, sign_y - 3)
    c.drawRightString(RIGHT, sign_y, f"{data.centre_name}（盖章）")
    c.drawRightString(RIGHT, sign_y - 26, date_zh(data.signed_on))

    c.showPage()
    c.save()
    return buffer.getvalue()

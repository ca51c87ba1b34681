"""One-page papers: the donation receipt (捐赠收据) and the recipient's acknowledgement (受助回执).

Pure functions over plain values (no session, no clock, no settings): the caller supplies the stored fields
of the receipt as issued, masks what must be masked and builds the verify URL. A reprint is the same stored
fields marked 副本; a voided receipt prints with 作废 and its reason, never with new content.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from service.identity import require_masked_id
from service.money import format_yuan_grouped, to_capitals
from service.pdf import PAGE_HEIGHT, PAGE_WIDTH, chinese_font, date_zh, draw_qr, draw_wrapped, new_canvas, wrap_lines

RECEIPT_TITLE = "捐赠收据"
ACK_TITLE = "受助回执"
MARGIN = 50.0
LEFT, RIGHT = MARGIN, PAGE_WIDTH - MARGIN
LABEL_W, PAD, BODY, LEADING = 110.0, 7.0, 11.5, 16.0
QR_SIZE = 92.0
CODE_FONT = "Courier-Bold"
# Receipts are printed by the thousand: a fixed mask pattern saves the search for the best of eight (most of the
# QR encoding time); every mask decodes.
QR_MASK: int | None = 0


@dataclass(frozen=True)
class ReceiptData:
    organisation: str
    receipt_no: str
    issued_on: date
    donor: str
    amount_fen: int
    purpose: str
    method: str
    reference: str
    issuer: str
    verify_code: str
    verify_url: str  # printed under the code
    qr_url: str = ""  # what the QR code holds (a short verify URL); empty: verify_url
    copy: bool = False  # a reprint: marked 副本
    void_reason: str | None = None  # set: the receipt is void
    replaces_no: str | None = None  # this receipt replaces a voided one


@dataclass(frozen=True)
class AcknowledgementData:
    centre_name: str
    award_id: int
    student_name: str
    id_number_masked: str
    university: str
    level_zh: str
    program: str
    academic_year: int
    amount_fen: int
    paid_on: date
    bank_card_masked: str
    payment_reference: str


def _title(c: Canvas, font: str, text: str, y: float, size: float = 22) -> None:
    """STSong-Light has no bold face: fill and stroke the glyphs (render mode 2)."""
    t = c.beginText()
    t.setFont(font, size)
    t.setTextRenderMode(2)
    c.setLineWidth(0.5)
    t.setTextOrigin((PAGE_WIDTH - pdfmetrics.stringWidth(text, font, size)) / 2, y)
    t.textLine(text)
    c.drawText(t)


@lru_cache(maxsize=1024)  # the fixed notes of every receipt wrap once
def _lines(text: str, font: str, size: float, width: float) -> list[str]:
    """wrap_lines, with the common case (the text fits on one line) answered by one width measurement."""
    if "\n" not in text and pdfmetrics.stringWidth(text, font, size) <= width:
        return [text]
    return wrap_lines(text, font, size, width) or [""]


def _wrapped_at(
    c: Canvas, text: str, x: float, y: float, width: float, font: str, size: float, leading: float
) -> float:
    c.setFont(font, size)
    for line in _lines(text, font, size, width):
        c.drawString(x, y, line)
        y -= leading
    return y


def field_table(c: Canvas, font: str, rows: list[tuple[str, str]], top: float) -> float:
    """A ruled two-column table of label and (wrapped) value from `top` down; returns its bottom edge."""
    value_w = RIGHT - LEFT - LABEL_W - 2 * PAD
    wrapped = [_lines(value, font, BODY, value_w) for _, value in rows]
    heights = [len(lines) * LEADING + 2 * PAD - (LEADING - BODY) for lines in wrapped]
    bottom = top - sum(heights)
    c.setFillGray(0.93)
    c.rect(LEFT, bottom, LABEL_W, top - bottom, stroke=0, fill=1)
    c.setFillGray(0)
    c.setLineWidth(0.6)
    c.setFont(font, BODY)
    y = top
    for (label, _), lines, height in zip(rows, wrapped, heights, strict=True):
        baseline = y - PAD - BODY * 0.88
        c.drawString(LEFT + PAD, baseline, label)
        for i, line in enumerate(lines):
            c.drawString(LEFT + LABEL_W + PAD, baseline - i * LEADING, line)
        y -= height
        c.line(LEFT, y, RIGHT, y)
    c.rect(LEFT, bottom, RIGHT - LEFT, top - bottom, stroke=1, fill=0)
    c.line(LEFT + LABEL_W, bottom, LEFT + LABEL_W, top)
    return bottom


def _stamp(c: Canvas, font: str, text: str, gray: float, size: float, x: float, y: float) -> None:
    """A large rotated mark across the page (副本, 作废) that cannot be cut off without it showing."""
    c.saveState()
    c.setFillGray(gray)
    c.setStrokeGray(gray)
    c.translate(x, y)
    c.rotate(28)
    c.setFont(font, size)
    c.drawCentredString(0, 0, text)
    c.restoreState()


def _receipt_rows(d: ReceiptData) -> list[tuple[str, str]]:
    return [
        ("收据编号", d.receipt_no),
        ("捐赠方", d.donor),
        ("金额（小写）", f"¥{format_yuan_grouped(d.amount_fen)} 元"),
        ("金额（大写）", f"人民币{to_capitals(d.amount_fen)}"),
        ("捐赠用途", d.purpose),
        ("支付方式", f"{d.method}（流水号 {d.reference}）"),
        ("收款日期", date_zh(d.issued_on)),
    ]


def draw_receipt(c: Canvas, d: ReceiptData, font: str) -> None:
    """Draw one receipt on the canvas's current page (the bench draws many on one canvas)."""
    if d.copy:  # behind the text: a copy must stay readable
        _stamp(c, font, "副  本", 0.88, 64, PAGE_WIDTH / 2, PAGE_HEIGHT * 0.72)
    c.setLineWidth(1.0)
    c.rect(MARGIN - 16, PAGE_HEIGHT / 2 - 30, PAGE_WIDTH - 2 * (MARGIN - 16), PAGE_HEIGHT / 2 - MARGIN + 46)
    _title(c, font, RECEIPT_TITLE, PAGE_HEIGHT - 84)
    c.setFont(font, 10)
    c.drawString(LEFT, PAGE_HEIGHT - 106, f"开具单位：{d.organisation}")
    c.drawRightString(RIGHT, PAGE_HEIGHT - 106, f"No. {d.receipt_no}")
    if d.copy:
        c.drawRightString(RIGHT, PAGE_HEIGHT - 70, "副本（据存档原件重印）")
    y = field_table(c, font, _receipt_rows(d), PAGE_HEIGHT - 116)
    note = "本收据由资助中心出具，不得涂改；凭校验码可在线核验真伪。"
    if d.replaces_no:
        note = f"本收据替代已作废的收据 {d.replaces_no}。" + note
    y = _wrapped_at(c, note, LEFT, y - 16, RIGHT - LEFT - QR_SIZE - 12, font, 9.5, 13)
    qr_bottom = y - QR_SIZE + 6
    draw_qr(c, d.qr_url or d.verify_url, RIGHT - QR_SIZE, qr_bottom, QR_SIZE, mask=QR_MASK)
    c.setFont(font, 10)
    c.drawString(LEFT, y - 8, "校验码")
    c.setFont(CODE_FONT, 18)
    c.drawString(LEFT + 40, y - 10, d.verify_code)
    _wrapped_at(c, f"核验：{d.verify_url}", LEFT, y - 30, RIGHT - LEFT - QR_SIZE - 12, font, 8.5, 11)
    c.setFont(font, BODY)
    c.drawString(LEFT, qr_bottom + 4, f"开票人：{d.issuer}")
    c.drawString(LEFT + 190, qr_bottom + 4, f"{d.organisation}（盖章）")
    if d.void_reason is not None:
        c.saveState()
        c.setFillColorRGB(0.8, 0.1, 0.1)
        c.setFont(font, 11)
        c.drawString(LEFT, PAGE_HEIGHT / 2 - 50, f"作废原因：{d.void_reason}")
        c.restoreState()
        _stamp(c, font, "作  废", 0.55, 80, PAGE_WIDTH / 2, PAGE_HEIGHT * 0.70)


def render_receipt(d: ReceiptData) -> bytes:
    font = chinese_font()
    buffer = io.BytesIO()
    c = new_canvas(buffer, f"{RECEIPT_TITLE} {d.receipt_no}", d.organisation)
    draw_receipt(c, d, font)
    c.showPage()
    c.save()
    return buffer.getvalue()


def render_acknowledgement(d: AcknowledgementData) -> bytes:
    """The 受助回执: what the student received, to be signed and kept in the file (档案)."""
    require_masked_id(d.id_number_masked)
    font = chinese_font()
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, pageCompression=1)
    c.setTitle(f"{ACK_TITLE} {d.award_id}")
    c.setAuthor(d.centre_name)
    _title(c, font, ACK_TITLE, PAGE_HEIGHT - 90)
    c.setFont(font, 10)
    c.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 112, d.centre_name)
    rows = [
        ("资助编号", str(d.award_id)),
        ("受助学生", d.student_name),
        ("身份证号", d.id_number_masked),
        ("就读院校", d.university),
        ("学历层次", d.level_zh),
        ("资助项目", d.program),
        ("学年", f"{d.academic_year}—{d.academic_year + 1} 学年"),
        ("金额（小写）", f"¥{format_yuan_grouped(d.amount_fen)} 元"),
        ("金额（大写）", f"人民币{to_capitals(d.amount_fen)}"),
        ("发放日期", date_zh(d.paid_on)),
        ("收款银行卡", d.bank_card_masked or "—"),
        ("银行流水号", d.payment_reference),
    ]
    y = field_table(c, font, rows, PAGE_HEIGHT - 130)
    y = draw_wrapped(
        c,
        f"本人已于{date_zh(d.paid_on)}收到上述资助资金，特此确认。资助资金将用于本人学习和生活，"
        "如有虚报冒领，愿退回全部资助资金并承担相应责任。",
        LEFT,
        y - 24,
        RIGHT - LEFT,
        font,
        BODY,
        LEADING,
    )
    c.setFont(font, BODY)
    c.drawString(LEFT, y - 40, "受助学生（签字）：")
    c.line(LEFT + 100, y - 43, LEFT + 240, y - 43)
    c.drawString(LEFT + 280, y - 40, "日期：")
    c.line(LEFT + 314, y - 43, RIGHT, y - 43)
    c.showPage()
    c.save()
    return buffer.getvalue()

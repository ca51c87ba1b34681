"""Multi-page papers: the public notice (公示), the donor allocation report and the annual summary.

Pure functions over plain values. Tables repeat their header on every page, every page is numbered
("第 n 页 / 共 m 页"), Chinese cell text is wrapped to its column (service.pdf.wrap_lines, once per distinct
text: a report of 10,000 recipients names a few dozen universities), and the charts are reportlab's own
graphics. Names are masked by the caller; nothing here prints an ID number, a phone or a card.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus.flowables import Flowable

from service.money import format_wan, format_yuan_grouped
from service.pdf import chinese_font, date_zh, wrap_lines

FRAME_W = A4[0] - 36 * mm


@dataclass(frozen=True)
class Styles:
    font: str
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle


def styles() -> Styles:
    font = chinese_font()
    base = ParagraphStyle("zh", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    return Styles(
        font,
        ParagraphStyle("t", parent=base, fontSize=20, leading=28, alignment=1, spaceAfter=8),
        ParagraphStyle("h", parent=base, fontSize=13, leading=20, spaceBefore=10, spaceAfter=6),
        base,
        ParagraphStyle("s", parent=base, fontSize=9, leading=13),
    )


class _NumberedCanvas(Canvas):
    """Holds each finished page back until the end, so every footer can say "of m" in a single pass."""

    def __init__(self, *args: Any, footer: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer_text = footer
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        for state in self._held:
            self.__dict__.update(state)
            self.saveState()
            self.setFont(chinese_font(), 8.5)
            self.drawCentredString(A4[0] / 2, 10 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")
            self.drawRightString(A4[0] - 18 * mm, 10 * mm, self._footer_text)
            self.restoreState()
            super().showPage()
        super().save()


class _NumberedDoc(SimpleDocTemplate):
    def __init__(self, buffer: io.BytesIO, title: str, author: str, footer: str) -> None:
        super().__init__(
            buffer,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=16 * mm,
            bottomMargin=18 * mm,
            title=title,
            author=author,
            creator="Zizhu",
            pageCompression=1,
        )
        self.footer = footer

    def render(self, story: list[Flowable]) -> None:
        footer = self.footer
        self.build(story, canvasmaker=lambda *a, **k: _NumberedCanvas(*a, footer=footer, **k))


@lru_cache(maxsize=4096)
def _wrapped(text: str, font: str, size: float, width: float) -> str:
    return "\n".join(wrap_lines(text, font, size, width))


def data_table(
    font: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    numeric: Sequence[int] = (),
    size: float = 8.5,
) -> LongTable:
    """A ruled table, header repeated on every page, each cell's text wrapped to its column."""
    inner = [w - 6 for w in widths]
    cells = [[_wrapped(str(v), font, size, inner[i]) for i, v in enumerate(row)] for row in [header, *rows]]
    # Row heights given, not measured: reportlab measures every remaining row again at each page split, which
    # made a 10,000-row table quadratic. The text is wrapped already, so a row is its tallest cell's lines.
    leading = size + 2.5
    heights = [max(cell.count("\n") + 1 for cell in row) * leading + 4 for row in cells]
    table = LongTable(cells, colWidths=list(widths), rowHeights=heights, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), size),
        ("LEADING", (0, 0), (-1, -1), size + 2.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.91, 0.96)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in numeric]
    table.setStyle(TableStyle(style))
    return table


def bar_chart(font: str, title: str, values: dict[str, int]) -> Drawing:
    """Amounts (yuan) by category as horizontal bars, labelled with their 万元 figure."""
    items = sorted(values.items(), key=lambda kv: -kv[1])[:12] or [("（无）", 0)]
    height = 40 + 22 * len(items)
    d = Drawing(FRAME_W, height)
    d.add(String(0, height - 14, title, fontName=font, fontSize=11))
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 150, 10, FRAME_W - 230, height - 34
    chart.data = [[v / 100 for _, v in reversed(items)]]
    chart.categoryAxis.categoryNames = [k if len(k) <= 12 else k[:11] + "…" for k, _ in reversed(items)]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8.5
    chart.valueAxis.labels.fontSize = 7.5
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.Color(0.27, 0.45, 0.70)
    chart.barLabelFormat = lambda v: f"{v / 10000:.2f}万元"  # type: ignore[assignment]
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 7.5
    chart.barLabels.nudge = 26
    d.add(chart)
    return d


@dataclass(frozen=True)
class NoticeEntryRow:
    student: str  # masked
    university: str
    level_zh: str
    amount_fen: int


def render_notice(
    centre: str, program: str, starts_on: date, ends_on: date, entries: Sequence[NoticeEntryRow], contact: str = ""
) -> bytes:
    s = styles()
    buf = io.BytesIO()
    doc = _NumberedDoc(buf, f"{program} 公示", centre, centre)
    story: list[Flowable] = [
        Paragraph(f"{program}拟资助学生名单公示", s.title),
        Paragraph(
            f"经个人申请、审核，现将{program}拟资助学生名单予以公示。公示期自{date_zh(starts_on)}至{date_zh(ends_on)}"
            f"（共 {(ends_on - starts_on).days + 1} 天）。如有异议，请在公示期内向{centre}反映。{contact}",
            s.body,
        ),
        Spacer(1, 6),
    ]
    rows = [
        (str(i), e.student, e.university, e.level_zh, format_yuan_grouped(e.amount_fen))
        for i, e in enumerate(entries, start=1)
    ]
    story.append(
        data_table(
            s.font,
            ["序号", "姓名", "就读院校", "层次", "资助金额（元）"],
            rows,
            [14 * mm, 28 * mm, 78 * mm, 22 * mm, FRAME_W - 142 * mm],
            numeric=(4,),
            size=10,
        )
    )
    total = sum(e.amount_fen for e in entries)
    story += [
        Spacer(1, 8),
        Paragraph(f"合计：{len(rows)} 人，{format_yuan_grouped(total)} 元（{format_wan(total)} 万元）。", s.body),
        Spacer(1, 18),
        Paragraph(f"{centre}<br/>{date_zh(starts_on)}", ParagraphStyle("r", parent=s.body, alignment=2)),
    ]
    doc.render(story)
    return buf.getvalue()


@dataclass(frozen=True)
class RecipientRow:
    receipt_no: str
    student: str  # masked
    university: str
    level_zh: str
    program: str
    amount_fen: int
    paid_on: date | None


@dataclass
class DonorReportData:
    centre: str
    donor: str
    period: str
    generated_on: date
    received: int
    allocated: int
    paid: int
    unallocated: int
    donations: int
    verify_code: str
    by_program: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    recipients: list[RecipientRow] = field(default_factory=list)


def render_donor_report(d: DonorReportData) -> bytes:
    s = styles()
    buf = io.BytesIO()
    doc = _NumberedDoc(buf, f"捐赠资金使用情况报告 {d.donor}", d.centre, f"校验码 {d.verify_code}")
    persons = len({(r.student, r.university, r.receipt_no) for r in d.recipients})
    story: list[Flowable] = [
        Spacer(1, 60),
        Paragraph("捐赠资金使用情况报告", s.title),
        Spacer(1, 20),
        Paragraph(f"捐赠方：{d.donor}", s.heading),
        Paragraph(f"报告期间：{d.period}", s.body),
        Paragraph(f"出具单位：{d.centre}", s.body),
        Paragraph(f"出具日期：{date_zh(d.generated_on)}", s.body),
        Paragraph(f"校验码：{d.verify_code}", s.body),
        Spacer(1, 16),
        Paragraph(
            f"感谢贵方对我县家庭经济困难学生的关爱与支持。报告期内，贵方共捐赠 {d.donations} 笔，"
            f"合计 {format_yuan_grouped(d.received)} 元；已分配至 {persons} 人次受助学生 {format_yuan_grouped(d.allocated)} 元，"
            f"其中已发放 {format_yuan_grouped(d.paid)} 元；尚未分配 {format_yuan_grouped(d.unallocated)} 元，将按捐赠意愿继续用于资助。"
            "受助学生姓名已按规定隐去部分信息。",
            s.body,
        ),
        Spacer(1, 10),
        data_table(
            s.font,
            ["项目", "金额（元）", "金额（万元）"],
            [
                (label, format_yuan_grouped(v), format_wan(v))
                for label, v in (
                    ("收到捐赠", d.received),
                    ("已分配", d.allocated),
                    ("已发放", d.paid),
                    ("未分配", d.unallocated),
                )
            ],
            [60 * mm, 50 * mm, 40 * mm],
            numeric=(1, 2),
            size=10,
        ),
        PageBreak(),
        Paragraph("一、资金去向统计", s.heading),
        bar_chart(s.font, "按资助项目", d.by_program),
        Spacer(1, 10),
        bar_chart(s.font, "按学历层次", d.by_level),
        PageBreak(),
        Paragraph("二、受助学生名单", s.heading),
    ]
    rows = [
        (
            r.receipt_no,
            r.student,
            r.university,
            r.level_zh,
            r.program,
            format_yuan_grouped(r.amount_fen),
            r.paid_on.isoformat() if r.paid_on else "未发放",
        )
        for r in d.recipients
    ]
    if rows:
        story.append(
            data_table(
                s.font,
                ["收据编号", "受助学生", "就读院校", "层次", "资助项目", "金额（元）", "发放日期"],
                rows,
                [28 * mm, 18 * mm, 40 * mm, 14 * mm, 34 * mm, 22 * mm, FRAME_W - 156 * mm],
                numeric=(5,),
            )
        )
    else:
        story.append(Paragraph("报告期内尚无分配到学生的资金。", s.body))
    doc.render(story)
    return buf.getvalue()


@dataclass(frozen=True)
class ProgramLine:
    name: str
    persons: int
    person_times: int
    amount: int
    poor_persons: int
    poor_amount: int


@dataclass(frozen=True)
class LoanSummary:
    students: int
    contracts: int
    amount: int
    poor_students: int
    poor_amount: int
    cumulative_students: int
    cumulative_contracts: int
    cumulative_amount: int


def render_annual(
    centre: str,
    year: int,
    programs: Sequence[ProgramLine],
    total: ProgramLine,
    loans: LoanSummary | None,
    generated_on: date,
) -> bytes:
    """The centre's yearly report: grants by programme (元 and 万元, of which 建档立卡) and the loans."""
    s = styles()
    buf = io.BytesIO()
    doc = _NumberedDoc(buf, f"{year}年度学生资助工作统计", centre, centre)
    story: list[Flowable] = [
        Paragraph(f"{centre}<br/>{year}年度学生资助工作统计", s.title),
        Paragraph(
            f"{year}年度共资助大学生 {total.persons} 人、{total.person_times} 人次，发放资助资金 {format_yuan_grouped(total.amount)} 元"
            f"（{format_wan(total.amount)}万元），其中建档立卡家庭学生 {total.poor_persons} 人、"
            f"{format_yuan_grouped(total.poor_amount)} 元。",
            s.body,
        ),
        Paragraph("一、资助项目", s.heading),
    ]
    rows = [
        (
            p.name,
            str(p.persons),
            str(p.person_times),
            format_yuan_grouped(p.amount),
            format_wan(p.amount),
            str(p.poor_persons),
            format_yuan_grouped(p.poor_amount),
        )
        for p in [*programs, total]
    ]
    story.append(
        data_table(
            s.font,
            ["项目", "人数", "人次", "金额（元）", "万元", "建档立卡人数", "建档立卡金额（元）"],
            rows,
            [52 * mm, 14 * mm, 14 * mm, 28 * mm, 16 * mm, 22 * mm, FRAME_W - 146 * mm],
            numeric=(1, 2, 3, 4, 5, 6),
            size=9,
        )
    )
    if loans is not None:
        story += [
            Paragraph("二、生源地信用助学贷款", s.heading),
            Paragraph(
                f"{year}学年办理生源地信用助学贷款学生 {loans.students} 人，合同 {loans.contracts} 笔，贷款金额 "
                f"{format_yuan_grouped(loans.amount)} 元（{format_wan(loans.amount)}万元），其中建档立卡家庭学生 {loans.poor_students} 人、"
                f"{format_yuan_grouped(loans.poor_amount)} 元。累计贷款学生总数 {loans.cumulative_students} 人，累计合同数 "
                f"{loans.cumulative_contracts} 笔，贷款总额 {format_yuan_grouped(loans.cumulative_amount)} 元"
                f"（{format_wan(loans.cumulative_amount)}万元）。",
                s.body,
            ),
        ]
    story += [
        Spacer(1, 18),
        Paragraph(f"{centre}<br/>{date_zh(generated_on)}", ParagraphStyle("r", parent=s.body, alignment=2)),
    ]
    doc.render(story)
    return buf.getvalue()

"""Benchmark: 10,000 donation receipts, and a donor allocation report with 10,000 recipients.

    python bench/receipts.py [--receipts 10000] [--recipients 10000]

1. donations.paper.render_receipt for N different receipts (one PDF each, as `zizhu receipts export`
   writes them; the QR code, drawn from segno's matrix, holds the short verify URL, donations.views.receipt_qr_url)
   against a bare reportlab canvas drawing the same strings in the same font, one PDF each, in the same run, taking
   turns every CHUNK receipts. Goal: our rate at least 0.45 of the bare rate.
2. donations.report_pdf.render_donor_report with N recipient rows. Goal < 10 s.
Pure rendering (no database). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_RATE_RATIO, GOAL_REPORT_S = 0.45, 10.0
CHUNK = 250  # receipts per turn of the bare and our renderer


def receipts(n: int) -> list:
    from donations.funding import verify_code
    from donations.papers.receipt import ReceiptData
    from donations.views import receipt_qr_url, verify_url

    public_url, out = "http://127.0.0.1:8000", []
    for i in range(n):  # as donations.receipts.receipt_data builds them
        number, donor, amount = f"JZ-2025-{i + 1:06d}", f"示范县第{i}号爱心企业有限公司", 100_000 + i * 137
        code = verify_code("bench-secret", number, amount, donor)
        out.append(
            ReceiptData(
                organisation="示范县学生资助管理中心",
                receipt_no=number,
                issued_on=date(2025, 8, 1),
                donor=donor,
                amount_fen=amount,
                purpose="农商行金秋助学金",
                method="银行转账",
                reference=f"NSH{i:08d}",
                issuer="officer",
                verify_code=code,
                verify_url=verify_url(public_url, code),
                qr_url=receipt_qr_url(public_url, code),
            )
        )
    return out


def texts(d) -> list[str]:
    """The strings a receipt prints, for the bare canvas to draw."""
    from donations.papers.receipt import _receipt_rows

    out = [
        "捐赠收据",
        f"开具单位：{d.organisation}",
        f"No. {d.receipt_no}",
        d.verify_code,
        f"核验：{d.verify_url}",
        f"开票人：{d.issuer}",
        f"{d.organisation}（盖章）",
        "本收据由资助中心出具，不得涂改；凭校验码可在线核验真伪。",
    ]
    for label, value in _receipt_rows(d):
        out += [label, value]
    return out


def bare(all_texts: list[list[str]]) -> float:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    from service.pdf import chinese_font

    font = chinese_font()
    t0 = time.perf_counter()
    for strings in all_texts:
        buf = io.BytesIO()
        c = Canvas(buf, pagesize=A4, pageCompression=1)
        c.setFont(font, 11)
        y = 780.0
        for s in strings:
            c.drawString(60, y, s)
            y -= 16
        c.showPage()
        c.save()
    return time.perf_counter() - t0


def ours(data: list) -> float:
    from donations.papers.receipt import render_receipt

    t0 = time.perf_counter()
    for d in data:
        render_receipt(d)
    return time.perf_counter() - t0


def report(n: int) -> tuple[float, int, int]:
    from donations.papers.reports import DonorReportData, RecipientRow, render_donor_report

    unis = ["内蒙古大学", "内蒙古工业大学", "北京师范大学", "吉林大学", "赤峰职业技术学院", "内蒙古机电职业技术学院"]
    rows = [
        RecipientRow(
            f"JZ-2025-{1 + i // 10:06d}",
            "欧**娜" if i % 3 else "张*",
            unis[i % len(unis)],
            "本科" if i % 2 else "专科",
            "农商行金秋助学金" if i % 4 else "县政府资助",
            300_000 if i % 2 else 200_000,
            date(2025, 10, 10),
        )
        for i in range(n)
    ]
    total = sum(r.amount_fen for r in rows)
    data = DonorReportData(
        centre="示范县学生资助管理中心",
        donor="示范县农村商业银行",
        period="2025-01-01 至 2025-12-31",
        generated_on=date(2025, 12, 31),
        received=total,
        allocated=total,
        paid=total,
        unallocated=0,
        donations=n // 10,
        verify_code="0A1B2C3D4E5F",
        by_program={"农商行金秋助学金": total * 3 // 4, "县政府资助": total - total * 3 // 4},
        by_level={"本科": total // 2, "专科": total - total // 2},
        recipients=rows,
    )
    t0 = time.perf_counter()
    pdf = render_donor_report(data)
    took = time.perf_counter() - t0
    from pypdf import PdfReader

    return took, len(PdfReader(io.BytesIO(pdf)).pages), len(pdf)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--receipts", type=int, default=10_000)
    ap.add_argument("--recipients", type=int, default=10_000)
    args = ap.parse_args()
    data = receipts(args.receipts)
    all_texts = [texts(d) for d in data]
    ours(data[:20])  # warm up: font registration, caches
    bare(all_texts[:20])
    # In alternating chunks, so that both see the same load on a shared machine (one after the other, a burst of
    # other work during either run moved the ratio by 0.1 or more).
    t_bare = t_ours = 0.0
    for i in range(0, args.receipts, CHUNK):
        t_bare += bare(all_texts[i : i + CHUNK])
        t_ours += ours(data[i : i + CHUNK])
    ratio = (args.receipts / t_ours) / (args.receipts / t_bare)
    print(f"receipts          {args.receipts}")
    print(f"bare canvas       {t_bare:6.2f} s  {args.receipts / t_bare:7.0f} receipts/s")
    print(
        f"render_receipt    {t_ours:6.2f} s  {args.receipts / t_ours:7.0f} receipts/s  "
        f"rate ratio {ratio:.2f} (goal >= {GOAL_RATE_RATIO})"
    )
    took, pages, size = report(args.recipients)
    print(
        f"donor report      {took:6.2f} s  ({args.recipients} recipients, {pages} pages, {size / 1e6:.1f} MB)  "
        f"(goal < {GOAL_REPORT_S} s)"
    )
    ok = ratio >= GOAL_RATE_RATIO and took < GOAL_REPORT_S
    print("goal met" if ok else "goal NOT met")


if __name__ == "__main__":
    main()

"""The shared PDF kernel: a Chinese font, an A4 canvas, wrapped Chinese text and QR codes.

No domain imports and no database: documents (the loan 受理证明, donation receipts, reports) are
pure functions that build on these helpers and return bytes.

Font: reportlab's built-in CID font STSong-Light by default. It needs no file because it is not
embedded: the PDF only names it, and the reader supplies a Song face (every Chinese Windows/WPS
machine and Adobe Reader does). A printer or viewer without Chinese fonts prints blanks or boxes,
so ZIZHU_PDF_FONT may name a TrueType font (.ttf, or .ttc whose first face is used) that is then
embedded, as a subset, in every document.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import segno
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

__all__ = [
    "CID_FONT",
    "FONT_ENV",
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "chinese_font",
    "draw_qr",
    "draw_wrapped",
    "new_canvas",
    "wrap_lines",
]

FONT_ENV = "ZIZHU_PDF_FONT"
CID_FONT = "STSong-Light"
PAGE_WIDTH, PAGE_HEIGHT = A4
_FONT_SUFFIXES = (".ttf", ".ttc", ".otf")
# A font that lacks these would print the centre's documents as empty boxes: refuse it at once.
_PROBE = "资助贷款证明"


@lru_cache(maxsize=1)
def chinese_font() -> str:
    """Register the Chinese font once and return its reportlab name.

    Cached so every document of the process shares one registration; tests that change
    ZIZHU_PDF_FONT call ``chinese_font.cache_clear()``. Raises ``ValueError`` naming the
    variable when it points at something that is not a usable Chinese TrueType font.
    """
    path_text = os.environ.get(FONT_ENV, "").strip()
    if not path_text:
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
        return CID_FONT
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ValueError(f"{FONT_ENV}={path_text!r}: no such font file")
    if path.suffix.lower() not in _FONT_SUFFIXES:
        raise ValueError(f"{FONT_ENV}={path_text!r}: expected a TrueType/OpenType .ttf or .ttc file")
    # The name depends on the path so that a second registration (another file after
    # cache_clear) never silently reuses the metrics of the first one.
    name = "Zizhu-" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    try:
        font = TTFont(name, str(path), subfontIndex=0)
    except (TTFError, OSError) as exc:
        # Typical cause: an .otf/.ttc with PostScript (CFF) outlines, which reportlab cannot embed.
        raise ValueError(f"{FONT_ENV}={path_text!r}: not a usable TrueType font ({exc})") from exc
    missing = [ch for ch in _PROBE if ord(ch) not in font.face.charToGlyph]
    if missing:
        raise ValueError(f"{FONT_ENV}={path_text!r}: the font has no Chinese glyphs ({''.join(missing)})")
    pdfmetrics.registerFont(font)
    return name


def new_canvas(buffer: BinaryIO, title: str, author: str) -> Canvas:
    """An A4 canvas writing into ``buffer``, with the document metadata set.

    The metadata is what a file manager or the reader's properties dialog shows, so staff
    can tell two downloaded PDFs apart without opening them.
    """
    c = Canvas(buffer, pagesize=A4, pageCompression=1)
    c.setTitle(title)
    c.setAuthor(author)
    c.setSubject(title)
    c.setCreator("Zizhu")
    c.setProducer("Zizhu (ReportLab)")
    return c


# A line must not start with closing punctuation nor end with opening punctuation (禁则):
# such a character is glued to its neighbour and moves to the next line with it.
_NO_LINE_START = set("，。、；：？！）》」』】〕’”…—%,.;:?!)]}")
_NO_LINE_END = set("（《「『【〔‘“([{")


def _tokens(text: str) -> list[str]:
    """Split one paragraph into unbreakable pieces.

    Each CJK character is a piece of its own (Chinese breaks anywhere). A run of Latin letters
    and digits stays whole, so "150430-2025-000123" or a URL is not cut mid-word unless it is
    longer than a whole line.
    """
    tokens: list[str] = []
    for ch in text:
        latin = ch.isascii() and not ch.isspace()
        if (tokens and latin and tokens[-1][-1].isascii() and not tokens[-1][-1].isspace()) or (
            tokens and (ch in _NO_LINE_START or tokens[-1][-1] in _NO_LINE_END)
        ):
            tokens[-1] += ch
        else:
            tokens.append(ch)
    return tokens


def wrap_lines(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points; a newline forces a break.

    Widths come from pdfmetrics.stringWidth of the actual font, character by character,
    because Chinese has no spaces to break at and CJK and Latin glyphs differ in width.
    """

    def fits(s: str) -> bool:
        return pdfmetrics.stringWidth(s, font, size) <= width

    lines: list[str] = []
    for paragraph in unicodedata.normalize("NFC", text).split("\n"):
        line = ""
        for token in _tokens(paragraph):
            if fits(line + token):
                line += token
                continue
            if line.strip():
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line = token
            # One piece wider than a whole line (a long URL): cut it where it overflows.
            while len(line) > 1 and not fits(line):
                cut = next(i for i in range(len(line) - 1, 0, -1) if fits(line[:i])) if fits(line[0]) else 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line.rstrip())
    return lines


def draw_wrapped(
    c: Canvas, text: str, x: float, y: float, width: float, font: str, size: float, leading: float
) -> float:
    """Draw ``text`` wrapped to ``width``, first baseline at ``y``; return the next baseline.

    The return value is where a following line would go, so callers stack paragraphs with
    ``y = draw_wrapped(...)`` and add their own gap between them.
    """
    c.setFont(font, size)
    for line in wrap_lines(text, font, size, width):
        c.drawString(x, y, line)
        y -= leading
    return y


_DARK_RUN = re.compile("1+")


def draw_qr(c: Canvas, data: str, x: float, y: float, size: float, *, mask: int | None = None) -> None:
    """Draw a QR code of ``data`` (error level M, quiet zone included) straight onto the canvas, lower-left
    corner at (x, y), ``size`` points wide.

    Error level M (15 %) so that a stamp partly over the code or a worn printout still scans. segno encodes it and
    it is drawn as one filled path of horizontal runs: receipts are printed by the thousand. ``mask`` fixes the mask pattern instead of trying all eight for the best score (any mask decodes; the
    search is most of segno's time).
    """
    rows = [
        "".join("1" if m else "0" for m in row)
        for row in segno.make(data, error="m", micro=False, boost_error=False, mask=mask).matrix
    ]
    quiet = 4
    modules = len(rows) + 2 * quiet
    unit = size / modules
    # In module units (one `cm` maps a module to `unit` points), so every rectangle is four small integers:
    # formatting hundreds of floats per code cost more than the encoding.
    ops = [f"q 0 g {unit:.5f} 0 0 {unit:.5f} {x:.3f} {y:.3f} cm"]
    for r, row in enumerate(rows):
        row_y = modules - quiet - r - 1
        ops.extend(f"{quiet + run.start()} {row_y} {run.end() - run.start()} 1 re" for run in _DARK_RUN.finditer(row))
    ops.append("f Q")
    c.addLiteral("\n".join(ops))


def date_zh(d: date) -> str:
    """A date as printed on Chinese paper: 2026年11月30日."""
    return f"{d.year}年{d.month}月{d.day}日"

"""Charts drawn on the server as inline SVG: no script, no library, readable when printed.

Pure functions of plain values (labels, integer values, their printed form); the caller escapes nothing,
every text is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import NamedTuple


class Bar(NamedTuple):
    label: str
    value: int  # any integer scale (fen, counts): only the proportions matter
    shown: str  # the value as printed above the bar


def bar_chart(bars: Sequence[Bar], title: str, *, width: int = 560, height: int = 220) -> str:
    """A vertical bar chart as an <svg> element; an empty chart when there are no bars."""
    top, bottom, side = 28, 28, 8
    plot_h = height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{escape(title)}</title>',
        f'<line x1="{side}" y1="{top + plot_h}" x2="{width - side}" y2="{top + plot_h}" stroke="#9aa5b1"/>',
    ]
    if bars:
        biggest = max(max(b.value for b in bars), 1)
        slot = (width - 2 * side) / len(bars)
        bar_w = max(4.0, slot * 0.6)
        for i, b in enumerate(bars):
            h = round(plot_h * max(b.value, 0) / biggest, 1)
            x = round(side + i * slot + (slot - bar_w) / 2, 1)
            y = round(top + plot_h - h, 1)
            centre = round(x + bar_w / 2, 1)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{round(bar_w, 1)}" height="{h}" fill="#2f80c0">'
                f"<title>{escape(b.label)}: {escape(b.shown)}</title></rect>"
            )
            parts.append(
                f'<text x="{centre}" y="{round(y - 6, 1)}" text-anchor="middle" font-size="11">{escape(b.shown)}</text>'
            )
            parts.append(
                f'<text x="{centre}" y="{height - 9}" text-anchor="middle" font-size="12">{escape(b.label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)

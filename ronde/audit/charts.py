"""Charts drawn with fpdf2's own primitives (rectangles, lines, text): no browser, no network, no matplotlib.

Why hand-drawn: a bilan is produced on a server at 02:00 and must come out the same everywhere; two chart
shapes (vertical bars per evening, horizontal bars per category) are a few rectangles each, and drawing them
keeps the PDF vector (sharp when printed) and the server free of a plotting stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fpdf import FPDF

BAR = (46, 110, 160)  # the one bar colour: dark enough to print in grey
NO_DATA = (200, 200, 200)
AXIS = (90, 90, 90)
GRID = (225, 225, 225)


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float


def evening_bars(pdf: FPDF, box: Box, bars: Sequence[tuple[str, float | None]], *, title: str, unit: str = "%") -> None:
    """One vertical bar per evening, 0–100 %: ``bars`` is (label, share 0..1 or None for no data, drawn as
    a short grey stub so a missing evening is seen, not hidden). Labels are thinned to stay legible."""
    pdf.set_font("sans", style="B", size=9)
    pdf.set_xy(box.x, box.y)
    pdf.cell(box.w, 5, title)
    left, bottom, top = box.x + 9, box.y + box.h - 6, box.y + 8
    width, height = box.w - 11, bottom - top
    pdf.set_font("sans", size=6.5)
    for pct in (0, 25, 50, 75, 100):
        y = bottom - height * pct / 100
        pdf.set_draw_color(*GRID)
        pdf.line(left, y, left + width, y)
        pdf.set_xy(box.x, y - 1.5)
        pdf.cell(8, 3, f"{pct}{unit}", align="R")
    pdf.set_draw_color(*AXIS)
    pdf.line(left, bottom, left + width, bottom)
    if not bars:
        return
    step = width / len(bars)
    bar_w = max(0.6, step * 0.7)
    every = max(1, round(len(bars) / 12))
    for i, (label, share) in enumerate(bars):
        x = left + i * step + (step - bar_w) / 2
        if share is None:
            pdf.set_fill_color(*NO_DATA)
            pdf.rect(x, bottom - 1.2, bar_w, 1.2, style="F")
        else:
            h = height * max(0.0, min(1.0, share))
            pdf.set_fill_color(*BAR)
            if h > 0:
                pdf.rect(x, bottom - h, bar_w, h, style="F")
        if i % every == 0:
            pdf.set_xy(left + i * step - 2, bottom + 0.8)
            pdf.cell(step + 4, 3, label, align="C")
    pdf.set_draw_color(0, 0, 0)


def category_bars(pdf: FPDF, box: Box, bars: Sequence[tuple[str, int]], *, title: str, empty: str) -> None:
    """One horizontal bar per category, longest first, its count at its end."""
    pdf.set_font("sans", style="B", size=9)
    pdf.set_xy(box.x, box.y)
    pdf.cell(box.w, 5, title)
    pdf.set_font("sans", size=7.5)
    if not bars:
        pdf.set_xy(box.x, box.y + 8)
        pdf.cell(box.w, 5, empty)
        return
    label_w = min(55.0, box.w * 0.4)
    room = box.w - label_w - 10
    top = box.y + 8
    row = min(7.0, (box.h - 8) / len(bars))
    most = max(n for _, n in bars) or 1
    for i, (label, n) in enumerate(bars):
        y = top + i * row
        pdf.set_xy(box.x, y)
        pdf.cell(label_w - 1, row * 0.8, label, align="R")
        w = room * n / most
        pdf.set_fill_color(*BAR)
        if w > 0:
            pdf.rect(box.x + label_w, y + row * 0.1, w, row * 0.6, style="F")
        pdf.set_xy(box.x + label_w + w + 1, y)
        pdf.cell(10, row * 0.8, str(n))

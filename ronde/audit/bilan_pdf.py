"""The bilan mensuel as a PDF (fpdf2, DejaVu fonts as the audit report's): a cover a director reads in a minute
(four figures and one chart), then presence by place, field activity, the month compared, and every evening.

Why the cover holds exactly four figures: coverage, passes, sollicitations and technical reports are what the
group of landlords compares; everything else is on the following pages for who wants it.
"""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF

from ronde.audit.bilan import Bilan, MonthTotals
from ronde.audit.bilan_labels import BILAN_TEXT, month_text, word
from ronde.audit.charts import Box, category_bars, evening_bars
from ronde.audit.labels import TEXT, Lang, day_text, kind_label, number, percent
from ronde.audit.manifest import wait_minutes
from ronde.audit.pdf import font_paths

PAGE_W = 186.0  # A4 portrait less 12 mm margins


class _BilanDoc(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("sans", size=7)
        self.cell(0, 5, f"{self.footer_text} – {self.page_no()}/{{nb}}", align="C")


def render_bilan_pdf(bilan: Bilan, lang: Lang = Lang.FR) -> bytes:
    fonts = font_paths()
    pdf = _BilanDoc(orientation="P", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.footer_text = f"{bilan.landlord_name} · {month_text(bilan.month, lang)} · {bilan.bilan_id}"
    pdf.set_title(BILAN_TEXT[lang]["title"])
    pdf.set_author("Ronde")
    pdf.set_creator("Ronde")
    pdf.set_creation_date(bilan.issued_at)  # the same bilan renders to the same bytes
    pdf.add_font("sans", fname=str(fonts["sans"]))
    pdf.add_font("sans", style="B", fname=str(fonts["sans-bold"]))
    pdf.set_auto_page_break(auto=True, margin=14)
    _cover(pdf, bilan, lang)
    _places_page(pdf, bilan, lang)
    _field_page(pdf, bilan, lang)
    _checkpoints_and_evenings(pdf, bilan, lang)
    return bytes(pdf.output())


def _local(b: Bilan, lang: Lang) -> str:
    """When it was issued, on the calendar's clock (Europe/Paris): what a reader there would call the time."""
    tz = b.report.calendar.tz
    shown = "%d/%m/%Y %H:%M" if lang is Lang.FR else "%Y-%m-%d %H:%M"
    return f"{b.issued_at.astimezone(tz).strftime(shown)} ({tz.key})"


def _colon(lang: Lang) -> str:
    """French puts a space before the colon, English does not."""
    return " : " if lang is Lang.FR else ": "


def _heading(pdf: FPDF, text: str, size: float = 11) -> None:
    if pdf.will_page_break(20):
        pdf.add_page()
    pdf.set_font("sans", style="B", size=size)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")


def _change(now: float | None, before: float | None, lang: Lang, *, points: bool = False) -> str:
    """'+3' / '−12 %' / '+4,5 pts' against the previous month, '' when not comparable."""
    if now is None or before is None:
        return ""
    if points:
        diff = 100 * (now - before)
        return f"{'+' if diff >= 0 else '−'}{number(abs(diff), lang)} pts"
    if before == 0:
        return f"+{number(now, lang, 0 if float(now).is_integer() else 1)}" if now else "="
    pct = 100 * (now - before) / before
    sign = "+" if pct >= 0 else "−"
    return f"{sign}{number(abs(pct), lang, 0)} %"


def _figure_box(pdf: FPDF, x: float, y: float, w: float, label: str, value: str, sub: str) -> None:
    pdf.set_fill_color(240, 244, 248)
    pdf.rect(x, y, w, 30, style="F")
    pdf.set_xy(x + 3, y + 3)
    pdf.set_font("sans", size=8.5)
    pdf.multi_cell(w - 6, 4, label, align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(x + 3, y + 11)
    pdf.set_font("sans", style="B", size=20)
    pdf.cell(w - 6, 10, value)
    pdf.set_xy(x + 3, y + 22)
    pdf.set_font("sans", size=6.8)
    pdf.multi_cell(w - 6, 3.2, sub, align="L")


def _cover(pdf: FPDF, b: Bilan, lang: Lang) -> None:
    t = BILAN_TEXT[lang]
    pdf.add_page()
    pdf.set_font("sans", style="B", size=15)
    pdf.multi_cell(0, 7.5, t["title"], align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("sans", size=12)
    pdf.cell(0, 8, f"{b.landlord_name} · {month_text(b.month, lang)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    cur, prev = b.current, b.previous
    prev_word = t["vs_previous"]

    def sub(now: float | None, before_v: float | None, shown: str, *, points: bool = False) -> str:
        if prev is None:
            return t["no_previous"]
        return f"{_change(now, before_v, lang, points=points)} ({prev_word}{_colon(lang)}{shown})"

    p: MonthTotals | None = prev
    boxes = [
        (
            t["cover_share"],
            percent(cur.share, lang),
            sub(cur.share, p.share if p else None, percent(p.share, lang) if p else "", points=True),
        ),
        (
            t["cover_passes"],
            str(cur.passes),
            sub(cur.passes, p.passes if p else None, str(p.passes) if p else ""),
        ),
        (
            t["cover_sollicitations"],
            str(cur.sollicitations),
            sub(cur.sollicitations, p.sollicitations if p else None, str(p.sollicitations) if p else ""),
        ),
        (
            t["cover_technical"],
            str(cur.technical),
            f"{t['cover_resolved']}{_colon(lang)}{cur.resolved}"
            if lang is Lang.FR
            else f"{cur.resolved} {t['cover_resolved']}",
        ),
    ]
    y = pdf.get_y()
    w = (PAGE_W - 3 * 4) / 4
    for i, (label, value, note) in enumerate(boxes):
        _figure_box(pdf, 12 + i * (w + 4), y, w, label, value, note)
    chart_y = y + 38
    bars = [(d.strftime("%d/%m" if lang is Lang.FR else "%m-%d"), s.share) for d, s in b.report.days]
    evening_bars(pdf, Box(12, chart_y, PAGE_W, 95), bars, title=t["chart_evenings"])
    pdf.set_y(chart_y + 100)
    pdf.set_font("sans", size=8.5)
    a = TEXT[lang]
    pr = b.report.period
    c = _colon(lang)
    lines = [
        f"{t['presence_h']}{c}{number(cur.presence_s / 3600, lang)} h",
        f"{a['checkpoint_days']}{c}{pr.checkpoint_days} ({pr.covered} {a['covered']}, {pr.not_visited} "
        f"{a['not_visited']}, {pr.no_data} {a['no_data']})",
        f"{t['your_requests']}{c}{b.requests.total} ({t['req_answered'].lower()}{c}{b.requests.answered})",
    ]
    for line in lines:
        pdf.multi_cell(0, 5, line, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("sans", size=7.5)
    for line in (
        t["privacy"],
        a["legend_nodata"],
        t["verify_hint"],
        f"{t['bilan_id']}{c}{b.bilan_id} · {t['issued_at']} {_local(b, lang)}",
        f"{a['chain_final']}{c}{b.report.chain.final}",
    ):
        pdf.multi_cell(0, 4, line, align="L", new_x="LMARGIN", new_y="NEXT")


def _table(
    pdf: FPDF,
    widths: Sequence[float],
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    bold_rows: set[int],
    text_columns: int = 1,
) -> None:
    """A header row (grey, wrapped) then one row per line; the first ``text_columns`` left-aligned, numbers right."""

    def header() -> None:
        pdf.set_font("sans", style="B", size=6.3)
        pdf.set_fill_color(230, 230, 230)
        x0, y = pdf.get_x(), pdf.get_y()
        x = x0
        for w, label in zip(widths, head, strict=True):
            pdf.rect(x, y, w, 10, style="DF")
            pdf.set_xy(x + 0.3, y + 0.6)
            pdf.multi_cell(w - 0.6, 2.8, label, align="C", new_x="RIGHT", new_y="TOP")
            x += w
        pdf.set_xy(x0, y + 10)

    if pdf.will_page_break(18):
        pdf.add_page()
    header()
    for i, row in enumerate(rows):
        if pdf.will_page_break(5):
            pdf.add_page()
            header()
        pdf.set_font("sans", style="B" if i in bold_rows else "", size=7.5)
        for j, (w, cell) in enumerate(zip(widths, row, strict=True)):
            text = cell
            while text and pdf.get_string_width(text) > w - 1.5:
                text = text[:-2] + "…"
            pdf.cell(w, 5, text, border=1, align="L" if j < text_columns else "R")
        pdf.ln(5)


def _places_page(pdf: FPDF, b: Bilan, lang: Lang) -> None:
    t = BILAN_TEXT[lang]
    pdf.add_page()
    _heading(pdf, t["presence"] + " – " + t["places"])
    head = [
        t["place"],
        t["checkpoints"],
        t["passes"],
        t["presence_h"],
        t["share"],
        t["no_data"],
        t["sollicitations"],
        t["technical"],
        t["requests"],
    ]
    rows: list[list[str]] = []
    bold: set[int] = set()
    for p in b.places:
        if p.building is None:
            bold.add(len(rows))
        rows.append(
            [
                p.estate_name if p.building is None else "   " + (p.building_name or p.building),
                str(p.checkpoints),
                str(p.passes),
                number(p.presence_s / 3600, lang),
                percent(p.share.share, lang),
                str(p.share.no_data),
                str(p.sollicitations),
                str(p.technical),
                str(p.requests),
            ]
        )
    _table(pdf, [50.0, *([17.0] * 8)], head, rows, bold_rows=bold)
    pdf.ln(5)
    _heading(pdf, t["comparison"])
    cur, prev = b.current, b.previous
    lines: list[tuple[str, float | None, float | None, str, str, bool]] = [
        (t["cover_share"], cur.share, prev.share if prev else None, percent(cur.share, lang), "", True),
        (t["cover_passes"], cur.passes, prev.passes if prev else None, str(cur.passes), "", False),
        (
            t["presence_h"],
            cur.presence_s / 3600,
            prev.presence_s / 3600 if prev else None,
            number(cur.presence_s / 3600, lang),
            "",
            False,
        ),
        (
            t["sollicitations"],
            cur.sollicitations,
            prev.sollicitations if prev else None,
            str(cur.sollicitations),
            "",
            False,
        ),
        (t["cover_technical"], cur.technical, prev.technical if prev else None, str(cur.technical), "", False),
        (t["resolved"], cur.resolved, prev.resolved if prev else None, str(cur.resolved), "", False),
        (t["requests"], cur.requests, prev.requests if prev else None, str(cur.requests), "", False),
    ]
    rows = []
    for label, now, before, shown, _, points in lines:
        if prev is None:
            before_text = "–"
        elif label == t["cover_share"]:
            before_text = percent(prev.share, lang)
        elif label == t["presence_h"]:
            before_text = number(prev.presence_s / 3600, lang)
        else:
            before_text = f"{before:g}" if before is not None else "–"
        rows.append([label, shown, before_text, _change(now, before, lang, points=points) or "–"])
    _table(
        pdf,
        [76.0, 36.0, 36.0, 38.0],
        [t["figure"], t["this_month"], t["last_month"], t["change"]],
        rows,
        bold_rows=set(),
    )


def _counts_pair(pdf: FPDF, lang: Lang, *tables: tuple[str, str | None, Sequence[tuple[str, int]]]) -> None:
    """Two count tables side by side (left and right half of the page), the next content below the longer."""
    t = BILAN_TEXT[lang]
    top = pdf.get_y()
    if pdf.will_page_break(10 + 5 * max(len(c) or 1 for _, _, c in tables)):
        pdf.add_page()
        top = pdf.get_y()
    bottom = top
    half = PAGE_W / 2
    for i, (title, group, counts) in enumerate(tables):
        pdf.set_left_margin(12 + i * half)
        pdf.set_xy(12 + i * half, top)
        rows = [[word(k, lang, group), str(n)] for k, n in counts] or [[t["none"], "0"]]
        _table(pdf, [half - 26.0, 20.0], [title, t["sollicitations"]], rows, bold_rows=set())
        bottom = max(bottom, pdf.get_y())
    pdf.set_left_margin(12)
    pdf.set_xy(12, bottom + 3)


def _field_page(pdf: FPDF, b: Bilan, lang: Lang) -> None:
    t = BILAN_TEXT[lang]
    pdf.add_page()
    _heading(pdf, t["field"])
    _counts_pair(pdf, lang, (t["by_origin"], "origin", b.by_origin), (t["by_type"], "type", b.by_type))
    _counts_pair(pdf, lang, (t["by_response"], "response", b.by_response), (t["orientations"], None, b.orientations))
    _heading(pdf, t["cover_technical"])
    rows = [
        [
            word(c.category, lang, "category"),
            str(c.reports),
            str(c.urgent),
            str(c.acknowledged),
            number(None if c.median_ack_s is None else c.median_ack_s / 3600, lang),
            str(c.resolved),
            number(None if c.median_resolution_s is None else c.median_resolution_s / 3600, lang),
        ]
        for c in b.categories
    ] or [[t["none"], "0", "0", "0", "", "0", ""]]
    head = [
        t["category"],
        t["reports"],
        t["urgent"],
        t["acknowledged"],
        t["median_ack_h"],
        t["resolved"],
        t["median_resolution_h"],
    ]
    _table(pdf, [56.0, 20.0, 20.0, 22.0, 24.0, 20.0, 24.0], head, rows, bold_rows=set())
    pdf.ln(3)
    chart_h = 8.0 + 6.0 * len(b.categories) if b.categories else 14.0
    if pdf.will_page_break(chart_h + 5):
        pdf.add_page()
    chart_y = pdf.get_y()
    category_bars(
        pdf,
        Box(12, chart_y, PAGE_W, chart_h),
        [(word(c.category, lang, "category"), c.reports) for c in b.categories],
        title=t["chart_categories"],
        empty=t["none"],
    )
    pdf.set_y(chart_y + chart_h + 3)
    _heading(pdf, t["your_requests"])
    r = b.requests
    rows = [
        [t["req_total"], str(r.total)],
        [t["req_assigned"], str(r.assigned)],
        [t["req_answered"], str(r.answered)],
        [t["req_open"], str(r.still_open)],
        [t["req_assign_h"], number(None if r.median_assign_s is None else r.median_assign_s / 3600, lang)],
        [t["req_answer_h"], number(None if r.median_answer_s is None else r.median_answer_s / 3600, lang)],
    ]
    _table(pdf, [70.0, 22.0], [t["figure"], t["this_month"]], rows, bold_rows=set())


def _checkpoints_and_evenings(pdf: FPDF, b: Bilan, lang: Lang) -> None:
    t, a = BILAN_TEXT[lang], TEXT[lang]
    pdf.add_page()
    _heading(pdf, a["per_checkpoint"])
    head = [
        a["checkpoint"],
        a["kind"],
        a["passes"],
        a["covered_days"],
        a["not_visited_days"],
        a["no_data_days"],
        a["presence_h"],
        a["longest_wait_min"],
    ]
    rows = [
        [
            c.name,
            kind_label(c.kind, lang),
            str(c.passes),
            str(c.covered_days),
            str(c.not_visited_days),
            str(c.no_data_days),
            number(c.presence_s / 3600, lang),
            str(wait_minutes(c.longest_wait_s)),
        ]
        for c in b.report.checkpoints
    ]
    _table(pdf, [56.0, 34.0, *([16.0] * 6)], head, rows, bold_rows=set(), text_columns=2)
    pdf.ln(5)
    _heading(pdf, t["evenings"])
    shares = dict(b.report.days)
    rows = []
    for link in b.report.chain.links:
        s = shares.get(link.day)
        rows.append(
            [
                day_text(link.day, lang),
                percent(s.share if s else None, lang),
                str(s.covered) if s else "",
                str(s.not_visited) if s else "",
                str(s.no_data) if s else "",
                str(link.events),
            ]
        )
    head = [t["evening"], a["share"], *(a[k].capitalize() for k in ("covered", "not_visited", "no_data")), a["events"]]
    _table(pdf, [40.0, 25.0, 25.0, 25.0, 25.0, 25.0], head, rows, bold_rows=set())

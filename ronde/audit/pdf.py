"""PDF rendering of an audit report (fpdf2, DejaVu fonts embedded for French text).

Written for the director who reads it first: a cover page with the landlord, the period, four
headline figures and the coverage of each evening as a chart; then what proves it (identifiers,
chain, how to verify), the table per checkpoint (full names wrapped, presence and worst wait in
minutes), the dates not visited or without data as ranges (a day without data for every checkpoint
said once, not once per checkpoint), and the chain per day with runs of days without data in one
row. Dates are French (``jeudi 3 décembre 2026``) and the issue time is local (Europe/Paris).

The fonts come from Debian's ``fonts-dejavu-core`` (/usr/share/fonts/truetype/dejavu/); another
directory can be given with ``RONDE_FONT_DIR``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

from ronde.audit.labels import TEXT, Lang, kind_label, service_hours
from ronde.audit.manifest import wait_minutes
from ronde.audit.pdf_words import ACCENT, BAR, GRID, INK, MUTED, NO_DATA, WORDS
from ronde.audit.report import AuditReport
from ronde.coverage.shares import Share
from ronde.protocol import formats

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")
_FONTS = {"sans": "DejaVuSans.ttf", "sans-bold": "DejaVuSans-Bold.ttf"}
# fontTools logs every glyph table it subsets at INFO (~75 lines per PDF): not the operator's business
logging.getLogger("fontTools").setLevel(logging.WARNING)


class FontMissing(RuntimeError):
    """A font the PDF needs is not installed (Debian fonts-dejavu-core, or RONDE_FONT_DIR)."""


@lru_cache(maxsize=1)
def font_paths() -> dict[str, Path]:
    dirs = [os.environ["RONDE_FONT_DIR"]] if os.environ.get("RONDE_FONT_DIR") else []
    dirs += FONT_DIRS
    found: dict[str, Path] = {}
    for key, name in _FONTS.items():
        for d in dirs:
            p = Path(d) / name
            if p.is_file():
                found[key] = p
                break
        else:
            located = _fc_match(name)
            if located is None:
                raise FontMissing(f"font {name} not found: install Debian's fonts-dejavu-core or set RONDE_FONT_DIR")
            found[key] = located
    return found


def _fc_match(name: str) -> Path | None:
    exe = shutil.which("fc-list")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, ":", "file"], capture_output=True, text=True, timeout=10, check=False).stdout  # noqa: S603 - fc-list found by shutil.which, fixed arguments
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        path = line.split(":")[0].strip()
        if path.endswith("/" + name):
            return Path(path)
    return None


class _Doc(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("sans", size=7)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.footer_text} – {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(*INK)


def _lang(lang: Lang) -> formats.Lang:
    return "fr" if lang is Lang.FR else "en"


def render_pdf(report: AuditReport, lang: Lang = Lang.FR) -> bytes:
    t = TEXT[lang]
    fonts = font_paths()
    pdf = _Doc(orientation="L", unit="mm", format="A4")
    pdf.footer_text = f"{report.landlord_name} · {report.report_id}"
    pdf.set_title(t["title"])
    pdf.set_author("Ronde")
    pdf.set_creator("Ronde")
    pdf.add_font("sans", fname=str(fonts["sans"]))
    pdf.add_font("sans", style="B", fname=str(fonts["sans-bold"]))
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_text_color(*INK)
    pdf.add_page()
    _cover(pdf, report, lang)
    pdf.add_page()
    _proof(pdf, report, lang)
    _checkpoint_table(pdf, report, lang)
    _gap_list(pdf, report, lang)
    _day_table(pdf, report, lang)
    return bytes(pdf.output())


# ---- figures shared with the test and the API -------------------------------------------------------


def headline(report: AuditReport) -> tuple[float | None, int, int, int]:
    """The cover's four figures: covered share, passes, service evenings, checkpoints."""
    return (
        report.period.share,
        sum(c.passes for c in report.checkpoints),
        len(report.days),
        len(report.checkpoints),
    )


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive dates as (first, last) runs: 1, 2, 3, 5 → (1, 3), (5, 5)."""
    runs: list[tuple[date, date]] = []
    for d in sorted(set(days)):
        if runs and d - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def ranges_text(days: Iterable[date], lang: Lang) -> str:
    w = WORDS[lang]
    parts = []
    for a, b in day_ranges(days):
        short_a, short_b = formats.date_short(a, _lang(lang)), formats.date_short(b, _lang(lang))
        parts.append(short_a if a == b else w["range"].format(first=short_a, last=short_b))
    return ", ".join(parts)


# ---- cover ------------------------------------------------------------------------------------------


def _cover(pdf: FPDF, report: AuditReport, lang: Lang) -> None:
    t, w, fl = TEXT[lang], WORDS[lang], _lang(lang)
    pdf.set_font("sans", style="B", size=17)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 8, t["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*MUTED)
    pdf.set_font("sans", size=10)
    pdf.cell(0, 6, t["subtitle"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_text_color(*INK)
    pdf.set_font("sans", style="B", size=15)
    pdf.cell(0, 8, report.landlord_name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("sans", size=11)
    first, last = formats.date_long(report.first, fl), formats.date_long(report.last, fl)
    pdf.cell(0, 6, f"{t['period']} {w['period_long'].format(first=first, last=last)}", new_x="LMARGIN", new_y="NEXT")
    cal = report.calendar
    hours = service_hours(cal.days, formats.time_hm(cal.start, fl), formats.time_hm(cal.end, fl), cal.timezone, lang)
    pdf.set_text_color(*MUTED)
    pdf.set_font("sans", size=9)
    pdf.cell(0, 5, f"{t['service_hours']} : {hours}" if lang is Lang.FR else f"{t['service_hours']}: {hours}")
    pdf.ln(9)
    share, passes, evenings, checkpoints = headline(report)
    figures = [
        (w["fig_share"], formats.percent(share, fl), w["fig_share_sub"]),
        (w["fig_passes"], formats.number(passes, fl), w["fig_passes_sub"]),
        (w["fig_evenings"], formats.number(evenings, fl), w["fig_evenings_sub"]),
        (w["fig_checkpoints"], formats.number(checkpoints, fl), w["fig_checkpoints_sub"]),
    ]
    x0, y0, gap = pdf.l_margin, pdf.get_y(), 5.0
    box_w = (pdf.w - pdf.l_margin - pdf.r_margin - 3 * gap) / 4
    for i, (label, value, sub) in enumerate(figures):
        _figure_box(pdf, x0 + i * (box_w + gap), y0, box_w, label, value, sub)
    pdf.set_xy(x0, y0 + 34)
    _coverage_chart(pdf, report, lang, height=pdf.h - pdf.get_y() - 24)


def _figure_box(pdf: FPDF, x: float, y: float, w: float, label: str, value: str, sub: str) -> None:
    pdf.set_draw_color(*GRID)
    pdf.set_fill_color(246, 244, 239)
    pdf.rect(x, y, w, 28, style="DF")
    pdf.set_fill_color(*ACCENT)
    pdf.rect(x, y, 1.6, 28, style="F")
    pdf.set_xy(x + 5, y + 3)
    pdf.set_font("sans", size=9)
    pdf.set_text_color(*MUTED)
    pdf.cell(w - 8, 5, label)
    pdf.set_xy(x + 5, y + 9)
    pdf.set_font("sans", style="B", size=20)
    pdf.set_text_color(*INK)
    pdf.cell(w - 8, 10, value)
    pdf.set_xy(x + 5, y + 21)
    pdf.set_font("sans", size=7.5)
    pdf.set_text_color(*MUTED)
    pdf.cell(w - 8, 4, sub)
    pdf.set_text_color(*INK)


def _coverage_chart(pdf: FPDF, report: AuditReport, lang: Lang, *, height: float) -> None:
    """One bar per closed service evening (share covered, 0–100 %); a grey stub marks an evening
    without data. Axis labels every 25 %, dates under the bars as many as fit."""
    w, fl = WORDS[lang], _lang(lang)
    pdf.set_font("sans", style="B", size=11)
    pdf.cell(0, 6, w["chart"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("sans", size=7.5)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 4, w["chart_alt"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    days: Sequence[tuple[date, Share]] = report.days
    left, top = pdf.l_margin + 12, pdf.get_y() + 3
    width = pdf.w - pdf.r_margin - left
    plot_h = max(30.0, height - 22)
    bottom = top + plot_h
    pdf.set_font("sans", size=7)
    pdf.set_draw_color(*GRID)
    for pct in (0, 25, 50, 75, 100):
        y = bottom - plot_h * pct / 100
        pdf.line(left, y, left + width, y)
        pdf.set_xy(pdf.l_margin, y - 2)
        pdf.cell(11, 4, formats.percent(pct / 100, fl, 0), align="R")
    if not days:
        return
    slot = width / len(days)
    bar_w = max(0.6, slot * 0.7)
    every = max(1, round(14 / slot))  # a date label needs about 14 mm
    for i, (day, s) in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        if s.share is None or s.no_data == s.checkpoint_days:
            pdf.set_fill_color(*NO_DATA)
            pdf.rect(x, bottom - 2.5, bar_w, 2.5, style="F")
        else:
            h = plot_h * s.share
            pdf.set_fill_color(*BAR)
            if h > 0:
                pdf.rect(x, bottom - h, bar_w, h, style="F")
        if i % every == 0 or i == len(days) - 1:
            pdf.set_xy(left + i * slot + slot / 2 - 8, bottom + 1)
            pdf.cell(16, 4, f"{day:%d/%m}", align="C")
    pdf.set_xy(pdf.l_margin, bottom + 7)


# ---- identification, verification ------------------------------------------------------------------


def _kv(pdf: FPDF, key: str, value: str, mono: bool = False) -> None:
    pdf.set_font("sans", style="B", size=9)
    pdf.cell(92, 5.5, key)
    pdf.set_font("sans", size=8 if mono else 9)
    pdf.multi_cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")


def issued_text(report: AuditReport, lang: Lang) -> str:
    """The issue time as a reader says it, in the service's own time zone (Europe/Paris)."""
    local = report.issued_at.astimezone(report.calendar.tz)
    fl = _lang(lang)
    return WORDS[lang]["issued_at_text"].format(
        day=formats.date_long(local.date(), fl), time=formats.time_hm(local, fl)
    )


def _proof(pdf: FPDF, report: AuditReport, lang: Lang) -> None:
    t, w = TEXT[lang], WORDS[lang]
    pdf.set_font("sans", style="B", size=12)
    pdf.cell(0, 7, w["proof"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    p = report.period
    _kv(pdf, t["issued_at"], issued_text(report, lang))
    _kv(pdf, t["report_id"], report.report_id, mono=True)
    _kv(pdf, t["revision"], report.revision)
    _kv(pdf, t["share_sensed"], formats.percent(p.share_sensed, _lang(lang)))
    _kv(pdf, t["chain_anchor"], report.chain.anchor, mono=True)
    _kv(pdf, t["chain_final"], report.chain.final, mono=True)
    pdf.ln(2)
    pdf.set_font("sans", size=8.5)
    for key in ("legend_nodata", "privacy", "verify_hint"):
        pdf.multi_cell(0, 4.4, t[key], new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)


# ---- tables -----------------------------------------------------------------------------------------


WRAPPED = 2  # the first two columns (name, kind) wrap; the figures do not


def _line_count(pdf: FPDF, width: float, line_h: float, text: str) -> int:
    lines = pdf.multi_cell(width, line_h, text, dry_run=True, output="LINES")
    return len(lines) if isinstance(lines, list) else 1


def _row(pdf: FPDF, widths: list[float], cells: list[str], aligns: str, height: float = 5.0) -> None:
    """One table row; the first cell wraps (full names), the row as tall as its tallest cell."""
    pdf.set_font("sans", size=7.5)
    line_h = 3.6
    lines = max(
        _line_count(pdf, w - 1.5, line_h, cell) if i < WRAPPED else 1
        for i, (w, cell) in enumerate(zip(widths, cells, strict=True))
    )
    row_h = max(height, lines * line_h + 1.4)
    if pdf.will_page_break(row_h):
        pdf.add_page()
    x0, y0 = pdf.get_x(), pdf.get_y()
    x = x0
    for i, (w, cell, align) in enumerate(zip(widths, cells, aligns, strict=True)):
        pdf.rect(x, y0, w, row_h)
        pdf.set_xy(x + 0.75, y0 + 0.7)
        if i < WRAPPED:
            pdf.multi_cell(w - 1.5, line_h, cell, align="L", new_x="RIGHT", new_y="TOP")
        else:
            pdf.cell(w - 1.5, row_h - 1.4, cell, align="L" if align == "L" else "R")
        x += w
    pdf.set_xy(x0, y0 + row_h)


def _header(pdf: FPDF, widths: list[float], labels: list[str], height: float = 10.0) -> None:
    """A header row whose labels wrap inside their cells (grey, bold)."""
    if pdf.will_page_break(height + 8):
        pdf.add_page()
    pdf.set_font("sans", style="B", size=6.8)
    pdf.set_fill_color(235, 232, 225)
    pdf.set_draw_color(*GRID)
    x0, y = pdf.get_x(), pdf.get_y()
    x = x0
    for w, label in zip(widths, labels, strict=True):
        pdf.rect(x, y, w, height, style="DF")
        pdf.set_xy(x, y + 0.8)
        pdf.multi_cell(w, 3.0, label, align="C", new_x="RIGHT", new_y="TOP")
        x += w
    pdf.set_xy(x0, y + height)


def _minutes(seconds: float, lang: Lang) -> str:
    return formats.number(wait_minutes(seconds), _lang(lang))


def _checkpoint_table(pdf: FPDF, report: AuditReport, lang: Lang) -> None:
    w, fl = WORDS[lang], _lang(lang)
    pdf.add_page()
    pdf.set_font("sans", style="B", size=12)
    pdf.cell(0, 7, TEXT[lang]["per_checkpoint"], new_x="LMARGIN", new_y="NEXT")
    widths = [66.0, 41.0, *([17.0] * 10)]
    head = [
        w[k]
        for k in (
            "name",
            "kind",
            "passes",
            "service_days",
            "covered_days",
            "not_visited_days",
            "no_data_days",
            "presence_min",
            "worst_min",
            "gap_cv",
            "signed",
            "eid",
        )
    ]
    _header(pdf, widths, head, 12.0)
    for c in report.checkpoints:
        if pdf.will_page_break(8.0):
            pdf.add_page()
            _header(pdf, widths, head, 12.0)
        _row(
            pdf,
            widths,
            [
                c.name,
                kind_label(c.kind, lang),
                formats.number(c.passes, fl),
                str(c.service_days),
                str(c.covered_days),
                str(c.not_visited_days),
                str(c.no_data_days),
                _minutes(c.presence_s, lang),
                _minutes(c.longest_wait_s, lang),
                "–" if c.gap_cv is None else formats.decimal(c.gap_cv, 2, fl),
                f"{c.signed}/{c.signed + c.unsigned}",
                f"{c.eid_resolved}/{c.eid_resolved + c.static}",
            ],
            "LLRRRRRRRRRR",
        )
    pdf.ln(1.5)
    pdf.set_font("sans", size=7.5)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 4, w["worst_note"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)


def _gap_list(pdf: FPDF, report: AuditReport, lang: Lang) -> None:
    """Dates not visited / without data as ranges, each set of dates written once with the checkpoints
    it concerns (a day without data for every checkpoint is one line, not one per checkpoint)."""
    t, w = TEXT[lang], WORDS[lang]
    if not any(c.days_not_visited or c.days_no_data for c in report.checkpoints):
        return
    common = set.intersection(*(set(c.days_no_data) for c in report.checkpoints))
    pdf.ln(4)
    if pdf.will_page_break(24):
        pdf.add_page()
    pdf.set_font("sans", style="B", size=12)
    pdf.cell(0, 7, w["gaps"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("sans", size=8)
    if common:
        pdf.multi_cell(0, 4.4, w["all_no_data"].format(days=ranges_text(common, lang)), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    sep = " : " if lang is Lang.FR else ": "
    groups: dict[tuple[str, str], list[str]] = {}
    for c in report.checkpoints:
        for key, days in (
            ("not_visited", c.days_not_visited),
            ("no_data", [d for d in c.days_no_data if d not in common]),
        ):
            if days:
                groups.setdefault((key, ranges_text(days, lang)), []).append(c.name)
    if not groups:
        pdf.multi_cell(0, 4.4, w["none_left"], new_x="LMARGIN", new_y="NEXT")
    for (key, dates), names in sorted(groups.items(), key=lambda kv: (kv[0][0] != "not_visited", -len(kv[1]))):
        if pdf.will_page_break(12):
            pdf.add_page()
        pdf.set_font("sans", style="B", size=8)
        pdf.multi_cell(0, 4.2, f"{t[key].capitalize()}{sep}{dates}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("sans", size=8)
        pdf.set_x(pdf.l_margin + 5)
        pdf.multi_cell(0, 4.0, " · ".join(names), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.2)


def _day_table(pdf: FPDF, report: AuditReport, lang: Lang) -> None:
    """One row per evening; consecutive evenings without any data (nor events) are one row."""
    w, fl = WORDS[lang], _lang(lang)
    pdf.add_page()
    pdf.set_font("sans", style="B", size=12)
    pdf.cell(0, 7, TEXT[lang]["per_day"], new_x="LMARGIN", new_y="NEXT")
    widths = [44.0, 20.0, 18.0, 20.0, 20.0, 20.0, 135.0]
    head = [w[k] for k in ("day", "share", "covered", "not_visited", "no_data", "events", "link")]
    _header(pdf, widths, head, 7.0)
    shares = dict(report.days)
    rows: list[list[str]] = []
    run: list[tuple[date, Share, str]] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0][0], run[-1][0]
        short = formats.date_short(first, fl), formats.date_short(last, fl)
        label = short[0] if first == last else w["range"].format(first=short[0], last=short[1])
        total = sum(s.no_data for _, s, _ in run)
        rows.append([label, "–", "0", "0", str(total), "0", run[-1][2]])
        run.clear()

    for link in report.chain.links:
        s = shares.get(link.day)
        if s is not None and s.checkpoint_days > 0 and s.no_data == s.checkpoint_days and link.events == 0:
            run.append((link.day, s, link.link))
            continue
        flush()
        rows.append(
            [
                formats.date_short(link.day, fl),
                formats.percent(s.share if s else None, fl),
                str(s.covered) if s else "",
                str(s.not_visited) if s else "",
                str(s.no_data) if s else "",
                formats.number(link.events, fl),
                link.link,
            ]
        )
    flush()
    for cells in rows:
        if pdf.will_page_break(5.0):
            pdf.add_page()
            _header(pdf, widths, head, 7.0)
        pdf.set_font("sans", size=7.5)
        for i, (width, text) in enumerate(zip(widths, cells, strict=True)):
            if i == len(widths) - 1:
                pdf.set_font("sans", size=6.6)
            pdf.cell(width, 5.0, text, border=1, align="L" if i in (0, len(widths) - 1) else "R")
        pdf.ln(5.0)

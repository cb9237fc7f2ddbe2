"""PDF rendering of an audit report (fpdf2, DejaVu fonts embedded for French text).

The fonts come from Debian's ``fonts-dejavu-core`` (/usr/share/fonts/truetype/dejavu/); another
directory can be given with ``RONDE_FONT_DIR``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

from ronde.audit.labels import TEXT, Lang, day_text, kind_label, number, percent, service_hours
from ronde.audit.report import AuditReport

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")
_FONTS = {"sans": "DejaVuSans.ttf", "sans-bold": "DejaVuSans-Bold.ttf"}


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
        self.cell(0, 5, f"{self.footer_text} – {self.page_no()}/{{nb}}", align="C")


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
    pdf.add_page()
    _cover(pdf, report, lang)
    _checkpoint_table(pdf, report, lang)
    _gap_list(pdf, report, lang)
    _day_table(pdf, report, lang)
    return bytes(pdf.output())


def _kv(pdf: FPDF, key: str, value: str, mono: bool = False) -> None:
    pdf.set_font("sans", style="B", size=9)
    pdf.cell(92, 5.5, key)
    pdf.set_font("sans", size=8 if mono else 9)
    pdf.cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")


def _cover(pdf: FPDF, report: AuditReport, lang: Lang) -> None:
    t = TEXT[lang]
    cal = report.calendar
    pdf.set_font("sans", style="B", size=14)
    pdf.multi_cell(0, 7, t["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("sans", size=10)
    pdf.cell(0, 6, t["subtitle"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _kv(pdf, t["landlord"], f"{report.landlord_name} ({report.landlord})")
    _kv(pdf, t["period"], f"{day_text(report.first, lang)} {t['period_to']} {day_text(report.last, lang)}")
    _kv(
        pdf,
        t["service_hours"],
        service_hours(cal.days, cal.start.strftime("%H:%M"), cal.end.strftime("%H:%M"), cal.timezone, lang),
    )
    _kv(pdf, t["revision"], report.revision)
    _kv(pdf, t["report_id"], report.report_id, mono=True)
    _kv(pdf, t["issued_at"], report.issued_at.isoformat(timespec="seconds"))
    _kv(pdf, t["chain_anchor"], report.chain.anchor, mono=True)
    _kv(pdf, t["chain_final"], report.chain.final, mono=True)
    pdf.ln(2)
    pdf.set_font("sans", style="B", size=11)
    pdf.cell(0, 7, t["summary"], new_x="LMARGIN", new_y="NEXT")
    p = report.period
    _kv(pdf, t["share_covered"], percent(p.share, lang))
    _kv(pdf, t["share_sensed"], percent(p.share_sensed, lang))
    _kv(
        pdf,
        t["checkpoint_days"],
        f"{p.checkpoint_days} : {p.covered} {t['covered']}, {p.not_visited} {t['not_visited']}, "
        f"{p.no_data} {t['no_data']}"
        if lang is Lang.FR
        else f"{p.checkpoint_days}: {p.covered} {t['covered']}, {p.not_visited} {t['not_visited']}, "
        f"{p.no_data} {t['no_data']}",
    )
    pdf.ln(1)
    pdf.set_font("sans", size=8)
    for key in ("legend_nodata", "privacy", "verify_hint"):
        pdf.multi_cell(0, 4.2, t[key], new_x="LMARGIN", new_y="NEXT")


def _row(pdf: FPDF, widths: list[float], cells: list[str], aligns: str, height: float = 5.0) -> None:
    pdf.set_font("sans", size=7.5)
    for w, cell, align in zip(widths, cells, aligns, strict=True):
        text = cell
        while text and pdf.get_string_width(text) > w - 1.5:
            text = text[:-2] + "…"
        pdf.cell(w, height, text, border=1, align="L" if align == "L" else "R")
    pdf.ln(height)


def _header(pdf: FPDF, widths: list[float], labels: list[str], height: float = 10.0) -> None:
    """A header row whose labels wrap inside their cells (grey, bold)."""
    if pdf.will_page_break(height + 5):
        pdf.add_page()
    pdf.set_font("sans", style="B", size=6.5)
    pdf.set_fill_color(230, 230, 230)
    x0, y = pdf.get_x(), pdf.get_y()
    x = x0
    for w, label in zip(widths, labels, strict=True):
        pdf.rect(x, y, w, height, style="DF")
        pdf.set_xy(x, y + 0.6)
        pdf.multi_cell(w, 2.9, label, align="C", new_x="RIGHT", new_y="TOP")
        x += w
    pdf.set_xy(x0, y + height)


def _checkpoint_table(pdf: FPDF, report: AuditReport, lang: Lang) -> None:
    t = TEXT[lang]
    pdf.add_page()
    pdf.set_font("sans", style="B", size=11)
    pdf.cell(0, 7, t["per_checkpoint"], new_x="LMARGIN", new_y="NEXT")
    widths = [60.0, 53.0, *([16.4] * 10)]
    head = [
        t["checkpoint"],
        t["kind"],
        t["passes"],
        t["service_days"],
        t["covered_days"],
        t["not_visited_days"],
        t["no_data_days"],
        t["presence_h"],
        t["worst_idle_h"],
        t["gap_cv"],
        t["signed_short"],
        t["eid_short"],
    ]
    _header(pdf, widths, head, 12.0)
    for c in report.checkpoints:
        if pdf.will_page_break(5.0):
            pdf.add_page()
            _header(pdf, widths, head, 12.0)
        _row(
            pdf,
            widths,
            [
                c.name,
                kind_label(c.kind, lang),
                str(c.passes),
                str(c.service_days),
                str(c.covered_days),
                str(c.not_visited_days),
                str(c.no_data_days),
                number(c.presence_s / 3600, lang, 1),
                number(c.worst_idle_s / 3600, lang, 1),
                number(c.gap_cv, lang, 2),
                f"{c.signed}/{c.signed + c.unsigned}",
                f"{c.eid_resolved}/{c.eid_resolved + c.static}",
            ],
            "LLRRRRRRRRRR",
        )


def _gap_list(pdf: FPDF, report: AuditReport, lang: Lang) -> None:
    """Dates not visited / without data, for the checkpoints that have any."""
    t = TEXT[lang]
    rows = [c for c in report.checkpoints if c.days_not_visited or c.days_no_data]
    if not rows:
        return
    pdf.ln(4)
    if pdf.will_page_break(20):
        pdf.add_page()
    pdf.set_font("sans", style="B", size=11)
    pdf.cell(0, 7, f"{t['days_not_visited']} · {t['days_no_data']}", new_x="LMARGIN", new_y="NEXT")
    short = "%d/%m" if lang is Lang.FR else "%m-%d"
    for c in rows:
        pdf.set_font("sans", style="B", size=7.5)
        pdf.multi_cell(0, 4.2, c.name, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("sans", size=7.5)
        for key, days in (("not_visited", c.days_not_visited), ("no_data", c.days_no_data)):
            if days:
                text = f"    {t[key]} : " if lang is Lang.FR else f"    {t[key]}: "
                pdf.multi_cell(0, 4.0, text + ", ".join(d.strftime(short) for d in days), new_x="LMARGIN", new_y="NEXT")


def _day_table(pdf: FPDF, report: AuditReport, lang: Lang) -> None:
    t = TEXT[lang]
    pdf.add_page()
    pdf.set_font("sans", style="B", size=11)
    pdf.cell(0, 7, t["per_day"], new_x="LMARGIN", new_y="NEXT")
    widths = [24.0, 20.0, 18.0, 20.0, 20.0, 18.0]
    head = [t["day"], t["share"], t["covered"], t["not_visited"], t["no_data"], t["events"], t["link"]]
    _header(pdf, [*widths, 157.0], head, 7.0)
    shares = dict(report.days)
    for link in report.chain.links:
        s = shares.get(link.day)
        if pdf.will_page_break(5.0):
            pdf.add_page()
            _header(pdf, [*widths, 157.0], head, 7.0)
        pdf.set_font("sans", size=7.5)
        for w, text in zip(
            widths,
            [
                day_text(link.day, lang),
                percent(s.share if s else None, lang),
                str(s.covered) if s else "",
                str(s.not_visited) if s else "",
                str(s.no_data) if s else "",
                str(link.events),
            ],
            strict=True,
        ):
            pdf.cell(w, 5.0, text, border=1, align="R")
        pdf.set_font("sans", size=6.8)
        pdf.cell(157.0, 5.0, link.link, border=1)
        pdf.ln(5.0)

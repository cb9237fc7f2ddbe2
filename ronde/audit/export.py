"""Report files: CSV (signed manifest embedded in its ``#`` header) or PDF with a signed JSON sidecar.

The CSV is self-sufficient: ``ronde audit verify`` reads its ``# manifest:`` line, checks the
signature, then parses the CSV's own tables back into figures and compares them with the signed
ones, so a number edited in the document is named. A PDF is not parsed: its SHA-256 is in the
signed sidecar ``<report>.manifest.json``, which also carries the figures it shows.

Every row goes through one writer (``ronde.protocol.csv_cells``) that neutralises cells a
spreadsheet would run as formulas (names starting with ``=``, ``+``, ``-``, ``@``, tab, CR); the
header lines are single cells starting with ``#`` (quoted when they hold the delimiter), so no
name in them can start a cell of its own either.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ronde.audit.labels import TEXT, Lang, day_text, kind_label, number, percent, service_hours
from ronde.audit.manifest import (
    BILAN_FORMAT,
    MANIFEST_VERSION,
    Manifest,
    figure_differences,
    parse_manifest,
    signed_manifest,
    wait_minutes,
)
from ronde.audit.pdf_words import WORDS as PDF_WORDS
from ronde.audit.report import AuditReport, ReportError
from ronde.protocol import formats
from ronde.protocol.csv_cells import restore_cell, safe_writer
from ronde.protocol.estate import KIND_LABELS_EN, KIND_LABELS_FR

MANIFEST_PREFIX = "# manifest: "
SIDECAR_SUFFIX = ".manifest.json"


class ReportFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"


def _delimiter(lang: Lang) -> str:
    return ";" if lang is Lang.FR else ","


def _json_line(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _issued(report: AuditReport, lang: Lang) -> str:
    """The issue time as the PDF says it, local to the service calendar (the exact UTC instant is the
    manifest's ``issued_at``): a header line is read by a person, not parsed back."""
    local = report.issued_at.astimezone(report.calendar.tz)
    fl: formats.Lang = "fr" if lang is Lang.FR else "en"
    return PDF_WORDS[lang]["issued_at_text"].format(
        day=formats.date_long(local.date(), fl), time=formats.time_hm(local, fl)
    )


def _header_lines(report: AuditReport, lang: Lang, manifest: dict[str, Any]) -> list[str]:
    t = TEXT[lang]
    cal = report.calendar
    return [
        f"# {t['title']}",
        f"# {t['landlord']}: {report.landlord_name} ({report.landlord})",
        f"# {t['period']}: {day_text(report.first, lang)} {t['period_to']} {day_text(report.last, lang)}",
        f"# {t['service_hours']}: "
        + service_hours(cal.days, cal.start.strftime("%H:%M"), cal.end.strftime("%H:%M"), cal.timezone, lang),
        f"# {t['revision']}: {report.revision}",
        f"# {t['report_id']}: {report.report_id}",
        f"# {t['issued_at']}: {_issued(report, lang)}",
        f"# {t['chain_anchor']}: {report.chain.anchor}",
        f"# {t['chain_final']}: {report.chain.final}",
        f"# {t['key_fingerprint']}: {manifest['signature']['key_fingerprint']}",
        f"# {t['wait_note']}",
        f"# {t['privacy']}",
        f"# {t['verify_hint']}",
        MANIFEST_PREFIX + _json_line(manifest),
    ]


def _checkpoint_head(lang: Lang) -> list[str]:
    t = TEXT[lang]
    return [
        t["checkpoint_id"],
        t["checkpoint"],
        t["kind"],
        t["building"],
        t["estate"],
        t["expected"],
        t["service_days"],
        t["passes"],
        t["covered_days"],
        t["not_visited_days"],
        t["no_data_days"],
        t["presence_h"],
        t["avg_idle_h"],
        t["longest_wait_min"],
        t["gap_cv"],
        t["signed"],
        t["unsigned"],
        t["eid"],
        t["static"],
        t["days_not_visited"],
        t["days_no_data"],
    ]


def render_csv(report: AuditReport, lang: Lang, key: Ed25519PrivateKey) -> str:
    """Header lines (with the signed manifest), one row per checkpoint, a blank line, one row per
    day of the chain, a blank line, the period summary."""
    t = TEXT[lang]
    manifest = signed_manifest(report, key, document="csv", lang=lang.value)
    out = io.StringIO()
    w = safe_writer(out, delimiter=_delimiter(lang), lineterminator="\n")
    for line in _header_lines(report, lang, manifest):
        w.writerow([line])
    w.writerow(_checkpoint_head(lang))
    for c in report.checkpoints:
        w.writerow(
            [
                c.checkpoint_id,
                c.name,
                kind_label(c.kind, lang),
                c.building or "",
                c.estate,
                c.expected_per_day,
                c.service_days,
                c.passes,
                c.covered_days,
                c.not_visited_days,
                c.no_data_days,
                number(c.presence_s / 3600, lang, 2),
                number(c.average_idle_s / 3600, lang, 2),
                wait_minutes(c.longest_wait_s),
                number(c.gap_cv, lang, 2),
                c.signed,
                c.unsigned,
                c.eid_resolved,
                c.static,
                " ".join(d.isoformat() for d in c.days_not_visited),
                " ".join(d.isoformat() for d in c.days_no_data),
            ]
        )
    w.writerow([])
    w.writerow(
        [
            t["day"],
            t["share"],
            *(t[k].capitalize() for k in ("covered", "not_visited", "no_data")),
            t["events"],
            t["link"],
        ]
    )
    shares = dict(report.days)
    for link in report.chain.links:
        s = shares.get(link.day)
        w.writerow(
            [
                link.day.isoformat(),
                percent(s.share if s else None, lang),
                s.covered if s else "",
                s.not_visited if s else "",
                s.no_data if s else "",
                link.events,
                link.link,
            ]
        )
    w.writerow([])
    p = report.period
    w.writerow(
        [
            t["summary"],
            t["share_covered"],
            t["share_sensed"],
            t["checkpoint_days"],
            *(t[k].capitalize() for k in ("covered", "not_visited", "no_data")),
        ]
    )
    w.writerow(
        [
            t["period"],
            percent(p.share, lang),
            percent(p.share_sensed, lang),
            p.checkpoint_days,
            p.covered,
            p.not_visited,
            p.no_data,
        ]
    )
    return out.getvalue()


def write_report(report: AuditReport, path: str | Path, fmt: ReportFormat, lang: Lang, key: Ed25519PrivateKey) -> Path:
    """Write the report and its signed sidecar; returns the sidecar's path."""
    target = Path(path)
    if fmt is ReportFormat.CSV:
        data = render_csv(report, lang, key).encode("utf-8")
        manifest = signed_manifest(report, key, document="csv", lang=lang.value)
    else:
        from ronde.audit.pdf import render_pdf

        data = render_pdf(report, lang)
        manifest = signed_manifest(
            report, key, document="pdf", lang=lang.value, file_sha256=hashlib.sha256(data).hexdigest()
        )
    target.write_bytes(data)
    sidecar = target.with_name(target.name + SIDECAR_SUFFIX)
    sidecar.write_text(sidecar_text(manifest, target.name), encoding="utf-8")
    return sidecar


def sidecar_text(manifest: dict[str, Any], file_name: str) -> str:
    """The sidecar JSON: the signed manifest plus the report's file name (not signed: a landlord
    may rename the file)."""
    return json.dumps({**manifest, "file": file_name}, indent=2, ensure_ascii=False) + "\n"


# ---- reading a document back -------------------------------------------------------------------


def read_report(path: str | Path) -> tuple[Manifest, tuple[str, ...]]:
    """The manifest of a report, and what is wrong with the document itself.

    ``path`` is a CSV (its embedded manifest; its tables are parsed and compared with the signed
    figures), a PDF with its sidecar (its SHA-256 must be the signed one), or a manifest JSON (the
    document named by its ``file`` member is checked when it lies beside it). Raises ReportError
    when nothing readable is found.
    """
    p = Path(path)
    raw = _read(p)
    bilan = _bilan_sidecar(p)
    if bilan is not None:  # a bilan's CSV or JSON: its manifest lies beside it, like a PDF's
        manifest = parse_manifest(bilan)
        return manifest, _document_problems(manifest, p, raw)
    if raw.lstrip().startswith(b"{"):
        manifest = parse_manifest(_json(raw, p))
        if manifest.file is not None and Path(manifest.file).name == manifest.file:
            doc = p.with_name(manifest.file)
            if doc.is_file():
                return manifest, _document_problems(manifest, doc, _read(doc))
        return manifest, (f"document not checked: {p.name} is a manifest alone (give the report file)",)
    if raw.startswith(b"%PDF"):
        sidecar = p.with_name(p.name + SIDECAR_SUFFIX)
        if not sidecar.exists():
            raise ReportError(f"{p}: a PDF is verified with its manifest: {sidecar.name} not found beside it")
        manifest = parse_manifest(_json(_read(sidecar), sidecar))
        return manifest, _document_problems(manifest, p, raw)
    text = _text(raw, p)
    embedded = _embedded_manifest(text, p)
    manifest = parse_manifest(embedded)
    return manifest, _document_problems(manifest, p, raw)


def _bilan_sidecar(p: Path) -> dict[str, Any] | None:
    """The manifest beside ``p`` when it is a bilan's (a report's CSV carries its own inside)."""
    sidecar = p.with_name(p.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return None
    data = _json(_read(sidecar), sidecar)
    return data if isinstance(data, dict) and data.get("format") == BILAN_FORMAT else None


def read_manifest(path: str | Path) -> tuple[Manifest, tuple[str, ...]]:
    """Former name of :func:`read_report`."""
    return read_report(path)


def _document_problems(m: Manifest, p: Path, raw: bytes) -> tuple[str, ...]:  # noqa: PLR0911 - one early verdict per kind of mismatch
    if m.kind == BILAN_FORMAT:  # every bilan file is bound by its SHA-256, whatever its format
        if m.file_sha256 is None:
            return (f"the bilan manifest for {p.name} holds no file digest",)
        if hashlib.sha256(raw).hexdigest() != m.file_sha256:
            return (f"{p.name} is not the file the manifest was signed for (SHA-256 differs)",)
        return ()
    if raw.startswith(b"%PDF"):
        if m.document != "pdf" or m.file_sha256 is None:
            return (f"{p.name} is a PDF but the manifest was issued with a {m.document} document",)
        if hashlib.sha256(raw).hexdigest() != m.file_sha256:
            return (f"{p.name} is not the file the manifest was signed for (SHA-256 differs)",)
        return ()
    if m.document != "csv":
        return (f"{p.name} is not the {m.document} document the manifest was issued with",)
    text = _text(raw, p)
    try:
        embedded = _embedded_manifest(text, p)
    except ReportError as exc:
        return (str(exc),)
    if {k: v for k, v in embedded.items() if k != "file"} != {k: v for k, v in m.data.items() if k != "file"}:
        return (f"{p.name} embeds another manifest than the one given",)
    try:
        found = parse_csv_figures(text, Lang(m.lang), m.version)
    except ReportError as exc:
        return (f"{p.name}: {exc}",)
    return tuple(f"{p.name}: {d}" for d in figure_differences(m.figures, found))


def _read(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except OSError as exc:
        raise ReportError(f"{p}: cannot read: {exc.strerror}") from None


def _text(raw: bytes, p: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ReportError(f"{p}: not UTF-8 text, not a PDF: not a Ronde report") from None


def _rows(text: str, lang: Lang) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(lang)))


def _embedded_manifest(text: str, p: Path) -> dict[str, Any]:
    for lang in (Lang.FR, Lang.EN):
        for row in _rows(text, lang):
            if len(row) != 1 or not row[0].startswith("#"):
                break
            if row[0].startswith(MANIFEST_PREFIX):
                data = _json(row[0][len(MANIFEST_PREFIX) :].encode(), p)
                if isinstance(data, dict):
                    return data
    raise ReportError(f"{p}: no manifest found (expected a '# manifest:' line, or a PDF with its sidecar)")


def _json(raw: bytes, source: Path) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{source}: not valid JSON: {exc}") from None


# ---- the CSV's tables back into figures --------------------------------------------------------


def _decimal(text: str) -> str | None:
    """'0,50' or '0.50' → '0.50'; '' → None."""
    text = text.strip()
    return text.replace(",", ".") if text else None


def _percent(text: str) -> str | None:
    text = text.strip().removesuffix("%").strip()
    return None if text in ("", "–") else text.replace(",", ".")


def _int(text: str) -> int | str | None:
    """A count as shown; kept as text when it is not one, so the difference is reported."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _dates(text: str) -> list[str]:
    return text.split()


def parse_csv_figures(text: str, lang: Lang, version: int = MANIFEST_VERSION) -> dict[str, Any]:
    """Parse a report CSV back into the figures :func:`ronde.audit.manifest.report_figures` gives
    (neutralised cells restored, decimal commas read, kind labels back to codes), as the manifest
    ``version`` it was issued with names them. Raises ReportError when the layout is not a report's."""
    t = TEXT[lang]
    rows = _rows(text, lang)
    header: dict[str, str] = {}
    i = 0
    while i < len(rows) and len(rows[i]) == 1 and rows[i][0].startswith("#"):
        header_line = rows[i][0]
        for key in ("landlord", "period", "revision", "report_id", "chain_anchor", "chain_final"):
            prefix = f"# {t[key]}: "
            if header_line.startswith(prefix) and key not in header:
                header[key] = header_line[len(prefix) :]
        i += 1
    sections: list[list[list[str]]] = [[]]
    for row in rows[i:]:
        if not row:
            sections.append([])
        else:
            sections[-1].append([restore_cell(x) for x in row])
    if len(sections) != 3 or not sections[0] or not sections[1] or len(sections[2]) != 2:  # noqa: PLR2004 - a report has three tables; the summary a header and one row
        raise ReportError("the document's tables are not a report's (checkpoints, days, summary)")
    return {
        "header": _header_figures(header, lang),
        "checkpoints": [_checkpoint_figures(r, lang, version) for r in sections[0][1:]],
        "days": [_day_figures(r) for r in sections[1][1:]],
        "period": _period_figures(sections[2][1]),
    }


def _header_figures(header: dict[str, str], lang: Lang) -> dict[str, Any]:
    t = TEXT[lang]
    out: dict[str, Any] = {
        "registry_revision": header.get("revision"),
        "report_id": header.get("report_id"),
        "chain_anchor": header.get("chain_anchor"),
        "chain_final": header.get("chain_final"),
    }
    name, _, rest = header.get("landlord", "").rpartition(" (")
    out["landlord_name"] = name if rest.endswith(")") else header.get("landlord")
    out["landlord"] = rest[:-1] if rest.endswith(")") else None
    first, sep, last = header.get("period", "").partition(f" {t['period_to']} ")
    out["first"] = _day(first, lang) if sep else None
    out["last"] = _day(last, lang) if sep else None
    return out


def _day(text: str, lang: Lang) -> str:
    """A day as the header shows it (dd/mm/yyyy in French, ISO in English) → ISO; else as is."""
    s = text.strip()
    try:
        parsed = datetime.strptime(s, "%d/%m/%Y").date() if lang is Lang.FR else date.fromisoformat(s)
    except ValueError:
        return s
    return parsed.isoformat()


_KIND_CODES: dict[Lang, dict[str, str]] = {
    Lang.FR: {label: kind.value for kind, label in KIND_LABELS_FR.items()},
    Lang.EN: {label: kind.value for kind, label in KIND_LABELS_EN.items()},
}


def _cell(row: list[str], i: int) -> str:
    return row[i] if i < len(row) else ""


def _checkpoint_figures(row: list[str], lang: Lang, version: int) -> dict[str, Any]:
    c = [_cell(row, i) for i in range(max(21, len(row)))]
    return {
        "id": c[0],
        "name": c[1],
        "kind": _KIND_CODES[lang].get(c[2], c[2]),
        "building": c[3] or None,
        "estate": c[4],
        "expected_per_day": _int(c[5]),
        "service_days": _int(c[6]),
        "passes": _int(c[7]),
        "covered_days": _int(c[8]),
        "not_visited_days": _int(c[9]),
        "no_data_days": _int(c[10]),
        "presence_h": _decimal(c[11]),
        "average_idle_h": _decimal(c[12]),
        # version 2's column 13: the cross-day worst idleness in hours; since version 3 the longest wait
        **({"worst_idle_h": _decimal(c[13])} if version == 2 else {"longest_wait_min": _int(c[13])}),  # noqa: PLR2004 - the manifest version before 3
        "gap_cv": _decimal(c[14]),
        "signed": _int(c[15]),
        "unsigned": _int(c[16]),
        "eid_resolved": _int(c[17]),
        "static": _int(c[18]),
        "days_not_visited": _dates(c[19]),
        "days_no_data": _dates(c[20]),
        **({"extra_cells": c[21:]} if len(c) > 21 else {}),  # noqa: PLR2004 - cells past the 21 read above
    }


def _day_figures(row: list[str]) -> dict[str, Any]:
    c = [_cell(row, i) for i in range(7)]
    return {
        "day": c[0],
        "share": _percent(c[1]),
        "covered": _int(c[2]),
        "not_visited": _int(c[3]),
        "no_data": _int(c[4]),
        "events": _int(c[5]),
        "link": c[6],
    }


def _period_figures(row: list[str]) -> dict[str, Any]:
    c = [_cell(row, i) for i in range(7)]
    return {
        "share": _percent(c[1]),
        "share_sensed": _percent(c[2]),
        "checkpoint_days": _int(c[3]),
        "covered": _int(c[4]),
        "not_visited": _int(c[5]),
        "no_data": _int(c[6]),
    }

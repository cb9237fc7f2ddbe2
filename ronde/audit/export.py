"""Report files: CSV (manifest embedded in ``#`` header lines) or PDF, each with a JSON sidecar.

The sidecar ``<report>.manifest.json`` holds the manifest plus the SHA-256 of the report file,
so ``ronde audit verify`` checks both that the file is the one issued and that the store still
holds the events it was computed from. A CSV is self-sufficient: its ``# manifest:`` line is
enough for ``verify``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from ronde.audit.labels import TEXT, Lang, day_text, kind_label, number, percent, service_hours
from ronde.audit.report import AuditReport, Manifest, ReportError, manifest_of, parse_manifest

MANIFEST_PREFIX = "# manifest: "
SIDECAR_SUFFIX = ".manifest.json"


class ReportFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"


def _header_lines(report: AuditReport, lang: Lang) -> list[str]:
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
        f"# {t['issued_at']}: {report.issued_at.isoformat()}",
        f"# {t['chain_anchor']}: {report.chain.anchor}",
        f"# {t['chain_final']}: {report.chain.final}",
        f"# {t['privacy']}",
        f"# {t['verify_hint']}",
        MANIFEST_PREFIX + json.dumps(manifest_of(report), separators=(",", ":"), ensure_ascii=False),
    ]


def render_csv(report: AuditReport, lang: Lang = Lang.FR) -> str:
    """Header lines, one row per checkpoint, a blank line, one row per service day."""
    t = TEXT[lang]
    out = io.StringIO()
    for line in _header_lines(report, lang):
        out.write(line + "\n")
    delimiter = ";" if lang is Lang.FR else ","
    w = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    w.writerow([
        t["checkpoint_id"], t["checkpoint"], t["kind"], t["building"], t["estate"], t["expected"],
        t["service_days"], t["passes"], t["covered_days"], t["not_visited_days"], t["no_data_days"],
        t["presence_h"], t["avg_idle_h"], t["worst_idle_h"], t["gap_cv"], t["signed"], t["unsigned"],
        t["eid"], t["static"], t["days_not_visited"], t["days_no_data"],
    ])
    for c in report.checkpoints:
        w.writerow([
            c.checkpoint_id, c.name, kind_label(c.kind, lang), c.building or "", c.estate, c.expected_per_day,
            c.service_days, c.passes, c.covered_days, c.not_visited_days, c.no_data_days,
            number(c.presence_s / 3600, lang, 2), number(c.average_idle_s / 3600, lang, 2),
            number(c.worst_idle_s / 3600, lang, 2), number(c.gap_cv, lang, 2), c.signed, c.unsigned,
            c.eid_resolved, c.static,
            " ".join(d.isoformat() for d in c.days_not_visited), " ".join(d.isoformat() for d in c.days_no_data),
        ])
    out.write("\n")
    w.writerow([t["day"], t["share"], t["covered"], t["not_visited"], t["no_data"], t["events"], t["link"]])
    shares = dict(report.days)
    for link in report.chain.links:
        s = shares.get(link.day)
        w.writerow([
            link.day.isoformat(), percent(s.share if s else None, lang), s.covered if s else "",
            s.not_visited if s else "", s.no_data if s else "", link.events, link.link,
        ])
    return out.getvalue()


def write_report(report: AuditReport, path: str | Path, fmt: ReportFormat, lang: Lang = Lang.FR) -> Path:
    """Write the report and its sidecar; returns the sidecar's path."""
    target = Path(path)
    if fmt is ReportFormat.CSV:
        data = render_csv(report, lang).encode("utf-8")
    else:
        from ronde.audit.pdf import render_pdf

        data = render_pdf(report, lang)
    target.write_bytes(data)
    sidecar = target.with_name(target.name + SIDECAR_SUFFIX)
    manifest: dict[str, Any] = manifest_of(report)
    manifest["file"] = target.name
    manifest["file_sha256"] = hashlib.sha256(data).hexdigest()
    sidecar.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return sidecar


def read_manifest(path: str | Path) -> tuple[Manifest, str | None]:
    """The manifest of a report (a CSV, a PDF with its sidecar, or a sidecar/manifest JSON), and a
    problem with the report file itself (its digest differs from the sidecar's), if any."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ReportError(f"{p}: cannot read: {exc.strerror}") from None
    sidecar = p.with_name(p.name + SIDECAR_SUFFIX)
    if raw.lstrip().startswith(b"{"):
        return parse_manifest(_json(raw, p)), None
    if sidecar.exists():
        manifest = parse_manifest(_json(sidecar.read_bytes(), sidecar))
        problem = None
        if manifest.file_sha256 is not None and hashlib.sha256(raw).hexdigest() != manifest.file_sha256:
            problem = f"{p.name} is not the file issued with {sidecar.name} (SHA-256 differs)"
        return manifest, problem
    if raw.startswith(b"#"):
        for line in raw.decode("utf-8", errors="replace").splitlines():
            if line.startswith(MANIFEST_PREFIX):
                return parse_manifest(_json(line[len(MANIFEST_PREFIX):].encode(), p)), None
            if not line.startswith("#"):
                break
    raise ReportError(f"{p}: no manifest found (expected a '# manifest:' line or {sidecar.name})")


def _json(raw: bytes, source: Path) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{source}: not valid JSON: {exc}") from None

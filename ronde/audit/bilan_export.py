"""The bilan's files: PDF, CSV and JSON, each with its signed manifest ``<file>.manifest.json`` beside it.

Why one manifest per file, each binding the file's SHA-256: a landlord forwards one of them (the PDF to its
director, the CSV to its analyst) and each must verify alone. The manifest is the audit report's (same
chain, same calendar, same completeness rules, ``ronde audit verify``), of format ``ronde-bilan``, whose
figures also hold the bilan's own (``figures.bilan``): a changed file fails on its digest, a changed
manifest on its signature.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ronde.audit.bilan import Bilan, bilan_figures
from ronde.audit.bilan_labels import BILAN_TEXT, month_text, word
from ronde.audit.export import SIDECAR_SUFFIX, sidecar_text
from ronde.audit.keys import sign_manifest
from ronde.audit.labels import TEXT, Lang, number, percent
from ronde.audit.manifest import BILAN_FORMAT, figures_digest, manifest_of, report_figures
from ronde.protocol.csv_cells import safe_writer

BILAN_DOCUMENTS = ("pdf", "csv", "json")


def bilan_manifest(
    bilan: Bilan, key: Ed25519PrivateKey, *, document: str, lang: Lang, file_sha256: str
) -> dict[str, Any]:
    """The signed manifest of one bilan file."""
    data = manifest_of(bilan.report, document=document, lang=lang.value)
    figures = {**data["figures"], "bilan": bilan_figures(bilan)}
    data.update(format=BILAN_FORMAT, figures=figures, figures_sha256=figures_digest(figures), file_sha256=file_sha256)
    return sign_manifest(data, key)


def render_bilan_json(bilan: Bilan, lang: Lang) -> bytes:
    """The figures a program reads: the presence report's and the bilan's, language-neutral."""
    doc = {
        "format": "ronde-bilan-figures",
        "version": 1,
        "lang": lang.value,
        "landlord": bilan.landlord,
        "landlord_name": bilan.landlord_name,
        "month": bilan.month.isoformat()[:7],
        "issued_at": bilan.issued_at.isoformat(),
        "presence": report_figures(bilan.report),
        "bilan": bilan_figures(bilan),
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render_bilan_csv(bilan: Bilan, lang: Lang) -> bytes:
    """One table per section, separated by a blank line, each preceded by its title row."""
    t, a = BILAN_TEXT[lang], TEXT[lang]
    out = io.StringIO()
    w = safe_writer(out, delimiter=";" if lang is Lang.FR else ",", lineterminator="\n")
    w.writerow([f"# {t['title']}"])
    w.writerow([f"# {t['landlord']}: {bilan.landlord_name} ({bilan.landlord})"])
    w.writerow([f"# {month_text(bilan.month, lang)}"])
    w.writerow([f"# {t['bilan_id']}: {bilan.bilan_id}"])
    w.writerow([f"# {t['privacy']}"])
    w.writerow([])
    w.writerow([t["places"]])
    w.writerow(
        [
            a["estate"],
            a["building"],
            t["checkpoints"],
            t["passes"],
            t["presence_h"],
            t["share"],
            t["no_data"],
            t["sollicitations"],
            t["technical"],
            t["requests"],
        ]
    )
    for p in bilan.places:
        w.writerow(
            [
                p.estate_name,
                p.building_name or "",
                p.checkpoints,
                p.passes,
                number(p.presence_s / 3600, lang, 2),
                percent(p.share.share, lang),
                p.share.no_data,
                p.sollicitations,
                p.technical,
                p.requests,
            ]
        )
    for title, group, counts in (
        (t["by_origin"], "origin", bilan.by_origin),
        (t["by_type"], "type", bilan.by_type),
        (t["by_response"], "response", bilan.by_response),
        (t["orientations"], None, bilan.orientations),
    ):
        w.writerow([])
        w.writerow([title])
        for k, n in counts:
            w.writerow([word(k, lang, group), n])
    w.writerow([])
    w.writerow([t["cover_technical"]])
    w.writerow(
        [
            t["category"],
            t["reports"],
            t["urgent"],
            t["acknowledged"],
            t["median_ack_h"],
            t["resolved"],
            t["median_resolution_h"],
        ]
    )
    for c in bilan.categories:
        w.writerow(
            [
                word(c.category, lang, "category"),
                c.reports,
                c.urgent,
                c.acknowledged,
                number(None if c.median_ack_s is None else c.median_ack_s / 3600, lang, 2),
                c.resolved,
                number(None if c.median_resolution_s is None else c.median_resolution_s / 3600, lang, 2),
            ]
        )
    r = bilan.requests
    w.writerow([])
    w.writerow([t["your_requests"]])
    w.writerow(
        [t["req_total"], t["req_assigned"], t["req_answered"], t["req_open"], t["req_assign_h"], t["req_answer_h"]]
    )
    w.writerow(
        [
            r.total,
            r.assigned,
            r.answered,
            r.still_open,
            number(None if r.median_assign_s is None else r.median_assign_s / 3600, lang, 2),
            number(None if r.median_answer_s is None else r.median_answer_s / 3600, lang, 2),
        ]
    )
    w.writerow([])
    w.writerow([t["evenings"]])
    w.writerow([t["evening"], a["share"], a["covered"], a["not_visited"], a["no_data"]])
    for day, s in bilan.report.days:
        w.writerow([day.isoformat(), percent(s.share, lang), s.covered, s.not_visited, s.no_data])
    return out.getvalue().encode("utf-8")


def bilan_base_name(bilan: Bilan, lang: Lang) -> str:
    suffix = "" if lang is Lang.FR else "-en"
    return f"bilan-{bilan.landlord}-{bilan.month.isoformat()[:7]}{suffix}"


def render_bilan_files(bilan: Bilan, lang: Lang, key: Ed25519PrivateKey) -> dict[str, bytes]:
    """File name → bytes: the PDF, CSV and JSON and the signed manifest of each (six files)."""
    from ronde.audit.bilan_pdf import render_bilan_pdf

    base = bilan_base_name(bilan, lang)
    docs = {
        "pdf": render_bilan_pdf(bilan, lang),
        "csv": render_bilan_csv(bilan, lang),
        "json": render_bilan_json(bilan, lang),
    }
    files: dict[str, bytes] = {}
    for fmt, data in docs.items():
        name = f"{base}.{fmt}"
        manifest = bilan_manifest(bilan, key, document=fmt, lang=lang, file_sha256=hashlib.sha256(data).hexdigest())
        files[name] = data
        files[name + SIDECAR_SUFFIX] = sidecar_text(manifest, name).encode("utf-8")
    return files


def write_bilan(bilan: Bilan, folder: str | Path, lang: Lang, key: Ed25519PrivateKey) -> list[Path]:
    """Write the six files into ``folder``; returns their paths, documents first."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for name, data in render_bilan_files(bilan, lang, key).items():
        p = target / name
        p.write_bytes(data)
        out.append(p)
    return sorted(out, key=lambda p: (p.name.endswith(SIDECAR_SUFFIX), p.name))

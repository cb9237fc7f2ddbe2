"""Landlord audit: the report of a landlord and a period, as JSON, CSV, PDF or PDF + manifest (zip),
and the public key every report is signed with.

Every read is logged (who, what, when) before the data leaves; the log itself is admin-only.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from ronde.api.deps import AdminScope, Ctx, Period, ScopeDep
from ronde.api.models import (
    ERROR_RESPONSES,
    AccessEntryOut,
    AuditDay,
    AuditKeyOut,
    AuditReportOut,
    CheckpointAuditOut,
)
from ronde.api.scope import Scope
from ronde.audit.export import SIDECAR_SUFFIX, render_csv, sidecar_text
from ronde.audit.keys import fingerprint, public_key_text
from ronde.audit.labels import Lang
from ronde.audit.manifest import signed_manifest
from ronde.audit.pdf import render_pdf
from ronde.audit.report import AuditReport, build_report

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)
LangQ = Annotated[Literal["fr", "en"], Query(description="language of the report")]


def _report(ctx: Ctx, scope: Scope, landlord_id: str, period: tuple[Any, Any], what: str) -> AuditReport:
    landlord = scope.landlord_of(landlord_id)
    report = build_report(
        ctx.store, ctx.registry.registry, ctx.calendar, landlord.id, period[0], period[1], now=ctx.now()
    )
    ctx.log_access(
        scope.principal,
        what,
        f"landlord={landlord.id} first={period[0]} last={period[1]} report={report.report_id} "
        f"chain={report.chain.final}",
    )
    return report


def _filename(report: AuditReport, ext: str) -> str:
    return f"ronde-audit-{report.landlord}-{report.first}-{report.last}.{ext}"


def _headers(ctx: Ctx, report: AuditReport, ext: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{_filename(report, ext)}"',
        "X-Ronde-Report-Id": report.report_id,
        "X-Ronde-Chain-Digest": report.chain.final,
        "X-Ronde-Key-Fingerprint": fingerprint(ctx.audit_key()),
    }


def report_out(report: AuditReport, manifest: dict[str, Any]) -> AuditReportOut:
    shares = dict(report.days)
    days: list[AuditDay] = []
    for link in report.chain.links:
        s = shares.get(link.day)
        days.append(
            AuditDay(
                service_day=link.day,
                events=link.events,
                link=link.link,
                checkpoints=s.checkpoint_days if s else None,
                covered=s.covered if s else None,
                not_visited=s.not_visited if s else None,
                no_data=s.no_data if s else None,
                covered_share=s.share if s else None,
            )
        )
    return AuditReportOut(
        report_id=report.report_id,
        issued_at=report.issued_at,
        landlord=report.landlord,
        landlord_name=report.landlord_name,
        first=report.first,
        last=report.last,
        registry_revision=report.revision,
        chain_anchor=report.chain.anchor,
        chain_digest=report.chain.final,
        covered_share=report.period.share,
        days=days,
        checkpoints=[
            CheckpointAuditOut(
                checkpoint_id=c.checkpoint_id,
                name=c.name,
                kind=c.kind,
                building=c.building,
                estate=c.estate,
                expected_per_day=c.expected_per_day,
                service_days=c.service_days,
                passes=c.passes,
                covered_days=c.covered_days,
                not_visited_days=c.not_visited_days,
                no_data_days=c.no_data_days,
                presence_s=c.presence_s,
                average_idle_s=c.average_idle_s,
                longest_wait_s=c.longest_wait_s,
                gap_cv=c.gap_cv,
                days_not_visited=list(c.days_not_visited),
                days_no_data=list(c.days_no_data),
                signed=c.signed,
                unsigned=c.unsigned,
                eid_resolved=c.eid_resolved,
                static=c.static,
            )
            for c in report.checkpoints
        ],
        manifest=manifest,
    )


@router.get("/landlords/{landlord_id}/report", summary="Audit report of a landlord for a period (JSON, logged)")
def audit_report(landlord_id: str, scope: ScopeDep, ctx: Ctx, period: Period) -> AuditReportOut:
    report = _report(ctx, scope, landlord_id, period, "audit.report.json")
    return report_out(report, signed_manifest(report, ctx.audit_key(), document="json"))


@router.get(
    "/landlords/{landlord_id}/report.csv",
    summary="Audit report as CSV, manifest in its '#' header (logged)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def audit_report_csv(landlord_id: str, scope: ScopeDep, ctx: Ctx, period: Period, lang: LangQ = "fr") -> Response:
    report = _report(ctx, scope, landlord_id, period, "audit.report.csv")
    return Response(
        render_csv(report, Lang(lang), ctx.audit_key()),
        media_type="text/csv; charset=utf-8",
        headers=_headers(ctx, report, "csv"),
    )


@router.get(
    "/landlords/{landlord_id}/report.pdf",
    summary="Audit report as PDF (chain digest printed and in headers; logged)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}},
)
def audit_report_pdf(landlord_id: str, scope: ScopeDep, ctx: Ctx, period: Period, lang: LangQ = "fr") -> Response:
    report = _report(ctx, scope, landlord_id, period, "audit.report.pdf")
    return Response(render_pdf(report, Lang(lang)), media_type="application/pdf", headers=_headers(ctx, report, "pdf"))


@router.get(
    "/landlords/{landlord_id}/report.zip",
    summary="PDF report with its manifest sidecar, ready for `ronde audit verify` (logged)",
    response_class=Response,
    responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}},
)
def audit_report_zip(landlord_id: str, scope: ScopeDep, ctx: Ctx, period: Period, lang: LangQ = "fr") -> Response:
    report = _report(ctx, scope, landlord_id, period, "audit.report.zip")
    pdf = render_pdf(report, Lang(lang))
    name = _filename(report, "pdf")
    manifest = signed_manifest(
        report, ctx.audit_key(), document="pdf", lang=lang, file_sha256=hashlib.sha256(pdf).hexdigest()
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, pdf)
        z.writestr(name + SIDECAR_SUFFIX, sidecar_text(manifest, name))
    return Response(buf.getvalue(), media_type="application/zip", headers=_headers(ctx, report, "zip"))


@router.get("/key", summary="The public key audit reports are signed with (give it to `ronde audit verify`)")
def audit_key(scope: ScopeDep, ctx: Ctx) -> AuditKeyOut:
    key = ctx.audit_key()
    return AuditKeyOut(public_key=public_key_text(key), fingerprint=fingerprint(key))


@router.get("/access-log", summary="Who read audit data, what and when (admin)")
def access_log(
    scope: AdminScope, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000
) -> list[AccessEntryOut]:
    entries = ctx.access_log.entries(limit=limit)
    ctx.log_access(scope.principal, "audit.access_log", f"limit={limit}")
    return [
        AccessEntryOut(
            at=e.at,
            who=e.who,
            role=e.role,
            landlord=e.landlord,
            what=e.what,
            target=e.target,
            status=e.status,
            denied=e.denied,
        )
        for e in entries
    ]

"""The manifest of a report: what ``ronde audit verify`` reads, signed with the server's audit key.

Why it binds more than the hash chain: the chain proves the *store* did not change, but a landlord
holds a *document*. The manifest therefore also binds the document's figures (every number and
name the report shows, per checkpoint, per day and for the period, as displayed), the landlord,
the period, the service calendar and issue time (so the set of service days the report must cover
can be recomputed), the registry's revision and content digest, the document's format and
language, and for a PDF the SHA-256 of the file. The Ed25519 signature covers all of it (RFC 8785
canonical JSON of every member but ``signature`` and ``file``): editing the document, the figures
or the chain, or dropping a day, needs the server's private key to go unnoticed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ronde.audit.chain import AuditChain, DayLink
from ronde.audit.keys import sign_manifest
from ronde.audit.report import AuditReport, ReportError, closed_days
from ronde.protocol.calendar import Calendars, ServiceCalendar
from ronde.protocol.chain import CHAIN_VERSION

MANIFEST_FORMAT = "ronde-audit-report"
BILAN_FORMAT = "ronde-bilan"  # a bilan mensuel: the month's report plus figures.bilan, one manifest per file
# version 3: a checkpoint's ``longest_wait_min`` (within evenings with data, whole minutes, as the PDF shows
# it) replaces version 2's ``worst_idle_h`` (cross-day, counting days without data); version 2 reports
# still verify, their CSV read back with the column they were issued with
MANIFEST_VERSION = 3
READ_VERSIONS = (2, 3)
DOCUMENT_FORMATS = ("csv", "pdf", "json")


# ---- the figures a report shows, language-neutral, as displayed --------------------------------


def hours_text(seconds: float) -> str:
    """Hours with two decimals, as the CSV shows them (decimal point)."""
    return f"{seconds / 3600:.2f}"


def wait_minutes(seconds: float) -> int:
    """A wait in whole minutes, as every document shows it (PDF, CSV, JSON)."""
    return round(seconds / 60)


def ratio_text(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def percent_text(share: float | None) -> str | None:
    """A share as the report shows it: percent with one decimal (decimal point), None for '–'."""
    return None if share is None else f"{100.0 * share:.1f}"


def report_figures(report: AuditReport) -> dict[str, Any]:
    """Every figure and name the report shows, in a language-neutral form: numbers rounded as
    displayed (strings for decimals, so no float formatting can differ), kinds as codes, dates
    ISO. A CSV parses back to exactly this; a PDF shows the same (rounded to fewer digits)."""
    shares = dict(report.days)
    days: list[dict[str, Any]] = []
    for link in report.chain.links:
        s = shares.get(link.day)
        days.append(
            {
                "day": link.day.isoformat(),
                "share": percent_text(s.share) if s else None,
                "covered": s.covered if s else None,
                "not_visited": s.not_visited if s else None,
                "no_data": s.no_data if s else None,
                "events": link.events,
                "link": link.link,
            }
        )
    p = report.period
    return {
        "header": {
            "landlord": report.landlord,
            "landlord_name": report.landlord_name,
            "first": report.first.isoformat(),
            "last": report.last.isoformat(),
            "registry_revision": report.revision,
            "report_id": report.report_id,
            "chain_anchor": report.chain.anchor,
            "chain_final": report.chain.final,
        },
        "checkpoints": [
            {
                "id": c.checkpoint_id,
                "name": c.name,
                "kind": c.kind,
                "building": c.building,
                "estate": c.estate,
                "expected_per_day": c.expected_per_day,
                "service_days": c.service_days,
                "passes": c.passes,
                "covered_days": c.covered_days,
                "not_visited_days": c.not_visited_days,
                "no_data_days": c.no_data_days,
                "presence_h": hours_text(c.presence_s),
                "average_idle_h": hours_text(c.average_idle_s),
                "longest_wait_min": wait_minutes(c.longest_wait_s),
                "gap_cv": ratio_text(c.gap_cv),
                "signed": c.signed,
                "unsigned": c.unsigned,
                "eid_resolved": c.eid_resolved,
                "static": c.static,
                "days_not_visited": [d.isoformat() for d in c.days_not_visited],
                "days_no_data": [d.isoformat() for d in c.days_no_data],
            }
            for c in report.checkpoints
        ],
        "days": days,
        "period": {
            "share": percent_text(p.share),
            "share_sensed": percent_text(p.share_sensed),
            "checkpoint_days": p.checkpoint_days,
            "covered": p.covered,
            "not_visited": p.not_visited,
            "no_data": p.no_data,
        },
    }


def figures_digest(figures: Mapping[str, Any]) -> str:
    return hashlib.sha256(bytes(rfc8785.dumps(dict(figures)))).hexdigest()


def figure_differences(signed: Mapping[str, Any], found: Mapping[str, Any], limit: int = 12) -> list[str]:
    """What the document shows that the signed figures do not, one line per difference."""
    out: list[str] = []

    def cmp(where: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                out.append(f"{where}{key}: {_show(b.get(key))} in the document, {_show(a.get(key))} signed")

    cmp("", _mapping(signed.get("header")), _mapping(found.get("header")))
    for section, key in (("checkpoint", "id"), ("day", "day")):
        plural = section + "s" if section == "checkpoint" else "days"
        a_rows = {str(r.get(key)): r for r in _rows(signed.get(plural))}
        b_rows = {str(r.get(key)): r for r in _rows(found.get(plural))}
        for rid in sorted(set(a_rows) | set(b_rows)):
            if rid not in b_rows:
                out.append(f"{section} {rid}: signed but missing from the document")
            elif rid not in a_rows:
                out.append(f"{section} {rid}: in the document but not signed")
            else:
                cmp(f"{section} {rid}: ", a_rows[rid], b_rows[rid])
        order_a = [str(r.get(key)) for r in _rows(signed.get(plural))]
        order_b = [str(r.get(key)) for r in _rows(found.get(plural))]
        if order_a != order_b and set(a_rows) == set(b_rows):
            out.append(f"{plural}: rows reordered")
    cmp("period ", _mapping(signed.get("period")), _mapping(found.get("period")))
    if len(out) > limit:
        out = [*out[:limit], f"… and {len(out) - limit} more differences"]
    return out


def _show(value: Any) -> str:
    return "(none)" if value is None else repr(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _rows(value: Any) -> list[Mapping[str, Any]]:
    return [x for x in value if isinstance(x, Mapping)] if isinstance(value, list) else []


# ---- writing -----------------------------------------------------------------------------------


def calendar_data(cal: ServiceCalendar) -> dict[str, Any]:
    """The calendar a report was computed with; ``estates`` (only when the landlord's estates do not share one
    calendar) holds each estate's own, the top level being the default."""
    data: dict[str, Any] = {
        "weekdays": sorted(cal.days),
        "start": cal.start.isoformat(),
        "end": cal.end.isoformat(),
        "timezone": cal.timezone,
        "closed": sorted(d.isoformat() for d in cal.closed),
    }
    if isinstance(cal, Calendars) and cal.estates:
        data["estates"] = {estate: calendar_data(own) for estate, own in cal.estates}
    return data


def _calendar_of(cal: Mapping[str, Any]) -> ServiceCalendar:
    calendar = ServiceCalendar(
        days=frozenset(int(d) for d in cal["weekdays"]),
        start=time.fromisoformat(str(cal["start"])),
        end=time.fromisoformat(str(cal["end"])),
        timezone=str(cal["timezone"]),
        closed=frozenset(date.fromisoformat(str(d)) for d in cal["closed"]),
    )
    calendar.tz  # noqa: B018 - an unknown time zone is a malformed manifest
    estates = cal.get("estates")
    if estates is None:
        return calendar
    if not isinstance(estates, Mapping):
        raise ReportError("malformed manifest: calendar.estates must be an object")
    return Calendars.of(calendar, {str(e): _calendar_of(own) for e, own in estates.items() if isinstance(own, Mapping)})


def manifest_of(report: AuditReport, *, document: str = "json", lang: str = "fr") -> dict[str, Any]:
    """The unsigned manifest of ``report`` as shipped with a ``document`` (csv, pdf, json)."""
    figures = report_figures(report)
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "report_id": report.report_id,
        "issued_at": report.issued_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "landlord": report.landlord,
        "landlord_name": report.landlord_name,
        "first": report.first.isoformat(),
        "last": report.last.isoformat(),
        "registry_revision": report.revision,
        "registry_digest": report.chain.registry_digest,
        "calendar": calendar_data(report.calendar),
        "document": {"format": document, "lang": lang},
        "figures": figures,
        "figures_sha256": figures_digest(figures),
        "chain": {
            "version": CHAIN_VERSION,
            "anchor": report.chain.anchor,
            "final": report.chain.final,
            "links": [
                {"day": x.day.isoformat(), "events": x.events, "day_digest": x.day_digest, "link": x.link}
                for x in report.chain.links
            ],
        },
    }


def signed_manifest(
    report: AuditReport,
    key: Ed25519PrivateKey,
    *,
    document: str = "json",
    lang: str = "fr",
    file_sha256: str | None = None,
) -> dict[str, Any]:
    """The manifest, with the PDF's digest when given, signed with the audit key."""
    data = manifest_of(report, document=document, lang=lang)
    if file_sha256 is not None:
        data["file_sha256"] = file_sha256
    return sign_manifest(data, key)


# ---- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Manifest:
    report_id: str
    issued_at: datetime
    landlord: str
    landlord_name: str
    first: date
    last: date
    revision: str
    registry_digest: str | None
    calendar: ServiceCalendar
    document: str  # csv | pdf | json: what the manifest was issued with
    lang: str
    figures: Mapping[str, Any]
    figures_sha256: str
    chain: AuditChain
    claimed_final: str  # chain.final as written (checked against the last link by verify)
    data: Mapping[str, Any]  # the manifest as read: what the signature covers
    file_sha256: str | None = None
    file: str | None = None
    kind: str = MANIFEST_FORMAT  # MANIFEST_FORMAT or BILAN_FORMAT
    version: int = MANIFEST_VERSION  # one of READ_VERSIONS: how the document's tables read back


def parse_manifest(data: Any) -> Manifest:
    """Validate a manifest read from JSON; raises ReportError naming what is wrong.

    Only the shape is checked here; whether its content is consistent (signature, figures, one
    link per service day, final digest) is the verifier's job, so those answer FAILED, not an
    unreadable-input error.
    """
    if not isinstance(data, dict) or data.get("format") not in (MANIFEST_FORMAT, BILAN_FORMAT):
        raise ReportError(f"not a Ronde audit manifest (format must be {MANIFEST_FORMAT!r} or {BILAN_FORMAT!r})")
    if data.get("version") not in READ_VERSIONS:
        raise ReportError(
            f"unsupported manifest version {data.get('version')!r} (this verifier reads versions "
            + ", ".join(map(str, READ_VERSIONS))
            + ")"
        )
    try:
        chain = data["chain"]
        if chain.get("version") != CHAIN_VERSION:
            raise ReportError(f"unsupported chain version {chain.get('version')!r}")  # noqa: TRY301 - passed through as is by 'except ReportError: raise'
        links = tuple(
            DayLink(date.fromisoformat(x["day"]), int(x["events"]), str(x["day_digest"]), str(x["link"]))
            for x in chain["links"]
        )
        for x in links:
            bytes.fromhex(x.link)
            bytes.fromhex(x.day_digest)
        landlord = str(data["landlord"])
        revision = str(data["registry_revision"])
        digest = data.get("registry_digest")
        audit_chain = AuditChain(
            landlord, revision, str(chain["anchor"]), links, None if digest is None else str(digest)
        )
        cal = data["calendar"]
        calendar = _calendar_of(cal)
        doc = data["document"]
        if doc.get("format") not in DOCUMENT_FORMATS:
            raise ReportError(f"unknown document format {doc.get('format')!r}")  # noqa: TRY301 - passed through as is by 'except ReportError: raise'
        figures = data["figures"]
        if not isinstance(figures, dict):
            raise ReportError("malformed manifest: figures must be an object")  # noqa: TRY301 - passed through as is by 'except ReportError: raise'
        sha = data.get("file_sha256")
        issued = datetime.fromisoformat(str(data["issued_at"]).replace("Z", "+00:00"))
        if issued.tzinfo is None:
            raise ReportError("malformed manifest: issued_at has no time zone")  # noqa: TRY301 - passed through as is by 'except ReportError: raise'
        return Manifest(
            report_id=str(data["report_id"]),
            issued_at=issued,
            landlord=landlord,
            landlord_name=str(data["landlord_name"]),
            first=date.fromisoformat(str(data["first"])),
            last=date.fromisoformat(str(data["last"])),
            revision=revision,
            registry_digest=audit_chain.registry_digest,
            calendar=calendar,
            document=str(doc["format"]),
            lang=str(doc.get("lang", "fr")),
            figures=figures,
            figures_sha256=str(data["figures_sha256"]),
            chain=audit_chain,
            claimed_final=str(chain["final"]),
            data=data,
            file_sha256=None if sha is None else str(sha),
            file=str(data["file"]) if isinstance(data.get("file"), str) else None,
            kind=str(data["format"]),
            version=int(data["version"]),
        )
    except ReportError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportError(f"malformed manifest: {type(exc).__name__}: {exc}") from None


def completeness_problems(m: Manifest) -> list[str]:
    """Does the manifest claim what it covers? One link per day, in order, inside the period; one
    for every service day of the period closed when the report was issued; ``final`` the last
    link; and the figures name the same landlord, period and chain as the manifest."""
    out: list[str] = []
    days = [x.day for x in m.chain.links]
    if m.last < m.first:
        out.append(f"the period ends ({m.last}) before it starts ({m.first})")
    if days != sorted(set(days)):
        out.append("the chain's days are not in order, or repeat")
    outside = [d for d in days if not m.first <= d <= m.last]
    if outside:
        out.append("links outside the period: " + ", ".join(d.isoformat() for d in outside))
    expected = closed_days(m.calendar, m.first, m.last, m.issued_at)
    missing = sorted(set(expected) - set(days))
    if missing:
        out.append(
            "service days of the period without a link (dropped from the report): "
            + ", ".join(d.isoformat() for d in missing)
        )
    if m.claimed_final != m.chain.final:
        out.append(f"chain.final {m.claimed_final} is not the last link {m.chain.final}")
    header = _mapping(m.figures.get("header"))
    claims = {
        "landlord": m.landlord,
        "first": m.first.isoformat(),
        "last": m.last.isoformat(),
        "registry_revision": m.revision,
        "report_id": m.report_id,
        "chain_anchor": m.chain.anchor,
        "chain_final": m.claimed_final,
    }
    for key, value in claims.items():
        if header.get(key) != value:
            out.append(f"the report shows {key} {_show(header.get(key))}, the manifest {value!r}")
    shown_days = [str(r.get("day")) for r in _rows(m.figures.get("days"))]
    if shown_days != [d.isoformat() for d in days]:
        out.append("the report's days are not the chain's days")
    if figures_digest(m.figures) != m.figures_sha256:
        out.append("figures_sha256 is not the digest of the manifest's figures")
    return out


def expected_link_days(m: Manifest, extra: Sequence[date] = ()) -> list[date]:
    """The days a recomputed chain must have a link for: the service days closed at issue time,
    every day the manifest lists, and ``extra`` (days the store has events on)."""
    return sorted(
        set(closed_days(m.calendar, m.first, m.last, m.issued_at)) | {x.day for x in m.chain.links} | set(extra)
    )

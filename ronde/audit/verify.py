"""Check an issued report: its signature, its document, its completeness, then the store.

In that order, because each step trusts the previous one: the signature (server's Ed25519 audit
key) proves the manifest is the one issued; the document's figures, recomputed from the CSV
itself (or the PDF's signed digest), prove the landlord holds that report and not an edited one;
completeness proves no service day was dropped; and the hash chain recomputed from the stored
events proves the store did not change since. A store difference names the first service day
whose link differs (every later link differs too, by construction), every day whose own events
changed, and how the number of events moved (a deletion, an edit or a late insertion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ronde.audit.chain import AuditChain, ChainDifference, compare_chains, compute_chain
from ronde.audit.keys import signature_problem
from ronde.audit.manifest import BILAN_FORMAT, Manifest, completeness_problems, expected_link_days
from ronde.protocol.chain import genesis_anchor
from ronde.protocol.estate import Registry
from ronde.protocol.estate_digest import registry_digest
from ronde.store.port import Store


@dataclass(frozen=True, slots=True)
class VerifyResult:
    manifest: Manifest
    recomputed: AuditChain
    difference: ChainDifference
    signature_problem: str | None = None
    document_problems: tuple[str, ...] = ()
    completeness: tuple[str, ...] = ()
    estate_problems: tuple[str, ...] = ()
    landlord_problem: str | None = None  # issued for another landlord than the one verifying

    @property
    def ok(self) -> bool:
        return (
            self.difference.ok
            and self.signature_problem is None
            and not self.document_problems
            and not self.completeness
            and not self.estate_problems
            and self.landlord_problem is None
        )

    @property
    def first_bad_day(self) -> date | None:
        return self.difference.first_day

    @property
    def file_problem(self) -> str | None:
        return self.document_problems[0] if self.document_problems else None

    def message(self) -> str:
        m = self.manifest
        what = "bilan" if m.kind == BILAN_FORMAT else "report"
        head = f"{what} {m.report_id} ({m.landlord}, {m.first}..{m.last}, registry {m.revision})"
        lines: list[str] = []
        if self.signature_problem:
            lines.append(f"SIGNATURE: {self.signature_problem}")
        if self.landlord_problem:
            lines.append(f"LANDLORD: {self.landlord_problem}")
        lines += [f"DOCUMENT ALTERED: {x}" for x in self.document_problems]
        lines += [f"INCOMPLETE: {x}" for x in self.completeness]
        lines += [f"ESTATE: {x}" for x in self.estate_problems]
        d = self.difference
        if d.anchor_differs:
            lines.append(
                f"ANCHOR DIFFERS: expected {m.chain.anchor}, recomputed {self.recomputed.anchor} "
                "(another landlord, registry revision or registry content)"
            )
        if d.first_day is not None:
            exp, got = d.expected, d.found
            lines.append(
                f"FIRST DAY THAT DIFFERS: {d.first_day.isoformat()}: events "
                f"{exp.events if exp else 0} reported, {got.events if got else 0} stored; link "
                f"{exp.link if exp else '(none)'} reported, {got.link if got else '(none)'} recomputed"
            )
            if got is not None and got.events == 0 and exp is not None and exp.events > 0:
                lines.append("  no events stored any more for that day (deleted, or expired under retention)")
            if d.changed_days:
                lines.append("days whose events changed: " + ", ".join(x.isoformat() for x in d.changed_days))
        if not lines:
            return f"OK: {head}: signed, document intact, {len(m.chain.links)} days, final digest {m.chain.final}"
        return "FAILED: " + head + "\n" + "\n".join(lines)


def verify_manifest(
    manifest: Manifest,
    store: Store,
    *,
    public_key: Ed25519PublicKey,
    document_problems: Sequence[str] = (),
    estate: Registry | None = None,
    landlord: str | None = None,
    revision_digests: Mapping[str, str] | None = None,
) -> VerifyResult:
    """Verify ``manifest`` (read with ``read_report``, which found ``document_problems``) with the
    server's ``public_key``, then against ``store``. With ``estate`` (the registry the landlord
    holds), its revision and content digest replace the manifest's in the recomputed anchor. With
    ``landlord`` (who is verifying), a report issued for anyone else fails, however genuine: its
    signature and chain prove it is *a* report of this server, not that it is this landlord's. With
    ``revision_digests`` (every registry revision of the operational database: label → content digest), the
    report's revision must be one of them, with the content digest the report carries; the database's digest
    replaces the manifest's in the recomputed anchor."""
    sig = signature_problem(dict(manifest.data), public_key)
    landlord_problem = None
    if landlord is not None and manifest.landlord != landlord:
        landlord_problem = f"this report was issued for landlord {manifest.landlord!r}, not {landlord!r}"
    complete = tuple(completeness_problems(manifest))
    estate_problems: list[str] = []
    revision, content = manifest.revision, manifest.registry_digest
    if estate is not None:
        revision, content = estate.revision, registry_digest(estate)
        if revision != manifest.revision:
            estate_problems.append(f"the estate file is revision {revision!r}, the report {manifest.revision!r}")
        if content != manifest.registry_digest:
            estate_problems.append(
                f"the estate file's content (digest {content}) is not the registry the report was computed with "
                f"({manifest.registry_digest})"
            )
    if estate is None and revision_digests is not None:
        held = revision_digests.get(manifest.revision)
        if held is None:
            estate_problems.append(f"the operational database holds no registry revision {manifest.revision!r}")
        else:
            content = held
            if held != manifest.registry_digest:
                estate_problems.append(
                    f"the operational database's revision {manifest.revision!r} has content digest {held}, not the "
                    f"registry the report was computed with ({manifest.registry_digest})"
                )
    links = manifest.chain.links
    days = expected_link_days(manifest)
    query: list[date] = []
    if days:
        lo = min(manifest.first, days[0])
        query = [lo + timedelta(days=i) for i in range((days[-1] - lo).days + 1)]
    visits = store.visits_of_days(query, landlord=manifest.landlord) if query else []
    recomputed = compute_chain(visits, days, landlord=manifest.landlord, revision=revision, registry_digest=content)
    expected = AuditChain(manifest.landlord, manifest.revision, manifest.chain.anchor, links, manifest.registry_digest)
    diff = compare_chains(expected, recomputed)
    own = genesis_anchor(manifest.landlord, manifest.revision, manifest.registry_digest)
    if not diff.anchor_differs and own != manifest.chain.anchor:
        diff = ChainDifference(diff.first_day, diff.changed_days, True, diff.expected, diff.found)
    return VerifyResult(
        manifest, recomputed, diff, sig, tuple(document_problems), complete, tuple(estate_problems), landlord_problem
    )

"""Check an issued report against the store: recompute its hash chain from the stored events.

The result names the first service day whose link differs (every later link differs too, by
construction), every day whose own events changed, and how the number of events moved, so an
auditor can tell a deletion from an edit or a late insertion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ronde.audit.chain import AuditChain, ChainDifference, compare_chains, compute_chain, genesis_anchor
from ronde.audit.report import Manifest
from ronde.store.port import Store


@dataclass(frozen=True, slots=True)
class VerifyResult:
    manifest: Manifest
    recomputed: AuditChain
    difference: ChainDifference
    file_problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.difference.ok and self.file_problem is None

    @property
    def first_bad_day(self) -> date | None:
        return self.difference.first_day

    def message(self) -> str:
        m = self.manifest
        head = f"report {m.report_id} ({m.landlord}, {m.first}..{m.last}, registry {m.revision})"
        lines: list[str] = []
        if self.file_problem:
            lines.append(f"FILE ALTERED: {self.file_problem}")
        d = self.difference
        if d.anchor_differs:
            lines.append(
                f"ANCHOR DIFFERS: expected {m.chain.anchor}, recomputed {self.recomputed.anchor} "
                "(another landlord or registry revision)"
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
            return f"OK: {head}: {len(m.chain.links)} days, final digest {m.chain.final}"
        return "FAILED: " + head + "\n" + "\n".join(lines)


def verify_manifest(
    manifest: Manifest, store: Store, *, revision: str | None = None, file_problem: str | None = None
) -> VerifyResult:
    """Recompute the chain of ``manifest`` from ``store``; ``revision`` (from an estate file) replaces
    the manifest's registry revision in the anchor when given."""
    days = [x.day for x in manifest.chain.links]
    query: list[date] = []
    if days:
        lo = min(manifest.first, days[0])
        query = [lo + timedelta(days=i) for i in range((days[-1] - lo).days + 1)]
    visits = store.visits_of_days(query, landlord=manifest.landlord) if query else []
    rev = revision if revision is not None else manifest.revision
    recomputed = compute_chain(visits, days, landlord=manifest.landlord, revision=rev)
    expected = AuditChain(manifest.landlord, manifest.revision, manifest.chain.anchor, manifest.chain.links)
    diff = compare_chains(expected, recomputed)
    if not diff.anchor_differs and genesis_anchor(manifest.landlord, manifest.revision) != manifest.chain.anchor:
        diff = ChainDifference(diff.first_day, diff.changed_days, True, diff.expected, diff.found)
    return VerifyResult(manifest, recomputed, diff, file_problem)

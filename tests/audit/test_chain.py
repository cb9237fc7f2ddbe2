"""The hash chain over stored events: one link per service day, anchored."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ronde.audit.chain import compare_chains, compute_chain
from ronde.protocol.chain import canonical_event, chain_link, event_digest, event_fields, genesis_anchor
from ronde.store.records import StoredVisit, Verification
from tests.coverage.factory import local, registry, visit

D1, D2, D3 = date(2026, 11, 4), date(2026, 11, 5), date(2026, 11, 6)


def _visits() -> list[StoredVisit]:
    reg = registry()
    return [
        visit(reg, "a", D1, local(D1, 17), local(D1, 17, 5)),
        visit(reg, "b", D1, local(D1, 18), local(D1, 18, 5)),
        visit(reg, "a", D2, local(D2, 17), local(D2, 17, 5)),
        visit(reg, "c", D2, local(D2, 17), local(D2, 17, 5)),  # another landlord
        visit(reg, "a", D3, local(D3, 20), local(D3, 20, 5)),
    ]


def test_link_is_sha256_of_prev_day_and_sorted_digests() -> None:
    v = _visits()
    anchor = genesis_anchor("paris-habitat", "test-rev-1")
    assert anchor == hashlib.sha256(b"ronde-audit-chain-v1\x00paris-habitat\x00test-rev-1").hexdigest()
    digests = sorted([event_digest(v[0]), event_digest(v[1])])
    expected = hashlib.sha256(bytes.fromhex(anchor) + b"2026-11-04" + b"".join(bytes.fromhex(d) for d in digests))
    assert chain_link(anchor, D1, reversed(digests)) == expected.hexdigest()
    chain = compute_chain(v, [D1, D2, D3], landlord="paris-habitat", revision="test-rev-1")
    assert chain.links[0].link == expected.hexdigest()
    assert [x.events for x in chain.links] == [2, 1, 1]  # c belongs to another landlord
    assert chain.final == chain.links[-1].link


def test_digest_covers_every_stored_field() -> None:
    v = _visits()[0]
    assert set(event_fields(v)) == {f.name for f in dataclasses.fields(v)}
    edits = [
        dataclasses.replace(v, payload_sha256="0" * 64),
        dataclasses.replace(v, verification=Verification.UNSIGNED),
        dataclasses.replace(v, checkpoint_id="b"),
        dataclasses.replace(v, badge="team-9"),
        dataclasses.replace(v, rssi_mean=-70.25),
        dataclasses.replace(v, event_id="another"),
    ]
    assert len({event_digest(x) for x in [v, *edits]}) == len(edits) + 1
    later = dataclasses.replace(v, last_seen=local(D1, 17, 6))
    assert event_digest(later) != event_digest(v)


def test_order_of_events_does_not_matter() -> None:
    v = _visits()
    a = compute_chain(v, [D1, D2, D3], landlord=None, revision="r")
    b = compute_chain(list(reversed(v)), [D1, D2, D3], landlord=None, revision="r")
    assert a == b


def test_edit_or_deletion_names_the_first_day() -> None:
    v = _visits()
    issued = compute_chain(v, [D1, D2, D3], landlord="paris-habitat", revision="test-rev-1")
    edited = [*v[:2], dataclasses.replace(v[2], last_seen=local(D2, 17, 9)), *v[3:]]
    diff = compare_chains(issued, compute_chain(edited, [D1, D2, D3], landlord="paris-habitat", revision="test-rev-1"))
    assert not diff.ok
    assert diff.first_day == D2
    assert diff.changed_days == (D2,)
    deleted = [x for i, x in enumerate(v) if i != 1]
    diff = compare_chains(issued, compute_chain(deleted, [D1, D2, D3], landlord="paris-habitat", revision="test-rev-1"))
    assert diff.first_day == D1
    assert diff.changed_days == (D1,)
    assert diff.expected is not None
    assert diff.found is not None
    assert (diff.expected.events, diff.found.events) == (2, 1)
    # the other landlord's events are not in this chain
    other_edit = [*v[:3], dataclasses.replace(v[3], count=99), v[4]]
    assert compare_chains(
        issued, compute_chain(other_edit, [D1, D2, D3], landlord="paris-habitat", revision="test-rev-1")
    ).ok


def test_deleting_all_events_of_a_day_is_detected() -> None:
    v = _visits()
    issued = compute_chain(v, [D1, D2, D3], landlord="paris-habitat", revision="r")
    diff = compare_chains(
        issued,
        compute_chain([x for x in v if x.service_day != D3], [D1, D2, D3], landlord="paris-habitat", revision="r"),
    )
    assert diff.first_day == D3


def test_anchor_binds_landlord_and_revision() -> None:
    v = _visits()
    issued = compute_chain(v, [D1], landlord="paris-habitat", revision="r1")
    diff = compare_chains(issued, compute_chain(v, [D1], landlord="paris-habitat", revision="r2"))
    assert diff.anchor_differs
    assert diff.first_day == D1
    assert diff.changed_days == ()
    assert genesis_anchor(None, "r1") != genesis_anchor("paris-habitat", "r1")


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=20),
    rssi=st.floats(min_value=-130, max_value=30, allow_nan=False) | st.integers(-130, 30).map(float),
    building=st.none() | st.text(max_size=8),
    micros=st.integers(0, 999_999),
    count=st.integers(-(2**40), 2**40),
)
def test_fast_canonical_form_is_rfc8785(text: str, rssi: float, building: str | None, micros: int, count: int) -> None:
    v = _visits()[0]
    v = dataclasses.replace(
        v,
        badge=text,
        event_id=text + "x",
        estate=text[::-1],
        rssi_mean=rssi,
        building=building,
        count=count,
        first_seen=v.first_seen.replace(microsecond=micros),
    )
    assert canonical_event(v) == bytes(rfc8785.dumps(event_fields(v)))

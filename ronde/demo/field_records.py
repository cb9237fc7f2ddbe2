"""A few field records from the simulated evening (issue 14), so that a newcomer sees the feature at once.

Made from the visits the evening stored, at the places and instants the teams really passed: three technical
reports (one urgent, one acknowledged by its landlord), two sollicitations (one oriented to a partner), and a
request from Paris Habitat that a team answered, with the scanner's passage as its evidence. They are written
through the same repositories as the API, so the queue, the timeline and the request's delay are real.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ronde.gateway.ulid import UlidGenerator
from ronde.opdb import access_repo, field_repo, request_repo, service_repo
from ronde.opdb.engine import session_factory
from ronde.opdb.field_repo import NewRecord, Place
from ronde.protocol.estate import Registry
from ronde.protocol.registry_data import BadgeEntry
from ronde.store.port import Store
from ronde.store.records import StoredVisit

REPORTS = (  # category, urgency, text
    ("eclairage", "normal", "Éclairage du hall éteint, minuterie hors service"),
    ("porte_acces", "urgent", "Porte de hall bloquée ouverte, ferme-porte arraché"),
    ("proprete", "normal", "Encombrants déposés devant le local poubelles"),
)
REQUEST_LANDLORD = "paris-habitat"


@dataclass(frozen=True, slots=True)
class DemoFieldRecords:
    reports: int
    sollicitations: int
    requests: int


def _place(registry: Registry, visit: StoredVisit) -> Place:
    c = registry.checkpoints[visit.checkpoint_id]
    return Place(c.estate, c.landlord, c.name, c.id, c.building)


def _distinct(visits: Sequence[StoredVisit]) -> list[StoredVisit]:
    seen: set[str] = set()
    out = []
    for v in visits:
        if v.checkpoint_id not in seen:
            seen.add(v.checkpoint_id)
            out.append(v)
    return out


def add_demo_field_records(
    engine: Engine, store: Store, registry: Registry, day: date, seed: int = 0
) -> DemoFieldRecords:
    """Write the demo's field records for ``day`` (nothing when the evening stored too few visits)."""
    visits = _distinct([v for v in store.visits_of_days([day]) if v.checkpoint_id in registry.checkpoints])
    if len(visits) < 6:  # noqa: PLR2004 - three reports, two sollicitations, one request
        return DemoFieldRecords(0, 0, 0)
    rng = random.Random(seed)
    ulids = UlidGenerator(rng.getrandbits)
    picks = sorted(rng.sample(range(len(visits) - 1), 5))
    with session_factory(engine).begin() as s:
        teams = _teams(s, sorted({v.badge for v in visits}))
        partner = service_repo.put_partner(
            s, "Agence de proximité des Mordacs", "agence_bailleur", frozenset(registry.estates)
        )
        for (category, urgency, text), i in zip(REPORTS, picks[:3], strict=True):
            v = visits[i]
            new = NewRecord(
                id=ulids.new(v.last_seen.timestamp()),
                kind=field_repo.TECHNIQUE,
                digest=f"demo-{category}".ljust(64, "0")[:64],
                team=teams[v.badge],
                device_id=None,
                created_at=v.last_seen,
                place=_place(registry, v),
                status="nouveau",
                text=text,
                category=category,
                urgency=urgency,
            )
            rec, created = field_repo.add_record(s, new, now=v.last_seen + timedelta(seconds=40))
            if created and urgency == "urgent":
                field_repo.set_status(
                    s,
                    rec.id,
                    "pris_en_compte",
                    comment="Gardien prévenu",
                    actor_role="landlord",
                    now=v.last_seen + timedelta(minutes=25),
                )
        for (kind, response), i in zip(
            (("voisinage", "orientation"), ("occupation_hall", "ecoute_mediation")), picks[3:], strict=True
        ):
            v = visits[i]
            _sollicitation(
                s, ulids, teams[v.badge], registry, v, kind, response, partner.id if response == "orientation" else None
            )
        requests = _answered_request(s, ulids, teams, registry, visits)
    return DemoFieldRecords(3, 2 + requests, requests)


def _teams(session: Session, badges: list[str]) -> dict[str, str]:
    """Each badge's team: the badges table's, else one named after the badge (recorded, as a site would)."""
    known = access_repo.badges(session)
    out = {}
    for n, badge in enumerate(badges, start=1):
        if badge not in known:
            access_repo.put_badge(session, BadgeEntry(badge, f"Équipe {n}"))
            out[badge] = f"Équipe {n}"
        else:
            out[badge] = known[badge].team
    return out


def _sollicitation(
    session: Session,
    ulids: UlidGenerator,
    team: str,
    registry: Registry,
    v: StoredVisit,
    kind: str,
    response: str,
    partner: int | None,
    request: str | None = None,
) -> str:
    new = NewRecord(
        id=ulids.new(v.last_seen.timestamp()),
        kind=field_repo.SOLLICITATION,
        digest=f"demo-{kind}-{v.checkpoint_id}".ljust(64, "0")[:64],
        team=team,
        device_id=None,
        created_at=v.last_seen,
        place=_place(registry, v),
        status="orientee" if partner else "close",
        origin="commanditaire" if request else "locataire",
        type=kind,
        response=response,
        partner_id=partner,
        request_id=request,
    )
    rec, _ = field_repo.add_record(session, new, now=v.last_seen + timedelta(seconds=30))
    return rec.id


def _answered_request(
    session: Session, ulids: UlidGenerator, teams: dict[str, str], registry: Registry, visits: list[StoredVisit]
) -> int:
    """Paris Habitat asks for a passage 40 minutes before a team's visit at one of its checkpoints; the team is
    assigned 10 minutes later and answers at the visit."""
    later = [v for v in visits[len(visits) // 2 :] if v.landlord == REQUEST_LANDLORD]
    if not later:
        return 0
    v = later[0]
    asked = v.first_seen - timedelta(minutes=40)
    req, created = request_repo.add_request(
        session,
        ulids.new(asked.timestamp()),
        "demo-request".ljust(64, "0"),
        request_repo.Requester("demo-paris-habitat", "landlord", REQUEST_LANDLORD),
        _place(registry, v),
        "Regroupement signalé dans le hall ce soir",
        "ce soir",
        now=asked,
    )
    if not created:  # the demo ran on this database already
        return 1
    request_repo.assign_request(session, req.id, teams[v.badge], now=asked + timedelta(minutes=10))
    record = _sollicitation(
        session, ulids, teams[v.badge], registry, v, "occupation_hall", "ecoute_mediation", None, req.id
    )
    request_repo.answer_request(session, req.id, record, now=v.last_seen + timedelta(seconds=30))
    return 1

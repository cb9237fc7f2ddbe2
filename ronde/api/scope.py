"""The one place where a principal's reach is enforced.

Every route asks a ``Scope`` for the things it may show: a landlord's scope only ever yields its
own landlord, buildings, checkpoints, visits and rollups, and never team badges. Anything out of
reach is reported exactly like something that does not exist (404), so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ronde.api.auth import Principal, Role
from ronde.protocol.estate import Building, Checkpoint, Estate, Landlord, Registry
from ronde.store.records import DailyRollup, StoredVisit


class NotFound(LookupError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what = what
        self.ident = ident


class Forbidden(PermissionError):
    """This token may not do this (its role, a gateway token, an unknown landlord): answered 403."""


@dataclass(frozen=True, slots=True)
class Scope:
    principal: Principal
    registry: Registry

    @property
    def landlord(self) -> str | None:
        """The landlord this scope is confined to; None for admins and supervisors."""
        return self.principal.landlord if self.principal.role is Role.LANDLORD else None

    @property
    def sees_badges(self) -> bool:
        return self.principal.role in (Role.ADMIN, Role.SUPERVISOR)

    def _mine(self, landlord_id: str) -> bool:
        return self.landlord is None or landlord_id == self.landlord

    # ---- registry ----

    def landlords(self) -> list[Landlord]:
        return [x for x in self.registry.landlords.values() if self._mine(x.id)]

    def landlord_of(self, landlord_id: str) -> Landlord:
        x = self.registry.landlords.get(landlord_id)
        if x is None or not self._mine(x.id):
            raise NotFound("landlord", landlord_id)
        return x

    def landlord_filter(self, requested: str | None) -> str | None:
        """The landlord to filter store queries by: forced to one's own for a landlord."""
        if requested is not None:
            return self.landlord_of(requested).id
        return self.landlord

    def checkpoints(
        self, *, landlord: str | None = None, estate: str | None = None, building: str | None = None
    ) -> list[Checkpoint]:
        lid = self.landlord_filter(landlord)
        if estate is not None:
            self.estate_of(estate)
        if building is not None:
            self.building_of(building)
        return [
            c
            for c in self.registry.checkpoints.values()
            if (lid is None or c.landlord == lid)
            and (estate is None or c.estate == estate)
            and (building is None or c.building == building)
        ]

    def checkpoint_of(self, checkpoint_id: str) -> Checkpoint:
        c = self.registry.checkpoints.get(checkpoint_id)
        if c is None or not self._mine(c.landlord):
            raise NotFound("checkpoint", checkpoint_id)
        return c

    def buildings(self, *, estate: str | None = None) -> list[Building]:
        return [
            b
            for b in self.registry.buildings.values()
            if self._mine(b.landlord) and (estate is None or b.estate == estate)
        ]

    def building_of(self, building_id: str) -> Building:
        b = self.registry.buildings.get(building_id)
        if b is None or not self._mine(b.landlord):
            raise NotFound("building", building_id)
        return b

    def estates(self) -> list[Estate]:
        if self.landlord is None:
            return list(self.registry.estates.values())
        mine = {c.estate for c in self.registry.checkpoints.values() if c.landlord == self.landlord}
        mine |= {b.estate for b in self.registry.buildings.values() if b.landlord == self.landlord}
        return [e for e in self.registry.estates.values() if e.id in mine]

    def estate_of(self, estate_id: str) -> Estate:
        for e in self.estates():
            if e.id == estate_id:
                return e
        raise NotFound("estate", estate_id)

    # ---- stored data ----

    def visits(self, visits: Iterable[StoredVisit]) -> list[StoredVisit]:
        """Only visits at checkpoints in reach (the store filter is a first pass, this is the rule)."""
        if self.landlord is None:
            return list(visits)
        return [v for v in visits if v.landlord == self.landlord and self._known_mine(v.checkpoint_id)]

    def rollups(self, rollups: Iterable[DailyRollup]) -> list[DailyRollup]:
        if self.landlord is None:
            return list(rollups)
        return [r for r in rollups if r.landlord == self.landlord and self._known_mine(r.checkpoint_id)]

    def _known_mine(self, checkpoint_id: str) -> bool:
        c = self.registry.checkpoints.get(checkpoint_id)
        return c is not None and c.landlord == self.landlord

    def badge(self, visit: StoredVisit) -> str | None:
        return visit.badge if self.sees_badges else None

    # ---- field records and requests (issue 14) ----

    @property
    def team(self) -> str | None:
        """The team a device token acts for; None for every other role."""
        return self.principal.team if self.principal.role is Role.DEVICE else None

    def field_record_in_reach(self, landlord_id: str, team: str) -> bool:
        """A field record: staff see all, a landlord its own places', a device its own team's; nobody else."""
        role = self.principal.role
        if role in (Role.ADMIN, Role.SUPERVISOR):
            return True
        if role is Role.LANDLORD:
            return landlord_id == self.principal.landlord
        return role is Role.DEVICE and team == self.principal.team

    def field_request_in_reach(
        self, requester_landlord: str | None, requester_partner: int | None, assigned_team: str | None
    ) -> bool:
        """A request: staff see all, a requester its own (landlord or partner), a device those assigned to it."""
        role = self.principal.role
        if role in (Role.ADMIN, Role.SUPERVISOR):
            return True
        if role is Role.LANDLORD:
            return requester_landlord is not None and requester_landlord == self.principal.landlord
        if role is Role.PARTNER:
            return requester_partner is not None and requester_partner == self.principal.partner
        return role is Role.DEVICE and assigned_team is not None and assigned_team == self.principal.team

    def field_place(
        self, *, checkpoint: str | None, building: str | None, partner_estates: frozenset[str] = frozenset()
    ) -> tuple[Checkpoint | None, Building]:
        """The checkpoint (if named) and the building of a field place, in reach of this principal: a landlord's
        own places, a partner's estates, any place for staff and devices (a team works on every estate).
        A checkpoint outside any building answers a pseudo-building of its estate (id ``""``)."""
        if self.principal.role is Role.GATEWAY:
            raise Forbidden("gateway tokens may not name places")
        if checkpoint is not None:
            c = self.checkpoint_of(checkpoint)
            b = self.registry.buildings.get(c.building) if c.building else None
            found = b or Building("", c.name, c.estate, c.landlord, 0)
            cp: Checkpoint | None = c
        elif building is not None:
            found, cp = self.building_of(building), None
        else:
            raise NotFound("place", "")
        if self.principal.role is Role.PARTNER and found.estate not in partner_estates:
            raise NotFound("checkpoint" if checkpoint else "building", checkpoint or building or "")
        return cp, found

    def require(self, *roles: Role) -> None:
        if self.principal.role not in roles:
            raise Forbidden(f"role {self.principal.role.value} may not do this")

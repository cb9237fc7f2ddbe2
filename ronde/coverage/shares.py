"""Shares of checkpoints covered per building, estate and landlord; fair share of presence.

Figures are about places. A share counts checkpoint-days: per day, the checkpoints of the group
covered that day over its checkpoints; per period, covered checkpoint-days over all of them.
``share_sensed`` leaves out the "no data" checkpoint-days (where nothing could be observed).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from ronde.coverage.sensing import DayState
from ronde.protocol.estate import Registry
from ronde.protocol.frozen import fast_init


class Level(StrEnum):
    BUILDING = "building"
    ESTATE = "estate"
    LANDLORD = "landlord"


@fast_init  # one a distinct day column of a group
@dataclass(frozen=True, slots=True)
class Share:
    checkpoint_days: int
    covered: int
    not_visited: int
    no_data: int

    @property
    def share(self) -> float | None:
        return self.covered / self.checkpoint_days if self.checkpoint_days else None

    @property
    def share_sensed(self) -> float | None:
        sensed = self.checkpoint_days - self.no_data
        return self.covered / sensed if sensed else None


DayShare = tuple[date, Share]


class LazyDays(Sequence[DayShare]):
    """A group's per-day shares, made the first time they are read (``make``), then kept.

    Why: a landlord's cold year folds ~600 groups (buildings, estates, itself) over ~250 days each from letters
    (``monthly._group_coverage``): ~70,000 (day, share) pairs, ~15 % of the request, though its response shows its
    own group's days only (a year of buildings shows their period shares, ``days=true`` asks for more). It reads,
    compares, hashes and prints as the tuple it stands for (``==`` a tuple of the same pairs), so an answer with
    them equals the one made eagerly. Made at most once per thread racing for it, the same tuple each time."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], tuple[DayShare, ...]]) -> None:
        self._make: Callable[[], tuple[DayShare, ...]] | None = make
        self._value: tuple[DayShare, ...] | None = None

    def made(self) -> tuple[DayShare, ...]:
        value = self._value
        if value is None:
            make = self._make
            if make is None:  # another thread made it between the two reads
                value = self._value
                assert value is not None
                return value
            value = self._value = make()
            self._make = None
        return value

    def __getitem__(self, i: int | slice) -> Any:
        return self.made()[i]

    def __len__(self) -> int:
        return len(self.made())

    def __iter__(self) -> Iterator[DayShare]:
        return iter(self.made())

    def __reversed__(self) -> Iterator[DayShare]:
        return reversed(self.made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyDays):
            return self.made() == other.made()
        return self.made() == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.made())

    def __repr__(self) -> str:
        return repr(self.made())


def days_tuple(days: Sequence[DayShare]) -> tuple[DayShare, ...]:
    """``days`` as the tuple it is or stands for."""
    return days.made() if isinstance(days, LazyDays) else tuple(days)


@fast_init  # one a group a piece
@dataclass(frozen=True, slots=True)
class GroupCoverage:
    level: Level
    id: str
    name: str
    days: Sequence[DayShare]  # a tuple, or a ``LazyDays`` standing for one
    period: Share


# What a share needs of a checkpoint-day: (building, estate, landlord, day, state).
CheckpointDayRef = tuple[str | None, str, str, date, DayState]


def _share(counts: list[int]) -> Share:
    return Share(counts[0], counts[1], counts[2], counts[3])


def group_coverage(registry: Registry, refs: Iterable[CheckpointDayRef]) -> list[GroupCoverage]:
    """Per building, estate and landlord (in that order), per day and over the period.

    The refs are counted first (``Counter``, at C speed: a city year's tail is ~20,000 refs over a few
    hundred distinct ones), then each distinct ref bumps its three groups once."""
    per_day: dict[tuple[Level, str], dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    column = {DayState.COVERED: 1, DayState.NOT_VISITED: 2, DayState.NO_DATA: 3}
    for (building, estate, landlord, day, state), n in Counter(refs).items():
        i = column[state]
        keys = [(Level.ESTATE, estate), (Level.LANDLORD, landlord)]
        if building is not None:
            keys.append((Level.BUILDING, building))
        for key in keys:
            counts = per_day[key][day]
            counts[0] += n
            counts[i] += n
    out: list[GroupCoverage] = []
    order = {Level.BUILDING: 0, Level.ESTATE: 1, Level.LANDLORD: 2}
    for (level, gid), days in sorted(per_day.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        total = [0, 0, 0, 0]
        for counts in days.values():
            for i in range(4):
                total[i] += counts[i]
        out.append(
            GroupCoverage(
                level,
                gid,
                _name(registry, level, gid),
                tuple((d, _share(c)) for d, c in sorted(days.items())),
                _share(total),
            )
        )
    return out


def group_of_counts(
    registry: Registry, level: Level, gid: str, counts: Mapping[tuple[date, DayState], int]
) -> GroupCoverage | None:
    """One group as ``group_coverage`` makes it of refs of that group whose (day, state) were counted ``counts``
    (None: no ref). Why: a landlord's shares need one group, not its buildings' and estates' too (a city tail's
    17,500 refs counted for three levels, py-spy, December 8)."""
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    column = {DayState.COVERED: 1, DayState.NOT_VISITED: 2, DayState.NO_DATA: 3}
    for (day, state), n in counts.items():
        if n:
            c = per_day[day]
            c[0] += n
            c[column[state]] += n
    if not per_day:
        return None
    total = [sum(c[i] for c in per_day.values()) for i in range(4)]
    days = tuple((d, _share(c)) for d, c in sorted(per_day.items()))
    return GroupCoverage(level, gid, _name(registry, level, gid), days, _share(total))


def group_name(registry: Registry, level: Level, gid: str) -> str:
    """The group's name in the registry (its id when it has none)."""
    return _name(registry, level, gid)


def _name(registry: Registry, level: Level, gid: str) -> str:
    source: Mapping[str, object] = {
        Level.BUILDING: registry.buildings,
        Level.ESTATE: registry.estates,
        Level.LANDLORD: registry.landlords,
    }[level]
    item = source.get(gid)
    name = getattr(item, "name", None)
    return name if isinstance(name, str) else gid


@dataclass(frozen=True, slots=True)
class FairShare:
    """Presence time at a landlord's checkpoints against its share of dwellings.

    ``ratio`` 1.0 means the landlord received exactly its share; 0.8 means 20 % less.
    """

    landlord: str
    name: str
    dwellings: int
    dwelling_share: float
    presence_s: float
    presence_share: float | None
    ratio: float | None


def fair_share(registry: Registry, presence_by_landlord: Mapping[str, float]) -> list[FairShare]:
    """One line per landlord of the registry (all of them: shares need the whole)."""
    dwellings = registry.total_dwellings
    presence = sum(presence_by_landlord.get(lid, 0.0) for lid in registry.landlords)
    out: list[FairShare] = []
    for lid, landlord in sorted(registry.landlords.items()):
        d_share = landlord.dwellings / dwellings if dwellings else 0.0
        p = presence_by_landlord.get(lid, 0.0)
        p_share = p / presence if presence > 0 else None
        ratio = p_share / d_share if p_share is not None and d_share > 0 else None
        out.append(FairShare(lid, landlord.name, landlord.dwellings, d_share, p, p_share, ratio))
    return out

"""Tonight's checkpoint-days as a share needs them: each checkpoint's passes in its window counted, no row made.

Why: a landlord's shares in the evening (``evening_shares``) need of tonight only each checkpoint's state: covered
(passes at least those expected), else visited (a pass), else the evidence's verdict. ``evening.tonight_rows`` makes
every row whole for that (``daily.day_figures``: presence, gaps, idleness; a ``DailyRollup`` and its instants a
checkpoint): 16-20 % of a city landlord's month asked in the evening, on either store (py-spy, December 8). Here
the passes are joined and clipped as there (one team's visits at most ``PASS_GAP_S`` apart one pass, a pass counted
when part of it lies in the window, a pass of no duration when its instant does), on whole microseconds: the
visits' milliseconds and the window's instants (``now`` may cut it anywhere) are exact there, so every comparison
is the one the rows make. The checkpoints, their order and their tags are ``tonight_rows``' (the registry's, then
the strays' from their latest visit), and so are the passes counted (``tests/coverage/test_tonight_states.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from ronde.coverage.daily import PASS_GAP_S, _expected_for
from ronde.coverage.evening import _strays
from ronde.coverage.service_time import effective_window
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import VisitSpan

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_GAP_US = round(PASS_GAP_S * 1_000_000)  # ``(a - hi).total_seconds() <= PASS_GAP_S`` on whole microseconds
assert _GAP_US == PASS_GAP_S * 1_000_000, "PASS_GAP_S must be a whole number of microseconds"


class TonightPasses(NamedTuple):
    """One checkpoint's evening as ``tonight_rows`` has its row: tags, expected passes, passes in the window."""

    checkpoint_id: str
    building: str | None
    estate: str
    landlord: str
    expected: int
    passes: int

    @property
    def covered(self) -> bool:
        return self.passes >= self.expected  # ``daily._row``'s ``covered``


def tonight_passes(
    registry: Registry,
    calendar: ServiceCalendar,
    day: date,
    spans: Sequence[VisitSpan],
    *,
    now: datetime | None,
    landlord: str | None,
) -> list[TonightPasses]:
    """``tonight_rows(registry, calendar, day, spans, now=now, landlord=landlord)``'s checkpoints, tags and
    ``visits`` (passes), in its order."""
    if not calendar.is_service_day(day):
        return []
    per_cp: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for s in spans:
        per_cp[s.checkpoint_id].append((s.badge, s.first_seen_ms, s.last_seen_ms))
    windows: dict[str, tuple[int, int] | None] = {}
    out: list[TonightPasses] = []

    def add(cid: str, building: str | None, estate: str, owner: str, expected: int) -> None:
        if estate not in windows:
            own = calendar.for_estate(estate)
            w = effective_window(own, day, now) if own.is_service_day(day) else None
            windows[estate] = None if w is None else ((w[0] - _EPOCH) // _US, (w[1] - _EPOCH) // _US)
        window = windows[estate]
        if window is not None:
            got = per_cp.get(cid)
            n = _passes_in(sorted(got), *window) if got else 0
            out.append(TonightPasses(cid, building, estate, owner, expected, n))

    for c in registry.checkpoints.values():
        if landlord is None or c.landlord == landlord:
            add(c.id, c.building, c.estate, c.landlord, c.expected_visits)
    for cid, s in _strays(registry, spans):
        if landlord is None or s.landlord == landlord:
            add(cid, s.building, s.estate, s.landlord, _expected_for(s.kind))
    return out


def _passes_in(visits: list[tuple[str, int, int]], start_us: int, end_us: int) -> int:
    """How many passes of ``visits`` ((badge, first ms, last ms), sorted) have a part in ``[start, end)``: as
    ``evening._passes`` joins them and ``evening._clipped`` keeps them (``service_time.clip_to_window``)."""
    n = 0
    badge: str | None = None
    lo = hi = 0
    for b, first, last in visits:
        a, z = first * 1000, last * 1000
        if b == badge and a - hi <= _GAP_US:
            hi = max(hi, z)
            continue
        if badge is not None:
            n += _in_window(lo, hi, start_us, end_us)
        badge, lo, hi = b, a, z
    if badge is not None:
        n += _in_window(lo, hi, start_us, end_us)
    return n


def _in_window(first: int, last: int, start: int, end: int) -> bool:
    lo, hi = max(first, start), min(last, end)
    return lo < hi or (lo == hi and start <= lo < end)

"""Tonight's passes counted without rows (``tonight_states``) are the rows' (``evening.tonight_rows``): the same
checkpoints in the same order, the same tags, passes and covered flag, on random evenings cut anywhere."""

from __future__ import annotations

import os
import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from ronde.coverage.daily import PASS_GAP_S
from ronde.coverage.evening import TonightRows, tonight_rows
from ronde.coverage.tonight_states import tonight_passes
from ronde.protocol.calendar import Calendars, ServiceCalendar
from ronde.store.port import VisitSpan
from tests.coverage.factory import local, registry

WEDNESDAY = date(2026, 3, 4)
_SEED = int(os.environ.get("RONDE_SEED", random.SystemRandom().randrange(2**32)))


def _ms(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _spans(rng: random.Random, day: date, n: int) -> list[VisitSpan]:
    """Visits near and across the window's edges, some a pass gap apart exactly, some of no duration, a stray."""
    reg = registry()
    start, end = _ms(local(day, 16)), _ms(local(day, 22, 15))
    gap = int(PASS_GAP_S * 1000)
    out: list[VisitSpan] = []
    last_of: dict[tuple[str, str], int] = {}
    for _ in range(n):
        cid = rng.choice([*reg.checkpoints, "stray-1", "stray-2"])
        badge = rng.choice(["t1", "t2", "t3"])
        prev = last_of.get((cid, badge))
        if prev is not None and rng.random() < 0.5:
            first = prev + rng.choice([gap, gap + 1, gap - 1, 0, 1])
        else:
            first = rng.choice([start, end, start - 1, end - 1, rng.randrange(start - 3_600_000, end + 3_600_000)])
        last = first + rng.choice([0, 0, 1, 999, 60_000, rng.randrange(0, 1_800_000)])
        last_of[(cid, badge)] = last
        c = reg.checkpoints.get(cid)
        stray = ("playground", None, "e2", rng.choice(["other", "x"]))
        tags = (c.kind, c.building, c.estate, c.landlord) if c else stray
        out.append(VisitSpan(cid, badge, first, last, day, *tags))
    return out


@pytest.mark.parametrize("landlord", [None, "paris-habitat", "other"])
def test_passes_are_the_rows(landlord: str | None) -> None:
    rng = random.Random(_SEED)
    print(f"seed {_SEED} (RONDE_SEED to replay)")
    reg = registry()
    calendars = [
        ServiceCalendar(),
        Calendars.of(ServiceCalendar(), {"e2": ServiceCalendar(start=time(17, 30), end=time(21, 0))}),
        Calendars.of(ServiceCalendar(), {"e2": ServiceCalendar(closed=frozenset({WEDNESDAY}))}),
    ]
    for trial in range(300):
        calendar = rng.choice(calendars)
        spans = _spans(rng, WEDNESDAY, rng.randrange(0, 40))
        cut = local(WEDNESDAY, 16) + timedelta(microseconds=rng.randrange(-3_600_000_000, 8 * 3_600_000_000))
        now = rng.choice([None, cut, cut.replace(microsecond=0)])
        rows = tonight_rows(reg, calendar, WEDNESDAY, spans, now=now, landlord=landlord, memo=TonightRows())
        got = tonight_passes(reg, calendar, WEDNESDAY, spans, now=now, landlord=landlord)
        want = [(r.checkpoint_id, r.building, r.estate, r.landlord, r.expected, r.visits, r.covered) for r in rows]
        assert [(*p, p.covered) for p in got] == want, (trial, now)


def test_no_service_day_no_passes() -> None:
    reg = registry()
    tuesday = WEDNESDAY - timedelta(days=1)
    spans = [VisitSpan("a", "t1", _ms(local(tuesday, 17)), _ms(local(tuesday, 18)), tuesday, "x", "b1", "e1", "p")]
    assert tonight_passes(reg, ServiceCalendar(), tuesday, spans, now=None, landlord=None) == []
    assert tonight_rows(reg, ServiceCalendar(), tuesday, spans, now=None, landlord=None, memo=TonightRows()) == []

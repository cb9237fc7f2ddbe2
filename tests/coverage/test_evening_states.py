"""The closed evenings judged from day states (``evening_shares._states``, ``SensingEvidence.add_day_states``) are
judged as ``tail.close_figures`` judges their figures: the same evidence, refs (counted, and the landlord's group
``group_coverage`` makes of them), "no data" checkpoints and estate days to fill, on random tails (visited but not
covered, moved tags, days without rollups, random evidence)."""

from __future__ import annotations

import os
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from ronde.coverage.evening_shares import _states, day_columns, fill_needed
from ronde.coverage.sensing import SensingEvidence
from ronde.coverage.shares import Level, group_coverage, group_of_counts
from ronde.coverage.tail import close_figures
from ronde.store.day_states import of_figures
from ronde.store.records import DailyRollup, RollupFigures, rollup_figures_of
from tests.coverage.factory import registry

FIRST = date(2026, 3, 4)
REGISTRY = registry()
_SEED = int(os.environ.get("RONDE_SEED", random.SystemRandom().randrange(2**32)))


def _figures(rng: random.Random, n_days: int) -> list[RollupFigures]:
    out: list[DailyRollup] = []
    for i in range(rng.randrange(1, 12)):
        cid = f"cp-{i}"
        homes = [("b1", "e1", "ll"), (None, "e1", "ll"), ("b2", "e2", "ll")][: rng.randrange(1, 4)]
        expected = rng.choice([1, 2, 3])
        for k in range(n_days):
            if rng.random() < 0.2:
                continue  # no rollup that day
            building, estate, owner = rng.choice(homes)
            visits = rng.choice([0, 0, 1, 2, 3])
            at = datetime.combine(FIRST + timedelta(days=k), datetime.min.time(), tzinfo=UTC) + timedelta(hours=17)
            seen = at if visits else None
            day = FIRST + timedelta(days=k)
            covered = visits >= expected
            tags = (day, cid, "playground", building, estate, owner)
            out.append(DailyRollup(*tags, visits, expected, covered, seen, seen, 0.0, 0.0, 0.0, ""))
    out.sort(key=lambda r: (r.service_day, r.checkpoint_id))
    return [rollup_figures_of(r) for r in out]


def _evidence(rng: random.Random, n_days: int) -> tuple[set[date], list[tuple[str, date]]]:
    span = range(-9, n_days + 9)
    gateways = {FIRST + timedelta(days=k) for k in span if rng.random() < 0.4}
    heard = [(f"cp-{rng.randrange(12)}", FIRST + timedelta(days=rng.choice(span))) for _ in range(rng.randrange(6))]
    return gateways, heard


def test_day_states_judge_the_closed_evenings_as_their_figures() -> None:
    rng = random.Random(_SEED)
    print(f"seed {_SEED} (RONDE_SEED to replay)")
    for trial in range(400):
        n_days = rng.randrange(1, 9)
        last = FIRST + timedelta(days=n_days - 1)
        figures = _figures(rng, n_days)
        rows = of_figures(figures, FIRST, last)
        by_figures, by_states = SensingEvidence(), SensingEvidence()
        by_figures.add_figures(figures)
        by_states.add_day_states(rows, FIRST)
        assert by_states.estate_days == by_figures.estate_days, trial
        assert {k: v for k, v in by_states.beacon_days.items() if v} == {
            k: v for k, v in by_figures.beacon_days.items() if v
        }, trial
        gateways, heard = _evidence(rng, n_days)
        for ev in (by_figures, by_states):
            ev.gateway_days |= gateways
            ev.add_heard(heard)
        want_needed = sorted({f[0] for f in figures if f[6] == 0 and not by_figures.gateway_alive(f[0], f[4])})
        days = [FIRST + timedelta(days=k) for k in range(n_days)]
        needed = fill_needed(rows, days, day_columns(rows, days), by_states)
        assert needed == want_needed, trial
        windows = {d for d in days if rng.random() < 0.8}
        closed = [(k, d) for k, d in enumerate(days) if d in windows]
        today = last + timedelta(days=rng.choice([0, 1]))
        inside = [f for f in figures if f[0] in windows]
        _, want_refs, want_judged = close_figures(
            inside, lambda _e, _d: (0, 1, 1.0), by_figures, today=today, horizon_days=7
        )
        counts, judged, members = _states(rows, closed, by_states, today, 7, "ll")
        assert counts == Counter((day, state) for _, _, _, day, state in want_refs), trial
        want_group = next((g for g in group_coverage(REGISTRY, want_refs) if g.level is Level.LANDLORD), None)
        assert group_of_counts(REGISTRY, Level.LANDLORD, "ll", counts) == want_group, trial
        assert (judged, members) == (want_judged, frozenset(f[1] for f in inside)), trial

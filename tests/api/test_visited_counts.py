"""The per-day "visited" counts of a group view (``coverage_data._counted``): by set operations for a few groups, by
``Counter`` for many, both equal to counting each visited checkpoint of the group by hand."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from types import SimpleNamespace
from typing import cast

from ronde.api.coverage_data import _FEW_GROUPS, _counted
from ronde.coverage.period import CheckpointPeriod
from ronde.coverage.shares import Level


def _by_hand(
    checkpoints: Sequence[SimpleNamespace], field: str, days: dict[date, frozenset[str]]
) -> dict[tuple[str, date], int]:
    out: dict[tuple[str, date], int] = {}
    for day, cids in days.items():
        for c in checkpoints:
            gid = getattr(c, field)
            if gid is not None and c.checkpoint_id in cids:
                out[(gid, day)] = out.get((gid, day), 0) + 1
    return out


def test_counts_by_sets_and_by_counter_equal_counting_by_hand() -> None:
    """A landlord with 2 to 40 groups (across ``_FEW_GROUPS``), checkpoints without a building, visited days naming
    checkpoints of another scope (not counted) and days with no visit: every level counted as by hand."""
    seed = random.randrange(2**32)
    rnd = random.Random(seed)
    for groups in (1, 2, _FEW_GROUPS, _FEW_GROUPS + 1, 40):
        checkpoints = [
            SimpleNamespace(
                checkpoint_id=f"cp-{i}",
                landlord=f"l-{i % max(1, groups // 4)}",
                estate=f"e-{i % groups}",
                building=None if i % 7 == 0 else f"b-{i % (groups * 2)}",
            )
            for i in range(300)
        ]
        ids = [c.checkpoint_id for c in checkpoints] + [f"other-{k}" for k in range(20)]
        days = {
            date(2026, 11, 1) + timedelta(days=d): frozenset(rnd.sample(ids, rnd.randrange(0, len(ids))))
            for d in range(20)
        }
        for level, field in ((Level.LANDLORD, "landlord"), (Level.ESTATE, "estate"), (Level.BUILDING, "building")):
            got = _counted(cast("Sequence[CheckpointPeriod]", checkpoints), level, days)
            assert got == _by_hand(checkpoints, field, days), (seed, groups, level)

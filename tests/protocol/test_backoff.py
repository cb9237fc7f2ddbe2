"""The one backoff (``ronde.protocol.backoff``): full jitter, uniform(0, min(cap, base·2ⁿ))."""

import random
import statistics

import pytest

from ronde.protocol.backoff import Backoff


class _Top(random.Random):
    """Always the top of the interval asked for: the delays are then the ceilings themselves."""

    def uniform(self, a: float, b: float) -> float:
        return b


class _Bottom(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


def test_ceiling_doubles_from_base_to_cap() -> None:
    b = Backoff(0.5, 30.0, rng=_Top())
    assert [b.next_delay() for _ in range(9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert b.attempt == 9


def test_full_jitter_reaches_down_to_zero() -> None:
    b = Backoff(0.5, 30.0, rng=_Bottom())
    assert [b.next_delay() for _ in range(4)] == [0.0, 0.0, 0.0, 0.0]


def test_seeded_delays_stay_within_their_bounds_and_are_jittered() -> None:
    b = Backoff(0.5, 30.0, rng=random.Random(7))
    delays = []
    for n in range(40):
        ceiling = min(30.0, 0.5 * 2**n)
        assert b.ceiling() == ceiling
        d = b.next_delay()
        assert 0.0 <= d <= ceiling
        delays.append(d)
    assert len(set(delays)) == len(delays)  # jittered: never the same delay twice
    assert max(delays[6:]) > 15.0
    assert min(delays[6:]) < 15.0  # capped, spread over [0, cap]
    # the same seed gives the same sequence (what tests of the callers rely on)
    again = Backoff(0.5, 30.0, rng=random.Random(7))
    assert [again.next_delay() for _ in range(40)] == delays


def test_capped_delays_are_uniform_below_the_cap() -> None:
    b = Backoff(1.0, 8.0, rng=random.Random(3))
    for _ in range(10):
        b.next_delay()
    capped = [b.next_delay() for _ in range(4000)]
    assert max(capped) <= 8.0
    assert 3.8 < statistics.fmean(capped) < 4.2  # mean of uniform(0, 8)
    assert min(capped) < 0.1
    assert max(capped) > 7.9


def test_reset_starts_again_below_base() -> None:
    b = Backoff(0.2, 10.0, rng=random.Random(11))
    for _ in range(12):
        b.next_delay()
    assert b.ceiling() == 10.0
    b.reset()
    assert b.attempt == 0
    assert b.ceiling() == 0.2
    assert all(Backoff(0.2, 10.0, rng=random.Random(s)).next_delay() <= 0.2 for s in range(200))


def test_many_attempts_do_not_overflow() -> None:
    b = Backoff(1.0, 60.0, rng=_Top())
    for _ in range(5000):
        assert b.next_delay() == 60.0 or b.attempt <= 6


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_nonsense_bounds_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(base, cap)

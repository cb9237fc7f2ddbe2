"""Capped exponential backoff with full jitter, the one every Ronde role retries with.

The n-th delay since the last ``reset()`` (n = 0, 1, 2, …) is drawn uniformly from

    [0, min(cap_s, base_s · 2ⁿ)]

("full jitter", AWS Architecture Blog, *Exponential Backoff and Jitter*, 2015): the ceiling doubles
from ``base_s`` up to ``cap_s`` and the delay is anywhere below it, so a fleet that lost the same
broker or database at the same moment comes back spread over the whole interval instead of in
step. Its mean is half the ceiling. Used by the gateway (MQTT reconnects, BlueZ and outbox
retries), ingest (MQTT reconnects, store retries) and the InfluxDB client's bounded retries.

The random source is injectable (``rng=random.Random(seed)``) so tests get a fixed sequence.
"""

from __future__ import annotations

import random

__all__ = ["Backoff"]

_MAX_DOUBLINGS = 64  # 2⁶⁴·base exceeds any sensible cap; bounds the float maths too


class Backoff:
    """Full-jitter exponential backoff: ``next_delay()`` is uniform(0, min(cap_s, base_s·2ⁿ))."""

    __slots__ = ("_rng", "attempt", "base_s", "cap_s")

    def __init__(self, base_s: float, cap_s: float, *, rng: random.Random | None = None) -> None:
        if not base_s > 0:
            raise ValueError(f"backoff base must be > 0 (got {base_s})")
        if not cap_s >= base_s:
            raise ValueError(f"backoff cap ({cap_s}) must be at least its base ({base_s})")
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0  # delays drawn since the last reset
        self._rng = rng if rng is not None else random.Random()

    def ceiling(self) -> float:
        """The upper bound of the next delay: min(cap_s, base_s·2ⁿ)."""
        return min(self.cap_s, self.base_s * 2.0 ** min(self.attempt, _MAX_DOUBLINGS))

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds (counts one more attempt)."""
        delay = self._rng.uniform(0.0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """After a success: the next delay is drawn below ``base_s`` again."""
        self.attempt = 0

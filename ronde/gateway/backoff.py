"""Capped exponential backoff with full jitter (AWS architecture blog), for reconnects and BlueZ retries.

Full jitter spreads the retries of a fleet of gateways that lost the same broker at the same moment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    initial_s: float = 1.0
    cap_s: float = 60.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt: uniform in [initial/2, min(cap, initial·factor^n)]."""
        ceiling = min(self.cap_s, self.initial_s * self.factor**self.attempt)
        self.attempt = min(self.attempt + 1, 64)
        return self.rng.uniform(min(self.initial_s / 2, ceiling), ceiling)

    def reset(self) -> None:
        self.attempt = 0

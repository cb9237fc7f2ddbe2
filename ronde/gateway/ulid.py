"""ULIDs (github.com/ulid/spec), monotonic within a millisecond: the visit events' idempotency keys.

Written here (30 lines) rather than imported so that monotonicity and the injected clock are ours:
ids made at the same simulated millisecond still sort in creation order.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_MAX = (1 << 80) - 1


def encode_ulid(value: int) -> str:
    out = []
    for _ in range(26):
        out.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


class UlidGenerator:
    def __init__(self, random_bits: Callable[[int], int] = secrets.randbits) -> None:
        self._random_bits = random_bits
        self._last_ms = -1
        self._last_random = 0

    def new(self, t: float) -> str:
        """A ULID for epoch seconds ``t``; never smaller than the previous one (even if the clock steps back)."""
        ms = max(0, min(int(t * 1000), (1 << 48) - 1))
        if ms <= self._last_ms:
            ms = self._last_ms
            if self._last_random >= _RANDOM_MAX:
                ms += 1
                self._last_random = self._random_bits(79)
            else:
                self._last_random += 1
        else:
            self._last_random = self._random_bits(79)  # 79 bits leave room to increment within a ms
        self._last_ms = ms
        return encode_ulid((ms << 80) | self._last_random)

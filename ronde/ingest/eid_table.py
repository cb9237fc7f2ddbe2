"""The EID resolver's index: each precomputed EID (8 bytes) → the int naming its beacon and period, in flat arrays.

A city's 500 EID beacons, each with ~1,200 rotation periods cached (a week either side of now), are ~600,000 EIDs.
Held as Python objects (an 8-byte ``bytes`` key, an int value and a dict entry, plus each beacon's own dict of
period → EID) they cost ~170 bytes each: 100 MB of every worker's resident memory (issue 17, item 1). Here an EID
costs two 8-byte slots of two ``array('Q')`` (an open-addressing hash table with linear probing, kept at most 70 %
full): about 23 bytes.

The table is a multimap: two beacons may, once in 2**64, broadcast the same EID; ``get`` answers every value stored
under it. Removal shifts the following entries back (no tombstones), so a long-running worker whose cache slides
with time keeps short probe sequences. EIDs are AES outputs, but the slot is still taken from a multiplicative hash
of the whole EID, so no pattern in the keys can make probe sequences long.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

_MIN_BITS = 10
_MAX_LOAD = 0.7
_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing: the EID times 2**64 / φ, its top bits as the slot
_U64 = (1 << 64) - 1


class EidTable:
    """EID → values (ints below 2**64 - 1), any number per EID."""

    __slots__ = ("_bits", "_count", "_keys", "_values")

    def __init__(self, expected: int = 0) -> None:
        self._bits = _MIN_BITS
        self._count = 0
        self._keys = array("Q")
        self._values = array("Q")  # value + 1; 0 marks an empty slot
        self._allocate(self._bits_for(expected))

    def __len__(self) -> int:
        return self._count

    @property
    def capacity(self) -> int:
        return len(self._values)

    def reserve(self, expected: int) -> None:
        """Make room for ``expected`` entries in one step (one copy, not one per doubling)."""
        bits = self._bits_for(expected)
        if bits > self._bits:
            self._rehash(bits)

    def add(self, eid: bytes, value: int) -> None:
        if self._count + 1 > _MAX_LOAD * len(self._values):
            self._rehash(self._bits + 1)
        self._put(int.from_bytes(eid, "big"), value + 1)
        self._count += 1

    def get(self, eid: bytes) -> list[int]:
        """Every value stored under ``eid`` (none: an empty list)."""
        key = int.from_bytes(eid, "big")
        keys, values, mask = self._keys, self._values, len(self._values) - 1
        slot = self._home(key)
        found: list[int] = []
        while stored := values[slot]:
            if keys[slot] == key:
                found.append(stored - 1)
            slot = (slot + 1) & mask
        return found

    def items(self) -> Iterator[tuple[bytes, int]]:
        """Every entry, in no particular order."""
        for key, stored in zip(self._keys, self._values, strict=True):
            if stored:
                yield key.to_bytes(8, "big"), stored - 1

    def remove(self, eid: bytes, value: int) -> bool:
        """Remove one entry ``eid`` → ``value``; False if there was none."""
        key, stored = int.from_bytes(eid, "big"), value + 1
        keys, values, mask = self._keys, self._values, len(self._values) - 1
        slot = self._home(key)
        while values[slot] and not (keys[slot] == key and values[slot] == stored):
            slot = (slot + 1) & mask
        if not values[slot]:
            return False
        self._close_gap(slot)
        self._count -= 1
        return True

    # ---- the table ------------------------------------------------------------------------------

    def _home(self, key: int) -> int:
        return ((key * _GOLDEN) & _U64) >> (64 - self._bits)

    def _put(self, key: int, stored: int) -> None:
        values, mask = self._values, len(self._values) - 1
        slot = self._home(key)
        while values[slot]:
            slot = (slot + 1) & mask
        self._keys[slot] = key
        values[slot] = stored

    def _close_gap(self, gap: int) -> None:
        """Empty ``gap``, moving back each following entry whose home does not lie between the gap and itself."""
        keys, values, mask = self._keys, self._values, len(self._values) - 1
        slot = gap
        while True:
            slot = (slot + 1) & mask
            if not values[slot]:
                break
            home = self._home(keys[slot])
            if (slot - home) & mask >= (slot - gap) & mask:  # its home is at or before the gap: move it back
                keys[gap], values[gap] = keys[slot], values[slot]
                gap = slot
        keys[gap] = 0
        values[gap] = 0

    def _bits_for(self, expected: int) -> int:
        bits = _MIN_BITS
        while expected > _MAX_LOAD * (1 << bits):
            bits += 1
        return bits

    def _allocate(self, bits: int) -> None:
        self._bits = bits
        self._keys = array("Q", bytes(8 << bits))
        self._values = array("Q", bytes(8 << bits))

    def _rehash(self, bits: int) -> None:
        old_keys, old_values = self._keys, self._values
        self._allocate(bits)
        for key, stored in zip(old_keys, old_values, strict=True):
            if stored:
                self._put(key, stored)

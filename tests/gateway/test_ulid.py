from __future__ import annotations

import re

from ronde.gateway.ulid import UlidGenerator, encode_ulid

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_format_and_time_prefix() -> None:
    gen = UlidGenerator()
    a = gen.new(1_700_000_000.123)
    assert ULID_RE.match(a)
    assert a[:10] == encode_ulid(1_700_000_000_123 << 80)[:10]


def test_monotonic_within_a_millisecond_and_when_the_clock_steps_back() -> None:
    gen = UlidGenerator()
    ids = [gen.new(1000.0) for _ in range(100)] + [gen.new(999.0) for _ in range(10)] + [gen.new(1001.0)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_random_part_overflow_moves_to_next_millisecond() -> None:
    gen = UlidGenerator(random_bits=lambda n: (1 << 80) - 2)
    a, b, c = gen.new(1.0), gen.new(1.0), gen.new(1.0)
    assert a < b < c
    assert ULID_RE.match(c)

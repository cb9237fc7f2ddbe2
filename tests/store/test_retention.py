"""Retention: validation and cut-offs (applied by both engines in test_contract)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ronde.store.records import RetentionPolicy
from ronde.store.retention import DEFAULT_RETENTION, RetentionError, cutoff, cutoff_day, measurement_days, validate


def test_defaults_follow_the_cnil_guidance() -> None:
    assert (DEFAULT_RETENTION.raw_days, DEFAULT_RETENTION.proof_days, DEFAULT_RETENTION.rejections_days) == (
        60,
        365,
        60,
    )
    days = measurement_days(DEFAULT_RETENTION)
    assert days["visit"] == 60
    assert days["checkpoint_day"] == 365
    assert days["rejection"] == 60


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (RetentionPolicy(raw_days=0), "raw_days=0"),
        (RetentionPolicy(extra={"visits": 10}), "unknown measurement"),
        (RetentionPolicy(extra={"beacon_telemetry": 90}), "can only shorten"),
        (RetentionPolicy(extra={"gateway_state": 0}), "at least"),
    ],
)
def test_invalid_policies_fail_fast(policy: RetentionPolicy, message: str) -> None:
    with pytest.raises(RetentionError, match=message):
        validate(policy)


def test_extra_shortens_one_measurement() -> None:
    days = measurement_days(RetentionPolicy(extra={"beacon_telemetry": 14}))
    assert days["beacon_telemetry"] == 14
    assert days["visit"] == 60


def test_cutoffs() -> None:
    now = datetime(2026, 11, 26, 3, 4, 5, 678_901, tzinfo=UTC)
    assert cutoff(now, 60) == datetime(2026, 9, 27, 3, 4, 5, 678_000, tzinfo=UTC)
    assert cutoff_day(now, 365) == datetime(2025, 11, 26, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        cutoff(datetime(2026, 1, 1), 1)

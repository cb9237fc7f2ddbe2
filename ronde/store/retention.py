"""How long each kind of record is kept (defaults and sources in ``docs/retention.md``).

``RetentionPolicy`` (records.py) carries the durations: ``raw_days`` for presence data (visits,
beacon telemetry, gateway states, sequence gaps), ``rejections_days`` for refused messages,
``proof_days`` for the daily rollups per checkpoint. ``extra`` may shorten one measurement of a
class (e.g. ``{"beacon_telemetry": 14}``); it cannot lengthen it, because on InfluxDB the class's
retention policy or bucket would drop the data anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from ronde.store.records import RetentionPolicy
from ronde.store.schema import (
    CHECKPOINT_DAY,
    CHECKPOINT_DAY_FIGURES,
    CHECKPOINT_LETTER,
    CHECKPOINT_LETTER_SPAN,
    CHECKPOINT_LETTER_SUFFIX,
    CHECKPOINT_LETTER_TAIL,
    ESTATE_DAY_FIGURES,
    LETTER_STATES,
    LETTER_STATES_MARK,
    MEASUREMENTS,
    RetentionClass,
)

_COPIES = (ESTATE_DAY_FIGURES.name, CHECKPOINT_DAY_FIGURES.name)  # checkpoint_day's packed copies (InfluxDB)
# the letters' states and their marks (InfluxDB): gone no later than the first of the letters they copy, so that a
# day's states are never read once its letters are gone (without them the letters' figures are read)
_STATES_COPIES = (LETTER_STATES.name, LETTER_STATES_MARK.name)
_STATES_OF = (
    CHECKPOINT_LETTER.name,
    CHECKPOINT_LETTER_SUFFIX.name,
    CHECKPOINT_LETTER_TAIL.name,
    CHECKPOINT_LETTER_SPAN.name,
)

DEFAULT_RETENTION = RetentionPolicy()
MIN_DAYS = 1  # InfluxDB 1.x refuses retention policies shorter than one hour; keep whole days


class RetentionError(ValueError):
    """A retention policy that cannot be applied as written."""


def class_days(policy: RetentionPolicy) -> dict[RetentionClass, int]:
    return {
        RetentionClass.RAW: policy.raw_days,
        RetentionClass.REJECTIONS: policy.rejections_days,
        RetentionClass.PROOF: policy.proof_days,
    }


def validate(policy: RetentionPolicy) -> None:
    """Fail fast (at start-up) with a clear message."""
    for name, days in (
        ("raw_days", policy.raw_days),
        ("rejections_days", policy.rejections_days),
        ("proof_days", policy.proof_days),
    ):
        if days < MIN_DAYS:
            raise RetentionError(f"retention {name}={days}: must be at least {MIN_DAYS} day")
    by_class = class_days(policy)
    known = {m.name: m.retention for m in MEASUREMENTS}
    for name, days in policy.extra.items():
        if name in _COPIES:
            raise RetentionError(
                f"retention extra[{name!r}]: the packed copy of checkpoint_day goes with it (set checkpoint_day's)"
            )
        if name in _STATES_COPIES:
            raise RetentionError(
                f"retention extra[{name!r}]: the letters' states go with the letters (set theirs: "
                f"{', '.join(_STATES_OF)})"
            )
        if name not in known:
            raise RetentionError(f"retention extra[{name!r}]: unknown measurement (known: {', '.join(sorted(known))})")
        if days < MIN_DAYS:
            raise RetentionError(f"retention extra[{name!r}]={days}: must be at least {MIN_DAYS} day")
        if days > by_class[known[name]]:
            raise RetentionError(
                f"retention extra[{name!r}]={days} is longer than its class {known[name].value!r} "
                f"({by_class[known[name]]} days): extra can only shorten"
            )


def measurement_days(policy: RetentionPolicy) -> dict[str, int]:
    """Days kept per measurement name."""
    validate(policy)
    by_class = class_days(policy)
    days = {m.name: policy.extra.get(m.name, by_class[m.retention]) for m in MEASUREMENTS}
    for name in _COPIES:
        days[name] = days[CHECKPOINT_DAY.name]  # a copy goes with the proof it copies
    for name in _STATES_COPIES:
        days[name] = min(days[x] for x in _STATES_OF)
    return days


def cutoff(now: datetime, days: int) -> datetime:
    """Records strictly before this instant are expired. Millisecond-aligned (the store's precision)."""
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    t = now.astimezone(UTC) - timedelta(days=days)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def cutoff_day(now: datetime, days: int) -> datetime:
    """For per-day records (rollups): midnight UTC of the cutoff's date, so whole days expire."""
    return datetime.combine(cutoff(now, days).date(), time(0), tzinfo=UTC)

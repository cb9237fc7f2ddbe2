"""The ``[detection]`` table: default thresholds, per checkpoint kind, per beacon (key prefix).

Kinds need the estate file to know which beacon sits at which kind of checkpoint; explicit beacon
prefixes win over kinds, and a whole key wins over a shorter prefix (``DetectionConfig`` rule).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ronde.gateway.detection import DetectionConfig, Thresholds
from ronde.gateway.toml_table import Table, boolean, integer, list_of, number, path, text
from ronde.protocol.kinds import CheckpointKind

_DBM = number(ge=-127, le=20)
_SECONDS = number(ge=0, le=3600)
_THRESHOLD_KEYS = {
    "enter_dbm": _DBM,
    "exit_dbm": _DBM,
    "min_samples": integer(ge=1, le=1000),
    "window_s": number(gt=0, le=600),
    "window_n": integer(ge=1, le=1000),
    "trim_fraction": number(ge=0, lt=0.5),
    "min_dwell_s": _SECONDS,
    "min_pass_s": _SECONDS,
    "pass_strong_dbm": _DBM,
    "away_fallback_s": number(gt=0, le=3600),
    "away_margin_s": _SECONDS,
    "max_away_s": number(gt=0, le=3600),
    "normalise": boolean,
}


@dataclasses.dataclass(frozen=True, slots=True)
class ThresholdsTable:
    """Any subset of ``Thresholds``; missing values come from ``[detection.default]``."""

    values: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def apply(self, base: Thresholds) -> Thresholds:
        return dataclasses.replace(base, **self.values)


def read_thresholds(table: Table) -> ThresholdsTable:
    values = {}
    for name, convert in _THRESHOLD_KEYS.items():
        value = table.take(name, convert, None)
        if value is not None:
            values[name] = value
    table.finish()
    return ThresholdsTable(MappingProxyType(values))


@dataclasses.dataclass(frozen=True, slots=True)
class DetectionTable:
    default: ThresholdsTable = ThresholdsTable()
    kinds: Mapping[CheckpointKind, ThresholdsTable] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    beacons: Mapping[str, ThresholdsTable] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    """Beacon key or key prefix, e.g. 'ibeacon:<uuid>:2:' or 'eddystone_eid:'."""
    estate_file: Path | None = None
    """Needed by [detection.kinds.*]; also restricts tracking to the estate's beacons."""
    accept: tuple[str, ...] | None = None
    """Beacon key prefixes to track; default: the estate file's beacons (+ 'eddystone_eid:'), or every beacon
    without an estate file."""
    forget_after_s: float = 600.0
    max_tracked: int = 10_000
    max_visit_s: float = 3600.0
    merge_gap_s: float = 180.0
    """Fragments closer than this are one visit."""


_KIND_WORDS = ", ".join(f"'{k.value}'" for k in list(CheckpointKind)[:-1]) + f" or '{list(CheckpointKind)[-1].value}'"


def read_detection(table: Table) -> DetectionTable:
    d = DetectionTable()
    default = table.table("default", read_thresholds, d.default)
    kinds: dict[CheckpointKind, ThresholdsTable] = {}
    for name, sub in _sub_tables(table, "kinds").items():
        try:
            kind = CheckpointKind(name)
        except ValueError:
            table.problems.add(f"{table.key('kinds')}.{name}", f"Input should be {_KIND_WORDS}")
            continue
        kinds[kind] = read_thresholds(Table(sub, f"{table.key('kinds')}.{name}", table.problems))
    beacons = {
        prefix: read_thresholds(Table(sub, f"{table.key('beacons')}.{prefix}", table.problems))
        for prefix, sub in _sub_tables(table, "beacons").items()
    }
    out = DetectionTable(
        default=default,
        kinds=MappingProxyType(kinds),
        beacons=MappingProxyType(beacons),
        estate_file=table.take("estate_file", path, None),
        accept=table.take("accept", list_of(text()), None),
        forget_after_s=table.take("forget_after_s", number(gt=0), d.forget_after_s),
        max_tracked=table.take("max_tracked", integer(ge=1), d.max_tracked),
        max_visit_s=table.take("max_visit_s", number(gt=0), d.max_visit_s),
        merge_gap_s=table.take("merge_gap_s", number(ge=0, le=3600), d.merge_gap_s),
    )
    table.finish()
    return out


def _sub_tables(table: Table, name: str) -> dict[str, Any]:
    """The tables under ``name`` (``[detection.kinds.*]``, ``[detection.beacons.*]``), keyed by their names."""
    holder = table.table(name, lambda t: t if t.ok else None, None)
    return {} if holder is None else holder.rest()


class DetectionConfigError(ValueError):
    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"{key}: {detail}")
        self.key = key
        self.detail = detail


def _thresholds(key: str, table: ThresholdsTable, base: Thresholds) -> Thresholds:
    try:
        return table.apply(base)
    except ValueError as exc:
        raise DetectionConfigError(key, str(exc)) from None


def build_detection_config(table: DetectionTable) -> DetectionConfig:  # noqa: PLR0912 - one branch per sub-key
    """Raises DetectionConfigError naming the sub-key at fault."""
    default = _thresholds("default", table.default, Thresholds())
    overrides: dict[str, Thresholds] = {}
    accept: tuple[str, ...] = ()
    if table.accept is not None:
        if any(not p for p in table.accept):
            raise DetectionConfigError("accept", "empty beacon key prefix (omit accept to track every beacon)")
        accept = tuple(table.accept)
    if table.kinds and table.estate_file is None:
        raise DetectionConfigError("kinds", "per-kind thresholds need detection.estate_file")
    if table.estate_file is not None:
        from ronde.protocol.estate import EstateFileError, load_estate  # only then: the estate parser and PyYAML

        try:
            registry = load_estate(table.estate_file)
        except EstateFileError as exc:
            raise DetectionConfigError("estate_file", str(exc)) from None
        except OSError as exc:
            raise DetectionConfigError("estate_file", f"cannot read {table.estate_file}: {exc.strerror}") from None
        if table.accept is None:  # strangers' beacons (shops, phones) are neither tracked nor reported
            keys = [cp.beacon.key for cp in registry.checkpoints.values() if cp.beacon.key is not None]
            eid = ["eddystone_eid:"] if registry.eid_checkpoints() else []
            accept = tuple(sorted(keys)) + tuple(eid)
        for kind, kind_table in table.kinds.items():
            th = _thresholds(f"kinds.{kind.value}", kind_table, default)
            for cp in registry.checkpoints.values():
                if cp.kind is kind and cp.beacon.key is not None:
                    overrides[cp.beacon.key] = th
    for prefix, beacon_table in table.beacons.items():
        if not prefix:
            raise DetectionConfigError("beacons", "empty beacon key prefix")
        overrides[prefix] = _thresholds(f"beacons.{prefix}", beacon_table, default)
    try:
        return DetectionConfig(
            default=default,
            overrides=overrides,
            forget_after_s=table.forget_after_s,
            max_tracked=table.max_tracked,
            max_visit_s=table.max_visit_s,
            merge_gap_s=table.merge_gap_s,
            accept_prefixes=accept,
        )
    except ValueError as exc:
        raise DetectionConfigError("", str(exc)) from None

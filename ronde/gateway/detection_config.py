"""The ``[detection]`` table: default thresholds, per checkpoint kind, per beacon (key prefix).

Kinds need the estate file to know which beacon sits at which kind of checkpoint; explicit beacon
prefixes win over kinds, and a whole key wins over a shorter prefix (``DetectionConfig`` rule).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ronde.gateway.detection import DetectionConfig, Thresholds
from ronde.protocol.kinds import CheckpointKind


class ThresholdsTable(BaseModel):
    """Any subset of ``Thresholds``; missing values come from ``[detection.default]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enter_dbm: float | None = Field(default=None, ge=-127, le=20)
    exit_dbm: float | None = Field(default=None, ge=-127, le=20)
    min_samples: int | None = Field(default=None, ge=1, le=1000)
    window_s: float | None = Field(default=None, gt=0, le=600)
    window_n: int | None = Field(default=None, ge=1, le=1000)
    trim_fraction: float | None = Field(default=None, ge=0, lt=0.5)
    min_dwell_s: float | None = Field(default=None, ge=0, le=3600)
    min_pass_s: float | None = Field(default=None, ge=0, le=3600)
    pass_strong_dbm: float | None = Field(default=None, ge=-127, le=20)
    away_fallback_s: float | None = Field(default=None, gt=0, le=3600)
    away_margin_s: float | None = Field(default=None, ge=0, le=3600)
    max_away_s: float | None = Field(default=None, gt=0, le=3600)
    normalise: bool | None = None

    def apply(self, base: Thresholds) -> Thresholds:
        return dataclasses.replace(base, **self.model_dump(exclude_none=True))


class DetectionTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    default: ThresholdsTable = ThresholdsTable()
    kinds: dict[CheckpointKind, ThresholdsTable] = Field(default_factory=dict)
    beacons: dict[str, ThresholdsTable] = Field(
        default_factory=dict, description="beacon key or key prefix, e.g. 'ibeacon:<uuid>:2:' or 'eddystone_eid:'"
    )
    estate_file: Path | None = Field(
        default=None, description="needed by [detection.kinds.*]; also restricts tracking to the estate's beacons"
    )
    accept: list[str] | None = Field(
        default=None,
        description="beacon key prefixes to track; default: the estate file's beacons (+ 'eddystone_eid:'), "
        "or every beacon without an estate file",
    )
    forget_after_s: float = Field(default=600.0, gt=0)
    max_tracked: int = Field(default=10_000, ge=1)
    max_visit_s: float = Field(default=3600.0, gt=0)
    merge_gap_s: float = Field(default=180.0, ge=0, le=3600, description="fragments closer than this are one visit")


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

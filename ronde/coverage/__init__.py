"""Coverage maths: what supervisors check and landlords pay for, counted in service time only.

Pure functions on registry, calendar, visits and rollups (``daily``, ``idleness``, ``sensing``,
``shares``, ``period``, ``live``), plus what reads them from a Store: ``compute`` (days folded), ``settled``
(months from their letters), ``query`` (``landlord_coverage`` and the API's ``CoverageCache``) and ``now``.
Figures are about places and teams, never a per-person activity score (see docs/coverage.md).
"""

from ronde.coverage.daily import DayFigures, day_figures, day_rollups
from ronde.coverage.idleness import Idleness, fold_idleness
from ronde.coverage.live import (
    CheckpointIdleness,
    MaintenanceFlag,
    MaintenanceReason,
    TeamCheckin,
    beacons_needing_maintenance,
    current_idleness,
    idle_over,
    last_checkins,
)
from ronde.coverage.now import (
    fair_share_for_period,
    idle_checkpoints_now,
    maintenance_now,
    previous_link,
    team_checkins_now,
)
from ronde.coverage.period import CheckpointDay, CheckpointPeriod, PeriodCoverage, combine_periods, period_coverage
from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.sensing import DayState, SensingEvidence, evidence_from
from ronde.coverage.service_time import service_seconds
from ronde.coverage.shares import FairShare, GroupCoverage, Level, Share, fair_share, group_coverage

__all__ = [
    "CheckpointDay",
    "CheckpointIdleness",
    "CheckpointPeriod",
    "CoverageCache",
    "DayFigures",
    "DayState",
    "FairShare",
    "GroupCoverage",
    "Idleness",
    "Level",
    "MaintenanceFlag",
    "MaintenanceReason",
    "PeriodCoverage",
    "SensingEvidence",
    "Share",
    "TeamCheckin",
    "beacons_needing_maintenance",
    "combine_periods",
    "current_idleness",
    "day_figures",
    "day_rollups",
    "evidence_from",
    "fair_share",
    "fair_share_for_period",
    "fold_idleness",
    "group_coverage",
    "idle_checkpoints_now",
    "idle_over",
    "landlord_coverage",
    "last_checkins",
    "maintenance_now",
    "period_coverage",
    "previous_link",
    "service_seconds",
    "team_checkins_now",
]

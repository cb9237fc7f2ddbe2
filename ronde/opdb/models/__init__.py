"""Every table of the operational database; importing this fills ``Base.metadata`` (Alembic's target)."""

from ronde.opdb.models.access import AccessLogRow, BadgeRow, GatewayRow, SessionRow, TokenRow
from ronde.opdb.models.base import Base, UtcDateTime
from ronde.opdb.models.field import (
    DeviceRow,
    EnrolmentRow,
    FieldContactRow,
    FieldEventRow,
    FieldPhotoRow,
    FieldRecordRow,
    FieldRequestRow,
)
from ronde.opdb.models.notify import AlertRow, BilanFileRow, BilanRow, DeliveryLogRow, DeliveryRow, LeaseRow
from ronde.opdb.models.registry import (
    BeaconRow,
    BuildingRow,
    CheckpointRow,
    EstateRow,
    LandlordRow,
    PathRow,
    RegistryStateRow,
    RevisionRow,
    WalkwayRow,
)
from ronde.opdb.models.service import CalendarRow, ClosedDateRow, PartnerEstateRow, PartnerRow

__all__ = [
    "AccessLogRow",
    "AlertRow",
    "BadgeRow",
    "Base",
    "BeaconRow",
    "BilanFileRow",
    "BilanRow",
    "BuildingRow",
    "CalendarRow",
    "CheckpointRow",
    "ClosedDateRow",
    "DeliveryLogRow",
    "DeliveryRow",
    "DeviceRow",
    "EnrolmentRow",
    "EstateRow",
    "FieldContactRow",
    "FieldEventRow",
    "FieldPhotoRow",
    "FieldRecordRow",
    "FieldRequestRow",
    "GatewayRow",
    "LandlordRow",
    "LeaseRow",
    "PartnerEstateRow",
    "PartnerRow",
    "PathRow",
    "RegistryStateRow",
    "RevisionRow",
    "SessionRow",
    "TokenRow",
    "UtcDateTime",
    "WalkwayRow",
]

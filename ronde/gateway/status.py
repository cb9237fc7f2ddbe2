"""Status, heartbeat and the outbox alarm: how supervisors (and the mediator) know the gateway's state.

Status is retained (QoS 1) and published directly, not through the outbox: it describes *now*, and
a stale "scanning" replayed after an outage would mislead. The broker publishes the will
(``offline``, retained) if the link dies. Heartbeats are QoS 0, direct: a missed one has no later
value, and their absence is itself the signal. Beacon telemetry goes through the outbox: it is rare (one
per beacon per period) and a battery reading taken in an underground car park is the one not to lose.

All of them are signed with the device key, like visits: supervision trusts "online, scanning" and
maintenance trusts a battery reading no less than coverage trusts a visit. The will is signed too,
when the link is set up: its ``at`` is null (it is written before the gateway knows when it will
be published, and the broker sends it unchanged), so it proves only that this gateway asked to be
reported offline if its link dies; ingest stamps it with the time it was received.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ronde.gateway.events import signed_json, utc
from ronde.gateway.wire import heartbeat_object, status_object
from ronde.protocol.signing import Signer

log = logging.getLogger(__name__)


class BatteryProbe(Protocol):
    def battery_pct(self) -> int | None:
        """0-100, or None if unknown."""
        ...


class NoBattery:
    def battery_pct(self) -> int | None:
        return None


class SysfsBattery:
    """Linux power-supply class: the first ``/sys/class/power_supply/*/capacity`` of type Battery."""

    def __init__(self, root: Path = Path("/sys/class/power_supply")) -> None:
        self.root = root

    def battery_pct(self) -> int | None:
        try:
            for supply in sorted(self.root.iterdir()):
                if (supply / "type").read_text().strip() == "Battery":
                    return max(0, min(100, int((supply / "capacity").read_text().strip())))
        except (OSError, ValueError):
            return None
        return None


@dataclass(slots=True)
class ScanRate:
    """Advertisements per second between two heartbeats (on the injected clock)."""

    count: int = 0
    since: float | None = None

    def add(self, n: int = 1) -> None:
        self.count += n

    def take(self, now: float) -> float:
        since, count = self.since, self.count
        self.since, self.count = now, 0
        if since is None or now <= since:
            return 0.0
        return round(count / (now - since), 2)


@dataclass(slots=True)
class DepthAlarm:
    """Raised at ``threshold`` events waiting, cleared at half of it (hysteresis: no flapping)."""

    threshold: int
    raised: bool = False
    _logged_at: int = field(default=0)

    def update(self, depth: int) -> bool:
        """True when the alarm state changed."""
        if not self.raised and depth >= self.threshold:
            self.raised = True
            log.error(
                "outbox alarm: %d events waiting (threshold %d); nothing is dropped, "
                "check the mobile link and the broker",
                depth,
                self.threshold,
            )
            return True
        if self.raised and depth <= self.threshold // 2:
            self.raised = False
            log.warning("outbox alarm cleared: %d events waiting", depth)
            return True
        return False


def status_payload(
    gateway_id: str,
    *,
    online: bool,
    at: float | None,
    scanning: bool,
    reason: str | None,
    key: Signer,
) -> bytes:
    """A signed status; ``at=None`` for the will (see the module docstring)."""
    return signed_json(
        status_object(
            gateway_id=gateway_id,
            online=online,
            at=None if at is None else utc(at),
            scanning=scanning,
            reason=None if reason is None else reason[:200],
        ),
        key,
    )


def heartbeat_payload(
    gateway_id: str,
    *,
    at: float,
    scanning: bool,
    in_service: bool,
    outbox_depth: int,
    next_seq: int,
    adverts_per_s: float,
    battery_pct: int | None,
    key: Signer,
) -> bytes:
    return signed_json(
        heartbeat_object(
            gateway_id=gateway_id,
            at=utc(at),
            scanning=scanning,
            in_service=in_service,
            outbox_depth=outbox_depth,
            next_seq=next_seq,
            adverts_per_s=adverts_per_s,
            battery_pct=battery_pct,
        ),
        key,
    )

"""The alert rules: what is wrong *now*, during service hours, as a set of causes.

Why causes and not events: each rule says which causes hold at this instant (a checkpoint idle, a gateway
offline…), and the runner compares that set with the alerts stored as open. A cause newly present is raised once;
one no longer present is resolved (a "résolu" message); one still present changes nothing. That is the whole of
deduplication and throttling, and it survives restarts because the open alerts are in the database.

Outside service hours (a night, a closed day: the calendar of the estate from the database) no rule runs and
nothing is raised or resolved: an alert still open at the end of the evening is resolved, or not, at the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ronde.opdb.field_facts import FieldFacts
from ronde.protocol import field_vocab
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.settings.notify_section import NotifySection
from ronde.store.port import Store

URGENT_LOOKBACK = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Cause:
    key: str  # stable: the same cause gives the same key at every tick
    rule: str
    title: str  # French, places only
    estate: str | None = None
    landlord: str | None = None
    landlord_may_know: bool = False  # an urgent report: subscribed landlords are told too


def _category(code: str) -> str:
    """The field app's French label of a report category (its id when unknown)."""
    return next((t.fr for t in field_vocab.CATEGORIES if t.id == code), code)


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def idle_checkpoints(
    store: Store, registry: Registry, calendar: ServiceCalendar, cfg: NotifySection, now: datetime
) -> list[Cause]:
    """A checkpoint in service whose last pass of this evening (or the evening's start) is older than its kind's
    threshold."""
    out: list[Cause] = []
    windows: dict[str, tuple[datetime, datetime]] = {}
    for cp in registry.checkpoints.values():
        cal = calendar.for_estate(cp.estate)
        day = cal.service_day(now)
        if day is not None:
            windows[cp.id] = cal.window(day)
    if not windows:
        return out
    earliest = min(w[0] for w in windows.values())
    last: dict[str, datetime] = {}
    for v in store.visits(earliest, now + timedelta(seconds=1), checkpoint_ids=list(windows)):
        seen = max(v.last_seen, v.first_seen)
        if v.checkpoint_id not in last or seen > last[v.checkpoint_id]:
            last[v.checkpoint_id] = seen
    for cid, (start, _) in sorted(windows.items()):
        cp = registry.checkpoints[cid]
        limit = timedelta(minutes=cfg.idle_minutes.get(str(cp.kind), cfg.idle_default_minutes))
        since = max(start, last.get(cid, start))
        if now - since > limit:
            out.append(
                Cause(
                    f"idle:{cid}",
                    "checkpoint_idle",
                    f"{cp.name} sans passage depuis {_minutes(now - since)} min (seuil {_minutes(limit)} min)",
                    cp.estate,
                    cp.landlord,
                )
            )
    return out


def gateways(store: Store, calendar: ServiceCalendar, cfg: NotifySection, now: datetime) -> list[Cause]:
    """A gateway offline (said so, or silent beyond the threshold) or whose outbox is past its alarm depth."""
    if not calendar.in_service(now):
        return []
    out: list[Cause] = []
    for gid, state in sorted(store.latest_gateway_states().items()):
        silent = now - state.at > timedelta(seconds=cfg.gateway_offline_after_s)
        if not state.online or silent:
            out.append(Cause(f"gateway:{gid}", "gateway_offline", f"passerelle {gid} hors ligne"))
        if state.outbox_depth is not None and state.outbox_depth >= cfg.outbox_alarm_depth:
            out.append(
                Cause(
                    f"outbox:{gid}",
                    "outbox_alarm",
                    f"passerelle {gid} : {state.outbox_depth} événements en attente d'envoi",
                )
            )
    return out


def beacons(
    store: Store, registry: Registry, calendar: ServiceCalendar, cfg: NotifySection, now: datetime
) -> list[Cause]:
    """A beacon whose battery is low, or not heard beyond the threshold (telemetry)."""
    out: list[Cause] = []
    silent_after = timedelta(minutes=cfg.beacon_silent_after_min)
    for cid, t in sorted(store.latest_telemetry().items()):
        cp = registry.checkpoints.get(cid)
        if cp is None or not calendar.for_estate(cp.estate).in_service(now):
            continue
        if t.battery_mv is not None and t.battery_mv < cfg.battery_low_mv:
            out.append(
                Cause(
                    f"battery:{cid}",
                    "beacon_battery",
                    f"balise de {cp.name} : pile faible ({t.battery_mv} mV)",
                    cp.estate,
                    cp.landlord,
                )
            )
        if now - t.at > silent_after:
            out.append(Cause(f"silent:{cid}", "beacon_silent", f"balise de {cp.name} muette", cp.estate, cp.landlord))
    return out


def field(field_facts: FieldFacts, calendar: ServiceCalendar, cfg: NotifySection, now: datetime) -> list[Cause]:
    """An urgent technical report not yet acknowledged; a request not assigned after N minutes."""
    out: list[Cause] = []
    for r in field_facts.technical_reports(None, now - URGENT_LOOKBACK, now + timedelta(seconds=1)):
        pending = r.urgency == "urgent" and r.acknowledged_at is None and r.status == "nouveau"
        if pending and calendar.for_estate(r.estate).in_service(now):
            out.append(
                Cause(
                    f"urgent:{r.id}",
                    "urgent_report",
                    f"signalement urgent ({_category(r.category)}) : {r.place}",
                    r.estate,
                    r.landlord,
                    landlord_may_know=True,
                )
            )
    late = timedelta(minutes=cfg.request_unassigned_min)
    for q in field_facts.requests(None, now - URGENT_LOOKBACK, now + timedelta(seconds=1)):
        waiting = q.assigned_at is None and q.status == "nouvelle" and now - q.created_at > late
        if waiting and calendar.for_estate(q.estate).in_service(now):
            out.append(
                Cause(
                    f"request:{q.id}",
                    "request_unassigned",
                    f"demande non affectée depuis {_minutes(now - q.created_at)} min : {q.place}",
                    q.estate,
                    q.landlord,
                )
            )
    return out


def current_causes(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    cfg: NotifySection,
    now: datetime,
    field_facts: FieldFacts | None = None,
) -> list[Cause]:
    """Every cause holding at ``now``; empty outside service hours of every estate."""
    if not any(calendar.for_estate(e).in_service(now) for e in registry.estates) and not calendar.in_service(now):
        return []
    out: list[Cause] = []
    out += idle_checkpoints(store, registry, calendar, cfg, now)
    out += gateways(store, calendar, cfg, now)
    out += beacons(store, registry, calendar, cfg, now)
    if field_facts is not None:
        out += field(field_facts, calendar, cfg, now)
    return out


def in_any_service(registry: Registry, calendar: ServiceCalendar, now: datetime) -> bool:
    return calendar.in_service(now) or any(calendar.for_estate(e).in_service(now) for e in registry.estates)


def keys(causes: Sequence[Cause]) -> list[str]:
    return [c.key for c in causes]

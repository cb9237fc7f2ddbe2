"""``ronde notify run``: every tick, the leader issues due bilans, runs the alert rules, and sends what is queued.

Why a lease and claims both: the lease (a row with an expiry, renewed each tick) keeps a second runner idle, so
bilans are built and rules evaluated once; the per-delivery claim (``ronde.opdb.notify_repo.claim``) is what makes
a message go out once even when a lease changes hands mid-send. Two runners started together therefore send each
message once, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ronde.audit.pdf import FontMissing
from ronde.audit.report import ReportError
from ronde.notify.alerts import Cause, current_causes, in_any_service, keys
from ronde.notify.bilans import due_month, issue_bilan
from ronde.notify.deliver import Outcome, deliver_due
from ronde.notify.texts import alert_body, alert_subject
from ronde.opdb.current import read_current
from ronde.opdb.engine import session_factory
from ronde.opdb.field_facts import FieldFacts
from ronde.opdb.notify_repo import Alert, acquire_lease, enqueue, raise_alert, release_lease, resolve_alerts
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.settings.notify_section import LandlordRecipients, NotifySection
from ronde.store.port import Store, StoreUnavailable

log = logging.getLogger(__name__)
LEASE = "notify"


@dataclass
class Runner:
    engine: Engine
    store: Store
    cfg: NotifySection
    key: Ed25519PrivateKey
    name: str
    field_facts: FieldFacts | None = None
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.sessions: sessionmaker[Session] = session_factory(self.engine)

    def lead(self, now: datetime) -> bool:
        with self.sessions() as s, s.begin():
            return acquire_lease(s, LEASE, self.name, now, timedelta(seconds=self.cfg.lease_s))

    def release(self) -> None:
        with self.sessions() as s, s.begin():
            release_lease(s, LEASE, self.name)

    def tick(self, now: datetime) -> TickResult:
        """One pass; a runner that does not hold the lease does nothing."""
        if not self.lead(now):
            return TickResult(leader=False)
        current = read_current(self.engine)
        bilans = self.bilans(current.registry, current.calendar, now)
        try:
            raised, resolved = self.alerts(current.registry, current.calendar, now)
        except StoreUnavailable as exc:  # the rules run again at the next tick; deliveries go out meanwhile
            log.warning("alert rules skipped at %s: store unavailable: %s", now.isoformat(), exc)
            raised = resolved = 0
        outcome = deliver_due(self.sessions, self.cfg, self.name, now, self.rng)
        return TickResult(True, bilans, raised, resolved, outcome)

    def bilans(self, registry: Registry, calendar: ServiceCalendar, now: datetime) -> int:
        """Issue (and queue) every landlord's bilan of the due month not issued yet; how many were issued."""
        month = due_month(self.cfg, calendar, now)
        if month is None:
            return 0
        issued = 0
        for landlord in sorted(registry.landlords):
            # a landlord without recipients still gets its bilan issued and kept (preview, resend later)
            recipients = self.cfg.landlords.get(landlord) or LandlordRecipients()
            try:
                created = self._issue(registry, calendar, landlord, month, recipients, now)
            except (ReportError, StoreUnavailable, FontMissing, OSError) as exc:
                # one landlord's failure stops neither the others nor the alerts; tried again at the next tick
                log.error("bilan of %s for %s not issued: %s", landlord, month.isoformat()[:7], exc)  # noqa: TRY400 - an expected failure: its reason, no traceback
                continue
            issued += created
        return issued

    def _issue(
        self,
        registry: Registry,
        calendar: ServiceCalendar,
        landlord: str,
        month: date,
        recipients: LandlordRecipients,
        now: datetime,
    ) -> bool:
        with self.sessions() as s, s.begin():
            _, created = issue_bilan(
                s,
                store=self.store,
                registry=registry,
                calendar=calendar,
                landlord=landlord,
                month=month,
                recipients=recipients,
                key=self.key,
                now=now,
                field=self.field_facts,
                folder=self.cfg.bilan_folder,
            )
        return created

    def alerts(self, registry: Registry, calendar: ServiceCalendar, now: datetime) -> tuple[int, int]:
        """Raise new causes, resolve gone ones, queue their messages; nothing outside service hours."""
        if not in_any_service(registry, calendar, now):
            return 0, 0
        causes = current_causes(self.store, registry, calendar, self.cfg, now, self.field_facts)
        by_key = {c.key: c for c in causes}
        raised = resolved = 0
        with self.sessions() as s, s.begin():
            for c in causes:
                alert = raise_alert(
                    s, cause=c.key, rule=c.rule, title=c.title, now=now, estate=c.estate, landlord=c.landlord
                )
                if alert is not None:
                    raised += 1
                    self._queue_alert(s, alert, c, now, resolved=False)
            for alert in resolve_alerts(s, keys(causes), now):
                resolved += 1
                self._queue_alert(s, alert, by_key.get(alert.cause), now, resolved=True)
        return raised, resolved

    def _queue_alert(self, s: Session, alert: Alert, cause: Cause | None, now: datetime, *, resolved: bool) -> None:
        phase = "resolved" if resolved else "raised"
        subject = alert_subject(alert.title, resolved=resolved)
        body = alert_body(alert.title, alert.raised_at, now if resolved else None)
        targets = [("email", a) for a in self.cfg.supervisors]
        if self.cfg.supervisor_webhook:
            targets.append(("webhook", self.cfg.supervisor_webhook))
        urgent = cause.landlord_may_know if cause is not None else alert.rule == "urgent_report"
        if urgent and alert.landlord in self.cfg.landlords and self.cfg.landlords[alert.landlord].urgent_reports:
            subscribed = self.cfg.landlords[alert.landlord]
            targets += [("email", a) for a in subscribed.emails]
        payload = json.dumps(
            {
                "type": "alert",
                "state": phase,
                "rule": alert.rule,
                "cause": alert.cause,
                "title": alert.title,
                "estate": alert.estate,
                "raised_at": alert.raised_at.isoformat(),
                "resolved_at": now.isoformat() if resolved else None,
            },
            ensure_ascii=False,
        )
        for channel, target in targets:
            enqueue(
                s,
                key=f"alert:{alert.id}:{phase}:{channel}:{target}",
                kind="alert",
                channel=channel,
                target=target,
                subject=subject,
                body=payload if channel == "webhook" else body,
                now=now,
                landlord=alert.landlord,
            )


@dataclass(frozen=True, slots=True)
class TickResult:
    leader: bool
    bilans: int = 0
    raised: int = 0
    resolved: int = 0
    delivered: Outcome = field(default_factory=Outcome)

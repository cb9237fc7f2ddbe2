"""The demo's bilan and alerts (issue 15), so that a newcomer sees both after the evening.

The alert rules run once at the last minute of the replayed evening (what a runner would have raised by then:
checkpoints left idle, the demo's urgent report not yet acknowledged), and Paris Habitat's bilan of the month
so far is issued and kept, exactly as ``ronde notify run`` does, with nobody to send them to: the supervision page
lists the alerts, and the bilan's files are served by ``/api/v1/notify/bilans/…``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TextIO

from sqlalchemy import Engine

from ronde.audit.keys import load_signing_key
from ronde.notify.bilans import issue_bilan
from ronde.notify.runner import Runner
from ronde.opdb.current import read_current
from ronde.opdb.engine import session_factory
from ronde.opdb.field_facts_db import DatabaseFieldFacts
from ronde.settings.notify_section import LandlordRecipients, NotifySection
from ronde.store.port import Store

LANDLORD = "paris-habitat"


@dataclass(frozen=True, slots=True)
class DemoNotify:
    alerts: int
    bilan_id: str
    pdf: str


def demo_notify(engine: Engine, store: Store, day: date, now: datetime) -> DemoNotify:
    current = read_current(engine)
    field = DatabaseFieldFacts(engine)
    key = load_signing_key()
    runner = Runner(engine, store, NotifySection(), key, "demo", field)
    _, end = current.calendar.window(day)
    raised, _ = runner.alerts(current.registry, current.calendar, end - timedelta(minutes=1))
    with session_factory(engine).begin() as s:
        stored, _ = issue_bilan(
            s,
            store=store,
            registry=current.registry,
            calendar=current.calendar,
            landlord=LANDLORD,
            month=day.replace(day=1),
            recipients=LandlordRecipients(),
            key=key,
            now=now,
            field=field,
        )
    return DemoNotify(raised, stored.bilan_id, f"bilan-{LANDLORD}-{day:%Y-%m}.pdf")


def print_notify(result: DemoNotify, url: str, out: TextIO) -> None:
    base = url.rstrip("/")
    out.write(f"Alertes de la soirée : {result.alerts} (page de supervision : {base}/ui/supervision)\n")
    out.write(f"Bilan mensuel de Paris Habitat : {base}/api/v1/notify/bilans/{result.bilan_id}/{result.pdf}\n")

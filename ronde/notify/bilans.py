"""When the bilans go, and issuing them: one per landlord, kept in the database, queued for its recipients.

Why the schedule is a threshold and not an event: the runner looks every few seconds; from the configured day and
hour of a month (Europe/Paris by default) the previous month is due, and a landlord whose bilan for that month is
not yet in the database gets it. A runner down at 02:00 issues it when it comes back; a rerun finds it issued.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from ronde.audit.bilan import build_bilan, month_bounds, previous_month
from ronde.audit.bilan_export import render_bilan_files
from ronde.audit.keys import fingerprint
from ronde.audit.labels import Lang
from ronde.notify.texts import bilan_body, bilan_subject
from ronde.opdb.field_facts import FieldFacts
from ronde.opdb.notify_repo import StoredBilan, enqueue, find_bilan, put_bilan
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.settings.notify_section import LandlordRecipients, NotifySection
from ronde.store.port import Store


def due_month(cfg: NotifySection, calendar: ServiceCalendar, now: datetime) -> date | None:
    """The month whose bilans are due at ``now``: the previous one, from ``bilan_day`` at ``bilan_hour`` local
    time, and only once its last service evening has ended (an evening past midnight included)."""
    tz = ZoneInfo(cfg.timezone)
    local = now.astimezone(tz)
    start = datetime.combine(date(local.year, local.month, cfg.bilan_day), time(cfg.bilan_hour), tzinfo=tz)
    if local < start:
        return None
    month = previous_month(local.date())
    first, last = month_bounds(month)
    days = list(calendar.service_days(first, last))
    if days and calendar.window(days[-1])[1] > now:
        return None
    return month


def issue_bilan(
    session: Session,
    *,
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    landlord: str,
    month: date,
    recipients: LandlordRecipients,
    key: Ed25519PrivateKey,
    now: datetime,
    field: FieldFacts | None,
    folder: Path | None = None,
) -> tuple[StoredBilan, bool]:
    """Build, sign and keep ``landlord``'s bilan for ``month`` and queue it for its recipients, in the caller's
    transaction (both or neither); the one kept already, and False, when it was issued before."""
    lang = Lang(recipients.lang)
    found = find_bilan(session, landlord, month, lang.value)
    if found is not None:
        return found, False
    bilan = build_bilan(store, registry, calendar, landlord, month, field=field, now=now)
    files = render_bilan_files(bilan, lang, key)
    stored = put_bilan(
        session,
        bilan_id=bilan.bilan_id,
        landlord=landlord,
        month=bilan.month,
        lang=lang.value,
        files={name: (hashlib.sha256(data).hexdigest(), data) for name, data in files.items()},
        now=now,
    )
    if folder is not None:  # a copy for the site's own archive (``bilan_folder``); the database's is the reference
        target = folder / landlord
        target.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (target / name).write_bytes(data)
    queue_bilan(
        session,
        stored,
        files,
        recipients,
        subject=bilan_subject(bilan),
        body=bilan_body(bilan, fingerprint(key)),
        now=now,
    )
    return stored, True


def queue_bilan(
    session: Session,
    stored: StoredBilan,
    files: dict[str, bytes],
    recipients: LandlordRecipients,
    *,
    subject: str,
    body: str,
    now: datetime,
) -> int:
    """One delivery per address and one for the webhook; the number newly queued (0 on a rerun)."""
    stem = f"bilan:{stored.landlord}:{stored.month.isoformat()[:7]}:{stored.lang}"
    added = 0
    for address in recipients.emails:
        added += enqueue(
            session,
            key=f"{stem}:email:{address}",
            kind="bilan",
            channel="email",
            target=address,
            subject=subject,
            body=body,
            now=now,
            landlord=stored.landlord,
            bilan=stored.id,
        )
    if recipients.webhook:
        payload = {
            "type": "bilan",
            "landlord": stored.landlord,
            "month": stored.month.isoformat()[:7],
            "bilan_id": stored.bilan_id,
            "files": {name: base64.b64encode(data).decode("ascii") for name, data in sorted(files.items())},
        }
        added += enqueue(
            session,
            key=f"{stem}:webhook:{recipients.webhook}",
            kind="bilan",
            channel="webhook",
            target=recipients.webhook,
            subject=subject,
            body=json.dumps(payload, ensure_ascii=False),
            now=now,
            landlord=stored.landlord,
            bilan=stored.id,
        )
    return added

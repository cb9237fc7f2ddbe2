"""What the supervision page shows of ``ronde notify run`` (issue 15): alerts in progress, and deliveries that
failed and wait for their retry, read from the operational database (never from the runner)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from ronde.api.web.html import Html, el
from ronde.api.web.i18n import PageLang
from ronde.opdb.engine import read_only, session_factory
from ronde.opdb.notify_repo import FAILED, Alert, deliveries, open_alerts

SHOWN_FAILURES = 5


def alerts_in_progress(engine: Engine) -> list[Alert]:
    with session_factory(read_only(engine))() as s:
        return open_alerts(s)


def failed_deliveries_note(engine: Engine, lang: PageLang, moment: Callable[[datetime | None], str]) -> Html | None:
    """A warning naming the deliveries waiting for a retry (what, to whom, why, next try), or None."""
    with session_factory(read_only(engine))() as s:
        failed = deliveries(s, status=FAILED, limit=SHOWN_FAILURES + 1)
    if not failed:
        return None
    if lang == "fr":
        head = f"{len(failed) if len(failed) <= SHOWN_FAILURES else 'Plus de 5'} envoi(s) en échec, réessayé(s) :"
        line = "{subject} → {target} : {error} (nouvel essai {at})"
    else:
        head = f"{len(failed) if len(failed) <= SHOWN_FAILURES else 'More than 5'} failed delivery(ies), retried:"
        line = "{subject} → {target}: {error} (next try {at})"
    items = [
        el(
            "li",
            line.format(subject=d.subject, target=d.target, error=d.last_error or "?", at=moment(d.next_attempt_at)),
        )
        for d in failed[:SHOWN_FAILURES]
    ]
    return el("div", el("p", head), el("ul", *items), id="deliveries-failed", class_="warning", role="status")

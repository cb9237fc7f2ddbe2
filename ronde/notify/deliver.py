"""Sending what is queued: claim one delivery, send it outside any transaction, record the outcome.

Why the send happens between two short transactions: an SMTP server can take thirty seconds to refuse; holding a
database transaction (SQLite's write lock) that long would stall the API. A failure is logged with its reason and
the delivery is due again after the project's capped, jittered backoff (``ronde.protocol.backoff``): nothing is
dropped when the mail server is down at 02:00, and it goes out once when the server is back.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ronde.notify.mail import DeliveryError, SmtpConfig, build_message, send_mail
from ronde.notify.webhook import post_webhook, webhook_body
from ronde.opdb.notify_repo import Delivery, bilan_files, claim, due, mark_failed, mark_sent
from ronde.protocol.backoff import Backoff
from ronde.settings.notify_section import NotifySection

CLAIM_MARGIN = timedelta(seconds=60)


def smtp_config(cfg: NotifySection) -> SmtpConfig | None:
    if cfg.smtp_host is None:
        return None
    return SmtpConfig(
        host=cfg.smtp_host,
        port=cfg.smtp_port,
        security=cfg.smtp_security,
        sender=cfg.mail_from,
        user=cfg.smtp_user,
        password=cfg.smtp_password.get_secret_value() if cfg.smtp_password else None,
        ca_file=cfg.smtp_ca,
        timeout_s=cfg.smtp_timeout_s,
    )


def retry_delay(cfg: NotifySection, attempts: int, rng: random.Random) -> float:
    """The wait after the ``attempts``-th failed attempt: full jitter below min(cap, base·2^(attempts-1))."""
    backoff = Backoff(cfg.retry_base_s, cfg.retry_cap_s, rng=rng)
    backoff.attempt = max(0, attempts - 1)
    return backoff.next_delay()


def _send(session: Session, cfg: NotifySection, d: Delivery, now: datetime) -> str:
    if d.channel == "email":
        smtp = smtp_config(cfg)
        if smtp is None:
            raise DeliveryError("no smtp_host in [notify]: e-mail cannot be sent")
        with session.begin():
            attachments = bilan_files(session, d.bilan) if d.bilan is not None else {}
        return send_mail(smtp, build_message(smtp, d.target, d.subject, d.body, attachments))
    if d.channel == "webhook":
        if cfg.webhook_secret is None:
            raise DeliveryError("no webhook_secret (RONDE_WEBHOOK_SECRET): a webhook is never sent unsigned")
        body = webhook_body(json.loads(d.body), now)
        return post_webhook(
            d.target, body, cfg.webhook_secret.get_secret_value().encode(), timeout_s=cfg.webhook_timeout_s, now=now
        )
    raise DeliveryError(f"unknown channel {d.channel!r}")


@dataclass(frozen=True, slots=True)
class Outcome:
    sent: int = 0
    failed: int = 0


def deliver_due(
    sessions: sessionmaker[Session], cfg: NotifySection, runner: str, now: datetime, rng: random.Random
) -> Outcome:
    """Attempt every delivery due at ``now`` that this runner can claim."""
    hold = timedelta(seconds=max(cfg.smtp_timeout_s, cfg.webhook_timeout_s) * 3) + CLAIM_MARGIN
    with sessions() as s:
        with s.begin():
            ids = due(s, now)
        sent = failed = 0
        for delivery_id in ids:
            with s.begin():
                d = claim(s, delivery_id, runner, now, hold)
            if d is None:
                continue  # another runner has it, or it went out meanwhile
            try:
                detail = _send(s, cfg, d, now)
            except DeliveryError as exc:
                failed += 1
                with s.begin():
                    retry_at = now + timedelta(seconds=retry_delay(cfg, d.attempts, rng))
                    mark_failed(s, d.id, runner, now, str(exc), retry_at)
            else:
                sent += 1
                with s.begin():
                    mark_sent(s, d.id, runner, now, detail)
    return Outcome(sent, failed)

"""E-mail through the standard library's smtplib: STARTTLS (port 587), implicit TLS (465), or plain for a local relay.

Why smtplib and no library: one message per bilan or alert, a few a day; the standard library does TLS with the
system's (or a given) CA file, which is all that is needed, and a mail server's refusal comes back as an
exception whose text is kept in the delivery log.
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

# Headers folded at 78 columns came back with a doubled space where the fold met an encoded word ("Hall A  – 4
# rue…" in the subject a reader sees): 998 is RFC 5322's own limit, under which nothing is folded.
HEADERS_UNFOLDED = email.policy.default.clone(max_line_length=998)
MIME = {".pdf": ("application", "pdf"), ".csv": ("text", "csv"), ".json": ("application", "json")}


class DeliveryError(RuntimeError):
    """A message could not be delivered now; the text says why (kept in the delivery log, retried later)."""


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # starttls, tls, none
    sender: str
    user: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    timeout_s: float = 30.0


def build_message(
    cfg: SmtpConfig, to: str, subject: str, body: str, attachments: Mapping[str, bytes] | None = None
) -> EmailMessage:
    """A French text message (UTF-8) with its attachments (PDF, CSV, JSON, manifests)."""
    msg = EmailMessage(policy=HEADERS_UNFOLDED)
    msg["From"] = cfg.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rpartition("@")[2] or None)
    msg["Content-Language"] = "fr"
    msg.set_content(body, charset="utf-8")
    for name, data in (attachments or {}).items():
        suffix = name[name.rfind(".") :] if "." in name else ""
        maintype, subtype = MIME.get(suffix, ("application", "octet-stream"))
        # a text attachment says its charset, or a reader decodes the CSV's accents as ASCII
        params = {"charset": "utf-8"} if maintype == "text" else {}
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name, params=params)
    return msg


def _context(cfg: SmtpConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)


def send_mail(cfg: SmtpConfig, msg: EmailMessage) -> str:
    """Send ``msg``; the server's answer on success. Raises DeliveryError for anything that stops it (server down,
    TLS refused, authentication, recipient refused)."""
    try:
        if cfg.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=_context(cfg))
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        with client:
            client.ehlo()
            if cfg.security == "starttls":
                client.starttls(context=_context(cfg))
                client.ehlo()
            if cfg.user:
                client.login(cfg.user, cfg.password or "")
            refused = client.send_message(msg)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}") from None
    if refused:
        raise DeliveryError(f"recipients refused: {sorted(refused)}")
    return f"accepted by {cfg.host}:{cfg.port}"

"""Signed webhooks: a JSON POST whose ``X-Ronde-Signature`` header is ``sha256=<hex HMAC-SHA256 of the body>``.

Why HMAC over the exact bytes sent, with the time inside: the receiver recomputes it with the shared secret
before reading anything, so a forged or replayed-and-edited message is refused; ``X-Ronde-Timestamp`` (also in
the signed body) lets it refuse an old one. Only 2xx counts as delivered; anything else is retried later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ronde.notify.mail import DeliveryError
from ronde.redact import redact_url

SIGNATURE_HEADER = "X-Ronde-Signature"
TIMESTAMP_HEADER = "X-Ronde-Timestamp"
HTTP_OK_FIRST, HTTP_OK_LAST = 200, 299


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: the signed body never follows it elsewhere (another host, or a
    scheme urllib would open such as ftp://)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:  # noqa: ARG002 - refuses them all
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """What a receiver runs (and the tests' receiver does): constant-time comparison."""
    return header is not None and hmac.compare_digest(signature(secret, body), header)


def webhook_body(payload: Mapping[str, Any], now: datetime) -> bytes:
    return json.dumps({**payload, "sent_at": now.astimezone(UTC).isoformat()}, ensure_ascii=False).encode("utf-8")


def post_webhook(url: str, body: bytes, secret: bytes, *, timeout_s: float, now: datetime) -> str:
    """POST ``body`` signed with ``secret``; the answer's status on 2xx, else DeliveryError."""
    if not url.lower().startswith(("http://", "https://")):
        raise DeliveryError(f"not an http(s) URL: {redact_url(url)!r}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "ronde-notify",
            SIGNATURE_HEADER: signature(secret, body),
            TIMESTAMP_HEADER: str(int(now.timestamp())),
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout_s) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook {redact_url(url)}: HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"webhook {redact_url(url)}: {type(exc).__name__}: {exc}") from None
    if not HTTP_OK_FIRST <= status <= HTTP_OK_LAST:
        raise DeliveryError(f"webhook {redact_url(url)}: HTTP {status}")
    return f"HTTP {status}"

"""The senders against real receivers: aiosmtpd (plain, STARTTLS with a self-signed certificate, the certificate
refused without its CA), and a local HTTP server checking the webhook's HMAC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ronde.notify.mail import DeliveryError, SmtpConfig, build_message, send_mail
from ronde.notify.webhook import post_webhook, signature, webhook_body
from tests.notify.conftest import Cert, SmtpSink, WebhookReceiver
from tests.support.services import free_port

NOW = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
FILES = {"bilan.pdf": b"%PDF-1.4 test", "bilan.csv": "Lieu;Passages\nHall A – é;3\n".encode()}


def _cfg(sink: SmtpSink, security: str, cert: Cert | None = None) -> SmtpConfig:
    return SmtpConfig(sink.host, sink.port, security, "ronde@example.org", ca_file=cert.cert if cert else None)


def test_plain_smtp_delivers_the_french_body_and_attachments(smtp_sink: SmtpSink) -> None:
    cfg = _cfg(smtp_sink, "none")
    answer = send_mail(
        cfg, build_message(cfg, "direction@bailleur.example", "Bilan – octobre", "Bonjour,\né à ç", FILES)
    )
    assert answer.startswith("accepted by")
    (got,) = smtp_sink.received
    assert got.rcpt_tos == ["direction@bailleur.example"]
    assert got.message["Subject"] == "Bilan – octobre"
    body = got.message.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Bonjour,\né à ç\n"  # CRLF on the wire
    attached = {p.get_filename(): p.get_content() for p in got.message.iter_attachments()}
    assert attached["bilan.pdf"] == FILES["bilan.pdf"]
    assert attached["bilan.csv"].replace("\r\n", "\n") == FILES["bilan.csv"].decode()


def test_starttls_with_the_servers_ca(starttls_sink: SmtpSink, cert: Cert) -> None:
    cfg = _cfg(starttls_sink, "starttls", cert)
    send_mail(cfg, build_message(cfg, "a@b.example", "s", "b", FILES))
    assert len(starttls_sink.received) == 1


def test_starttls_refuses_a_certificate_it_cannot_check(starttls_sink: SmtpSink) -> None:
    cfg = _cfg(starttls_sink, "starttls")  # system CAs only: the self-signed certificate is refused
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        send_mail(cfg, build_message(cfg, "a@b.example", "s", "b"))
    assert starttls_sink.received == []


def test_plain_to_a_server_requiring_starttls_is_refused(starttls_sink: SmtpSink) -> None:
    cfg = _cfg(starttls_sink, "none")
    with pytest.raises(DeliveryError, match="SMTP"):
        send_mail(cfg, build_message(cfg, "a@b.example", "s", "b"))


def test_implicit_tls(cert: Cert) -> None:
    sink = SmtpSink("localhost", free_port())
    sink.start(ssl_context=cert.server_context())
    try:
        cfg = _cfg(sink, "tls", cert)
        send_mail(cfg, build_message(cfg, "a@b.example", "s", "b", FILES))
    finally:
        sink.stop()
    assert len(sink.received) == 1


def test_a_server_down_is_a_delivery_error() -> None:
    cfg = SmtpConfig("127.0.0.1", free_port(), "none", "ronde@example.org", timeout_s=2)
    with pytest.raises(DeliveryError, match="ConnectionRefusedError"):
        send_mail(cfg, build_message(cfg, "a@b.example", "s", "b"))


def test_webhook_signed_and_checked(webhook: WebhookReceiver) -> None:
    body = webhook_body({"type": "alert", "title": "Hall A"}, NOW)
    assert post_webhook(webhook.url, body, webhook.secret, timeout_s=5, now=NOW) == "HTTP 204"
    assert webhook.accepted == [{"type": "alert", "title": "Hall A", "sent_at": NOW.isoformat()}]
    assert signature(webhook.secret, body).startswith("sha256=")


def test_webhook_with_the_wrong_secret_is_refused(webhook: WebhookReceiver) -> None:
    with pytest.raises(DeliveryError, match="HTTP 401"):
        post_webhook(webhook.url, b"{}", b"another secret", timeout_s=5, now=NOW)
    assert webhook.accepted == []
    assert len(webhook.refused) == 1


def test_webhook_receiver_down_is_a_delivery_error(webhook: WebhookReceiver) -> None:
    webhook.fail_next = 1
    with pytest.raises(DeliveryError, match="HTTP 503"):
        post_webhook(webhook.url, b"{}", webhook.secret, timeout_s=5, now=NOW)
    with pytest.raises(DeliveryError, match="not an http"):
        post_webhook("file:///etc/passwd", b"{}", webhook.secret, timeout_s=5, now=NOW)

"""Hostile input on notify's paths (issue 15): every one answers with a clear reason, none hangs or crashes.

An SMTP server that accepts and never speaks, a webhook that never answers or redirects the signed body
elsewhere, bilan manifests that are not what they claim, an alert title carrying markup on the supervision page,
and a landlord whose bilan cannot be built (the others still are).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ronde.audit.export import read_report
from ronde.audit.report import ReportError
from ronde.notify.mail import DeliveryError, SmtpConfig, build_message, send_mail
from ronde.notify.webhook import post_webhook
from tests.support.services import free_port

NOW = datetime(2026, 11, 1, 1, tzinfo=UTC)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never sends a byte (an SMTP or HTTP server stuck)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for c in held:
        c.close()
    listener.close()


def test_an_smtp_server_that_never_answers_times_out(silent_server: int) -> None:
    cfg = SmtpConfig("127.0.0.1", silent_server, "starttls", "ronde@example.org", timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"SMTP 127\.0\.0\.1:\d+: .*timed out"):
        send_mail(cfg, build_message(cfg, "a@b.example", "s", "b"))
    assert time.monotonic() - started < 10


def test_a_webhook_that_never_answers_times_out(silent_server: int) -> None:
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="timed out"):
        post_webhook(f"http://127.0.0.1:{silent_server}/hook", b"{}", b"k", timeout_s=1.0, now=NOW)
    assert time.monotonic() - started < 10


def test_a_webhook_redirect_is_not_followed() -> None:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", "/elsewhere" if self.path == "/hook" else "ftp://example.org/x")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(DeliveryError, match="HTTP 307"):
            post_webhook(f"http://127.0.0.1:{port}/hook", b"{}", b"k", timeout_s=5, now=NOW)
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/hook"]  # the signed body went nowhere else


@pytest.mark.parametrize(
    ("sidecar", "reason"),
    [
        ('{"format": "ronde-bilan", "version": 2}', "malformed manifest"),
        ('{"format": "ronde-bilan", "version": 99}', "unsupported manifest version 99"),
        ("[1, 2, 3]", "no manifest found"),
        ("{not json", "not valid JSON"),
    ],
)
def test_a_bilan_csv_with_a_broken_manifest_is_refused_with_its_reason(
    tmp_path: Path, sidecar: str, reason: str
) -> None:
    doc = tmp_path / "bilan-x-2026-10.csv"
    doc.write_text("Lieu;Passages\n", encoding="utf-8")
    (tmp_path / "bilan-x-2026-10.csv.manifest.json").write_text(sidecar, encoding="utf-8")
    with pytest.raises(ReportError, match=reason):
        read_report(doc)


def test_a_bilan_manifest_without_a_file_digest_is_a_document_problem(tmp_path: Path) -> None:
    from ronde.audit.bilan import build_bilan
    from ronde.audit.bilan_export import write_bilan
    from ronde.audit.keys import load_signing_key
    from ronde.audit.labels import Lang
    from ronde.protocol.calendar import ServiceCalendar
    from ronde.store.sqlite import SqliteStore
    from tests.coverage.factory import registry

    store = SqliteStore(tmp_path / "s.db")
    store.open()
    bilan = build_bilan(store, registry(), ServiceCalendar(), "paris-habitat", NOW.date().replace(day=1), now=NOW)
    store.close()
    write_bilan(bilan, tmp_path, Lang.FR, load_signing_key())
    sidecar = tmp_path / "bilan-paris-habitat-2026-11.json.manifest.json"
    data = json.loads(sidecar.read_text())
    del data["file_sha256"]
    sidecar.write_text(json.dumps(data))
    _, problems = read_report(tmp_path / "bilan-paris-habitat-2026-11.json")
    assert problems == ("the bilan manifest for bilan-paris-habitat-2026-11.json holds no file digest",)

"""The production default is MQTT over TLS (port 8883): a real mosquitto with a throw-away CA."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ronde.gateway.app import link_settings
from ronde.gateway.mqtt_link import Connected, PahoLink, Published
from tests.gateway.support import eventually, make_config
from tests.support.services import run_mosquitto

pytestmark = [pytest.mark.mosquitto]


def _cert(
    subject: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    key: ec.EllipticCurvePrivateKey,
    ca: bool,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def write_pki(tmp: Path) -> tuple[Path, Path, Path]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("ronde test CA", ca_key, None, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("127.0.0.1", ca_key, ca.subject, key, ca=False)
    paths = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


async def test_tls_link_verifies_the_broker_and_publishes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ca, cert, key = write_pki(tmp_path)
    broker_config = (
        "listener {port} 127.0.0.1\nallow_anonymous true\nuser root\n"
        f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\nlog_dest stdout\n"
    )
    with run_mosquitto(broker_config) as broker:
        config = make_config(tmp_path, broker.port, mqtt_extra=f'ca_file = "{ca}"')
        config = replace(config, mqtt=replace(config.mqtt, tls=True))
        link = PahoLink(link_settings(config, None, None))
        link.start()
        try:
            event = await asyncio.wait_for(link.next_event(), 10)
            assert isinstance(event, Connected)
            mid = link.publish("ronde/v1/gw/gw-test-1/heartbeat", b"{}", qos=1)
            event = await asyncio.wait_for(link.next_event(), 10)
            assert isinstance(event, Published)
            assert event.mid == mid
            assert event.ok
        finally:
            await link.close()

        # A broker whose certificate the gateway cannot verify is never talked to.
        (tmp_path / "other").mkdir()
        other_ca, _, _ = write_pki(tmp_path / "other")
        wrong = replace(config, mqtt=replace(config.mqtt, ca_file=other_ca))
        untrusting = PahoLink(link_settings(wrong, None, None))
        untrusting.start()
        try:
            # the barrier: two handshakes attempted and refused (the first and a retry), not a fixed delay
            await eventually(lambda: _refusals(caplog) >= 2, 10, "two refused TLS handshakes")
            assert not untrusting.connected
        finally:
            await untrusting.close()


def _refusals(caplog: pytest.LogCaptureFixture) -> int:
    return sum("CERTIFICATE_VERIFY_FAILED" in r.getMessage() for r in list(caplog.records))

"""Start the real ``mosquitto`` binary with the shipped ``deploy/mosquitto`` config.

Only what cannot be the same outside a container is rewritten: the listener ports (free ports on
127.0.0.1 instead of 1883/8883) and the ``/mosquitto/...`` paths (a temporary directory). The
password file is made with the real ``mosquitto_passwd`` and the TLS certificates with a test CA.
When started as root, mosquitto drops to the ``mosquitto`` user (as in the container, where it runs
as uid 1883), so the directory is handed to that user.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.services import Mosquitto, free_port

DEPLOY = Path(__file__).parents[2] / "deploy" / "mosquitto"


@dataclass
class ShippedBroker:
    broker: Mosquitto
    tls_port: int
    ca_file: Path
    config_text: str


def rewrite_config(text: str, *, port: int, tls_port: int, workdir: Path) -> str:
    """The shipped config with local ports and paths; fails if the shipped listeners moved."""
    for listener in ("listener 1883", "listener 8883"):
        if not re.search(rf"^{listener}$", text, re.M):
            raise AssertionError(f"shipped mosquitto.conf has no '{listener}' line")
    text = re.sub(r"^listener 1883$", f"listener {port} 127.0.0.1", text, flags=re.M)
    text = re.sub(r"^listener 8883$", f"listener {tls_port} 127.0.0.1", text, flags=re.M)
    for sub in ("config", "auth", "data", "certs"):
        text = text.replace(f"/mosquitto/{sub}/", f"{workdir}/{sub}/")
    return text


def _make_certs(certs: Path) -> Path:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ronde test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    certs.mkdir(parents=True)
    pem = serialization.Encoding.PEM
    (certs / "fullchain.pem").write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    (certs / "privkey.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ca_file = certs / "test-ca.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    return ca_file


@contextlib.contextmanager
def run_shipped_broker(users: Mapping[str, str]) -> Iterator[ShippedBroker]:
    if shutil.which("mosquitto") is None or shutil.which("mosquitto_passwd") is None:
        raise RuntimeError("mosquitto and mosquitto_passwd are needed (apt-get install mosquitto)")
    workdir = Path(tempfile.mkdtemp(prefix="ronde-shipped-mosq-"))
    try:
        config_dir = workdir / "config"
        config_dir.mkdir()
        (workdir / "auth").mkdir()
        (workdir / "data").mkdir()
        shutil.copy(DEPLOY / "acl", config_dir / "acl")
        passwd = workdir / "auth" / "passwd"
        for i, (user, password) in enumerate(sorted(users.items())):
            flags = ["-c"] if i == 0 else []
            subprocess.run(
                ["mosquitto_passwd", *flags, "-b", str(passwd), user, password], check=True, capture_output=True
            )
        ca_file = _make_certs(workdir / "certs")
        port, tls_port = free_port(), free_port()
        text = rewrite_config(
            (DEPLOY / "mosquitto.conf").read_text(encoding="utf-8"), port=port, tls_port=tls_port, workdir=workdir
        )
        config = workdir / "mosquitto.conf"
        config.write_text(text, encoding="utf-8")
        if os.geteuid() == 0:
            account = pwd.getpwnam("mosquitto")
            for path in [workdir, *workdir.rglob("*")]:
                os.chown(path, account.pw_uid, account.pw_gid)
        passwd.chmod(0o600)
        (workdir / "certs" / "privkey.pem").chmod(0o600)
        broker = Mosquitto(port, workdir, config)
        broker.start()
        try:
            yield ShippedBroker(broker, tls_port, ca_file, text)
        finally:
            broker.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

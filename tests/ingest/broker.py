"""The shipped Mosquitto config on a free port, and gateway publishers (real paho clients).

``shipped_config`` reads ``deploy/mosquitto/mosquitto.conf`` and changes only what cannot be
the same on a test machine: the listener (a free port, no TLS listener), the persistence
directory, and the password/ACL file paths. Queue limits, persistence and session expiry are
exactly the shipped ones, since ingest's no-loss guarantee depends on them.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.services import Mosquitto, run_mosquitto

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
SHIPPED_ACL = ROOT / "deploy" / "mosquitto" / "acl"
PASSWORD = "test-secret"


def shipped_config(auth_dir: Path) -> str:
    """The shipped config with ``{port}``/``{workdir}`` placeholders for ``run_mosquitto``."""
    text = SHIPPED.read_text()
    out: list[str] = []
    skip_tls = False
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("listener "):
            skip_tls = stripped.split()[1] != "1883"
            if not skip_tls:
                out.append("listener {port} 127.0.0.1")
            continue
        if skip_tls and (stripped.startswith(("certfile", "keyfile", "tls_version", "protocol"))):
            continue
        line = re.sub(r"^persistence_location .*", "persistence_location {workdir}/", raw)
        line = re.sub(r"^password_file .*", f"password_file {auth_dir}/passwd", line)
        line = re.sub(r"^acl_file .*", f"acl_file {auth_dir}/acl", line)
        out.append(
            line.replace("{", "{{").replace("}", "}}") if "{port}" not in line and "{workdir}" not in line else line
        )
    return "\n".join(out) + "\n"


def shipped_queue_limit() -> int:
    m = re.search(r"^max_queued_messages\s+(\d+)", SHIPPED.read_text(), re.M)
    assert m, "the shipped mosquitto.conf must set max_queued_messages"
    return int(m.group(1))


def _broker_uid() -> tuple[int, int] | None:
    """Mosquitto started as root drops to the ``mosquitto`` user: it must reach its files."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam("mosquitto")
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


@contextmanager
def shipped_broker(users: list[str]) -> Iterator[Mosquitto]:
    owner = _broker_uid()
    with tempfile.TemporaryDirectory(prefix="ronde-ingest-auth-") as tmp:
        auth = Path(tmp)
        shutil.copy(SHIPPED_ACL, auth / "acl")
        passwd = auth / "passwd"
        for i, user in enumerate(users):
            args = ["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) + [str(passwd), user, PASSWORD]
            subprocess.run(args, check=True, capture_output=True)
        if owner is not None:
            for p in (auth, auth / "acl", passwd):
                os.chown(p, *owner)
        passwd.chmod(0o600)
        with run_mosquitto(shipped_config(auth)) as broker:
            if owner is not None:  # so that autosave and shutdown can write the persistence file
                os.chown(broker.workdir, *owner)
            yield broker


class Publisher:
    """A gateway's MQTT client: QoS 1 publishes, each waited for (the broker has it)."""

    def __init__(self, port: int, username: str, *, password: str = PASSWORD) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"pub-{username}-{id(self)}", protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(username, password)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self._connected = threading.Event()
        self.client.on_connect = lambda *a: self._connected.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise TimeoutError("publisher could not connect")

    def publish(self, topic: str, payload: bytes, *, wait: bool = True) -> Any:
        info = self.client.publish(topic, payload, qos=1)
        if wait:
            info.wait_for_publish(10)
        return info

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

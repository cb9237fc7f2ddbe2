"""What an ingest worker loads (issue 17, item 1: its peak RSS is mostly imports and shared libraries).

A worker whose registry has no EID beacon verifies signatures with libsodium over raw key bytes: it must not load
``cryptography`` (about 8 MB per process) for its gateways' keys, for the sealing key it is given, nor for the EID
module its resolver imports; and it checks the operational database's migration without Alembic (about 11 MB). The
settings and a worker without maintenance do not import the coverage package nor the rollup modules (0.5 MB).
Each probe runs in a fresh interpreter, since this test process has loaded everything already.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from ronde.protocol.signing import new_private_key, public_key_text, sign

PROBE = r"""
import json, sys
from ronde.ingest import paho_tables
from ronde.ingest.cli import build_store
from ronde.ingest.consumer import IngestWorker
from ronde.ingest.fastsig import verify_fast
from ronde.ingest.registry_follow import DbReference, RegistryFollower
from ronde.opdb.sealing import SecretBox
from ronde.opdb.startup import open_role_database
from ronde.protocol.gateways import parse_gateways
from ronde.settings import settings_for
from ronde.store.config import StoreConfig

key_text, message, secret = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
registry = parse_gateways(
    "format: ronde-gateways\nversion: 1\ngateways:\n  - id: gw-a\n    public_key: " + key_text + "\n"
)
entry = registry.get("gw-a")
box = SecretBox.from_text(secret)
assert entry is not None and entry.public_key_raw is not None
ok = verify_fast(message, entry.public_key_raw)
from types import SimpleNamespace
from ronde.ingest.registry_follow import Reference
# what the worker logs at start (it once counted keys through ``public_key``, which loaded ``cryptography``)
reference = Reference(1, SimpleNamespace(revision="r", checkpoints={}), registry, None)
assert "(1 with an Ed25519 key)" in reference.describe()
bad = verify_fast({**message, "seq": message["seq"] + 1}, entry.public_key_raw)
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"cryptography", "alembic", "mako", "httpx", "numpy"})
# maintenance (gaps, rollups, their coverage maths) is imported by a worker that runs it, not by the others
UPKEEP = ("ronde.coverage", "ronde.ingest.maintenance", "ronde.ingest.rollup")
upkeep = sorted(m for m in sys.modules if m.startswith(UPKEEP))
print(json.dumps({"ok": ok, "bad": bad, "heavy": heavy, "upkeep": upkeep}))
"""


def _probe(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True, timeout=120)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_a_worker_without_eid_beacons_verifies_without_cryptography() -> None:
    key = new_private_key()
    message = sign({"v": 1, "gw": "gw-a", "seq": 7}, key)
    secret = base64.urlsafe_b64encode(bytes(range(32))).decode()
    result = _probe(public_key_text(key), json.dumps(message), secret)
    assert result == {"ok": True, "bad": False, "heavy": [], "upkeep": []}


def test_the_key_object_and_sealing_still_work_on_demand() -> None:
    """``GatewayEntry.public_key`` and ``SecretBox`` load ``cryptography`` when used, and answer as before."""
    from ronde.opdb.sealing import SecretBox, SecretKeyError
    from ronde.protocol.gateways import gateway_entry
    from ronde.protocol.signing import raw_public_key, verify

    key = new_private_key()
    entry = gateway_entry("gw-a", public_key_text(key))
    assert entry.public_key is not None
    assert raw_public_key(entry.public_key) == entry.public_key_raw
    assert verify(sign({"seq": 1}, key), entry.public_key)
    assert gateway_entry("gw-b", None).public_key is None
    box = SecretBox(bytes(32))
    sealed = box.seal(b"identity key 16b", b"eid:cp-1")
    assert box.open(sealed, b"eid:cp-1") == b"identity key 16b"
    with pytest.raises(SecretKeyError, match="does not open with this key"):
        SecretBox(bytes([1] * 32)).open(sealed, b"eid:cp-1")


EID_PROBE = r"""
import sys
from ronde.ingest.cli import build_store
from ronde.ingest.consumer import IngestWorker
from ronde.ingest.eid_resolver import EidResolver
from ronde.opdb.sealing import SecretBox
from ronde.protocol.eid import compute_eid

box = SecretBox(bytes.fromhex(sys.argv[1]))
key = box.open(bytes.fromhex(sys.argv[2]), b"eid:cp-1")
print(compute_eid(key, 10, 0x12345678).hex(), sorted({m.split(".")[0] for m in sys.modules} & {"cryptography"}))
"""


def test_a_worker_with_eid_beacons_opens_and_computes_them_without_cryptography() -> None:
    """With EID beacons the worker opens their sealed identity keys and computes EIDs through Python's libcrypto
    (``ronde.protocol.openssl_aes``), the same bytes as ``cryptography``'s (issue 17, item 1)."""
    from ronde.opdb.sealing import SecretBox
    from ronde.protocol.eid import compute_eid

    secret, identity = bytes(range(32)), bytes.fromhex("e2c56db5dffb48d2b060d0f5a71096e0")
    sealed = SecretBox(secret).seal(identity, b"eid:cp-1")
    out = subprocess.run(
        [sys.executable, "-c", EID_PROBE, secret.hex(), sealed.hex()],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.split() == [compute_eid(identity, 10, 0x12345678).hex(), "[]"]


INFLUX_PROBE = r"""
import json, sys
from ronde.ingest.cli import _open_store, settings_config
loaded = settings_config("ingest run", None, {"store.url": "http://127.0.0.1:9"})
assert loaded is not None
store = _open_store(loaded[0])
assert not isinstance(store, str), store
http = sorted({m.split(".")[0] for m in sys.modules} & {"httpx", "httpcore", "h11", "anyio", "urllib3"})
print(json.dumps(http))
"""


def test_a_worker_on_influxdb_loads_one_http_client() -> None:
    """``ronde ingest run`` on InfluxDB talks to it through urllib3 only, the client influxdb-client is built on:
    httpx with httpcore, h11 and anyio was 4.2 MB more of a worker's resident memory (issue 17, item 1)."""
    out = subprocess.run([sys.executable, "-c", INFLUX_PROBE], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout) == ["urllib3"]

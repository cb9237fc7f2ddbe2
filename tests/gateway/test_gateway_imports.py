"""What a scanner's ``ronde gateway run`` loads (issue 17, item 2: its peak RSS, target 50 MB, was 55 MB).

The gateway reads its device key and signs without ``cryptography`` (its Rust module is 8.5 MB of the process) and
without PyNaCl (not in a scanner's install): ``ronde.protocol.seedkey`` signs through the libcrypto Python links.
It reads its configuration and builds its messages without pydantic (``ronde.gateway.toml_table``,
``ronde.gateway.wire``): pydantic, its core and the wire models were about 11 MB of the process.
The probe runs in a fresh interpreter, since this test process has loaded everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ronde.gateway.keys import KeyFileError, create_key, load_key
from ronde.protocol.signing import public_key_text, verify

PROBE = r"""
import json, sys
from pathlib import Path
import ronde.cli, ronde.gateway.cli
from ronde.gateway.app import GatewayApp
from ronde.gateway.config import parse_config
from ronde.gateway.detection import DetectedVisit
from ronde.gateway.events import EventFactory
from ronde.gateway.keys import create_key, load_key
from ronde.gateway.mqtt_link import PahoLink
from ronde.gateway.scanner import BleakSource
from ronde.gateway.wire import IBeaconId

path = Path(sys.argv[1])
config = parse_config(
    f'[gateway]\nid = "gw-a"\nbadge = "team-a7"\nkey_file = "{path}"\n[mqtt]\nhost = "broker.example.org"\n'
    '[service]\nstart = 18:00:00\n[detection.default]\nenter_dbm = -80\n'
)
assert config.detection_config().default.enter_dbm == -80
public = create_key(path).public_key_raw
key = load_key(path)
beacon = IBeaconId(uuid="f7826da64fa24e988024bc5b71e0893e", major=1, minor=7)
visit = DetectedVisit(beacon, beacon.key(), 1_774_980_000.0, 1_774_980_030.5, 31, -55, -61.0)
message = EventFactory("gw-a", "team-a7", key).visit(visit, 1, 1_774_980_045.0)
loaded = set(sys.modules) | {m.split(".")[0] for m in sys.modules}
heavy = sorted(
    loaded & {"cryptography", "nacl", "yaml", "_cffi_backend", "pydantic", "pydantic_core", "ronde.protocol.messages"}
)
print(json.dumps({"payload": message.payload.decode(), "public": public.hex(), "backend": key.backend, "heavy": heavy}))
"""


def test_the_gateway_signs_a_visit_without_cryptography_pynacl_or_pydantic(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(out.stdout)
    assert result["heavy"] == []
    assert result["backend"] == "openssl"
    assert verify(json.loads(result["payload"]), bytes.fromhex(result["public"]))
    assert load_key(path).public_key_raw.hex() == result["public"]


def test_a_key_file_in_another_pem_form_is_read_by_cryptography(tmp_path: Path) -> None:
    """Text before the PEM block (``openssl pkcs12`` writes "Bag Attributes" lines): the same key, read by
    ``cryptography``; another key type or an encrypted key is refused as before."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    path = tmp_path / "device.key"
    key = create_key(path)
    path.write_bytes(b"Key Attributes: <No Attributes>\n" + path.read_bytes())
    assert public_key_text(load_key(path)) == public_key_text(key)
    x25519 = X25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.write_bytes(x25519)
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        load_key(path)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    encrypted = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"secret")
    )
    path.write_bytes(encrypted)
    with pytest.raises(KeyFileError, match="not a PEM private key"):
        load_key(path)

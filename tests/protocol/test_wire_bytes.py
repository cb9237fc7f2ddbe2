"""One wire JSON encoder (``ronde.protocol.messages.wire_bytes``) for every publisher."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ronde.gateway.events import signed_json
from ronde.gateway.status import status_payload
from ronde.protocol import signing
from ronde.protocol.messages import MESSAGE_MODELS, GatewayStatus, encode, to_wire, wire_bytes

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))
DOC_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # docs/protocol.md's documentation key
# Where compact JSON may be written other than by wire_bytes: the canonical form (signatures, chain)
# and the audit export's own file format, neither of them a published wire message.
COMPACT = re.compile(r"""separators=\(\s*["'],["']\s*,\s*["']:["']\s*\)""")
ALLOWED = {"protocol/messages.py", "protocol/canonical.py", "ingest/fastsig.py", "audit/export.py"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_wire_bytes_are_the_documented_examples_compacted(path: Path) -> None:
    obj = json.loads(path.read_text())
    model = MESSAGE_MODELS[obj["type"]].model_validate(obj)
    expected = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    assert wire_bytes(to_wire(model)) == expected  # same members, same order
    unsigned = {k: v for k, v in obj.items() if k != "sig"}
    assert encode(MESSAGE_MODELS[obj["type"]].model_validate(unsigned)) == wire_bytes(unsigned)


def test_the_gateway_publishes_wire_bytes() -> None:
    raw = status_payload("gw-equipe-a", online=False, at=None, scanning=False, reason="connection lost", key=DOC_KEY)
    will = json.loads((ROOT / "docs" / "examples" / "status-offline-will.json").read_text())
    assert raw == wire_bytes(will)  # the documented will is byte for byte what the gateway sends
    model = GatewayStatus.model_validate({k: v for k, v in will.items() if k != "sig"})
    assert signed_json(to_wire(model), DOC_KEY) == wire_bytes(signing.sign(to_wire(model), DOC_KEY))


def test_wire_bytes_are_utf8_and_refuse_nan() -> None:
    assert wire_bytes({"reason": "hors service, bâtiment B"}) == '{"reason":"hors service, bâtiment B"}'.encode()
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="not JSON compliant"):
            wire_bytes({"rssi_mean": bad})


def test_no_other_module_writes_compact_json() -> None:
    offenders = [
        path.relative_to(ROOT / "ronde").as_posix()
        for path in sorted((ROOT / "ronde").rglob("*.py"))
        if path.relative_to(ROOT / "ronde").as_posix() not in ALLOWED and COMPACT.search(path.read_text("utf-8"))
    ]
    assert offenders == []

"""The one canonical form (``ronde.protocol.canonical``) is RFC 8785's: the fast path, wherever it
answers, gives ``rfc8785``'s bytes; ``canonical`` gives them everywhere. Checked on messages drawn
from the wire JSON Schemas (``ronde/protocol/schemas``), on arbitrary JSON values (floats across
every magnitude, any unicode, nested objects) and on the edges of the fast path's float domain."""

from __future__ import annotations

import json
import math
import re
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ronde.protocol.canonical import (
    FAST_FLOAT_MAX,
    FAST_FLOAT_MIN,
    SAFE_INTEGER,
    CanonicalError,
    _Outside,
    _visit_bytes,
    canonical,
    fast_canonical,
)
from ronde.protocol.chain import canonical_event, event_fields

SCHEMAS = Path(__file__).resolve().parents[2] / "ronde" / "protocol" / "schemas"

# floats of every magnitude, both signs, and the exact edges of the fast domain
magnitudes = st.builds(
    lambda m, e, neg: (-1.0 if neg else 1.0) * m * 10.0**e,
    st.floats(1.0, 10.0, exclude_max=True),
    st.integers(-30, 30),
    st.booleans(),
)
_EDGES = [FAST_FLOAT_MIN, FAST_FLOAT_MAX, 2.0**53, 2.0**53 + 2, 1e21, 1e-6, 1e-7, 5e-324, 1.7976931348623157e308]
edges = st.sampled_from(
    [x for e in _EDGES for x in (e, -e, math.nextafter(e, 0.0), math.nextafter(e, math.inf))] + [0.0, -0.0]
)
any_float = st.floats(allow_nan=False, allow_infinity=False) | magnitudes | edges
any_int = st.integers(-(2**60), 2**60) | st.sampled_from([SAFE_INTEGER, -SAFE_INTEGER, SAFE_INTEGER + 1, 2**53])
any_text = (
    st.text(max_size=12)
    | st.text(st.characters(codec="utf-8"), max_size=12)
    | st.sampled_from(["\x00\x1f\x7f", "\u2028\u2029", 'é"\\/', "\ud800", "𝄞\ue000", "\ufeff"])
)
json_values = st.recursive(
    st.none() | st.booleans() | any_int | any_float | any_text,
    lambda ch: st.lists(ch, max_size=4) | st.dictionaries(any_text, ch, max_size=4),
    max_leaves=25,
)


def _reference(value: Any) -> bytes | None:
    try:
        return bytes(rfc8785.dumps(value))
    except Exception:  # noqa: BLE001 - the reference refuses, whatever it raises: no canonical form exists
        return None


def _check(value: Any) -> bytes | None:
    reference = _reference(value)
    fast = fast_canonical(value)
    if fast is not None:
        assert reference is not None, f"fast path answered where RFC 8785 refuses: {value!r}"
        assert fast == reference
    if reference is None:
        with pytest.raises(CanonicalError):
            canonical(value)
    else:
        assert canonical(value) == reference
    return fast


@cache
def _schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return data


def _string(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "pattern" in node:
        with suppress(re.error):  # a JSON Schema pattern Python's re cannot read: plain text then
            re.compile(node["pattern"])
            return st.from_regex(node["pattern"], fullmatch=True) | any_text
    return any_text


def from_schema(node: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values shaped by a JSON Schema: its objects, enums and constants, each number either within
    the schema's bounds or of any magnitude, each string matching the pattern or any unicode."""
    if "$ref" in node:
        return st.deferred(lambda: from_schema(defs[node["$ref"].rsplit("/", 1)[-1]], defs))
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return st.one_of([from_schema(n, defs) for n in node[key]])
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties", {})
        required = {k: from_schema(v, defs) for k, v in props.items() if k in node.get("required", [])}
        optional = {k: from_schema(v, defs) for k, v in props.items() if k not in required}
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "string":
        return _string(node)
    if kind == "integer":
        lo, hi = node.get("minimum"), node.get("maximum")
        return st.integers(lo, hi) | any_int
    if kind == "number":
        lo, hi = node.get("minimum"), node.get("maximum")
        return st.floats(lo, hi, allow_nan=False) | st.integers(int(lo or -1e9), int(hi or 1e9)) | any_float
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return json_values


wire_messages = st.sampled_from(["visit", "heartbeat", "status", "telemetry"]).flatmap(
    lambda name: from_schema(_schema(name), _schema(name).get("$defs", {}))
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=wire_messages, sig=st.none() | st.text(max_size=8))
def test_wire_messages(message: dict[str, Any], sig: str | None) -> None:
    if sig is not None:
        message = {**message, "sig": sig}
    _check(message)
    without = {k: v for k, v in message.items() if k != "sig"}
    assert fast_canonical(message, omit="sig") in (None, _reference(without))
    if _reference(without) is not None:
        assert canonical(message, omit="sig") == _reference(without)


@settings(max_examples=500, deadline=None)
@given(value=json_values)
def test_arbitrary_json_values(value: Any) -> None:
    _check(value)


@settings(max_examples=500, deadline=None)
@given(x=any_float)
def test_floats_of_every_magnitude(x: float) -> None:
    fast = _check({"x": x})
    in_domain = x == 0 or (x.is_integer() and abs(x) < FAST_FLOAT_MAX) or FAST_FLOAT_MIN <= abs(x) < FAST_FLOAT_MAX
    assert (fast is not None) is in_domain, "the documented domain is exactly where the fast path answers"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-70.0, "-70"),
        (-0.0, "0"),
        (0.0001, "0.0001"),
        (9999999999999998.0, "9999999999999998"),
        (1e16, "10000000000000000"),
        (1e-5, "0.00001"),
        (1e-7, "1e-7"),
        (1e21, "1e+21"),
        (123.456, "123.456"),
        (2**53 - 1, "9007199254740991"),
        ("\u2028", '"\u2028"'),
        ("\x1f", '"\\u001f"'),
    ],
)
def test_known_forms(value: Any, text: str) -> None:
    assert canonical(value) == text.encode()


def test_refused_values() -> None:
    for bad in (float("nan"), float("inf"), 2**53, {"k": -(2**53)}, {1: "non-string key"}, "\ud800"):
        with pytest.raises(CanonicalError):
            canonical(bad)


def _signed_visit(beacon: dict[str, Any], *, seq: int, rssi_mean: float) -> dict[str, Any]:
    """A visit as a gateway sends it (``sig`` a placeholder: the canonical form omits it)."""
    return {
        "v": 1,
        "type": "visit",
        "id": "01JDZ0000000000000000000AB",
        "gateway_id": "gw-mordacs-1",
        "seq": seq,
        "badge": "EQUIPE-A1",
        "beacon": beacon,
        "first_seen": "2026-11-25T17:02:03.250Z",
        "last_seen": "2026-11-25T17:02:40.000Z",
        "count": 12,
        "rssi_max": -61,
        "rssi_mean": rssi_mean,
        "sig": "x",
    }


def test_a_realistic_visit_takes_the_fast_path() -> None:
    """What ingest verifies per event must not fall back to the slow reference."""
    beacon = {"format": "ibeacon", "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e", "major": 1, "minor": 2}
    msg = _signed_visit(beacon, seq=41, rssi_mean=-70.53)
    assert fast_canonical(msg, omit="sig") == _reference({k: v for k, v in msg.items() if k != "sig"})


def test_the_chain_uses_the_same_form() -> None:
    from tests.store.factories import visit

    for v in (visit(1), visit(2, rssi_mean=-70.0), visit(3, rssi_mean=1e-7), visit(4, building=None)):
        assert canonical_event(v) == rfc8785.dumps(event_fields(v))


# A visit-shaped object takes ``_visit_bytes`` (its members written from a template): a visit as gateways send it
# (each of the four beacon formats), then up to two members of the visit and one of its beacon replaced by a hostile
# string, any JSON value, or taken out, and members added.
_PLAIN = st.from_regex(r"[A-Za-z0-9_:.-]{0,30}", fullmatch=True)
_HOSTILE = st.sampled_from(['a"b', "a\\b", "\x00", "\x1f", "\x7f", "é", "\u2028", "\ud800", "\ufeff", ""]) | json_values
_GONE = object()

_BEACON_MEMBERS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "ibeacon": {"uuid": _PLAIN, "major": st.integers(0, 65535) | any_int, "minor": st.integers(0, 65535) | any_int},
    "altbeacon": {"beacon_id": _PLAIN},
    "eddystone_uid": {"namespace": _PLAIN, "instance": _PLAIN},
    "eddystone_eid": {"eid": _PLAIN},
}
_VISIT_MEMBERS: dict[str, st.SearchStrategy[Any]] = {
    "v": st.just(1),
    "type": st.just("visit"),
    "id": _PLAIN,
    "gateway_id": _PLAIN,
    "seq": st.integers(1, 2**40) | any_int,
    "badge": _PLAIN,
    "first_seen": _PLAIN,
    "last_seen": _PLAIN,
    "count": st.integers(1, 10_000_000) | any_int,
    "rssi_max": st.integers(-127, 20) | any_int,
    "rssi_mean": st.floats(-127, 20) | any_float | st.integers(-127, 20),
    "sig": _PLAIN,
}


def _spoilt(usual: dict[str, st.SearchStrategy[Any]], most: int) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of ``usual``'s members with up to ``most`` of them (or new ones) hostile or taken out."""
    names = st.sampled_from([*usual, "extra", "format"])
    changes = st.lists(st.tuples(names, _HOSTILE | st.just(_GONE)), max_size=most)

    def apply(obj: dict[str, Any], spoil: list[tuple[str, Any]]) -> dict[str, Any]:
        for k, v in spoil:
            if v is _GONE:
                obj.pop(k, None)
            else:
                obj[k] = v
        return obj

    return st.builds(apply, st.fixed_dictionaries(usual), changes)


beacons = st.sampled_from(sorted(_BEACON_MEMBERS)).flatmap(
    lambda name: _spoilt({"format": st.just(name), **_BEACON_MEMBERS[name]}, 1)
)
visits = st.builds(lambda v, b: {**v, "beacon": b}, _spoilt(_VISIT_MEMBERS, 2), beacons | json_values)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=visits, omit=st.sampled_from(["sig", None, "badge", "extra"]))
def test_visit_shaped_objects_get_rfc8785_s_bytes(message: dict[str, Any], omit: str | None) -> None:
    reference = _reference({k: v for k, v in message.items() if k != omit})
    with suppress(_Outside, UnicodeEncodeError):
        direct = _visit_bytes(message, omit)
        if direct is not None:
            assert direct == reference, message
    fast = fast_canonical(message, omit=omit)
    assert fast in (None, reference)
    if reference is not None:
        assert canonical(message, omit=omit) == reference


@pytest.mark.parametrize("fmt", sorted(_BEACON_MEMBERS))
@pytest.mark.parametrize("rssi_mean", [-70.53, -70.0, -0.0, 0, -127, 20.0, -0.0001])
def test_visits_as_gateways_send_them_take_the_template(fmt: str, rssi_mean: float) -> None:
    """Every beacon format, integral and signed-zero means: the template answers, with RFC 8785's bytes."""
    beacons_: dict[str, dict[str, Any]] = {
        "ibeacon": {"format": "ibeacon", "uuid": "5f1c2a7e0d4b4e6a9c3b8d2f6a1e4b70", "major": 1, "minor": 65535},
        "altbeacon": {"format": "altbeacon", "beacon_id": "ab" * 20},
        "eddystone_uid": {"format": "eddystone_uid", "namespace": "0a" * 10, "instance": "0b" * 6},
        "eddystone_eid": {"format": "eddystone_eid", "eid": "0c" * 8},
    }
    beacon = beacons_[fmt]
    msg = _signed_visit(beacon, seq=2**53 - 1, rssi_mean=rssi_mean)
    reference = _reference({k: v for k, v in msg.items() if k != "sig"})
    assert _visit_bytes(msg, "sig") == reference
    assert fast_canonical(msg, omit="sig") == reference

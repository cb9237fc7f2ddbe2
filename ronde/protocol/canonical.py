"""RFC 8785 (JCS) canonical JSON: one fast path, the ``rfc8785`` package outside its domain.

Signatures (``ronde.protocol.signing``, ingest's ``fastsig``) and the audit hash chain
(``ronde.protocol.chain``) all make their bytes here, so there is one definition of "canonical".

The fast path is ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` (the
C encoder) over a normalised copy of the value. It answers only where that is byte for byte RFC
8785's output — its *domain*:

- object keys are ASCII strings (JCS sorts keys by UTF-16 code units; for ASCII that is Python's
  order); values are ``None``, ``bool``, ``str``, ``int``, ``float``, ``dict`` and ``list`` exactly
  (no subclasses: a ``StrEnum`` member is not a plain string to ``json``);
- integers within ±(2**53 − 1), the range JCS accepts (it prints numbers as IEEE doubles);
- floats that are zero (``-0.0`` too, printed ``0``), integral with magnitude below 1e16 (printed as
  the integer: ECMAScript writes -70.0 as ``-70``, and below 1e16 the integer is the shortest
  round-trip form), or with magnitude in **[1e-4, 1e16)**: there ``repr`` is plain decimal notation
  with the shortest round-trip digits, as ECMAScript's Number::toString is (from 1e-6 to 1e21);
  below 1e-4 or from 1e16 up, ``repr`` switches to exponent notation and ECMAScript does not;
- strings are escaped alike by both (``"``, ``\\`` and control characters only, lowercase
  ``\\u00xx``); a lone surrogate makes the UTF-8 encoding fail and the reference decides.

Outside the domain (or when the encoder fails) :func:`canonical` asks ``rfc8785``, so every value
gets RFC 8785's bytes either way; ``tests/protocol/test_canonical.py`` checks the fast path
against ``rfc8785`` on generated wire messages and arbitrary JSON values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

SAFE_INTEGER = 2**53 - 1
"""Largest integer magnitude RFC 8785 serialises (``rfc8785`` refuses beyond it)."""
FAST_FLOAT_MIN = 1e-4
"""Smallest non-zero float magnitude of the fast path (below it ``repr`` uses exponents)."""
FAST_FLOAT_MAX = 1e16
"""Float magnitudes from here up leave the fast path (``repr`` uses exponents)."""


class CanonicalError(ValueError):
    """The value has no RFC 8785 form (NaN, infinity, integers beyond 2**53, non-string keys...)."""


class _Outside(Exception):
    """A value outside the fast path's domain."""


def _number(value: int | float) -> int | float:
    if not isinstance(value, float):  # callers pass exactly int or float (never bool)
        if value > SAFE_INTEGER or value < -SAFE_INTEGER:
            raise _Outside
        return value
    if value == 0.0:
        return 0
    if value.is_integer():
        if -FAST_FLOAT_MAX < value < FAST_FLOAT_MAX:
            return int(value)
        raise _Outside
    if FAST_FLOAT_MIN <= abs(value) < FAST_FLOAT_MAX:  # NaN fails this test too
        return value
    raise _Outside


def _normalise_dict(obj: dict[Any, Any], omit: str | None = None) -> dict[str, Any]:
    """Scalars handled inline (a visit is a dozen of them): one call per object, not per value."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if type(k) is not str or not k.isascii():
            raise _Outside
        if k == omit:
            continue
        kind = type(v)
        if kind is str or kind is bool or v is None:
            out[k] = v
        elif kind is int or kind is float:
            out[k] = _number(v)
        else:
            out[k] = _normalise(v)
    return out


def _normalise(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int or kind is float:
        return _number(value)
    if kind is dict:
        return _normalise_dict(value)
    if kind is list:
        return [_normalise(v) for v in value]
    raise _Outside


def _refuse(value: Any) -> Any:
    raise TypeError(f"not JSON: {type(value).__name__}")


_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
try:  # the C encoder called directly: JSONEncoder.encode builds one per call (about 1 µs of 5)
    from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]

    _C = c_make_encoder(None, _refuse, c_encode_basestring, None, ":", ",", True, False, False)

    def _encode(norm: Any) -> str:
        return "".join(_C(norm, 0))
except ImportError:  # pragma: no cover - CPython always has _json

    def _encode(norm: Any) -> str:
        return _JSON.encode(norm)


VISIT_MEMBERS = (
    "badge",
    "beacon",
    "count",
    "first_seen",
    "gateway_id",
    "id",
    "last_seen",
    "rssi_max",
    "rssi_mean",
    "seq",
    "type",
    "v",
)
"""A wire visit's members without ``sig``, in RFC 8785's order (``_visit_bytes`` writes them in this order)."""
_VISIT = frozenset(VISIT_MEMBERS)
_VISIT_SIGNED = _VISIT | {"sig"}


_VISIT_TYPES = (str, dict, int, str, str, str, str, int, int, str, int)
"""The member types ``_visit_bytes`` writes itself (``rssi_mean`` apart): a visit as the gateway sends it."""
_CONTROLS = bytes(range(0x20))
"""The only bytes JSON escapes besides ``"`` and ``\\``; UTF-8 never uses them inside a multi-byte character."""


def _safe(a: int, b: int) -> bool:
    """Both within ±``SAFE_INTEGER`` (two arguments, not a generator: this is per message)."""
    return -SAFE_INTEGER <= a <= SAFE_INTEGER and -SAFE_INTEGER <= b <= SAFE_INTEGER


@dataclass(frozen=True, slots=True)
class _BeaconForm:
    """How ``_beacon_text`` writes one beacon format: its members but ``format`` in RFC 8785's order and their
    types, a ``str.format`` template of the whole object, how many '"' the template and its strings hold, and
    whether the first two members are integers (iBeacon's major and minor: bounded by ``SAFE_INTEGER``)."""

    keys: frozenset[str]
    members: tuple[str, ...]
    types: list[type]
    template: str
    quotes: int
    int_pair: bool

    @classmethod
    def of(cls, name: str, members: dict[str, type]) -> _BeaconForm:
        order = sorted(members)
        types = [members[k] for k in order]
        assert types.count(int) in (0, 2), "integers: none, or the first two members"
        assert int not in types[2:], "integers: none, or the first two members"
        parts = [
            f'"{k}":' + (f'"{name}"' if k == "format" else '"{}"' if members[k] is str else "{}")
            for k in sorted([*order, "format"])
        ]
        quotes = 2 * (len(members) + 2) + 2 * types.count(str)
        return cls(
            frozenset([*members, "format"]), tuple(order), types, "{{" + ",".join(parts) + "}}", quotes, int in types
        )


_BEACON_FORMS = {  # the wire's four beacon ids (ronde.protocol.messages)
    "ibeacon": _BeaconForm.of("ibeacon", {"uuid": str, "major": int, "minor": int}),
    "altbeacon": _BeaconForm.of("altbeacon", {"beacon_id": str}),
    "eddystone_uid": _BeaconForm.of("eddystone_uid", {"namespace": str, "instance": str}),
    "eddystone_eid": _BeaconForm.of("eddystone_eid", {"eid": str}),
}


def _beacon_text(beacon: dict[str, Any]) -> tuple[str, int]:
    """A visit's beacon as JSON text and how many '"' delimit its member names and strings: one of the wire's four
    formats written from its template, any other object by the C encoder (which escapes a '"' inside a string, so
    the text then holds a backslash). Raises ``_Outside`` beyond the fast domain, as ``_normalise`` does."""
    name = beacon.get("format")
    form = _BEACON_FORMS.get(name) if type(name) is str else None
    if form is not None and beacon.keys() == form.keys:
        values = [beacon[k] for k in form.members]
        if list(map(type, values)) == form.types:
            if form.int_pair and not _safe(values[0], values[1]):  # iBeacon's major and minor
                raise _Outside
            return form.template.format(*values), form.quotes
    text = _encode(_normalise_dict(beacon))
    return text, text.count('"')


def _visit_bytes(obj: dict[str, Any], omit: str | None) -> bytes | None:
    """The RFC 8785 bytes of a visit-shaped object (exactly ``VISIT_MEMBERS``, plus ``sig`` when it is ``omit``),
    written as one f-string: about 3 µs against 6.5 µs for the C encoder over a normalised copy (bench_ingest's
    visits, in process). None for any other object, any other member type, an integer beyond ``SAFE_INTEGER``, or
    bytes holding a backslash, a control character or a ``"`` that is not a delimiter (a string holding one):
    the general path decides then. A float outside the fast domain raises ``_Outside``, as in ``_number``."""
    keys = obj.keys()
    if not (keys == _VISIT and omit not in _VISIT) and not (omit == "sig" and keys == _VISIT_SIGNED):
        return None
    badge, beacon, count, first, gateway, id_, last, rmax, rmean, seq, kind, v = map(obj.__getitem__, VISIT_MEMBERS)
    types = (type(badge), type(beacon), type(count), type(first), type(gateway), type(id_), type(last), type(rmax))
    if (*types, type(seq), type(kind), type(v)) != _VISIT_TYPES or not (_safe(count, rmax) and _safe(seq, v)):
        return None
    if type(rmean) is not float and type(rmean) is not int:
        return None
    mean = _number(rmean)
    nested = _beacon_text(beacon)
    data = (
        f'{{"badge":"{badge}","beacon":{nested[0]},"count":{count},"first_seen":"{first}","gateway_id":"{gateway}",'
        f'"id":"{id_}","last_seen":"{last}","rssi_max":{rmax},"rssi_mean":{mean!r},"seq":{seq},"type":"{kind}",'
        f'"v":{v}}}'
    ).encode()  # a lone surrogate raises UnicodeEncodeError: fast_canonical answers None
    # the six strings are written between '"' unescaped: they hold none of their own if the bytes have as many as
    # the member names (24), the strings (12) and the beacon's own
    if b"\\" in data or data.count(b'"') != 36 + nested[1] or len(data.translate(None, _CONTROLS)) != len(data):
        return None
    return data


def fast_canonical(value: Any, omit: str | None = None) -> bytes | None:
    """RFC 8785 bytes of ``value`` (without its top-level member ``omit``, if ``value`` is an
    object), or None when ``value`` is outside the fast path's domain."""
    try:
        if type(value) is dict:
            visit = _visit_bytes(value, omit)
            if visit is not None:
                return visit
        norm = _normalise_dict(value, omit) if type(value) is dict else _normalise(value)
        return _encode(norm).encode()
    except (_Outside, UnicodeEncodeError, ValueError, RecursionError):  # lone surrogates: the reference decides
        return None


def canonical(value: Any, omit: str | None = None) -> bytes:
    """RFC 8785 bytes of ``value`` (without its top-level member ``omit``): the fast path when it
    answers, else ``rfc8785``'s. Raises :class:`CanonicalError` when the value has no RFC 8785 form."""
    data = fast_canonical(value, omit)
    if data is not None:
        return data
    if omit is not None and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != omit}
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, ValueError, TypeError, RecursionError) as exc:
        raise CanonicalError(str(exc)) from exc


def wire_bytes(obj: Mapping[str, Any]) -> bytes:
    """The bytes a wire message is published as, from its JSON object (``to_wire``'s, signed or not):
    compact JSON in UTF-8, members in the object's order (the model's, as in ``docs/examples``), no
    NaN or Infinity (ingest refuses them). The one encoder of every publisher: the gateway, the
    simulators, the tests. What a signature covers is not these bytes but the object's RFC 8785 form
    (``canonical`` above), so the member order here changes no signature."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()

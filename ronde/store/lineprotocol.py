"""InfluxDB line protocol: escaping and one-line encoding, valid for InfluxDB 1.x, 2.x and 3.x.

Rules (checked against Debian's influxd 1.6.7):

- measurement: escape ``,`` and space;
- tag keys, tag values, field keys: escape ``,``, ``=`` and space. A backslash is literal *except*
  before one of those characters or at the very end, where no escaping can represent it: such
  values, and newlines in tags, raise ``LineProtocolError`` (our tags are registry identifiers,
  so this signals a bug upstream, not radio garbage). Empty tag values are omitted (InfluxDB has
  no empty tag);
- string field values: double quotes, escape ``"`` and ``\\``; newlines are allowed;
- integers ``123i`` (signed 64 bits: beyond, InfluxDB answers 400), floats in full precision (never
  NaN/inf), booleans ``true``/``false``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache

FieldValue = str | int | float | bool
_SPECIAL_NAME = str.maketrans({",": "\\,", " ": "\\ "})
_SPECIAL_TAG = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_SPECIAL_STR = str.maketrans({"\\": "\\\\", '"': '\\"'})
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class LineProtocolError(ValueError):
    """A value that line protocol cannot carry unchanged."""


def escape_measurement(name: str) -> str:
    _check_key(name)
    return name.translate(_SPECIAL_NAME)


@lru_cache(maxsize=65_536)  # tags are low-cardinality by design: most values repeat
def escape_tag(value: str) -> str:
    """Escape a tag key or value (or a field key)."""
    if "\n" in value or "\r" in value:
        raise LineProtocolError(f"newline in tag/key {value!r}")
    if "\\" in value and (
        value.endswith("\\") or any(value[i + 1] in ",= " for i, c in enumerate(value[:-1]) if c == "\\")
    ):
        raise LineProtocolError(f"backslash before a separator or at the end of tag/key {value!r}")
    if " " in value or "," in value or "=" in value:
        return value.translate(_SPECIAL_TAG)
    return value


def format_str(value: str) -> str:
    """A string field value, quoted."""
    if "\\" in value or '"' in value:
        return '"' + value.translate(_SPECIAL_STR) + '"'
    return f'"{value}"'


def format_float(value: float) -> str:
    if not math.isfinite(value):
        raise LineProtocolError(f"non-finite float {value!r}")
    return repr(float(value))


def format_field(value: FieldValue) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise LineProtocolError("integer field beyond signed 64 bits")
        return f"{value}i"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return format_str(value)
    raise LineProtocolError(f"unsupported field type {type(value).__name__}")


def encode_line(
    measurement: str,
    tags: Mapping[str, str | None],
    fields: Mapping[str, FieldValue | None],
    timestamp_ns: int,
) -> str:
    """One point. Tags are sorted by key (InfluxDB's preferred order); ``None`` tags/fields omitted."""
    parts = [escape_measurement(measurement)]
    for key in sorted(tags):
        value = tags[key]
        if value is None or value == "":
            continue
        parts.append(f",{escape_tag(key)}={escape_tag(value)}")
    present = [(k, v) for k, v in fields.items() if v is not None]
    if not present:
        raise LineProtocolError(f"point of {measurement!r} has no field")
    parts.append(" ")
    parts.append(",".join(f"{escape_tag(k)}={format_field(v)}" for k, v in present))
    parts.append(f" {int(timestamp_ns)}")
    return "".join(parts)


def join_lines(lines: Iterable[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


class LineChunks:
    """A request body of ``lines`` sent in pieces of ``per_chunk`` lines, each encoded as it is sent (urllib3 sends
    an iterable body chunked): a batch's write held its lines, their joined string and its UTF-8 bytes at once, and
    InfluxDB's 1.x ``/write`` takes thousands of lines a request (the worker's peak, docs/performance.md). Iterable
    again for a retry. Raises ``UnicodeEncodeError`` here, before anything is sent, for a line UTF-8 cannot carry."""

    __slots__ = ("_lines", "_per_chunk")

    def __init__(self, lines: Sequence[str], per_chunk: int = 64) -> None:
        for line in lines:
            if not line.isascii():
                line.encode()
        self._lines = lines
        self._per_chunk = per_chunk

    def __iter__(self) -> Iterator[bytes]:
        lines, n = self._lines, self._per_chunk
        for i in range(0, len(lines), n):
            yield ("\n".join(lines[i : i + n]) + "\n").encode()

    def __bytes__(self) -> bytes:
        return b"".join(self)


def _check_key(name: str) -> None:
    if not name or "\n" in name or name.startswith("_"):
        raise LineProtocolError(f"invalid measurement name {name!r}")

"""The gateway registry: which gateways may publish, with which Ed25519 key and which badges.

A small YAML (or JSON, which YAML reads too) file, validated once at start-up::

    format: ronde-gateways
    version: 1
    gateways:
      - id: gw-mordacs-1                 # the MQTT username / topic id
        public_key: "Zm9v...43 chars"     # Ed25519, 32 raw bytes, base64url without padding
        badges: [EQUIPE-A]               # optional: badges this gateway may report (omitted: any)
      - id: gw-spare
        # no public_key: enrolled, but its events are accepted only with allow_unsigned

Errors name the entry and the field, e.g. ``gateways.yaml: gateways[1].public_key: not a 32-byte
Ed25519 key``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ronde.protocol import safe_yaml
from ronde.protocol.messages import BADGE_PATTERN
from ronde.protocol.plain_text import PlainText
from ronde.protocol.signing import public_key_from_text, unb64u
from ronde.protocol.topics import GATEWAY_ID_PATTERN

_B64U_KEY = r"^[A-Za-z0-9_-]{43}$"


class _GatewayFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=f"^{GATEWAY_ID_PATTERN}$")
    public_key: str | None = Field(default=None, pattern=_B64U_KEY)
    badges: list[str] | None = None
    note: PlainText = ""  # a free label, yet one line of visible text like every name in the registry


class _GatewaysDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal["ronde-gateways"]
    version: Literal[1]
    gateways: list[_GatewayFile] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GatewayEntry:
    id: str
    public_key: Ed25519PublicKey | None
    public_key_text: str | None
    badges: frozenset[str] | None = None
    public_key_raw: bytes | None = None  # the same key as 32 bytes, for libsodium

    def badge_allowed(self, badge: str) -> bool:
        return self.badges is None or badge in self.badges


@dataclass(frozen=True, slots=True)
class GatewayRegistry:
    entries: Mapping[str, GatewayEntry] = field(default_factory=dict)

    def get(self, gateway_id: str) -> GatewayEntry | None:
        return self.entries.get(gateway_id)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def of(cls, *entries: GatewayEntry) -> GatewayRegistry:
        return cls({e.id: e for e in entries})


class GatewaysFileError(ValueError):
    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def gateway_entry(gateway_id: str, public_key_text: str | None, badges: frozenset[str] | None = None) -> GatewayEntry:
    """Build one entry in code (the demo, tests); raises ValueError on a bad key."""
    key = raw = None
    if public_key_text is not None:
        try:
            key = public_key_from_text(public_key_text)
            raw = unb64u(public_key_text)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"gateway {gateway_id!r}: not a 32-byte Ed25519 key: {exc}") from None
    return GatewayEntry(gateway_id, key, public_key_text, badges, raw)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_gateways(text: str, source: str = "<gateways>") -> GatewayRegistry:
    try:
        data: Any = safe_yaml.safe_load(text, source)
    except safe_yaml.YamlLimitError as exc:  # a bomb or an oversized file: the limit, with its line
        line = "" if exc.line is None else f"line {exc.line}: "
        raise GatewaysFileError(source, [f"{line}{exc.message}"]) from None
    except yaml.YAMLError as exc:
        raise GatewaysFileError(source, [f"not valid YAML/JSON: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise GatewaysFileError(source, ["expected a mapping with format: ronde-gateways"])
    try:
        doc = _GatewaysDocument.model_validate(data)
    except ValidationError as exc:
        raise GatewaysFileError(source, [f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]) from None
    problems: list[str] = []
    entries: dict[str, GatewayEntry] = {}
    badge_re = re.compile(BADGE_PATTERN)
    for i, g in enumerate(doc.gateways):
        if g.id in entries:
            problems.append(f"gateways[{i}].id: duplicate gateway {g.id!r}")
            continue
        for badge in g.badges or []:
            if not badge_re.fullmatch(badge):  # match() would let "EQUIPE-A\n" through ($ before a newline)
                problems.append(f"gateways[{i}].badges: {badge!r} is not a valid badge ({BADGE_PATTERN})")
        try:
            entries[g.id] = gateway_entry(
                g.id, g.public_key, None if g.badges is None else frozenset(g.badges)
            )
        except ValueError:
            problems.append(f"gateways[{i}].public_key: not a 32-byte Ed25519 key")
    if problems:
        raise GatewaysFileError(source, problems)
    return GatewayRegistry(entries)


def load_gateways(path: str | Path) -> GatewayRegistry:
    p = Path(path)
    try:
        text = safe_yaml.read_text(p)
    except OSError as exc:
        raise GatewaysFileError(str(p), [f"cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise GatewaysFileError(str(p), ["not UTF-8 text"]) from None
    except safe_yaml.YamlLimitError as exc:
        raise GatewaysFileError(str(p), [exc.message]) from None
    return parse_gateways(text, str(p))


def dump_gateways(registry: GatewayRegistry) -> str:
    """The file form of a registry (for tools that enrol gateways)."""
    doc: dict[str, Any] = {"format": "ronde-gateways", "version": 1, "gateways": []}
    for e in sorted(registry.entries.values(), key=lambda x: x.id):
        item: dict[str, Any] = {"id": e.id}
        if e.public_key_text is not None:
            item["public_key"] = e.public_key_text
        if e.badges is not None:
            item["badges"] = sorted(e.badges)
        doc["gateways"].append(item)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)

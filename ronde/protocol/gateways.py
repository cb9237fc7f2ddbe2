"""The gateway registry: which gateways may publish, with which Ed25519 key and which badges.

A small YAML (or JSON, which YAML reads too) file, validated once at start-up::

    format: ronde-gateways
    version: 1
    gateways:
      - id: gw-mordacs-1                 # the MQTT username / topic id
        public_key: "Zm9v...43 chars"     # Ed25519, 32 raw bytes, base64url without padding
        badges: [EQUIPE-A]               # optional: badges this gateway may report (omitted: any)
      - id: gw-spare
        allow_unsigned: true             # its messages without ``sig`` are accepted, marked unsigned
        # no public_key: only unsigned messages can be accepted from it

Errors name the entry and the field, e.g. ``gateways.yaml: gateways[1].public_key: not a 32-byte
Ed25519 key``.

Enrolment is where a key is vetted (``enrol``, used by this file's loader and by the API): a key
that is not a point of the prime-order subgroup (the all-zero key, the small-order points) is
refused, because signatures "under" it can be forged without any private key; a key already
enrolled under another gateway id is refused, because a signature then no longer says which
gateway spoke; and the broker's own users (``ingest``, ``healthcheck``) are not gateway ids, since
the broker ACL pattern would let them publish as a gateway. ``allow_unsigned`` is per gateway: a
spare or legacy scanner can be let in unsigned without lowering the bar for every other one.

The file and its model are a contract between processes (ingest verifies with it, the API and the
operational database enrol into it, the demo writes one), so they live in the protocol package
(``docs/architecture.md``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ronde.protocol.errors import validation_issues
from ronde.protocol.messages import BADGE_PATTERN
from ronde.protocol.plain_text import PlainText
from ronde.protocol.signing import WeakPublicKey, check_public_key, public_key_from_text, public_key_raw_from_text

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ronde.protocol.topics import GATEWAY_ID_PATTERN

_B64U_KEY = r"^[A-Za-z0-9_-]{43}$"
RESERVED_GATEWAY_IDS = frozenset({"ingest", "healthcheck"})  # the broker's own users (deploy/mosquitto/acl)


class _GatewayFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=f"^{GATEWAY_ID_PATTERN}$")
    public_key: str | None = Field(default=None, pattern=_B64U_KEY)
    badges: list[str] | None = None
    allow_unsigned: bool = False
    note: PlainText = ""  # a free label, yet one line of visible text like every name in the registry


class _GatewaysDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal["ronde-gateways"]
    version: Literal[1]
    gateways: list[_GatewayFile] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GatewayEntry:
    """One enrolled gateway. The key is kept as text and as its 32 raw bytes (what the verifier, libsodium, uses);
    ``cryptography``'s key object is made only when asked (``public_key``), so that an ingest worker never loads
    ``cryptography`` for its gateways (about 8 MB per process, issue 17, item 1)."""

    id: str
    public_key_text: str | None
    badges: frozenset[str] | None = None
    public_key_raw: bytes | None = None  # the same key as 32 bytes: what the verifier uses
    allow_unsigned: bool = False  # messages without ``sig`` accepted (marked unsigned); a bad one never

    @property
    def public_key(self) -> Ed25519PublicKey | None:
        """The key as ``cryptography``'s object (for tools that sign or verify with it), None without a key."""
        return None if self.public_key_text is None else public_key_from_text(self.public_key_text)

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
        """A registry of already-built entries, with the enrolment checks between them (``enrol``)."""
        registry = cls()
        for e in entries:
            registry = registry.enrol(e)
        return registry

    def key_holder(self, public_key_raw: bytes) -> str | None:
        """The gateway id this key is enrolled under, if any."""
        for e in self.entries.values():
            if e.public_key_raw == public_key_raw:
                return e.id
        return None

    def enrol(self, entry: GatewayEntry) -> GatewayRegistry:
        """A registry with ``entry`` added or replacing the entry of the same id. Raises
        EnrolmentError for a reserved id, a weak key (vetted again: an entry may have been built by
        hand) or a key already enrolled under another id."""
        if entry.id in RESERVED_GATEWAY_IDS:
            raise EnrolmentError(f"gateway id {entry.id!r} is reserved for the broker's own user")
        if entry.public_key_raw is not None:
            try:
                check_public_key(entry.public_key_raw)
            except WeakPublicKey as exc:
                raise EnrolmentError(f"gateway {entry.id!r}: {exc}") from None
            holder = self.key_holder(entry.public_key_raw)
            if holder is not None and holder != entry.id:
                raise EnrolmentError(f"this public key is already enrolled for gateway {holder!r}")
        return GatewayRegistry({**self.entries, entry.id: entry})


class EnrolmentError(ValueError):
    """A gateway that must not be enrolled: the message says why (never echoes a key)."""


class GatewaysFileError(ValueError):
    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def gateway_entry(
    gateway_id: str,
    public_key_text: str | None,
    badges: frozenset[str] | None = None,
    *,
    allow_unsigned: bool = False,
) -> GatewayEntry:
    """Build one entry with its key vetted (``signing.check_public_key``) and its id checked
    against the reserved ones; raises EnrolmentError (a ValueError) saying which."""
    if gateway_id in RESERVED_GATEWAY_IDS:
        raise EnrolmentError(f"gateway id {gateway_id!r} is reserved for the broker's own user")
    raw = None
    if public_key_text is not None:
        try:
            raw = public_key_raw_from_text(public_key_text)  # 32 bytes, a point of the prime-order subgroup
        except WeakPublicKey as exc:
            raise EnrolmentError(f"gateway {gateway_id!r}: {exc}") from None
        except (ValueError, TypeError) as exc:
            raise EnrolmentError(f"gateway {gateway_id!r}: not a 32-byte Ed25519 key: {exc}") from None
    return GatewayEntry(gateway_id, public_key_text, badges, raw, allow_unsigned)


def parse_gateways(text: str, source: str = "<gateways>") -> GatewayRegistry:
    import yaml

    from ronde.protocol import safe_yaml

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
        issues = validation_issues(exc, echo_input=True)
        raise GatewaysFileError(source, [f"{i.where}: {i.what}" for i in issues]) from None
    problems: list[str] = []
    registry = GatewayRegistry()
    badge_re = re.compile(BADGE_PATTERN)
    for i, g in enumerate(doc.gateways):
        if g.id in registry.entries:
            problems.append(f"gateways[{i}].id: duplicate gateway {g.id!r}")
            continue
        if g.id in RESERVED_GATEWAY_IDS:
            problems.append(f"gateways[{i}].id: {g.id!r} is reserved for the broker's own user, not a gateway id")
            continue
        problems.extend(
            f"gateways[{i}].badges: {badge!r} is not a valid badge ({BADGE_PATTERN})"
            for badge in g.badges or []
            if not badge_re.fullmatch(badge)  # match() would let "EQUIPE-A\n" through ($ before a newline)
        )
        try:
            entry = gateway_entry(
                g.id, g.public_key, None if g.badges is None else frozenset(g.badges), allow_unsigned=g.allow_unsigned
            )
        except EnrolmentError as exc:
            problems.append(f"gateways[{i}].public_key: {str(exc).removeprefix(f'gateway {g.id!r}: ')}")
            continue
        try:
            registry = registry.enrol(entry)
        except EnrolmentError as exc:
            problems.append(f"gateways[{i}].public_key: {exc}")
    if problems:
        raise GatewaysFileError(source, problems)
    return registry


def load_gateways(path: str | Path) -> GatewayRegistry:
    from ronde.protocol import safe_yaml

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
    import yaml

    doc: dict[str, Any] = {"format": "ronde-gateways", "version": 1, "gateways": []}
    for e in sorted(registry.entries.values(), key=lambda x: x.id):
        item: dict[str, Any] = {"id": e.id}
        if e.public_key_text is not None:
            item["public_key"] = e.public_key_text
        if e.badges is not None:
            item["badges"] = sorted(e.badges)
        if e.allow_unsigned:
            item["allow_unsigned"] = True
        doc["gateways"].append(item)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)

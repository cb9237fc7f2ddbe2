"""``ronde registry import|export``: today's YAML files (estate, gateways, badges, tokens) ⇄ the operational database.

Every file is read and validated by its own loader first (``ronde.protocol.estate.parse_estate``: errors with
file, field and line as ``ronde estate check``; the gateways, badges and tokens loaders), and nothing is written
unless all of them are valid; then one transaction imports them all. An estate file exported without EID keys
keeps the database's keys on re-import. The estate's revision rules are those of ``registry_repo``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ronde.opdb.access_repo import (
    badges,
    gateway_registry,
    import_badges,
    import_gateways,
    import_tokens,
    token_records,
)
from ronde.opdb.engine import session_factory
from ronde.opdb.registry_repo import InstallResult, install_document, load_registry
from ronde.opdb.sealing import SecretBox
from ronde.protocol import safe_yaml
from ronde.protocol.access import TokenBook, TokenEntry, TokenFileError, read_token_file
from ronde.protocol.estate import EstateDocument, EstateError, EstateFileError
from ronde.protocol.gateways import GatewayRegistry, GatewaysFileError, dump_gateways, load_gateways
from ronde.protocol.registry_data import (
    BadgeEntry,
    badges_data,
    check_estate_import,
    load_badges,
    registry_to_yaml,
)


class ImportRefused(ValueError):
    """One or more files cannot be imported; the message has one line per problem (file: field: message)."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    estate: InstallResult | None
    gateways: int  # rows changed
    badges: int
    tokens: int


def _read_estate_text(path: Path) -> str:
    try:
        return safe_yaml.read_text(path)
    except safe_yaml.YamlLimitError as exc:
        raise EstateFileError(str(path), [EstateError(exc.line, "", exc.message)]) from exc
    except UnicodeDecodeError:
        raise EstateFileError(str(path), [EstateError(None, "", "not UTF-8 text")]) from None
    except OSError as exc:
        raise EstateFileError(str(path), [EstateError(None, "", f"cannot read: {exc.strerror}")]) from None


def import_files(
    engine: Engine,
    box: SecretBox | None,
    *,
    estate: Path | None = None,
    gateways: Path | None = None,
    badges_file: Path | None = None,
    tokens: Path | None = None,
    author: str = "ronde registry import",
) -> ImportSummary:
    problems: list[str] = []
    estate_text = None
    if estate is not None:
        try:
            estate_text = _read_estate_text(estate)
        except EstateFileError as exc:
            problems.append(str(exc))
    gateway_reg: GatewayRegistry | None = None
    if gateways is not None:
        try:
            gateway_reg = load_gateways(gateways)
        except GatewaysFileError as exc:
            problems.append(str(exc))
    badge_map: dict[str, BadgeEntry] | None = None
    if badges_file is not None:
        try:
            badge_map = load_badges(badges_file)
        except ValueError as exc:
            problems.append(str(exc))
    token_entries: list[TokenEntry] | None = None
    if tokens is not None:
        try:
            token_entries = list(read_token_file(tokens).tokens)
            TokenBook(token_entries)  # no token listed twice
        except TokenFileError as exc:
            problems.append(str(exc) if str(exc).startswith(str(tokens)) else f"{tokens}: {exc}")
    sessions = session_factory(engine)
    with sessions.begin() as s:
        doc: EstateDocument | None = None
        if estate is not None and estate_text is not None:
            try:
                current, _ = load_registry(s, box) if box is not None else (None, frozenset())
                doc = check_estate_import(estate_text, current, str(estate))
            except EstateFileError as exc:
                problems.append(str(exc))
        if problems:
            raise ImportRefused("\n".join(problems))
        return _import_in(s, box, doc, gateway_reg, badge_map, token_entries, author)


def _import_in(
    s: Session,
    box: SecretBox | None,
    doc: EstateDocument | None,
    gateway_reg: GatewayRegistry | None,
    badge_map: Mapping[str, BadgeEntry] | None,
    token_entries: Iterable[TokenEntry] | None,
    author: str,
) -> ImportSummary:
    result = None if doc is None else install_document(s, doc, box, author=author)
    n_gw = 0 if gateway_reg is None else import_gateways(s, gateway_reg)
    n_badges = 0 if badge_map is None else import_badges(s, badge_map)
    n_tokens = 0 if token_entries is None else import_tokens(s, token_entries)
    return ImportSummary(result, n_gw, n_badges, n_tokens)


def import_records(
    engine: Engine,
    box: SecretBox | None,
    *,
    estate: EstateDocument | None = None,
    gateways: GatewayRegistry | None = None,
    badges_map: Mapping[str, BadgeEntry] | None = None,
    tokens: Iterable[TokenEntry] | None = None,
    author: str = "ronde registry import",
) -> ImportSummary:
    """What ``import_files`` does once the files are read and valid, in one transaction: for records already in
    memory (the demo's estate and its fresh tokens, tests). Gateways and tokens missing are revoked."""
    with session_factory(engine).begin() as s:
        return _import_in(s, box, estate, gateways, badges_map, tokens, author)


# ---- export -------------------------------------------------------------------------------------------------------


def export_estate(engine: Engine, box: SecretBox | None, *, with_eid_keys: bool = False) -> str:
    """The current registry as an estate file; EID identity keys only with ``with_eid_keys`` (and the key)."""
    if with_eid_keys and box is None:
        raise ValueError("exporting EID identity keys needs RONDE_OPDB_SECRET_KEY")
    with session_factory(engine).begin() as s:
        registry, _ = load_registry(s, box if with_eid_keys else None)
    if registry is None:
        raise ValueError("the operational database holds no registry yet: `ronde registry import --estate FILE`")
    return registry_to_yaml(registry, secrets=with_eid_keys)


def export_gateways(engine: Engine) -> str:
    with session_factory(engine).begin() as s:
        return dump_gateways(gateway_registry(s))


def export_badges(engine: Engine) -> str:
    with session_factory(engine).begin() as s:
        entries = badges(s)
    return yaml.safe_dump(badges_data(entries), sort_keys=False, allow_unicode=True)


def export_tokens(engine: Engine) -> str:
    """The tokens in force (not revoked, not expired) in the tokens-file format: hashes only."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with session_factory(engine).begin() as s:
        records = [r for r in token_records(s) if r.in_force(now)]
    items: list[dict[str, Any]] = []
    for r in records:
        item: dict[str, Any] = {"sha256": r.sha256, "name": r.name, "role": r.role.value}
        if r.landlord is not None:
            item["landlord"] = r.landlord
        items.append(item)
    return "# Ronde API tokens: SHA-256 of each bearer token, never the token itself.\n" + yaml.safe_dump(
        {"tokens": items}, sort_keys=False, allow_unicode=True
    )

"""Bearer tokens: stored hashed (SHA-256), each mapped to a principal with one role.

Token file (YAML)::

    tokens:
      - sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        name: supervision
        role: supervisor
      - sha256: ...
        name: audit-paris-habitat
        role: landlord
        landlord: paris-habitat

Tokens themselves never touch the disk on the server side: ``ronde api token`` creates one in the operational
database, prints it once and keeps its hash. The API reads no token file: a site's file is imported once
(``ronde registry import --tokens``, the only reader of this format left). The records (roles, principals, the
file's entries, ``TokenBook``) are ``ronde.protocol.access``, shared with the operational database; here: what
the API asks of the tokens in force.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ronde.protocol.access import (
    Principal,
    Role,
    TokenBook,
    TokenEntry,
    TokenFile,
    TokenFileError,
    hash_token,
    new_token,
    read_token_file,
)

__all__ = [
    "Principal",
    "RevocableTokens",
    "Role",
    "TokenBook",
    "TokenEntry",
    "TokenFile",
    "TokenFileError",
    "Tokens",
    "hash_token",
    "new_token",
    "read_token_file",
]


class Tokens(Protocol):
    """What the API asks of the tokens in force: the operational database's (``DbTokens``), or a fixed
    ``TokenBook`` (tests, benchmarks)."""

    def authenticate(self, token: str) -> Principal | None: ...

    def lookup_hash(self, digest: str) -> Principal | None:
        """The principal of the token whose SHA-256 is ``digest``, if that token is still in force."""
        ...


@runtime_checkable
class RevocableTokens(Tokens, Protocol):
    """Tokens that can be revoked through the API (the operational database's ``DbTokens``)."""

    def revoke_name(self, name: str) -> int: ...

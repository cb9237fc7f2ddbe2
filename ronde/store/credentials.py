"""The store's credentials: one setting, the same name in every role (issue 13).

``RONDE_STORE_TOKEN`` holds the InfluxDB token (2.x, 3.x; ``user:password`` on 1.8 with authentication) for
ingest, ``ronde store init``, the API and ``ronde audit``; ``RONDE_STORE_PASSWORD`` the InfluxDB 1.x password
that goes with a user name. ``RONDE_INFLUX_TOKEN``, ingest's old name, is still read when the new one is not
set, with a warning: it is deprecated. Secrets never come from the command line (``ps`` shows it); a role may
instead be given a file holding the token (``--store-token-file``), read by :func:`read_secret_file`.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

TOKEN_VARIABLE = "RONDE_STORE_TOKEN"  # noqa: S105 - the name of the variable, not a secret
PASSWORD_VARIABLE = "RONDE_STORE_PASSWORD"  # noqa: S105 - the name of the variable, not a secret
DEPRECATED_TOKEN_VARIABLE = "RONDE_INFLUX_TOKEN"  # noqa: S105 - the name of the variable, not a secret

log = logging.getLogger(__name__)


class StoreTokenDeprecation(DeprecationWarning):
    """``RONDE_INFLUX_TOKEN`` was used: rename it ``RONDE_STORE_TOKEN``."""


def store_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The store token from ``RONDE_STORE_TOKEN``, else from the deprecated ``RONDE_INFLUX_TOKEN`` (warned)."""
    env = os.environ if environ is None else environ
    token = env.get(TOKEN_VARIABLE)
    if token:
        return token
    old = env.get(DEPRECATED_TOKEN_VARIABLE)
    if old:
        message = f"{DEPRECATED_TOKEN_VARIABLE} is deprecated: set {TOKEN_VARIABLE} instead (the same for every role)"
        log.warning("%s", message)
        warnings.warn(message, StoreTokenDeprecation, stacklevel=2)
        return old
    return None


def store_password(environ: Mapping[str, str] | None = None) -> str | None:
    """The InfluxDB 1.x password from ``RONDE_STORE_PASSWORD``."""
    env = os.environ if environ is None else environ
    return env.get(PASSWORD_VARIABLE) or None


def read_secret_file(path: str | Path) -> str:
    """The secret held by ``path`` (surrounding whitespace and the final newline removed). Raises OSError, or
    ValueError for an empty file."""
    text = Path(path).read_text(encoding="utf-8").strip()
    if not text:
        raise ValueError(f"{path}: the file is empty (expected the store token)")
    return text

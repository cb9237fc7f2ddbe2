from __future__ import annotations

from tests.api.conftest import app, client

__all__ = ["app", "client"]

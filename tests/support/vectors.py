"""The published test vectors, kept in the repository (``tests/vectors``, sources in its ``SOURCES.md``).

Loaded relative to this file so that a bare clone runs every test with nothing beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parents[1] / "vectors"


def load_vectors(name: str) -> Any:
    """One vector file by name (``frames.json``, ``eid_vectors.json``...), parsed; never edited."""
    return json.loads((VECTORS_DIR / name).read_text(encoding="utf-8"))

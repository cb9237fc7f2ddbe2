"""docs/api.md names only fields the API serves: each coverage route's documented fields are in its
OpenAPI response schema (the docs once said `share` and `regularity` where the API says
`covered_share` and `gap_cv`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
FIELD = re.compile(r"`([a-z][a-z0-9_]*)`")
ROUTE = re.compile(r"`GET (/[^`?]*)")
JSON_WORDS = {"null", "true", "false"}


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n### ", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def _names(schema: Any, components: dict[str, Any], seen: set[str]) -> set[str]:
    """Property names and string enum values reachable from ``schema``."""
    out: set[str] = set()
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                out |= _names(components[name], components, seen)
        out |= set(schema.get("properties", {}))
        out |= {v for v in schema.get("enum", []) if isinstance(v, str)}
        if isinstance(schema.get("const"), str):
            out.add(schema["const"])
        for value in schema.values():
            out |= _names(value, components, seen)
    elif isinstance(schema, list):
        for item in schema:
            out |= _names(item, components, seen)
    return out


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.strip())


def test_documented_coverage_fields_are_in_the_openapi_schema(app: FastAPI) -> None:
    spec = app.openapi()
    components = spec["components"]["schemas"]
    paths = {_normalise(p): ops for p, ops in spec["paths"].items()}
    rows = [line for line in _section(API_MD.read_text(), "### Coverage").splitlines() if line.startswith("| `GET")]
    checked = 0
    for row in rows:
        route_cell, answers = row.split(" | ", 1)
        route = ROUTE.search(route_cell)
        assert route, row
        ops = paths.get(_normalise(route.group(1)))
        assert ops is not None, f"docs/api.md documents {route.group(1)}, which the app does not serve"
        served = _names(ops["get"]["responses"]["200"], components, set())
        documented = set(FIELD.findall(answers)) - JSON_WORDS
        missing = sorted(documented - served)
        assert not missing, f"{route.group(1)}: docs/api.md names {missing}, not in its response schema"
        checked += len(documented)
    # the table does name fields: the test would pass vacuously if it stopped doing so
    assert checked >= 20

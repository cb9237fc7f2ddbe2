"""Minimal InfluxDB 1.x HTTP client for the dashboard tests (the v1 ``/query`` and ``/write`` API)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InfluxHttp:
    url: str
    database: str

    def query(self, q: str) -> dict[str, Any]:
        data = urllib.parse.urlencode({"q": q, "db": self.database, "epoch": "ms"}).encode()
        try:
            with urllib.request.urlopen(f"{self.url}/query", data, timeout=30) as r:
                return dict(json.loads(r.read()))
        except urllib.error.HTTPError as exc:
            return {"error": f"HTTP {exc.code}: {exc.read().decode(errors='replace')}"}

    def write(self, lines: list[str], rp: str) -> None:
        params = urllib.parse.urlencode({"db": self.database, "rp": rp, "precision": "ns"})
        for i in range(0, len(lines), 5000):
            body = "\n".join(lines[i : i + 5000]).encode()
            req = urllib.request.Request(f"{self.url}/write?{params}", data=body, method="POST")
            with urllib.request.urlopen(req, timeout=30) as r:
                assert r.status == 204, r.read()


def problems(result: dict[str, Any]) -> str | None:
    """Why an InfluxQL answer is not a usable panel result (error, no series, only nulls), or None."""
    if "error" in result:
        return str(result["error"])
    for statement in result.get("results", []):
        if "error" in statement:
            return str(statement["error"])
        series = statement.get("series") or []
        if not series:
            return "no series returned"
        for s in series:
            columns = s["columns"]
            for row in s.get("values", []):
                if any(v is not None for c, v in zip(columns, row, strict=True) if c != "time"):
                    return None
        return "only null values"
    return "no result"


def tag_values(result: dict[str, Any]) -> list[str]:
    """Values of a ``SHOW TAG VALUES`` answer."""
    out: list[str] = []
    for statement in result.get("results", []):
        for s in statement.get("series") or []:
            out.extend(str(row[1]) for row in s.get("values", []))
    return sorted(set(out))

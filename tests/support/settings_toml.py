"""A settings file (``ronde.settings``: TOML) from sections, for tests and benchmarks that start a server role.

The standard library reads TOML but does not write it; the settings hold only strings, numbers and booleans, so
this small writer is enough (``json.dumps`` of a string is a valid TOML basic string).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

Value = str | int | float | bool | Path


def _value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def toml_text(sections: Mapping[str, Mapping[str, Value]]) -> str:
    lines: list[str] = []
    for name, fields in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_value(value)}" for key, value in fields.items())
        lines.append("")
    return "\n".join(lines)


def write_settings(path: Path, sections: Mapping[str, Mapping[str, Value]]) -> Path:
    """``sections``: ``{"store": {"url": …}, "ingest": {"name": "w1"}}``; returns ``path``."""
    path.write_text(toml_text(sections), encoding="utf-8")
    return path

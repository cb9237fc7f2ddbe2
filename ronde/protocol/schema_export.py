"""JSON Schemas of the v1 wire messages, generated from the models into ``protocol/schemas/``.

``python -m ronde.protocol.schema_export`` rewrites them; a test fails when the committed files
differ from what the models generate, so the documented contract is the one the code sends.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ronde.protocol.messages import MESSAGE_MODELS, PROTOCOL_VERSION

SCHEMA_DIR = Path(__file__).with_name("schemas")
BASE_ID = "https://ronde.example/schemas/v1/"


def schema_of(kind: str) -> dict[str, Any]:
    model = MESSAGE_MODELS[kind]
    schema = model.model_json_schema(mode="serialization")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_ID}{kind}.schema.json",
        **schema,
    }
    schema["description"] = (schema.get("description") or "").strip() + f" (Ronde wire protocol v{PROTOCOL_VERSION})"
    if "sig" in schema.get("required", []):
        schema["required"].remove("sig")  # omitted when unsigned (see messages.to_wire)
    for name in ("first_seen", "last_seen", "at"):
        prop = schema.get("properties", {}).get(name)
        if prop is not None:
            _time_format(prop)
    return schema


def _time_format(prop: dict[str, Any]) -> None:
    """Serialised times are strings ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
    if prop.get("type") == "string":
        prop["pattern"] = pattern
    for alt in prop.get("anyOf", []):
        if alt.get("type") == "string":
            alt["pattern"] = pattern


def rendered() -> dict[str, str]:
    return {
        f"{kind}.schema.json": json.dumps(schema_of(kind), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        for kind in MESSAGE_MODELS
    }


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
        print(SCHEMA_DIR / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

from __future__ import annotations

from pathlib import Path

import pytest

from ronde.ingest.gateways import GatewaysFileError, dump_gateways, load_gateways, parse_gateways
from ronde.protocol.signing import new_private_key, public_key_text


def test_round_trip_and_badges(tmp_path: Path) -> None:
    key = public_key_text(new_private_key())
    text = f"""
format: ronde-gateways
version: 1
gateways:
  - {{id: gw-a, public_key: "{key}", badges: [EQUIPE-A1]}}
  - id: gw-b
"""
    reg = parse_gateways(text)
    a, b = reg.get("gw-a"), reg.get("gw-b")
    assert a is not None and a.public_key is not None and a.badge_allowed("EQUIPE-A1")
    assert not a.badge_allowed("EQUIPE-B1")
    assert b is not None and b.public_key is None and b.badge_allowed("anything")
    path = tmp_path / "gateways.yaml"
    path.write_text(dump_gateways(reg))
    again = load_gateways(path)
    assert set(again.entries) == {"gw-a", "gw-b"} and again.entries["gw-a"].public_key_text == key


def test_json_is_accepted() -> None:
    reg = parse_gateways('{"format": "ronde-gateways", "version": 1, "gateways": [{"id": "gw-j"}]}')
    assert reg.get("gw-j") is not None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("format: ronde-gateways\nversion: 1\ngateways:\n  - {id: GW}\n", "gateways[0].id"),
        ("format: ronde-gateways\nversion: 1\ngateways:\n  - {id: gw, public_key: short}\n", "public_key"),
        ("format: ronde-gateways\nversion: 1\ngateways:\n  - {id: gw}\n  - {id: gw}\n", "duplicate"),
        ("format: ronde-gateways\nversion: 1\ngateways:\n  - {id: gw, badges: ['a b']}\n", "badges"),
        ("format: ronde-gateways\nversion: 1\ngateways:\n  - {id: gw, colour: red}\n", "colour"),
        ("format: other\nversion: 1\n", "format"),
        ("[1, 2]", "mapping"),
        ("gateways: [", "not valid"),
    ],
)
def test_errors_name_the_entry(text: str, needle: str) -> None:
    with pytest.raises(GatewaysFileError) as err:
        parse_gateways(text, "gw.yaml")
    assert needle in str(err.value) and "gw.yaml" in str(err.value)


def test_43_chars_that_are_not_a_point_still_load_or_fail_cleanly() -> None:
    text = f"format: ronde-gateways\nversion: 1\ngateways:\n  - {{id: gw, public_key: \"{'A' * 43}\"}}\n"
    reg = parse_gateways(text)  # 32 zero bytes decode as a key; verification will simply fail
    assert reg.get("gw") is not None


def test_missing_file() -> None:
    with pytest.raises(GatewaysFileError, match="cannot read"):
        load_gateways("/nonexistent/gateways.yaml")

from __future__ import annotations

from pathlib import Path

import pytest

from ronde.protocol.gateways import (
    EnrolmentError,
    GatewayEntry,
    GatewayRegistry,
    GatewaysFileError,
    dump_gateways,
    gateway_entry,
    load_gateways,
    parse_gateways,
)
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
    assert a is not None
    assert a.public_key is not None
    assert a.badge_allowed("EQUIPE-A1")
    assert not a.badge_allowed("EQUIPE-B1")
    assert b is not None
    assert b.public_key is None
    assert b.badge_allowed("anything")
    path = tmp_path / "gateways.yaml"
    path.write_text(dump_gateways(reg))
    again = load_gateways(path)
    assert set(again.entries) == {"gw-a", "gw-b"}
    assert again.entries["gw-a"].public_key_text == key


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
    assert needle in str(err.value)
    assert "gw.yaml" in str(err.value)


def test_the_all_zero_key_is_refused_at_enrolment() -> None:
    """43 'A's decode to 32 zero bytes: a small-order point, under which signatures can be forged."""
    text = f'format: ronde-gateways\nversion: 1\ngateways:\n  - {{id: gw, public_key: "{"A" * 43}"}}\n'
    with pytest.raises(GatewaysFileError) as err:
        parse_gateways(text, "gw.yaml")
    assert "gateways[0].public_key" in str(err.value)
    assert "small-order" in str(err.value)


def test_one_key_one_gateway() -> None:
    key = public_key_text(new_private_key())
    text = f"""
format: ronde-gateways
version: 1
gateways:
  - {{id: gw-a, public_key: "{key}"}}
  - {{id: gw-b, public_key: "{key}"}}
"""
    with pytest.raises(GatewaysFileError) as err:
        parse_gateways(text, "gw.yaml")
    assert "gateways[1].public_key" in str(err.value)
    assert "already enrolled for gateway 'gw-a'" in str(err.value)
    assert key not in str(err.value)


@pytest.mark.parametrize("reserved", ["ingest", "healthcheck"])
def test_the_brokers_own_users_are_not_gateway_ids(reserved: str) -> None:
    text = f"format: ronde-gateways\nversion: 1\ngateways:\n  - {{id: {reserved}}}\n"
    with pytest.raises(GatewaysFileError, match=r"gateways\[0\]\.id: .*reserved"):
        parse_gateways(text, "gw.yaml")
    with pytest.raises(EnrolmentError, match="reserved"):
        gateway_entry(reserved, public_key_text(new_private_key()))
    entry = GatewayEntry(reserved, None)  # built by hand: enrol still refuses it
    with pytest.raises(EnrolmentError, match="reserved"):
        GatewayRegistry().enrol(entry)


def test_allow_unsigned_is_per_gateway_and_round_trips(tmp_path: Path) -> None:
    text = "format: ronde-gateways\nversion: 1\ngateways:\n  - {id: gw-old, allow_unsigned: true}\n  - {id: gw-new}\n"
    reg = parse_gateways(text)
    assert reg.entries["gw-old"].allow_unsigned
    assert not reg.entries["gw-new"].allow_unsigned
    path = tmp_path / "gateways.yaml"
    path.write_text(dump_gateways(reg))
    again = load_gateways(path)
    assert again.entries["gw-old"].allow_unsigned
    assert not again.entries["gw-new"].allow_unsigned
    assert "allow_unsigned" not in dump_gateways(GatewayRegistry.of(again.entries["gw-new"]))


def test_missing_file() -> None:
    with pytest.raises(GatewaysFileError, match="cannot read"):
        load_gateways("/nonexistent/gateways.yaml")

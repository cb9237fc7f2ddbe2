from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from ronde.cli import main
from ronde.gateway.config import ConfigError, load_config, parse_config, read_password
from tests.gateway.support import config_text

BASE = """
[gateway]
id = "gw-mordacs-1"
badge = "team-a7"
key_file = "/var/lib/ronde/device.key"

[mqtt]
host = "broker.example.org"
"""


def errors_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "gw.toml")
    return info.value.errors


def test_minimal_file_gets_documented_defaults() -> None:
    config = parse_config(BASE)
    assert config.mqtt.port == 8883
    assert config.mqtt.tls
    assert config.mqtt_username == "gw-mordacs-1"
    assert config.client_id == "ronde-gw-gw-mordacs-1"
    cal = config.service.calendar()
    assert cal.days == frozenset({2, 3, 4, 5, 6})
    assert cal.start == time(16)
    assert cal.end == time(22, 15)
    assert config.scanner.active is False
    from ronde.gateway.detection import Thresholds

    assert config.detection_config().default == Thresholds()  # the detector's documented defaults
    assert config.detection_config().accept_prefixes == ()  # no estate file: every beacon


def test_example_file_in_deploy_is_valid() -> None:
    config = load_config(Path(__file__).parents[2] / "deploy" / "gateway.example.toml")
    assert config.gateway.id


def test_each_error_names_its_key() -> None:
    errs = dict(errors_of(BASE.replace('"gw-mordacs-1"', '"GW 1"') + "port = 70000\n[scanner]\nwatchdgo_s = 3\n"))
    assert "gateway.id" in errs
    assert "mqtt.port" in errs
    assert "65535" in errs["mqtt.port"]
    assert "scanner.watchdgo_s" in errs
    assert "Extra inputs" in errs["scanner.watchdgo_s"]


def test_missing_sections_and_bad_toml() -> None:
    errs = dict(errors_of('[gateway]\nid = "gw-1"\n'))
    assert set(errs) >= {"gateway.badge", "gateway.key_file", "mqtt"}
    (err,) = errors_of("[gateway\n")
    assert "not valid TOML" in err[1]


def test_service_section_checks() -> None:
    errs = dict(errors_of(BASE + '[service]\ndays = ["wed", "caturday"]\ntimezone = "Mars/Olympus"\n'))
    assert "service.days[1]" in errs
    assert "unknown time zone" in errs["service.timezone"]
    errs = dict(errors_of(BASE + "[service]\noverride_until = 2026-04-01T23:00:00\n"))
    assert "UTC offset" in errs["service.override_until"]
    errs = dict(errors_of(BASE + "[service]\noverride_until = 2026-04-01T23:00:00+02:00\n"))
    assert "override_reason" in errs["service"]
    override = '[service]\noverride_until = 2026-04-01T23:00:00+02:00\noverride_reason = "night audit"\n'
    config = parse_config(BASE + override)
    assert config.service.override_until == datetime(2026, 4, 1, 21, tzinfo=UTC)


def test_username_must_be_the_gateway_id() -> None:
    (err,) = errors_of(BASE + 'username = "someone-else"\n')
    assert "must equal gateway.id" in err[1]


def test_detection_thresholds_are_checked_with_their_key() -> None:
    (err,) = errors_of(BASE + "[detection.default]\nenter_dbm = -95\nexit_dbm = -80\n")
    assert err[0] == "detection.default"
    assert "exit_dbm" in err[1]
    (err,) = errors_of(BASE + "[detection.kinds.car_park_underground]\nenter_dbm = -88\n")
    assert err[0] == "detection.kinds"
    assert "estate_file" in err[1]
    errs = dict(errors_of(BASE + "[detection.kinds.basement]\nenter_dbm = -88\n"))
    assert any(k.startswith("detection.kinds") for k in errs)


def test_detection_kinds_map_to_the_estate_beacons() -> None:
    from ronde.protocol.estate import CheckpointKind, default_estate_path, load_default_estate

    text = BASE + (
        f'[detection]\nestate_file = "{default_estate_path()}"\n'
        "[detection.default]\nenter_dbm = -80\n"
        "[detection.kinds.car_park_underground]\nenter_dbm = -88\nexit_dbm = -95\n"
        '[detection.beacons."eddystone_eid:"]\nmin_samples = 2\n'
    )
    det = parse_config(text).detection_config()
    registry = load_default_estate()
    underground = [c for c in registry.checkpoints.values() if c.kind is CheckpointKind.CAR_PARK_UNDERGROUND]
    other = [c for c in registry.checkpoints.values() if c.kind is CheckpointKind.STAIRWELL_HALL]
    for cp in underground:
        if cp.beacon.key is not None:
            assert det.thresholds_for(cp.beacon.key).enter_dbm == -88
    assert det.thresholds_for(other[0].beacon.key or "x").enter_dbm == -80
    th = det.thresholds_for("eddystone_eid:0011223344556677")
    assert th.min_samples == 2
    assert th.enter_dbm == -80  # partial override on top of the default
    # With an estate file, only its beacons are tracked (privacy: shops' and phones' beacons are ignored).
    keyed = [c.beacon.key for c in registry.checkpoints.values() if c.beacon.key is not None]
    assert all(det.accepts(k) for k in keyed)
    assert not det.accepts("ibeacon:" + "0" * 32 + ":1:1")
    assert det.accepts("eddystone_eid:0011223344556677") == bool(registry.eid_checkpoints())
    explicit = parse_config(BASE + '[detection]\naccept = ["ibeacon:f7826da64fa24e988024bc5b71e0893e:"]\n')
    assert explicit.detection_config().accept_prefixes == ("ibeacon:f7826da64fa24e988024bc5b71e0893e:",)
    (err,) = errors_of(BASE + '[detection]\naccept = [""]\n')
    assert err[0] == "detection.accept"


def test_values_are_read_as_pydantic_read_them() -> None:
    """The reader took over from pydantic models (a scanner no longer loads pydantic): text for times and dates,
    numbers and booleans written as text, every bad item of a list and every unknown key, nested ones too."""
    config = parse_config(
        BASE + 'port = "1883"\nreconnect_max_s = 2\n[scanner]\nactive = "yes"\nwatchdog_s = "30"\n'
        '[service]\nstart = "18:30"\nend = 23:00:00\nclosed = ["2026-12-25", 2027-01-01]\n'
        "override_until = 2026-04-01T23:00:00Z\noverride_reason = 'audit'\n"
    )
    assert (config.mqtt.port, config.mqtt.reconnect_max_s) == (1883, 2.0)
    assert (config.scanner.active, config.scanner.watchdog_s) == (True, 30.0)
    cal = config.service.calendar()
    assert (cal.start, cal.end) == (time(18, 30), time(23))
    assert cal.closed == frozenset({date(2026, 12, 25), date(2027, 1, 1)})
    assert config.service.override_until == datetime(2026, 4, 1, 23, tzinfo=UTC)
    errs = dict(
        errors_of(
            BASE + 'tls = "maybe"\nprotocol = "v4"\n[service]\ndays = ["wed", 3, "caturday"]\nstart = "25:00"\n'
            "[detection.default]\nwindow_s = 0\nfoo = 1\n[detection.kinds.basement]\nenter_dbm = -88\n"
        )
    )
    assert set(errs) == {
        "mqtt.tls",
        "mqtt.protocol",
        "service.days[1]",
        "service.days[2]",
        "service.start",
        "detection.default.window_s",
        "detection.default.foo",
        "detection.kinds.basement",
    }
    assert errs["mqtt.protocol"] == "Input should be 'v5' or 'v3.1.1'"
    assert errs["detection.default.window_s"] == "Input should be greater than 0"
    assert "'car_park_underground'" in errs["detection.kinds.basement"]


def test_password_file(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    assert read_password(parse_config(BASE + f'password_file = "{pw}"\n')) == "s3cret"
    with pytest.raises(ConfigError, match=r"mqtt\.password_file"):
        read_password(parse_config(BASE + f'password_file = "{tmp_path}/missing"\n'))


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "gw.toml"
    good.write_text(config_text(tmp_path, 1883))
    assert main(["gateway", "check-config", str(good)]) == 0
    assert "ok: gateway gw-test-1" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(config_text(tmp_path, 0))
    assert main(["gateway", "check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: mqtt.port: Input should be greater than or equal to 1" in err
    assert "1 error(s)" in err
    assert main(["gateway", "check-config", str(tmp_path / "none.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err

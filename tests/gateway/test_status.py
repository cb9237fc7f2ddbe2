from __future__ import annotations

import io
import json
from pathlib import Path

from ronde.gateway.indicator import ConsoleIndicator, IndicatorState, SysfsLedIndicator
from ronde.gateway.status import DepthAlarm, ScanRate, SysfsBattery, heartbeat_payload, status_payload
from ronde.protocol.messages import GatewayStatus, Heartbeat
from ronde.protocol.signing import new_private_key, verify


def test_depth_alarm_has_hysteresis() -> None:
    alarm = DepthAlarm(threshold=100)
    assert not alarm.update(99)
    assert not alarm.raised
    assert alarm.update(100)
    assert alarm.raised
    assert not alarm.update(60)
    assert alarm.raised  # still above half: no flapping
    assert alarm.update(50)
    assert not alarm.raised


def test_scan_rate_between_heartbeats() -> None:
    rate = ScanRate()
    assert rate.take(100.0) == 0.0
    rate.add(300)
    assert rate.take(160.0) == 5.0
    assert rate.take(160.0) == 0.0


def test_payloads_are_valid_signed_wire_messages() -> None:
    key, other = new_private_key(), new_private_key()
    raw = status_payload(
        "gw-1", online=True, at=1_774_980_000.0, scanning=False, reason="outside service hours", key=key
    )
    status = GatewayStatus.model_validate_json(raw)
    assert status.state == "online"
    assert status.scanning is False
    assert status.reason == "outside service hours"
    will = json.loads(status_payload("gw-1", online=False, at=None, scanning=False, reason="connection lost", key=key))
    assert will["state"] == "offline"
    assert will["at"] is None
    beat_raw = heartbeat_payload(
        "gw-1",
        at=1_774_980_000.0,
        scanning=True,
        in_service=True,
        outbox_depth=3,
        next_seq=42,
        adverts_per_s=12.5,
        battery_pct=None,
        key=key,
    )
    beat = Heartbeat.model_validate_json(beat_raw)
    assert beat.outbox_depth == 3
    assert beat.next_seq == 42
    assert beat.battery_pct is None
    for obj in (json.loads(raw), will, json.loads(beat_raw)):
        assert verify(obj, key.public_key())
        assert not verify(obj, other.public_key())
        assert not verify({**obj, "scanning": not obj["scanning"]}, key.public_key())


def test_sysfs_battery(tmp_path: Path) -> None:
    ac = tmp_path / "AC"
    ac.mkdir()
    (ac / "type").write_text("Mains\n")
    assert SysfsBattery(tmp_path).battery_pct() is None
    bat = tmp_path / "BAT0"
    bat.mkdir()
    (bat / "type").write_text("Battery\n")
    (bat / "capacity").write_text("87\n")
    assert SysfsBattery(tmp_path).battery_pct() == 87
    assert SysfsBattery(tmp_path / "missing").battery_pct() is None


def test_console_indicator_prints_changes_only() -> None:
    out = io.StringIO()
    ind = ConsoleIndicator(out)
    off = IndicatorState(False, "outside service hours; next service Wed 2026-04-01 16:00 CEST", True, 0, False)
    ind.show(off)
    ind.show(off)
    ind.show(IndicatorState(True, "in service hours until 22:15 CEST", False, 12, True))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[ronde] NOT SCANNING: outside service hours")
    assert "SCANNING: in service hours" in lines[1]
    assert "offline" in lines[1]
    assert "ALARM: 12 events" in lines[1]


def test_led_indicator(tmp_path: Path) -> None:
    led = SysfsLedIndicator(tmp_path)
    led.show(IndicatorState(True, "", True, 0, False))
    assert (tmp_path / "brightness").read_text() == "1"
    assert (tmp_path / "trigger").read_text() == "none"
    led.show(IndicatorState(True, "", True, 9999, True))
    assert (tmp_path / "trigger").read_text() == "timer"
    SysfsLedIndicator(tmp_path / "nope").show(IndicatorState(False, "", True, 0, False))  # logged, not raised

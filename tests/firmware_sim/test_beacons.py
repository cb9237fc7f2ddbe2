"""Simulated beacons: timing, drifting clocks, batteries, TLM, EID rotation and persistence."""

from __future__ import annotations

import random
import statistics

import pytest

from ronde.firmware_sim.beacons import (
    ADV_DELAY_MAX_S,
    MAX_DRIFT_PPM,
    TLM_EVERY,
    BatteryChange,
    make_beacon,
)
from ronde.gateway.frames import (
    EddystoneEidFrame,
    EddystoneTlmFrame,
    EddystoneUidFrame,
    IBeaconFrame,
    decode_eddystone,
    decode_manufacturer,
)
from ronde.protocol.eid import compute_eid
from ronde.protocol.radio import APPLE_COMPANY_ID, EDDYSTONE_SERVICE_UUID
from tests.firmware_sim.support import beacon_at, checkpoint_of_format, eid_beacon, registry

DAY = 86400.0


def test_hardware_draws_are_reproducible_and_bounded() -> None:
    reg = registry()
    drifts = []
    for cp in reg.checkpoints.values():
        a, b = make_beacon(cp, 7, 1.79e9), make_beacon(cp, 7, 1.79e9)
        assert (a.drift_ppm, a.address, a.installed_at, a.battery_life_s) == (
            b.drift_ppm,
            b.address,
            b.installed_at,
            b.battery_life_s,
        )
        assert abs(a.drift_ppm) <= MAX_DRIFT_PPM
        assert int(a.address[:2], 16) >> 6 == 0b11  # static random address
        drifts.append(a.drift_ppm)
    assert max(drifts) > 50
    assert min(drifts) < -50  # spread over the ±150 ppm range
    assert make_beacon(next(iter(reg.checkpoints.values())), 8, 1.79e9).drift_ppm != drifts[0]


def test_interval_includes_drift_and_the_ble_adv_delay() -> None:
    beacon = beacon_at(checkpoint_of_format("ibeacon"), drift_ppm=100.0)
    rng = random.Random(1)
    t, gaps = 0.0, []
    for _ in range(5000):
        nxt = beacon.next_event(t, rng)
        gaps.append(nxt - t)
        t = nxt
    assert min(gaps) >= 1.0001 - 1e-9
    assert max(gaps) <= 1.0001 + ADV_DELAY_MAX_S + 1e-9
    assert statistics.mean(gaps) == pytest.approx(1.0001 + ADV_DELAY_MAX_S / 2, abs=0.0005)
    skipped = [beacon.skip_events(0.0, 1000, rng) for _ in range(300)]
    assert statistics.mean(skipped) == pytest.approx(1000 * (1.0001 + ADV_DELAY_MAX_S / 2), abs=0.05)


def test_ibeacon_frame_is_what_the_estate_file_says() -> None:
    cp = checkpoint_of_format("ibeacon")
    frame = beacon_at(cp).frame(1.8e9, 3)
    decoded = decode_manufacturer(APPLE_COMPANY_ID, frame.manufacturer_data[APPLE_COMPANY_ID])
    assert isinstance(decoded, IBeaconFrame)
    assert f"ibeacon:{decoded.uuid}:{decoded.major}:{decoded.minor}" == cp.beacon.key
    assert decoded.measured_power == cp.beacon.tx_power


def test_uid_beacon_interleaves_tlm_with_draining_battery() -> None:
    cp = checkpoint_of_format("eddystone_uid")
    installed = 1.75e9
    beacon = beacon_at(cp, drift_ppm=-40.0, installed_at=installed, life_s=700 * DAY)
    kinds = [
        type(decode_eddystone(beacon.frame(installed + 10, e).service_data[EDDYSTONE_SERVICE_UUID]))
        for e in range(3 * TLM_EVERY)
    ]
    assert kinds.count(EddystoneTlmFrame) == 3
    assert kinds.count(EddystoneUidFrame) == 3 * TLM_EVERY - 3
    uid = decode_eddystone(beacon.frame(installed + 10, 0).service_data[EDDYSTONE_SERVICE_UUID])
    assert isinstance(uid, EddystoneUidFrame)
    assert f"eddystone_uid:{uid.namespace}:{uid.instance}" == cp.beacon.key

    def tlm(days: float) -> EddystoneTlmFrame:
        f = decode_eddystone(beacon.frame(installed + days * DAY, TLM_EVERY - 1).service_data[EDDYSTONE_SERVICE_UUID])
        assert isinstance(f, EddystoneTlmFrame)
        return f

    early, later, late = tlm(30), tlm(300), tlm(680)
    assert early.battery_mv is not None
    assert later.battery_mv is not None
    assert late.battery_mv is not None
    assert 2900 < early.battery_mv <= 3000
    assert late.battery_mv < later.battery_mv < early.battery_mv
    assert late.battery_mv < 2400  # past the knee of the lithium cell
    assert later.adv_count > early.adv_count
    assert later.adv_count == pytest.approx(300 * DAY / (1.0 + ADV_DELAY_MAX_S / 2), rel=1e-3)
    assert later.uptime_s == pytest.approx(300 * DAY * (1 - 40e-6), abs=0.2)  # SEC_CNT in 0.1 s, own clock
    assert early.temperature_c is not None
    assert -10 < early.temperature_c < 40
    assert beacon.alive(installed + 699 * DAY)
    assert not beacon.alive(installed + 701 * DAY)


def test_battery_change_restarts_uptime_and_resets_the_cell() -> None:
    cp = checkpoint_of_format("eddystone_uid")
    beacon = beacon_at(cp, installed_at=1.75e9, life_s=700 * DAY)
    swap = 1.75e9 + 600 * DAY
    beacon.battery_changes = (BatteryChange(at=swap, off_s=120.0),)
    assert not beacon.alive(swap + 60)
    assert beacon.alive(swap + 121)
    assert beacon.uptime_ds(swap + 220) == pytest.approx(1000, abs=1)
    assert beacon.battery_mv(swap + DAY) > beacon.battery_mv(swap - DAY)


def test_forced_death() -> None:
    beacon = beacon_at(checkpoint_of_format("eddystone_uid"), installed_at=1.75e9)
    beacon.dies_at = 1.75e9 + 100 * DAY
    assert beacon.alive(1.75e9 + 99 * DAY)
    assert beacon.battery_mv(1.75e9 + 99.9 * DAY) < beacon.battery_mv(1.75e9 + 50 * DAY)
    assert not beacon.alive(1.75e9 + 100 * DAY + 1)


def test_eid_counter_drifts_with_the_crystal() -> None:
    ik = bytes(range(16))
    epoch = 1_767_657_600
    fast = eid_beacon(ik, 10, epoch, drift_ppm=150.0)
    slow = eid_beacon(ik, 10, epoch, drift_ppm=-150.0)
    t = epoch + 300 * DAY
    assert fast.eid_counter(t) - (t - epoch) == pytest.approx(300 * DAY * 150e-6, abs=1)
    assert slow.eid_counter(t) - (t - epoch) == pytest.approx(-300 * DAY * 150e-6, abs=1)
    frame = decode_eddystone(fast.frame(t, 0).service_data[EDDYSTONE_SERVICE_UUID])
    assert isinstance(frame, EddystoneEidFrame)
    assert frame.eid == compute_eid(ik, 10, fast.eid_counter(t)).hex()
    # rotates every 2^K seconds of its own clock, and so does its random address
    later = fast.frame(t + 1024 / (1 + 150e-6), 0)
    assert later.service_data != fast.frame(t, 0).service_data
    assert later.address != fast.frame(t, 0).address
    assert int(later.address[:2], 16) >> 6 == 0b00  # non-resolvable private address


def test_eid_counter_persists_across_a_battery_change() -> None:
    ik = bytes(range(16))
    epoch = 1_767_657_600
    beacon = eid_beacon(ik, 10, epoch, drift_ppm=20.0)
    swap = epoch + 200 * DAY + 333
    beacon.battery_changes = (BatteryChange(at=swap, off_s=180.0),)
    before = beacon.eid_counter(swap - 1)
    after = beacon.eid_counter(swap + 181)
    assert after >= before  # never goes backwards: restored from flash
    offset = after - (swap + 181 - epoch) * (1 + 20e-6)
    assert abs(offset) <= beacon.persist_period_s + 181
    assert after > 200 * DAY  # not restarted from zero

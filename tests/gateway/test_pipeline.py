"""ScanPipeline: advertisements (as bleak reports them) to visits and relayed TLM telemetry."""

from __future__ import annotations

from ronde.gateway.detection import DetectedVisit, DetectionConfig, Thresholds
from ronde.gateway.pipeline import ScanPipeline, TelemetryReading
from ronde.gateway.wire import EddystoneEidId, EddystoneUidId, IBeaconId
from ronde.protocol.radio import EDDYSTONE_SERVICE_UUID, Advertisement

T0 = 1_774_800_000.0
IBEACON = bytes.fromhex("02155f1c2a7e0d4b4e6a9c3b8d2f6a1e4b7000010004c5")  # -59 dBm @ 1 m
UID = bytes.fromhex("00ee52ce44e9a3b1d0c6e7f80000000000180000")  # -18 dBm @ 0 m
EID = bytes.fromhex("30ee4549445f74657374")


def tlm(battery_mv: int, adv_count: int) -> bytes:
    return (
        bytes([0x20, 0x00])
        + battery_mv.to_bytes(2, "big")
        + bytes([21, 0x80])
        + adv_count.to_bytes(4, "big")
        + (36000).to_bytes(4, "big")
    )


def ibeacon_adv(t: float, rssi: int, address: str = "c0:ff:ee:00:00:01") -> Advertisement:
    return Advertisement(t=T0 + t, address=address, rssi=rssi, manufacturer_data={0x004C: IBEACON})


def eddystone_adv(t: float, rssi: int, data: bytes, address: str = "c0:ff:ee:00:00:02") -> Advertisement:
    return Advertisement(t=T0 + t, address=address, rssi=rssi, service_data={EDDYSTONE_SERVICE_UUID: data})


def visits(items: list[DetectedVisit | TelemetryReading]) -> list[DetectedVisit]:
    return [x for x in items if isinstance(x, DetectedVisit)]


def test_ibeacon_stream_becomes_a_visit() -> None:
    pipe = ScanPipeline(DetectionConfig())
    out: list[DetectedVisit | TelemetryReading] = []
    for i in range(30):
        out += pipe.feed(ibeacon_adv(i, -70))
    assert out == []
    assert pipe.open_count == 1
    assert pipe.tick(T0 + 31) == []
    assert pipe.tick(T0 + 29 + 6.5) == []  # closed after its learned timeout (1 s + 5 s margin)...
    assert pipe.open_count == 1  # ...but held in case the same stay goes on (merge window)
    (v,) = pipe.tick(T0 + 29 + 180.5)
    assert v.identity == IBeaconId(uuid="5f1c2a7e0d4b4e6a9c3b8d2f6a1e4b70", major=1, minor=4)
    assert v.key == "ibeacon:5f1c2a7e0d4b4e6a9c3b8d2f6a1e4b70:1:4"
    assert (v.first_seen, v.last_seen, v.count, v.rssi_max, v.rssi_mean) == (T0, T0 + 29, 30, -70, -70.0)
    assert pipe.adverts_seen == 30
    assert pipe.frames_decoded == 30


def test_eddystone_power_is_converted_to_1m_for_normalisation() -> None:
    # tx -18 dBm at 0 m -> -59 at 1 m: the default thresholds apply unshifted; -80 is inside -82.
    pipe = ScanPipeline(DetectionConfig())
    for i in range(20):  # 20 s: long enough to be a pass at this (weak) level
        pipe.feed(eddystone_adv(i, -80, UID))
    assert pipe.open_count == 1
    (v,) = pipe.close_all(T0 + 20)
    assert v.identity == EddystoneUidId(namespace="52ce44e9a3b1d0c6e7f8", instance="000000000018")


def test_tlm_is_attached_to_the_identity_seen_from_the_same_address_and_rate_limited() -> None:
    pipe = ScanPipeline(DetectionConfig(), telemetry_period_s=600)
    assert pipe.feed(eddystone_adv(0, -70, tlm(3000, 1))) == []  # no identity from this address yet
    readings: list[TelemetryReading] = []
    for i in range(1, 1300):
        data = tlm(3000 - i // 100, i) if i % 10 == 0 else UID
        readings += [x for x in pipe.feed(eddystone_adv(i, -70, data)) if isinstance(x, TelemetryReading)]
    # TLM every 10 s over ~21 minutes: relayed at t=10, 610, 1210 only.
    assert [r.t - T0 for r in readings] == [10, 610, 1210]
    first = readings[0]
    assert first.identity == EddystoneUidId(namespace="52ce44e9a3b1d0c6e7f8", instance="000000000018")
    assert first.battery_mv == 3000
    assert first.adv_count == 10
    assert first.uptime_s == 3600.0
    assert first.temperature_c == 21.5
    assert readings[2].battery_mv == 2988


def test_tlm_from_another_address_is_not_misattributed() -> None:
    pipe = ScanPipeline(DetectionConfig(), telemetry_period_s=0)
    pipe.feed(eddystone_adv(0, -70, UID, address="aa:aa:aa:aa:aa:aa"))
    assert pipe.feed(eddystone_adv(1, -70, tlm(3000, 5), address="bb:bb:bb:bb:bb:bb")) == []
    out = pipe.feed(eddystone_adv(2, -70, tlm(3000, 6), address="aa:aa:aa:aa:aa:aa"))
    assert len(out) == 1
    assert isinstance(out[0], TelemetryReading)


def test_eid_rotation_associates_tlm_with_the_current_eid() -> None:
    pipe = ScanPipeline(DetectionConfig(), telemetry_period_s=0)
    pipe.feed(eddystone_adv(0, -70, EID))
    rotated = bytes.fromhex("30ee0102030405060708")
    pipe.feed(eddystone_adv(1, -70, rotated))
    (reading,) = pipe.feed(eddystone_adv(2, -70, tlm(2900, 7)))
    assert isinstance(reading, TelemetryReading)
    assert reading.identity == EddystoneEidId(eid="0102030405060708")


def test_non_beacon_devices_and_garbage_are_ignored() -> None:
    pipe = ScanPipeline(DetectionConfig())
    noise = [
        Advertisement(t=T0, address="phone", rssi=-40, manufacturer_data={0x004C: bytes.fromhex("1005441cbd08c5")}),
        Advertisement(t=T0, address="x", rssi=-40, manufacturer_data={0x0006: b"\x01\x09\x20\x02"}),
        Advertisement(t=T0, address="x", rssi=-40, service_data={EDDYSTONE_SERVICE_UUID: b"\x10"}),
        Advertisement(t=T0, address="x", rssi=-40, service_data={"0000fe9f-0000-1000-8000-00805f9b34fb": b"\x00"}),
        Advertisement(t=T0, address="x", rssi=-40),
    ]
    for adv in noise * 5:
        assert pipe.feed(adv) == []
    assert pipe.detector.tracked_count == 0
    assert pipe.frames_decoded == 0


def test_unavailable_rssi_is_counted_and_skipped() -> None:
    pipe = ScanPipeline(DetectionConfig())
    assert pipe.feed(ibeacon_adv(0, 127)) == []
    assert pipe.adverts_bad_rssi == 1
    assert pipe.detector.tracked_count == 0


def test_identity_model_is_built_once_per_beacon() -> None:
    pipe = ScanPipeline(DetectionConfig(Thresholds(min_dwell_s=0)))
    other_power = IBEACON[:-1] + bytes([0xC0])  # same beacon, another power byte: another cache entry
    for i in range(5):
        pipe.feed(ibeacon_adv(i, -60))
        pipe.feed(Advertisement(t=T0 + i + 0.5, address="y", rssi=-60, manufacturer_data={0x004C: other_power}))
    (v,) = pipe.close_all(T0 + 10)
    assert v.count == 10
    assert pipe._identities[v.key] is v.identity


def test_a_crowd_of_changing_payloads_keeps_the_cache_bounded() -> None:
    pipe = ScanPipeline(DetectionConfig())
    for i in range(20_000):
        payload = bytes([0x10, 0x05]) + i.to_bytes(5, "big")
        pipe.feed(Advertisement(t=T0 + i * 0.001, address=f"p{i}", rssi=-50, manufacturer_data={0x004C: payload}))
    assert len(pipe._decoded) <= 4096
    assert pipe.detector.tracked_count == 0


def test_only_accepted_beacons_are_tracked() -> None:
    ours = "eddystone_uid:52ce44e9a3b1d0c6e7f8:"
    pipe = ScanPipeline(DetectionConfig(accept_prefixes=(ours,)), telemetry_period_s=0)
    for i in range(10):
        pipe.feed(ibeacon_adv(i, -60))  # a stranger's iBeacon
        pipe.feed(eddystone_adv(i + 0.5, -60, UID))
    assert pipe.detector.tracked_count == 1
    (reading,) = pipe.feed(eddystone_adv(11, -60, tlm(3000, 1)))
    assert isinstance(reading, TelemetryReading)
    assert pipe.feed(ibeacon_adv(12, -60, address="c0:ff:ee:00:00:02")) == []
    (v,) = pipe.close_all(T0 + 20)
    assert v.key.startswith(ours)


def test_fragments_of_one_stay_are_one_visit() -> None:
    """A 60 s fade in the middle of a stay (body shadowing outdoors) does not make two visits."""
    pipe = ScanPipeline(DetectionConfig())
    out: list[DetectedVisit | TelemetryReading] = []
    for i in list(range(0, 40)) + list(range(100, 140)):
        out += pipe.feed(ibeacon_adv(i, -70))
        out += pipe.tick(T0 + i + 0.5)
    out += pipe.tick(T0 + 139 + 181)
    (v,) = visits(out)
    assert (v.first_seen, v.last_seen, v.count) == (T0, T0 + 139, 80)


def test_stays_further_apart_than_the_merge_gap_stay_apart() -> None:
    pipe = ScanPipeline(DetectionConfig(merge_gap_s=30))
    out: list[DetectedVisit | TelemetryReading] = []
    for i in list(range(0, 20)) + list(range(100, 120)):
        out += pipe.feed(ibeacon_adv(i, -70))
        out += pipe.tick(T0 + i + 0.5)
    out += pipe.close_all(T0 + 200)
    assert [(v.first_seen, v.last_seen) for v in visits(out)] == [(T0, T0 + 19), (T0 + 100, T0 + 119)]

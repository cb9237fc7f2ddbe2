"""The crowd's packet stream (``CrowdField.stream``) writes the radio model inline for speed: it must yield exactly
what the model's own functions give from the same draws (fading, reception cliff, interferers, collisions)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator

import pytest

from ronde.firmware_sim.crowd import CrowdField, CrowdSpec
from ronde.firmware_sim.radio import (
    ANDROID_BALANCED,
    RadioParams,
    ScanConfig,
    collision_survival,
    reception_probability,
    rician_fading_db,
)
from ronde.protocol.radio import Advertisement

START = 1_790_000_000.0


def _stream_by_the_model(
    field: CrowdField, rng: random.Random, scan: ScanConfig, rx_offset_db: float
) -> Iterator[Advertisement]:
    """The stream as it was written before it was inlined: one call of the model per packet."""
    radio = field.radio
    heap: list[tuple[float, int]] = []
    sens_floor = radio.sensitivity_dbm - 6 * radio.sensitivity_width_db - 12
    for i, dev in enumerate(field.devices):
        phase = rng.uniform(0.0, dev.interval_s)
        if dev.mean_rssi >= sens_floor:
            heapq.heappush(heap, (dev.arrive + phase, i))
    while heap:
        t, i = heapq.heappop(heap)
        dev = field.devices[i]
        if t >= dev.leave:
            continue
        heapq.heappush(heap, (t + dev.interval_s + rng.uniform(0.0, 0.010), i))
        if not scan.listening(t):
            continue
        rssi = dev.mean_rssi + rician_fading_db(rng, dev.fading_k_db) + rx_offset_db
        p = reception_probability(rssi, radio) * collision_survival(field.interference_rate(t, rssi))
        if rng.random() < p:
            yield Advertisement(
                t=t,
                address=dev.address,
                rssi=max(-127, min(20, round(rssi))),
                manufacturer_data=dev.manufacturer_data,
                service_data=dev.service_data,
                local_name=dev.local_name,
            )


@pytest.mark.parametrize(
    ("spec", "scan", "rx_offset_db", "radio"),
    [
        (CrowdSpec(density=300), ScanConfig(), 0.0, RadioParams()),
        (CrowdSpec(density=120, radius_m=60.0), ANDROID_BALANCED, -4.5, RadioParams(sensitivity_dbm=-90.0)),
        (CrowdSpec(density=40, mean_stay_s=30.0), ScanConfig(window_s=0.02, interval_s=0.1), 3.0, RadioParams()),
    ],
)
def test_the_inlined_stream_equals_the_radio_model_draw_for_draw(
    spec: CrowdSpec, scan: ScanConfig, rx_offset_db: float, radio: RadioParams
) -> None:
    field = CrowdField(spec, START, START + 240.0, "test-crowd", radio)
    ours = list(field.stream(random.Random(7), scan, rx_offset_db))
    model_rng, our_rng = random.Random(7), random.Random(7)
    model = list(_stream_by_the_model(field, model_rng, scan, rx_offset_db))
    assert len(ours) > 100  # packets received (and others lost: the model's branches all ran)
    assert ours == model
    list(field.stream(our_rng, scan, rx_offset_db))
    assert our_rng.random() == model_rng.random()  # the same number of draws, to the last

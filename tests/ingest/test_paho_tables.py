"""``LeanProperties`` decodes exactly what paho's ``Properties`` decodes, and paho uses it once installed."""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ronde.ingest.paho_tables import LeanProperties, install
from tests.support.services import Mosquitto

CASES: list[dict[str, Any]] = [
    {},
    {"ContentType": "application/json"},
    {"MessageExpiryInterval": 3600, "PayloadFormatIndicator": 1},
    {"UserProperty": [("sig", "ed25519"), ("v", "1"), ("v", "2")]},
    {"ResponseTopic": "ronde/v1/reply", "CorrelationData": b"\x00\x01\xff", "TopicAlias": 7},
]


def _packed(props: dict[str, Any]) -> bytes:
    p = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    for name, value in props.items():
        setattr(p, name, value)
    return bytes(p.pack())  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("props", CASES, ids=lambda c: ",".join(c) or "none")
def test_same_decoding_as_paho(props: dict[str, Any]) -> None:
    wire = _packed(props) + b"payload"
    reference = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    lean = LeanProperties(PacketTypes.PUBLISH)
    assert lean.unpack(wire)[1] == reference.unpack(wire)[1] == len(wire) - len(b"payload")  # type: ignore[no-untyped-call]
    assert lean.json() == reference.json()  # type: ignore[no-untyped-call]
    assert lean.pack() == reference.pack() == _packed(props)  # type: ignore[no-untyped-call]
    assert lean.isEmpty() is reference.isEmpty() is (not props)  # type: ignore[no-untyped-call]
    assert str(lean) == str(reference)
    lean.clear()
    reference.clear()  # type: ignore[no-untyped-call]
    assert lean.isEmpty()
    assert lean.json() == reference.json() == {}  # type: ignore[no-untyped-call]


def test_shared_tables_are_not_touched_by_use() -> None:
    a, b = LeanProperties(PacketTypes.PUBLISH), LeanProperties(PacketTypes.CONNACK)
    a.UserProperty = ("k", "v")
    b.ReceiveMaximum = 10
    with pytest.raises(Exception, match="does not apply to packet type"):
        b.TopicAlias = 3  # paho's own validation still applies (TopicAlias is a PUBLISH property)
    # LeanProperties inherits json() from paho's Properties, which paho leaves unannotated
    assert a.json() == {"UserProperty": [("k", "v")]}  # type: ignore[no-untyped-call]
    assert b.json() == {"ReceiveMaximum": 10}  # type: ignore[no-untyped-call]
    assert a.names is b.names
    assert len(a.names) == len(Properties(PacketTypes.PUBLISH).names)  # type: ignore[no-untyped-call]


def test_installed_paho_decodes_publish_through_it(mosquitto: Mosquitto) -> None:
    """A real broker delivers a v5 PUBLISH with properties; paho's decoder builds LeanProperties."""
    assert install()
    assert install()  # idempotent
    assert getattr(_packet, "Properties", None) is LeanProperties  # paho does not export the name
    got: list[mqtt.MQTTMessage] = []
    arrived, subscribed = threading.Event(), threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="lean-sub", protocol=mqtt.MQTTv5)
    sub.on_subscribe = lambda *a: subscribed.set()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        got.append(message)
        arrived.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("lean/test", 1)
    sub.loop_start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="lean-pub", protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    try:
        assert subscribed.wait(10)
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.UserProperty = [("gateway", "gw-1")]
        props.ContentType = "application/json"
        pub.publish("lean/test", b"{}", qos=1, properties=props).wait_for_publish(10)
        assert arrived.wait(10)
    finally:
        pub.loop_stop()
        pub.disconnect()
        sub.loop_stop()
        sub.disconnect()
    assert isinstance(got[0].properties, LeanProperties)
    received: Any = got[0].properties  # MQTT properties are dynamic attributes, named by the packet's tables
    assert received.ContentType == "application/json"
    assert received.UserProperty == [("gateway", "gw-1")]
    packet = _packet.decode_publish(
        0x32, b"\x00\x01t\x00\x05" + _packed({"MessageExpiryInterval": 5}) + b"x", MQTTProtocolVersion.MQTTv5
    )
    assert isinstance(packet.properties, LeanProperties)
    decoded: Any = packet.properties
    assert decoded.MessageExpiryInterval == 5

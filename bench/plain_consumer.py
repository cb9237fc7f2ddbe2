"""The anchor of ``bench/bench_ingest.py``: the consumer an operator would write in an afternoon.

paho (MQTT v5, a durable session, manual acks after the write, as Ronde's worker), ``json.loads``, one PyNaCl
Ed25519 verify per message over the sorted compact JSON of the message without its signature, a dict from beacon to
checkpoint, then batched writes: line protocol POSTed to InfluxDB's ``/write``, or one ``executemany`` per batch
into SQLite (WAL, synchronous=FULL as Ronde's store). It does less than Ronde on purpose: no schema bounds, no
replay or dedupe look-ups, no rejections recorded, and an EID beacon is stored under its raw EID (no resolution).

Run by the benchmark as its own process:
``python bench/plain_consumer.py --port P --store sqlite:///x.db|http://host:port --keys keys.json --beacons b.json``.
It prints ``connected`` once subscribed, and exits on SIGTERM after its last write and acks.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sqlite3
import threading
import time
import urllib.request
from base64 import urlsafe_b64decode
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

BATCH, WINDOW_S = 1000, 0.05
SQL = (
    "CREATE TABLE IF NOT EXISTS visits (event_id TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, "
    "last_seen INTEGER NOT NULL, gateway_id TEXT, seq INTEGER, badge TEXT, checkpoint TEXT, count INTEGER, "
    "rssi_max INTEGER, rssi_mean REAL);"
    "CREATE INDEX IF NOT EXISTS visits_time ON visits (first_seen)"
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--beacons", required=True)
    ap.add_argument("--client-id", default="plain-consumer")
    args = ap.parse_args()
    keys = {g: VerifyKey(bytes.fromhex(k)) for g, k in json.load(open(args.keys)).items()}  # noqa: SIM115
    beacons: dict[str, str] = json.load(open(args.beacons))  # noqa: SIM115
    inbox: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()
    stop = threading.Event()
    if args.store.startswith("sqlite://"):
        db = sqlite3.connect(args.store[len("sqlite://") :], isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SQL)

        def write(rows: list[dict[str, Any]]) -> None:
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR IGNORE INTO visits VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r["id"],
                        ms(r["first_seen"]),
                        ms(r["last_seen"]),
                        r["gateway_id"],
                        r["seq"],
                        r["badge"],
                        r["cp"],
                        r["count"],
                        r["rssi_max"],
                        r["rssi_mean"],
                    )
                    for r in rows
                ],
            )
            db.execute("COMMIT")
    else:
        req = urllib.request.Request(f"{args.store}/query", data=b"q=CREATE+DATABASE+plain", method="POST")  # noqa: S310
        urllib.request.urlopen(req).read()  # noqa: S310 - the benchmark's own influxd

        def write(rows: list[dict[str, Any]]) -> None:
            body = "\n".join(
                f'visit,checkpoint={r["cp"]},gateway={r["gateway_id"]} badge="{r["badge"]}",id="{r["id"]}",'
                f"seq={r['seq']}i,count={r['count']}i,rssi_max={r['rssi_max']}i,rssi_mean={r['rssi_mean']} "
                f"{ms(r['first_seen']) * 1_000_000}"
                for r in rows
            ).encode()
            url = f"{args.store}/write?db=plain&precision=ns"
            urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST")).read()  # noqa: S310

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=args.client_id, protocol=mqtt.MQTTv5, manual_ack=True)
    client.username_pw_set("ingest", os.environ["RONDE_MQTT_PASSWORD"])
    client.on_message = lambda _c, _u, m: inbox.put(m)
    ready = threading.Event()
    client.on_subscribe = lambda *_: ready.set()
    client.on_connect = lambda c, *_: c.subscribe("ronde/v1/gw/+/visit", qos=1)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 4000
    client.connect("127.0.0.1", args.port, clean_start=False, properties=props)
    client.loop_start()
    ready.wait(30)
    print("connected", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():
        try:
            batch = [inbox.get(timeout=0.2)]
        except queue.Empty:
            continue
        deadline = time.monotonic() + WINDOW_S
        while len(batch) < BATCH and (left := deadline - time.monotonic()) > 0:
            try:
                batch.append(inbox.get(timeout=left))
            except queue.Empty:
                break
        rows = []
        for m in batch:
            obj = json.loads(m.payload)
            sig = obj.pop("sig")
            signed = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            try:
                keys[obj["gateway_id"]].verify(signed, urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
            except (BadSignatureError, KeyError):
                continue
            b = obj["beacon"]
            obj["cp"] = beacons.get(json.dumps(b, sort_keys=True), b.get("eid", "unknown"))
            rows.append(obj)
        write(rows)
        for m in batch:
            client.ack(m.mid, m.qos)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()

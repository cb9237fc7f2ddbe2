"""The contracts shared by every Ronde process, and nothing else.

- ``topics``: MQTT topic tree (v1).
- ``messages``: wire messages (pydantic, the edge), JSON Schemas in ``schemas/``.
- ``canonical``: the one RFC 8785 canonical JSON form (fast path, ``rfc8785`` outside its domain).
- ``signing``: Ed25519 signatures over that form.
- ``chain``: the audit hash-chain primitives (event digest, day link, genesis anchor).
- ``radio``: what a BLE scanner reports (the beacon→gateway "wire").
- ``eid``: the Eddystone-EID algorithm (beacons compute it, the server resolves it).
- ``calendar``: service hours and service days.
- ``estate``: the estate file (the registry's versioned source of truth).
- ``gateways``: the gateways file (which gateways may publish, with which key and badges).
- ``backoff``: the one capped, full-jitter retry backoff every role uses.
"""

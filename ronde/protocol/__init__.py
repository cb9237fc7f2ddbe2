"""The contracts shared by every Ronde process, and nothing else.

- ``topics``: MQTT topic tree (v1).
- ``messages``: wire messages (pydantic, the edge), JSON Schemas in ``schemas/``.
- ``signing``: RFC 8785 canonical encoding and Ed25519 signatures.
- ``radio``: what a BLE scanner reports (the beacon→gateway "wire").
- ``eid``: the Eddystone-EID algorithm (beacons compute it, the server resolves it).
- ``calendar``: service hours and service days.
- ``estate``: the estate file (the registry's versioned source of truth).
- ``backoff``: the one capped, full-jitter retry backoff every role uses.
"""

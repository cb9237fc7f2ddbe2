"""Persistence of what ingest accepted (or rejected) and what the API reads back.

A role of its own (not part of ``ingest``): ingest writes through it, the API and audits read
through it. ``port.Store`` is the one interface; ``sqlite`` and ``influx`` implement it.
"""

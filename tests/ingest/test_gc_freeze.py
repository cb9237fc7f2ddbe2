"""``ronde ingest run`` freezes its start-up objects before its first message (``ronde.ingest.cli``): a full
collection during a drain then walks only what the drain made. Checked in a fresh interpreter, not in pytest's."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
import ronde.ingest.cli as cli
from ronde.ingest.consumer import IngestWorker  # the worker's modules, as _run imports them
tracked = len(gc.get_objects())
cli._freeze_start_up_objects()
print(json.dumps({"tracked": tracked, "frozen": gc.get_freeze_count(), "left": len(gc.get_objects())}))
"""


def test_start_up_objects_leave_the_collectors_generations() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    counts = json.loads(out.stdout)
    assert counts["frozen"] >= counts["tracked"] // 2  # the modules' objects, at least (garbage was collected first)
    assert counts["left"] < 100

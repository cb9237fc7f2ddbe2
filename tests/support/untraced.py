"""Run a block with no trace function, in its thread and in the threads it starts: coverage's tracer off.

Whole simulated evenings run 3-5x slower under coverage's tracer; the code they run is measured by smaller tests
(README, "Contributing"). ``no_cover`` tests run all of their call phase so; a test that only needs a reference
computed (the scenario's own stream, to compare with what the code under test gave) wraps that alone.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def untraced() -> Iterator[None]:
    tracer, thread_tracer = sys.gettrace(), threading.gettrace()
    sys.settrace(None)
    threading.settrace(None)
    try:
        yield
    finally:
        sys.settrace(tracer)
        threading.settrace(thread_tracer)

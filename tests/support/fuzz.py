"""One seed for the property-based (fuzz) tests of a run: random unless pinned, always printed.

    RONDE_FUZZ_SEED=1234 .venv/bin/pytest tests/gateway/test_frames.py   # replays the run that printed 1234

Tests take it with ``@seed(FUZZ_SEED)`` (tests/gateway/test_frames.py). pytest prints it in its header
(tests/conftest.py) and Hypothesis beside any falsifying example (``note(replay_hint())``). An example that
failed once is also replayed first from Hypothesis's database (.hypothesis/), whatever the seed.
"""

from __future__ import annotations

import os
import random

ENV = "RONDE_FUZZ_SEED"
FUZZ_SEED: int = int(os.environ.get(ENV) or random.randrange(2**32))
# Pinned in the environment at once, so pytest-xdist's workers (started after conftest.py is imported) and any
# subprocess fuzz with the very seed the header printed.
os.environ[ENV] = str(FUZZ_SEED)


def replay_hint() -> str:
    return f"fuzz seed {FUZZ_SEED}: replay with {ENV}={FUZZ_SEED}"

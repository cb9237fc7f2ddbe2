"""Checkpoint kinds: the one vocabulary of where a mediator passes (stairwell hall, car park...).

Its own module so that a gateway, which names kinds in its detection thresholds, does not load the estate file's
parser (``ronde.protocol.estate``, PyYAML) to know them: memory counts on a Raspberry Pi (issue 17).
"""

from __future__ import annotations

from enum import StrEnum


class CheckpointKind(StrEnum):
    STAIRWELL_HALL = "stairwell_hall"
    CAR_PARK_SURFACE = "car_park_surface"
    CAR_PARK_UNDERGROUND = "car_park_underground"
    GREEN_SPACE = "green_space"
    PLAYGROUND = "playground"
    FOOTPATH = "footpath"
    RECEPTION_OFFICE = "reception_office"

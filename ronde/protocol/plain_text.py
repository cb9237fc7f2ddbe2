"""Names and labels are one line of visible text: no control, format or line-separator characters.

Why: registry names end up in CSV reports, PDF, log lines and web pages. A landlord named
``"X\\n# manifest: {…}"`` wrote a forged manifest line into ``report.csv``; a U+202E (right-to-left
override) makes a checkpoint name read backwards on screen and in print. Refusing them where the
registry files (estate, gateways, badges) are read keeps every later writer simple.

Refused: Unicode categories Cc (C0/C1 controls, including tab, CR and LF) and Cf (format: bidi
embeddings, overrides and isolates, zero-width characters, soft hyphen, BOM), and the line and
paragraph separators U+2028/U+2029 (categories Zl/Zp).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def first_control_character(value: str) -> int | None:
    """Index of the first refused character in ``value``, or None if it is plain text."""
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return i
    return None


def control_character_problem(value: str) -> str | None:
    """A message naming the first refused character and its position (1-based), or None."""
    i = first_control_character(value)
    if i is None:
        return None
    ch = value[i]
    name = unicodedata.name(ch, "control character")
    return f"contains U+{ord(ch):04X} ({name}) at position {i + 1}: names must be one line of visible text"


def require_plain_text(value: str) -> str:
    """Pydantic after-validator: ``value`` unchanged, or ValueError naming the character."""
    problem = control_character_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


PlainText = Annotated[str, AfterValidator(require_plain_text)]

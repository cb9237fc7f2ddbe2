"""Reading the gateway's TOML tables into frozen dataclasses, without pydantic (issue 17, item 2).

The gateway's configuration was pydantic models; pydantic then stayed in a scanner's process for its
whole life (about 14 MB of 45, with the wire models) to read one file at start-up. ``Table`` reads
one TOML table key by key: each ``take`` converts and checks one value, and every problem is kept
(``key: message``, in pydantic's words where it had words for it) so that one run of
``ronde gateway check-config`` lists all of them. Unknown keys are problems too: a misspelt
``override_untill`` must not silently leave the gate closed.

The conversions are pydantic's lax ones that a TOML file can meet: a TOML time, date or date-time or
its ISO text, a number for a number (numeric text too), a boolean or its usual words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Convert = Callable[[Any], T]
"""Converts one TOML value, or raises ValueError with the message to show."""

REQUIRED: Any = object()
"""``take``'s default for a key that must be there."""

_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


class Problems:
    """Every ``(key, message)`` found in one file, in the order found."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.items.append((where, message))


def join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


class Table:
    """One TOML table: ``take`` each known key, then ``finish`` reports the keys nobody took."""

    def __init__(self, data: object, where: str, problems: Problems) -> None:
        self.where = where
        self.problems = problems
        self.ok = isinstance(data, Mapping)
        self._data: dict[str, Any] = dict(data) if isinstance(data, Mapping) else {}
        self._before = len(problems.items)
        self.bad: set[str] = set()
        """The keys ``take`` found wrong (a cross-check between keys is skipped when one of them is)."""
        if not self.ok:
            problems.add(where, "Input should be a valid dictionary")

    def key(self, name: str) -> str:
        return join(self.where, name)

    def take(self, name: str, convert: Convert[T], default: T) -> T:
        """The converted value of ``name``, or ``default`` (after noting the problem) if it is missing or wrong."""
        if name not in self._data:
            if default is REQUIRED:
                self.problems.add(self.key(name), "Field required")
            return default
        value = self._data.pop(name)
        try:
            return convert(value)
        except ItemErrors as exc:
            self.bad.add(name)
            for i, message in exc.items:
                self.problems.add(f"{self.key(name)}[{i}]", message)
        except ValueError as exc:
            self.bad.add(name)
            self.problems.add(self.key(name), str(exc))
        return default

    def table(self, name: str, read: Callable[[Table], T], default: T) -> T:
        """A sub-table read by ``read`` (or ``default`` when the key is absent)."""
        if name not in self._data:
            if default is REQUIRED:
                self.problems.add(self.key(name), "Field required")
            return default
        return read(Table(self._data.pop(name), self.key(name), self.problems))

    def rest(self) -> dict[str, Any]:
        """The keys not taken yet, taken now (for tables whose keys are data: beacon prefixes, kinds)."""
        out, self._data = self._data, {}
        return out

    def finish(self) -> bool:
        """Report unknown keys; True if this table (and what was read through it) had no problem."""
        for name in self._data:
            self.problems.add(self.key(name), "Extra inputs are not permitted")
        self._data = {}
        return self.ok and len(self.problems.items) == self._before

    def check(self, problem: str | None, name: str = "") -> None:
        """A cross-check's result: ``problem`` (if any) noted on ``name`` or on the table itself."""
        if problem is not None:
            self.problems.add(self.key(name), problem)


def text(*, pattern: str | None = None, min_length: int | None = None, max_length: int | None = None) -> Convert[str]:
    compiled = None if pattern is None else re.compile(pattern)

    def convert(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("Input should be a valid string")  # noqa: TRY004 - a problem to report, as every other
        if min_length is not None and len(value) < min_length:
            raise ValueError(f"String should have at least {_count(min_length, 'character')}")
        if max_length is not None and len(value) > max_length:
            raise ValueError(f"String should have at most {_count(max_length, 'character')}")
        if compiled is not None and compiled.search(value) is None:
            raise ValueError(f"String should match pattern '{pattern}'")
        return value

    return convert


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _bounded(
    value: T, *, ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None
) -> T:
    v: Any = value
    if ge is not None and not v >= ge:
        raise ValueError(f"Input should be greater than or equal to {ge}")
    if gt is not None and not v > gt:
        raise ValueError(f"Input should be greater than {gt}")
    if le is not None and not v <= le:
        raise ValueError(f"Input should be less than or equal to {le}")
    if lt is not None and not v < lt:
        raise ValueError(f"Input should be less than {lt}")
    return value


def integer(*, ge: int | None = None, le: int | None = None) -> Convert[int]:
    def convert(value: Any) -> int:
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValueError("Input should be a valid integer, unable to parse string as an integer") from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("Input should be a valid integer")  # noqa: TRY004 - a problem to report, as every other
        return _bounded(value, ge=ge, le=le)

    return convert


def number(
    *, ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None
) -> Convert[float]:
    def convert(value: Any) -> float:
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValueError("Input should be a valid number, unable to parse string as a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("Input should be a valid number")  # noqa: TRY004 - a problem to report, as every other
        if not math.isfinite(value):
            raise ValueError("Input should be a finite number")
        return _bounded(float(value), ge=ge, gt=gt, le=le, lt=lt)

    return convert


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("Input should be a valid boolean, unable to interpret input")


def path(value: Any) -> Path:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid path")  # noqa: TRY004 - a problem to report, as every other
    return Path(value)


def one_of(*choices: str) -> Convert[str]:
    words = (
        ", ".join(f"'{c}'" for c in choices[:-1]) + f" or '{choices[-1]}'" if len(choices) > 1 else f"'{choices[0]}'"
    )

    def convert(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"Input should be {words}")
        return str(value)

    return convert


def time_of_day(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("Input should be a valid time")


def day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("Input should be a valid date")


def instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
    raise ValueError("Input should be a valid datetime")


def list_of(item: Convert[T], *, min_length: int = 0) -> Callable[[Any], tuple[T, ...]]:
    """A TOML array, each item converted; the first bad item is named by its index (``days[1]``)."""

    def convert(value: Any) -> tuple[T, ...]:
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise ValueError("Input should be a valid list")  # noqa: TRY004 - a problem to report, as every other
        if len(value) < min_length:
            raise ValueError(
                f"List should have at least {_count(min_length, 'item')} after validation, not {len(value)}"
            )
        out, problems = [], []
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except ValueError as exc:
                problems.append((i, str(exc)))
        if problems:
            raise ItemErrors(problems)
        return tuple(out)

    return convert


class ItemErrors(ValueError):
    """Problems of a list's items; ``Table.take`` notes each under ``key[index]``."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(f"[{i}]: {m}" for i, m in problems))
        self.items = problems

"""``fast_init``: the same objects as the dataclass's own ``__init__``, still frozen; refused for what it cannot set."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from ronde.coverage.idleness import Idleness, Segment
from ronde.coverage.period import CheckpointDay, CheckpointPeriod
from ronde.coverage.shares import GroupCoverage, Share
from ronde.ingest.pipeline import Incoming
from ronde.ingest.validate import Accepted, Pending
from ronde.protocol.frozen import fast_init, fast_new
from ronde.store.records import DailyRollup, EventKey, StoredVisit


@dataclass(frozen=True, slots=True)
class Plain:
    topic: str
    payload: bytes
    at: datetime
    mid: int = 0
    qos: int = 1
    note: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Fast:
    topic: str
    payload: bytes
    at: datetime
    mid: int = 0
    qos: int = 1
    note: str | None = None


AT = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
ROLLUP = (AT.date(), "cp", "hall", None, "e1", "l1", 2, 1, True, AT, AT, 1.5, 2.5, 3.5, "")
CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("t", b"p", AT), {}),
    (("t", b"p", AT, 7), {}),
    (("t", b"p", AT, 7, 0, "n"), {}),
    (("t",), {"payload": b"p", "at": AT, "note": "k"}),
    ((), {"topic": "t", "payload": b"p", "at": AT, "qos": 2}),
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_the_same_fields_as_the_dataclass_init(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, fast = Plain(*args, **kwargs), Fast(*args, **kwargs)
    assert dataclasses.astuple(fast) == dataclasses.astuple(plain)
    assert repr(fast) == repr(plain).replace("Plain(", "Fast(")
    assert fast == Fast(*args, **kwargs)
    assert hash(fast) == hash(Fast(*args, **kwargs))
    assert pickle.loads(pickle.dumps(fast)) == fast  # noqa: S301 - our own bytes
    assert copy.deepcopy(fast) == fast
    assert dataclasses.replace(fast, mid=99) == Fast(**{**dataclasses.asdict(fast), "mid": 99})


def test_still_frozen() -> None:
    fast = Fast("t", b"p", AT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.mid = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("t", b"p"), {}), (("t", b"p", AT, 1, 1, None, "extra"), {}), (("t", b"p", AT), {"nope": 1})],
)
def test_wrong_calls_are_refused_as_before(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for cls in (Plain, Fast):
        with pytest.raises(TypeError):
            cls(*args, **kwargs)


def test_fast_new_makes_the_same_objects_still_frozen() -> None:
    """``fast_new``: all the fields, positional, give the object the class's own call gives."""
    new = fast_new(Plain)
    made = new("t", b"p", AT, 7, 0, "n")
    assert type(made) is Plain
    assert made == Plain("t", b"p", AT, 7, 0, "n")
    assert repr(made) == repr(Plain("t", b"p", AT, 7, 0, "n"))
    assert hash(made) == hash(Plain("t", b"p", AT, 7, 0, "n"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.mid = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        new("t", b"p", AT)  # every field, defaults included
    rollup = fast_new(DailyRollup)(*ROLLUP)
    assert rollup == DailyRollup(*ROLLUP)
    with pytest.raises(TypeError, match="frozen dataclass with slots"):
        fast_new(dataclass(frozen=True)(type("NoSlots", (), {"__annotations__": {"a": "int"}})))


@pytest.mark.parametrize(
    "cls",
    [
        Incoming,
        Pending,
        Accepted,
        StoredVisit,
        EventKey,
        # a cold landlord year makes ~7,500 checkpoint periods, segments and idleness figures, ~15,000 shares
        CheckpointPeriod,
        CheckpointDay,
        Segment,
        Idleness,
        Share,
        GroupCoverage,
    ],
)
def test_the_hot_path_classes_keep_their_signature(cls: type[Any]) -> None:
    """Parameters in field order, with each field's default: what the dataclass's own ``__init__`` takes."""
    params = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in params] == [f.name for f in dataclasses.fields(cls)]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
    defaults = [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in dataclasses.fields(cls)
    ]
    assert [p.default for p in params] == defaults
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"


def test_what_it_cannot_set_is_refused() -> None:
    with pytest.raises(TypeError, match="frozen dataclass with slots"):

        @fast_init
        @dataclass(frozen=True)
        class NoSlots:
            a: int

    with pytest.raises(TypeError, match="frozen dataclass with slots"):

        @fast_init
        @dataclass(slots=True)
        class NotFrozen:
            a: int

    with pytest.raises(TypeError, match="default_factory"):

        @fast_init
        @dataclass(frozen=True, slots=True)
        class Factory:
            a: list[int] = field(default_factory=list)

    with pytest.raises(TypeError, match="plain fields"):

        @fast_init
        @dataclass(frozen=True, slots=True)
        class KwOnly:
            a: int = field(kw_only=True)

    with pytest.raises(TypeError, match="plain fields"):

        @fast_init
        @dataclass(frozen=True, slots=True)
        class WithInitVar:
            a: int
            b: InitVar[int]

    with pytest.raises(TypeError, match="plain fields"):

        @fast_init
        @dataclass(frozen=True, slots=True)
        class NotInInit:
            a: int
            b: int = field(default=0, init=False)

    with pytest.raises(TypeError, match="__post_init__"):

        @fast_init
        @dataclass(frozen=True, slots=True)
        class PostInit:
            a: int

            def __post_init__(self) -> None:
                pass


def test_a_coverage_period_is_still_frozen_and_replaced_as_before() -> None:
    """``CheckpointPeriod`` (``fast_init``): its default ``days`` set, assignment refused, ``replace`` and ``==``."""
    seg = Segment(60.0, True, 5.0, 7.0, 1, 3.0, 9.0, 3.0)
    cp = CheckpointPeriod("cp", "Hall", "hall", None, "e", "l", 1, 2, 3, 1, 1, 0, 12.5, None, None, seg.idleness(), seg)
    assert cp.days == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cp.visits = 4  # type: ignore[misc]
    assert dataclasses.replace(cp, visits=4) == CheckpointPeriod(
        "cp", "Hall", "hall", None, "e", "l", 1, 2, 4, 1, 1, 0, 12.5, None, None, seg.idleness(), seg
    )

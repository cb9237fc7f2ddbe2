"""``fast_init``: a faster ``__init__`` for the frozen slotted dataclasses made once per message on ingest's path.

A frozen dataclass's generated ``__init__`` sets each field with ``object.__setattr__(self, "name", value)`` (its own
``__setattr__`` refuses): a generic look-up of the attribute by name, through the class's MRO, for every field of
every object. An ingest worker makes five such objects per message (``Incoming`` twice, ``Pending``, ``Accepted``,
``StoredVisit``: 45 fields), and ``timeit`` put a 6-field one at 3-4 times the cost of the same class unfrozen
(docs/performance.md, "Ingest, December 6"). ``fast_init`` replaces it with an ``__init__`` that calls each slot's
own descriptor (``cls.__dict__[name].__set__``), looked up once when the class is made.

Nothing else changes: same parameters (names, order, defaults), the same fields set to the same values; the class is
still frozen (assignment raises ``FrozenInstanceError``) and keeps its ``__eq__``, ``__hash__``, ``__repr__``,
``dataclasses.replace`` and pickling. Only plain fields are taken: a ``default_factory``, a keyword-only field, an
``InitVar``, a field left out of ``__init__`` or a ``__post_init__`` raise ``TypeError`` when the class is made, so a
later change to a class cannot leave one of its fields silently unset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def _checked(cls: type[Any], what: str) -> tuple[Field[Any], ...]:
    """``cls``'s fields, once it is known to be a frozen slotted dataclass without ``__post_init__``."""
    params = getattr(cls, "__dataclass_params__", None)
    if not is_dataclass(cls) or params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{what} takes a frozen dataclass with slots, not {cls.__qualname__}")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__qualname__} has a __post_init__: {what} would skip it")
    return fields(cls)


def fast_new(cls: type[T]) -> Callable[..., T]:
    """A function making ``cls`` objects from all their fields, positional and in order, each slot set through its
    descriptor and no ``__init__`` called: equal to ``cls(*fields)``, still frozen. For a class that cannot take
    ``fast_init`` (``DailyRollup``: its module is part of the benchmark data sets' key, ``bench/city.py``) or on a
    path where the class call itself counts (the evening in progress makes four objects a checkpoint a request:
    ``type.__call__`` and ``__init__`` cost a third more than this)."""
    names = [f.name for f in _checked(cls, "fast_new")]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for name in names:
        namespace[f"_set_{name}"] = cls.__dict__[name].__set__
    body = "".join(f"    _set_{name}(self, {name})\n" for name in names)
    exec(f"def new({', '.join(names)}):\n    self = _new(_cls)\n{body}    return self\n", namespace)  # noqa: S102 - our own text
    new: Callable[..., T] = namespace["new"]
    new.__qualname__ = f"fast_new({cls.__qualname__})"
    return new


def fast_init(cls: type[T]) -> type[T]:
    """``cls`` (a frozen, slotted dataclass of plain fields) with the faster ``__init__`` (see the module)."""
    known = _checked(cls, "fast_init")
    original = cls.__dict__["__init__"]
    code = original.__code__
    names = [f.name for f in known]
    if code.co_kwonlyargcount or list(code.co_varnames[1 : code.co_argcount]) != names:
        raise TypeError(f"{cls.__qualname__}: fast_init takes plain fields only (no InitVar, kw_only, init=False)")
    namespace: dict[str, Any] = {}
    signature = []
    for f in known:
        if f.default_factory is not MISSING:
            raise TypeError(f"{cls.__qualname__}.{f.name}: fast_init takes no default_factory")
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is MISSING:
            signature.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            signature.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    _set_{name}(self, {name})\n" for name in names) or "    pass\n"
    exec(f"def __init__(self, {', '.join(signature)}):\n{body}", namespace)  # noqa: S102 - our own text, as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(original.__annotations__)
    init.__doc__ = original.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning to a method
    return cls

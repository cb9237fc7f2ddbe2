"""One way to turn a pydantic ``ValidationError`` into text, in the two variants Ronde needs.

- ``echo_input=False``, for what a sender we do not trust wrote (MQTT messages: ingest's stored
  rejection details and its log): content-free. Only the error type, the location parts that are
  names of the schema (``schema_names``; anything else, list indices included, is ``?``) and the
  schema's own numeric bounds (``outbox_depth: less_than_equal (le=100000000)``). Never pydantic's
  message nor its context, which may quote the input (a badge, a tag), and never the name of an
  unexpected member (``unexpected field``): the sender chose it.
- ``echo_input=True``, for what the operator or the caller wrote themselves (configuration, estate,
  gateways and token files, settings, the API's answer to its own request): the field path
  (``gateways[0].public_key``) and pydantic's message, which may quote the input, without the
  ``Value error, `` prefix pydantic puts before a validator's own message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

# The ``ctx`` items that come from the schema, never from the input.
BOUND_KEYS = ("ge", "gt", "le", "lt", "min_length", "max_length")
# What ``format_validation_error`` accepts: a ValidationError, or the ``errors()`` of one
# (FastAPI's RequestValidationError gives those).
Errors = ValidationError | Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Issue:
    """One error: its location as pydantic gives it (``drop`` parts removed), shown as ``where``,
    and ``what`` went wrong."""

    loc: tuple[str | int, ...]
    where: str
    what: str


def dotted(loc: Iterable[str | int]) -> str:
    """``("gateways", 0, "id")`` → ``gateways[0].id``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def schema_names(models: Iterable[type[BaseModel]]) -> frozenset[str]:
    """Every member name of ``models`` and the ``format`` tags of their unions (pydantic puts a
    union's tag in an error's location): the only location parts a content-free text shows."""
    names: set[str] = set()

    def walk(node: Any, parent: str | None) -> None:
        if isinstance(node, dict):
            if parent == "format" and isinstance(node.get("const"), str):
                names.add(node["const"])
            for key, child in node.items():
                if key == "properties" and isinstance(child, dict):
                    names.update(child)
                    for name, prop in child.items():
                        walk(prop, name)
                else:
                    walk(child, parent)
        elif isinstance(node, list):
            for child in node:
                walk(child, parent)

    for model in models:
        walk(model.model_json_schema(), None)
    return frozenset(names)


def _items(errors: Errors) -> Sequence[Mapping[str, Any]]:
    if isinstance(errors, ValidationError):
        return errors.errors(include_url=False, include_input=False)
    return errors


def _content_free(e: Mapping[str, Any], names: Collection[str]) -> tuple[str, str]:
    loc = list(e.get("loc", ()))
    unexpected = e.get("type") == "extra_forbidden"
    if unexpected:
        loc = loc[:-1]
    where = ".".join(p if isinstance(p, str) and p in names else "?" for p in loc) or "message"
    ctx = e.get("ctx") or {}
    bounds = ", ".join(f"{k}={ctx[k]}" for k in BOUND_KEYS if isinstance(ctx.get(k), int | float))
    what = "unexpected field" if unexpected else str(e.get("type", "")) + (f" ({bounds})" if bounds else "")
    return where, what


def validation_issues(
    errors: Errors,
    *,
    echo_input: bool,
    schema_names: Collection[str] = frozenset(),
    drop: Collection[str] = (),
) -> list[Issue]:
    """Each error as an ``Issue`` (see the module docstring for the two variants). ``drop``: location
    parts left out (e.g. the estate file's beacon union tags); ``schema_names``: for
    ``echo_input=False``, the names a location may show."""
    out = []
    for e in _items(errors):
        loc = tuple(p for p in e.get("loc", ()) if not (isinstance(p, str) and p in drop))
        if echo_input:
            where, what = dotted(loc), str(e.get("msg", "")).removeprefix("Value error, ")
        else:
            where, what = _content_free({**e, "loc": loc}, schema_names)
        out.append(Issue(loc, where, what))
    return out


def format_validation_error(
    errors: Errors,
    *,
    echo_input: bool,
    schema_names: Collection[str] = frozenset(),
    drop: Collection[str] = (),
    limit: int | None = None,
    separator: str = "; ",
    default_where: str = "",
) -> str:
    """``where: what`` for each error, joined by ``separator``; at most ``limit`` of them, then
    ``(+N more)``. ``default_where`` stands for an empty location (``echo_input=True``)."""
    issues = validation_issues(errors, echo_input=echo_input, schema_names=schema_names, drop=drop)
    shown = issues if limit is None else issues[:limit]
    parts = []
    for i in shown:
        where = i.where or default_where
        parts.append(f"{where}: {i.what}" if where else i.what)
    more = len(issues) - len(shown)
    return separator.join(parts) + (f" (+{more} more)" if more > 0 else "")

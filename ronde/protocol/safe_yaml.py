"""The one YAML loader Ronde uses for every file it reads: PyYAML's safe loader with hard limits.

Why: ``yaml.safe_load`` refuses Python objects but not *size*. A 324-byte estate file of nested
aliases ("billion laughs") composes in microseconds, because an alias is a shared reference, and
then explodes in whatever walks the result (pydantic, a dump, a line index): it took the API to
23.8 GB before the kernel killed it. PyYAML's composer is also recursive, so 100,000 nested ``[``
end in ``RecursionError``. The estate file, the gateways file, the token and badge files are read by
``ronde registry import`` and long-running processes, and the estate file is uploaded over HTTP.

So every document is checked *while it is composed*, before anything walks it:

* its size in UTF-8 bytes (``max_bytes``), before parsing; files are never read past it;
* its nesting depth (``max_depth``), counted as collections open, so the recursive composer never
  gets deeper than the limit;
* the number of alias uses (``max_aliases``), and the number of nodes **with every alias expanded**
  (``max_nodes``): each anchored node remembers how many nodes it stands for, and an alias adds that
  many, so a bomb is refused at the first alias that crosses the limit, in bounded memory;
* an alias to a collection still being composed (a cycle) is refused outright.

Any violation raises :class:`YamlLimitError` (a ``yaml.YAMLError``, so a caller that only knows
about YAML errors still refuses the file instead of crashing), whose message names the limit, the
source and the line. Values the safe constructor cannot build (an integer over Python's digit limit,
a timestamp with month 13) become ``yaml.constructor.ConstructorError`` with their line, not a bare
``ValueError``.

The pure-Python ``yaml.SafeLoader`` is used on purpose: libyaml's ``CSafeLoader`` composes in C, so
the depth and alias checks below could not run inside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

MAX_BYTES = 5_000_000
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_NODES = 200_000


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """Limits for one kind of file; the defaults suit every file Ronde reads (an estate of 82 checkpoints is
    31 kB, 2,717 nodes, 5 levels deep, and uses no alias)."""

    max_bytes: int = MAX_BYTES
    max_depth: int = MAX_DEPTH
    max_aliases: int = MAX_ALIASES
    max_nodes: int = MAX_NODES


DEFAULT_LIMITS = YamlLimits()


class YamlLimitError(yaml.YAMLError):
    """A YAML document refused because it exceeds one of the loader's limits.

    ``source`` is the file name (or what the caller calls the text), ``line`` is 1-based or None when
    the limit is about the whole input, ``message`` names the limit, e.g. "YAML nesting deeper than 64
    levels". ``str()`` gives ``source:line: message``.
    """

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        # ``problem`` mirrors MarkedYAMLError, which callers already read for a short reason.
        self.problem = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer counts depth, aliases and expanded nodes before recursing."""

    def __init__(self, text: str, source: str, limits: YamlLimits) -> None:
        super().__init__(text)
        self.name = source  # marks (and so PyYAML's own error messages) name the file
        self._source = source
        self._limits = limits
        self._depth = 0
        self._nodes = 0
        self._aliases = 0
        self._weights: dict[str, int] = {}  # anchor -> nodes it stands for, once fully composed

    def _refuse(self, mark: Any, message: str) -> YamlLimitError:
        line = getattr(mark, "line", None)
        return YamlLimitError(self._source, None if line is None else int(line) + 1, message)

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > self._limits.max_nodes:
            raise self._refuse(mark, f"more than {self._limits.max_nodes} YAML nodes (aliases counted expanded)")

    def compose_document(self) -> yaml.Node | None:
        self._weights = {}  # anchors are per document, like the composer's own table
        node: yaml.Node | None = super().compose_document()
        return node

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self._limits.max_aliases:
                raise self._refuse(event.start_mark, f"more than {self._limits.max_aliases} YAML aliases")
            anchor = str(event.anchor)
            if anchor in self.anchors:  # an undefined alias is left to PyYAML's own error
                weight = self._weights.get(anchor)
                if weight is None:
                    raise self._refuse(event.start_mark, f"recursive YAML alias *{anchor} (refers to itself)")
                self._count(weight, event.start_mark)
            alias = super().compose_node(parent, index)
            assert alias is not None  # an alias event always gives its anchored node
            return alias
        opens = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        if opens:
            if self._depth >= self._limits.max_depth:
                raise self._refuse(event.start_mark, f"YAML nesting deeper than {self._limits.max_depth} levels")
            self._depth += 1
        before = self._nodes
        self._count(1, event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            if opens:
                self._depth -= 1
        own_anchor = getattr(event, "anchor", None)
        if own_anchor is not None:
            self._weights[own_anchor] = self._nodes - before
        assert node is not None  # a scalar, sequence or mapping event always gives a node
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as exc:  # int() over the digit limit, datetime() with month 13, …
            tag = node.tag.rsplit(":", 1)[-1]
            raise ConstructorError(None, None, f"invalid {tag} value: {exc}", node.start_mark) from None


def _check_size(text: str, source: str, limits: YamlLimits) -> None:
    # A character is 1 to 4 UTF-8 bytes: only encode when the length alone cannot decide.
    size = len(text)
    if size > limits.max_bytes or (size * 4 > limits.max_bytes and len(text.encode("utf-8")) > limits.max_bytes):
        raise YamlLimitError(source, None, f"YAML input larger than {limits.max_bytes} bytes")


def compose_and_load(
    text: str, source: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS
) -> tuple[yaml.Node | None, Any]:
    """Parse one document once: its node tree (for line numbers) and its plain data.

    Raises YamlLimitError for a limit, another ``yaml.YAMLError`` for a syntax or value error.
    """
    _check_size(text, source, limits)
    loader = _BoundedLoader(text, source, limits)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
    return node, data


def safe_load(text: str, source: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """``yaml.safe_load`` within the limits."""
    return compose_and_load(text, source, limits)[1]


def compose(text: str, source: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS) -> yaml.Node | None:
    """``yaml.compose`` (SafeLoader) within the limits."""
    _check_size(text, source, limits)
    loader = _BoundedLoader(text, source, limits)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def read_text(path: str | Path, limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """A file's UTF-8 text, refused (YamlLimitError) without reading it whole if it is over ``max_bytes``.

    OSError and UnicodeDecodeError propagate as with ``Path.read_text``.
    """
    p = Path(path)
    with p.open("rb") as f:
        if os.fstat(f.fileno()).st_size > limits.max_bytes:
            raise YamlLimitError(str(p), None, f"YAML input larger than {limits.max_bytes} bytes")
        raw = f.read(limits.max_bytes + 1)  # a file growing (or a FIFO) is still read only this far
    if len(raw) > limits.max_bytes:
        raise YamlLimitError(str(p), None, f"YAML input larger than {limits.max_bytes} bytes")
    return raw.decode("utf-8")


def load_file(path: str | Path, limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """A YAML (or JSON) file's data within the limits; the file name is the errors' source."""
    return safe_load(read_text(path, limits), str(path), limits)

"""A tiny, safe HTML builder: every string is escaped unless it is already ``Html``.

No template engine is installed (Jinja2 is not a dependency), and pages are small: building them
from escaped fragments keeps injection out by construction.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "circle", "rect", "line", "path", "polyline"})


class Html(str):
    """Markup known to be safe (built here, or escaped)."""

    __slots__ = ()


def esc(value: object) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def _attr_name(name: str) -> str:
    return name.rstrip("_").replace("_", "-")


def _attrs(attrs: dict[str, object]) -> str:
    out: list[str] = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        key = _attr_name(name)
        if value is True:
            out.append(f" {key}")
        else:
            out.append(f' {key}="{html.escape(str(value), quote=True)}"')
    return "".join(out)


def _children(children: Iterable[object]) -> str:
    parts: list[str] = []
    for c in children:
        if c is None:
            continue
        if isinstance(c, str | int | float):
            parts.append(esc(c))
        elif isinstance(c, Iterable):
            parts.append(_children(c))
        else:
            parts.append(esc(c))
    return "".join(parts)


def el(tag: str, *children: object, **attrs: object) -> Html:
    """``el("a", "Plan", href="/ui/plan", class_="nav")`` → ``<a href="/ui/plan" class="nav">Plan</a>``."""
    if tag in VOID and not children:
        return Html(
            f"<{tag}{_attrs(attrs)}/>"
            if tag in {"circle", "rect", "line", "path", "polyline"}
            else f"<{tag}{_attrs(attrs)}>"
        )
    return Html(f"<{tag}{_attrs(attrs)}>{_children(children)}</{tag}>")


def table(headers: Iterable[object], rows: Iterable[object], **attrs: object) -> Html:
    """A data table: one header row (plain text or ``th`` elements) over the given body rows; every
    page table has its headers, so none is left to guess."""
    head = el("tr", join(h if isinstance(h, Html) and h.startswith("<th") else el("th", h) for h in headers))
    return el("table", el("thead", head), el("tbody", join(rows)), **attrs)


def join(items: Iterable[object]) -> Html:
    return Html(_children(items))


def raw(text: str) -> Html:
    """Trusted constant markup only (never data)."""
    return Html(text)

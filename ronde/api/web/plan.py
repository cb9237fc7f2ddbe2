"""The estate plan: checkpoints drawn from their coordinates (SVG), coloured by current idleness.

Equirectangular projection around the checkpoints' mean latitude: exact enough at estate scale
(a few hundred metres), and no map tiles, so no internet is needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ronde.api.web.html import Html, el, join
from ronde.api.web.i18n import PageLang, duration, kind_label, t
from ronde.protocol.estate import Checkpoint

WIDTH = 900.0
HEIGHT = 620.0
MARGIN = 30.0
LEGEND_H = 24.0
FRESH_S = 30 * 60
STALE_S = 2 * 3600

COLOURS = {"fresh": "#1a9850", "mid": "#f2b01e", "stale": "#d73027", "none": "#8c8c8c"}


@dataclass(frozen=True, slots=True)
class IdleMark:
    idle_s: float
    at_least: bool  # no pass in the look-back


def idle_class(mark: IdleMark | None) -> str:
    if mark is None or mark.at_least:
        return "none"
    if mark.idle_s < FRESH_S:
        return "fresh"
    if mark.idle_s < STALE_S:
        return "mid"
    return "stale"


def project(checkpoints: Sequence[Checkpoint]) -> dict[str, tuple[float, float]]:
    """Checkpoint id → (x, y) in the SVG box, north up, same scale on both axes."""
    if not checkpoints:
        return {}
    lat0 = sum(c.lat for c in checkpoints) / len(checkpoints)
    k = math.cos(math.radians(lat0))
    xs = [c.lon * k for c in checkpoints]
    ys = [c.lat for c in checkpoints]
    x_span = max(max(xs) - min(xs), 1e-6)
    y_span = max(max(ys) - min(ys), 1e-6)
    box_w, box_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN - LEGEND_H
    scale = min(box_w / x_span, box_h / y_span)
    x_pad = (box_w - x_span * scale) / 2
    y_pad = (box_h - y_span * scale) / 2
    x0, y1 = min(xs), max(ys)
    return {
        c.id: (MARGIN + x_pad + (c.lon * k - x0) * scale, MARGIN + y_pad + (y1 - c.lat) * scale) for c in checkpoints
    }


def plan_svg(
    checkpoints: Sequence[Checkpoint],
    idle: Mapping[str, IdleMark],
    lang: PageLang,
    *,
    estate_names: Mapping[str, str] | None = None,
    link_prefix: str = "",
) -> Html:
    points = project(checkpoints)
    labels: list[Html] = []
    for estate_id, name in (estate_names or {}).items():
        mine = [points[c.id] for c in checkpoints if c.estate == estate_id]
        if mine:
            x = sum(p[0] for p in mine) / len(mine)
            y = max(14.0, min(p[1] for p in mine) - 16)
            labels.append(el("text", name, x=f"{x:.1f}", y=f"{y:.1f}", class_="estate-name", text_anchor="middle"))
    circles: list[Html] = []
    for c in checkpoints:
        x, y = points[c.id]
        mark = idle.get(c.id)
        cls = idle_class(mark)
        idle_text = t(lang, "idle_none") if mark is None or mark.at_least else duration(mark.idle_s, lang)
        title = f"{c.name} — {kind_label(c.kind, lang)} — {t(lang, 'idle')}: {idle_text}"
        circle = el(
            "circle",
            el("title", title),
            cx=f"{x:.1f}",
            cy=f"{y:.1f}",
            r="9" if c.level >= 0 else "7",
            fill=COLOURS[cls],
            stroke="#ffffff" if c.level >= 0 else "#333333",
            stroke_width="2",
            class_=f"cp idle-{cls}",
            data_checkpoint=c.id,
            data_idle=cls,
        )
        circles.append(el("a", circle, href=f"{link_prefix}/ui/checkpoints/{c.id}?lang={lang}"))
    legend = [
        el(
            "g",
            el("circle", cx=f"{20 + i * 190}", cy=f"{HEIGHT - 12}", r="6", fill=COLOURS[key]),
            el("text", t(lang, f"idle_{key}"), x=f"{32 + i * 190}", y=f"{HEIGHT - 8}", class_="legend"),
        )
        for i, key in enumerate(("fresh", "mid", "stale", "none"))
    ]
    return el(
        "svg",
        el("rect", x="0", y="0", width=f"{WIDTH:.0f}", height=f"{HEIGHT:.0f}", fill="#f4f1ea"),
        join(labels),
        join(circles),
        el("g", join(legend), class_="legend-box"),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH:.0f} {HEIGHT:.0f}",
        class_="plan",
        role="img",
        aria_label=t(lang, "plan"),
        id="plan",
    )

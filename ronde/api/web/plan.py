"""The estate plan: buildings, walkways and checkpoints drawn from the estate file (inline SVG).

Equirectangular projection around the drawn points' mean latitude: exact enough at estate scale
(a few hundred metres), and no map tiles, so nothing is fetched from elsewhere. Buildings are
outlined from their footprints and labelled; walkways are drawn under them; each checkpoint is a
link (focusable, with an ``aria-label`` and an SVG ``<title>``) coloured by its current idleness,
whose label shows on hover and on keyboard focus (CSS only): the checkpoint's unambiguous label
(``ronde.protocol.labels``: its building or address, and its landlord where the name is shared). ``/static/plan.js``
adds zoom (buttons, keys + and −, and the wheel, by changing the ``viewBox``) and drag; without it the plan
is whole and static. The wheel zooms only with Ctrl held or once the plan was clicked or focused: a plain
wheel over the plan scrolls the page, as on the rest of it, and a hint says how to zoom.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ronde.api.scope import Scope
from ronde.api.web.html import Html, el, join
from ronde.api.web.i18n import PageLang, duration, kind_label, t
from ronde.protocol.estate import Building, Checkpoint, LatLon, Walkway
from ronde.protocol.labels import checkpoint_labels

WIDTH = 900.0
HEIGHT = 620.0  # at most: a wide estate gets a lower plan, not empty bands above and below
MIN_HEIGHT = 380.0
MARGIN = 50.0  # room for the outer buildings' names
LEGEND_H = 24.0
FRESH_S = 30 * 60
STALE_S = 2 * 3600

COLOURS = {"fresh": "#1a9850", "mid": "#f2b01e", "stale": "#d73027", "none": "#8c8c8c"}
BUILDING_FILL = "#ddd6c8"
BUILDING_STROKE = "#5e5546"
WALKWAY = "#ffffff"
WALKWAY_EDGE = "#cfc6b4"

# the plan's own words (zoom controls, text alternative): kept here, beside the only code using them
WORDS: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "zoom_in": "Zoom avant",
        "zoom_out": "Zoom arrière",
        "zoom_reset": "Plan entier",
        "tools": "Zoom du plan",
        "summary": "{n} points de passage, {b} bâtiments. Le tableau sous le plan donne les mêmes "
        "informations : nom, type et temps écoulé depuis le dernier passage.",
        "building": "Bâtiment",
        "hint": "Pour zoomer : Ctrl + molette, ou cliquez sur le plan puis molette ; touches + et − "
        "(0 : plan entier). La molette seule fait défiler la page.",
    },
    "en": {
        "zoom_in": "Zoom in",
        "zoom_out": "Zoom out",
        "zoom_reset": "Whole plan",
        "tools": "Plan zoom",
        "summary": "{n} checkpoints, {b} buildings. The table below the plan gives the same information: "
        "name, kind and time since the last pass.",
        "building": "Building",
        "hint": "To zoom: Ctrl + wheel, or click the plan then wheel; keys + and − (0: whole plan). "
        "The wheel alone scrolls the page.",
    },
}


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


@dataclass(frozen=True, slots=True)
class Frame:
    """(lat, lon) → (x, y) in the SVG box: north up, the same scale on both axes, the points centred."""

    k: float  # cos(mean latitude): a degree of longitude is k degrees of latitude long
    x0: float
    y1: float
    scale: float
    x_pad: float
    y_pad: float
    height: float = HEIGHT  # of the SVG box (its width is WIDTH)

    @classmethod
    def fit(cls, points: Sequence[LatLon]) -> Frame:
        if not points:
            return cls(1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        k = math.cos(math.radians(sum(p[0] for p in points) / len(points)))
        xs = [lon * k for _, lon in points]
        ys = [lat for lat, _ in points]
        x_span = max(max(xs) - min(xs), 1e-6)
        y_span = max(max(ys) - min(ys), 1e-6)
        box_w = WIDTH - 2 * MARGIN
        height = min(HEIGHT, max(MIN_HEIGHT, box_w * y_span / x_span + 2 * MARGIN + LEGEND_H))
        box_h = height - 2 * MARGIN - LEGEND_H
        scale = min(box_w / x_span, box_h / y_span)
        x_pad, y_pad = (box_w - x_span * scale) / 2, (box_h - y_span * scale) / 2
        return cls(k, min(xs), max(ys), scale, x_pad, y_pad, height)

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (
            MARGIN + self.x_pad + (lon * self.k - self.x0) * self.scale,
            MARGIN + self.y_pad + (self.y1 - lat) * self.scale,
        )

    def metres_per_unit(self) -> float:
        return 111_320.0 / self.scale  # a degree of latitude is ~111.32 km


def project(checkpoints: Sequence[Checkpoint]) -> dict[str, tuple[float, float]]:
    """Checkpoint id → (x, y) in the SVG box (the checkpoints alone fill it)."""
    frame = Frame.fit([(c.lat, c.lon) for c in checkpoints])
    return {c.id: frame.xy(c.lat, c.lon) for c in checkpoints}


def _pts(frame: Frame, points: Iterable[LatLon]) -> str:
    return " ".join("{:.1f},{:.1f}".format(*frame.xy(lat, lon)) for lat, lon in points)


def _walkways(frame: Frame, walkways: Sequence[Walkway]) -> Html:
    lines = [
        el(
            "g",
            el("title", w.name) if w.name else None,
            el("polyline", points=_pts(frame, w.points), stroke=WALKWAY_EDGE, stroke_width="9"),
            el("polyline", points=_pts(frame, w.points), stroke=WALKWAY, stroke_width="6"),
            data_walkway=w.id,
        )
        for w in walkways
    ]
    return el("g", join(lines), class_="walkways", fill="none", stroke_linejoin="round", stroke_linecap="round")


def _buildings(frame: Frame, buildings: Sequence[Building], landlords: Mapping[str, str], lang: PageLang) -> Html:
    shapes: list[Html] = []
    labels: list[Html] = []
    for b in buildings:
        if not b.footprint:
            continue
        xy = [frame.xy(lat, lon) for lat, lon in b.footprint]
        cx = sum(p[0] for p in xy) / len(xy)
        below = max(p[1] for p in xy) + 11
        owner = landlords.get(b.landlord, b.landlord)
        title = f"{WORDS[lang]['building']} {b.name} — {owner}"
        shapes.append(
            el(
                "polygon",
                el("title", title),
                points=" ".join(f"{x:.1f},{y:.1f}" for x, y in xy),
                fill=BUILDING_FILL,
                stroke=BUILDING_STROKE,
                stroke_width="1.5",
                class_="building",
                data_building=b.id,
            )
        )
        labels.append(el("text", b.name, x=f"{cx:.1f}", y=f"{below:.1f}", class_="building-name", data_building=b.id))
    return join([el("g", join(shapes), class_="buildings"), el("g", join(labels), class_="building-names")])


def _checkpoint(
    c: Checkpoint, frame: Frame, mark: IdleMark | None, label: str, lang: PageLang, link_prefix: str
) -> Html:
    x, y = frame.xy(c.lat, c.lon)
    cls = idle_class(mark)
    idle_text = t(lang, "idle_none") if mark is None or mark.at_least else duration(mark.idle_s, lang)
    text = f"{label} — {kind_label(c.kind, lang)} — {t(lang, 'idle')} : {idle_text}"
    if lang == "en":
        text = text.replace(" : ", ": ")
    circle = el(
        "circle",
        cx=f"{x:.1f}",
        cy=f"{y:.1f}",
        r="7" if c.level >= 0 else "5.5",
        fill=COLOURS[cls],
        stroke="#ffffff" if c.level >= 0 else "#333333",
        stroke_width="2",
        class_=f"cp idle-{cls}",
        data_checkpoint=c.id,
        data_idle=cls,
    )
    # the label shown on hover and focus (CSS); screen readers get the link's aria-label
    tip = el("text", label, x=f"{x:.1f}", y=f"{y - 12:.1f}", class_="cp-label", aria_hidden="true")
    return el(
        "a",
        el("title", text),
        circle,
        tip,
        href=f"{link_prefix}/ui/checkpoints/{c.id}?lang={lang}",
        aria_label=text,
        class_="cp-link",
    )


def _legend(lang: PageLang, height: float) -> Html:
    entries = [
        el(
            "g",
            el("circle", cx=f"{20 + i * 190}", cy=f"{height - 12:.0f}", r="6", fill=COLOURS[key]),
            el("text", t(lang, f"idle_{key}"), x=f"{32 + i * 190}", y=f"{height - 8:.0f}", class_="legend"),
        )
        for i, key in enumerate(("fresh", "mid", "stale", "none"))
    ]
    return el("g", join(entries), class_="legend-box")


def _html_legend(lang: PageLang) -> Html:
    """The same legend as text under the plan: readable on a phone, where the SVG's is too small."""
    items = [
        el(
            "li",
            el("svg", el("circle", cx="6", cy="6", r="5", fill=COLOURS[key]), viewBox="0 0 12 12", aria_hidden="true"),
            " ",
            t(lang, f"idle_{key}"),
        )
        for key in ("fresh", "mid", "stale", "none")
    ]
    return el("ul", join(items), class_="plan-legend")


def _scale_bar(frame: Frame) -> Html:
    """50 or 100 m, drawn at the bottom right above the legend."""
    metres = 100 if 100 / frame.metres_per_unit() < WIDTH / 4 else 50
    length = metres / frame.metres_per_unit()
    x1, y = WIDTH - MARGIN, frame.height - LEGEND_H - 8
    return el(
        "g",
        el(
            "line",
            x1=f"{x1 - length:.1f}",
            y1=f"{y:.1f}",
            x2=f"{x1:.1f}",
            y2=f"{y:.1f}",
            stroke="#333",
            stroke_width="2",
        ),
        el("text", f"{metres} m", x=f"{x1 - length / 2:.1f}", y=f"{y - 5:.1f}", class_="scale"),
        class_="scale-bar",
        aria_hidden="true",
    )


def plan_svg(
    checkpoints: Sequence[Checkpoint],
    idle: Mapping[str, IdleMark],
    lang: PageLang,
    *,
    estate_names: Mapping[str, str] | None = None,
    link_prefix: str = "",
    buildings: Sequence[Building] = (),
    walkways: Sequence[Walkway] = (),
    landlords: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    svg_id: str = "plan",
) -> Html:
    """The plan as a figure: zoom controls (shown by plan.js), the SVG, and its text alternative.

    The frame fits the checkpoints and the outlines of ``buildings`` (the caller's patrimony); walkways
    are drawn in that frame and cut by its edges, so a landlord's plan centres on its own buildings.
    """
    drawn = [(c.lat, c.lon) for c in checkpoints] + [p for b in buildings for p in b.footprint]
    frame = Frame.fit(drawn)
    names = labels or {}
    estate_labels: list[Html] = []
    for estate_id, name in (estate_names or {}).items():
        mine = [frame.xy(c.lat, c.lon) for c in checkpoints if c.estate == estate_id]
        mine += [frame.xy(*p) for b in buildings if b.estate == estate_id for p in b.footprint]
        if mine:
            x = sum(p[0] for p in mine) / len(mine)
            y = max(14.0, min(p[1] for p in mine) - 16)
            estate_labels.append(
                el("text", name, x=f"{x:.1f}", y=f"{y:.1f}", class_="estate-name", text_anchor="middle")
            )
    points = [
        _checkpoint(c, frame, idle.get(c.id), names.get(c.id, c.name), lang, link_prefix)
        for c in sorted(checkpoints, key=lambda c: (c.level >= 0, c.id))  # underground first, under the rest
    ]
    words = WORDS[lang]
    summary_id = f"{svg_id}-summary"
    svg = el(
        "svg",
        el("title", t(lang, "plan")),
        el("rect", x="0", y="0", width=f"{WIDTH:.0f}", height=f"{frame.height:.0f}", fill="#f4f1ea", class_="ground"),
        _walkways(frame, walkways),
        _buildings(frame, buildings, landlords or {}, lang),
        join(estate_labels),
        el("g", join(points), class_="checkpoints"),
        _scale_bar(frame),
        _legend(lang, frame.height),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH:.0f} {frame.height:.0f}",
        class_="plan",
        role="group",
        aria_label=t(lang, "plan"),
        aria_describedby=summary_id,
        tabindex="-1",  # Chromium makes the SVG itself a tab stop; the checkpoints inside are the stops
        id=svg_id,
    )
    tools = el(
        "div",
        el("button", "+", type="button", data_zoom="in", aria_label=words["zoom_in"], title=words["zoom_in"]),
        el("button", "−", type="button", data_zoom="out", aria_label=words["zoom_out"], title=words["zoom_out"]),
        el("button", words["zoom_reset"], type="button", data_zoom="reset"),
        class_="plan-tools",
        role="group",
        aria_label=words["tools"],
        data_plan=svg_id,
        hidden=True,
    )
    hint = el("p", words["hint"], class_="plan-hint", data_plan=svg_id, hidden=True)
    summary = el(
        "p",
        words["summary"].format(n=len(checkpoints), b=sum(1 for b in buildings if b.footprint)),
        id=summary_id,
        class_="plan-summary",
    )
    return el(
        "figure",
        tools,
        hint,
        svg,
        el("figcaption", _html_legend(lang), summary),
        el("script", src="/static/plan.js", defer=True),
        class_="plan-figure",
    )


def scoped_plan(
    scope: Scope,
    checkpoints: Sequence[Checkpoint],
    idle: Mapping[str, IdleMark],
    lang: PageLang,
    *,
    landlord: str | None = None,
    estate: str | None = None,
) -> Html:
    """The plan of what ``scope`` may see: its buildings (one landlord's, one estate's when asked), the
    walkways of the estates drawn, the given checkpoints; checkpoint labels made unambiguous."""
    registry = scope.registry
    buildings = [
        b for b in scope.buildings(estate=estate) if (landlord is None or b.landlord == landlord) and b.footprint
    ]
    estates = {c.estate for c in checkpoints} | {b.estate for b in buildings}
    return plan_svg(
        checkpoints,
        idle,
        lang,
        estate_names={e.id: e.name for e in scope.estates() if e.id in estates},
        buildings=sorted(buildings, key=lambda b: b.id),
        walkways=sorted((w for w in registry.walkways.values() if w.estate in estates), key=lambda w: w.id),
        landlords={x.id: x.name for x in registry.landlords.values()},
        labels=checkpoint_labels(registry, checkpoints),
    )

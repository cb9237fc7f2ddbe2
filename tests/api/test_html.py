"""The HTML builder escapes every piece of data; only builder output passes through unescaped."""

from __future__ import annotations

from ronde.api.web.html import Html, el, esc, join
from ronde.api.web.i18n import day_label, duration, percent
from ronde.api.web.plan import IdleMark, idle_class, project
from ronde.protocol.estate import load_default_estate


def test_text_and_attributes_are_escaped() -> None:
    evil = '<script>alert("x")</script>'
    out = el("a", evil, href='/"><img src=x onerror=alert(1)>', title=evil)
    assert "<script>" not in out
    assert "<img" not in out
    assert out.startswith('<a href="/&quot;&gt;&lt;img')
    assert el("p", el("b", "ok")) == "<p><b>ok</b></p>"  # nested builder output is kept
    assert esc(Html("<b>")) == "<b>"
    assert esc("<b>") == "&lt;b&gt;"
    assert join(["a", 1, None, ["<", 2.5]]) == "a1&lt;2.5"
    assert el("input", type="checkbox", checked=True, disabled=False) == '<input type="checkbox" checked>'
    assert el("circle", cx="1", class_="cp", data_checkpoint="x") == '<circle cx="1" class="cp" data-checkpoint="x"/>'


def test_french_formats() -> None:
    from datetime import date

    assert day_label(date(2026, 3, 29), "fr") == "dimanche 29 mars 2026"
    assert day_label(date(2026, 3, 29), "en") == "Sunday 29 March 2026"
    assert percent(0.4953, "fr") == "49,5\u202f%"
    assert percent(0.4953, "en") == "49.5%"
    assert percent(None, "fr") == "–"
    assert duration(3 * 3600 + 5 * 60, "fr") == "3 h 05"
    assert duration(600, "en") == "10 min"


def test_plan_projection_keeps_north_up_and_fits_the_box() -> None:
    cps = list(load_default_estate().checkpoints.values())
    pts = project(cps)
    assert len(pts) == len(cps)
    north = max(cps, key=lambda c: c.lat)
    south = min(cps, key=lambda c: c.lat)
    assert pts[north.id][1] < pts[south.id][1]
    assert all(0 <= x <= 900 and 0 <= y <= 620 for x, y in pts.values())
    assert idle_class(None) == "none"
    assert idle_class(IdleMark(60, False)) == "fresh"
    assert idle_class(IdleMark(3600, False)) == "mid"
    assert idle_class(IdleMark(3 * 3600, False)) == "stale"
    assert idle_class(IdleMark(10, True)) == "none"
